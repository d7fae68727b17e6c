#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The milter negotiates "no reply" for the steps that never refuse
# (HELO, each header, end of headers), so the MTA sends them without
# waiting; every step that may refuse (connect, MAIL, RCPT, DATA, body)
# still answers. A message sent that way and one sent by an MTA that
# offers no such flag get the same decision.
. "$SMX_SOURCE_DIR/tests/lib/milter.sh"
need_cmd python3
mt_init
mt_conf "$CONF"
mt_start "$CONF"
python3 "$SMX_SOURCE_DIR/tests/lib/milter_session.py" steps "$PORT" > "$RUN/steps.out" 2>&1 ||
  { show_log; fail "$(cat "$RUN/steps.out")"; }
for qid in N1 N2; do
  expect_decision "$qid: direction=inbound from=<s@remote.test> rcpts=1 size=7 client=192.0.2.10 action=pass" '1 internal recipient'
done
expect_no_log "error:"
mt_finish
