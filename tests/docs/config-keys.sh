#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# smime-milter.conf(5) documents exactly the configuration keys the code
# accepts. The code's list comes from doc-keys (the loader's table
# cfg_settings[] and the policy parser's policy_key_name(), each policy
# key proven by feeding its example to the parser); the page's list is
# every key that is the tag of a .TP entry. The test fails naming each key
# missing from the page and each key the page documents but the code does
# not accept; it also checks that each entry states the key's type and
# default as the table has them.
#
# Then it checks itself: a copy of the page without one key, and one with
# an invented key, must both be refused, each naming that key.
#
# Usage: config-keys.sh PATH-TO-doc-keys
. "$SMX_SOURCE_DIR/tests/lib/common.sh"

doc_keys=${1:?usage: config-keys.sh PATH-TO-doc-keys}
page="$SMX_SOURCE_DIR/docs/smime-milter.conf.5"
work=$(fresh_dir work)
trap 'rm -rf "$work"' EXIT

[ -r "$page" ] || fail "$page is missing"
"$doc_keys" >"$work/code.tsv" 2>"$work/doc-keys.err" ||
  fail "doc-keys failed: $(cat "$work/doc-keys.err")"
[ "$(wc -l <"$work/code.tsv")" -gt 50 ] ||
  fail "doc-keys listed only $(wc -l <"$work/code.tsv") keys"

# page_entries PAGE: "key<TAB>entry text" for every key entry of PAGE. A
# key entry is a .TP whose tag line is .B or .BI with a dotted lower-case
# name (".BI policy. layer .sign" is policy.layer.sign); its text runs to
# the next .TP, .SS or .SH, with roff escapes for fonts and dashes removed
# and lines joined by spaces.
page_entries() {
  awk '
    function clean(s, is_macro) {
      if (is_macro) gsub(/"/, "", s)  # roff quoting of macro arguments
      gsub(/\\f[BIRP]/, "", s); gsub(/\\f\(CR/, "", s); gsub(/\\c$/, "", s)
      gsub(/\\-/, "-", s); gsub(/\\\(dq/, "\"", s); gsub(/\\[&%]/, "", s)
      return s
    }
    function flush() { if (key != "") print key "\t" text; key = ""; text = "" }
    /^\.(TP|SS|SH)/ { flush(); after_tp = ($0 ~ /^\.TP/); next }
    after_tp {
      after_tp = 0
      if ($0 ~ /^\.BI? /) {
        tag = $0; sub(/^\.BI? /, "", tag)
        gsub(/ /, "", tag); tag = clean(tag, 1)
        if (tag ~ /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/) { key = tag; next }
      }
    }
    key != "" && $0 !~ /^\.\\"/ {
      line = $0; is_macro = sub(/^\.[A-Za-z]+ ?/, "", line)
      text = text (text == "" ? "" : " ") clean(line, is_macro)
    }
    END { flush() }
  ' "$1"
}

# type_and_default KEY TYPE DEFAULT TEXT: the problem with the entry of
# KEY, or nothing. The entry starts with the type (a choice may call
# itself a string); a default from the table must appear after the word
# "default" as it is written in a configuration file.
type_and_default() {
  local key=$1 type=$2 default=$3 text=$4 want word
  [ "$type" = policy ] && return 0
  case $type:$text in
    "$type":"$type"[,\;\ ]* | choice:string[,\;\ ]*) ;;
    *) echo "$key: the entry should start with its type, '$type'"; return 0 ;;
  esac
  [ "$default" = - ] && return 0
  case $type in
    list)
      for word in $default; do
        case $text in
          *"default ["*"\"$word\""*) ;;
          *) echo "$key: the default list should show \"$word\"" ;;
        esac
      done
      return 0 ;;
    integer|boolean) want="default $default" ;;
    *) want="default \"$default\"" ;;
  esac
  case $text in
    *"$want"*) ;;
    *) echo "$key: the entry should say: $want" ;;
  esac
}

# check_page PAGE: prints every problem of PAGE and returns 1 if any.
check_page() {
  local page=$1 problems=0 key type default text
  page_entries "$page" >"$work/entries.tsv"
  cut -f1 "$work/entries.tsv" | sort >"$work/page.keys"
  cut -f1 "$work/code.tsv" | sort >"$work/code.keys"
  for key in $(sort "$work/page.keys" | uniq -d); do
    echo "documented more than once in smime-milter.conf(5): $key"
    problems=1
  done
  for key in $(comm -23 "$work/code.keys" <(sort -u "$work/page.keys")); do
    echo "missing from smime-milter.conf(5): $key (accepted by the code)"
    problems=1
  done
  for key in $(comm -13 "$work/code.keys" <(sort -u "$work/page.keys")); do
    echo "documented in smime-milter.conf(5) but not accepted by the code: $key"
    problems=1
  done
  while IFS=$'\t' read -r key type default; do
    text=$(awk -F'\t' -v k="$key" '$1 == k { print $2; exit }' \
      "$work/entries.tsv")
    [ -n "$text" ] || continue
    local why
    why=$(type_and_default "$key" "$type" "$default" "$text")
    if [ -n "$why" ]; then
      echo "$why"
      problems=1
    fi
  done <"$work/code.tsv"
  return $problems
}

echo "== $(wc -l <"$work/code.tsv") keys accepted by the code"
if ! check_page "$page" >"$work/problems"; then
  cat "$work/problems" >&2
  fail "smime-milter.conf(5) and the code disagree ($(wc -l <"$work/problems") problems)"
fi
echo "ok: every key is documented, with its type and default, and nothing else"

# The check must catch a key missing from the page ...
victim=milter.spool_threshold
grep -q "^\.B $victim\$" "$page" || fail "self-check: no entry for $victim"
awk -v v=".B $victim" '$0 == v { print ".B removed.for_selfcheck"; next } 1' \
  "$page" >"$work/without.5"
if check_page "$work/without.5" >"$work/out1"; then
  fail "self-check: a page without $victim passed"
fi
grep -q "missing from smime-milter.conf(5): $victim " "$work/out1" ||
  fail "self-check: the missing $victim was not named: $(cat "$work/out1")"
grep -q "not accepted by the code: removed.for_selfcheck" "$work/out1" ||
  fail "self-check: an unknown key was not named: $(cat "$work/out1")"

# ... a policy key missing from the page ...
awk '$0 == ".B policy.decrypt_inbound" { print ".B policy.decrypt_inbound_x"; next } 1' \
  "$page" >"$work/nopolicy.5"
check_page "$work/nopolicy.5" >"$work/out2" &&
  fail "self-check: a page without policy.decrypt_inbound passed"
grep -q "missing from smime-milter.conf(5): policy.decrypt_inbound " "$work/out2" ||
  fail "self-check: the missing policy key was not named: $(cat "$work/out2")"

# ... and a wrong default.
awk '/^\.B milter\.spool_threshold$/ { in_entry = 1 }
     /^\.TP/ { in_entry = 0 }
     in_entry { gsub(/1M/, "2M") } 1' "$page" >"$work/default.5"
cmp -s "$page" "$work/default.5" && fail "self-check: could not alter a default"
check_page "$work/default.5" >"$work/out3" &&
  fail "self-check: a page with a wrong default passed"
grep -q "milter.spool_threshold: the entry should say: default \"1M\"" "$work/out3" ||
  fail "self-check: the wrong default was not named: $(cat "$work/out3")"
echo "ok: the check names a missing key, an unknown key and a wrong default"
