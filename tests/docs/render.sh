#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The manual pages render without a single groff warning (groff -ww),
# through man -l as a reader would see them, carry the sections a manual
# page needs, and are installed by cmake --install where man finds them.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"

need_cmd groff man cmake
docs="$SMX_SOURCE_DIR/docs"
pages=(smime-milter.8 smime-milter.conf.5 smimectl.1)
work=$(fresh_dir work)
trap 'rm -rf "$work"' EXIT

# sections PAGE: the .SH headings of PAGE, one per line, without quotes.
sections() {
  sed -n 's/^\.SH  *//p' "$1" | tr -d '"'
}

for p in "${pages[@]}"; do
  src="$docs/$p"
  [ -r "$src" ] || fail "$src is missing"

  groff -ww -man -Tutf8 "$src" >"$work/$p.txt" 2>"$work/$p.groff.err" ||
    fail "$p: groff failed: $(cat "$work/$p.groff.err")"
  [ -s "$work/$p.groff.err" ] &&
    fail "$p: groff -ww warns: $(cat "$work/$p.groff.err")"

  # man -l: the way a reader opens a page that is not installed.
  MANPAGER=cat PAGER=cat MANWIDTH=80 LC_ALL=C.UTF-8 \
    man --warnings=w -l "$src" >"$work/$p.man" 2>"$work/$p.man.err" ||
    fail "$p: man -l failed: $(cat "$work/$p.man.err")"
  [ -s "$work/$p.man.err" ] &&
    fail "$p: man -l warns: $(cat "$work/$p.man.err")"
  sed 's/.\x08//g' "$work/$p.man" >"$work/$p.plain"
  grep -q '^NAME' "$work/$p.plain" || fail "$p: man -l shows no NAME section"
  long=$(LC_ALL=C.UTF-8 grep '.\{81,\}' "$work/$p.plain")
  [ -z "$long" ] || fail "$p: lines wider than 80 columns: $long"

  want=(NAME SYNOPSIS DESCRIPTION FILES EXAMPLES "SEE ALSO")
  case $p in
    *.8) want+=(OPTIONS SIGNALS "EXIT STATUS") ;;
    *.1) want+=(OPTIONS COMMANDS "EXIT STATUS") ;;
  esac
  for s in "${want[@]}"; do
    sections "$src" | grep -qx "$s" || fail "$p: no $s section"
  done
  # The title names the page and its section, as its file name does.
  name=${p%.*} section=${p##*.}
  grep -q "^\.TH ${name^^} $section " "$src" ||
    fail "$p: .TH does not name ${name^^} in section $section"
  echo "ok: $p renders cleanly ($(wc -l <"$work/$p.plain") lines)"
done

# Every command in smimectl's own usage text, and every option in
# smime-milter's, has an entry (a .TP tag, rendered at the indent of 7).
has_entry() {
  grep -q "^       $2\( \|\$\)" "$work/$1.plain"
}
"$SMX_BIN_DIR/smimectl" -h >"$work/ctl.usage" 2>&1 || fail "smimectl -h failed"
{
  sed -n 's/^  \([a-z][a-z0-9-]*\)\( .*\)\{0,1\}$/\1/p' "$work/ctl.usage" |
    grep -vx 'trust\|ca'
  grep -oE '\b(trust|ca) [a-z]+' "$work/ctl.usage"
} | sort -u >"$work/ctl.commands"
[ "$(wc -l <"$work/ctl.commands")" -gt 20 ] ||
  fail "read only $(wc -l <"$work/ctl.commands") commands from smimectl -h"
while read -r cmd; do
  has_entry smimectl.1 "$cmd" || fail "smimectl(1): no entry for '$cmd'"
done <"$work/ctl.commands"
"$SMX_BIN_DIR/smime-milter" -h >"$work/milter.usage" 2>&1 ||
  fail "smime-milter -h failed"
for opt in $(grep -oE '^  -[A-Za-z]' "$work/milter.usage") -h; do
  has_entry smime-milter.8 "$opt" || fail "smime-milter(8): no entry for $opt"
done
echo "ok: every smimectl command and smime-milter option has an entry"

# cmake --install puts the pages where man looks for them (the "man"
# component alone: the test does not depend on what else is built).
prefix="$work/prefix"
cmake --install "$SMX_BUILD_DIR" --prefix "$prefix" --component man \
  >"$work/install.log" 2>&1 ||
  fail "cmake --install failed: $(tail -5 "$work/install.log")"
for p in "${pages[@]}"; do
  f=$(find "$prefix" -path "*/man${p##*.}/$p" -type f)
  [ -n "$f" ] || fail "cmake --install did not install $p into man${p##*.}"
  cmp -s "$f" "$docs/$p" || fail "installed $f differs from docs/$p"
done
MANPATH="$prefix/share/man" MANPAGER=cat PAGER=cat MANWIDTH=80 \
  man 5 smime-milter.conf 2>"$work/installed.err" | grep -q 'milter.socket' ||
  fail "man 5 smime-milter.conf does not find the installed page: $(cat "$work/installed.err")"
echo "ok: cmake --install installs the pages, and man finds them"
