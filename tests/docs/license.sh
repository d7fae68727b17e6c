#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The project is BSD-2-Clause: LICENSE holds the text, and every source
# file (C, shell, Python, Lua, CMake, configuration, manual pages) says so
# in an SPDX-License-Identifier line near its top.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
cd "$SMX_SOURCE_DIR" || fail "no source dir"

grep -q '^BSD 2-Clause License$' LICENSE || fail "LICENSE is not the BSD 2-Clause license"

# The tracked files when this is a git checkout, otherwise every file.
list_files() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files
  else
    find . -path ./build -prune -o -path './build-*' -prune -o -path ./.git -prune \
      -o -type f -print | sed 's|^\./||'
  fi
}

# is_source FILE: a file of a kind that carries the line.
is_source() {
  case "$1" in
    tests/fuzz/regress/*) return 1 ;;
    *.c | *.h | *.sh | *.py | *.lua | *.cmake | *.conf | *.cf | *.mc | *.service | \
      *.[158] | */CMakeLists.txt | CMakeLists.txt) return 0 ;;
  esac
  [ "$(head -c 2 "$1")" = '#!' ]
}

missing=0
while IFS= read -r f; do
  [ -f "$f" ] && is_source "$f" || continue
  if ! head -n 5 "$f" | grep -q 'SPDX-License-Identifier: BSD-2-Clause'; then
    echo "no SPDX-License-Identifier line: $f" >&2
    missing=$((missing + 1))
  fi
done < <(list_files)
[ "$missing" = 0 ] || fail "$missing source files lack the SPDX-License-Identifier line"
echo "PASS"
