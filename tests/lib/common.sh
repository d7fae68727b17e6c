# Shared helpers for shell-based tests. Source it:  . "$SMX_SOURCE_DIR/tests/lib/common.sh"
# Environment set by ctest: SMX_BIN_DIR, SMX_SOURCE_DIR, SMX_BUILD_DIR,
# SMX_TEST_DIR (this test's private directory), SMX_REQUIRE_PEERS (1: a
# missing peer program fails the test instead of skipping it).

set -u

: "${SMX_BIN_DIR:?run this test through ctest}"
: "${SMX_TEST_DIR:=$(pwd)}"

# skip REASON: exit 77 (ctest: skipped), or fail when peers are required.
skip() {
  if [ "${SMX_REQUIRE_PEERS:-0}" = 1 ]; then
    echo "FAIL (peer required): $*" >&2
    exit 1
  fi
  echo "SKIP: $*" >&2
  exit 77
}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# need_cmd CMD...: skip unless every command exists.
need_cmd() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || [ -x "$c" ] || skip "$c is not installed"
  done
}

# free_port: prints a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
  python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

# wait_for_port PORT [SECONDS]: waits until something accepts on 127.0.0.1:PORT.
wait_for_port() {
  local port=$1 limit=${2:-20} i=0
  while [ $i -lt $((limit * 10)) ]; do
    if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
      return 0
    fi
    sleep 0.1
    i=$((i + 1))
  done
  return 1
}

# wait_for_file PATH [SECONDS]: waits until PATH exists.
wait_for_file() {
  local f=$1 limit=${2:-20} i=0
  while [ $i -lt $((limit * 10)) ]; do
    [ -e "$f" ] && return 0
    sleep 0.1
    i=$((i + 1))
  done
  return 1
}

# fresh_dir NAME: an empty directory under this test's directory.
fresh_dir() {
  local d="$SMX_TEST_DIR/$1"
  rm -rf "$d"
  mkdir -p "$d"
  echo "$d"
}

# write_milter_conf FILE PORT|SOCKETSPEC [extra milter keys...]: a minimal
# configuration for tests, internal domain example.com, SQLite store in
# the test directory.
write_milter_conf() {
  local file=$1 sock=$2
  shift 2
  case "$sock" in
    inet:*|unix:*|local:*|inet6:*) ;;
    *) sock="inet:$sock@127.0.0.1" ;;
  esac
  # An extra "key = value" replaces the default of that key (libconfig
  # refuses a key given twice).
  local defaults=(
    "socket = \"$sock\""
    "authserv_id = \"mx.example.com\""
    "internal_domains = [ \"example.com\" ]"
    "trusted_networks = [ \"127.0.0.0/8\", \"::1\" ]"
    "spool_directory = \"$SMX_TEST_DIR\""
    "shutdown_timeout = \"10s\""
  )
  {
    echo "milter: {"
    local kv extra
    for kv in "${defaults[@]}"; do
      for extra in "$@"; do
        [ "${extra%%[ =]*}" = "${kv%%[ =]*}" ] && continue 2
      done
      echo "  $kv;"
    done
    for kv in "$@"; do echo "  $kv;"; done
    echo "};"
    echo "store: { backend = \"sqlite\"; path = \"$SMX_TEST_DIR/store.db\"; };"
    echo "keys: { master_key_file = \"$SMX_TEST_DIR/master.key\"; };"
  } > "$file"
}

# start_milter CONF LOG: starts smime-milter -f in the background and
# waits until it listens; sets MILTER_PID.
start_milter() {
  local conf=$1 log=$2
  "$SMX_BIN_DIR/smime-milter" -f -c "$conf" >>"$log" 2>&1 &
  MILTER_PID=$!
  local i=0
  while [ $i -lt 100 ]; do
    grep -q "listening on" "$log" 2>/dev/null && return 0
    kill -0 "$MILTER_PID" 2>/dev/null || { cat "$log" >&2; fail "smime-milter did not start"; }
    sleep 0.1
    i=$((i + 1))
  done
  cat "$log" >&2
  fail "smime-milter did not start listening"
}

# stop_milter: SIGTERM and wait (kill -9 after 15 s).
stop_milter() {
  [ -n "${MILTER_PID:-}" ] || return 0
  kill -TERM "$MILTER_PID" 2>/dev/null || true
  local i=0
  while kill -0 "$MILTER_PID" 2>/dev/null && [ $i -lt 150 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  kill -KILL "$MILTER_PID" 2>/dev/null || true
  MILTER_RC=0
  wait "$MILTER_PID" 2>/dev/null || MILTER_RC=$?
  MILTER_PID=
}
