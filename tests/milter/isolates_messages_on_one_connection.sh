#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Message state is per message and per connection: aborted messages log
# nothing, later messages carry nothing over, and every message that
# started is counted as finished (shutdown does not wait for a leak).
. "$SMX_SOURCE_DIR/tests/lib/milter.sh"
mt_init
mt_conf "$CONF" 'shutdown_timeout = "60s"'
mt_start "$CONF"
mt_run isolates_messages_on_one_connection.lua

expect_decision 'S1: direction=outbound from=<alice@example.com> rcpts=3 size=3000 client=192.0.2.10 action=pass' 'internal sender, authenticated client'
expect_decision 'S3: direction=transit from=<alice@example.com> rcpts=1 size=8 client=192.0.2.10 action=pass' 'no internal recipient, internal sender from untrusted client'
expect_decision 'S5: direction=inbound from=<b@remote.test> rcpts=1 size=8 client=192.0.2.10 action=pass' '1 internal recipient'
expect_decision 'I1: direction=inbound from=<ext@remote.test> rcpts=1 size=12 client=192.0.2.21 action=pass' '1 internal recipient'
expect_decision 'I2: direction=internal from=<bob@example.com> rcpts=2 size=14 client=127.0.0.1 action=pass' 'internal sender, authenticated client, all recipients internal'
for q in S2 S4 S6; do
  expect_no_log "info: $q:"
done
expect_log_count "direction=" 5
expect_no_log "error:"

# With a message counted as still in flight, SIGTERM would wait the whole
# 60 s shutdown_timeout; mt_finish allows 20 s.
mt_finish
