#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Killing the key process while mail flows through Postfix: a message
# whose signature was being made when it died is tempfailed (451, even
# with on_sign_failure = "send"), every
# message Postfix accepted arrives signed, and encrypted where the policy
# requires encryption; the key process comes back by itself (a new pid,
# logged) and signs again. Then a burst of messages with the key process
# killed three times meanwhile: each one is tempfailed or arrives signed
# (and encrypted where required). A reload replaces the key process
# without refusing anything, and the new one signs. An upgrade that
# replaces the program file under the running milter does not change the
# program its key process comes back as.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"
. "$SMX_SOURCE_DIR/tests/lib/pki.sh"
set -e
pf_need_peers
need_cmd openssl saslpasswd2 pgrep python3
MSGTOOL="$SMX_SOURCE_DIR/tests/lib/msgtool.py"

pki=$(fresh_dir pki)
q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }
pki_ca "$pki" "Key Process Restart CA"
echo pw > "$pki/pw"
issue() { # NAME EMAIL: certificate and PKCS#12
  pki_issue "$1" "$2"
  pki_p12 "$1" "$pki/pw"
}
issue alice alice@example.com
issue rcpt rcpt@partner.example

pf_init --sasl
sink_start
write_milter_conf "$PF_MILTER_CONF" "$PF_MILTER_PORT"
# on_sign_failure = "send": a message that cannot be signed for good
# (no key) may go out unsigned; one whose signature the dying key process
# did not make must still be tempfailed, not sent unsigned.
printf 'policy: { default: { on_sign_failure = "send"; };\n  domains: ( { domain = "partner.example"; encrypt = "required"; } ); };\n' \
  >> "$PF_MILTER_CONF"
rm -f "$SMX_TEST_DIR"/store.db* "$SMX_TEST_DIR/master.key"
ctl() { "$SMX_BIN_DIR/smimectl" -c "$PF_MILTER_CONF" "$@"; }
q ctl init
q ctl trust add "$pki/ca.pem"
q ctl import-p12 "$pki/alice.p12" --password-file "$pki/pw"
q ctl import-cert "$pki/rcpt.pem"
pf_add_sasl_user alice@example.com pw-alice
pf_start_milter
pf_start

msgs=$(fresh_dir messages)
n=0
senders=()
# wait_sent: waits for the submissions started by send (not the sink).
wait_sent() {
  local p
  for p in "${senders[@]}"; do wait "$p" || true; done
  senders=()
}
# send TO: submits one message from alice in the background; its
# transcript is $msgs/N.out and its recipient $msgs/N.to.
send() {
  n=$((n + 1))
  local m="$msgs/$n"
  printf 'From: <alice@example.com>\r\nTo: <%s>\r\nSubject: message %s\r\n\r\nBody %s.\r\n' \
    "$1" "$n" "$n" > "$m.eml"
  python3 "$MSGTOOL" wire "$m.eml" "$m.wire"
  echo "$1" > "$m.to"
  pf_send "$m.out" --server "127.0.0.1:$PF_SUBMIT_PORT" -a PLAIN \
    -au alice@example.com -ap pw-alice --from alice@example.com \
    --to "$1" -ndf --data "@$m.wire" >/dev/null 2>&1 &
  senders+=($!)
}
key_pid() { pgrep -P "$MILTER_PID" | head -1; }
# wait_key_process OLD: until a key process other than OLD runs.
wait_key_process() {
  local i=0 p
  while :; do
    p=$(key_pid)
    [ -n "$p" ] && [ "$p" != "$1" ] && grep -q "key process $p ready" "$PF_MILTER_LOG" && break
    [ $i -lt $((100 * ${SMX_TIMEOUT_SCALE:-1})) ] || fail "the key process did not come back after $1"
    sleep 0.1
    i=$((i + 1))
  done
  echo "$p"
}
# judge N: accepted messages arrived signed, and encrypted to partner.example;
# prints "accepted" or "tempfailed".
judge() {
  local m="$msgs/$1" to qid f
  to=$(cat "$m.to")
  if grep -q "^<~ *250 .*queued as" "$m.out" || grep -q "queued as" "$m.out"; then
    qid=$(pf_queue_id "$m.out")
    pf_wait_delivered "$qid"
    f=$(sink_file_for "$qid")
    case $to in
      *@partner.example)
        grep -qi '^Content-Type: application/pkcs7-mime; smime-type=enveloped-data' "$f" ||
          { cat "$f" >&2; fail "message $1 to $to went out in clear"; }
        python3 "$SMX_SOURCE_DIR/tests/lib/sink-to-message.py" "$f" "$m.got"
        openssl cms -decrypt -in "$m.got" -recip "$pki/rcpt.pem" \
          -inkey "$pki/rcpt.key" -out "$m.inner" 2>/dev/null ||
          fail "message $1: cannot decrypt"
        grep -qi 'application/pkcs7-signature\|smime-type=signed-data' "$m.inner" ||
          fail "message $1 to $to was encrypted but not signed" ;;
      *)
        grep -qi '^Content-Type: multipart/signed' "$f" ||
          { cat "$f" >&2; fail "message $1 to $to went out unsigned"; } ;;
    esac
    echo accepted
  elif grep -q "451 4" "$m.out"; then
    echo tempfailed
  else
    cat "$m.out" >&2
    fail "message $1: neither accepted nor tempfailed"
  fi
}

# 1. A signature in flight: the key process is stopped, a message waits
# for it, then the key process is killed. Once for a message to sign,
# once for one to sign and encrypt.
pid=$(key_pid)
[ -n "$pid" ] || fail "no key process"
send rcpt@partner.example		# warms the signer cache
wait_sent
[ "$(judge 1)" = accepted ] || fail "the first message was not accepted"
for to in other@other.example rcpt@partner.example; do
  kill -STOP "$pid"
  send "$to"
  sleep 2
  kill -KILL "$pid"
  wait_sent
  [ "$(judge "$n")" = tempfailed ] ||
    fail "the message to $to in flight was not tempfailed"
  grep -q "key process $pid killed by signal 9; starting it again in 1s" "$PF_MILTER_LOG" ||
    fail "the death of the key process was not logged"
  old=$pid
  pid=$(wait_key_process "$old")
  echo "ok: the message to $to in flight was tempfailed; key process $old was replaced by $pid"
done
send rcpt@partner.example
wait_sent
[ "$(judge "$n")" = accepted ] || fail "no signing after the restart"
echo "ok: the new key process signs"

# 2. A burst, with the key process killed three times meanwhile.
burst=$((n + 1))
for round in 1 2 3; do
  for i in 1 2 3 4; do
    case $i in 1|3) send rcpt@partner.example ;; *) send other@other.example ;; esac
  done
  sleep 0.1
  kill -KILL "$pid"
  wait_sent
  pid=$(wait_key_process "$pid")
done
accepted=0 tempfailed=0
for i in $(seq "$burst" "$n"); do
  case $(judge "$i") in
    accepted) accepted=$((accepted + 1)) ;;
    tempfailed) tempfailed=$((tempfailed + 1)) ;;
  esac
done
echo "ok: burst of $((n - burst + 1)): $accepted accepted and signed (encrypted where required), $tempfailed tempfailed"
send other@other.example
wait_sent
[ "$(judge "$n")" = accepted ] || fail "no signing after the burst"
echo "ok: the key process came back after every kill"

# 3. A reload: a new key process reads the configuration, the old one ends.
old=$(key_pid)
kill -HUP "$MILTER_PID"
i=0
until grep -q "key process $old replaced by [0-9]* for the new configuration" "$PF_MILTER_LOG"; do
  [ $i -lt 100 ] || fail "the reload did not replace key process $old"
  sleep 0.1
  i=$((i + 1))
done
new=$(grep -o "key process $old replaced by [0-9]*" "$PF_MILTER_LOG" | sed 's/.* //')
i=0
while kill -0 "$old" 2>/dev/null && [ "$(cat /proc/$old/stat 2>/dev/null | cut -d' ' -f3)" != Z ]; do
  [ $i -lt 100 ] || fail "the old key process $old did not end"
  sleep 0.1
  i=$((i + 1))
done
grep -q "key process $old .*starting it again" "$PF_MILTER_LOG" &&
  fail "the replaced key process was taken for a dead one"
send rcpt@partner.example
wait_sent
[ "$(judge "$n")" = accepted ] || fail "no signing after the reload"
echo "ok: a reload replaced key process $old by $new, which signs"

# 4. An upgrade replaces the program file while the milter runs (as dpkg
# does: a new file renamed over the old one). A key process started after
# that is still the running daemon's program, not the new file.
bin=$(fresh_dir bin)
cp "$SMX_BIN_DIR/smime-milter" "$bin/smime-milter"
ln -s "$SMX_BIN_DIR/smimectl" "$bin/smimectl"
pf_stop_milter
SMX_BIN_DIR=$bin pf_start_milter
pid=$(wait_key_process none)
printf '#!/bin/sh\necho "the replaced program ran" >&2\nexit 1\n' > "$bin/smime-milter.new"
chmod 755 "$bin/smime-milter.new"
mv -f "$bin/smime-milter.new" "$bin/smime-milter"
kill -KILL "$pid"
pid=$(wait_key_process "$pid")
case $(readlink "/proc/$pid/exe") in
  *"(deleted)") ;;
  *) fail "the key process after the upgrade runs $(readlink "/proc/$pid/exe")" ;;
esac
grep -q "the replaced program ran" "$PF_MILTER_LOG" && fail "the replaced file was executed"
send rcpt@partner.example
wait_sent
[ "$(judge "$n")" = accepted ] || fail "no signing after the program file was replaced"
echo "ok: after the program file was replaced, key process $pid runs the daemon's own program and signs"
