#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Bodies over milter.spool_threshold go to a private temporary file that
# is gone once the message is done; the message itself is not changed.
. "$SMX_SOURCE_DIR/tests/lib/milter.sh"
mt_init
SPOOL="$RUN/spool"
mkdir -m 700 "$SPOOL"
mt_conf "$CONF" "spool_directory = \"$SPOOL\"" 'spool_threshold = "4K"' \
  'log_level = "debug"'
mt_start "$CONF"
mt_run spools_large_body.lua -D spooldir="$SPOOL"

expect_log_once "debug: L1: body over 4096 bytes: spooled to a private file in $SPOOL"
expect_log_once "debug: L3: body over 4096 bytes: spooled to a private file in $SPOOL"
expect_decision 'L1: direction=inbound from=<s@remote.test> rcpts=1 size=200000 client=192.0.2.10 action=pass' '1 internal recipient'
expect_log_once 'info: L2: direction=inbound from=<s@remote.test> rcpts=1 size=4096 '
expect_log_once 'info: L3: direction=inbound from=<s@remote.test> rcpts=1 size=4097 '
expect_no_log "error:"
mt_finish
[ -z "$(ls -A "$SPOOL")" ] || fail "files left in $SPOOL: $(ls -A "$SPOOL")"
