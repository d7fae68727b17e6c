#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Mail that policy says must be encrypted, through a real Postfix, in the
# forms that used to slip out in clear:
#  - an RFC 2047 encoded Subject carrying the "[secure]" tag (as Outlook
#    sends any non-ASCII subject): encrypted, the tag removed and the rest
#    of the Subject encoded again; refused without a certificate;
#  - a Content-Type that only mentions "pkcs7-mime" in a parameter, and an
#    application/pkcs7-mime enveloped-data label on a body that is not
#    CMS: encrypted like any other message; a message the client really
#    encrypted passes unchanged;
#  - plain text labelled multipart/signed: signed by the milter, not taken
#    as signed by the client;
#  - internal mail with internal_mail = "pass": a required recipient and
#    the subject tag still mean encrypted or refused.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"
. "$SMX_SOURCE_DIR/tests/lib/pki.sh"
set -e
pf_need_peers
need_cmd openssl saslpasswd2 python3
SINK2MSG="$SMX_SOURCE_DIR/tests/lib/sink-to-message.py"
MSGTOOL="$SMX_SOURCE_DIR/tests/lib/msgtool.py"
MARKER="PLAINTEXT-MARKER-5c21e"

pki=$(fresh_dir pki)
q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }
pki_ca "$pki" "Trigger Test CA"
echo p12pass > "$pki/pw"
pki_issue alice alice@example.com
pki_issue carl carl@other.example
pki_issue rsa1 rsa1@partner.example
pki_issue lawyer lawyer@example.com
pki_issue dan dan@example.com
pki_p12 alice "$pki/pw"

pf_init --sasl
sink_start
write_milter_conf "$PF_MILTER_CONF" "$PF_MILTER_PORT"
rm -f "$SMX_TEST_DIR"/store.db* "$SMX_TEST_DIR/master.key"
# internal_mail is left at its default, "pass".
cat >> "$PF_MILTER_CONF" <<'CONF'
policy: {
  domains: ( { domain = "partner.example"; encrypt = "required"; },
             { domain = "other.example"; encrypt = "never"; } );
  addresses: ( { address = "lawyer@example.com"; encrypt = "required"; },
               { address = "clerk@example.com"; encrypt = "required"; } );
  triggers: { subject_tag = "[secure]"; };
};
CONF
ctl() { "$SMX_BIN_DIR/smimectl" -c "$PF_MILTER_CONF" "$@"; }
q ctl init
q ctl trust add "$pki/ca.pem"
q ctl import-p12 "$pki/alice.p12" --password-file "$pki/pw"
q ctl import-cert "$pki/carl.pem" "$pki/rsa1.pem" "$pki/lawyer.pem" "$pki/dan.pem"
pf_start_milter
pf_add_sasl_user alice@example.com pw-alice
pf_start

msgs=$(fresh_dir messages)
# send NAME RCPT: submits $msgs/NAME.eml as alice; the swaks transcript
# is $msgs/NAME.out; the exit status tells whether it was accepted.
send() {
  python3 "$MSGTOOL" wire "$msgs/$1.eml" "$msgs/$1.wire"
  pf_send "$msgs/$1.out" --server "127.0.0.1:$PF_SUBMIT_PORT" -a PLAIN \
    -au alice@example.com -ap pw-alice --from alice@example.com \
    --to "$2" -ndf --data "@$msgs/$1.wire"
}
# delivered NAME: waits for the accepted message; its sink file in $f.
delivered() {
  local qid
  qid=$(pf_queue_id "$msgs/$1.out")
  pf_wait_delivered "$qid"
  f=$(sink_file_for "$qid") || fail "$1: not at the sink"
  python3 "$SINK2MSG" "$f" "$msgs/$1.sink.eml"
  milter_line_for "$qid" > "$msgs/$1.log" || fail "$1: no milter log line"
}
# refused NAME WHAT: the message was not accepted, nothing reached the sink.
refused() {
  grep -q "5.7.1" "$msgs/$1.out" || { cat "$msgs/$1.out" >&2; fail "$1: want 5.7.1"; }
  [ "$(sink_count)" = "$before" ] || fail "$1: something reached the sink"
  echo "ok: $2"
}
# encrypted NAME: enveloped-data at the sink, made by the milter.
encrypted() {
  grep -q "$MARKER" "$f" && fail "$1: the plaintext reached the sink"
  grep -qi "^Content-Type: application/pkcs7-mime; smime-type=enveloped-data" "$f" ||
    { cat "$f" >&2; fail "$1: not enveloped-data"; }
  grep -Eq "action=(sign\+)?encrypt " "$msgs/$1.log" ||
    fail "$1: the milter did not encrypt: $(cat "$msgs/$1.log")"
}
# subject_text FILE: the Subject a reader sees (unfolded, RFC 2047 decoded).
subject_text() {
  python3 - "$1" <<'PY'
import email, email.header, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"),
                                   policy=email.policy.compat32)
raw = m["Subject"]
print(str(email.header.make_header(email.header.decode_header(raw))))
PY
}
# message NAME SUBJECT [HEADER...]: a text/plain message with the marker.
message() {
  local name=$1 subject=$2 h=""
  shift 2
  for x in "$@"; do h="$h$x\r\n"; done
  printf "From: Alice <alice@example.com>\r\nTo: someone\r\nSubject: %s\r\nMessage-ID: <%s@example.com>\r\n${h}\r\n%s: Kontonummer und Betr\xc3\xa4ge.\r\n" \
    "$subject" "$name" "$MARKER" > "$msgs/$name.eml"
}

# --- the encoded subject tag ----------------------------------------------
# "[secure] Bankverbindung ändern" as Outlook writes it (UTF-8, B). carl's
# domain says never: only the tag can make it encrypted.
message b64tag "=?UTF-8?B?W3NlY3VyZV0gQmFua3ZlcmJpbmR1bmcgw6RuZGVybg==?="
send b64tag carl@other.example || { cat "$msgs/b64tag.out" >&2; fail "b64tag refused"; }
delivered b64tag
encrypted b64tag
got=$(subject_text "$msgs/b64tag.sink.eml")
[ "$got" = "Bankverbindung ändern" ] || fail "b64tag: Subject decodes to '$got'"
grep -qi "^Subject: .*=?" "$f" || fail "b64tag: the Subject is not encoded: $(grep -i ^Subject "$f")"
echo "ok: B-encoded [secure] tag encrypts; the Subject is re-encoded without it"

# The tag split over two Q words on a folded line, ISO-8859-1.
message qsplit $'=?ISO-8859-1?Q?Re:_[sec?=\r\n =?ISO-8859-1?Q?ure]_Kontost=E4nde?='
send qsplit carl@other.example || { cat "$msgs/qsplit.out" >&2; fail "qsplit refused"; }
delivered qsplit
encrypted qsplit
got=$(subject_text "$msgs/qsplit.sink.eml")
[ "$got" = "Re: Kontostände" ] || fail "qsplit: Subject decodes to '$got'"
echo "ok: a tag split across folded Q words encrypts; Subject '$got'"

# No certificate: refused, nothing in clear.
before=$(sink_count)
message nocert "=?UTF-8?B?W3NlY3VyZV0gQmFua3ZlcmJpbmR1bmcgw6RuZGVybg==?="
send nocert nocert@other.example && fail "nocert: accepted"
refused nocert "B-encoded [secure] tag without a certificate refused"

# --- claims of client encryption ------------------------------------------
# "pkcs7-mime" only in a parameter of text/plain, to a required recipient.
message xcomment "numbers" 'Content-Type: text/plain; charset=utf-8; x-comment="not pkcs7-mime"' \
  "Content-Transfer-Encoding: 8bit"
send xcomment rsa1@partner.example || { cat "$msgs/xcomment.out" >&2; fail "xcomment refused"; }
delivered xcomment
encrypted xcomment
echo "ok: text/plain with x-comment=\"not pkcs7-mime\" is encrypted"

# An enveloped-data label on a body that is base64 plain text.
fake=$(printf '%s: not encrypted at all\r\n' "$MARKER" | base64 -w 64)
printf 'From: Alice <alice@example.com>\r\nTo: <rsa1@partner.example>\r\nSubject: fake\r\nMessage-ID: <fake@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n' \
  "$fake" > "$msgs/fake.eml"
send fake rsa1@partner.example || { cat "$msgs/fake.out" >&2; fail "fake refused"; }
delivered fake
grep -q "already encrypted" "$msgs/fake.log" && fail "fake: taken as client-encrypted"
grep -q "claims client encryption but the body is not encrypted" "$msgs/fake.log" ||
  fail "fake: the log does not say why it was not exempt: $(cat "$msgs/fake.log")"
grep -Eq "action=(sign\+)?encrypt " "$msgs/fake.log" || fail "fake: not encrypted: $(cat "$msgs/fake.log")"
python3 "$MSGTOOL" body-b64 "$msgs/fake.sink.eml" "$msgs/fake.der"
openssl cms -decrypt -inform DER -in "$msgs/fake.der" -recip "$pki/rsa1.pem" \
  -inkey "$pki/rsa1.key" -out "$msgs/fake.dec" 2>"$msgs/fake.err" ||
  fail "fake: the sink's message does not decrypt for rsa1: $(cat "$msgs/fake.err")"
grep -q "$fake" "$msgs/fake.dec" || grep -q "${fake:0:40}" "$msgs/fake.dec" ||
  fail "fake: the decrypted message lacks the original body"
echo "ok: a fake enveloped-data body is encrypted by the milter"

# A valid envelope's first bytes (indefinite lengths, as streaming
# writers start) in front of plaintext: not encryption either.
python3 - "$MARKER" "$msgs/headfake.eml" <<'PY'
import base64, sys
head = bytes.fromhex("308006092a864886f70d010703a0803080")
body = base64.encodebytes(head + (sys.argv[1] + ": behind an envelope header\r\n").encode())
with open(sys.argv[2], "wb") as f:
    f.write(b"From: Alice <alice@example.com>\r\nTo: <rsa1@partner.example>\r\n"
            b"Subject: headfake\r\nMessage-ID: <headfake@example.com>\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; "
            b"smime-type=enveloped-data; name=smime.p7m\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" +
            body.replace(b"\n", b"\r\n"))
PY
send headfake rsa1@partner.example || { cat "$msgs/headfake.out" >&2; fail "headfake refused"; }
delivered headfake
grep -q "already encrypted" "$msgs/headfake.log" && fail "headfake: taken as client-encrypted"
grep -Eq "action=(sign\+)?encrypt " "$msgs/headfake.log" ||
  fail "headfake: not encrypted: $(cat "$msgs/headfake.log")"
echo "ok: an envelope header in front of plaintext is encrypted by the milter"

# A message the client really encrypted passes unchanged.
printf 'Content-Type: text/plain\r\n\r\n%s: encrypted by the client\r\n' "$MARKER" > "$msgs/inner.txt"
q openssl cms -encrypt -aes256 -binary -in "$msgs/inner.txt" -outform DER \
  -out "$msgs/client.der" "$pki/rsa1.pem"
{
  printf 'From: Alice <alice@example.com>\r\nTo: <rsa1@partner.example>\r\nSubject: client\r\nMessage-ID: <client@example.com>\r\nMIME-Version: 1.0\r\n'
  printf 'Content-Type: application/pkcs7-mime; smime-type=enveloped-data;\r\n\tname="smime.p7m"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
  base64 -w 76 "$msgs/client.der" | sed 's/$/\r/'
} > "$msgs/client.eml"
send client rsa1@partner.example || { cat "$msgs/client.out" >&2; fail "client refused"; }
delivered client
grep -q "already encrypted by the client" "$msgs/client.log" ||
  fail "client: not exempt: $(cat "$msgs/client.log")"
python3 "$MSGTOOL" same-body "$msgs/client.eml" "$msgs/client.sink.eml" ||
  fail "client: the body was changed"
echo "ok: a message the client encrypted passes unchanged"

# --- a claim of a client signature ---------------------------------------
# Plain text labelled multipart/signed (sign is "always" by default): no
# signature part, so not signed by the client; the milter signs it.
printf 'From: Alice <alice@example.com>\r\nTo: <carl@other.example>\r\nSubject: signfake\r\nMessage-ID: <signfake@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/signed; protocol="application/pkcs7-signature";\r\n\tmicalg=sha-256; boundary="=-s1"\r\n\r\nPay to account 12345678, not signed at all.\r\n' \
  > "$msgs/signfake.eml"
send signfake carl@other.example || { cat "$msgs/signfake.out" >&2; fail "signfake refused"; }
delivered signfake
grep -q "already signed by the client" "$msgs/signfake.log" &&
  fail "signfake: taken as client-signed: $(cat "$msgs/signfake.log")"
grep -q "action=sign " "$msgs/signfake.log" ||
  fail "signfake: not signed: $(cat "$msgs/signfake.log")"
openssl cms -verify -in "$msgs/signfake.sink.eml" -CAfile "$pki/ca.pem" \
  -out "$msgs/signfake.content" 2>"$msgs/signfake.err" ||
  fail "signfake: no valid gateway signature at the sink: $(cat "$msgs/signfake.err")"
grep -q "Pay to account 12345678" "$msgs/signfake.content" ||
  fail "signfake: the signed content lacks the original body"
echo "ok: plain text labelled multipart/signed is signed by the milter"

# --- internal mail, internal_mail = "pass" --------------------------------
message lawyer "contract"
send lawyer lawyer@example.com || { cat "$msgs/lawyer.out" >&2; fail "lawyer refused"; }
delivered lawyer
encrypted lawyer
grep -q "direction=internal" "$msgs/lawyer.log" || fail "lawyer: not internal"
echo "ok: internal mail to a required recipient is encrypted"

message dan "=?UTF-8?Q?[secure]_Geb=C3=BChren?="
send dan dan@example.com || { cat "$msgs/dan.out" >&2; fail "dan refused"; }
delivered dan
encrypted dan
[ "$(subject_text "$msgs/dan.sink.eml")" = "Gebühren" ] || fail "dan: Subject"
echo "ok: internal mail with the subject tag is encrypted"

before=$(sink_count)
message bob "=?UTF-8?Q?[secure]_Geb=C3=BChren?="
send bob bob@example.com && fail "bob: accepted"
refused bob "internal mail with the subject tag and no certificate refused"
message clerk "contract"
send clerk clerk@example.com && fail "clerk: accepted"
refused clerk "internal mail to a required recipient without certificate refused"
grep -rq "$MARKER" "$PF_SINK_DIR" && {
  grep -rl "$MARKER" "$PF_SINK_DIR" >&2; fail "plaintext at the sink"; }
echo PASS
