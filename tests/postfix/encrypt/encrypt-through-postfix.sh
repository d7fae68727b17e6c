#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Outbound encryption through a real Postfix: a partner domain requires
# encryption; alice (SASL, identity in the store) writes to an RSA and an
# EC recipient whose certificates are in the store. The message at the
# sink is enveloped-data that each recipient decrypts with OpenSSL (NSS
# 3.87 cannot when an ECDH recipient is present: reported, see
# docs/smime-encrypt.md; tests/interop/encrypt covers gpgsm and NSS for
# RSA recipients), and inside it alice's signature
# verifies. A required recipient without certificate is refused at RCPT;
# the plaintext marker never reaches the sink.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"
. "$SMX_SOURCE_DIR/tests/lib/pki.sh"
set -e
pf_need_peers
need_cmd openssl certutil pk12util cmsutil saslpasswd2
TOOL="$SMX_SOURCE_DIR/tests/lib/mime_tool.py"
SINK2MSG="$SMX_SOURCE_DIR/tests/lib/sink-to-message.py"
MSGTOOL="$SMX_SOURCE_DIR/tests/lib/msgtool.py"
MARKER="PLAINTEXT-MARKER-7f3a9"

pki=$(fresh_dir pki)
q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }
pki_ca "$pki" "Encrypt Test CA"
echo p12pass > "$pki/pw"
pki_issue alice alice@example.com
pki_issue rsa1 rsa1@partner.example
pki_issue -ku digitalSignature,keyAgreement ec1 ec1@partner.example \
  ec -pkeyopt ec_paramgen_curve:P-256
pki_issue carl carl@other.example
pki_p12 alice "$pki/pw"

pf_init --sasl
sink_start
write_milter_conf "$PF_MILTER_CONF" "$PF_MILTER_PORT"
rm -f "$SMX_TEST_DIR"/store.db* "$SMX_TEST_DIR/master.key"
printf 'policy: { domains: ( { domain = "partner.example"; encrypt = "required"; },\n                     { domain = "other.example"; encrypt = "never"; } );\n          triggers: { subject_tag = "[secure]"; }; };\n' \
  >> "$PF_MILTER_CONF"
ctl() { "$SMX_BIN_DIR/smimectl" -c "$PF_MILTER_CONF" "$@"; }
q ctl init
q ctl trust add "$pki/ca.pem"
q ctl import-p12 "$pki/alice.p12" --password-file "$pki/pw"
q ctl import-cert "$pki/rsa1.pem" "$pki/ec1.pem" "$pki/carl.pem"
pf_start_milter
pf_add_sasl_user alice@example.com pw-alice
pf_start

msgs=$(fresh_dir messages)
printf 'From: Alice <alice@example.com>\r\nTo: partners\r\nSubject: numbers\r\nMessage-ID: <enc1@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n%s: Quartalszahlen für die Partner.\r\n' "$MARKER" > "$msgs/m.eml"
python3 "$MSGTOOL" wire "$msgs/m.eml" "$msgs/m.wire"
pf_send "$msgs/m.out" --server "127.0.0.1:$PF_SUBMIT_PORT" -a PLAIN \
  -au alice@example.com -ap pw-alice --from alice@example.com \
  --to rsa1@partner.example,ec1@partner.example -ndf --data "@$msgs/m.wire" ||
  { cat "$msgs/m.out" >&2; fail "the message was refused"; }
qid=$(pf_queue_id "$msgs/m.out")
pf_wait_delivered "$qid"
f=$(sink_file_for "$qid")
grep -q "$MARKER" "$f" && fail "the plaintext reached the sink"
grep -qi "^Content-Type: application/pkcs7-mime; smime-type=enveloped-data" "$f" ||
  { cat "$f" >&2; fail "not enveloped-data"; }
grep -q "$qid: direction=outbound .* action=sign+encrypt " "$PF_MILTER_LOG" ||
  fail "no sign+encrypt log line"
python3 "$SINK2MSG" "$f" "$msgs/enc.eml"
python3 "$MSGTOOL" body-b64 "$msgs/enc.eml" "$msgs/enc.der"

# inner CONTENT NAME: the decrypted entity is alice's signed message.
inner() {
  grep -q "$MARKER" "$1" || fail "$2: decrypted content lacks the text"
  printf 'MIME-Version: 1.0\r\n' | cat - "$1" > "$1.eml"
  python3 "$TOOL" extract-clear "$1.eml" "$1.content" "$1.sig" ||
    fail "$2: decrypted content is not multipart/signed"
  openssl cms -verify -binary -inform DER -in "$1.sig" -content "$1.content" \
    -CAfile "$pki/ca.pem" -purpose smimesign -out /dev/null 2>"$1.err" ||
    fail "$2: inner signature: $(cat "$1.err")"
}
for r in rsa1 ec1; do
  openssl cms -decrypt -inform DER -in "$msgs/enc.der" -recip "$pki/$r.pem" \
    -inkey "$pki/$r.key" -binary -out "$msgs/$r.dec" 2>"$msgs/$r.err" ||
    fail "openssl cannot decrypt for $r: $(cat "$msgs/$r.err")"
  inner "$msgs/$r.dec" "openssl/$r"
  echo "ok: $r decrypts with OpenSSL, alice's signature inside verifies"
done

# NSS: the RSA recipient's key in a fresh database.
nss="$SMX_TEST_DIR/nss"
rm -rf "$nss" && mkdir "$nss"
pki_p12 rsa1 "$pki/pw"
q certutil -N -d "sql:$nss" --empty-password
q pk12util -i "$pki/rsa1.p12" -d "sql:$nss" -w "$pki/pw" -K ""
cmsutil -D -i "$msgs/enc.der" -d "sql:$nss" -o "$msgs/nss.dec" 2>"$msgs/nss.err" &&
  grep -q "$MARKER" "$msgs/nss.dec" && echo "ok: rsa1 decrypts with NSS" ||
  echo "known: NSS 3.87 cannot read a message that also has an ECDH recipient ($(head -c 200 "$msgs/nss.err"))"
echo PASS-main

# A required recipient without certificate: 550 at RCPT, nothing sent.
before=$(sink_count)
if pf_send "$msgs/nocert.out" --server "127.0.0.1:$PF_SUBMIT_PORT" -a PLAIN \
   -au alice@example.com -ap pw-alice --from alice@example.com \
   --to nocert@partner.example -ndf --data "@$msgs/m.wire"; then
  cat "$msgs/nocert.out" >&2
  fail "a required recipient without certificate was accepted"
fi
grep -q "550 5.7.1" "$msgs/nocert.out" || { cat "$msgs/nocert.out" >&2; fail "want 550 5.7.1"; }
[ "$(sink_count)" = "$before" ] || fail "something reached the sink"
grep -rq "$MARKER" "$PF_SINK_DIR" && fail "plaintext at the sink"
echo "ok: required recipient without certificate refused at RCPT, nothing in clear"

# The subject tag: carl's domain says never, "[secure]" overrides it; the
# message arrives encrypted and the tag is gone from the Subject.
printf 'From: Alice <alice@example.com>\r\nTo: <carl@other.example>\r\nSubject: [secure] Quarterly numbers\r\n\r\n%s for Carl\r\n' "$MARKER" > "$msgs/tag.eml"
python3 "$MSGTOOL" wire "$msgs/tag.eml" "$msgs/tag.wire"
pf_send "$msgs/tag.out" --server "127.0.0.1:$PF_SUBMIT_PORT" -a PLAIN \
  -au alice@example.com -ap pw-alice --from alice@example.com \
  --to carl@other.example -ndf --data "@$msgs/tag.wire" ||
  { cat "$msgs/tag.out" >&2; fail "the tagged message was refused"; }
qid=$(pf_queue_id "$msgs/tag.out")
pf_wait_delivered "$qid"
f=$(sink_file_for "$qid")
grep -q "$MARKER" "$f" && fail "tagged message: plaintext at the sink"
grep -q "^Subject: Quarterly numbers$" "$f" || { grep -i "^Subject" "$f" >&2; fail "the tag was not removed"; }
grep -qi "^Content-Type: application/pkcs7-mime" "$f" || fail "tagged message not encrypted"
echo "ok: [secure] in the subject encrypts and is removed"
echo PASS
