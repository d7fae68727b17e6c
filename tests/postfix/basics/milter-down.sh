#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# A crashed milter loses no mail. With milter_default_action = tempfail,
# Postfix answers 4xx while the milter is down (kill -9), so the client
# keeps the message; nothing reaches the sink or stays in Postfix's queue.
# After a restart the same message is accepted and delivered exactly once.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"

MSGTOOL="$SMX_SOURCE_DIR/tests/lib/msgtool.py"
MSGID="down.$$@client.example.net"
MSG="$SMX_TEST_DIR/down.eml"

pf_need_peers
pf_init
sink_start
pf_milter_conf_passthrough
pf_start_milter
pf_start

python3 "$MSGTOOL" make text7 alice@example.com bob@example.org "$MSGID" "$MSG" &&
  python3 "$MSGTOOL" wire "$MSG" "$MSG.wire" || fail "cannot write the message"

# send OUT: the test message, once.
send() {
  pf_send "$1" --from alice@example.com --to bob@example.org -ndf --data "@$MSG.wire"
}

# sink_files_with_msgid: the sink files holding our Message-ID.
sink_files_with_msgid() {
  grep -l -F "Message-ID: <$MSGID>" "$PF_SINK_DIR"/* 2>/dev/null
}

# 1. The milter is up: a first message goes through (the fixture works).
send "$SMX_TEST_DIR/up.swaks" || fail "with the milter up, the message was refused"
qid=$(pf_queue_id "$SMX_TEST_DIR/up.swaks")
[ -n "$qid" ] || fail "no queue id in $SMX_TEST_DIR/up.swaks"
pf_wait_delivered "$qid"
milter_line_for "$qid" >/dev/null || fail "the milter did not log $qid"
[ "$(sink_count)" = 1 ] || fail "the sink got $(sink_count) messages, expected 1"

# 2. Crash it: Postfix must answer 4xx and keep nothing.
pf_kill_milter
if (exec 3<>"/dev/tcp/127.0.0.1/$PF_MILTER_PORT") 2>/dev/null; then
  fail "something still listens on the milter port after kill -9"
fi
out="$SMX_TEST_DIR/down.swaks"
if send "$out"; then
  cat "$out" >&2
  fail "with the milter down, Postfix accepted the message"
fi
grep -q '<\*\* *4[0-9][0-9] ' "$out" || {
  cat "$out" >&2
  fail "with the milter down, the answer was not a 4xx temporary failure"
}
! grep -q 'queued as' "$out" || fail "with the milter down, the message was queued"
grep -q "warning: connect to Milter service inet:127.0.0.1:$PF_MILTER_PORT" "$PF_LOG" ||
  fail "Postfix did not log that it could not reach the milter"
grep -q "NOQUEUE: milter-reject: MAIL from .* 451 4.7.1 .*from=<alice@example.com>" "$PF_LOG" ||
  fail "Postfix did not log the milter-reject (tempfail) of MAIL FROM"
# Nothing may have been queued or delivered: wait a moment for a stray copy.
sleep 1
[ "$(sink_count)" = 1 ] || fail "a message reached the sink while the milter was down"
pf_queue_listing | grep -q '^Mail queue is empty' || {
  pf_queue_listing >&2
  fail "while the milter was down, Postfix's queue is not empty"
}
echo "ok: milter down -> $(grep -m1 '<\*\* *4' "$out" | sed 's/^<\*\* *//')"

# 3. Restart: the same message, sent again, arrives exactly once.
pf_start_milter
out="$SMX_TEST_DIR/again.swaks"
send "$out" || { cat "$out" >&2; fail "after the restart, the message was refused"; }
qid=$(pf_queue_id "$out")
[ -n "$qid" ] || fail "no queue id in $out"
pf_wait_delivered "$qid"
milter_line_for "$qid" >/dev/null || fail "the restarted milter did not log $qid"
pf_wait_queue_empty 20
# Exactly once: the copy from step 1 and this one, nothing more.
[ "$(sink_count)" = 2 ] || fail "the sink got $(sink_count) messages, expected 2"
[ "$(sink_files_with_msgid | wc -l)" = 2 ] ||
  fail "expected our Message-ID in 2 sink files (before the crash, after the restart)"
file=$(sink_file_for "$qid")
[ -n "$file" ] && [ "$(printf '%s\n' "$file" | wc -l)" = 1 ] ||
  fail "expected one sink file for $qid, found '$file'"
python3 "$MSGTOOL" compare "$MSG" "$file" || fail "the resent message changed in transit"
pf_queue_listing | grep -q '^Mail queue is empty' || {
  pf_queue_listing >&2
  fail "Postfix's queue is not empty"
}
echo "PASS: nothing accepted while the milter was down, delivered once after restart"
