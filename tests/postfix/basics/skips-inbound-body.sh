#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Through a real Postfix (which offers SMFIP_SKIP): the milter tells
# Postfix to skip the rest of the body of a large inbound text message
# (5 MB, no Content-Type: text/plain), which nothing it does would read.
# Postfix still delivers the whole message byte for byte, and the milter's
# line says size=N+ (the bytes of the first chunk, fewer than the body)
# and "body skipped". An inbound multipart/mixed is read whole, as before.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"

MSGTOOL="$SMX_SOURCE_DIR/tests/lib/msgtool.py"
SENDER=carol@example.net
RCPT=alice@example.com

pf_need_peers
pf_init
sink_start
pf_milter_conf_passthrough
pf_start_milter
pf_start

# deliver KIND: sends an inbound message of KIND, checks it reached the
# sink unchanged and prints the milter's line for it.
deliver() {
  local kind=$1 msg="$SMX_TEST_DIR/$1.eml" out="$SMX_TEST_DIR/$1.swaks"
  local qid file lines
  python3 "$MSGTOOL" make "$kind" "$SENDER" "$RCPT" "$kind.$$@remote.example.net" \
    "$msg" && python3 "$MSGTOOL" wire "$msg" "$msg.wire" ||
    fail "$kind: cannot write the message"
  pf_send "$out" --from "$SENDER" --to "$RCPT" -ndf --data "@$msg.wire" || {
    cat "$out" >&2
    fail "$kind: Postfix did not accept the message (transcript above)"
  }
  qid=$(pf_queue_id "$out")
  [ -n "$qid" ] || fail "$kind: no queue id in $out"
  pf_wait_delivered "$qid" 60
  file=$(sink_file_for "$qid")
  [ -n "$file" ] && [ "$(printf '%s\n' "$file" | wc -l)" = 1 ] ||
    fail "$kind: expected one sink file for $qid, found '$file'"
  python3 "$MSGTOOL" compare "$msg" "$file" >&2 ||
    fail "$kind: the message changed on its way through Postfix and the milter"
  lines=$(milter_line_for "$qid")
  [ "$(printf '%s\n' "$lines" | grep -c .)" = 1 ] ||
    fail "$kind: expected one milter line for $qid, got: '$lines'"
  printf '%s\n' "$lines"
}

line=$(deliver big) || exit 1
body=$(python3 "$MSGTOOL" bodysize "$SMX_TEST_DIR/big.eml")
seen=$(printf '%s\n' "$line" | sed -n 's/.* direction=inbound from=<carol@example.net> rcpts=1 size=\([0-9]*\)+ client=127.0.0.1 action=pass reason="1 internal recipient; .*; body skipped (cannot carry S\/MIME)"$/\1/p')
[ -n "$seen" ] || fail "big: the milter did not log a skipped body: '$line'"
[ "$seen" -gt 0 ] && [ "$seen" -lt "$body" ] ||
  fail "big: size=$seen+ should count the bytes before the skip, fewer than the $body of the body"
echo "ok: big ($body body bytes) delivered unchanged; the milter read $seen of them: $line"

line=$(deliver multipart) || exit 1
body=$(python3 "$MSGTOOL" bodysize "$SMX_TEST_DIR/multipart.eml")
case "$line" in
  *" direction=inbound from=<$SENDER> rcpts=1 size=$body client=127.0.0.1 action=pass "*verify=*) ;;
  *) fail "multipart: expected the whole body (size=$body) read and verified, got '$line'" ;;
esac
case "$line" in *skipped*) fail "multipart: skipped: '$line'" ;; esac
echo "ok: multipart read whole: $line"

[ "$(sink_count)" = 2 ] || fail "the sink got $(sink_count) messages, expected 2"
pf_wait_queue_empty 20
if grep -E 'smime-milter\[[0-9]+\]: (error|warning):' "$PF_MILTER_LOG" >&2; then
  fail "the milter logged errors or warnings (above)"
fi
echo "PASS: inbound text skipped after $seen bytes and delivered whole; multipart read whole"
