#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The documentation holds together: README.md stays short and points to
# the topic pages, every relative link in the Markdown pages leads to a
# file that exists (and an anchor to a heading of that file), and nothing
# in the repository refers to documents or tickets that are not in it.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
need_cmd python3
cd "$SMX_SOURCE_DIR" || fail "no source dir"

lines=$(wc -l <README.md)
[ "$lines" -le 300 ] || fail "README.md has $lines lines; keep it under 300 and move detail to docs/"

for page in docs/install.md docs/signing.md docs/encryption.md docs/verification.md \
            docs/decryption.md docs/store.md docs/ca.md docs/directory.md \
            docs/metrics.md docs/design.md docs/troubleshooting.md \
            docs/postfix-final-recipients.md docs/header-protection.md \
            bench/README.md tests/README.md; do
  [ -f "$page" ] || fail "$page is missing"
  grep -qF "($page)" README.md || grep -qF "(${page#docs/})" README.md \
    || fail "README.md does not link to $page"
done

python3 - <<'PY' || fail "broken links (above)"
import glob, os, re, sys
pages = ["README.md"] + glob.glob("docs/*.md") + ["bench/README.md", "tests/README.md"]
def anchors(path):
    out = set()
    for line in open(path, encoding="utf-8"):
        m = re.match(r"#+ (.*)", line)
        if m:
            a = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
            out.add(a)
    return out
bad = 0
for page in pages:
    text = open(page, encoding="utf-8").read()
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        dest = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
        if not os.path.exists(dest):
            print(f"{page}: link to a missing file: {target}"); bad += 1
        elif anchor and dest.endswith(".md") and anchor not in anchors(dest):
            print(f"{page}: link to a missing heading: {target}"); bad += 1
sys.exit(1 if bad else 0)
PY

# References to documents or tickets outside the repository.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  hits=$(git grep -nIE 'SPEC section|SPEC\.md|\bissue [0-9]+\b|\(issues? [0-9]' -- . \
         ':!tests/docs/doc-pages.sh' ':!tests/fuzz/regress' || true)
  [ -z "$hits" ] || { echo "$hits" >&2; fail "references to documents or tickets outside the repository"; }
fi
echo "PASS"
