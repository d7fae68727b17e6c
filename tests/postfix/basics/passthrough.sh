#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Through a real Postfix and the pass-through milter, messages arrive at
# the next hop (smtp-sink) unchanged: 7-bit text, 8-bit UTF-8, a
# multipart/mixed with a base64 attachment and a 5 MB message. For each,
# the milter logged exactly one line under the queue id Postfix gave it.
# main.cf has disable_mime_output_conversion = yes, so Postfix itself does
# not turn 8-bit into quoted-printable (the sink announces 8BITMIME
# anyway).
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"

MSGTOOL="$SMX_SOURCE_DIR/tests/lib/msgtool.py"
SENDER=alice@example.com
RCPT=bob@example.org

pf_need_peers
pf_init
sink_start
pf_milter_conf_passthrough
pf_start_milter
pf_start

# send_kind KIND: makes a message of KIND, sends it through Postfix and
# prints its queue id.
send_kind() {
  local kind=$1 msg="$SMX_TEST_DIR/$1.eml" out="$SMX_TEST_DIR/$1.swaks"
  python3 "$MSGTOOL" make "$kind" "$SENDER" "$RCPT" "$kind.$$@client.example.net" \
    "$msg" || fail "$kind: cannot write the message"
  python3 "$MSGTOOL" wire "$msg" "$msg.wire" || fail "$kind: cannot dot-stuff"
  if ! pf_send "$out" --from "$SENDER" --to "$RCPT" -ndf --data "@$msg.wire"; then
    cat "$out" >&2
    fail "$kind: Postfix did not accept the message (transcript above)"
  fi
  pf_queue_id "$out"
}

# check_milter_line KIND QUEUEID: one log line, with what was sent.
check_milter_line() {
  local kind=$1 qid=$2 lines size want
  lines=$(milter_line_for "$qid")
  [ "$(printf '%s\n' "$lines" | grep -c .)" = 1 ] ||
    fail "$kind: expected one milter line for $qid, got: '$lines'"
  # The milter sees the body with CRLF line ends, as sent.
  size=$(python3 "$MSGTOOL" bodysize "$SMX_TEST_DIR/$kind.eml")
  want="direction=outbound from=<$SENDER> rcpts=1 size=$size client=127.0.0.1 action=pass "
  case "$lines" in
    *": $qid: $want"*) ;;
    *) fail "$kind: milter line for $qid is '$lines', expected '... $want...'" ;;
  esac
}

# check_kind KIND: the whole round trip for one message.
check_kind() {
  local kind=$1 qid file
  qid=$(send_kind "$kind") || exit 1
  [ -n "$qid" ] || fail "$kind: no queue id in $SMX_TEST_DIR/$kind.swaks"
  grep -q "$qid: message-id=<$kind.$$@client.example.net>" "$PF_LOG" ||
    fail "$kind: Postfix did not log queue id $qid for our Message-ID"
  pf_wait_delivered "$qid" 60
  file=$(sink_file_for "$qid")
  [ -n "$file" ] && [ "$(printf '%s\n' "$file" | wc -l)" = 1 ] ||
    fail "$kind: expected one sink file for $qid, found '$file'"
  python3 "$MSGTOOL" compare "$SMX_TEST_DIR/$kind.eml" "$file" ||
    fail "$kind: the message changed on its way through Postfix and the milter"
  check_milter_line "$kind" "$qid"
  echo "ok: $kind as $qid, $(wc -c <"$file") bytes at the sink"
}

for kind in text7 utf8 multipart big; do
  check_kind "$kind"
done

[ "$(sink_count)" = 4 ] || fail "the sink got $(sink_count) messages, expected 4"
pf_wait_queue_empty 20
if grep -E 'smime-milter\[[0-9]+\]: (error|warning):' "$PF_MILTER_LOG" >&2; then
  fail "the milter logged errors or warnings (above)"
fi
echo "PASS: 4 messages through Postfix and the milter unchanged"
