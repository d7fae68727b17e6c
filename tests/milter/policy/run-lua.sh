#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Runs one miltertest script against the real smime-milter with a policy
# file, then checks the milter's log for the expected lines.
#   run-lua.sh SCRIPT.lua POLICY.conf EXPECTED-LOG-PATTERNS-FILE
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
need_cmd miltertest
script=$1 policy=$2 expected=$3
port=$(free_port)
conf="$SMX_TEST_DIR/milter.conf"
log="$SMX_TEST_DIR/milter.log"
: > "$log"
write_milter_conf "$conf" "$port"
cat "$policy" >> "$conf"
trap stop_milter EXIT
start_milter "$conf" "$log"
MILTER_PORT=$port miltertest -s "$script" || fail "miltertest $script failed"
stop_milter
[ "$MILTER_RC" = 0 ] || fail "milter exited $MILTER_RC"
while IFS= read -r pattern; do
  [ -n "$pattern" ] || continue
  grep -qE -- "$pattern" "$log" || { cat "$log" >&2; fail "log lacks: $pattern"; }
done < "$expected"
if grep -qE "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" "$log"; then
  cat "$log" >&2
  fail "sanitizer report in the milter log"
fi
echo PASS
