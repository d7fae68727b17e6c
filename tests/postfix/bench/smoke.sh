#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/run --smoke on this build: Postfix, smtp-sink, smtp-source and
# smime-milter really run, 20 messages pass through the milter (bench/run
# checks its log line for each), and the JSON report holds the cell.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
set -e
need_cmd python3 smtp-source cc
[ "$(id -u)" = 0 ] || skip "a private Postfix instance needs root"
out="$SMX_TEST_DIR/bench.json"
rm -f "$out"
rc=0
"$SMX_SOURCE_DIR/bench/run" --smoke --build-dir "$SMX_BUILD_DIR" \
  --work "$SMX_TEST_DIR/work" --out "$out" >"$SMX_TEST_DIR/bench.out" 2>&1 || rc=$?
cat "$SMX_TEST_DIR/bench.out"
[ "$rc" = 77 ] && exit 77
[ "$rc" = 0 ] || fail "bench/run --smoke exited $rc"
python3 - "$out" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
cells = report["results"]
assert len(cells) == 1, cells
c = cells[0]
assert (c["kind"], c["mode"], c["socket"]) == ("10K-text", "pass", "unix"), c
assert c["runs"][0]["messages"] == 20 and c["msgs_per_s"] > 0, c
assert c["milter_peak_rss_kb"] > 0, c
print("bench.json:", c["msgs_per_s"], "msg/s")
PY
echo PASS
