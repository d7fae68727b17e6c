# SPDX-License-Identifier: BSD-2-Clause
# Shared by the certificate lifecycle tests: a partner CA, alice (an
# identity of ours), bob@partner.example with certificates C1 and C2 (C2
# issued a second later: the newer), a private Postfix with the milter
# (port 25 from 127.0.0.1 inbound, SASL submission outbound), and
# helpers to send bob's signed messages in and alice's mail out.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"
. "$SMX_SOURCE_DIR/tests/lib/pki.sh"
set -e
pf_need_peers
need_cmd openssl saslpasswd2
SINK2MSG="$SMX_SOURCE_DIR/tests/lib/sink-to-message.py"
MSGTOOL="$SMX_SOURCE_DIR/tests/lib/msgtool.py"

pki=$(fresh_dir pki)
msgs=$(fresh_dir messages)
q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }
pki_ca "$pki" "Lifecycle Partner CA"
echo p12pass > "$pki/pw"
pki_issue alice alice@example.com
pki_issue c1 bob@partner.example
sleep 1.1	# C2's notBefore is later than C1's
pki_issue c2 bob@partner.example
pki_p12 alice "$pki/pw"

pf_init --sasl
sink_start
write_milter_conf "$PF_MILTER_CONF" "$PF_MILTER_PORT" \
  'trusted_networks = [ "192.0.2.0/24" ]'
rm -f "$SMX_TEST_DIR"/store.db* "$SMX_TEST_DIR/master.key"
cat >> "$PF_MILTER_CONF" <<'CONF'
policy: { default: { sign = "always"; };
          domains: ( { domain = "partner.example"; encrypt = "opportunistic"; } ); };
CONF
ctl() { "$SMX_BIN_DIR/smimectl" -c "$PF_MILTER_CONF" "$@"; }
q ctl init
q ctl trust add "$pki/ca.pem"
q ctl import-p12 "$pki/alice.p12" --password-file "$pki/pw"
pf_start_milter
pf_add_sasl_user alice@example.com pw-alice
pf_start

# signed_by CERT NAME [FROM [CHAIN]]: a message NAME from FROM (default
# bob@partner.example) signed with CERT, carrying the certificates of
# the PEM file CHAIN (default the partner CA), in $msgs/NAME.wire
signed_by() {
  printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nHello Alice, %s.\r\n' "$2" > "$msgs/$2.content"
  openssl cms -sign -in "$msgs/$2.content" -signer "$pki/$1.pem" \
    -inkey "$pki/$1.key" -certfile "${4:-$pki/ca.pem}" -binary -md sha256 \
    -out "$msgs/$2.smime" 2>/dev/null || fail "openssl cms -sign"
  {
    printf 'From: <%s>\r\nTo: <alice@example.com>\r\nSubject: %s\r\nMessage-ID: <%s@partner.example>\r\n' "${3:-bob@partner.example}" "$2" "$2"
    tr -d '\r' < "$msgs/$2.smime" | sed 's/$/\r/'
  } > "$msgs/$2.eml"
  python3 "$MSGTOOL" wire "$msgs/$2.eml" "$msgs/$2.wire"
}

# inbound NAME [FROM]: sends $msgs/NAME.wire from outside (envelope
# sender FROM, default bob@partner.example); prints the sink file.
inbound() {
  pf_send "$msgs/$1.out" --from "${2:-bob@partner.example}" --to alice@example.com \
    -ndf --data "@$msgs/$1.wire" || { cat "$msgs/$1.out" >&2; fail "inbound $1 refused"; }
  local qid
  qid=$(pf_queue_id "$msgs/$1.out")
  pf_wait_delivered "$qid"
  sink_file_for "$qid"
}

# outbound NAME: alice writes to bob through the submission port; prints
# the sink file.
outbound() {
  printf 'From: <alice@example.com>\r\nTo: <bob@partner.example>\r\nSubject: %s\r\nMessage-ID: <%s@example.com>\r\n\r\nSecret %s\r\n' \
    "$1" "$1" "$1" > "$msgs/$1.eml"
  python3 "$MSGTOOL" wire "$msgs/$1.eml" "$msgs/$1.wire"
  pf_send "$msgs/$1.out" --server "127.0.0.1:$PF_SUBMIT_PORT" -a PLAIN \
    -au alice@example.com -ap pw-alice --from alice@example.com \
    --to bob@partner.example -ndf --data "@$msgs/$1.wire" ||
    { cat "$msgs/$1.out" >&2; fail "alice's mail $1 refused"; }
  local qid
  qid=$(pf_queue_id "$msgs/$1.out")
  pf_wait_delivered "$qid"
  sink_file_for "$qid"
}

# encrypted_to SINKFILE CERT: whether CERT's key opens the message.
encrypted_to() {
  grep -qi "enveloped-data" "$1" || return 1
  python3 "$SINK2MSG" "$1" "$msgs/enc.eml"
  python3 "$MSGTOOL" body-b64 "$msgs/enc.eml" "$msgs/enc.der"
  openssl cms -decrypt -inform DER -in "$msgs/enc.der" -recip "$pki/$2.pem" \
    -inkey "$pki/$2.key" -out "$msgs/enc.txt" 2>/dev/null
}
