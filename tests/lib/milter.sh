# SPDX-License-Identifier: BSD-2-Clause
# Shell side of the milter tests: source it from a test wrapper.
#   . "$SMX_SOURCE_DIR/tests/lib/milter.sh"
#   mt_init                       # needs miltertest, sets the variables below
#   mt_conf "$CONF" 'log_level = "debug"'   # milter keys override defaults
#   mt_start "$CONF"              # smime-milter -f in the background
#   mt_run some_behaviour.lua [-D name=value...]
#   expect_decision 'Q1: direction=outbound from=<a@example.com> rcpts=1 size=8 client=192.0.2.10 action=pass' \
#     'internal sender, authenticated client'
#   expect_log_once TEXT / expect_log_count TEXT N / expect_no_log TEXT
#   mt_finish                     # SIGTERM, exit 0, no sanitizer report
#
# Variables: MT_DIR (tests/milter: the Lua scripts, lib.lua), RUN (this
# run's files), LOG (milter output), PORT, SOCK, CONF (default
# configuration path), MILTER_PID.
# A missing miltertest skips (or fails with SMX_REQUIRE_PEERS=1); an
# ASan/LSan/UBSan report in the log fails the test whatever happened.

. "$SMX_SOURCE_DIR/tests/lib/common.sh"

MT_DIR="$SMX_SOURCE_DIR/tests/milter"
MT_NAME=$(basename "$0" .sh)

mt_init() {
  need_cmd miltertest
  [ -x "$SMX_BIN_DIR/smime-milter" ] || fail "no $SMX_BIN_DIR/smime-milter: build first"
  cd "$SMX_TEST_DIR" || fail "cannot enter $SMX_TEST_DIR"
  rm -rf "$SMX_TEST_DIR/run"
  mkdir -p "$SMX_TEST_DIR/run"
  RUN="$SMX_TEST_DIR/run"
  LOG="$RUN/milter.log"
  CONF="$RUN/milter.conf"
  : > "$LOG"
  PORT=$(free_port)
  SOCK="inet:$PORT@127.0.0.1"
  MILTER_PID=
  trap mt_on_exit EXIT
  trap 'exit 1' INT TERM
}

# mt_conf FILE [KEY = VALUE...]: like write_milter_conf, but a key given
# here replaces the default of the same name instead of repeating it
# (libconfig refuses a setting twice). The socket is $SOCK unless given.
mt_conf() {
  local file=$1
  shift
  local -A kv=(
    [socket]="\"$SOCK\""
    [authserv_id]='"mx.example.com"'
    [internal_domains]='[ "example.com" ]'
    [trusted_networks]='[ "127.0.0.0/8", "::1" ]'
    [spool_directory]="\"$RUN\""
    [shutdown_timeout]='"10s"'
  )
  local order=(socket authserv_id internal_domains trusted_networks
               spool_directory shutdown_timeout)
  local arg key
  for arg in "$@"; do
    key=${arg%%=*}
    key=${key// /}
    [ -n "${kv[$key]+x}" ] || order+=("$key")
    kv[$key]=${arg#*=}
    kv[$key]=${kv[$key]# }
  done
  {
    echo "milter: {$(test_user_setting "$@")"
    for key in "${order[@]}"; do
      echo "  $key = ${kv[$key]};"
    done
    echo "};"
    echo "store: { backend = \"sqlite\"; path = \"$RUN/store.db\"; };"
    echo "keys: { master_key_file = \"$RUN/master.key\"; };"
  } > "$file"
}

# mt_start CONF [smime-milter options...]: like start_milter from
# common.sh, with extra options (such as -p).
mt_start() {
  local conf=$1
  shift
  milter_adopt_files "$conf"
  ${SMX_MILTER_WRAPPER:-} "$SMX_BIN_DIR/smime-milter" -f -c "$conf" "$@" >>"$LOG" 2>&1 &
  MILTER_PID=$!
  local i=0
  while [ $i -lt $((100 * ${SMX_TIMEOUT_SCALE:-1})) ]; do
    grep -q "listening on" "$LOG" 2>/dev/null && return 0
    kill -0 "$MILTER_PID" 2>/dev/null || { show_log; fail "smime-milter did not start"; }
    sleep 0.1
    i=$((i + 1))
  done
  show_log
  fail "smime-milter did not start listening"
}

# mt_run SCRIPT [miltertest args...]: runs tests/milter/SCRIPT against
# the running milter; fails with the script's output and the milter log.
mt_run() {
  local script=$1
  shift
  local out="$RUN/$(basename "$script" .lua).out"
  miltertest -s "$MT_DIR/$script" -D mtlib="$MT_DIR/lib.lua" \
    -D sock="$SOCK" -D log="$LOG" -D pid="${MILTER_PID:-0}" "$@" \
    > "$out" 2>&1
  local rc=$?
  if [ $rc -ne 0 ] || ! grep -q '^lua: all steps passed$' "$out"; then
    echo "--- miltertest $script (exit $rc):" >&2
    cat "$out" >&2
    show_log
    fail "$script failed"
  fi
}

show_log() {
  echo "--- milter log $LOG:" >&2
  cat "$LOG" >&2
}

log_count() {
  grep -cF -- "$1" "$LOG"
}

# expect_log_count TEXT N: exactly N lines of the log contain TEXT.
expect_log_count() {
  local n
  n=$(log_count "$1")
  if [ "$n" -ne "$2" ]; then
    show_log
    fail "expected $2 log line(s) containing [$1], found $n"
  fi
}

expect_log_once() {
  expect_log_count "$1" 1
}

expect_no_log() {
  expect_log_count "$1" 0
}

# expect_decision "QID: direction=... action=A" REASON [NOTE]: exactly
# one message line with these fields whose reason starts with the
# classification REASON (policy text may follow after "; "), and, with
# NOTE, ends with it (e.g. "; header limit reached").
expect_decision() {
  local head="info: $1 reason=\"$2" note=${3:-} l rest n=0
  while IFS= read -r l; do
    rest=${l#*"$head"}
    case "$rest" in '"'*|';'*) ;; *) continue ;; esac
    if [ -n "$note" ]; then
      case "$l" in *"$note\"") ;; *) continue ;; esac
    fi
    n=$((n + 1))
  done < <(grep -F -- "$head" "$LOG")
  if [ "$n" -ne 1 ]; then
    show_log
    fail "expected 1 log line [$head...${note:+$note}\"], found $n"
  fi
}

# check_sanitizers: fails if ASan, LSan or UBSan said anything.
check_sanitizers() {
  if grep -qE 'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:|SUMMARY: .*Sanitizer' "$LOG"; then
    show_log
    fail "sanitizer report in the milter log"
  fi
}

# wait_exit SECONDS: waits for the milter to exit by itself and sets
# MILTER_RC; fails (after killing it) if it is still running.
wait_exit() {
  local limit=$1 i=0
  while kill -0 "$MILTER_PID" 2>/dev/null && [ $i -lt $((limit * 10)) ]; do
    sleep 0.1
    i=$((i + 1))
  done
  if kill -0 "$MILTER_PID" 2>/dev/null; then
    kill -KILL "$MILTER_PID" 2>/dev/null
    wait "$MILTER_PID" 2>/dev/null
    MILTER_PID=
    show_log
    fail "smime-milter still running ${limit}s later"
  fi
  wait "$MILTER_PID"
  MILTER_RC=$?
  MILTER_PID=
}

# mt_finish: stops the milter with SIGTERM, expects exit 0, a "stopped"
# line and no sanitizer report.
mt_finish() {
  [ -n "${MILTER_PID:-}" ] || fail "mt_finish: milter not running"
  kill -0 "$MILTER_PID" 2>/dev/null || { show_log; fail "smime-milter died during the test"; }
  kill -TERM "$MILTER_PID"
  wait_exit 20
  check_sanitizers
  [ "$MILTER_RC" -eq 0 ] || { show_log; fail "smime-milter exited $MILTER_RC after SIGTERM, expected 0"; }
  expect_log_once "info: smime-milter stopped"
  expect_no_log "still in flight"
  echo "PASS: $MT_NAME"
}

mt_on_exit() {
  local rc=$?
  if [ -n "${MILTER_PID:-}" ]; then
    kill -KILL "$MILTER_PID" 2>/dev/null
    wait "$MILTER_PID" 2>/dev/null
    MILTER_PID=
  fi
  if [ -n "${LOG:-}" ] && [ -f "$LOG" ] &&
     grep -qE 'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:' "$LOG"; then
    [ $rc -ne 0 ] || { show_log; echo "FAIL: sanitizer report in the milter log" >&2; }
    rc=1
  fi
  exit $rc
}
