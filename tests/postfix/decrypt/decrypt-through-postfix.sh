#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Inbound decryption through a real Postfix (policy.decrypt_inbound):
# messages that an external correspondent signed and encrypted to an
# internal user with three independent implementations (openssl cms:
# clear-signed inside EnvelopedData and AuthEnvelopedData; gpgsm: detached signature inside
# EnvelopedData; NSS cmsutil: opaque signed-data inside EnvelopedData)
# arrive decrypted, with X-SMIME-Decrypted, the inner signature reported
# as smime=pass and the signer harvested. A message for two internal
# users of whom only one has a key in the store arrives unchanged, and a
# forged X-SMIME-Decrypted header is removed.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"
. "$SMX_SOURCE_DIR/tests/lib/pki.sh"
set -e
pf_need_peers
need_cmd openssl gpgsm gpgconf certutil cmsutil pk12util python3
MSGTOOL="$SMX_SOURCE_DIR/tests/lib/msgtool.py"
TOSINK="$SMX_SOURCE_DIR/tests/lib/sink-to-message.py"

pki=$(fresh_dir pki)
q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }
cd "$pki"
pki_ca "$pki" "Decrypt Test CA"
issue() { # NAME EMAIL
  pki_issue "$1" "$2"
  legacy_p12 "$1"
}
# legacy_p12 NAME: NAME.p12 in the old algorithms, the only ones gpgsm 2.2
# reads (FACTS.md).
legacy_p12() {
  q openssl pkcs12 -export -inkey "$1.key" -in "$1.pem" -certfile ca.pem \
    -name "$1" -out "$1.p12" -passout pass:pw -keypbe PBE-SHA1-3DES \
    -certpbe PBE-SHA1-3DES -macalg sha1
}
issue alice alice@example.com	# internal, key in the store
issue carol carol@example.com	# internal, no key in the store
issue bob bob@partner.example	# the external correspondent
echo pw > pw

# bob's gpgsm home and NSS database: his key, alice's certificate.
G=$pki/gnupg
cleanup_gpg() { GNUPGHOME=$G gpgconf --kill all >/dev/null 2>&1 || true; }
gpgsm_home "$G" ca.pem
GNUPGHOME=$G q gpgsm --batch --import alice.pem
GNUPGHOME=$G gpgsm_import_p12 bob.p12 pw legacy_p12 bob ||
  fail "gpgsm cannot import bob.p12: $(tail -3 bob.p12.gpgsm.log)"
N=sql:$pki/nss
mkdir nss
q certutil -N -d "$N" --empty-password
q certutil -A -d "$N" -n ca -t "C,C,C" -i ca.pem
q certutil -A -d "$N" -n alice -t ",," -i alice.pem
q pk12util -i bob.p12 -d "$N" -w pw -K ""

pf_init
# pf_init's trap, plus stopping bob's gpg-agent (keeping the status).
trap 'st=$?; set +e; cleanup_gpg; pf_cleanup $st' EXIT
sink_start
write_milter_conf "$PF_MILTER_CONF" "$PF_MILTER_PORT" \
  'trusted_networks = [ "192.0.2.0/24" ]'
printf 'policy: { decrypt_inbound = true; };\n' >> "$PF_MILTER_CONF"
rm -f "$SMX_TEST_DIR"/store.db* "$SMX_TEST_DIR/master.key"
ctl() { "$SMX_BIN_DIR/smimectl" -c "$PF_MILTER_CONF" "$@"; }
q ctl init
q ctl trust add ca.pem
q ctl import-p12 alice.p12 --password-file pw
q ctl import-cert carol.pem	# a certificate, but no key
pf_start_milter
pf_start

msgs=$(fresh_dir messages)
CONTENT='Content-Type: text/plain; charset=us-ascii\r\n\r\nHello Alice,\r\nthe contract is attached in spirit.\r\n'
b64() { openssl base64 -e -in "$1" | sed 's/$/\r/'; }
crlf() { tr -d '\r' < "$1" | sed 's/$/\r/'; }

# envelope NAME DERFILE: the message around an EnvelopedData.
envelope() {
  {
    printf 'From: Bob <bob@partner.example>\r\nTo: <alice@example.com>\r\n'
    printf 'Subject: %s\r\nMessage-ID: <%s@partner.example>\r\n' "$1" "$1"
    printf 'MIME-Version: 1.0\r\n'
    printf 'Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"\r\n'
    printf 'Content-Transfer-Encoding: base64\r\n'
    printf 'Content-Disposition: attachment; filename="smime.p7m"\r\n\r\n'
    b64 "$2"
  } > "$msgs/$1.eml"
}

# openssl: clear-signed, then encrypted (openssl cms writes the MIME).
printf "$CONTENT" > "$msgs/content"
openssl cms -sign -in "$msgs/content" -signer bob.pem -inkey bob.key \
  -binary -md sha256 -out "$msgs/ossl.signed" 2>/dev/null || fail "openssl cms -sign"
openssl cms -encrypt -aes256 -in "$msgs/ossl.signed" -binary \
  -out "$msgs/ossl.smime" alice.pem 2>/dev/null || fail "openssl cms -encrypt"
{
  printf 'From: Bob <bob@partner.example>\r\nTo: <alice@example.com>\r\n'
  printf 'Subject: openssl\r\nMessage-ID: <openssl@partner.example>\r\n'
  crlf "$msgs/ossl.smime"
} > "$msgs/openssl.eml"

# openssl again, AuthEnvelopedData (AES-256-GCM, RFC 5083).
openssl cms -encrypt -aes-256-gcm -in "$msgs/ossl.signed" -binary \
  -out "$msgs/gcm.smime" alice.pem 2>/dev/null || fail "openssl cms -encrypt GCM"
{
  printf 'From: Bob <bob@partner.example>\r\nTo: <alice@example.com>\r\n'
  printf 'Subject: gcm\r\nMessage-ID: <gcm@partner.example>\r\n'
  crlf "$msgs/gcm.smime"
} > "$msgs/gcm.eml"

# gpgsm: a detached signature in a multipart/signed, then encrypted.
echo pw | GNUPGHOME=$G gpgsm --batch --pinentry-mode loopback \
  --passphrase-fd 0 --detach-sign -u bob@partner.example --output "$msgs/gpgsm.p7s" "$msgs/content" >/dev/null 2>&1 ||
  fail "gpgsm --detach-sign"
{
  printf 'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="b1"\r\n\r\n'
  printf -- '--b1\r\n'
  cat "$msgs/content"
  printf '\r\n--b1\r\nContent-Type: application/pkcs7-signature; name="smime.p7s"\r\n'
  printf 'Content-Transfer-Encoding: base64\r\n\r\n'
  b64 "$msgs/gpgsm.p7s"
  printf -- '--b1--\r\n'
} > "$msgs/gpgsm.signed"
GNUPGHOME=$G gpgsm --batch --encrypt -r alice@example.com \
  --output "$msgs/gpgsm.der" "$msgs/gpgsm.signed" >/dev/null 2>&1 ||
  fail "gpgsm --encrypt"
envelope gpgsm "$msgs/gpgsm.der"

# NSS: opaque signed-data, then encrypted.
cmsutil -S -N bob -d "$N" -p "" -G -P -i "$msgs/content" \
  -o "$msgs/nss.p7m" >/dev/null 2>&1 || fail "cmsutil -S"
{
  printf 'Content-Type: application/pkcs7-mime; smime-type=signed-data; name="smime.p7m"\r\n'
  printf 'Content-Transfer-Encoding: base64\r\n\r\n'
  b64 "$msgs/nss.p7m"
} > "$msgs/nss.signed"
cmsutil -E -r alice@example.com -d "$N" -p "" -i "$msgs/nss.signed" \
  -o "$msgs/nss.der" >/dev/null 2>&1 || fail "cmsutil -E"
envelope nss "$msgs/nss.der"

# deliver NAME RCPTS: sends it in, prints the sink file.
deliver() {
  local m="$msgs/$1" qid
  python3 "$MSGTOOL" wire "$m.eml" "$m.wire" || fail "cannot dot-stuff $1"
  pf_send "$m.out" --from bob@partner.example --to "$2" \
    -ndf --data "@$m.wire" || { cat "$m.out" >&2; fail "$1 was refused"; }
  qid=$(pf_queue_id "$m.out")
  pf_wait_delivered "$qid"
  sink_file_for "$qid"
}
harvested() {
  ctl --json list bob@partner.example |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}

for n in openssl gcm gpgsm nss; do
  kind=enveloped-data
  [ $n = gcm ] && kind=authEnveloped-data
  f=$(deliver $n alice@example.com)
  h=$(pf_unfolded_headers "$f")
  grep -qi '^Content-Type: application/pkcs7-mime; smime-type=enveloped' <<<"$h" &&
    { cat "$f" >&2; fail "$n: still encrypted"; }
  grep -q "^X-SMIME-Decrypted: mx.example.com; $kind for alice@example.com\$" <<<"$h" ||
    { cat "$f" >&2; fail "$n: no X-SMIME-Decrypted header"; }
  grep -q '^Authentication-Results: mx.example.com; smime=pass .*body.smime-identifier=bob@partner.example' <<<"$h" ||
    { cat "$f" >&2; fail "$n: inner signature not reported as pass"; }
  [ "$(grep -c '^Content-Type:' <<<"$h")" = 1 ] ||
    { cat "$f" >&2; fail "$n: not exactly one Content-Type"; }
  case $n in
    nss) grep -qi '^Content-Type: application/pkcs7-mime; smime-type=signed-data' <<<"$h" ;;
    *) grep -qi '^Content-Type: multipart/signed' <<<"$h" ;;
  esac || { cat "$f" >&2; fail "$n: the inner entity's Content-Type did not move out"; }
  # The delivered message is a well-formed S/MIME message: its
  # signature still verifies with OpenSSL over the delivered bytes.
  python3 "$TOSINK" "$f" "$msgs/$n.got"
  openssl cms -verify -in "$msgs/$n.got" -CAfile ca.pem -out "$msgs/$n.text" \
    >/dev/null 2>&1 || fail "$n: the delivered message does not verify"
  grep -q 'the contract is attached' "$msgs/$n.text" || fail "$n: content lost"
  echo "ok: $n: decrypted, signature reported and still verifiable"
done
[ "$(harvested)" = 1 ] || fail "bob's certificate was not harvested once"
grep -q 'verify=decrypted enveloped-data; .*smime=pass' "$PF_MILTER_LOG" ||
  fail "the log line does not say decrypted"
echo "ok: signer harvested, log line says decrypted"

# Two internal recipients, only alice's key held: unchanged.
openssl cms -encrypt -aes256 -in "$msgs/ossl.signed" -binary \
  -out "$msgs/both.smime" alice.pem carol.pem 2>/dev/null || fail "openssl cms -encrypt"
{
  printf 'From: Bob <bob@partner.example>\r\nTo: alice@example.com, carol@example.com\r\n'
  printf 'Subject: both\r\nMessage-ID: <both@partner.example>\r\n'
  crlf "$msgs/both.smime"
} > "$msgs/both.eml"
f=$(deliver both alice@example.com,carol@example.com)
grep -q '^X-SMIME-Decrypted' "$f" && fail "both: decrypted without carol's key"
grep -qi '^Content-Type: application/pkcs7-mime; smime-type=enveloped-data' "$f" ||
  { cat "$f" >&2; fail "both: no longer the encrypted message"; }
python3 "$TOSINK" "$f" "$msgs/both.got"
python3 "$MSGTOOL" same-body "$msgs/both.eml" "$msgs/both.got" ||
  fail "both: body changed"
grep -q 'not decrypted (no key for carol@example.com)' "$PF_MILTER_LOG" ||
  fail "the log line does not say why 'both' was not decrypted"
echo "ok: a message for alice and carol (no key) arrives unchanged"

# A forged decryption header is removed.
{
  printf 'From: Bob <bob@partner.example>\r\nTo: <alice@example.com>\r\n'
  printf 'Subject: forged\r\nMessage-ID: <forged@partner.example>\r\n'
  printf 'X-SMIME-Decrypted: mx.example.com; enveloped-data for alice@example.com\r\n'
  printf 'Content-Type: text/plain\r\n\r\nplain text\r\n'
} > "$msgs/forged.eml"
f=$(deliver forged alice@example.com)
grep -q '^X-SMIME-Decrypted' "$f" && fail "forged X-SMIME-Decrypted survived"
echo "ok: forged X-SMIME-Decrypted removed"
echo PASS
