#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# SIGHUP: reload, refuse a broken file, keep running throughout.
. "$SMX_SOURCE_DIR/tests/lib/milter.sh"
mt_init
mt_conf "$CONF"
mt_conf "$RUN/b.conf" 'internal_domains = [ "example.com", "example.org" ]' \
  'log_level = "debug"' 'spool_threshold = "4K"'
# An unterminated list on line 3: libconfig notices it on line 4.
{
  echo 'milter: {'
  echo "  socket = \"$SOCK\";"
  echo '  internal_domains = [ "example.com" '
  echo '};'
} > "$RUN/bad1.conf"
# Parses, but line 4 has an invalid domain and line 11 an unknown group.
mt_conf "$RUN/bad2.conf" 'internal_domains = [ "exa mple.org" ]'
echo 'bogus: { x = 1; };' >> "$RUN/bad2.conf"
grep -n 'exa mple' "$RUN/bad2.conf" | grep -q '^4:' || fail "bad2.conf layout changed"
mt_conf "$RUN/c.conf" 'internal_domains = [ "example.com", "example.net" ]' \
  "pidfile = \"$RUN/c.pid\"" 'syslog_facility = "local0"' 'timeout = "60s"'
mt_start "$CONF"

mt_run reloads_on_sighup.lua -D conf="$CONF" -D conf_b="$RUN/b.conf" \
  -D conf_bad1="$RUN/bad1.conf" -D conf_bad2="$RUN/bad2.conf" \
  -D conf_c="$RUN/c.conf"

from='from=<x@remote.test> rcpts=1'
expect_decision "R1: direction=transit $from size=5000 client=192.0.2.10 action=pass" "no internal recipient, external sender"
expect_decision "R2: direction=inbound $from size=5000 client=192.0.2.10 action=pass" "1 internal recipient"
expect_log_once "info: R3: direction=inbound $from size=8 client=192.0.2.20 "
expect_log_once "info: R4: direction=inbound $from size=5000 client=192.0.2.10 "
expect_log_once "info: R5: direction=transit $from size=5000 client=192.0.2.20 "
expect_decision "R6: direction=inbound $from size=8 client=192.0.2.10 action=pass" "1 internal recipient"
expect_log_once "info: R7: direction=transit $from size=8 client=192.0.2.10 "

expect_log_count "info: reload: configuration $CONF loaded" 3
expect_log_count "error: reload: $CONF has errors; keeping the running configuration" 2
# Every error of the refused files is logged with file and line.
expect_log_once "error: $CONF:4: syntax error"
expect_log_once "error: $CONF:4: milter.internal_domains: 'exa mple.org' is not a domain name"
expect_log_once "error: $CONF:11: unknown group 'bogus'"
# Set by c.conf, unset again by b.conf: both are announced.
expect_log_count "warning: reload: milter.pidfile changed; it takes effect only after a restart" 2
expect_log_count "warning: reload: milter.syslog_facility changed; it takes effect only after a restart" 2
expect_log_count "warning: reload: milter.timeout changed; it takes effect only after a restart" 2
[ ! -e "$RUN/c.pid" ] || fail "pidfile written by a reload"
expect_log_once "listening on"
mt_finish
