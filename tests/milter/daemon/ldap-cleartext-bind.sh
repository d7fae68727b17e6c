#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# A bind password sent over plain ldap:// (no StartTLS) can be read on the
# network: `smime-milter -n` refuses such a file with FILE:LINE and exit 1,
# and the daemon refuses to start with it; StartTLS, ldaps://, ldapi://
# or an explicit ldap.allow_cleartext_bind = true are accepted. No LDAP
# server is needed: the check judges the file.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"

dir=$(fresh_dir ldap-bind)
conf="$dir/clear.conf"
port=$(free_port)
# ldap_conf FILE LDAP-KEYS...: a milter configuration plus an ldap group
# whose bind_dn is on its second line.
ldap_conf() {
  local file=$1
  shift
  write_milter_conf "$file" "$port"
  {
    echo "ldap: { base = \"dc=example,dc=com\";"
    echo "  bind_dn = \"cn=smime,dc=example,dc=com\";"
    echo "  bind_password_file = \"$dir/ldap.pw\";"
    local kv
    for kv in "$@"; do echo "  $kv;"; done
    echo "};"
  } >> "$file"
}
bind_line=$(( $(wc -l < <(write_milter_conf /dev/stdout "$port")) + 2 ))

ldap_conf "$conf" 'uri = [ "ldap://ldap.example.com" ]'
set +e
"$SMX_BIN_DIR/smime-milter" -n -c "$conf" > "$dir/check.log" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] || fail "-n exit $rc for a clear-text bind, want 1: $(cat "$dir/check.log")"
grep -qF "$conf:$bind_line: ldap.bind_dn: 'ldap://ldap.example.com' would send the bind password in clear text; set ldap.starttls = true, use ldaps:// or ldapi://, or set ldap.allow_cleartext_bind = true" "$dir/check.log" ||
  fail "-n: unclear message: $(cat "$dir/check.log")"

# The daemon applies the same check before it opens anything.
set +e
timeout 20 "$SMX_BIN_DIR/smime-milter" -f -c "$conf" > "$dir/start.log" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] || fail "start exit $rc for a clear-text bind, want 1: $(cat "$dir/start.log")"
grep -qF "would send the bind password in clear text" "$dir/start.log" ||
  fail "start: unclear message: $(cat "$dir/start.log")"
! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || fail "something listens on $port after the refusal"

# Protected transports, and the explicit opt-in, pass.
for keys in 'uri = [ "ldap://ldap.example.com" ]|starttls = true' \
            'uri = [ "ldaps://ldap.example.com" ]' \
            'uri = [ "ldapi://%2Frun%2Fslapd%2Fldapi" ]' \
            'uri = [ "ldap://ldap.example.com" ]|allow_cleartext_bind = true'; do
  IFS='|' read -r -a kv <<< "$keys"
  ldap_conf "$conf" "${kv[@]}"
  "$SMX_BIN_DIR/smime-milter" -n -c "$conf" > "$dir/ok.log" 2>&1 ||
    fail "-n refused $keys: $(cat "$dir/ok.log")"
done
echo "PASS"
