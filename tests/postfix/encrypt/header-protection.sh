#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Header protection (policy header_protection = "baseline") through a
# real Postfix.
#  1. alice (SASL) writes to a partner with header protection: the
#     message at the sink shows Subject [...] and no Comments or
#     Keywords; decrypted with OpenSSL and read with Python's email
#     package, the protected part is hp="cipher", carries the fields
#     alice sent, HP-Outer matches the outer header, the main text starts
#     with the legacy display element; alice's signature over it
#     verifies.
#  2. Round trip: alice writes to bob@example.com (internal mail handled
#     as outbound, bob's key in the store); what left the gateway shows
#     [...]; sent back in from outside, the gateway decrypts it
#     (decrypt_inbound) and delivers it with the original Subject and an
#     X-SMIME-Decrypted header naming the protected fields.
#  3. The protected-headers corpus messages encrypted to bob@smime.example
#     (whose key the test holds) are delivered decrypted with their
#     protected Subject (skipped without $SMX_CORPUS_DIR).
#  4. header_protection off: the Subject stays outside, nothing is marked.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"
. "$SMX_SOURCE_DIR/tests/lib/pki.sh"
set -e
pf_need_peers
need_cmd openssl saslpasswd2 python3
TOOL="$SMX_SOURCE_DIR/tests/lib/mime_tool.py"
SINK2MSG="$SMX_SOURCE_DIR/tests/lib/sink-to-message.py"
MSGTOOL="$SMX_SOURCE_DIR/tests/lib/msgtool.py"
HPCHECK="$SMX_SOURCE_DIR/tests/postfix/encrypt/hp_check.py"
SUBJECT="Quarterly numbers before the board meeting"

pki=$(fresh_dir pki)
q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }
pki_ca "$pki" "HP Test CA"
echo p12pass > "$pki/pw"
issue() { # NAME EMAIL: certificate and PKCS#12
  pki_issue "$1" "$2"
  pki_p12 "$1" "$pki/pw"
}
issue alice alice@example.com
issue bob bob@example.com
issue rsa1 rsa1@partner.example
issue carl carl@other.example

pf_init --sasl
sink_start
# 127.0.0.1 is not trusted: mail sent in without SASL is inbound.
write_milter_conf "$PF_MILTER_CONF" "$PF_MILTER_PORT" \
  'trusted_networks = [ "192.0.2.0/24" ]' \
  'internal_domains = [ "example.com", "smime.example" ]'
cat >> "$PF_MILTER_CONF" <<'CONF'
policy: {
  internal_mail = "outbound";
  triggers: { subject_tag = "[secure]"; };
  decrypt_inbound = true;
  domains: ( { domain = "partner.example"; header_protection = "baseline"; },
             { domain = "other.example"; encrypt = "required"; } );
  addresses: ( { address = "bob@example.com"; header_protection = "baseline"; } );
};
CONF
rm -f "$SMX_TEST_DIR"/store.db* "$SMX_TEST_DIR/master.key"
ctl() { "$SMX_BIN_DIR/smimectl" -c "$PF_MILTER_CONF" "$@"; }
q ctl init
q ctl trust add "$pki/ca.pem"
q ctl import-p12 "$pki/alice.p12" --password-file "$pki/pw"
q ctl import-p12 "$pki/bob.p12" --password-file "$pki/pw"
q ctl import-cert "$pki/rsa1.pem" "$pki/carl.pem"
corpus=${SMX_CORPUS_DIR:-}/protected-headers
if [ -f "$corpus/smime-sign+enc.eml" ]; then
  q ctl trust add "$corpus/sample-ca.pem"
  : > "$pki/empty"
  # PEM-armored PKCS#12 (the corpus MANIFEST): its base64 is the file.
  sed '/-----/d' "$SMX_CORPUS_DIR/notmuch/bob.p12" | base64 -d > "$pki/corpus-bob.p12"
  q ctl import-p12 "$pki/corpus-bob.p12" --password-file "$pki/empty"
fi
pf_start_milter
pf_add_sasl_user alice@example.com pw-alice
pf_start

msgs=$(fresh_dir messages)
# compose NAME TO: alice's message with the fields the policy hides.
compose() {
  printf 'From: Alice <alice@example.com>\r\nTo: %s\r\nCc: Alice <alice@example.com>\r\nSubject: %s%s\r\nComments: draft two\r\nKeywords: finance, board\r\nDate: Sun, 06 Dec 2026 23:00:00 +0000\r\nMessage-ID: <%s@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nThe numbers are attached in spirit.\r\n' \
    "$2" "${3:-}" "$SUBJECT" "$1" > "$msgs/$1.eml"
  python3 "$MSGTOOL" wire "$msgs/$1.eml" "$msgs/$1.wire"
}
# send NAME RCPT [swaks options]: prints the sink file.
send() {
  local n=$1 rcpt=$2 qid
  shift 2
  pf_send "$msgs/$n.out" --to "$rcpt" -ndf --data "@$msgs/$n.wire" "$@" ||
    { cat "$msgs/$n.out" >&2; fail "$n was refused"; }
  qid=$(pf_queue_id "$msgs/$n.out")
  pf_wait_delivered "$qid"
  sink_file_for "$qid"
}
as_alice=(--server "127.0.0.1:$PF_SUBMIT_PORT" -a PLAIN -au alice@example.com
          -ap pw-alice --from alice@example.com)

# 1. alice -> partner: the structure.
compose partner rsa1@partner.example
f=$(send partner rsa1@partner.example "${as_alice[@]}")
grep -q "$SUBJECT" "$f" && { cat "$f" >&2; fail "the Subject crossed in clear"; }
grep -qi '^Content-Type: application/pkcs7-mime; smime-type=enveloped-data' "$f" ||
  { cat "$f" >&2; fail "not encrypted"; }
python3 "$SINK2MSG" "$f" "$msgs/partner.got"
python3 "$MSGTOOL" body-b64 "$msgs/partner.got" "$msgs/partner.der"
openssl cms -decrypt -inform DER -in "$msgs/partner.der" -recip "$pki/rsa1.pem" \
  -inkey "$pki/rsa1.key" -binary -out "$msgs/partner.dec" 2>"$msgs/partner.err" ||
  fail "openssl cannot decrypt: $(cat "$msgs/partner.err")"
python3 "$HPCHECK" structure "$msgs/partner.eml" "$msgs/partner.got" \
  "$msgs/partner.dec" legacy || { cat "$msgs/partner.dec" >&2; fail "structure"; }
printf 'MIME-Version: 1.0\r\n' | cat - "$msgs/partner.dec" > "$msgs/partner.dec.eml"
python3 "$TOOL" extract-clear "$msgs/partner.dec.eml" "$msgs/partner.content" \
  "$msgs/partner.sig" || fail "the decrypted entity is not multipart/signed"
openssl cms -verify -binary -inform DER -in "$msgs/partner.sig" \
  -content "$msgs/partner.content" -CAfile "$pki/ca.pem" -purpose smimesign \
  -out /dev/null 2>"$msgs/partner.verr" ||
  fail "alice's signature over the protected part: $(cat "$msgs/partner.verr")"
grep -q "direction=outbound .* action=sign+encrypt .*header protection baseline (domain partner.example)" "$PF_MILTER_LOG" ||
  fail "no sign+encrypt log line naming header protection"
echo "ok: partner: Subject [...] outside; protected fields, HP-Outer, legacy display inside; signature verifies"

# 1b. The subject tag asks for encryption: it is removed inside, and the
# outside stays [...] (stripping the tag must not write the real Subject
# back outside).
compose tagged rsa1@partner.example '[secure] '
f=$(send tagged rsa1@partner.example "${as_alice[@]}")
grep -q "$SUBJECT" "$f" && { cat "$f" >&2; fail "tagged: the Subject crossed in clear"; }
grep -q '^Subject: \[\.\.\.\]' "$f" || { cat "$f" >&2; fail "tagged: outer Subject is not [...]"; }
python3 "$SINK2MSG" "$f" "$msgs/tagged.got"
python3 "$MSGTOOL" body-b64 "$msgs/tagged.got" "$msgs/tagged.der"
openssl cms -decrypt -inform DER -in "$msgs/tagged.der" -recip "$pki/rsa1.pem" \
  -inkey "$pki/rsa1.key" -binary -out "$msgs/tagged.dec" 2>/dev/null || fail "tagged: decrypt"
grep -q "^Subject: $SUBJECT" "$msgs/tagged.dec" || fail "tagged: protected Subject wrong"
grep -qF '[secure]' "$msgs/tagged.dec" && fail "tagged: the tag is still inside"
echo "ok: subject tag: removed inside, [...] outside"

# 2. Round trip: out to bob@example.com, back in, decrypted.
compose roundtrip bob@example.com
f=$(send roundtrip bob@example.com "${as_alice[@]}")
grep -q "$SUBJECT" "$f" && { cat "$f" >&2; fail "roundtrip: the Subject left in clear"; }
python3 "$SINK2MSG" "$f" "$msgs/back.eml"
python3 "$MSGTOOL" wire "$msgs/back.eml" "$msgs/back.wire"
f=$(send back bob@example.com --from alice@example.com)
h=$(pf_unfolded_headers "$f")
grep -q '^X-SMIME-Decrypted: mx.example.com; enveloped-data for bob@example.com; protected headers: .*Subject' <<<"$h" ||
  { cat "$f" >&2; fail "roundtrip: not decrypted with protected headers"; }
python3 "$SINK2MSG" "$f" "$msgs/back.got"
python3 "$HPCHECK" subject "$msgs/back.got" "$SUBJECT" ||
  { cat "$f" >&2; fail "roundtrip: the delivered Subject is not the original"; }
grep -q '^Keywords: finance, board' <<<"$h" || fail "roundtrip: Keywords not restored"
grep -q 'verify=decrypted enveloped-data with protected headers; ' "$PF_MILTER_LOG" ||
  fail "roundtrip: the log line does not say protected headers"
[ "$(grep -c '^Subject:' <<<"$h")" = 1 ] || fail "roundtrip: not exactly one Subject"
grep -q '^Authentication-Results: mx.example.com; smime=pass' <<<"$h" ||
  { cat "$f" >&2; fail "roundtrip: alice's signature not reported as pass"; }
echo "ok: round trip: [...] on the way, the original Subject delivered to bob"

# 3. The corpus: protected headers made by other software.
if [ -f "$corpus/smime-sign+enc.eml" ]; then
  for c in smime-enc+legacy-disp smime-sign+enc smime-sign+enc+legacy-disp; do
    want=$(sed -n 's/^Subject: //p' "$corpus/$c.inner" "$corpus/$c.inner.inner" 2>/dev/null |
           tr -d '\r' | head -1)
    tr -d '\r' < "$corpus/$c.eml" | sed 's/$/\r/' > "$msgs/$c.eml"
    python3 "$MSGTOOL" wire "$msgs/$c.eml" "$msgs/$c.wire"
    f=$(send "$c" bob@smime.example --from alice@smime.example)
    grep -q '^X-SMIME-Decrypted: .*protected headers: .*Subject' "$f" ||
      { cat "$f" >&2; fail "$c: not decrypted with protected headers"; }
    python3 "$SINK2MSG" "$f" "$msgs/$c.got"
    python3 "$HPCHECK" subject "$msgs/$c.got" "$want" ||
      fail "$c: delivered Subject is not the protected one"
    echo "ok: corpus $c: delivered with Subject '$want'"
  done
else
  echo "SKIP (part): protected-headers corpus not found (SMX_CORPUS_DIR=${SMX_CORPUS_DIR:-unset})"
fi

# 3b. Signed by alice's client, only encrypted here: no header protection
# (the fields would sit outside her signature; her client's Subject would
# show as [...] alone).
printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nSigned by the client.\r\n' > "$msgs/content"
openssl cms -sign -in "$msgs/content" -signer "$pki/alice.pem" -inkey "$pki/alice.key" \
  -binary -md sha256 -out "$msgs/client.signed" 2>/dev/null || fail "openssl cms -sign"
{
  printf 'From: Alice <alice@example.com>\r\nTo: rsa1@partner.example\r\n'
  printf 'Subject: %s\r\nMessage-ID: <client@example.com>\r\n' "$SUBJECT"
  tr -d '\r' < "$msgs/client.signed" | sed 's/$/\r/'
} > "$msgs/client.eml"
python3 "$MSGTOOL" wire "$msgs/client.eml" "$msgs/client.wire"
f=$(send client rsa1@partner.example "${as_alice[@]}")
grep -qi '^Content-Type: application/pkcs7-mime; smime-type=enveloped-data' "$f" ||
  { cat "$f" >&2; fail "client-signed: not encrypted"; }
grep -q "^Subject: $SUBJECT" "$f" || { cat "$f" >&2; fail "client-signed: Subject hidden"; }
grep -q "no header protection: signed by the client" "$PF_MILTER_LOG" ||
  fail "client-signed: the log line does not say why"
echo "ok: client-signed, encrypted here: no header protection"

# 4. Off (carl's domain): encrypted, the Subject stays, nothing marked.
compose off carl@other.example
f=$(send off carl@other.example "${as_alice[@]}")
grep -q "^Subject: $SUBJECT" "$f" || { cat "$f" >&2; fail "off: Subject changed"; }
grep -q '^Keywords: finance' "$f" || fail "off: Keywords removed"
python3 "$SINK2MSG" "$f" "$msgs/off.got"
python3 "$MSGTOOL" body-b64 "$msgs/off.got" "$msgs/off.der"
openssl cms -decrypt -inform DER -in "$msgs/off.der" -recip "$pki/carl.pem" \
  -inkey "$pki/carl.key" -binary -out "$msgs/off.dec" 2>/dev/null || fail "off: decrypt"
grep -qi 'hp=' "$msgs/off.dec" && fail "off: marked as header-protected"
echo "ok: header_protection off: nothing changed"
echo PASS
