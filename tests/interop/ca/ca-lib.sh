# SPDX-License-Identifier: BSD-2-Clause
# Shared by the CA test scripts:  . ca-lib.sh; ca_setup BACKEND NAME [ca keys...]
# Sets W (work dir, cwd), CTL, CONF; writes a configuration for BACKEND
# (sqlite in W, or postgresql in a database NAME of its own next to the
# fixture's), runs smimectl init. Defines ctl, expect_rc, json, fp_of.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
set -o pipefail

ca_setup() {
  local backend=$1 name=$2 store
  shift 2
  W=$(fresh_dir work)
  cd "$W" || fail "no work dir"
  CTL="$SMX_BIN_DIR/smimectl"
  CONF="$W/smx.conf"
  if [ "$backend" = postgresql ]; then
    [ -s "${SMX_PG_CONNINFO_FILE:-}" ] || skip "no PostgreSQL fixture"
    need_cmd psql
    local base
    base=$(cat "$SMX_PG_CONNINFO_FILE")
    psql "$base" -qc "DROP DATABASE IF EXISTS $name" >/dev/null 2>&1
    psql "$base" -qc "CREATE DATABASE $name" >/dev/null || fail "createdb $name"
    store="backend = \"postgresql\"; conninfo = \"$base dbname=$name\";"
  else
    store="backend = \"sqlite\"; path = \"$W/store.db\";"
  fi
  {
    echo 'milter: { internal_domains = [ "example.com" ]; };'
    echo "store: { $store };"
    echo "keys: { master_key_file = \"$W/master.key\"; };"
    echo "ca: { $* };"
  } > "$CONF"
  expect_rc 0 ctl init
}

ctl() { "$CTL" -c "$CONF" "$@"; }

# expect_rc RC CMD...: runs CMD (stdout in $W/out, stderr in $W/err).
expect_rc() {
  local want=$1 rc=0
  shift
  "$@" >"$W/out" 2>"$W/err" || rc=$?
  [ "$rc" = "$want" ] || { cat "$W/out" "$W/err" >&2; fail "'$*' exited $rc, want $want"; }
}

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

fp_of() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f; }
