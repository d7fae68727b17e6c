#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# smimectl explain and the milter decide a table of messages alike
# (agrees_with_milter.py): the same store, policy and message, through
# the milter's socket and through explain --message.
. "$SMX_SOURCE_DIR/tests/lib/milter.sh"
. "$SMX_SOURCE_DIR/tests/lib/pki.sh"
mt_init
need_cmd openssl python3
pki="$RUN/pki"
msgs="$RUN/messages"
mkdir -p "$pki" "$msgs"
q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }
pki_ca "$pki" "Agreement Test CA"
pki_issue alice alice@example.com
pki_issue carol carol@example.com
pki_issue bob bob@partner.example
echo secret-p12 > "$pki/p12.pw"
for u in alice carol; do
  pki_p12 "$u" "$pki/p12.pw" -certfile "$pki/ca.pem"
done

mt_conf "$CONF"
cat >> "$CONF" <<'POLICY'
policy: {
  default: { sign = "always"; encrypt = "opportunistic";
             on_missing_certificate = "reject"; on_sign_failure = "tempfail"; };
  domains: ( { domain = "partner.example"; encrypt = "required"; } );
  triggers: { subject_tag = "[secure]"; header = "X-Encrypt"; };
};
POLICY
ctl() { "$SMX_BIN_DIR/smimectl" -c "$CONF" "$@"; }
q ctl init
q ctl trust add "$pki/ca.pem"
q ctl import-p12 "$pki/alice.p12" --password-file "$pki/p12.pw"
q ctl import-p12 "$pki/carol.p12" --password-file "$pki/p12.pw"
q ctl import-cert "$pki/bob.pem"

# message NAME FROM CONTENT-TYPE [EXTRA-HEADER] < BODY
message() {
  {
    printf 'From: %s\r\nTo: <rcpt@example.net>\r\nSubject: %s\r\n' "$2" "$1"
    printf 'Message-ID: <%s@example.com>\r\nMIME-Version: 1.0\r\n' "$1"
    [ -n "${4:-}" ] && printf '%s\r\n' "$4"
    printf 'Content-Type: %s\r\n\r\n' "$3"
    sed 's/$/\r/'
  } > "$msgs/$1.eml"
}
text() { printf 'Hello,\nthis is a test.\n'; }
text | message plain-to-cert 'Alice <alice@example.com>' 'text/plain'
text | message plain-no-cert 'Alice <alice@example.com>' 'text/plain'
text | message two-recipients 'Alice <alice@example.com>' 'text/plain'
text > "$RUN/inner.txt"
q openssl cms -encrypt -aes256 -in "$RUN/inner.txt" -outform DER \
  -out "$RUN/envelope.der" "$pki/bob.pem"
base64 -w 76 "$RUN/envelope.der" | message enveloped 'Alice <alice@example.com>' \
  'application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m' \
  'Content-Transfer-Encoding: base64'
base64 -w 76 "$RUN/inner.txt" | message enveloped-fake 'Alice <alice@example.com>' \
  'application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m' \
  'Content-Transfer-Encoding: base64'
base64 -w 76 "$RUN/envelope.der" | message pkcs7-no-type 'Alice <alice@example.com>' \
  'application/pkcs7-mime; name=smime.p7m' 'Content-Transfer-Encoding: base64'
text | message signed-fake 'Alice <alice@example.com>' \
  'multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="b1"'
text | message from-not-sender 'Carol <carol@example.com>' 'text/plain'
text | message from-other-key 'Alice <alice@example.com>' 'text/plain'
text | message two-from 'Alice <alice@example.com>' 'text/plain' \
  'From: Carol <carol@example.com>'
text | message tagged-no-cert 'Alice <alice@example.com>' 'text/plain'
sed -i 's/^Subject: tagged-no-cert/Subject: [secure] tagged-no-cert/' "$msgs/tagged-no-cert.eml"
text | message tagged-cert 'Alice <alice@example.com>' 'text/plain'
sed -i 's/^Subject: tagged-cert/Subject: [secure] tagged-cert/' "$msgs/tagged-cert.eml"
text | message trigger-header 'Alice <alice@example.com>' 'text/plain' 'X-Encrypt: yes'
text | message no-key 'Zoe <zoe@example.com>' 'text/plain'

mt_start "$CONF"
python3 "$SMX_SOURCE_DIR/tests/explain/agrees_with_milter.py" "$PORT" "$LOG" \
  "$SMX_BIN_DIR/smimectl" "$CONF" "$msgs" > "$RUN/agree.out" 2>&1
rc=$?
cat "$RUN/agree.out"
[ $rc -eq 0 ] || { show_log; fail "explain and the milter disagree"; }
mt_finish
