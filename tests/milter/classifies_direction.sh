#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Direction (outbound, inbound, internal, transit) for each kind of client and envelope, read
# from the one log line per message.
. "$SMX_SOURCE_DIR/tests/lib/milter.sh"
mt_init
mt_conf "$CONF" \
  'trusted_networks = [ "127.0.0.0/8", "::1", "2001:db8:aa::/48" ]'
mt_start "$CONF"
mt_run classifies_direction.lua

line() { expect_decision "$1 size=8 client=$2 action=pass" "$3"; }
line 'D1: direction=outbound from=<alice@example.com> rcpts=1' 192.0.2.10 \
  'internal sender, authenticated client'
line 'D2: direction=inbound from=<ceo@example.com> rcpts=1' 2001:db8:bb::1 \
  '1 internal recipient, internal sender from untrusted client'
line 'D3: direction=outbound from=<dave@example.com> rcpts=1' 2001:db8:aa::25 \
  'internal sender, client in trusted_networks'
line 'D4: direction=internal from=<erin@example.com> rcpts=2' 2001:db8:aa::25 \
  'internal sender, client in trusted_networks, all recipients internal'
line 'D5: direction=inbound from=<someone@remote.test> rcpts=1' 192.0.2.10 \
  '1 internal recipient'
line 'D6: direction=internal from=<a@example.com> rcpts=3' 127.0.0.1 \
  'internal sender, client in trusted_networks, all recipients internal'
line 'D7: direction=transit from=<x@remote.test> rcpts=1' 192.0.2.10 \
  'no internal recipient, external sender'
line 'D8: direction=outbound from=<a@example.com> rcpts=2' 127.0.0.1 \
  'internal sender, client in trusted_networks'
line 'D9: direction=inbound from=<> rcpts=1' 192.0.2.10 \
  '1 internal recipient'
line 'D10: direction=outbound from=<a@example.com> rcpts=1' local \
  'internal sender, locally submitted'
line 'NOQUEUE: direction=inbound from=<nq@remote.test> rcpts=1' 192.0.2.10 \
  '1 internal recipient'
line 'D12: direction=transit from=<a@example.com> rcpts=1' 192.0.2.10 \
  'no internal recipient, internal sender from untrusted client'
line 'D13: direction=transit from=<a@mail.example.com> rcpts=2' 127.0.0.1 \
  'no internal recipient, external sender'
line 'D14: direction=transit from=<f@example.com> rcpts=1' 2001:db8:ab::1 \
  'no internal recipient, internal sender from untrusted client'
line 'D15: direction=outbound from=<g@example.com> rcpts=1' ::ffff:127.0.0.1 \
  'internal sender, client in trusted_networks'
line 'D16: direction=transit from=<g@example.com> rcpts=1' ::ffff:192.0.2.10 \
  'no internal recipient, internal sender from untrusted client'
expect_log_count "direction=" 16
expect_no_log "error:"
mt_finish
