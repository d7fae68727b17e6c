#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Two MX hosts on one PostgreSQL store that survives losing its primary,
# all started here: a primary (initdb), a streaming standby made with
# pg_basebackup -R, and two Postfix + smime-milter pairs, "mx1" and
# "mx2", whose store.conninfo names both database hosts with
# target_session_attrs=read-write (docs/several-mx.md).
#
# Coherence (the store is read for every message: the bound is the next
# message):
#   - mx2 refuses mail to partner p1, who requires encryption, while no
#     certificate is known; p1's signed message through mx1 harvests one;
#     mx2's next message to p1 is encrypted to it (OpenSSL decrypts it).
#   - `smimectl remove` run on mx1's configuration: mx2's next message
#     to p1 is refused again.
#   - `smimectl ca issue` for bob on both hosts at the same moment ends as
#     one certificate; bob requires encryption: mx1 encrypts to it, and
#     refuses the next message once `smimectl ca revoke` ran on mx2.
# Failover: smtp-source sends MESSAGES messages through each host to r1,
# who requires encryption; meanwhile the primary is stopped and, a few
# seconds later, the standby promoted; one session on mx1 has its
# recipient accepted before the primary stops and sends its DATA after.
# Messages that needed the store
# then were refused with 4xx (never 5xx, never in clear); afterwards the
# milters reconnect by themselves and mail flows. Counted from the
# Postfix logs: every message a host accepted is delivered once the
# queues are flushed; the sink holds no plaintext. Each milter logged the
# outage once when it began and once when it ended, and its metrics show
# it (store_up, store_outages_total). Last, a milter started while no
# database answers reports its closed store once, not at every retry.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"
. "$SMX_SOURCE_DIR/tests/lib/pki.sh"
set -e
pf_need_peers
need_cmd openssl smtp-source curl
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$PGBIN/initdb" ] && [ -x "$PGBIN/pg_basebackup" ] ||
  skip "PostgreSQL server binaries (initdb, pg_basebackup) are not installed"
id postgres >/dev/null 2>&1 || skip "there is no postgres user"

MESSAGES=${SMX_HA_MESSAGES:-100}   # per host
SESSIONS=4                         # per host
MARKER="HA-PLAINTEXT-5c21e"
TOP=$SMX_TEST_DIR
PG=$TOP/pg
MSGTOOL=$SMX_SOURCE_DIR/tests/lib/msgtool.py
q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }
as_pg() { runuser -u postgres -- "$@"; }

# --- two Postfix instances with the single-instance harness --------------
# tests/lib/postfix.sh keeps one instance in global variables: each host
# gets its own SMX_TEST_DIR, and mx_use switches between the saved sets.
MX_VARS="SMX_TEST_DIR PF_TOP PF_DIR PF_CONF PF_QUEUE PF_LOG PF_PORT
  PF_SUBMIT_PORT PF_SINK_PORT PF_SINK_DIR PF_MILTER_PORT PF_MILTER_CONF
  PF_MILTER_LOG MILTER_PID SINK_PID"
declare -A MX
mx_save() {
  local v
  for v in $MX_VARS; do MX[$1.$v]=${!v:-}; done
}
mx_use() {
  local v
  for v in $MX_VARS; do printf -v "$v" '%s' "${MX[$1.$v]:-}"; done
}

pg_stop_dir() {
  [ -f "$1/postmaster.pid" ] || return 0
  as_pg "$PGBIN/pg_ctl" -D "$1" -m fast -w -t 20 stop >/dev/null 2>&1 ||
    as_pg "$PGBIN/pg_ctl" -D "$1" -m immediate -w stop >/dev/null 2>&1 || true
}

ha_cleanup() {
  local rc=$1 h
  set +e
  for h in mx1 mx2; do
    [ -n "${MX[$h.PF_TOP]:-}" ] || continue
    mx_use "$h"
    pf_stop_milter
    pf_stop
    sink_stop
    pf_keep_tmp_instance
  done
  pg_stop_dir "$PG/primary"
  pg_stop_dir "$PG/standby"
  if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
    echo "logs: $TOP/mx*/milter.log, $TOP/mx*/postfix/maillog, $PG/*.log" >&2
  fi
  exit "$rc"
}
trap 'rc=$?; ha_cleanup $rc' EXIT

# A run the ctest timeout killed: its PostgreSQL servers (the Postfix
# instances and milters are found by pf_init's own leftover check).
pg_stop_dir "$PG/primary"
pg_stop_dir "$PG/standby"
rm -rf "$PG"

# --- certificates -------------------------------------------------------
pki=$(fresh_dir pki)
pki_ca "$pki" "Several MX Test CA"
pki_issue p1 p1@partner.example
pki_issue r1 r1@partner.example

# --- PostgreSQL: a primary and a streaming standby ----------------------
mkdir -p "$PG/primary"
chown -R postgres: "$PG"
as_pg "$PGBIN/initdb" -D "$PG/primary" -A trust -U postgres -E UTF8 --no-sync \
  >"$PG/initdb.log" 2>&1 || { cat "$PG/initdb.log" >&2; fail "initdb failed"; }
# initdb's pg_hba.conf already lets 127.0.0.1 replicate (trust);
# wal_level is "replica" by default.
P1=$(free_port)
P2=$(free_port)
pg_start() {   # DATADIR PORT LOG
  as_pg "$PGBIN/pg_ctl" -D "$1" -w -t 30 -l "$3" \
    -o "-p $2 -k $PG -c listen_addresses=127.0.0.1 -c fsync=off" start \
    >/dev/null || { cat "$3" >&2; fail "PostgreSQL ($1) did not start"; }
}
pg_start "$PG/primary" "$P1" "$PG/primary.log"
as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$P1" -U postgres smx || fail "createdb failed"
as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$P1" -U postgres -D "$PG/standby" \
  -R -X stream -c fast >"$PG/basebackup.log" 2>&1 ||
  { cat "$PG/basebackup.log" >&2; fail "pg_basebackup failed"; }
pg_start "$PG/standby" "$P2" "$PG/standby.log"
psql_at() {    # PORT SQL
  as_pg "$PGBIN/psql" -h 127.0.0.1 -p "$1" -U postgres -d smx -Atc "$2"
}
[ "$(psql_at "$P2" 'SELECT pg_is_in_recovery()')" = t ] ||
  fail "the standby is not in recovery"
CONNINFO="host=127.0.0.1,127.0.0.1 port=$P1,$P2 user=postgres dbname=smx target_session_attrs=read-write connect_timeout=3"
echo "ok: primary on $P1, streaming standby on $P2"

# --- two MX hosts ---------------------------------------------------------
# One master key for both (it seals the private keys in the shared store).
MASTER_KEY=$TOP/master.key
rm -f "$MASTER_KEY"
for h in mx1 mx2; do
  SMX_TEST_DIR=$TOP/$h
  mkdir -p "$SMX_TEST_DIR"
  MILTER_PID= SINK_PID=
  pf_init
  mx_save "$h"
  trap 'rc=$?; ha_cleanup $rc' EXIT   # pf_init installs its own
  pf_main_cf_set "default_process_limit = 100" \
    "smtpd_client_connection_count_limit = 0" \
    "smtpd_client_connection_rate_limit = 0" \
    "smtpd_client_message_rate_limit = 0" \
    "myhostname = $h.example.com"
  metrics_port=$(free_port)
  echo "$metrics_port" >"$SMX_TEST_DIR/metrics.port"
  write_milter_conf "$PF_MILTER_CONF" "$PF_MILTER_PORT" \
    "metrics_listen = \"127.0.0.1:$metrics_port\""
  sed -i "s|^store: .*|store: { backend = \"postgresql\"; conninfo = \"$CONNINFO\"; pool_size = 4; };|" \
    "$PF_MILTER_CONF"
  sed -i "s|^keys: .*|keys: { master_key_file = \"$MASTER_KEY\"; };|" "$PF_MILTER_CONF"
  cat >>"$PF_MILTER_CONF" <<'EOF'
policy: { default: { sign = "never"; };
          domains: ( { domain = "partner.example"; encrypt = "required"; } );
          addresses: ( { address = "bob@example.com"; encrypt = "required"; } ); };
EOF
  mx_save "$h"
done
ctl() {   # HOST ARGS...: smimectl as run on that host
  "$SMX_BIN_DIR/smimectl" -c "$TOP/$1/milter.conf" "${@:2}"
}
q ctl mx1 init
q ctl mx2 init     # the schema is there: nothing to do
q ctl mx1 trust add "$pki/ca.pem"
q ctl mx1 import-cert "$pki/r1.pem"
# the milter user reads the shared master key
chown "$SMX_TEST_USER" "$MASTER_KEY"
for h in mx1 mx2; do
  mx_use "$h"
  sink_start
  pf_start_milter
  pf_start
  mx_save "$h"
done
echo "ok: mx1 and mx2 (Postfix + smime-milter) share the store"

msgs=$TOP/messages
rm -rf "$msgs" && mkdir -p "$msgs"
# send HOST NAME FROM TO: one message through HOST's smtpd; the swaks
# transcript in $msgs/NAME.out, its exit status returned.
send() {
  mx_use "$1"
  printf 'From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s@ha.test>\r\n\r\n%s-%s\r\n' \
    "$3" "$4" "$2" "$2" "$MARKER" "$2" >"$msgs/$2.eml"
  python3 "$MSGTOOL" wire "$msgs/$2.eml" "$msgs/$2.wire"
  pf_send "$msgs/$2.out" --from "$3" --to "$4" -ndf --data "@$msgs/$2.wire"
}
# refused_at_rcpt NAME: the transcript shows a refusal of the recipient.
refused_at_rcpt() {
  grep -Eq '<\*\* *[45][0-9][0-9] ' "$msgs/$1.out" ||
    { cat "$msgs/$1.out" >&2; fail "$1: expected a refusal"; }
}
# encrypted_to HOST NAME KEY: NAME was delivered by HOST as enveloped-data
# that KEY opens to the message's text.
encrypted_to() {
  mx_use "$1"
  local qid f
  qid=$(pf_queue_id "$msgs/$2.out")
  pf_wait_delivered "$qid"
  f=$(sink_file_for "$qid")
  grep -q "$MARKER" "$f" && fail "$2: plaintext at the sink"
  python3 "$SMX_SOURCE_DIR/tests/lib/sink-to-message.py" "$f" "$msgs/$2.enc.eml"
  python3 "$MSGTOOL" body-b64 "$msgs/$2.enc.eml" "$msgs/$2.der"
  openssl cms -decrypt -inform DER -in "$msgs/$2.der" -recip "$pki/$3.pem" \
    -inkey "$pki/$3.key" -binary -out "$msgs/$2.dec" 2>"$msgs/$2.err" ||
    fail "$2: $3 cannot decrypt: $(cat "$msgs/$2.err")"
  grep -q "$MARKER-$2" "$msgs/$2.dec" || fail "$2: decrypted text differs"
}

# --- coherence: a harvest on mx1 is used by mx2 ---------------------------
if send mx2 before p-alice@example.com p1@partner.example; then
  fail "mx2 accepted mail for p1 without a certificate"
fi
refused_at_rcpt before
printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nHello from partner.\r\n' >"$msgs/in.content"
openssl cms -sign -in "$msgs/in.content" -signer "$pki/p1.pem" -inkey "$pki/p1.key" \
  -certfile "$pki/ca.pem" -binary -md sha256 -out "$msgs/in.smime" 2>/dev/null ||
  fail "openssl cms -sign"
{
  printf 'From: <p1@partner.example>\r\nTo: <alice@example.com>\r\nSubject: signed\r\nMessage-ID: <in1@partner.example>\r\n'
  tr -d '\r' <"$msgs/in.smime" | sed 's/$/\r/'
} >"$msgs/in.eml"
python3 "$MSGTOOL" wire "$msgs/in.eml" "$msgs/in.wire"
mx_use mx1
pf_send "$msgs/in.out" --from p1@partner.example --to alice@example.com -ndf \
  --data "@$msgs/in.wire" || { cat "$msgs/in.out" >&2; fail "mx1 refused p1's signed message"; }
pf_wait_delivered "$(pf_queue_id "$msgs/in.out")"
p1_fp=$(ctl mx2 --json list p1@partner.example |
  python3 -c 'import json,sys; l=json.load(sys.stdin); print(l[0]["fingerprint"] if len(l)==1 else "")')
[ -n "$p1_fp" ] || fail "p1's certificate harvested on mx1 is not in the store mx2 reads"
send mx2 after alice@example.com p1@partner.example ||
  { cat "$msgs/after.out" >&2; fail "mx2 refused p1 after mx1 harvested its certificate"; }
encrypted_to mx2 after p1
echo "ok: harvested on mx1, used by mx2 for the next message (encrypted to p1)"

# --- coherence: smimectl remove on mx1, effective on mx2 ------------------
q ctl mx1 remove "$p1_fp"
if send mx2 removed alice@example.com p1@partner.example; then
  fail "mx2 still encrypted to p1's certificate after it was removed on mx1"
fi
refused_at_rcpt removed
echo "ok: smimectl remove on mx1 takes effect on mx2 at the next message"

# --- coherence: one identity enrolled from both hosts at once -------------
q ctl mx1 ca init
issuers=
for h in mx1 mx2; do
  ctl "$h" ca issue bob@example.com >"$msgs/issue-$h.out" 2>&1 &
  issuers="$issuers $!"
done
for p in $issuers; do
  wait "$p" || fail "smimectl ca issue failed: $(cat "$msgs"/issue-*.out)"
done
n=$(ctl mx1 --json list bob@example.com | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n" = 1 ] || fail "bob@example.com enrolled from both hosts has $n certificates"
bob_fp=$(ctl mx2 --json list bob@example.com | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["fingerprint"])')
echo "ok: bob enrolled on both hosts at once: one certificate"
# bob requires encryption: mx1 encrypts to the issued certificate...
send mx1 bob-issued alice@example.com bob@example.com ||
  { cat "$msgs/bob-issued.out" >&2; fail "mx1 refused mail for bob, whose certificate was issued"; }
pf_wait_delivered "$(pf_queue_id "$msgs/bob-issued.out")"
f=$(sink_file_for "$(pf_queue_id "$msgs/bob-issued.out")")
grep -q "$MARKER" "$f" && fail "bob-issued: plaintext at the sink"
grep -qi "^Content-Type: application/pkcs7-mime" "$f" || fail "bob-issued: not encrypted"
# ... and refuses it at the next message once mx2 revoked it.
q ctl mx2 ca revoke "$bob_fp"
if send mx1 bob-revoked alice@example.com bob@example.com; then
  fail "mx1 still encrypted to bob's certificate after mx2 revoked it"
fi
refused_at_rcpt bob-revoked
echo "ok: bob's certificate revoked on mx2: mx1 stops using it at the next message"

# --- failover under load ----------------------------------------------------
printf 'From: <alice@example.com>\r\nTo: <r1@partner.example>\r\nSubject: load\r\n\r\n%s-load\r\nLa de da.\r\n' \
  "$MARKER" >"$msgs/load.eml"
log_mark() {   # HOST: the milter log's length now
  wc -l <"$TOP/$1/milter.log"
}
declare -A MARK
# load_session HOST N: one client session's worth of messages, one
# smtp-source run each (smtp-source gives up at the first refusal, as a
# benchmark should; a client here must go on), half a second apart. Each
# run's result is one line of $msgs/load-HOST.N: "accepted", or
# "refused CODE" with the SMTP code smtp-source reports.
load_session() {
  local out="$msgs/load-$1.$2" i rc log
  mx_use "$1"
  for i in $(seq "$PER_SESSION"); do
    log="$msgs/load-$1.$2.$i.log"
    rc=0
    smtp-source -m 1 -F "$msgs/load.eml" -f alice@example.com \
      -t r1@partner.example -M client.example.net "127.0.0.1:$PF_PORT" \
      >"$log" 2>&1 || rc=$?
    if [ "$rc" = 0 ]; then
      echo accepted
    else
      echo "refused $(grep -Eo 'rejected: [0-9]{3}' "$log" | grep -Eo '[0-9]{3}' || echo "exit-$rc")"
    fi >>"$out"
    sleep 0.5
  done
}
PER_SESSION=$(( (MESSAGES + SESSIONS - 1) / SESSIONS ))
LOAD_PIDS=
for h in mx1 mx2; do
  MARK[$h]=$(log_mark "$h")
  for n in $(seq "$SESSIONS"); do
    load_session "$h" "$n" &
    LOAD_PIDS="$LOAD_PIDS $!"
  done
done
# One more session on mx1 gives its recipient while the primary runs and
# its DATA after it stopped: the store fails between RCPT and the end of
# the message, and the answer must still be 4xx.
mx_use mx1
python3 - "$PF_PORT" "$msgs/load.eml" "$msgs/eom.go" >"$msgs/eom.out" 2>&1 <<'PY' &
import os, smtplib, sys, time
port, message, go = int(sys.argv[1]), open(sys.argv[2], "rb").read(), sys.argv[3]
s = smtplib.SMTP("127.0.0.1", port, timeout=60)
s.ehlo("client.example.net")
s.mail("alice@example.com")
code, text = s.rcpt("r1@partner.example")
print("rcpt", code, flush=True)
while not os.path.exists(go):
    time.sleep(0.1)
code, text = s.data(message)
print("data", code, text.decode(errors="replace"), flush=True)
PY
EOM_PID=$!
# A session runs for about PER_SESSION * 0.6 s: the primary stops after
# a fifth of that, the standby is promoted 4 s later.
sleep $(( PER_SESSION / 5 > 2 ? PER_SESSION / 5 : 2 ))
grep -q "^rcpt 250" "$msgs/eom.out" || fail "the end-of-message session: $(cat "$msgs/eom.out")"
as_pg "$PGBIN/pg_ctl" -D "$PG/primary" -m fast -w stop >/dev/null ||
  fail "cannot stop the primary"
stopped=$(date +%s.%N)
echo "primary stopped"
touch "$msgs/eom.go"
wait "$EOM_PID" || fail "the end-of-message session failed: $(cat "$msgs/eom.out")"
grep -q "^data 4[0-9][0-9] " "$msgs/eom.out" ||
  fail "the store failed between RCPT and the end of the message: not 4xx: $(cat "$msgs/eom.out")"
echo "ok: store lost between RCPT and end of message: $(sed -n 's/^data //p' "$msgs/eom.out" | cut -c1-80)"
sleep 3
as_pg "$PGBIN/pg_ctl" -D "$PG/standby" -w promote >/dev/null ||
  fail "cannot promote the standby"
promoted=$(date +%s.%N)
echo "standby promoted ($(python3 -c "print(round($promoted - $stopped, 1))") s after the primary stopped)"
for p in $LOAD_PIDS; do
  wait "$p" || fail "a load session failed"
done
LOAD_PIDS=

# After the promotion, one more message through each host shows that the
# milters reconnected by themselves.
for h in mx1 mx2; do
  send "$h" "post-$h" alice@example.com r1@partner.example ||
    { cat "$msgs/post-$h.out" >&2; fail "$h: mail does not flow after the promotion"; }
  encrypted_to "$h" "post-$h" r1
done
echo "ok: after the promotion both milters use the new primary by themselves"

# Flush the queues and count from each Postfix log.
total_sent=0 total_delivered=0 total_deferred=0
for h in mx1 mx2; do
  mx_use "$h"
  postqueue -c "$PF_CONF" -f
  pf_wait_queue_empty 120
  # accepted: queued (qmgr saw it; a deferred one is seen again: count
  # queue ids once); delivered: sent to the sink
  sent=$(sed -n 's/.*\/qmgr\[[0-9]*\]: \([0-9A-Za-z]*\): from=<.*/\1/p' "$PF_LOG" | sort -u | wc -l)
  delivered=$(sed -n 's/.*\/smtp\[[0-9]*\]: \([0-9A-Za-z]*\): to=<.*status=sent.*/\1/p' "$PF_LOG" | sort -u | wc -l)
  # refused with 4xx because the store did not answer (at RCPT, or at the
  # end of the message), and refused with 5xx
  deferred=$(grep -Ec "reject: [A-Z-]+ from .*: (4[0-9][0-9] |4\.[0-9]+\.[0-9]+ )" "$PF_LOG" || true)
  hard=$(grep -Ec "reject: [A-Z-]+ from .*: (5[0-9][0-9] |5\.[0-9]+\.[0-9]+ )" "$PF_LOG" || true)
  offered=$(cat "$msgs"/load-"$h".? | wc -l)
  c_accepted=$(cat "$msgs"/load-"$h".? | grep -c '^accepted$' || true)
  c_4xx=$(cat "$msgs"/load-"$h".? | grep -c '^refused 4' || true)
  c_other=$((offered - c_accepted - c_4xx))
  echo "$h: load: offered $offered, accepted $c_accepted, refused with 4xx $c_4xx, other $c_other;" \
    "Postfix: accepted $sent, delivered $delivered, refused with 4xx $deferred, with 5xx $hard"
  [ "$offered" = $((PER_SESSION * SESSIONS)) ] || fail "$h: $offered load messages, not $((PER_SESSION * SESSIONS))"
  [ "$c_other" = 0 ] ||
    fail "$h: $c_other load messages neither accepted nor refused with 4xx: $(grep -v -e accepted -e 'refused 4' "$msgs"/load-"$h".? | sort | uniq -c)"
  # the load's accepted messages, the coherence checks' (mx1: p1's signed
  # message and bob-issued; mx2: after) and the one after the promotion
  [ "$h" = mx1 ] && extra=3 || extra=2
  [ "$sent" = $((c_accepted + extra)) ] ||
    fail "$h: Postfix accepted $sent messages, the clients were told $c_accepted (+$extra)"
  [ "$sent" = "$delivered" ] || fail "$h: $sent messages accepted but $delivered delivered"
  # the 5xx refusals are the coherence checks' (p1 without a certificate,
  # twice on mx2; bob revoked, on mx1); none during the failover
  [ "$h" = mx2 ] && want_hard=2 || want_hard=1
  [ "$hard" = "$want_hard" ] ||
    { grep -E "reject: .*: 5" "$PF_LOG" >&2; fail "$h: $hard refusals with 5xx"; }
  grep -rl "$MARKER" "$PF_SINK_DIR" >/dev/null 2>&1 && fail "$h: plaintext at the sink"
  total_offered=$((${total_offered:-0} + offered))
  total_sent=$((total_sent + sent))
  total_delivered=$((total_delivered + delivered))
  total_deferred=$((total_deferred + deferred))
done
[ "$total_deferred" -gt 0 ] ||
  fail "no message was refused with 4xx: the load did not meet the outage"
echo "ok: $total_offered load messages offered; accepted $total_sent = delivered $total_delivered (with the coherence checks'), $total_deferred refused with 4xx, none with 5xx, nothing in clear"

# The log: once when the outage began, once when it ended, per milter.
for h in mx1 mx2; do
  tail -n +"$((MARK[$h] + 1))" "$TOP/$h/milter.log" >"$msgs/outage-$h.log"
  began=$(grep -c "the database does not answer" "$msgs/outage-$h.log" || true)
  ended=$(grep -c "the database answers again after" "$msgs/outage-$h.log" || true)
  errors=$(grep -c "store (postgresql)" "$msgs/outage-$h.log" || true)
  echo "$h: $errors store lines: $(grep "store (postgresql)" "$msgs/outage-$h.log" | sed 's/.*store (postgresql): //' | cut -c1-90 | tr '\n' '|')"
  [ "$began" = 1 ] && [ "$ended" = 1 ] && [ "$errors" = 2 ] ||
    fail "$h: the outage was logged $began times, its end $ended times, $errors store lines in all (want 1, 1, 2)"
  metrics=$(curl -s "http://127.0.0.1:$(cat "$TOP/$h/metrics.port")/metrics")
  echo "$metrics" | grep -qx "smime_milter_store_outages_total 1" ||
    fail "$h: store_outages_total is not 1: $(echo "$metrics" | grep store_)"
  echo "$metrics" | grep -qx "smime_milter_store_up 1" ||
    fail "$h: store_up is not 1 after the outage"
done
echo "ok: each milter logged the outage once and its end once; metrics count one outage"

# A milter started while no database host answers: the store is not
# open, and the milter tries again at most every 30 s while mail needs
# it. That is reported once, however many retries fail, and its opening
# once.
as_pg "$PGBIN/pg_ctl" -D "$PG/standby" -m fast -w stop >/dev/null ||
  fail "cannot stop the new primary"
mx_use mx2
pf_stop_milter
mark=$(log_mark mx2)
pf_start_milter
mx_save mx2
for i in 1 2; do
  if send mx2 "closed-$i" alice@example.com r1@partner.example; then
    fail "mx2 accepted mail for r1 without a store"
  fi
  grep -Eq '<\*\* *4[0-9][0-9] ' "$msgs/closed-$i.out" ||
    { cat "$msgs/closed-$i.out" >&2; fail "closed-$i: not a temporary refusal"; }
  [ "$i" = 1 ] && sleep 31   # past the retry interval
done
pg_start "$PG/standby" "$P2" "$PG/standby.log"
# The store is tried again at most every 30 s while mail needs it; on a
# loaded machine the first retry has been seen to miss, so it may take
# up to three intervals (each attempt is itself a message that needs it).
reopened=
for i in 1 2 3; do
  sleep 31
  if send mx2 reopened alice@example.com r1@partner.example; then
    reopened=yes
    break
  fi
  echo "reopened: attempt $i refused: $(grep -E '<\*\*' "$msgs/reopened.out" | head -1)"
done
[ -n "$reopened" ] ||
  { cat "$msgs/reopened.out" >&2; fail "mx2 does not open the store once the database is back"; }
encrypted_to mx2 reopened r1
tail -n +"$((mark + 1))" "$TOP/mx2/milter.log" >"$msgs/closed-mx2.log"
n_closed=$(grep -c "store postgresql: cannot open (" "$msgs/closed-mx2.log" || true)
n_opened=$(grep -c "store postgresql: opened" "$msgs/closed-mx2.log" || true)
# Once per process: the daemon and its key process each open the store.
n_down=$(grep "the database does not answer" "$msgs/closed-mx2.log" |
  sed -n 's/.*smime-milter\[\([0-9]*\)\].*/\1/p' | sort | uniq -c |
  awk '$1 > n { n = $1 } END { print n + 0 }')
[ "$n_closed" = 1 ] && [ "$n_down" = 1 ] && [ "$n_opened" = 1 ] ||
  fail "a store closed at start: $n_closed 'cannot open', at most $n_down 'does not answer' per process, $n_opened 'opened' lines (want 1 each): $(grep store "$msgs/closed-mx2.log")"
echo "ok: started without a database: reported once over two retries, opened once it is back"
echo PASS
