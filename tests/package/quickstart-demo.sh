#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# scripts/quickstart's guided first run, in a scratch layout (its SMX_*
# variables: prefix, configuration, state, run and demo directories in
# this test's directory, the user nobody, a free port, no build, no
# systemd): it writes a valid configuration with the demo policy, creates
# the demo organization, starts the milter, and prints how to send a demo
# message. That message, sent as printed through a real Postfix (a private
# instance relaying to smtp-sink), arrives encrypted; the printed openssl
# commands decrypt it with bob's exported key and verify alice's signature.
# A second run changes nothing and says so; --no-demo makes no demo.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"

quickstart="$SMX_SOURCE_DIR/scripts/quickstart"
bash -n "$quickstart" || fail "scripts/quickstart: syntax error"
need_cmd openssl
pf_need_peers

T="$SMX_TEST_DIR/qs"

# qs_env DIR: the scratch layout, rooted at DIR.
qs_run() {
  local root=$1
  shift
  env SMX_SKIP_BUILD=1 SMX_NO_SYSTEMD=1 SMX_PREFIX="$root/prefix" \
    SMX_CONF_DIR="$root/etc" SMX_STATE_DIR="$root/state" SMX_RUN_DIR="$root/run" \
    SMX_DEMO_DIR="$root/demo" SMX_USER=nobody \
    SMX_SOCKET="inet:$PF_MILTER_PORT@127.0.0.1" \
    bash "$quickstart" "$@"
}

qs_prepare() {
  local root=$1
  rm -rf "$root"
  mkdir -p "$root/prefix/sbin" "$root/prefix/bin"
  ln -s "$SMX_BIN_DIR/smime-milter" "$root/prefix/sbin/smime-milter"
  ln -s "$SMX_BIN_DIR/smimectl" "$root/prefix/bin/smimectl"
}

stop_qs_milter() {
  local pidfile pid
  for pidfile in "$T"/run/smime-milter.pid "$T-nodemo"/run/smime-milter.pid; do
    pid=$(cat "$pidfile" 2>/dev/null) || continue
    kill -TERM "$pid" 2>/dev/null || continue
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
}

# pf_cleanup exits with the status it finds in $?: keep the test's.
cleanup() {
  local rc=$?
  stop_qs_milter
  (exit "$rc")
  pf_cleanup
}
pf_init
trap cleanup EXIT
sink_start

# First run: everything is created.
qs_prepare "$T"
qs_run "$T" example.com >"$SMX_TEST_DIR/run1.out" 2>&1 \
  || { cat "$SMX_TEST_DIR/run1.out" >&2; fail "quickstart failed"; }
cat "$SMX_TEST_DIR/run1.out"
out="$SMX_TEST_DIR/run1.out"
grep -qx "smtpd_milters = inet:127.0.0.1:$PF_MILTER_PORT" "$out" \
  || fail "quickstart did not print the Postfix milter line for its socket"
grep -q "created the demo organization" "$out" || fail "no demo organization"
grep -q "swaks --server 127.0.0.1:25 --from alice@example.com --to bob@example.com" "$out" \
  || fail "quickstart did not print the swaks command"
grep -q '^@include "demo-policy.conf"$' "$T/etc/smime-milter.conf" \
  || fail "the configuration does not include the demo policy"
"$SMX_BIN_DIR/smime-milter" -n -c "$T/etc/smime-milter.conf" || fail "invalid configuration"
for f in ca.pem alice@example.com.key.pem alice@example.com.crt.pem \
         bob@example.com.key.pem bob@example.com.crt.pem; do
  [ -s "$T/demo/$f" ] || fail "the demo did not export $f"
done
[ "$(stat -c %a "$T/demo")" = 700 ] || fail "the demo key directory is not private"
pid1=$(cat "$T/run/smime-milter.pid")
kill -0 "$pid1" || fail "the milter does not run"
wait_for_port "$PF_MILTER_PORT" 10 || fail "the milter does not listen on $PF_MILTER_PORT"

# The demo message, sent as printed (to our Postfix's port).
pf_start
swaks_line=$(grep -m1 '^ *swaks --server 127.0.0.1:25 ' "$out" | sed 's/^ *//')
eval "set -- ${swaks_line#swaks --server 127.0.0.1:25 }"
pf_send "$SMX_TEST_DIR/swaks.out" "$@" || { cat "$SMX_TEST_DIR/swaks.out" >&2; fail "swaks failed"; }
qid=$(pf_queue_id "$SMX_TEST_DIR/swaks.out")
pf_wait_delivered "$qid"
msg=$(sink_file_for "$qid") || fail "the sink did not receive $qid"
grep -qi '^Content-Type: application/pkcs7-mime' "$msg" \
  || { cat "$msg" >&2; fail "the demo message is not encrypted"; }
grep -q 'Hello Bob' "$msg" && fail "the demo message is readable in clear"

# The printed openssl commands, on the message the sink received.
cp "$msg" "$SMX_TEST_DIR/demo.eml"
grep '^ *openssl cms ' "$out" | sed -e 's/^ *//' -e 's/ *#.*$//' \
  -e "s|/tmp/demo.eml|$SMX_TEST_DIR/demo.eml|g" \
  -e "s|/tmp/demo-plain.eml|$SMX_TEST_DIR/demo-plain.eml|g" >"$SMX_TEST_DIR/openssl.sh"
[ "$(wc -l <"$SMX_TEST_DIR/openssl.sh")" = 2 ] || fail "quickstart did not print the two openssl commands"
bash -e "$SMX_TEST_DIR/openssl.sh" >"$SMX_TEST_DIR/openssl.out" 2>&1 \
  || { cat "$SMX_TEST_DIR/openssl.out" >&2; fail "the printed openssl commands failed"; }
grep -q 'Verification successful' "$SMX_TEST_DIR/openssl.out" || fail "alice's signature did not verify"
grep -q 'Hello Bob' "$SMX_TEST_DIR/openssl.out" || fail "the decrypted, verified text is not the message"
echo "demo message: encrypted for bob, signed by alice, as printed: ok"

# Second run: nothing changes, the milter keeps running.
qs_run "$T" example.com >"$SMX_TEST_DIR/run2.out" 2>&1 \
  || { cat "$SMX_TEST_DIR/run2.out" >&2; fail "second quickstart run failed"; }
grep -q "quickstart: nothing changed" "$SMX_TEST_DIR/run2.out" \
  || { cat "$SMX_TEST_DIR/run2.out" >&2; fail "the second run changed something"; }
[ "$(cat "$T/run/smime-milter.pid")" = "$pid1" ] || fail "the second run restarted the milter"
echo "second run: nothing changed: ok"

# --no-demo: no CA, no users, the configuration keeps its own policy.
stop_qs_milter
qs_prepare "$T-nodemo"
qs_run "$T-nodemo" --no-demo example.com >"$SMX_TEST_DIR/run3.out" 2>&1 \
  || { cat "$SMX_TEST_DIR/run3.out" >&2; fail "quickstart --no-demo failed"; }
grep -q '^@include' "$T-nodemo/etc/smime-milter.conf" && fail "--no-demo wrote a demo policy include"
[ -e "$T-nodemo/demo" ] && fail "--no-demo created demo keys"
"$SMX_BIN_DIR/smimectl" -c "$T-nodemo/etc/smime-milter.conf" ca cert >/dev/null 2>&1 \
  && fail "--no-demo created a CA"
echo "--no-demo: no demo: ok"
echo PASS
