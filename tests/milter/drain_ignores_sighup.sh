#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# While SIGTERM drains, the main thread waits in runtime_drain() rather
# than in sigwait(), so a SIGHUP (or a second SIGTERM/SIGINT) goes to
# libmilter's signal thread, which stops serving: the message in flight
# gets no more answers and shutdown waits the whole shutdown_timeout.
. "$SMX_SOURCE_DIR/tests/lib/milter.sh"
mt_init
mt_conf "$CONF" 'shutdown_timeout = "30s"'
mt_start "$CONF"
mt_run drain_ignores_sighup.lua
wait_exit 15
check_sanitizers
[ "$MILTER_RC" -eq 0 ] || { show_log; fail "exit status $MILTER_RC, expected 0"; }
expect_decision 'G1: direction=inbound from=<s@remote.test> rcpts=1 size=14 client=192.0.2.10 action=pass' '1 internal recipient'
expect_no_log "still in flight"
expect_log_once "info: smime-milter stopped"
echo "PASS: $MT_NAME"
