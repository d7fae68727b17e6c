#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# milter.max_connections through a real Postfix: with the one allowed
# milter connection taken, Postfix gets 451 4.3.0 at connect and answers
# the SMTP client 4xx, so the client keeps the message and nothing is
# queued; once the connection is free again, the same message is accepted
# and delivered once.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"

MSGTOOL="$SMX_SOURCE_DIR/tests/lib/msgtool.py"
SESSION="$SMX_SOURCE_DIR/tests/lib/milter_session.py"
MSGID="cap.$$@client.example.net"
MSG="$SMX_TEST_DIR/cap.eml"
HOLDER=

pf_need_peers
pf_init
trap 'rc=$?; set +e; [ -z "$HOLDER" ] || kill "$HOLDER" 2>/dev/null; pf_cleanup $rc' EXIT
sink_start
pf_milter_conf_passthrough 'max_connections = 1'
pf_start_milter
pf_start

python3 "$MSGTOOL" make text7 alice@example.com bob@example.org "$MSGID" "$MSG" &&
  python3 "$MSGTOOL" wire "$MSG" "$MSG.wire" || fail "cannot write the message"
send() {
  pf_send "$1" --from alice@example.com --to bob@example.org -ndf --data "@$MSG.wire"
}

# 1. The one connection the milter serves is taken.
python3 "$SESSION" hold "$PF_MILTER_PORT" > "$SMX_TEST_DIR/hold.out" 2>&1 &
HOLDER=$!
i=0
until grep -q HOLDING "$SMX_TEST_DIR/hold.out"; do
  kill -0 "$HOLDER" 2>/dev/null || fail "holder: $(cat "$SMX_TEST_DIR/hold.out")"
  [ $i -lt $((200 * ${SMX_TIMEOUT_SCALE:-1})) ] || fail "the holding connection was not admitted"
  sleep 0.1
  i=$((i + 1))
done
out="$SMX_TEST_DIR/capped.swaks"
if send "$out"; then
  cat "$out" >&2
  fail "with no milter connection left, Postfix accepted the message"
fi
grep -q '<\*\* *4[0-9][0-9] ' "$out" || { cat "$out" >&2; fail "the answer was not a 4xx temporary failure"; }
! grep -q 'queued as' "$out" || fail "the message was queued"
grep -q "milter-reject: CONNECT from .*451 4.3.0 smime-milter: too many connections" "$PF_LOG" ||
  fail "Postfix did not log the milter's refusal: $(grep -i milter "$PF_LOG")"
grep -q "warning: NOQUEUE: connect: 1 connections open (milter.max_connections): temporary failure" "$PF_MILTER_LOG" ||
  fail "the milter did not log the refusal: $(cat "$PF_MILTER_LOG")"
[ "$(sink_count)" = 0 ] || fail "a message reached the sink"

# 2. The connection is released: the same message goes through, once.
kill "$HOLDER"
wait "$HOLDER" 2>/dev/null || true
HOLDER=
out="$SMX_TEST_DIR/again.swaks"
i=0
until send "$out"; do
  [ $i -lt $((20 * ${SMX_TIMEOUT_SCALE:-1})) ] || { cat "$out" >&2; fail "still refused after the connection was released"; }
  sleep 0.5
  i=$((i + 1))
done
qid=$(pf_queue_id "$out")
pf_wait_delivered "$qid"
milter_line_for "$qid" >/dev/null || fail "the milter did not log $qid"
[ "$(sink_count)" = 1 ] || fail "the sink got $(sink_count) messages, expected 1"
echo "PASS: refused with 4xx at the cap, delivered once after"
