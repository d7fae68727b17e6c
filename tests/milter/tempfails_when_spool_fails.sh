#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Fail closed when a body cannot be spooled: tempfail, a log line naming
# the directory, and the daemon keeps serving.
. "$SMX_SOURCE_DIR/tests/lib/milter.sh"
mt_init
mt_conf "$CONF" "spool_directory = \"$RUN/missing\"" 'spool_threshold = "4K"'
mt_start "$CONF"
mt_run tempfails_when_spool_fails.lua
expect_log_once "error: F1: cannot spool message body in $RUN/missing: No such file or directory"
expect_no_log "info: F1:"
expect_decision 'F2: direction=inbound from=<s@remote.test> rcpts=1 size=8 client=192.0.2.10 action=pass' '1 internal recipient'
mt_finish
