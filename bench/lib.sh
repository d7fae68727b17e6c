# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
# Functions of bench/run (sourced after tests/lib/common.sh and
# tests/lib/postfix.sh, whose private Postfix instance it reuses).
#
# Layout of $SMX_TEST_DIR (the work directory): postfix/ (the instance),
# pki/ (CA, identities, recipients), msg/ (messages), milter.conf and the
# store, results.tsv (one line per run), milter.log, null.log.

BENCH_INTERNAL=example.com
BENCH_SINK_PID=

# bench_pki: a CA that the store trusts; alice (RSA-2048) and erin (P-256)
# sign; bob@remote.example signs inbound mail; rcpt and 1rcpt..5rcpt at
# partner.example receive encrypted mail (smtp-source -r K numbers them).
bench_pki() {
  local pki="$SMX_TEST_DIR/pki"
  [ -s "$pki/done" ] && return 0
  rm -rf "$pki" && mkdir -p "$pki"
  q openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/ca.key" \
    -out "$pki/ca.pem" -days 30 -subj "/CN=Bench CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign"
  echo bench-p12 >"$pki/pw"
  bench_issue alice alice@example.com rsa:2048
  bench_issue erin erin@example.com ec -pkeyopt ec_paramgen_curve:P-256
  bench_issue bob bob@remote.example rsa:2048
  local r
  for r in rcpt 1rcpt 2rcpt 3rcpt 4rcpt 5rcpt; do
    bench_issue "$r" "$r@partner.example" rsa:2048
  done
  echo ok >"$pki/done"
}

# bench_issue NAME EMAIL KEYSPEC...: key, certificate and PKCS#12.
bench_issue() {
  local pki="$SMX_TEST_DIR/pki" name=$1 email=$2
  shift 2
  q openssl req -newkey "$@" -nodes -keyout "$pki/$name.key" \
    -out "$pki/$name.csr" -subj "/CN=$name"
  q openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.pem" \
    -CAkey "$pki/ca.key" -CAcreateserial -out "$pki/$name.pem" -days 30 \
    -extfile <(printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=emailProtection\nsubjectAltName=email:%s\n' "$email")
  q openssl pkcs12 -export -in "$pki/$name.pem" -inkey "$pki/$name.key" \
    -certfile "$pki/ca.pem" -out "$pki/$name.p12" -passout "file:$pki/pw"
}

q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }

# bench_milter_conf: one configuration and store for every mode; the
# envelope decides what the milter does (see bench_envelope).
bench_milter_conf() {
  local pki="$SMX_TEST_DIR/pki" conf="$SMX_TEST_DIR/milter.conf"
  write_milter_conf "$conf" "$PF_MILTER_PORT" 'spool_threshold = "1M"'
  cat >>"$conf" <<'EOF'
policy: {
  default: { sign = "always"; encrypt = "opportunistic"; };
  signers: { allow_unauthenticated = [ "alice@example.com", "erin@example.com" ]; };
};
EOF
  # The -inproc modes: the same store, private keys used inside the
  # milter itself (keys.process = false) instead of its key process.
  sed 's/^keys: { /keys: { process = false; /' "$conf" >"$SMX_TEST_DIR/milter-inproc.conf"
  grep -q 'process = false' "$SMX_TEST_DIR/milter-inproc.conf" ||
    fail "bench: no keys group in $conf"
  rm -f "$SMX_TEST_DIR"/store.db* "$SMX_TEST_DIR/master.key"
  local ctl=("$SMX_BIN_DIR/smimectl" -c "$conf")
  q "${ctl[@]}" init
  q "${ctl[@]}" trust add "$pki/ca.pem"
  q "${ctl[@]}" import-p12 "$pki/alice.p12" --password-file "$pki/pw"
  q "${ctl[@]}" import-p12 "$pki/erin.p12" --password-file "$pki/pw"
  local r
  for r in rcpt 1rcpt 2rcpt 3rcpt 4rcpt 5rcpt; do
    q "${ctl[@]}" import-cert "$pki/$r.pem"
  done
}

# bench_envelope MODE: sets FROM, TO, RCPTS (recipients per message) and
# EXPECT (a regular expression the milter's log line must match).
bench_envelope() {
  RCPTS=1
  local m=${1%@base}
  case "${m%-inproc}" in
    none|null|null-*) FROM=sender@remote.example TO=user@example.com EXPECT= ;;
    # a text body is skipped after its first chunk, a multipart verified
    pass) FROM=sender@remote.example TO=user@example.com
          EXPECT='direction=inbound .*action=pass .*(verify=.*smime=none|; body skipped \(cannot carry S/MIME\)"$)' ;;
    pass5) FROM=sender@remote.example TO=user@example.com RCPTS=5
           EXPECT='direction=inbound .*rcpts=5 .*action=pass .*(verify=.*smime=none|; body skipped \(cannot carry S/MIME\)"$)' ;;
    verify) FROM=bob@remote.example TO=user@example.com
            EXPECT='direction=inbound .*verify=.*smime=pass' ;;
    sign) FROM=alice@example.com TO=carol@remote.example
          EXPECT='direction=outbound .*action=sign ' ;;
    signing-milter) FROM=alice@example.com TO=carol@remote.example EXPECT= ;;
    sign-p256) FROM=erin@example.com TO=carol@remote.example
               EXPECT='direction=outbound .*action=sign ' ;;
    enc1) FROM=alice@example.com TO=rcpt@partner.example
          EXPECT='direction=outbound .*rcpts=1 .*action=sign\+encrypt ' ;;
    enc5) FROM=alice@example.com TO=rcpt@partner.example RCPTS=5
          EXPECT='direction=outbound .*rcpts=5 .*action=sign\+encrypt ' ;;
    *) fail "unknown mode $1" ;;
  esac
}

# bench_message KIND MODE: prints the path of the message file for a kind
# (10K-text...) and a mode, made on first use. Inbound signed messages
# are signed by bob with openssl (multipart/signed).
bench_message() {
  local kind=$1 mode=${2%@base} size shape dir="$SMX_TEST_DIR/msg" f
  size=${kind%-*} shape=${kind#*-}
  bench_envelope "$mode"
  f="$dir/$kind-$FROM.eml"
  [ "$mode" = verify ] && f="$dir/$kind-signed.eml"
  if [ ! -s "$f" ]; then
    mkdir -p "$dir"
    python3 "$BENCH_DIR/make-messages.py" "$shape" "$size" "$FROM" "$TO" "$f.tmp"
    [ "$mode" = verify ] && bench_sign_message "$f.tmp"
    mv "$f.tmp" "$f"
  fi
  echo "$f"
}

# bench_sign_message FILE: replaces FILE by its entity signed by bob, the
# outer headers kept (make-messages.py: five header lines, MIME-Version,
# then the entity).
bench_sign_message() {
  local f=$1 pki="$SMX_TEST_DIR/pki"
  sed -n '7,$p' "$f" >"$f.entity"
  openssl cms -sign -in "$f.entity" -signer "$pki/bob.pem" \
    -inkey "$pki/bob.key" -certfile "$pki/ca.pem" -md sha256 \
    -out "$f.signed" || fail "openssl cms -sign $f"
  { sed -n '1,5p' "$f"; tr -d '\r' <"$f.signed"; } >"$f.new"
  mv "$f.new" "$f"
  rm -f "$f.entity" "$f.signed"
}

# bench_sink_start: an smtp-sink that discards what it receives (files
# on disk would measure the disk).
bench_sink_start() {
  smtp-sink -u postfix "127.0.0.1:$PF_SINK_PORT" 1000 >>"$PF_DIR/sink.log" 2>&1 &
  BENCH_SINK_PID=$!
  SINK_PID=$BENCH_SINK_PID	# pf_cleanup stops it
  wait_for_port "$PF_SINK_PORT" 10 || fail "smtp-sink does not listen"
}

# bench_postfix_for SPEC: Postfix with smtpd_milters = SPEC (empty: none),
# restarted when it changes.
BENCH_PF_MILTERS='unset'
bench_postfix_for() {
  [ "$BENCH_PF_MILTERS" = "$1" ] && return 0
  pf_stop
  pf_main_cf_set "smtpd_milters = $1"
  pf_start
  BENCH_PF_MILTERS=$1
}

# bench_filter_start MODE SOCKET: starts smime-milter or the reference
# filter on SOCKET (unix or inet); sets FILTER_SPEC (Postfix's name for
# it) and MILTER_PID. Nothing for mode none.
bench_filter_start() {
  local mode=$1 sock=$2 spec
  FILTER_SPEC='' MILTER_PID=''
  [ "$mode" = none ] && return 0
  local path="$PF_DIR/milter.sock"
  rm -f "$path"
  if [ "$sock" = unix ]; then
    spec="unix:$path" FILTER_SPEC="unix:$path"
  else
    spec="inet:$PF_MILTER_PORT@127.0.0.1" FILTER_SPEC="inet:127.0.0.1:$PF_MILTER_PORT"
  fi
  if [ "${mode%%-*}" = null ]; then
    local filter
    case "$mode" in
      null) filter=("$BENCH_NULLFILTER" "$spec") ;;
      null-nodelay) filter=("$BENCH_NULLFILTER" --plain "$spec") ;;
      null-data) filter=("$BENCH_NULLFILTER-plain" "$spec") ;;
      null-plain) filter=("$BENCH_NULLFILTER-plain" --plain "$spec") ;;
      null-edit) filter=("$BENCH_NULLFILTER" --edit "$spec") ;;
      null-edit5) filter=("$BENCH_NULLFILTER" --edit5 "$spec") ;;
      null-edit-nagle) filter=("$BENCH_NULLFILTER-plain" --edit "$spec") ;;
    esac
    : >"$SMX_TEST_DIR/null.log"
    "${filter[@]}" >>"$SMX_TEST_DIR/null.log" 2>&1 &
    MILTER_PID=$!
    echo "$MILTER_PID" >"$SMX_TEST_DIR/null.pid"
  elif [ "$mode" = signing-milter ]; then
    bench_signing_milter_start "$spec"
  elif [ "${mode%@base}" != "$mode" ]; then
    : >"$PF_MILTER_LOG"
    pf_start_milter_on "$spec" "$COMPARE_DIR/bin/smime-milter"
  elif [ "${mode%-inproc}" != "$mode" ]; then
    : >"$PF_MILTER_LOG"
    pf_start_milter_on "$spec" "" "$SMX_TEST_DIR/milter-inproc.conf"
  else
    : >"$PF_MILTER_LOG"
    pf_start_milter_on "$spec"
  fi
  if [ "$sock" = unix ]; then
    wait_for_file "$path" 10 || fail "no milter socket $path"
    chmod 666 "$path"	# smtpd runs as postfix, the milter as root
  else
    wait_for_port "$PF_MILTER_PORT" 10 || fail "the filter does not listen"
  fi
}

# bench_adopt_files: when the harness runs the milter as an unprivileged
# test user (tests/lib/common.sh), that user gets the store and spool.
bench_adopt_files() {
  if declare -F milter_adopt_files >/dev/null; then
    milter_adopt_files "$SMX_TEST_DIR/milter.conf"
  fi
}

# bench_signing_milter_start SPEC: the external signing-milter
# (--signing-milter PATH) on SPEC, signing for alice with her RSA-2048
# key and certificate (its signing table maps the envelope sender to a
# file holding both, the CA beside it as the chain). It refuses to run
# as root: it switches to the harness's test user.
bench_signing_milter_start() {
  local pki="$SMX_TEST_DIR/pki" dir="$SMX_TEST_DIR/signing-milter" user
  test_user_ensure
  user=$SMX_TEST_USER
  rm -rf "$dir" && mkdir -p "$dir"
  cat "$pki/alice.pem" "$pki/alice.key" >"$dir/alice-cert+key.pem"
  cp "$pki/ca.pem" "$dir/alice-chain.pem"
  python3 "$BENCH_DIR/make-cdb.py" "$dir/signingtable.cdb" \
    alice@example.com "$dir/alice-cert+key.pem"
  chown -R "$user:" "$dir"
  chmod 500 "$dir"
  chmod 400 "$dir"/*
  : >"$SMX_TEST_DIR/signing-milter.log"
  "$SIGNING_MILTER" -s "$1" -m "$dir/signingtable.cdb" -u "$user" \
    -g "$(id -gn "$user")" -c :relax -l >>"$SMX_TEST_DIR/signing-milter.log" 2>&1 &
  MILTER_PID=$!
  echo "$MILTER_PID" >"$SMX_TEST_DIR/null.pid"
}

# pf_start_milter_on SPEC [BINARY [CONF]]: pf_start_milter with -p SPEC
# (BINARY: another build's smime-milter, for --compare; CONF: another
# configuration, for the -inproc modes).
pf_start_milter_on() {
  local i=0 bin=${2:-$SMX_BIN_DIR/smime-milter} conf=${3:-$SMX_TEST_DIR/milter.conf}
  bench_adopt_files
  "$bin" -f -c "$conf" -p "$1" \
    >>"$PF_MILTER_LOG" 2>&1 &
  MILTER_PID=$!
  echo "$MILTER_PID" >"$SMX_TEST_DIR/milter.pid"
  until grep -q "listening on" "$PF_MILTER_LOG"; do
    if ! kill -0 "$MILTER_PID" 2>/dev/null || [ $i -ge 100 ]; then
      cat "$PF_MILTER_LOG" >&2
      fail "smime-milter did not start"
    fi
    sleep 0.1
    i=$((i + 1))
  done
}

bench_filter_stop() {
  stop_milter
  rm -f "$SMX_TEST_DIR/null.pid" "$SMX_TEST_DIR/milter.pid"
}

# bench_cpu_ticks PID: user+system clock ticks the process and its
# living children (smime-milter's key process) used so far.
bench_cpu_ticks() {
  [ -n "$1" ] || { echo 0; return; }
  local pid sum=0 t
  for pid in "$1" $(pgrep -P "$1" || true); do
    t=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $12 + $13 }')
    sum=$((sum + ${t:-0}))
  done
  echo "$sum"
}

# bench_peak_rss_kb PID: the process's peak resident set (VmHWM).
bench_peak_rss_kb() {
  [ -n "$1" ] || { echo 0; return; }
  awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"
}

# bench_machine_ticks: "BUSY TOTAL" clock ticks of every CPU since boot
# (/proc/stat: busy is user, nice, system, irq, softirq and steal; the
# total adds idle and iowait).
bench_machine_ticks() {
  awk '/^cpu / { busy = $2 + $3 + $4 + $7 + $8 + $9
                 print busy, busy + $5 + $6 }' /proc/stat
}

bench_count() { grep -c -E "$1" "$PF_LOG" 2>/dev/null || true; }

# bench_send COUNT FILE: smtp-source with the envelope of bench_envelope;
# fails when a message is refused (smtp-source stops on any error).
bench_send() {
  local n=$1 file=$2 sessions=$C reuse=()
  [ "$sessions" -gt "$n" ] && sessions=$n
  [ "$REUSE" = 1 ] && reuse=(-d)
  smtp-source "${reuse[@]}" -s "$sessions" -m "$n" -r "$RCPTS" \
    -M client.example.net -f "$FROM" -t "$TO" -F "$file" \
    "127.0.0.1:$PF_PORT" >>"$SMX_TEST_DIR/smtp-source.log" 2>&1 ||
    fail "smtp-source: a message was refused (see $SMX_TEST_DIR/smtp-source.log, $PF_LOG)"
}

# bench_wait_drained SENT_BEFORE COUNT: waits until COUNT more deliveries
# reached the sink (status=sent) and fails on any deferral or bounce.
bench_wait_drained() {
  local want=$(($1 + $2)) i=0 limit=$((60 + $2 / 10))
  while [ "$(bench_count 'status=sent')" -lt "$want" ]; do
    [ "$(bench_count 'status=(deferred|bounced)')" = 0 ] ||
      fail "deliveries deferred or bounced: see $PF_LOG"
    [ $i -lt $((limit * 10)) ] || fail "only $(bench_count 'status=sent') of $want delivered after ${limit}s"
    sleep 0.1
    i=$((i + 1))
  done
}

# bench_check_milter_did MODE COUNT: the milter's last COUNT log lines all
# say it did what the mode measures (sign, encrypt, verify...).
bench_check_milter_did() {
  local mode=$1 count=$2 lines good
  [ -n "$EXPECT" ] || return 0
  lines=$(grep -E 'smime-milter\[[0-9]+\]: info: [0-9A-Za-z]+: direction=' "$PF_MILTER_LOG" | tail -n "$count")
  good=$(printf '%s\n' "$lines" | grep -c -E "$EXPECT" || true)
  [ "$good" = "$count" ] || {
    printf '%s\n' "$lines" | grep -v -E "$EXPECT" | head -n 3 >&2
    fail "$mode: only $good of $count messages show /$EXPECT/ in the milter's log"
  }
}

# bench_cell KIND MODE SOCKET RUN: a fresh Postfix and filter, a warm-up,
# then one timed run; appends its line to results.tsv. bench_main calls
# it for run 1 of every cell, then run 2 of every cell...: the machine
# drifts during a benchmark (Postfix's queue on ext4 gets slower while
# thousands of queue files come and go, and recovers when it pauses), and
# interleaving makes the drift weigh on every mode alike.
bench_cell() {
  local kind=$1 mode=$2 sock=$3 run=$4 file sent t0 t1 c0 c1 m0 m1 mt0 mt1 warm
  file=$(bench_message "$kind" "$mode")
  bench_envelope "$mode"
  bench_filter_start "$mode" "$sock"
  bench_postfix_for "$FILTER_SPEC"
  # Warm-up: Postfix processes, the milter's caches; and a check that
  # the milter really did the work this mode measures.
  warm=$((C < N ? C : N))
  sent=$(bench_count 'status=sent')
  bench_send "$warm" "$file"
  bench_wait_drained "$sent" $((warm * RCPTS))
  bench_check_milter_did "$mode" "$warm"
  sent=$(bench_count 'status=sent')
  c0=$(bench_cpu_ticks "$MILTER_PID")
  read -r m0 mt0 < <(bench_machine_ticks)
  t0=$(date +%s.%N)
  bench_send "$N" "$file"
  t1=$(date +%s.%N)
  read -r m1 mt1 < <(bench_machine_ticks)
  c1=$(bench_cpu_ticks "$MILTER_PID")
  bench_wait_drained "$sent" $((N * RCPTS))
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$mode" \
    "$( [ "$mode" = none ] && echo - || echo "$sock")" "$run" "$N" \
    "$(awk "BEGIN { print $t1 - $t0 }")" "$((c1 - c0))" \
    "$(bench_peak_rss_kb "$MILTER_PID")" "$(wc -c <"$file")" \
    "$((m1 - m0))" "$((mt1 - mt0))" >>"$SMX_TEST_DIR/results.tsv"
  printf '  %-10s %-9s %-4s run %s: %s msg/s\n' "$kind" "$mode" "$sock" "$run" \
    "$(awk "BEGIN { printf \"%.0f\", $N / ($t1 - $t0) }")" >&2
  bench_check_milter_did "$mode" "$N"
  bench_filter_stop
}

# bench_big SIZE: one SIZE message signed; the milter's peak RSS before
# and after it.
bench_big() {
  local size=$1 file before after sent
  bench_envelope sign
  file="$SMX_TEST_DIR/msg/big-$size.eml"
  [ -s "$file" ] || python3 "$BENCH_DIR/make-messages.py" mixed "$size" "$FROM" "$TO" "$file"
  pf_main_cf_set "message_size_limit = 0" "milter_content_timeout = 300s"
  BENCH_PF_MILTERS='unset'
  bench_filter_start sign unix
  bench_postfix_for "$FILTER_SPEC"
  before=$(bench_peak_rss_kb "$MILTER_PID")
  sent=$(bench_count 'status=sent')
  bench_send 1 "$file"
  bench_wait_drained "$sent" 1
  bench_check_milter_did sign 1
  after=$(bench_peak_rss_kb "$MILTER_PID")
  printf '%s\t%s\t%s\t%s\n' "$size" "$(wc -c <"$file")" "$before" "$after" \
    >"$SMX_TEST_DIR/big.tsv"
  echo "big message ($(wc -c <"$file") bytes, signed): milter peak RSS ${before} kB before, ${after} kB after" >&2
  bench_filter_stop
}

# bench_profile COUNT: for modes sign and verify, COUNT messages from a
# cold start (at concurrency C) through smime-milter under callgrind;
# counts the calls that load private keys (store_key_get, PKCS#8 decode)
# and trust anchors (store_anchor_list) against the messages signed or
# verified. Output in profile.txt, callgrind files kept for
# callgrind_annotate.
bench_profile() {
  local count=$1 mode
  need_cmd valgrind callgrind_annotate
  : >"$SMX_TEST_DIR/profile.txt"
  pf_main_cf_set "milter_content_timeout = 300s" "milter_command_timeout = 120s"
  for mode in ${PROFILE_MODES//,/ }; do
    bench_profile_mode "$count" "$mode"
  done
  echo "profile (calls per function, $count messages per mode, concurrency $C):" >&2
  cat "$SMX_TEST_DIR/profile.txt" >&2
}

bench_profile_mode() {
  local count=$1 mode=$2 out="$SMX_TEST_DIR/callgrind.$2.out" file user sent
  local path="$PF_DIR/milter.sock"
  file=$(bench_message 10K-text "$mode")
  bench_envelope "$mode"
  rm -f "$path"
  : >"$PF_MILTER_LOG"
  bench_adopt_files
  # callgrind writes its file at exit, after the milter has switched to
  # milter.user: that user must own it.
  user=$(sed -n 's/.*[{;[:space:]]user = "\([^"]*\)".*/\1/p' "$SMX_TEST_DIR/milter.conf")
  : >"$out"
  [ -z "$user" ] || chown "$user" "$out"
  valgrind --tool=callgrind --callgrind-out-file="$out" \
    "$SMX_BIN_DIR/smime-milter" -f -c "$SMX_TEST_DIR/milter.conf" -p "unix:$path" \
    >>"$PF_MILTER_LOG" 2>&1 &
  MILTER_PID=$!
  wait_for_file "$path" 120 || fail "no socket from the milter under valgrind"
  chmod 666 "$path"
  BENCH_PF_MILTERS='unset'
  bench_postfix_for "unix:$path"
  sent=$(bench_count 'status=sent')
  bench_send "$count" "$file"
  bench_wait_drained "$sent" "$count"
  bench_check_milter_did "$mode" "$count"
  bench_filter_stop	# callgrind writes its file at exit
  {
    echo "== $mode: $out"
    python3 "$BENCH_DIR/callgrind-calls.py" "$out" smime_sign_eom \
      smime_verify_eom store_key_get d2i_AutoPrivateKey store_anchor_list \
      smime_verifier_add_anchor store_select
  } >>"$SMX_TEST_DIR/profile.txt"
}

# bench_build_nullfilter: the reference filter with TCP_NODELAY (as
# smime-milter), and a copy without it for mode null-plain.
bench_build_nullfilter() {
  local cc=(cc -std=c11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE)
  BENCH_NULLFILTER="$SMX_TEST_DIR/bench-nullfilter"
  "${cc[@]}" -o "$BENCH_NULLFILTER" "$BENCH_DIR/nullfilter.c" \
    "$SRC_DIR/milter/tcpopt.c" -lmilter -pthread &&
    "${cc[@]}" -o "$BENCH_NULLFILTER-plain" "$BENCH_DIR/nullfilter.c" \
      -lmilter -pthread || fail "cannot build bench/nullfilter.c"
}

bench_kill_leftovers() {
  pf_kill_pidfile "$SMX_TEST_DIR/null.pid" "bench-nullfilter"
  pf_kill_pidfile "$SMX_TEST_DIR/sink.pid" "^smtp-sink -u postfix 127.0.0.1:"
}

bench_cleanup() {
  local rc=$?
  set +e
  rm -f "$SMX_TEST_DIR/sink.pid"
  (exit "$rc")	# pf_cleanup takes the test's status from $?
  pf_cleanup
}

# bench_modes: the modes of -m; with --compare, each smime-milter mode
# is followed by MODE@base (the other build's smime-milter), so that both
# builds run interleaved under the same load.
bench_modes() {
  local mode
  for mode in ${MODES//,/ }; do
    echo "$mode"
    case "$mode" in
      none|null|null-*|signing-milter) ;;
      *) [ -z "$COMPARE_DIR" ] || echo "$mode@base" ;;
    esac
  done
}

bench_main() {
  bench_kill_leftovers
  rm -f "$SMX_TEST_DIR/results.tsv" "$SMX_TEST_DIR/big.tsv" "$SMX_TEST_DIR/smtp-source.log"
  bench_pki
  pf_init
  trap bench_cleanup EXIT
  pf_main_cf_set "message_size_limit = 209715200"
  bench_sink_start
  echo "$BENCH_SINK_PID" >"$SMX_TEST_DIR/sink.pid"
  bench_milter_conf
  bench_build_nullfilter
  local started kind mode sock load
  started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  echo "bench: N=$N C=$C runs=$RUNS, load average before: $load" >&2
  local run
  for run in $(seq 1 "$RUNS"); do
    for kind in ${MESSAGES//,/ }; do
      for mode in $(bench_modes); do
        for sock in ${SOCKETS//,/ }; do
          bench_cell "$kind" "$mode" "$sock" "$run"
          [ "$mode" = none ] && break	# no milter: one socket is enough
        done
      done
    done
  done
  [ -n "$BIG" ] && bench_big "$BIG"
  [ -n "$PROFILE_N" ] && bench_profile "$PROFILE_N"
  python3 "$BENCH_DIR/report.py" --tsv "$SMX_TEST_DIR/results.tsv" \
    --big "$SMX_TEST_DIR/big.tsv" --out "$OUT" --chart "$CHART" \
    --meta "n=$N" "c=$C" "runs=$RUNS" "reuse=$REUSE" "started=$started" \
    "load_before=$load" "load_after=$(cut -d' ' -f1-3 /proc/loadavg)" \
    "postfix=$(postconf -d -h mail_version)" "cpus=$(nproc)" \
    "milter=$("$SMX_BIN_DIR/smime-milter" -V | head -n 1)"
}
