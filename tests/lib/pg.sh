#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A private PostgreSQL for tests:  pg.sh start DIR | pg.sh stop DIR
# start: initdb in DIR/data (as the postgres user when run as root: initdb
# refuses root, and the data directory must belong to postgres), a server
# on a free loopback port with its socket in DIR, databases "smx_test" and
# "smx_cli", and DIR/conninfo, DIR/conninfo-cli holding their libpq
# connection strings (one database per suite, so suites may run in
# parallel). stop: stops the
# server and removes DIR. Both are safe to repeat.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"

pg_bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)" && return 0
  return 1
}

# as_pg CMD...: runs CMD as the postgres user when we are root.
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_stop() {
  local dir=$1 bin
  bin=$(pg_bindir) || return 0
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 ||
      as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

pg_start() {
  local dir=$1 bin port
  bin=$(pg_bindir) || skip "PostgreSQL server binaries (initdb) are not installed"
  [ "$(id -u)" != 0 ] || id postgres >/dev/null 2>&1 || skip "no postgres user"
  pg_stop "$dir"
  mkdir -p "$dir/data"
  [ "$(id -u)" = 0 ] && chown -R postgres: "$dir"
  as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 \
    --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; fail "initdb failed"; }
  port=$(free_port)
  as_pg "$bin/pg_ctl" -D "$dir/data" -w -t 30 -l "$dir/server.log" \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start \
    >/dev/null || { cat "$dir/server.log" >&2; pg_stop "$dir"; fail "PostgreSQL did not start"; }
  local db
  for db in smx_test smx_cli; do
    as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db" ||
      { pg_stop "$dir"; fail "createdb $db failed"; }
  done
  # one database per suite, so that suites may run in parallel
  echo "host=127.0.0.1 port=$port user=postgres dbname=smx_test connect_timeout=5" > "$dir/conninfo"
  echo "host=127.0.0.1 port=$port user=postgres dbname=smx_cli connect_timeout=5" > "$dir/conninfo-cli"
  echo "PostgreSQL running on 127.0.0.1:$port (data in $dir/data)"
}

case "${1:-}" in
  start) pg_start "$2" ;;
  stop) pg_stop "$2" ;;
  *) echo "usage: pg.sh start|stop DIR" >&2; exit 1 ;;
esac
