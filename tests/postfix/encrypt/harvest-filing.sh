#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# A harvested certificate is filed only under the From address its
# subjectAltName matched, through a real Postfix. mallory's certificate
# (chain to a trusted CA) names mallory@evil.example in its SAN and, in
# its subject, emailAddress attributes for bob@partner.example,
# bob@secure.example and carol@example.com. Her signed message is
# harvested; then:
# - alice's mail to bob@partner.example (encrypt opportunistic) goes
#   signed only, not encrypted to mallory's certificate;
# - alice's mail to bob@secure.example (encrypt required) is refused at
#   RCPT (550 5.7.1), never encrypted to mallory's certificate;
# - carol (an identity imported with import-p12, no encryption
#   preference) writes encrypted mail to a partner: the sender's copy is
#   carol's own certificate, mallory's key cannot read it.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"
. "$SMX_SOURCE_DIR/tests/lib/pki.sh"
set -e
pf_need_peers
need_cmd openssl saslpasswd2
SINK2MSG="$SMX_SOURCE_DIR/tests/lib/sink-to-message.py"
MSGTOOL="$SMX_SOURCE_DIR/tests/lib/msgtool.py"
MARKER="PLAINTEXT-MARKER-hf41"

pki=$(fresh_dir pki)
q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }
pki_ca "$pki" "Filing Test CA"
echo p12pass > "$pki/pw"
# issue NAME SUBJECT SAN-EMAIL
issue() { pki_issue -subj "$2" "$1" "$3"; }
issue alice "/CN=Alice" alice@example.com
issue carol "/CN=Carol" carol@example.com
issue rsa1 "/CN=Partner" rsa1@secure.example
sleep 1	# mallory's certificate is the newest: preferred when both count
issue mallory "/CN=Mallory/emailAddress=bob@partner.example/emailAddress=bob@secure.example/emailAddress=carol@example.com" mallory@evil.example
for who in alice carol; do
  pki_p12 "$who" "$pki/pw"
done

pf_init --sasl
sink_start
# port 25 from 127.0.0.1 is inbound; SASL submission is outbound
write_milter_conf "$PF_MILTER_CONF" "$PF_MILTER_PORT" \
  'trusted_networks = [ "192.0.2.0/24" ]'
rm -f "$SMX_TEST_DIR"/store.db* "$SMX_TEST_DIR/master.key"
cat >> "$PF_MILTER_CONF" <<'CONF'
policy: { default: { sign = "always"; };
          domains: ( { domain = "partner.example"; encrypt = "opportunistic"; },
                     { domain = "secure.example"; encrypt = "required"; } ); };
CONF
ctl() { "$SMX_BIN_DIR/smimectl" -c "$PF_MILTER_CONF" "$@"; }
q ctl init
q ctl trust add "$pki/ca.pem"
q ctl import-p12 "$pki/alice.p12" --password-file "$pki/pw"
q ctl import-p12 "$pki/carol.p12" --password-file "$pki/pw"
q ctl import-cert "$pki/rsa1.pem"
pf_start_milter
pf_add_sasl_user alice@example.com pw-alice
pf_add_sasl_user carol@example.com pw-carol
pf_start

msgs=$(fresh_dir messages)
# mallory's signed message to alice, from outside: harvested
printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nHello Alice.\r\n' > "$msgs/in.content"
openssl cms -sign -in "$msgs/in.content" -signer "$pki/mallory.pem" \
  -inkey "$pki/mallory.key" -certfile "$pki/ca.pem" -binary -md sha256 \
  -out "$msgs/in.smime" 2>/dev/null || fail "openssl cms -sign"
{
  printf 'From: Mallory <mallory@evil.example>\r\nTo: <alice@example.com>\r\nSubject: hello\r\nMessage-ID: <hf1@evil.example>\r\n'
  tr -d '\r' < "$msgs/in.smime" | sed 's/$/\r/'
} > "$msgs/in.eml"
python3 "$MSGTOOL" wire "$msgs/in.eml" "$msgs/in.wire"
pf_send "$msgs/in.out" --from mallory@evil.example --to alice@example.com \
  -ndf --data "@$msgs/in.wire" || { cat "$msgs/in.out" >&2; fail "inbound refused"; }
pf_wait_delivered "$(pf_queue_id "$msgs/in.out")"
n=$(ctl --json list mallory@evil.example |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n" = 1 ] || fail "mallory's certificate was not harvested ($n)"
echo "ok: mallory's certificate harvested"

# send NAME FROM TO: alice or carol writes through the submission port;
# the swaks transcript in $msgs/NAME.out, its exit status returned.
send() {
  printf 'From: <%s>\r\nTo: <%s>\r\nSubject: filing\r\nMessage-ID: <%s@example.com>\r\n\r\n%s\r\n' \
    "$2" "$3" "$1" "$MARKER-$1" > "$msgs/$1.eml"
  python3 "$MSGTOOL" wire "$msgs/$1.eml" "$msgs/$1.wire"
  pf_send "$msgs/$1.out" --server "127.0.0.1:$PF_SUBMIT_PORT" -a PLAIN \
    -au "$2" -ap "pw-${2%@*}" --from "$2" --to "$3" -ndf \
    --data "@$msgs/$1.wire"
}

# Each variant is judged on its own (a failure is counted, the next one
# still runs), so that each shows whether it holds.
problems=0
bad() { echo "FAIL: $*" >&2; problems=$((problems + 1)); }

send opp alice@example.com bob@partner.example ||
  { cat "$msgs/opp.out" >&2; fail "opportunistic mail to bob refused"; }
qid=$(pf_queue_id "$msgs/opp.out")
pf_wait_delivered "$qid"
f=$(sink_file_for "$qid")
if grep -qi "enveloped-data" "$f"; then
  bad "mail to bob was encrypted (to mallory's certificate)"
elif ! grep -q "$qid: direction=outbound .* action=sign " "$PF_MILTER_LOG"; then
  grep "$qid" "$PF_MILTER_LOG" >&2
  bad "mail to bob not signed only"
else
  echo "ok: opportunistic: signed only, not encrypted to mallory"
fi

if send req alice@example.com bob@secure.example; then
  bad "required mail to bob@secure.example was accepted (encrypted to mallory's certificate)"
elif ! grep -q "550 5.7.1" "$msgs/req.out"; then
  cat "$msgs/req.out" >&2
  bad "required: want 550 5.7.1"
else
  echo "ok: required: refused at RCPT, never encrypted to mallory"
fi
grep -rq "$MARKER-req" "$PF_SINK_DIR" && fail "plaintext at the sink"

send own carol@example.com rsa1@secure.example ||
  { cat "$msgs/own.out" >&2; fail "carol's mail refused"; }
qid=$(pf_queue_id "$msgs/own.out")
pf_wait_delivered "$qid"
f=$(sink_file_for "$qid")
grep -qi "enveloped-data" "$f" || { cat "$f" >&2; fail "carol's mail not encrypted"; }
python3 "$SINK2MSG" "$f" "$msgs/own.enc.eml"
python3 "$MSGTOOL" body-b64 "$msgs/own.enc.eml" "$msgs/own.der"
if openssl cms -decrypt -inform DER -in "$msgs/own.der" -recip "$pki/mallory.pem" \
     -inkey "$pki/mallory.key" -out "$msgs/own.mallory" 2>/dev/null; then
  bad "mallory's key reads carol's mail (planted as her sender copy)"
elif ! openssl cms -decrypt -inform DER -in "$msgs/own.der" \
       -recip "$pki/carol.pem" -inkey "$pki/carol.key" -out "$msgs/own.dec" \
       2>"$msgs/own.err"; then
  bad "carol cannot read her own copy: $(cat "$msgs/own.err")"
elif ! grep -q "$MARKER-own" "$msgs/own.dec"; then
  bad "carol's copy differs"
else
  echo "ok: internal: the sender copy is carol's own certificate"
fi
[ "$problems" = 0 ] || fail "$problems check(s) failed"
echo PASS
