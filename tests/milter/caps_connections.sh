#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# libmilter starts a thread for every MTA connection and has no limit of
# its own: with milter.max_connections = 3 open, a fourth connection is
# answered 451 4.3.0, logged and counted in
# smime_milter_connections_refused_total; once one of the three quits, a
# new connection is admitted again.
. "$SMX_SOURCE_DIR/tests/lib/milter.sh"
need_cmd python3 curl
[ -x "$SMX_BIN_DIR/smime-milter" ] || fail "no $SMX_BIN_DIR/smime-milter: build first"
cd "$SMX_TEST_DIR" || fail "cannot enter $SMX_TEST_DIR"
RUN=$(fresh_dir run)
LOG="$RUN/milter.log"
: > "$LOG"
PORT=$(free_port)
SOCK="inet:$PORT@127.0.0.1"
MPORT=$(free_port)
MILTER_PID=
trap mt_on_exit EXIT
mt_conf "$RUN/milter.conf" 'max_connections = 3' "metrics_listen = \"127.0.0.1:$MPORT\""
mt_start "$RUN/milter.conf"
python3 "$SMX_SOURCE_DIR/tests/lib/milter_session.py" caps "$PORT" 3 > "$RUN/caps.out" 2>&1 ||
  { show_log; fail "$(cat "$RUN/caps.out")"; }
grep -qF "REFUSED 451 4.3.0 smime-milter: too many connections" "$RUN/caps.out" ||
  fail "unclear refusal: $(cat "$RUN/caps.out")"
expect_log_once "warning: NOQUEUE: connect: 3 connections open (milter.max_connections): temporary failure"
curl -s --max-time 10 "http://127.0.0.1:$MPORT/metrics" > "$RUN/metrics.txt" ||
  fail "cannot scrape the metrics"
grep -qx "smime_milter_connections_refused_total 1" "$RUN/metrics.txt" ||
  fail "refusal not counted: $(grep connections_refused "$RUN/metrics.txt")"
mt_finish
