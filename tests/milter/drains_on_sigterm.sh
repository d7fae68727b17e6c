#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# SIGTERM drains: messages in flight finish, new work gets 451 4.3.0,
# and the process exits 0 as soon as nothing is in flight.
. "$SMX_SOURCE_DIR/tests/lib/milter.sh"
mt_init
mt_conf "$CONF" 'shutdown_timeout = "30s"'
mt_start "$CONF"
mt_run drains_on_sigterm.lua -D helper="$MT_DIR/milter_reply.py"

# Well before the 30 s shutdown_timeout.
wait_exit 15
check_sanitizers
[ "$MILTER_RC" -eq 0 ] || { show_log; fail "exit status $MILTER_RC after SIGTERM, expected 0"; }
expect_log_once "info: SIGTERM: finishing messages in flight (up to 30s)"
expect_decision 'T1: direction=outbound from=<alice@example.com> rcpts=1 size=25 client=192.0.2.10 action=pass' 'internal sender, authenticated client'
expect_no_log "T2:"
expect_log_count "direction=" 1
expect_no_log "still in flight"
expect_no_log "ended unexpectedly"
expect_log_once "info: smime-milter stopped"
echo "PASS: $MT_NAME"
