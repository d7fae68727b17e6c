#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# An MTA that can skip the rest of a body (SMFIP_SKIP) is told to at the
# first chunk of an inbound message whose Content-Type cannot carry
# S/MIME; the message passes unchanged and its line says size=N+ (the
# bytes before the skip) and why. Inbound multiparts and pkcs7 types,
# outbound mail, and every message from an MTA that cannot skip are read
# whole, as before; so is every body with
# verify.authentication_results_none. (tests/lib/milter_session.py skip)
. "$SMX_SOURCE_DIR/tests/lib/milter.sh"
need_cmd python3
mt_init
mt_conf "$CONF"
mt_start "$CONF"
python3 "$SMX_SOURCE_DIR/tests/lib/milter_session.py" skip "$PORT" > "$RUN/skip.out" 2>&1 ||
  { show_log; fail "$(cat "$RUN/skip.out")"; }
in='direction=inbound from=<s@remote.test> rcpts=1'
skipped='; body skipped (cannot carry S/MIME)'
whole=$((3 * 65535))
expect_decision "K1: $in size=65535+ client=192.0.2.10 action=pass" '1 internal recipient' "$skipped"
expect_decision "K6: $in size=65535+ client=192.0.2.10 action=pass" '1 internal recipient' "$skipped"
for qid in K2 K3 K4; do
  expect_log_once "info: $qid: $in size=$whole client=192.0.2.10 action=pass "
done
expect_log_once "info: K5: direction=outbound from=<alice@example.com> rcpts=1 size=$whole "
expect_decision "K7: $in size=$whole client=192.0.2.10 action=pass" '1 internal recipient'
expect_log_count "$skipped" 2
expect_no_log "error:"
mt_finish

# With verify.authentication_results_none the verifier writes smime=none
# from what it finds in the body: no body is skipped.
LOG="$RUN/milter-none.log"
: > "$LOG"
mt_conf "$CONF"
echo 'verify: { authentication_results_none = true; };' >> "$CONF"
mt_start "$CONF"
python3 "$SMX_SOURCE_DIR/tests/lib/milter_session.py" no-skip "$PORT" > "$RUN/no-skip.out" 2>&1 ||
  { show_log; fail "$(cat "$RUN/no-skip.out")"; }
expect_log_once "info: K8: $in size=$whole client=192.0.2.10 action=pass reason=\"1 internal recipient; inbound mail: no outbound processing\" verify=mx.example.com; smime=none"
expect_no_log "skipped"
mt_finish
