#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Limits on headers and body size: mail passes, the log notes the limit.
. "$SMX_SOURCE_DIR/tests/lib/milter.sh"
mt_init
mt_conf "$CONF" 'spool_threshold = "4K"' 'max_message_size = "64K"'
mt_start "$CONF"
mt_run tolerates_oversized_input.lua

pre='direction=inbound from=<s@remote.test> rcpts=1'
expect_decision "H1: $pre size=8 client=192.0.2.10 action=pass" "1 internal recipient" "; header limit reached"
expect_decision "H2: $pre size=8 client=192.0.2.10 action=pass" "1 internal recipient" "; header limit reached"
# The size logged is what was kept, not what was sent.
expect_log_once "info: B1: $pre size="
grep -F "info: B1: $pre size=" "$LOG" | grep -qE 'action=pass reason="1 internal recipient(;.*)?; over max_message_size"$' ||
  { show_log; fail "B1 not logged as passed and over max_message_size"; }
expect_decision "N1: $pre size=8 client=192.0.2.10 action=pass" "1 internal recipient"
expect_decision "N2: $pre size=8 client=192.0.2.10 action=pass" "1 internal recipient"
expect_log_once "error: E1: cannot start message from 192.0.2.10: bad sender"
expect_no_log "info: E1:"
expect_decision "E2: $pre size=8 client=192.0.2.10 action=pass" "1 internal recipient"
mt_finish
