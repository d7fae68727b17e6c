#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A private OpenLDAP slapd for tests. Source it for the functions, or run
#   slapd.sh start|stop|pause|resume DIR
# (the C tests call it that way to stop and restart the server mid-test).
#
# slapd_start DIR: on first use writes DIR/slapd.conf (core, cosine and
#   inetOrgPerson schemas, back_mdb, suffix dc=example,dc=com, rootdn
#   cn=admin,dc=example,dc=com with password "secret", StartTLS with a
#   server certificate for 127.0.0.1 issued by DIR/tls/ca.pem), picks a
#   free loopback port (kept in DIR/port, so a restart reuses it and the
#   data) and starts slapd with its stats log in DIR/slapd.log.
#   Sets SLAPD_URI (also in DIR/uri).
# slapd_stop DIR: stops it (SIGTERM, SIGKILL after 10 s); safe to repeat.
#   Use it in a trap:  trap 'slapd_stop "$D"' EXIT
# slapd_pause DIR / slapd_resume DIR: SIGSTOP / SIGCONT (a hung server).
# Environment: SMX_SOURCE_DIR (tests/lib/common.sh), SMX_TEST_DIR.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"

SLAPD_SUFFIX="dc=example,dc=com"
SLAPD_ROOTDN="cn=admin,$SLAPD_SUFFIX"
SLAPD_ROOTPW="secret"

slapd_bin() {
  local b
  for b in /usr/sbin/slapd "$(command -v slapd 2>/dev/null)"; do
    [ -n "$b" ] && [ -x "$b" ] && { echo "$b"; return 0; }
  done
  return 1
}

# slapd_tls DIR: a CA and a server certificate for 127.0.0.1 (EC P-256).
slapd_tls() {
  local t=$1/tls
  mkdir -p "$t"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$t/ca.key" -out "$t/ca.pem" -subj "/CN=slapd test CA" \
    -days 30 2>/dev/null || return 1
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$t/server.key" -out "$t/server.csr" -subj "/CN=127.0.0.1" \
    2>/dev/null || return 1
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' \
    > "$t/server.ext"
  openssl x509 -req -in "$t/server.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" \
    -CAcreateserial -days 30 -extfile "$t/server.ext" -out "$t/server.pem" \
    2>/dev/null || return 1
  chmod 600 "$t/server.key"
}

slapd_write_conf() {
  local dir=$1
  cat > "$dir/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile $dir/slapd.pid
argsfile $dir/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCACertificateFile $dir/tls/ca.pem
TLSCertificateFile $dir/tls/server.pem
TLSCertificateKeyFile $dir/tls/server.key
database mdb
maxsize 104857600
suffix "$SLAPD_SUFFIX"
rootdn "$SLAPD_ROOTDN"
rootpw $SLAPD_ROOTPW
directory $dir/data
access to attrs=userPassword
  by self write by anonymous auth by * none
access to attrs=userCertificate,userSMIMECertificate
  by dn.exact="cn=publisher,$SLAPD_SUFFIX" write by * read
access to * by * read
EOF
}

slapd_start() {
  local dir=$1 bin port
  bin=$(slapd_bin) || skip "slapd is not installed"
  need_cmd openssl
  [ -f /etc/ldap/schema/inetorgperson.schema ] || skip "OpenLDAP schemas are missing"
  mkdir -p "$dir/data"
  if [ ! -f "$dir/slapd.conf" ]; then
    slapd_tls "$dir" || fail "cannot make the slapd TLS certificates"
    slapd_write_conf "$dir"
  fi
  [ -f "$dir/port" ] || free_port > "$dir/port"
  port=$(cat "$dir/port")
  SLAPD_URI="ldap://127.0.0.1:$port"
  echo "$SLAPD_URI" > "$dir/uri"
  # -d stats: foreground with the access log on stderr; no terminal or
  # test pipe stays attached to it
  "$bin" -f "$dir/slapd.conf" -h "$SLAPD_URI/" -d stats \
    </dev/null >>"$dir/slapd.log" 2>&1 &
  echo $! > "$dir/slapd.pid.shell"
  if ! wait_for_port "$port" 20; then
    tail -20 "$dir/slapd.log" >&2
    slapd_stop "$dir"
    fail "slapd did not start on $SLAPD_URI"
  fi
}

slapd_pid() {
  local f
  for f in "$1/slapd.pid" "$1/slapd.pid.shell"; do
    [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && { cat "$f"; return 0; }
  done
  return 1
}

slapd_stop() {
  local dir=$1 pid i=0
  pid=$(slapd_pid "$dir") || return 0
  kill -CONT "$pid" 2>/dev/null
  kill -TERM "$pid" 2>/dev/null
  while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$dir/slapd.pid" "$dir/slapd.pid.shell"
  return 0
}

slapd_pause() {
  local pid i=0 t state running
  pid=$(slapd_pid "$1") || fail "slapd is not running"
  kill -STOP "$pid"
  # kill returns before every thread has stopped: wait until they have
  while [ $i -lt 100 ]; do
    running=0
    for t in /proc/"$pid"/task/*/stat; do
      state=$(sed 's/^.*) //' "$t" 2>/dev/null | cut -c1)
      [ "$state" = T ] || [ -z "$state" ] || running=1
    done
    [ $running = 0 ] && return 0
    sleep 0.05
    i=$((i + 1))
  done
  fail "slapd ($pid) did not stop"
}

slapd_resume() {
  local pid
  pid=$(slapd_pid "$1") || fail "slapd is not running"
  kill -CONT "$pid"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case "${1:-}" in
    start|stop|pause|resume) "slapd_$1" "${2:?DIR}" ;;
    *) echo "usage: slapd.sh start|stop|pause|resume DIR" >&2; exit 1 ;;
  esac
fi
