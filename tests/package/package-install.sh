#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Run by package.sh inside its sandbox (a private mount namespace with
# overlays on /etc, /usr and /var): installs the package given as $1 on
# what looks like a fresh machine, checks it, removes it, purges it, and
# checks that nothing is left. Never run this outside the sandbox.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
set -o pipefail

deb=$1
conf=/etc/smime-milter/smime-milter.conf
state=/var/lib/smime-milter
unit=/lib/systemd/system/smime-milter.service
wants=/etc/systemd/system/multi-user.target.wants/smime-milter.service
user=smime-milter

# Refuse to run anywhere but in the sandbox: / must differ from /etc's
# mount, which is an overlay only there.
[ "$(findmnt -n -o FSTYPE /etc)" = overlay ] || fail "not in the sandbox: /etc is not an overlay"

milter_pid=
stop_sandbox_milter() {
  [ -n "$milter_pid" ] || return 0
  kill -TERM "$milter_pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$milter_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$milter_pid" 2>/dev/null || true
  milter_pid=
}
trap stop_sandbox_milter EXIT

# A fresh machine: no smime-milter from scripts/quickstart (in /usr/local,
# first in PATH), no configuration, no store, no user. All in the overlay.
make_machine_fresh() {
  rm -rf /etc/smime-milter "$state" /run/smime-milter \
    /usr/local/sbin/smime-milter /usr/local/bin/smimectl \
    /usr/local/lib/systemd/system/smime-milter.service \
    /etc/systemd/system/smime-milter.service "$wants"
  if id "$user" >/dev/null 2>&1; then
    userdel "$user" >/dev/null 2>&1 || fail "cannot remove the user $user in the sandbox"
  fi
  getent group "$user" >/dev/null && groupdel "$user"
  if dpkg -s smime-milter >/dev/null 2>&1; then
    dpkg --purge smime-milter >/dev/null
  fi
  return 0
}

check_installed() {
  dpkg -s smime-milter | grep -q '^Status: install ok installed' \
    || fail "dpkg does not list smime-milter as installed"
  local uid shell
  uid=$(id -u "$user") || fail "postinst did not create the user $user"
  [ "$uid" -lt 1000 ] || fail "$user is not a system user (uid $uid)"
  shell=$(getent passwd "$user" | cut -d: -f7)
  [ "$shell" = /usr/sbin/nologin ] || fail "$user has a login shell: $shell"
  [ "$(stat -c '%U %a' "$state")" = "$user 750" ] \
    || fail "$state: $(stat -c '%U %a' "$state"), expected $user 750"
  local f
  for f in store.db master.key; do
    [ "$(stat -c %U "$state/$f" 2>/dev/null)" = "$user" ] \
      || fail "postinst did not create $state/$f owned by $user"
  done
  [ -f "$conf" ] || fail "$conf is missing"
  grep -q '^  user = "smime-milter";' "$conf" || fail "$conf does not drop privileges to $user"
  /usr/sbin/smime-milter -n -c "$conf" || fail "smime-milter -n -c $conf failed"
  runuser -u "$user" -- /usr/bin/smimectl -c "$conf" stats >/dev/null \
    || fail "smimectl stats as $user failed"
  echo "installed: user, state directory, store, configuration: ok"
}

# Without a running systemd, deb-systemd-helper still enables the unit:
# the link that makes systemd start it at the next boot.
check_unit() {
  [ -f "$unit" ] || fail "$unit is missing"
  grep -q '^ExecStart=/usr/sbin/smime-milter -f -c /etc/smime-milter/smime-milter.conf$' "$unit" \
    || fail "the unit does not start /usr/sbin/smime-milter"
  [ "$(readlink "$wants")" = "$unit" ] \
    || fail "the unit is not enabled ($wants -> $(readlink "$wants" || echo nothing))"
  if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify --man=no "$unit" \
      || fail "systemd-analyze verify $unit failed"
  fi
  if [ -d /run/systemd/system ]; then
    echo "systemd runs: postinst started the unit"
  else
    echo "systemd does not run here: unit installed and enabled, not started"
  fi
}

# The packaged configuration, as is, runs: the milter opens its socket as
# root, drops to the system user, and uses the store postinst made.
check_milter_runs() {
  local port log=/tmp/smime-milter-package.log i=0
  port=$(free_port)
  /usr/sbin/smime-milter -f -c "$conf" -p "inet:$port@127.0.0.1" >"$log" 2>&1 &
  milter_pid=$!
  until grep -q "listening on" "$log"; do
    kill -0 "$milter_pid" 2>/dev/null || { cat "$log" >&2; fail "the milter exited"; }
    i=$((i + 1))
    [ $i -lt 100 ] || { cat "$log" >&2; fail "the milter does not listen"; }
    sleep 0.1
  done
  sleep 0.3
  [ "$(ps -o user= -p "$milter_pid")" = "$user" ] \
    || fail "the milter runs as $(ps -o user= -p "$milter_pid"), not $user"
  stop_sandbox_milter
  echo "the packaged configuration runs: listening on port $port as $user"
}

# An administrator's change to the conffile survives a reinstallation.
check_conffile_kept() {
  echo '# changed by the administrator' >>"$conf"
  dpkg -i "$deb" >/dev/null || fail "reinstalling the package failed"
  grep -q '^# changed by the administrator$' "$conf" \
    || fail "reinstalling overwrote the administrator's $conf"
  echo "conffile kept on reinstallation: ok"
}

check_removed() {
  dpkg -r smime-milter >/dev/null || fail "dpkg -r failed"
  [ ! -e /usr/sbin/smime-milter ] && [ ! -e /usr/bin/smimectl ] && [ ! -e "$unit" ] \
    || fail "dpkg -r left binaries or the unit"
  [ -f "$conf" ] && [ -f "$state/store.db" ] && [ -f "$state/master.key" ] \
    || fail "dpkg -r removed the configuration or the store (only purge may)"
  echo "removed: binaries gone, configuration and store kept"
}

check_purged() {
  dpkg --purge smime-milter >/dev/null || fail "dpkg --purge failed"
  dpkg -s smime-milter >/dev/null 2>&1 && fail "dpkg still knows smime-milter after purge"
  local p left=()
  for p in /usr/sbin/smime-milter /usr/bin/smimectl "$unit" /etc/smime-milter \
           "$state" /run/smime-milter "$wants" /etc/systemd/system/smime-milter.service \
           /usr/share/doc/smime-milter /usr/share/man/man8/smime-milter.8.gz; do
    [ -e "$p" ] || [ -L "$p" ] && left+=("$p")
  done
  # deb-systemd-helper's own records of the unit.
  if ls /var/lib/systemd/deb-systemd-helper-enabled 2>/dev/null | grep -q smime; then
    left+=(/var/lib/systemd/deb-systemd-helper-enabled/...smime-milter...)
  fi
  if ls /var/lib/systemd/deb-systemd-helper-masked 2>/dev/null | grep -q smime; then
    left+=(/var/lib/systemd/deb-systemd-helper-masked/smime-milter.service)
  fi
  [ ${#left[@]} -eq 0 ] || fail "left after purge: ${left[*]}"
  # Debian keeps system users on purge (files they own may remain).
  id "$user" >/dev/null 2>&1 || fail "purge removed the system user (it should stay)"
  echo "purged: nothing left but the system user $user"
}

# A group left without its user (an administrator removed the user only):
# postinst puts the new user in it.
check_leftover_group() {
  userdel "$user"
  getent group "$user" >/dev/null || groupadd --system "$user"
  dpkg -i "$deb" >/dev/null || fail "dpkg -i with a leftover group $user failed"
  [ "$(id -gn "$user")" = "$user" ] || fail "the user was not put in the group $user"
  dpkg --purge smime-milter >/dev/null || fail "dpkg --purge failed"
  echo "reinstalled with a leftover group: ok"
}

make_machine_fresh
dpkg -i "$deb" || fail "dpkg -i $deb failed"
check_installed
check_unit
check_milter_runs
check_conffile_kept
check_removed
check_purged
check_leftover_group
