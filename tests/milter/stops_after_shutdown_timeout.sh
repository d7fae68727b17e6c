#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The drain is bounded by milter.shutdown_timeout.
. "$SMX_SOURCE_DIR/tests/lib/milter.sh"
mt_init
mt_conf "$CONF" 'shutdown_timeout = "2s"'
mt_start "$CONF"
mt_run stops_after_shutdown_timeout.lua
wait_exit 5
check_sanitizers
[ "$MILTER_RC" -eq 0 ] || { show_log; fail "exit status $MILTER_RC, expected 0"; }
expect_log_once "warning: shutdown: messages still in flight after 2s; the MTA will retry them"
expect_no_log "W1:"
expect_log_once "info: smime-milter stopped"
echo "PASS: $MT_NAME"
