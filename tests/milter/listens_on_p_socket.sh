#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# -p overrides milter.socket (here with a unix socket), and a restart
# after a crash reuses the stale socket file.
. "$SMX_SOURCE_DIR/tests/lib/milter.sh"
mt_init
mt_conf "$CONF"        # milter.socket is inet:$PORT@127.0.0.1
USOCK="$RUN/milter.sock"

# First run, killed hard: the socket file stays behind.
mt_start "$CONF" -p "unix:$USOCK"
[ -S "$USOCK" ] || fail "no socket at $USOCK"
{ kill -KILL "$MILTER_PID"; wait "$MILTER_PID"; } 2>/dev/null
MILTER_PID=
[ -S "$USOCK" ] || fail "test setup: the stale socket is gone"
: > "$LOG"

mt_start "$CONF" -p "unix:$USOCK"
expect_log_once "listening on unix:$USOCK"
if (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null; then
  fail "something listens on the configured port $PORT despite -p"
fi
mt_run listens_on_p_socket.lua -D usock="unix:$USOCK"
expect_decision 'U1: direction=inbound from=<s@remote.test> rcpts=1 size=8 client=192.0.2.10 action=pass' '1 internal recipient'
mt_finish
