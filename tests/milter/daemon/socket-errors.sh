#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Start-up failures are clear and have the documented exit codes: a port
# already in use (2), a bad -p socket (1), an unreadable configuration (1).
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
need_cmd python3
port=$(free_port)
conf="$SMX_TEST_DIR/busy.conf"
write_milter_conf "$conf" "$port"

# Hold the port with a plain listener, then try to start on it.
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(30)' "$port" &
holder=$!
trap 'kill $holder 2>/dev/null' EXIT
wait_for_port "$port" 10 || fail "port holder did not start"

expect_exit() {
  local want=$1 pattern=$2; shift 2
  set +e
  "$@" > "$SMX_TEST_DIR/out.log" 2>&1
  local rc=$?
  set -e
  [ "$rc" = "$want" ] || fail "$* exited $rc, want $want: $(cat "$SMX_TEST_DIR/out.log")"
  grep -q -- "$pattern" "$SMX_TEST_DIR/out.log" || fail "$*: output lacks '$pattern': $(cat "$SMX_TEST_DIR/out.log")"
}
expect_exit 2 "cannot listen on inet:$port@127.0.0.1" \
  "$SMX_BIN_DIR/smime-milter" -f -c "$conf"
expect_exit 1 "not inet:PORT@HOST" "$SMX_BIN_DIR/smime-milter" -f -c "$conf" -p "tcp:1"
expect_exit 1 "nonexistent.conf: cannot read" "$SMX_BIN_DIR/smime-milter" -f -c "$SMX_TEST_DIR/nonexistent.conf"
expect_exit 1 "usage:" "$SMX_BIN_DIR/smime-milter" -x
version=$(sed -n 's/^project(smime-milter VERSION \([0-9.]*\).*/\1/p' "$SMX_SOURCE_DIR/CMakeLists.txt")
expect_exit 0 "smime-milter $version" "$SMX_BIN_DIR/smime-milter" -V
echo "PASS"
