#!/usr/bin/env bash
# Started as root with milter.user set, the daemon opens its unix socket,
# hands it to that user, writes its pid file, switches to the user and
# cannot regain root; a missing user is a clear start-up error (exit 2).
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
[ "$(id -u)" = 0 ] || skip "needs root to test the privilege drop"
id nobody >/dev/null 2>&1 || skip "no user 'nobody'"

dir=$(fresh_dir run)
chmod 0755 "$SMX_TEST_DIR" "$dir"
chown nobody "$dir"                  # the pid file is removed after the drop
sock="$dir/milter.sock"
conf="$SMX_TEST_DIR/privdrop.conf"
log="$SMX_TEST_DIR/privdrop.log"
: > "$log"
write_milter_conf "$conf" "unix:$sock" 'user = "nobody"' \
  "pidfile = \"$dir/milter.pid\""
trap stop_milter EXIT

start_milter "$conf" "$log"
[ -S "$sock" ] || fail "no socket at $sock"
[ "$(stat -c %U "$sock")" = nobody ] || fail "socket owner is $(stat -c %U "$sock"), want nobody"
[ "$(cat "$dir/milter.pid")" = "$MILTER_PID" ] || fail "pid file holds $(cat "$dir/milter.pid"), want $MILTER_PID"
uid=$(id -u nobody)
read -r _ ruid euid suid fsuid < <(grep '^Uid:' "/proc/$MILTER_PID/status")
for v in "$ruid" "$euid" "$suid" "$fsuid"; do
  [ "$v" = "$uid" ] || fail "milter runs with uid $v (Uid: $ruid $euid $suid $fsuid), want $uid"
done
grep -q '^CapEff:[[:space:]]*0*$' "/proc/$MILTER_PID/status" || fail "milter kept capabilities: $(grep CapEff "/proc/$MILTER_PID/status")"

stop_milter
[ "$MILTER_RC" = 0 ] || fail "milter exited $MILTER_RC after SIGTERM, want 0"
[ ! -e "$dir/milter.pid" ] || fail "pid file left behind"
grep -q "smime-milter stopped" "$log" || fail "no 'stopped' line in the log"

# A user that does not exist: refuse to start, say which user.
write_milter_conf "$conf" "unix:$sock" 'user = "no-such-user-smx"'
set +e
"$SMX_BIN_DIR/smime-milter" -f -c "$conf" > "$SMX_TEST_DIR/nouser.log" 2>&1
rc=$?
set -e
[ "$rc" = 2 ] || fail "exit $rc with an unknown user, want 2"
grep -q "no such user 'no-such-user-smx'" "$SMX_TEST_DIR/nouser.log" || fail "error does not name the user: $(cat "$SMX_TEST_DIR/nouser.log")"
echo "PASS"
