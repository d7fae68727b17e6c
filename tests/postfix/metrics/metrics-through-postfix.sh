#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Metrics through a real Postfix: after N messages (inbound signed and
# unsigned, outbound signed, outbound signed and encrypted) the
# Prometheus endpoint counts exactly N by direction and action, with the
# signatures made and verified, encryptions and harvests; the endpoint
# listens on loopback only by default and `smime-milter -n` refuses a
# non-loopback address unless metrics_allow_remote is set; smimectl stats
# shows the same counts from the store (flushed while running and at
# stop), a busy metrics port stops the start-up (exit 2), and a restart
# adds to the store's counts instead of starting over.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"
. "$SMX_SOURCE_DIR/tests/lib/pki.sh"
set -e
pf_need_peers
need_cmd openssl curl ss
MSGTOOL="$SMX_SOURCE_DIR/tests/lib/msgtool.py"
q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }

# --- smime-milter -n and metrics_listen ----------------------------------
check_conf() {	# EXPECTED-EXIT LISTEN [extra milter key]
  local want=$1 conf="$SMX_TEST_DIR/check.conf" rc=0
  write_milter_conf "$conf" 8891 "metrics_listen = \"$2\"" ${3:+"$3"}
  "$SMX_BIN_DIR/smime-milter" -n -c "$conf" >"$SMX_TEST_DIR/check.out" 2>&1 || rc=$?
  [ "$rc" = "$want" ] ||
    { cat "$SMX_TEST_DIR/check.out" >&2; fail "-n with metrics_listen=$2 ${3:-}: exit $rc, want $want"; }
}
check_conf 0 "9464"
check_conf 0 "127.0.0.1:9464"
check_conf 0 "[::1]:9464"
check_conf 1 "0.0.0.0:9464"
grep -q "metrics_listen: '0.0.0.0:9464' is not a loopback address" "$SMX_TEST_DIR/check.out" ||
  { cat "$SMX_TEST_DIR/check.out" >&2; fail "no reason given for a non-loopback address"; }
check_conf 1 "[::]:9464"
check_conf 1 "192.0.2.1:9464"
check_conf 0 "0.0.0.0:9464" "metrics_allow_remote = true"
check_conf 1 "localhost:9464"
check_conf 1 "9464x"
echo "ok: -n accepts loopback addresses, refuses others without metrics_allow_remote"

# --- a PKI for the external correspondent --------------------------------
pki=$(fresh_dir pki)
pki_ca "$pki" "Partner CA"
pki_issue -subj "/CN=Bob Partner" bob bob@partner.example

# --- Postfix, the milter with a metrics listener -------------------------
pf_init
sink_start
MPORT=$(free_port)
write_milter_conf "$PF_MILTER_CONF" "$PF_MILTER_PORT" "metrics_listen = \"$MPORT\""
rm -f "$SMX_TEST_DIR"/store.db* "$SMX_TEST_DIR/master.key"
cat >>"$PF_MILTER_CONF" <<'EOF'
ca: { auto_enroll = true; key_type = "ec-p256"; };
policy: {
  default: { sign = "always"; encrypt = "opportunistic"; };
  signers: { allow_unauthenticated = [ "alice@example.com" ]; };
};
EOF
ctl() { "$SMX_BIN_DIR/smimectl" -c "$PF_MILTER_CONF" "$@"; }
q ctl init
q ctl ca init
q ctl trust add "$pki/ca.pem"
pf_start_milter
pf_start
wait_for_port "$MPORT" 10 || fail "no metrics listener on 127.0.0.1:$MPORT"

# --- the endpoint answers on loopback only -------------------------------
listening=$(ss -Htln "sport = :$MPORT" | awk '{print $4}')
[ "$listening" = "127.0.0.1:$MPORT" ] ||
  fail "metrics listener bound to '$listening', want only 127.0.0.1:$MPORT"
for ip in $(hostname -I 2>/dev/null); do
  case "$ip" in 127.*|::1) continue ;; *:*) url="http://[$ip]:$MPORT/metrics" ;; *) url="http://$ip:$MPORT/metrics" ;; esac
  if curl -s -o /dev/null --max-time 3 "$url"; then
    fail "the metrics endpoint answered on $ip"
  fi
done
echo "ok: the endpoint listens on 127.0.0.1:$MPORT only"

# --- mail ----------------------------------------------------------------
msgs=$(fresh_dir messages)
sent=0
# deliver NAME FROM TO: sends msgs/NAME.eml and waits for its delivery.
deliver() {
  local m="$msgs/$1" qid
  python3 "$MSGTOOL" wire "$m.eml" "$m.wire" || fail "cannot dot-stuff $1"
  pf_send "$m.out" --from "$2" --to "$3" -ndf --data "@$m.wire" ||
    { cat "$m.out" >&2; fail "$1 was refused"; }
  qid=$(pf_queue_id "$m.out")
  pf_wait_delivered "$qid"
  sent=$((sent + 1))
}
plain() {	# NAME FROM TO
  python3 "$MSGTOOL" make text7 "$2" "$3" "$1@test.example" "$msgs/$1.eml"
  deliver "$@"
}
signed_by_bob() {	# NAME
  local m="$msgs/$1"
  printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nHello Alice.\r\n' > "$m.content"
  openssl cms -sign -in "$m.content" -signer "$pki/bob.pem" -inkey "$pki/bob.key" \
    -certfile "$pki/ca.pem" -binary -md sha256 -out "$m.smime" 2>/dev/null ||
    fail "openssl cms -sign"
  {
    printf 'From: Bob <bob@partner.example>\r\nTo: <alice@example.com>\r\nSubject: signed\r\nMessage-ID: <%s@partner.example>\r\n' "$1"
    tr -d '\r' < "$m.smime" | sed 's/$/\r/'
  } > "$m.eml"
  deliver "$1" bob@partner.example alice@example.com
}

signed_by_bob in-signed-1			# inbound, verified, harvested
signed_by_bob in-signed-2
plain in-plain-1 carol@else.example alice@example.com	# inbound, unsigned (skipped)
plain in-plain-2 carol@else.example alice@example.com
plain out-sign-1 alice@example.com dave@nocert.example	# signed only
plain out-sign-2 alice@example.com dave@nocert.example
plain out-sign-3 alice@example.com dave@nocert.example
plain out-enc-1 alice@example.com bob@partner.example	# signed + encrypted
plain out-enc-2 alice@example.com bob@partner.example
[ "$sent" = 9 ] || fail "sent $sent messages, want 9"
grep -q "action=sign+encrypt" "$PF_MILTER_LOG" ||
  { cat "$PF_MILTER_LOG" >&2; fail "no message was signed and encrypted"; }

# --- the endpoint counts them ---------------------------------------------
metrics="$SMX_TEST_DIR/metrics.txt"
curl -s -S -D "$SMX_TEST_DIR/metrics.head" -o "$metrics" \
  "http://127.0.0.1:$MPORT/metrics" || fail "GET /metrics failed"
head -n 1 "$SMX_TEST_DIR/metrics.head" | grep -q "^HTTP/1.0 200" ||
  fail "GET /metrics: $(head -n 1 "$SMX_TEST_DIR/metrics.head")"
grep -qi "^Content-Type: text/plain; version=0.0.4" "$SMX_TEST_DIR/metrics.head" ||
  fail "GET /metrics: wrong content type"
value() {	# SERIES: its value in metrics.txt (fails when absent)
  local v
  v=$(awk -v s="$1" '$1 == s { print $2 }' "$metrics")
  [ -n "$v" ] || fail "series $1 missing from /metrics"
  echo "$v"
}
expect() {	# SERIES WANT
  local got
  got=$(value "$1")
  [ "$got" = "$2" ] || { cat "$PF_MILTER_LOG" >&2; fail "$1 = $got, want $2"; }
}
expect 'smime_milter_messages_total{direction="inbound",action="pass"}' 4
expect 'smime_milter_messages_total{direction="outbound",action="sign"}' 3
expect 'smime_milter_messages_total{direction="outbound",action="sign+encrypt"}' 2
total=$(awk '$1 ~ /^smime_milter_messages_total\{/ { n += $2 } END { print n }' "$metrics")
[ "$total" = "$sent" ] || fail "messages_total sums to $total, want $sent"
expect 'smime_milter_signatures_made_total' 5
expect 'smime_milter_encryptions_total' 2
expect 'smime_milter_signatures_verified_total{result="pass"}' 2
expect 'smime_milter_signatures_verified_total{result="fail"}' 0
expect 'smime_milter_harvests_total' 2
expect 'smime_milter_message_duration_seconds_count' "$sent"
expect 'smime_milter_message_duration_seconds_bucket{le="+Inf"}' "$sent"
expect 'smime_milter_stage_duration_seconds_count{stage="sign"}' 5
expect 'smime_milter_stage_duration_seconds_count{stage="encrypt"}' 2
# the unsigned inbound text: its body is skipped, nothing is verified
expect 'smime_milter_stage_duration_seconds_count{stage="verify"}' 2
expect 'smime_milter_failures_total{reason="sign"}' 0
echo "ok: /metrics counts the $sent messages, 5 signatures made, 2 verified, 2 encryptions, 2 harvests"

code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/other")
[ "$code" = 404 ] || fail "GET /other answered $code, want 404"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$MPORT/metrics")
[ "$code" = 405 ] || fail "POST /metrics answered $code, want 405"
echo "ok: other paths 404, other methods 405"

# --- smimectl stats: flushed while running, and at stop -------------------
stat_of() {	# NAME: the store's counter (0 when absent)
  ctl stats | awk -v n="counter.$1" '$1 == n { v = $2 } END { print v + 0 }'
}
i=0
until [ "$(stat_of milter.messages.outbound.sign)" = 3 ]; do
  [ $i -lt 150 ] || fail "the counters did not reach the store within 15 s"
  sleep 0.1
  i=$((i + 1))
done
echo "ok: the running milter flushed its counters to the store"

plain out-sign-4 alice@example.com dave@nocert.example	# counted at stop
pf_stop_milter
[ "$MILTER_RC" = 0 ] || fail "the milter exited $MILTER_RC"
ctl stats > "$SMX_TEST_DIR/stats.txt" || fail "smimectl stats"
want_stat() {	# NAME WANT
  local got
  got=$(awk -v n="counter.$1" '$1 == n { v = $2 } END { print v + 0 }' "$SMX_TEST_DIR/stats.txt")
  [ "$got" = "$2" ] || { cat "$SMX_TEST_DIR/stats.txt" >&2; fail "smimectl stats: $1 = $got, want $2"; }
}
want_stat milter.messages.inbound.pass 4
want_stat milter.messages.outbound.sign 4
want_stat milter.messages.outbound.sign+encrypt 2
want_stat milter.signatures.made 6
want_stat milter.signatures.verified.pass 2
want_stat milter.encryptions 2
want_stat milter.harvests 2
echo "ok: smimectl stats shows the same counts after stop"

# --- a restart: the endpoint starts over, the store adds ------------------
pf_start_milter
wait_for_port "$MPORT" 10 || fail "no metrics listener after the restart"
plain in-plain-3 carol@else.example alice@example.com
curl -s -S -o "$metrics" "http://127.0.0.1:$MPORT/metrics" || fail "GET /metrics after restart"
expect 'smime_milter_messages_total{direction="inbound",action="pass"}' 1
expect 'smime_milter_messages_total{direction="outbound",action="sign"}' 0
# a second milter cannot take the busy metrics port: it says so, exits 2
busy="$SMX_TEST_DIR/busy.conf"
write_milter_conf "$busy" "$(free_port)" "metrics_listen = \"$MPORT\""
rc=0
timeout 20 "$SMX_BIN_DIR/smime-milter" -f -c "$busy" >"$SMX_TEST_DIR/busy.log" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "cannot listen for metrics on $MPORT: Address already in use" "$SMX_TEST_DIR/busy.log" ||
  { cat "$SMX_TEST_DIR/busy.log" >&2; fail "busy metrics port: exit $rc"; }
echo "ok: a busy metrics port stops the start-up with a clear message"
pf_stop_milter
ctl stats > "$SMX_TEST_DIR/stats.txt" || fail "smimectl stats"
want_stat milter.messages.inbound.pass 5
want_stat milter.messages.outbound.sign 4
ctl --json stats | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d["counter.milter.messages.inbound.pass"] != 5)' ||
  fail "smimectl --json stats disagrees"
echo "ok: after a restart the endpoint counts from zero and the store adds up"
echo PASS
