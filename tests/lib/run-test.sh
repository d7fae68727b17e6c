#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# run-test.sh SECONDS [--keeps-running] COMMAND...: ctest runs every test
# through this (tests/CMakeLists.txt).
#
# ctest's TIMEOUT kills only the test's own process tree, so daemons the
# test started and that detached (Postfix's master, slapd, PostgreSQL,
# gpg-agent) would outlive it. Here the test gets a deadline of its own a
# little below ctest's, is sent TERM at it (its traps stop its daemons),
# KILL shortly after; then whatever the test left running is reported,
# stopped, and fails the test. --keeps-running marks a fixture that
# starts a server for later tests (its cleanup test stops it).
set -u
seconds=$1
shift
keeps_running=0
if [ "${1:-}" = --keeps-running ]; then
  keeps_running=1
  shift
fi
# Leave ctest room for the cleanup below: a tenth of the limit, at least 10 s.
margin=$((seconds / 10))
[ "$margin" -lt 10 ] && margin=10
deadline=$((seconds - margin))
[ "$deadline" -lt 5 ] && deadline=5

rc=0
timeout -k 5 "$deadline" "$@" || rc=$?
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
  echo "run-test: the test did not finish within ${deadline}s; stopped it" >&2
fi

dir=${SMX_TEST_DIR:-$(pwd)}
[ "$keeps_running" = 1 ] && exit "$rc"
dirs=("$dir")
# An instance the test moved out of its directory (tests/lib/postfix.sh
# puts Postfix in /tmp/smx-pf.* when the path is too long) is still the
# test's. Only such private directories: a link to a shared tree would
# take other tests' processes with it.
for link in "$dir"/*; do
  [ -L "$link" ] || continue
  target=$(readlink -f "$link")
  case "$target" in /tmp/smx-*) [ -d "$target" ] && dirs+=("$target") ;; esac
done
if left=$(python3 "$(dirname "$0")/leftovers.py" --kill "${dirs[@]}"); then
  exit "$rc"
fi
echo "run-test: the test left these processes running (now stopped):" >&2
echo "$left" >&2
[ "$rc" = 0 ] || [ "$rc" = 77 ] && rc=1
exit "$rc"
