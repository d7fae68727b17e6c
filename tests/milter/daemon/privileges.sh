#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Started as root with milter.user set, the daemon opens its unix socket,
# hands it to that user, writes its pid file, switches to the user and
# cannot regain root; a missing user is a clear start-up error (exit 2);
# as root without milter.user it refuses to start (exit 1, but -n still
# passes the file); a symbolic link at the pid file or socket path is
# not followed; a store or master key file open to group or others is
# refused by the milter and by smimectl.
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
# Keys live in its memory: no core file may hold them.
grep -Eq '^Max core file size +0 +0 ' "/proc/$MILTER_PID/limits" ||
  fail "core dumps not disabled: $(grep 'core file' "/proc/$MILTER_PID/limits")"
# The daemon tried setuid(0) after the switch, and it failed.
grep -q "running as user nobody (uid $uid); root cannot be regained" "$log" ||
  fail "no log line confirming the verified drop: $(cat "$log")"

stop_milter
[ "$MILTER_RC" = 0 ] || fail "milter exited $MILTER_RC after SIGTERM, want 0"
[ ! -e "$dir/milter.pid" ] || fail "pid file left behind"
grep -q "smime-milter stopped" "$log" || fail "no 'stopped' line in the log"

# The pid file's directory belongs to the milter user, who could plant a
# link there to a file of root's: root writes nothing through it, and
# the start fails saying why. A stale regular pid file is replaced.
victim="$SMX_TEST_DIR/root-owned"
echo "root's data" > "$victim"
ln -s "$victim" "$dir/milter.pid"
start_out="$SMX_TEST_DIR/pidlink.log"
set +e
timeout 30 "$SMX_BIN_DIR/smime-milter" -f -c "$conf" > "$start_out" 2>&1
rc=$?
set -e
[ "$rc" = 2 ] || fail "exit $rc with a symbolic link as pid file, want 2: $(cat "$start_out")"
[ "$(cat "$victim")" = "root's data" ] || fail "the link's target was written: $(cat "$victim")"
[ "$(stat -c %U "$victim")" = root ] || fail "the link's target changed owner"
grep -qF "milter.pidfile $dir/milter.pid: is a symbolic link; refusing to write through it (remove it)" "$start_out" ||
  fail "unclear refusal: $(cat "$start_out")"
rm "$dir/milter.pid"
echo 12345 > "$dir/milter.pid"
: > "$log"
start_milter "$conf" "$log"
[ "$(cat "$dir/milter.pid")" = "$MILTER_PID" ] || fail "stale pid file not replaced: $(cat "$dir/milter.pid")"
stop_milter

# A link at the socket path is not followed either: libmilter removes
# only a socket there, and the socket is handed over without following
# a link (its directory belongs to the milter user too).
rm -f "$sock"
ln -s "$victim" "$sock"
set +e
timeout 30 "$SMX_BIN_DIR/smime-milter" -f -c "$conf" > "$start_out" 2>&1
rc=$?
set -e
[ "$rc" = 2 ] || fail "exit $rc with a symbolic link as socket, want 2: $(cat "$start_out")"
[ "$(stat -c %U "$victim")" = root ] || fail "the socket link's target changed owner"
[ "$(cat "$victim")" = "root's data" ] || fail "the socket link's target was written"
rm -f "$sock" "$dir/milter.pid"

# A user that does not exist: refuse to start, say which user.
write_milter_conf "$conf" "unix:$sock" 'user = "no-such-user-smx"'
set +e
"$SMX_BIN_DIR/smime-milter" -f -c "$conf" > "$SMX_TEST_DIR/nouser.log" 2>&1
rc=$?
set -e
[ "$rc" = 2 ] || fail "exit $rc with an unknown user, want 2"
grep -q "no such user 'no-such-user-smx'" "$SMX_TEST_DIR/nouser.log" || fail "error does not name the user: $(cat "$SMX_TEST_DIR/nouser.log")"

# No user at all: as root the daemon refuses before it opens anything.
# (write_milter_conf adds the test user as root: take it out again.)
port=$(free_port)
write_milter_conf "$conf" "$port"
sed -i '1s/ user = "[^"]*";//' "$conf"
! grep -q 'user =' "$conf" || fail "could not write a configuration without user"
set +e
"$SMX_BIN_DIR/smime-milter" -f -c "$conf" > "$SMX_TEST_DIR/root.log" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] || fail "exit $rc as root without milter.user, want 1: $(cat "$SMX_TEST_DIR/root.log")"
grep -q "refusing to run as root: set milter.user" "$SMX_TEST_DIR/root.log" ||
  fail "unclear refusal: $(cat "$SMX_TEST_DIR/root.log")"
! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || fail "something listens on $port after the refusal"
# -n judges the file, not who runs it (systemd may start it as User=).
"$SMX_BIN_DIR/smime-milter" -n -c "$conf" > "$SMX_TEST_DIR/check.log" 2>&1 ||
  fail "-n refused a valid file as root: $(cat "$SMX_TEST_DIR/check.log")"

# The store and the master key hold every private key: a file open to
# group or others is refused, by smimectl and by the daemon, with a
# message that names the file and the fix.
keydir=$(fresh_dir keys)
conf="$keydir/store.conf"
write_milter_conf "$conf" "unix:$keydir/milter.sock" 'user = "nobody"'
sed -i "s|$SMX_TEST_DIR/store.db|$keydir/store.db|; s|$SMX_TEST_DIR/master.key|$keydir/master.key|" "$conf"
chmod 0755 "$keydir"
"$SMX_BIN_DIR/smimectl" -c "$conf" init > "$keydir/init.log" 2>&1 || fail "smimectl init: $(cat "$keydir/init.log")"
chown nobody "$keydir" "$keydir/store.db" "$keydir/master.key"

# refused FILE MODE TEXT [milter]: with FILE at MODE, smimectl list fails
# saying TEXT; with "milter", the daemon logs it too (and keeps running:
# mail that needs the store is tempfailed). A daemon start and stop costs
# seconds, so only one case per file runs it.
refused() {
  local file=$1 mode=$2 text=$3 out="$keydir/refused.log"
  chmod "$mode" "$file"
  set +e
  "$SMX_BIN_DIR/smimectl" -c "$conf" list > "$out" 2>&1
  rc=$?
  set -e
  [ "$rc" != 0 ] || fail "smimectl accepted $file at mode $mode"
  grep -qF "$file: $text (mode $mode): run chmod 600 on it" "$out" ||
    fail "smimectl: unclear error for $file at mode $mode: $(cat "$out")"
  if [ "${4:-}" != milter ]; then
    chmod 0600 "$file"
    return 0
  fi
  : > "$log"
  start_milter "$conf" "$log"
  grep -qF "$file: $text (mode $mode): run chmod 600 on it" "$log" ||
    fail "milter: no error for $file at mode $mode: $(cat "$log")"
  stop_milter
  chmod 0600 "$file"
}
refused "$keydir/store.db" 0640 "the store is accessible by group or others" milter
refused "$keydir/store.db" 0604 "the store is accessible by group or others"
refused "$keydir/master.key" 0640 "the master key file is accessible by group or others"
refused "$keydir/master.key" 0644 "the master key file is accessible by group or others" milter
# Private again: both open.
"$SMX_BIN_DIR/smimectl" -c "$conf" list > "$keydir/ok.log" 2>&1 ||
  fail "smimectl refused the store at mode 0600: $(cat "$keydir/ok.log")"
: > "$log"
start_milter "$conf" "$log"
! grep -q "accessible by group or others\|cannot open\|private keys unavailable" "$log" || fail "milter refused a private store: $(cat "$log")"
stop_milter
echo "PASS"
