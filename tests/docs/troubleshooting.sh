#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# docs/troubleshooting.md covers every SMTP reply the milter can give and
# every action its log lines name, read from the code itself, so that a
# reply or action added to milter/*.c (or to the reply tables of
# policy/policy-reply.c) without a word for the
# administrator fails here. README.md and docs/install.md link to it.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
cd "$SMX_SOURCE_DIR" || fail "no source dir"

page=docs/troubleshooting.md
[ -f "$page" ] || fail "$page is missing"
grep -qF "(docs/troubleshooting.md)" README.md || fail "README.md does not link to $page"
grep -qF "(troubleshooting.md)" docs/install.md || fail "docs/install.md does not link to $page"

missing=0
miss() {
  echo "$page lacks $1" >&2
  missing=$((missing + 1))
}

# Reply codes with their enhanced codes: "550", "5.7.1" (a set_reply call
# or a table row) and rcode[] = "451", xcode[] = "4.3.0" alike. The page
# must name each pair as "550 5.7.1".
pairs=$(grep -ohE '"[245][0-9]{2}"[^"]{0,24}"[245]\.[0-9]{1,3}\.[0-9]{1,3}"' milter/*.c policy/policy-reply.c |
  sed -E 's/^"([0-9]+)".*"([0-9.]+)"$/\1 \2/' | sort -u)
n_pairs=$(printf '%s\n' "$pairs" | grep -c . || true)
[ "$n_pairs" -ge 6 ] || fail "found only $n_pairs reply codes in milter/*.c: the extraction is broken"
while IFS= read -r pair; do
  grep -qF "$pair" "$page" || miss "the reply $pair"
done <<<"$pairs"

# A reply code given without an enhanced code would escape the pairs.
codes=$(grep -ohE '"[245][0-9]{2}"' milter/*.c policy/policy-reply.c | tr -d '"' | sort -u)
for code in $codes; do
  grep -qE "\b$code [245]\.[0-9]" "$page" || miss "the reply code $code"
done

# Actions of the log lines: those reply() in milter/decide.c assigns and
# every one of policy/policy-reply.c (the replies of a message's decision
# and the RCPT-time table, { "550", "5.7.1", "reject" }).
actions=$(
  {
    awk '/^static sfsistat reply\(/,/^}/' milter/decide.c | grep -oE '"[a-z+]+"'
    grep -oE '"[a-z+]+"' policy/policy-reply.c
  } | tr -d '"' | sort -u)
n_actions=$(printf '%s\n' "$actions" | grep -c . || true)
[ "$n_actions" -ge 8 ] || fail "found only $n_actions actions in milter/decide.c and policy/policy-reply.c: the extraction is broken"
for a in $actions; do
  grep -qF "action=$a" "$page" || miss "action=$a"
done

# The policy's action names (policy_action_name), which its reasons and
# smimectl explain print; "unset" never reaches a decision.
names=$(awk '/^const char \*policy_action_name\(/,/^}/' policy/policy-decide.c |
  awk '/names\[\] = \{/,/\};/' | grep -oE '"[a-z]+"' | tr -d '"' | grep -vx unset)
[ -n "$names" ] || fail "no action names found in policy/policy-decide.c"
for a in $names; do
  grep -qF "\`$a\`" "$page" || miss "the policy action \`$a\`"
done

[ "$missing" = 0 ] || fail "$missing replies or actions of the code are not in $page"
echo "PASS: $n_pairs replies, $n_actions actions, policy actions: $(echo $names)"
