#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Inbound decryption opens a message for a recipient only with that
# recipient's own RecipientInfo and key, through a real Postfix.
# RecipientInfos are not authenticated: mallory, an internal user whose
# key the gateway holds, takes a ciphertext that was for bob only, adds a
# RecipientInfo for her own certificate and sends it to both. Her
# RecipientInfo wraps a different content key (spliced from a ciphertext
# of her own) or one her key does not unwrap at all; either way the
# message arrives as it came, still encrypted, without X-SMIME-Decrypted,
# with the reason in the log line and in
# smime_milter_decryptions_refused_total. A message honestly encrypted
# to both arrives decrypted for both, and the forged one sent to bob
# alone is decrypted (his own RecipientInfo opens it). Of two nested
# encrypted layers only the outer one is decrypted.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"
. "$SMX_SOURCE_DIR/tests/lib/pki.sh"
set -e
pf_need_peers
need_cmd openssl python3 curl
MSGTOOL="$SMX_SOURCE_DIR/tests/lib/msgtool.py"
TOSINK="$SMX_SOURCE_DIR/tests/lib/sink-to-message.py"
SPLICE="$SMX_SOURCE_DIR/tests/postfix/decrypt/splice-recipient.py"

pki=$(fresh_dir pki)
q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }
cd "$pki"
pki_ca "$pki" "Decrypt Keys Test CA"
issue() { # NAME EMAIL
  pki_issue "$1" "$2"
  q openssl pkcs12 -export -inkey "$1.key" -in "$1.pem" -certfile ca.pem \
    -name "$1" -out "$1.p12" -passout pass:pw
}
issue bob bob@example.com		# internal, key in the store
issue mallory mallory@example.com	# internal, key in the store
echo pw > pw

pf_init
sink_start
MPORT=$(free_port)
write_milter_conf "$PF_MILTER_CONF" "$PF_MILTER_PORT" \
  'trusted_networks = [ "192.0.2.0/24" ]' "metrics_listen = \"$MPORT\""
printf 'policy: { decrypt_inbound = true; };\n' >> "$PF_MILTER_CONF"
rm -f "$SMX_TEST_DIR"/store.db* "$SMX_TEST_DIR/master.key"
ctl() { "$SMX_BIN_DIR/smimectl" -c "$PF_MILTER_CONF" "$@"; }
q ctl init
q ctl trust add ca.pem
q ctl import-p12 bob.p12 --password-file pw
q ctl import-p12 mallory.p12 --password-file pw
pf_start_milter
pf_start
wait_for_port "$MPORT" 10 || fail "no metrics listener on 127.0.0.1:$MPORT"

msgs=$(fresh_dir messages)
printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nBob, the salary review is attached.\r\n' \
  > "$msgs/content"
crlf() { tr -d '\r' < "$1" | sed 's/$/\r/'; }

# message NAME DERFILE: the mail around an EnvelopedData.
message() {
  {
    printf 'From: <someone@partner.example>\r\nTo: <bob@example.com>, <mallory@example.com>\r\n'
    printf 'Subject: %s\r\nMessage-ID: <%s@partner.example>\r\n' "$1" "$1"
    printf 'MIME-Version: 1.0\r\n'
    printf 'Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"\r\n'
    printf 'Content-Transfer-Encoding: base64\r\n'
    printf 'Content-Disposition: attachment; filename="smime.p7m"\r\n\r\n'
    openssl base64 -e -in "$2" | sed 's/$/\r/'
  } > "$msgs/$1.eml"
}
encrypt() { # OUT.der CERT...
  local out=$1
  shift
  openssl cms -encrypt -aes256 -binary -in "$msgs/content" -outform DER \
    -out "$out" "$@" 2>/dev/null || fail "openssl cms -encrypt $*"
}

# deliver NAME RCPTS: sends it in, prints the sink file.
deliver() {
  local m="$msgs/$1" qid
  python3 "$MSGTOOL" wire "$m.eml" "$m.wire" || fail "cannot dot-stuff $1"
  pf_send "$m.out" --from someone@partner.example --to "$2" \
    -ndf --data "@$m.wire" || { cat "$m.out" >&2; fail "$1 was refused"; }
  qid=$(pf_queue_id "$m.out")
  pf_wait_delivered "$qid"
  echo "$qid" > "$m.qid"
  sink_file_for "$qid"
}

# untouched NAME FILE REASON: delivered as it came, the log says why.
untouched() {
  grep -q '^X-SMIME-Decrypted' "$2" &&
    { cat "$2" >&2; fail "$1: decrypted for a recipient whose key did not open it"; }
  grep -qi '^Content-Type: application/pkcs7-mime; smime-type=enveloped-data' "$2" ||
    { cat "$2" >&2; fail "$1: no longer the encrypted message"; }
  grep -q 'salary review' "$2" && fail "$1: the plaintext was delivered"
  python3 "$TOSINK" "$2" "$msgs/$1.got"
  python3 "$MSGTOOL" same-body "$msgs/$1.eml" "$msgs/$1.got" ||
    fail "$1: body changed"
  local qid
  qid=$(cat "$msgs/$1.qid")
  grep "$qid" "$PF_MILTER_LOG" |
    grep -q "not decrypted (refused for mallory@example.com: $3" ||
    { grep "$qid" "$PF_MILTER_LOG" >&2; fail "$1: the log line does not say why"; }
}

# Honest: encrypted to both, each key opens its own RecipientInfo.
encrypt "$msgs/both.der" bob.pem mallory.pem
message both "$msgs/both.der"
f=$(deliver both bob@example.com,mallory@example.com)
h=$(pf_unfolded_headers "$f")
grep -q '^X-SMIME-Decrypted: mx.example.com; enveloped-data for bob@example.com, mallory@example.com$' <<<"$h" ||
  { cat "$f" >&2; fail "both: not decrypted for bob and mallory"; }
grep -q 'salary review' "$f" || { cat "$f" >&2; fail "both: content lost"; }
echo "ok: a message encrypted to bob and mallory is decrypted for both"

# Forged: bob's ciphertext plus a RecipientInfo for mallory wrapping the
# content key of another ciphertext.
encrypt "$msgs/bob.der" bob.pem
encrypt "$msgs/other.der" mallory.pem
python3 "$SPLICE" "$msgs/bob.der" "$msgs/other.der" "$msgs/forged.der" ||
  fail "cannot splice"
message forged "$msgs/forged.der"
f=$(deliver forged bob@example.com,mallory@example.com)
untouched forged "$f" 'its RecipientInfo holds a different content key\|the content key of its RecipientInfo does not decrypt'
echo "ok: bob's ciphertext with mallory's RecipientInfo (another content key) arrives as it came"

# Forged: mallory's RecipientInfo does not unwrap with her key.
python3 "$SPLICE" "$msgs/bob.der" "$msgs/other.der" "$msgs/broken.der" \
  --corrupt || fail "cannot splice"
message broken "$msgs/broken.der"
f=$(deliver broken bob@example.com,mallory@example.com)
untouched broken "$f" 'its RecipientInfo does not open with its key'
echo "ok: bob's ciphertext with a RecipientInfo mallory's key does not open arrives as it came"

# The forged message to bob alone: his own RecipientInfo opens it.
f=$(deliver forged bob@example.com)
grep -q '^X-SMIME-Decrypted: mx.example.com; enveloped-data for bob@example.com$' "$f" ||
  { cat "$f" >&2; fail "forged to bob alone: not decrypted"; }
echo "ok: the forged message to bob alone is decrypted with his key"

# Two encrypted layers: one is decrypted, the inner one stays as it is.
openssl cms -encrypt -aes256 -binary -in "$msgs/content" \
  -out "$msgs/inner.smime" bob.pem 2>/dev/null || fail "openssl cms -encrypt inner"
crlf "$msgs/inner.smime" > "$msgs/inner.entity"
openssl cms -encrypt -aes256 -binary -in "$msgs/inner.entity" -outform DER \
  -out "$msgs/nested.der" bob.pem 2>/dev/null || fail "openssl cms -encrypt outer"
message nested "$msgs/nested.der"
f=$(deliver nested bob@example.com)
h=$(pf_unfolded_headers "$f")
grep -q '^X-SMIME-Decrypted: mx.example.com; enveloped-data for bob@example.com$' <<<"$h" ||
  { cat "$f" >&2; fail "nested: the outer layer was not decrypted"; }
grep -qi '^Content-Type: application/pkcs7-mime; smime-type=enveloped-data' <<<"$h" ||
  { cat "$f" >&2; fail "nested: the inner layer is not left encrypted"; }
grep -q 'salary review' "$f" && fail "nested: more than one layer decrypted"
echo "ok: of two encrypted layers, one is decrypted"

curl -s -S -o "$msgs/metrics" "http://127.0.0.1:$MPORT/metrics" ||
  fail "GET /metrics failed"
refused=$(awk '$1 ~ /^smime_milter_decryptions_refused_total\{/ { n += $2 } END { print n + 0 }' "$msgs/metrics")
[ "$refused" = 2 ] || { cat "$msgs/metrics" >&2; fail "decryptions_refused_total is $refused, want 2"; }
grep -q '^smime_milter_decryptions_refused_total{reason="unopened"} [12]$' "$msgs/metrics" ||
  fail "the corrupt RecipientInfo is not counted as unopened"
echo "ok: the refusals are counted"
echo PASS
