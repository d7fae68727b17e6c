#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# SIGHUPs close together (two reload requests in a row, as config
# management and log rotation can send) must only reload. Each pair has
# a fair chance of arriving while the main thread is between two
# sigwait() calls; libmilter's own signal thread then takes SIGHUP as
# "stop" and the daemon exits (status 0, "milter loop ended
# unexpectedly"). libmilter notices a stop within about 5 s, hence the
# pause before checking.
. "$SMX_SOURCE_DIR/tests/lib/milter.sh"
mt_init
mt_conf "$CONF"
mt_start "$CONF"
for i in $(seq 50); do
  kill -HUP "$MILTER_PID" 2>/dev/null
  kill -HUP "$MILTER_PID" 2>/dev/null
  sleep 0.05
done
sleep 6
kill -0 "$MILTER_PID" 2>/dev/null || { show_log; fail "smime-milter exited after repeated SIGHUPs"; }
expect_no_log "ended unexpectedly"
[ "$(log_count "reload: configuration $CONF loaded")" -ge 1 ] || { show_log; fail "no reload logged"; }
mt_run survives_repeated_sighup.lua
expect_decision 'H1: direction=inbound from=<s@remote.test> rcpts=1 size=8 client=192.0.2.10 action=pass' '1 internal recipient'
mt_finish
