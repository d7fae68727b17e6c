#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The milter's inet: and inet6: connections have TCP_NODELAY set (libmilter
# never sets it; without it each milter exchange over TCP can wait ~40 ms
# for a delayed ACK, see milter/tcpopt.h). The option is read from the
# socket the daemon accepted, fetched out of the running process.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
set -e
need_cmd python3
[ "$(id -u)" = 0 ] || skip "reading another process's socket needs root"
probe="$SMX_SOURCE_DIR/tests/milter/daemon/nodelay-probe.py"
log="$SMX_TEST_DIR/milter.log"
: >"$log"
trap 'stop_milter' EXIT

# check_nodelay SOCKETSPEC HOST PORT: starts the milter on SOCKETSPEC and
# asks the probe about one connection.
check_nodelay() {
  local spec=$1 host=$2 port=$3 conf="$SMX_TEST_DIR/milter.conf" out
  write_milter_conf "$conf" "$spec"
  echo 'policy: { default: { sign = "never"; encrypt = "never"; }; };' >>"$conf"
  rm -f "$SMX_TEST_DIR/store.db" "$SMX_TEST_DIR/master.key"
  "$SMX_BIN_DIR/smimectl" -c "$conf" init >/dev/null 2>&1 || fail "smimectl init"
  : >"$log"
  start_milter "$conf" "$log"
  out=$(python3 "$probe" "$MILTER_PID" "$host" "$port") ||
    fail "probe on $spec: $out"
  [ "$out" = "nodelay=1" ] || fail "$spec: accepted connection has $out, want nodelay=1"
  echo "ok: $spec: accepted connection has TCP_NODELAY"
  stop_milter
}

port=$(free_port)
check_nodelay "inet:$port@127.0.0.1" 127.0.0.1 "$port"
if python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
  port=$(free_port)
  check_nodelay "inet6:$port@::1" ::1 "$port"
else
  echo "note: no IPv6 loopback here, inet6: not checked"
fi
echo "PASS"
