#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The test runner (tests/lib/run-test.sh) stops what a test leaves running
# and fails it for that; a test that overruns its deadline gets TERM (so
# its trap runs) before ctest's timeout would kill it without cleanup.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
need_cmd python3 setsid timeout

RUN="$SMX_SOURCE_DIR/tests/lib/run-test.sh"
W=$(fresh_dir work)
cd "$W" || fail "no work dir"

# alive PIDFILE: the process it names still runs.
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# 1. A test that passes but leaves a detached daemon: the daemon is
#    stopped and the test fails, naming it.
cat >leaky.sh <<'T'
#!/usr/bin/env bash
setsid sleep 600 </dev/null >/dev/null 2>&1 &
echo $! >"$SMX_TEST_DIR/daemon.pid"
exit 0
T
chmod +x leaky.sh
mkdir -p leaky
rc=0
SMX_TEST_DIR="$W/leaky" bash "$RUN" 60 "$W/leaky.sh" 2>leaky.err || rc=$?
[ "$rc" = 1 ] || fail "a leaky test passed (exit $rc)"
grep -q "left these processes running" leaky.err || fail "no report: $(cat leaky.err)"
grep -q "sleep 600" leaky.err || fail "the report does not name the daemon"
sleep 0.5
alive leaky/daemon.pid && fail "the leftover daemon still runs"

# 2. A fixture that keeps its server for later tests is left alone.
mkdir -p fixture
rc=0
SMX_TEST_DIR="$W/fixture" bash "$RUN" 60 --keeps-running "$W/leaky.sh" || rc=$?
[ "$rc" = 0 ] || fail "a fixture failed (exit $rc)"
alive fixture/daemon.pid || fail "the fixture's server was stopped"
python3 "$SMX_SOURCE_DIR/tests/lib/leftovers.py" --kill "$W/fixture" >/dev/null
alive fixture/daemon.pid && fail "leftovers.py --kill did not stop it"

# 3. A hung test is stopped at its own deadline, and its trap runs.
cat >hung.sh <<'T'
#!/usr/bin/env bash
trap 'echo cleaned >"$SMX_TEST_DIR/trap.ran"' EXIT
sleep 600
T
chmod +x hung.sh
mkdir -p hung
rc=0
SMX_TEST_DIR="$W/hung" bash "$RUN" 15 "$W/hung.sh" 2>hung.err || rc=$?
[ "$rc" = 124 ] || fail "a hung test ended with $rc, want 124 (timeout)"
[ -f hung/trap.ran ] || fail "the hung test's trap did not run"
grep -q "did not finish within 5s" hung.err || fail "no deadline message: $(cat hung.err)"

# 4. A clean test keeps its own exit status, skips included.
mkdir -p clean
rc=0
SMX_TEST_DIR="$W/clean" bash "$RUN" 60 bash -c 'exit 77' || rc=$?
[ "$rc" = 77 ] || fail "a skipped test ended with $rc"
echo "PASS"
