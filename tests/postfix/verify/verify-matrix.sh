#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Inbound verification through a real Postfix, one generated case per
# kind of signer and of failure: signatures made by gpgsm and by NSS cmsutil (detached, wrapped
# into multipart/signed here) and by openssl cms (opaque) pass and are
# harvested; a wrong From, an expired signer, an untrusted chain and a
# certificate without an email address give "policy"; a signature nested
# in a multipart/mixed (a list footer) passes; a truncated base64
# signature and one carrying 10 000 certificates give "permerror". Every
# message arrives with its body byte for byte unchanged.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"
set -e
pf_need_peers
need_cmd openssl gpgsm gpgconf certutil cmsutil pk12util python3 sqlite3
MSGTOOL="$SMX_SOURCE_DIR/tests/lib/msgtool.py"
TOSINK="$SMX_SOURCE_DIR/tests/lib/sink-to-message.py"

pki=$(fresh_dir pki)
q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }
cd "$pki"
mkca() { # NAME CN
  q openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.pem" \
    -days 30 -subj "/CN=$2" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign"
}
mkca ca "Partner CA"
mkca rogue "Rogue CA"
# issue NAME CA SAN [START END]: an RSA signing certificate; with START
# and END (YYYYMMDDHHMMSSZ) made by `openssl ca` to set the validity.
issue() {
  local ext
  ext=$(printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=emailProtection\n')
  [ "$3" != none ] && ext=$(printf '%s\nsubjectAltName=email:%s' "$ext" "$3")
  printf '%s\n' "$ext" > "$1.ext"
  q openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$1"
  if [ -n "${4:-}" ]; then
    mkdir -p db; : > db/index; echo 01 > db/serial
    printf '[ca]\ndefault_ca=c\n[c]\ndatabase=db/index\nserial=db/serial\nnew_certs_dir=db\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n' > ca.cnf
    q openssl ca -batch -config ca.cnf -cert "$2.pem" -keyfile "$2.key" \
      -in "$1.csr" -out "$1.pem" -startdate "$4" -enddate "$5" -extfile "$1.ext" -notext
  else
    q openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial \
      -out "$1.pem" -days 7 -extfile "$1.ext"
  fi
}
issue bob ca bob@partner.example
issue dan ca dan@partner.example
issue old ca old@partner.example 20200101000000Z 20200201000000Z
issue stranger rogue stranger@partner.example
issue anon ca none
legacy_bob() {	# the old algorithms, the only ones gpgsm 2.2 reads
  q openssl pkcs12 -export -inkey bob.key -in bob.pem -certfile ca.pem -name bob \
    -out bob.p12 -passout pass:pw -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1
}
legacy_bob
echo pw > pw

G=$pki/gnupg
pf_init
trap 'st=$?; set +e; GNUPGHOME=$G gpgconf --kill all >/dev/null 2>&1; pf_cleanup $st' EXIT
sink_start
write_milter_conf "$PF_MILTER_CONF" "$PF_MILTER_PORT" \
  'trusted_networks = [ "192.0.2.0/24" ]'
rm -f "$SMX_TEST_DIR"/store.db* "$SMX_TEST_DIR/master.key"
ctl() { "$SMX_BIN_DIR/smimectl" -c "$PF_MILTER_CONF" "$@"; }
q ctl init
q ctl trust add ca.pem
pf_start_milter
pf_start

msgs=$(fresh_dir messages)
printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nHello Alice,\r\nsee you on Monday.\r\n' > "$msgs/content"
b64() { openssl base64 -e -in "$1" | sed 's/$/\r/'; }
crlf() { tr -d '\r' < "$1" | sed 's/$/\r/'; }
# wrap NAME SIGDER: content + detached signature -> NAME.body (a
# multipart/signed entity with its Content-Type header).
wrap() {
  {
    printf 'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="sig-b"\r\n\r\n'
    printf -- '--sig-b\r\n'
    cat "$msgs/content"
    printf '\r\n--sig-b\r\nContent-Type: application/pkcs7-signature; name="smime.p7s"\r\n'
    printf 'Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="smime.p7s"\r\n\r\n'
    b64 "$2"
    printf -- '--sig-b--\r\n'
  } > "$msgs/$1.body"
}
# ossl NAME SIGNER [opts]: an openssl detached signature, wrapped.
ossl() {
  openssl cms -sign -binary -outform DER -in "$msgs/content" -signer "$2.pem" \
    -inkey "$2.key" -md sha256 -out "$msgs/$1.p7s" "${@:3}" 2>/dev/null ||
    fail "openssl cms -sign ($1)"
  wrap "$1" "$msgs/$1.p7s"
}
# message NAME FROM: headers + NAME.body -> NAME.eml
message() {
  {
    printf 'From: <%s>\r\nTo: <alice@example.com>\r\nSubject: %s\r\n' "$2" "$1"
    printf 'Message-ID: <%s@partner.example>\r\nMIME-Version: 1.0\r\n' "$1"
    cat "$msgs/$1.body"
  } > "$msgs/$1.eml"
}
# check NAME RESULT: delivers NAME.eml; the header says smime=RESULT and
# the body is unchanged.
check() {
  local m="$msgs/$1" qid f
  python3 "$MSGTOOL" wire "$m.eml" "$m.wire" || fail "cannot dot-stuff $1"
  pf_send "$m.out" --from sender@partner.example --to alice@example.com \
    -ndf --data "@$m.wire" || { cat "$m.out" >&2; fail "$1 was refused"; }
  qid=$(pf_queue_id "$m.out")
  pf_wait_delivered "$qid" 60
  f=$(sink_file_for "$qid")
  pf_unfolded_headers "$f" > "$m.hdr"
  grep -q "^Authentication-Results: mx.example.com; smime=$2[ ;]" "$m.hdr" ||
    { grep '^Authentication-Results' "$m.hdr" >&2; fail "$1: not smime=$2"; }
  python3 "$TOSINK" "$f" "$m.got"
  python3 "$MSGTOOL" same-body "$m.eml" "$m.got" ||
  fail "$1: body changed"
  echo "ok: $1: $(grep -o "smime=[a-z]* ([^)]*)" "$m.hdr" | head -1), body unchanged"
}
certs_of() {
  ctl --json list "$1" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}

# --- gpgsm ---------------------------------------------------------------------
gpgsm_home "$G" ca.pem
GNUPGHOME=$G gpgsm_import_p12 bob.p12 pw legacy_bob ||
  fail "gpgsm cannot import bob.p12: $(tail -3 bob.p12.gpgsm.log)"
echo pw | GNUPGHOME=$G gpgsm --batch --pinentry-mode loopback --passphrase-fd 0 \
  --detach-sign -u bob@partner.example --output "$msgs/gpgsm.p7s" "$msgs/content" \
  >/dev/null 2>&1 || fail "gpgsm --detach-sign"
wrap gpgsm "$msgs/gpgsm.p7s"
message gpgsm bob@partner.example
check gpgsm pass
[ "$(certs_of bob@partner.example)" = 1 ] || fail "gpgsm: bob not harvested"
# The harvest log: time, message-id, envelope and header sender,
# fingerprint, trusted.
row=$(sqlite3 "$SMX_TEST_DIR/store.db" "SELECT message_id, sender, header_from,
  trusted, length(fingerprint), logged_at > 0 FROM harvest_log")
[ "$row" = "gpgsm@partner.example|sender@partner.example|bob@partner.example|1|64|1" ] ||
  fail "gpgsm: harvest log row is '$row'"

# --- NSS --------------------------------------------------------------------------
N=sql:$pki/nss
mkdir nss
q certutil -N -d "$N" --empty-password
q certutil -A -d "$N" -n ca -t "C,C,C" -i ca.pem
q pk12util -i bob.p12 -d "$N" -w pw -K ""
ctl remove "$(ctl --json list bob@partner.example |
  python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["fingerprint"])')" --force >/dev/null ||
  fail "cannot remove bob's harvested certificate"
cmsutil -S -T -N bob -d "$N" -p "" -G -P -i "$msgs/content" -o "$msgs/nss.p7s" \
  >/dev/null 2>&1 || fail "cmsutil -S -T"
wrap nss "$msgs/nss.p7s"
message nss bob@partner.example
check nss pass
[ "$(certs_of bob@partner.example)" = 1 ] || fail "nss: bob not harvested"

# --- openssl, opaque ---------------------------------------------------------------
openssl cms -sign -nodetach -binary -in "$msgs/content" -signer dan.pem \
  -inkey dan.key -md sha256 -out "$msgs/opaque.smime" 2>/dev/null || fail "opaque sign"
crlf "$msgs/opaque.smime" | sed '/^MIME-Version:/d' > "$msgs/opaque.body"
message opaque dan@partner.example
check opaque pass
[ "$(certs_of dan@partner.example)" = 1 ] || fail "opaque: dan not harvested"

# --- policy: wrong From, expired, untrusted, no email ---------------------------
ossl wrongfrom bob; message wrongfrom mallory@partner.example; check wrongfrom policy
[ "$(certs_of mallory@partner.example)" = 0 ] || fail "wrongfrom: harvested for mallory"
# The decision's log line says why nothing was harvested.
milter_line_for "$(pf_queue_id "$msgs/wrongfrom.out")" |
  grep -q "not harvested (signer is not the From address)" ||
  fail "wrongfrom: the log line does not say why nothing was harvested"
ossl expired old; message expired old@partner.example; check expired policy
ossl untrusted stranger -certfile rogue.pem
message untrusted stranger@partner.example; check untrusted policy
ossl noemail anon; message noemail bob@partner.example; check noemail policy
for who in old stranger; do
  [ "$(certs_of $who@partner.example)" = 0 ] || fail "$who was harvested"
done

# --- nested in a list footer ---------------------------------------------------------
ossl inner bob
{
  printf 'Content-Type: multipart/mixed; boundary="list-b"\r\n\r\n'
  printf -- '--list-b\r\n'
  cat "$msgs/inner.body"
  printf '\r\n--list-b\r\nContent-Type: text/plain\r\n\r\n-- \r\nlist footer\r\n--list-b--\r\n'
} > "$msgs/nested.body"
message nested bob@partner.example
check nested pass
grep -q 'body.smime-part=1' "$msgs/nested.hdr" || fail "nested: no body.smime-part"

# --- permerror: truncated base64, 10 000 certificates ------------------------------
ossl truncated bob
python3 - "$msgs/truncated.body" <<'PY'
import sys
p = sys.argv[1]
head, sig = open(p, "rb").read().split(b'filename="smime.p7s"\r\n\r\n', 1)
lines = sig.split(b"\r\n")
keep = lines[: len(lines) // 2]
keep[-1] = keep[-1][:37]          # cut mid-line, mid-quantum
open(p, "wb").write(head + b'filename="smime.p7s"\r\n\r\n' + b"\r\n".join(keep) +
                    b"\r\n--sig-b--\r\n")
PY
message truncated bob@partner.example
check truncated permerror

# A small certificate 10 000 times in the signature's certificate set.
q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout tiny.key -out tiny.pem -days 7 -subj "/CN=t"
ossl manycerts bob
python3 - "$msgs/manycerts.p7s" tiny.pem "$msgs/manycerts.big" <<'PY'
import base64, sys
der = open(sys.argv[1], "rb").read()
pem = open(sys.argv[2]).read()
tiny = base64.b64decode("".join(l for l in pem.splitlines() if "-----" not in l))

def tlv(b, i):
    """(tag, header length, content length) of the element at i"""
    tag, n = b[i], b[i + 1]
    if n < 0x80:
        return tag, 2, n
    k = n & 0x7F
    return tag, 2 + k, int.from_bytes(b[i + 2:i + 2 + k], "big")

def enc(tag, content):
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    ln = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(ln)]) + ln + content

# ContentInfo { oid, [0] { SignedData { version, digestAlgs, encap,
# [0] certificates, signerInfos } } }
_, h, _ = tlv(der, 0); i = h
t, h, n = tlv(der, i); oid = der[i:i + h + n]; i += h + n
_, h0, _ = tlv(der, i); i += h0
_, hs, _ = tlv(der, i); i += hs
parts, certs_at = [], None
while i < len(der):
    t, h, n = tlv(der, i)
    if t == 0xA0:
        certs_at = len(parts)
    parts.append(der[i:i + h + n]); i += h + n
assert certs_at is not None
orig = parts[certs_at]
_, h, _ = tlv(orig, 0)
parts[certs_at] = enc(0xA0, orig[h:] + tiny * 10000)
sd = enc(0x30, b"".join(parts))
out = enc(0x30, oid + enc(0xA0, sd))
open(sys.argv[3], "wb").write(out)
PY
wrap manycerts "$msgs/manycerts.big"
message manycerts bob@partner.example
check manycerts permerror
kill -0 "$(cat "$SMX_TEST_DIR/milter.pid" 2>/dev/null || echo 0)" 2>/dev/null ||
  pgrep -f "smime-milter -f -c $PF_MILTER_CONF" >/dev/null || fail "the milter died"
echo PASS
