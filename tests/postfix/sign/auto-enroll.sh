#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Auto-enrollment through a real Postfix (ca.auto_enroll = true): a new
# internal user's first message arrives signed by a certificate the
# organization CA just issued; 20 concurrent first messages from another
# new user issue exactly one certificate, and every one arrives signed.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"
set -e
pf_need_peers
need_cmd openssl saslpasswd2
TOOL="$SMX_SOURCE_DIR/tests/lib/mime_tool.py"
MSGTOOL="$SMX_SOURCE_DIR/tests/lib/msgtool.py"

pf_init --sasl
sink_start
write_milter_conf "$PF_MILTER_CONF" "$PF_MILTER_PORT"
rm -f "$SMX_TEST_DIR"/store.db* "$SMX_TEST_DIR/master.key"  # a previous run's
printf 'ca: { auto_enroll = true; key_type = "ec-p256"; };\n' >> "$PF_MILTER_CONF"
ctl() { "$SMX_BIN_DIR/smimectl" -c "$PF_MILTER_CONF" "$@"; }
ctl init > /dev/null || fail "smimectl init"
ctl ca init > /dev/null || fail "smimectl ca init"
ctl ca cert > "$SMX_TEST_DIR/ca.pem" || fail "smimectl ca cert"
pf_start_milter
pf_add_sasl_user dave@example.com pw-dave
pf_add_sasl_user frank@example.com pw-frank
pf_start

msgs=$(fresh_dir messages)
# send USER N: message N from USER@example.com on the submission port.
send() {
  local m="$msgs/$1-$2.eml"
  python3 "$MSGTOOL" make text7 "$1@example.com" rcpt@partner.example \
    "$1.$2@client.example.net" "$m" || fail "cannot write $m"
  python3 "$MSGTOOL" wire "$m" "$m.wire" || fail "cannot dot-stuff $m"
  pf_send "$m.out" --server "127.0.0.1:$PF_SUBMIT_PORT" -a PLAIN \
    -au "$1@example.com" -ap "pw-$1" --from "$1@example.com" \
    --to rcpt@partner.example -ndf --data "@$m.wire"
}
# check_signed OUT: delivered, signed, and the signature verifies to the CA.
check_signed() {
  local qid f w
  qid=$(pf_queue_id "$1")
  [ -n "$qid" ] || { cat "$1" >&2; fail "no queue id in $1"; }
  pf_wait_delivered "$qid" 60
  f=$(sink_file_for "$qid")
  w=$(mktemp -d "$SMX_TEST_DIR/verify.XXXXXX")
  python3 "$SMX_SOURCE_DIR/tests/lib/sink-to-message.py" "$f" "$w/message.eml"
  python3 "$TOOL" extract-clear "$w/message.eml" "$w/content" "$w/sig.der" ||
    fail "$qid: not signed"
  openssl cms -verify -binary -inform DER -in "$w/sig.der" \
    -content "$w/content" -CAfile "$SMX_TEST_DIR/ca.pem" -purpose smimesign \
    -out /dev/null 2> "$w/err" || fail "$qid: openssl: $(cat "$w/err")"
}
# certificates EMAIL: how many certificates the store holds for EMAIL.
certificates() {
  ctl --json list "$1" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}

[ "$(certificates dave@example.com)" = 0 ] || fail "dave has a certificate already"
send dave 1 || { cat "$msgs/dave-1.eml.out" >&2; fail "dave's first message refused"; }
check_signed "$msgs/dave-1.eml.out"
[ "$(certificates dave@example.com)" = 1 ] || fail "dave: want exactly one certificate"
grep -q "enrolled <dave@example.com>: issued certificate" "$PF_MILTER_LOG" ||
  fail "no enrollment log line"
echo "ok: first message of a new user signed by a freshly issued certificate"

pids=()
for i in $(seq 1 20); do send frank "$i" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent message was refused"; done
for i in $(seq 1 20); do check_signed "$msgs/frank-$i.eml.out"; done
n=$(certificates frank@example.com)
[ "$n" = 1 ] || fail "20 concurrent first messages issued $n certificates, want 1"
[ "$(grep -c "enrolled <frank@example.com>" "$PF_MILTER_LOG")" = 1 ] ||
  fail "want exactly one enrollment line for frank"
echo "ok: 20 concurrent first messages, one certificate, all signed"
echo PASS
