#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The signer's intermediate CA travels with the signature: alice's
# certificate comes from an intermediate CA (root -> intermediate ->
# alice, as every commercial S/MIME certificate does), her identity is
# imported from a PKCS#12 holding the intermediate, and the root is a
# trust anchor and nowhere else in the store: the path is built from
# both. A recipient that has the root alone (OpenSSL with
# -CAfile root.pem and no -certfile, gpgsm and NSS trusting only the
# root) must be able to build the path from the certificates in the
# signature.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"
. "$SMX_SOURCE_DIR/tests/lib/pki.sh"
set -e
pf_need_peers
need_cmd openssl gpgsm gpgconf certutil cmsutil saslpasswd2
TOOL="$SMX_SOURCE_DIR/tests/lib/mime_tool.py"
HERE="$SMX_SOURCE_DIR/tests/postfix/sign"

# root/ca.pem (self-signed) -> inter/ca.pem -> inter/alice.pem
root=$(fresh_dir root)
inter=$(fresh_dir inter)
pki_ca "$root" "Chain Test Root CA"
pki_run openssl req -newkey rsa:2048 -nodes -keyout "$inter/ca.key" \
  -out "$inter/ca.csr" -subj "/CN=Chain Test Intermediate CA"
pki_run openssl x509 -req -in "$inter/ca.csr" -CA "$root/ca.pem" \
  -CAkey "$root/ca.key" -CAcreateserial -out "$inter/ca.pem" -days 7 \
  -extfile <(printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n')
PKI_DIR=$inter
pki_issue alice alice@example.com rsa:2048
echo secret-p12 > "$inter/p12.pw"
pki_p12 alice "$inter/p12.pw" -certfile "$inter/ca.pem"
openssl verify -CAfile "$root/ca.pem" -untrusted "$inter/ca.pem" \
  -purpose smimesign "$inter/alice.pem" >/dev/null ||
  fail "the test PKI itself does not verify"

export GNUPGHOME="$SMX_TEST_DIR/gnupg"
pf_init --sasl
trap 'rc=$?; set +e; gpgconf --kill all >/dev/null 2>&1; pf_cleanup $rc' EXIT
sink_start
write_milter_conf "$PF_MILTER_CONF" "$PF_MILTER_PORT"
rm -f "$SMX_TEST_DIR"/store.db* "$SMX_TEST_DIR/master.key"  # a previous run's
ctl() { "$SMX_BIN_DIR/smimectl" -c "$PF_MILTER_CONF" "$@"; }
q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }
q ctl init
q ctl trust add "$root/ca.pem"	# the root only
ctl import-p12 "$inter/alice.p12" --password-file "$inter/p12.pw" \
  > "$SMX_TEST_DIR/import.out" 2>&1 ||
  { cat "$SMX_TEST_DIR/import.out" >&2; fail "import-p12 failed"; }
grep -q "1 chain certificate" "$SMX_TEST_DIR/import.out" ||
  { cat "$SMX_TEST_DIR/import.out" >&2; fail "the p12's chain was not imported"; }
pf_start_milter
pf_add_sasl_user alice@example.com pw-alice
pf_start

# Judges that hold the root and nothing else.
rm -rf "$GNUPGHOME" "$SMX_TEST_DIR/nss"
gpgsm_home "$GNUPGHOME" "$root/ca.pem"
mkdir -m 700 "$SMX_TEST_DIR/nss"
q certutil -N -d "sql:$SMX_TEST_DIR/nss" --empty-password
q certutil -A -d "sql:$SMX_TEST_DIR/nss" -n root -t "C,C,C" -i "$root/ca.pem"

msgs=$(fresh_dir messages)
python3 "$HERE/make-messages.py" "$msgs" alice@example.com rcpt@partner.example
python3 "$SMX_SOURCE_DIR/tests/lib/msgtool.py" wire "$msgs/7bit.eml" "$msgs/7bit.wire" ||
  fail "cannot dot-stuff the message"
pf_send "$msgs/alice.out" --server "127.0.0.1:$PF_SUBMIT_PORT" -a PLAIN \
  -au alice@example.com -ap pw-alice --from alice@example.com \
  --to rcpt@partner.example -ndf --data "@$msgs/7bit.wire" ||
  { cat "$msgs/alice.out" >&2; fail "submission failed"; }
qid=$(pf_queue_id "$msgs/alice.out")
[ -n "$qid" ] || { cat "$msgs/alice.out" >&2; fail "no queue id"; }
pf_wait_delivered "$qid"
grep -q "$qid: direction=outbound .* action=sign " "$PF_MILTER_LOG" ||
  fail "no 'action=sign' log line"

w=$(fresh_dir verify)
python3 "$SMX_SOURCE_DIR/tests/lib/sink-to-message.py" "$(sink_file_for "$qid")" "$w/message.eml"
python3 "$TOOL" extract-clear "$w/message.eml" "$w/content" "$w/sig.der" ||
  fail "not a multipart/signed message"

openssl cms -verify -binary -inform DER -in "$w/sig.der" -content "$w/content" \
  -CAfile "$root/ca.pem" -purpose smimesign -out /dev/null 2> "$w/openssl.err" ||
  fail "openssl with the root only: $(cat "$w/openssl.err")"
echo "ok: OpenSSL verifies with the root alone"
gpgsm --batch --verify "$w/sig.der" "$w/content" > "$w/gpgsm.out" 2>&1 ||
  fail "gpgsm with the root only: $(cat "$w/gpgsm.out")"
grep -q "Good signature" "$w/gpgsm.out" || fail "gpgsm: no good signature: $(cat "$w/gpgsm.out")"
echo "ok: gpgsm verifies with the root alone"
cmsutil -D -i "$w/sig.der" -c "$w/content" -d "sql:$SMX_TEST_DIR/nss" -u 4 \
  > /dev/null 2> "$w/nss.err" || fail "cmsutil with the root only: $(cat "$w/nss.err")"
echo "ok: NSS verifies with the root alone"
# The certificate set: alice, the intermediate (a stored CA certificate)
# and the root (an anchor).
openssl pkcs7 -inform DER -in "$w/sig.der" -print_certs -noout \
  > "$w/certs.txt" 2>&1 || fail "the signature does not parse: $(cat "$w/certs.txt")"
for cn in alice "Chain Test Intermediate CA" "Chain Test Root CA"; do
  grep -q "^subject=CN = $cn\$" "$w/certs.txt" ||
    { cat "$w/certs.txt" >&2; fail "the signature lacks the certificate of $cn"; }
done
echo "ok: the signature carries alice's certificate, the intermediate and the root"

python3 "$TOOL" compare "$msgs/7bit.eml" "$w/content" ||
  fail "the signed content differs from what was sent"
echo PASS
