#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Fuzzes one target for longer than scripts/test does:
#   tests/fuzz/run-long.sh TARGET SECONDS [JOBS]
# e.g. tests/fuzz/run-long.sh fuzz_decrypt 3600
# Builds the libFuzzer binaries (clang, ASan+UBSan) in build-fuzz/ (or
# $SMX_FUZZ_BUILD), fuzzes TARGET for SECONDS with JOBS processes
# (default 1; more use libFuzzer's -fork), keeping the grown corpus in
# build-fuzz/fuzz-corpus/TARGET (shared with scripts/test) and crashing
# inputs as build-fuzz/artifacts/TARGET-crash-*. A crash becomes a
# regression test by copying its input to tests/fuzz/regress/TARGET/
# (the replay ctest runs everything there).
set -eu
if [ $# -lt 2 ]; then
  echo "usage: $0 TARGET SECONDS [JOBS]" >&2
  exit 1
fi
target=$1 secs=$2 jobs=${3:-1}
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${SMX_FUZZ_BUILD:-$top/build-fuzz}
CC=clang cmake -S "$top" -B "$build" -DSMIME_FUZZ=ON -DSMIME_BUILD_TESTS=ON \
  -DCMAKE_BUILD_TYPE=Debug > /dev/null
cmake --build "$build" -j"$jobs" --target "$target"
if [ ! -x "$build/bin/$target" ]; then
  echo "$0: no fuzz target $target in $build/bin" >&2
  exit 1
fi
corpus=$build/fuzz-corpus/$target
mkdir -p "$corpus" "$build/artifacts"
set -- "$corpus" "$build/tests/fuzz/corpus-$target"
[ -d "$top/tests/fuzz/regress/$target" ] && set -- "$@" "$top/tests/fuzz/regress/$target"
# several processes: libFuzzer's fork mode
parallel=
[ "$jobs" -gt 1 ] && parallel="-fork=$jobs"
# Full stacks (glib has no frame pointers): suppressions can match.
export ASAN_OPTIONS=fast_unwind_on_malloc=0
export LSAN_OPTIONS=suppressions=$top/tests/fuzz/lsan.supp
# libconfig 1.5 leaks 64 bytes per failed parse (lsan.supp): fuzz_cfg
# and fuzz_policy grow by ~300 MB per million runs, so an hour needs more
# than libFuzzer's default 2 GB. SMX_FUZZ_ARGS adds libFuzzer options.
# shellcheck disable=SC2086
exec "$build/bin/$target" -max_total_time="$secs" -print_final_stats=1 \
  -rss_limit_mb=8192 $parallel ${SMX_FUZZ_ARGS:-} \
  -artifact_prefix="$build/artifacts/$target-" "$@"
