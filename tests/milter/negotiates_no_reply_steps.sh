#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The milter negotiates "no reply" for the steps that never refuse
# (HELO, each header, end of headers), so the MTA sends them without
# waiting; every step that may refuse (connect, MAIL, RCPT, DATA, body)
# still answers. A message sent that way and one sent by an older MTA
# that offers no such flag (nor SMFIP_SKIP) get the same decision.
. "$SMX_SOURCE_DIR/tests/lib/milter.sh"
need_cmd python3
mt_init
mt_conf "$CONF"
mt_start "$CONF"
python3 "$SMX_SOURCE_DIR/tests/lib/milter_session.py" steps "$PORT" > "$RUN/steps.out" 2>&1 ||
  { show_log; fail "$(cat "$RUN/steps.out")"; }
# N1's body was skipped (an MTA that offers SMFIP_SKIP, inbound text):
# its 7 bytes came before the skip, "+" says that more may have followed.
expect_decision "N1: direction=inbound from=<s@remote.test> rcpts=1 size=7+ client=192.0.2.10 action=pass" '1 internal recipient' '; body skipped (cannot carry S/MIME)'
expect_decision "N2: direction=inbound from=<s@remote.test> rcpts=1 size=7 client=192.0.2.10 action=pass" '1 internal recipient'
expect_no_log "error:"
mt_finish
