#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Pass-through: a complete message is accepted unchanged and logged once.
. "$SMX_SOURCE_DIR/tests/lib/milter.sh"
mt_init
mt_conf "$CONF"
mt_start "$CONF"

# 25 + 916 + 2 + 39 + 36 body bytes.
SIZE=1018
mt_run passes_message_unchanged.lua -D expect_size=$SIZE

expect_decision "PASS1: direction=inbound from=<sender@remote.test> rcpts=1 size=$SIZE client=192.0.2.10 action=pass" "1 internal recipient"
expect_log_count "direction=" 1
expect_no_log "error:"
mt_finish
