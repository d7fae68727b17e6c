#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Outbound signing through a real Postfix: SASL-authenticated senders whose
# identities were imported with smimectl get their mail signed, and the
# signature at the sink verifies with OpenSSL, gpgsm and NSS (RSA and
# ECDSA signers; 7-bit, 8-bit, multipart with a 2 MB attachment, an HTML
# multipart/alternative with an inline image, and a 20 MB message); the
# signed content decodes to what was sent. A login may not sign as
# another address unless milter.signer_map grants it; a sender without
# key is deferred, as the default
# on_sign_failure says; an unauthenticated client in trusted_networks is
# signed only for the From addresses signers.allow_unauthenticated lists.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"
. "$SMX_SOURCE_DIR/tests/lib/pki.sh"
set -e
pf_need_peers
need_cmd openssl gpgsm gpgconf certutil cmsutil saslpasswd2
TOOL="$SMX_SOURCE_DIR/tests/lib/mime_tool.py"
HERE="$SMX_SOURCE_DIR/tests/postfix/sign"

pki=$(fresh_dir pki)
q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }
pki_ca "$pki" "Sign Test CA"
echo secret-p12 > "$pki/p12.pw"
# issue NAME EMAIL KEYSPEC...: certificate + PKCS#12 for an address
issue() {
  pki_issue "$@"
  pki_p12 "$1" "$pki/p12.pw" -certfile "$pki/ca.pem"
}
issue alice alice@example.com rsa:2048
issue erin erin@example.com ec -pkeyopt ec_paramgen_curve:P-256
issue noreply noreply@example.com rsa:2048

pf_init --sasl
sink_start
# carol may have mail signed as erin (a shared mailbox, say).
printf '# address  logins\nerin@example.com  carol@example.com\n' > "$pki/signers"
write_milter_conf "$PF_MILTER_CONF" "$PF_MILTER_PORT" \
  "signer_map = \"$pki/signers\""
printf 'policy: { signers: { allow_unauthenticated = [ "noreply@example.com" ]; }; };\n' \
  >> "$PF_MILTER_CONF"
pf_main_cf_set message_size_limit=40000000
rm -f "$SMX_TEST_DIR"/store.db* "$SMX_TEST_DIR/master.key"  # a previous run's
ctl() { "$SMX_BIN_DIR/smimectl" -c "$PF_MILTER_CONF" "$@"; }
q ctl init
q ctl trust add "$pki/ca.pem"
q ctl import-p12 "$pki/alice.p12" --password-file "$pki/p12.pw"
q ctl import-p12 "$pki/erin.p12" --password-file "$pki/p12.pw"
q ctl import-p12 "$pki/noreply.p12" --password-file "$pki/p12.pw"
pf_start_milter
for u in alice erin bob carol; do pf_add_sasl_user "$u@example.com" "pw-$u"; done
pf_start

# Judges: gpgsm and NSS trust the test CA.
export GNUPGHOME="$SMX_TEST_DIR/gnupg"
rm -rf "$GNUPGHOME" "$SMX_TEST_DIR/nss"
mkdir -m 700 "$GNUPGHOME" "$SMX_TEST_DIR/nss"
printf 'disable-crl-checks\ndisable-policy-checks\n' > "$GNUPGHOME/gpgsm.conf"
printf 'allow-mark-trusted\n' > "$GNUPGHOME/gpg-agent.conf"
trap 'rc=$?; set +e; gpgconf --kill all >/dev/null 2>&1; pf_cleanup $rc' EXIT
q gpgsm --batch --import "$pki/ca.pem"
echo "$(openssl x509 -in "$pki/ca.pem" -noout -fingerprint -sha1 | sed 's/.*=//') S" \
  > "$GNUPGHOME/trustlist.txt"
q certutil -N -d "sql:$SMX_TEST_DIR/nss" --empty-password
q certutil -A -d "sql:$SMX_TEST_DIR/nss" -n ca -t "C,C,C" -i "$pki/ca.pem"

msgs=$(fresh_dir messages)
# submit LOGIN FROM FILE OUT: sends FILE unchanged (dot-stuffed, no
# extra line end: swaks -ndf) on the submission port.
submit() {
  python3 "$SMX_SOURCE_DIR/tests/lib/msgtool.py" wire "$3" "$3.wire" ||
    fail "cannot dot-stuff $3"
  pf_send "$4" --server "127.0.0.1:$PF_SUBMIT_PORT" -a PLAIN -au "$1" \
    -ap "pw-${1%@*}" --from "$2" --to rcpt@partner.example -ndf \
    --data "@$3.wire"
}

# verify_signed SINKFILE ORIGINAL: three implementations agree.
verify_signed() {
  local f=$1 orig=$2 w
  w=$(mktemp -d "$SMX_TEST_DIR/verify.XXXXXX")
  python3 "$SMX_SOURCE_DIR/tests/lib/sink-to-message.py" "$f" "$w/message.eml"
  python3 "$TOOL" check-7bit "$w/message.eml" || fail "$f: not 7-bit CRLF"
  python3 "$TOOL" extract-clear "$w/message.eml" "$w/content" "$w/sig.der" ||
    fail "$f: not a multipart/signed message"
  openssl cms -verify -binary -inform DER -in "$w/sig.der" \
    -content "$w/content" -CAfile "$pki/ca.pem" -purpose smimesign \
    -out /dev/null 2> "$w/openssl.err" || fail "$f: openssl: $(cat "$w/openssl.err")"
  gpgsm --batch --verify "$w/sig.der" "$w/content" > "$w/gpgsm.out" 2>&1 ||
    fail "$f: gpgsm: $(cat "$w/gpgsm.out")"
  grep -q "Good signature" "$w/gpgsm.out" || fail "$f: gpgsm: no good signature"
  cmsutil -D -i "$w/sig.der" -c "$w/content" -d "sql:$SMX_TEST_DIR/nss" -u 4 \
    > /dev/null 2> "$w/nss.err" || fail "$f: cmsutil: $(cat "$w/nss.err")"
  python3 "$TOOL" compare "$orig" "$w/content" ||
    fail "$f: the signed content differs from $orig"
}

# delivered OUT: the sink file of the message a swaks transcript queued.
delivered() {
  local qid
  qid=$(pf_queue_id "$1")
  [ -n "$qid" ] || { cat "$1" >&2; fail "no queue id in $1"; }
  pf_wait_delivered "$qid"
  sink_file_for "$qid"
}

for signer in alice erin; do
  big=; [ $signer = alice ] && big=big	# 20 MB once: RSA
  python3 "$HERE/make-messages.py" "$msgs" "$signer@example.com" rcpt@partner.example ${big:+--big}
  for m in 7bit 8bit mixed alternative $big; do
    out="$msgs/$signer-$m.out"
    submit "$signer@example.com" "$signer@example.com" "$msgs/$m.eml" "$out" ||
      { cat "$out" >&2; fail "$signer/$m: submission failed"; }
    f=$(delivered "$out")
    verify_signed "$f" "$msgs/$m.eml"
    [ $m = big ] && rm -f "$f" "$msgs/big.eml"*	# 20 MB each
    grep -q "$(pf_queue_id "$out"): direction=outbound .* action=sign " "$PF_MILTER_LOG" ||
      fail "$signer/$m: no 'action=sign' log line"
    echo "ok: $signer $m signed and verified by OpenSSL, gpgsm and NSS"
  done
done

# A message the client signed itself passes byte for byte.
python3 "$SMX_SOURCE_DIR/tests/lib/sink-to-message.py" "$(delivered "$msgs/alice-7bit.out")" "$msgs/presigned.eml"
sed -i '1,/^\r\?$/{/^Received:/,/^[^ \t]/{/^Received:/d;/^[ \t]/d}}' "$msgs/presigned.eml"
submit alice@example.com alice@example.com "$msgs/presigned.eml" "$msgs/presigned.out" ||
  { cat "$msgs/presigned.out" >&2; fail "presigned: submission failed"; }
f=$(delivered "$msgs/presigned.out")
python3 "$SMX_SOURCE_DIR/tests/lib/sink-to-message.py" "$f" "$msgs/presigned.got"
python3 "$SMX_SOURCE_DIR/tests/lib/msgtool.py" same-body "$msgs/presigned.eml" "$msgs/presigned.got" ||
  fail "a client-signed message was changed"
grep -q "already signed by the client" "$PF_MILTER_LOG" || fail "no 'already signed' reason logged"
echo "ok: a message the client signed itself passes unchanged"

# bob logs in but writes From: alice: never signed as alice.
python3 "$HERE/make-messages.py" "$msgs" alice@example.com rcpt@partner.example
submit bob@example.com alice@example.com "$msgs/7bit.eml" "$msgs/bob.out" ||
  { cat "$msgs/bob.out" >&2; fail "bob: submission failed"; }
f=$(delivered "$msgs/bob.out")
grep -qi "^Content-Type: multipart/signed" "$f" && fail "bob's message was signed as alice"
grep -q "may not sign as <alice@example.com>" "$PF_MILTER_LOG" || fail "no refusal reason logged"
echo "ok: a login cannot sign as another address"

# carol, granted erin@ by milter.signer_map, has mail signed as erin.
python3 "$HERE/make-messages.py" "$msgs" erin@example.com rcpt@partner.example
submit carol@example.com erin@example.com "$msgs/7bit.eml" "$msgs/carol-erin.out" ||
  { cat "$msgs/carol-erin.out" >&2; fail "carol as erin: submission failed"; }
f=$(delivered "$msgs/carol-erin.out")
verify_signed "$f" "$msgs/7bit.eml"
grep -q "$(pf_queue_id "$msgs/carol-erin.out"): .*signed as <erin@example.com>" "$PF_MILTER_LOG" ||
  fail "carol as erin: not logged as signed as erin"
echo "ok: milter.signer_map lets carol's login sign as erin"

# carol has no key: the default on_sign_failure defers the message.
python3 "$HERE/make-messages.py" "$msgs" carol@example.com rcpt@partner.example
if submit carol@example.com carol@example.com "$msgs/7bit.eml" "$msgs/carol.out"; then
  cat "$msgs/carol.out" >&2
  fail "carol's message was accepted without a key"
fi
grep -q "451 4.7.1" "$msgs/carol.out" || { cat "$msgs/carol.out" >&2; fail "carol: want 451 4.7.1"; }
echo "ok: a sender without key is deferred"

# Unauthenticated clients in trusted_networks (the MX port, from
# 127.0.0.1): alice's mail is not signed (that would make the gateway a
# signing oracle for anyone on the network); noreply@, listed in
# signers.allow_unauthenticated, is.
python3 "$HERE/make-messages.py" "$msgs" alice@example.com rcpt@partner.example
python3 "$SMX_SOURCE_DIR/tests/lib/msgtool.py" wire "$msgs/7bit.eml" "$msgs/7bit.wire"
pf_send "$msgs/trusted-alice.out" --from alice@example.com --to rcpt@partner.example \
  -ndf --data "@$msgs/7bit.wire" || { cat "$msgs/trusted-alice.out" >&2; fail "trusted alice refused"; }
f=$(delivered "$msgs/trusted-alice.out")
grep -qi "^Content-Type: multipart/signed" "$f" && fail "unauthenticated alice was signed"
python3 "$HERE/make-messages.py" "$msgs" noreply@example.com rcpt@partner.example
python3 "$SMX_SOURCE_DIR/tests/lib/msgtool.py" wire "$msgs/7bit.eml" "$msgs/7bit.wire"
pf_send "$msgs/trusted-noreply.out" --from noreply@example.com --to rcpt@partner.example \
  -ndf --data "@$msgs/7bit.wire" || { cat "$msgs/trusted-noreply.out" >&2; fail "noreply refused"; }
f=$(delivered "$msgs/trusted-noreply.out")
verify_signed "$f" "$msgs/7bit.eml"
echo "ok: trusted network without login: only allow_unauthenticated addresses are signed"

# Opaque signing (sign_format = "opaque"), after a restart of the milter.
pf_stop_milter
sed -i 's/^milter: {/milter: {\n  sign_format = "opaque";/' "$PF_MILTER_CONF"
pf_start_milter
python3 "$HERE/make-messages.py" "$msgs" alice@example.com rcpt@partner.example
submit alice@example.com alice@example.com "$msgs/8bit.eml" "$msgs/opaque.out" ||
  { cat "$msgs/opaque.out" >&2; fail "opaque: submission failed"; }
f=$(delivered "$msgs/opaque.out")
w=$(mktemp -d "$SMX_TEST_DIR/opaque.XXXXXX")
python3 "$SMX_SOURCE_DIR/tests/lib/sink-to-message.py" "$f" "$w/message.eml"
grep -qi "^Content-Type: application/pkcs7-mime; smime-type=signed-data" "$w/message.eml" ||
  fail "opaque: not signed-data"
python3 "$TOOL" extract-opaque "$w/message.eml" "$w/p7m.der" || fail "opaque: no p7m"
openssl cms -verify -inform DER -in "$w/p7m.der" -CAfile "$pki/ca.pem" \
  -purpose smimesign -out "$w/content" 2> "$w/openssl.err" || fail "opaque: openssl: $(cat "$w/openssl.err")"
gpgsm --batch --verify --output "$w/gpgsm.content" "$w/p7m.der" > "$w/gpgsm.out" 2>&1 ||
  fail "opaque: gpgsm: $(cat "$w/gpgsm.out")"
cmsutil -D -i "$w/p7m.der" -d "sql:$SMX_TEST_DIR/nss" -u 4 -o "$w/nss.content" \
  2> "$w/nss.err" || fail "opaque: cmsutil: $(cat "$w/nss.err")"
python3 "$TOOL" compare "$msgs/8bit.eml" "$w/content" || fail "opaque: content differs"
echo "ok: opaque signature verified by OpenSSL, gpgsm and NSS"
echo PASS
