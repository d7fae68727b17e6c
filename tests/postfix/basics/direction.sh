#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Direction through a real Postfix (outbound, inbound, internal, transit), with trusted_networks
# that exclude the loopback client, so only SASL makes a client trusted:
#   - alice@example.com logged in on the submission port -> outbound;
#   - an external sender to an internal recipient on port 25 -> inbound;
#   - alice@example.com claimed on port 25 without login, to an internal
#     recipient -> inbound ("internal sender from untrusted client").
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"

pf_need_peers
need_cmd saslpasswd2
pf_init --sasl
pf_add_sasl_user alice@example.com 'alice-secret'
sink_start

# No signing or encryption: this test is about classification only. The
# test configuration trusts 127.0.0.0/8; here the loopback is untrusted.
pf_milter_conf_passthrough
sed -i 's|^  trusted_networks = .*|  trusted_networks = [ "192.0.2.0/24" ];|' "$PF_MILTER_CONF"
grep -q '"192.0.2.0/24"' "$PF_MILTER_CONF" && ! grep -q '127.0.0.0/8' "$PF_MILTER_CONF" ||
  fail "could not set trusted_networks in $PF_MILTER_CONF"
pf_start_milter
pf_start

# expect_direction NAME DIRECTION REASON-PART FROM TO SWAKS-ARGS...: sends
# a message and checks the milter's line for its queue id.
expect_direction() {
  local name=$1 dir=$2 reason=$3 from=$4 to=$5 out="$SMX_TEST_DIR/$1.swaks"
  local qid line
  shift 5
  pf_send "$out" --from "$from" --to "$to" --header "Subject: $name" "$@" || {
    cat "$out" >&2
    fail "$name: the message was not accepted (transcript above)"
  }
  qid=$(pf_queue_id "$out")
  [ -n "$qid" ] || fail "$name: no queue id in $out"
  pf_wait_delivered "$qid"
  line=$(milter_line_for "$qid")
  [ "$(printf '%s\n' "$line" | grep -c .)" = 1 ] ||
    fail "$name: expected one milter line for $qid, got '$line'"
  case "$line" in
    *": $qid: direction=$dir from=<$from> rcpts=1 "*"reason=\"$reason"*) ;;
    *) fail "$name: expected direction=$dir from=<$from> reason=\"$reason...\", got '$line'" ;;
  esac
  echo "ok: $name: $qid direction=$dir"
  LAST_QID=$qid
}

expect_direction authenticated-submission outbound \
  "internal sender, authenticated client" alice@example.com bob@example.org \
  --server "127.0.0.1:$PF_SUBMIT_PORT" -a PLAIN -au alice@example.com -ap alice-secret
# The milter saw {auth_authen} because Postfix authenticated this session.
grep -q "$LAST_QID: client=.*sasl_method=PLAIN, sasl_username=alice@example.com" "$PF_LOG" ||
  fail "Postfix did not log the SASL login for $LAST_QID"

expect_direction external-to-internal inbound "1 internal recipient" \
  carol@example.net alice@example.com

expect_direction forged-internal-sender inbound \
  "1 internal recipient, internal sender from untrusted client" \
  alice@example.com dave@example.com

# Submission without a login is refused by Postfix before the milter
# decides anything: the fixture's submission port really requires SASL.
out="$SMX_TEST_DIR/no-login.swaks"
if pf_send "$out" --server "127.0.0.1:$PF_SUBMIT_PORT" --from alice@example.com \
  --to bob@example.org; then
  fail "the submission port accepted mail without a login"
fi
grep -q '<\*\* *554 .*Client host rejected: Access denied' "$out" ||
  fail "unexpected answer on the submission port without a login: $(grep '<\*\*' "$out")"

[ "$(sink_count)" = 3 ] || fail "the sink got $(sink_count) messages, expected 3"
pf_wait_queue_empty 20
echo "PASS: outbound with SASL, inbound without"
