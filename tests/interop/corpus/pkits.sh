#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# NIST PKITS, the path-validation suite, through `smimectl verify --json`:
# every SignedValid* and SignedInvalid* message of the corpus
# (pkits-nist/smime, certificates and CRLs inside each SignedData) is
# verified with the PKITS trust anchor as the only anchor, and the
# signature's chain_valid must equal the label in its name. The
# disagreements we know of are listed below with their reasons; any
# other, or one of them that no longer happens, fails the test.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
set -o pipefail
need_cmd openssl python3

C=${SMX_CORPUS_DIR:-}
P=${C:+$C/pkits-nist}
# The corpus is shared data next to the checkout, not a peer program:
# where it is absent the test is skipped, even with SMX_REQUIRE_PEERS.
if [ -z "$C" ] || [ ! -f "$P/certs/TrustAnchorRootCertificate.crt" ]; then
  echo "SKIP: PKITS corpus not found (SMX_CORPUS_DIR=${C:-unset}); it lives in ../shared/corpus/pkits-nist" >&2
  exit 77
fi

# message (without .eml) | why chain_valid differs from the label
expected_disagreements() {
cat <<'TABLE'
SignedValidDSAParameterInheritanceTest5|OpenSSL 3 cannot use a DSA key whose parameters are inherited from its issuer ("decode error"): the signature is not verifiable at all, so no path is valid. OpenSSL's own command line fails it the same way.
SignedValidcRLIssuerTest30|the end entity's CRL is an indirect CRL whose issuer certificate is found through the cRLIssuer name of a distribution point; OpenSSL does not build that CRL issuer's path ("CRL path validation error"), with its command line too.
TABLE
}

W=$(fresh_dir pkits)
cat > "$W/smime-milter.conf" <<CONF
milter: { internal_domains = [ "example.com" ]; authserv_id = "mx.example.com"; };
store: { backend = "sqlite"; path = "$W/store.db"; };
keys: { master_key_file = "$W/master.key"; };
verify: { ca_file = "none"; };
CONF
ctl() { "$SMX_BIN_DIR/smimectl" -c "$W/smime-milter.conf" "$@"; }
ctl init >/dev/null || fail "smimectl init"
ctl trust add "$P/certs/TrustAnchorRootCertificate.crt" >/dev/null ||
  fail "smimectl trust add"

expected_disagreements | cut -d'|' -f1 | sort > "$W/known"
: > "$W/seen"
total=0 agree=0 problems=0
for f in "$P"/smime/SignedValid*.eml "$P"/smime/SignedInvalid*.eml; do
  name=$(basename "$f" .eml)
  case "$name" in SignedValid*) want=true ;; *) want=false ;; esac
  out=$(ctl --json verify "$f") || { echo "FAIL: $name: smimectl verify failed" >&2; problems=$((problems + 1)); continue; }
  got=$(printf '%s' "$out" | python3 -c '
import json, sys
s = json.load(sys.stdin)["signatures"]
print("none" if not s else ("true" if s[0]["chain_valid"] else "false") + " " + s[0]["chain_reason"])')
  total=$((total + 1))
  if [ "${got%% *}" = "$want" ]; then
    agree=$((agree + 1))
  else
    echo "$name" >> "$W/seen"
    grep -qx "$name" "$W/known" ||
      { echo "FAIL: $name: chain_valid ${got%% *}, label says $want (${got#* })" >&2; problems=$((problems + 1)); }
  fi
done
sort -o "$W/seen" "$W/seen"
for gone in $(comm -23 "$W/known" "$W/seen"); do
  echo "FAIL: $gone now agrees with its label: take it out of the table" >&2
  problems=$((problems + 1))
done
echo "PKITS: $agree of $total labelled messages agree; $(wc -l < "$W/seen") known disagreement(s)"
[ "$total" -ge 200 ] || fail "only $total labelled messages found"
[ "$problems" = 0 ] || fail "$problems problem(s)"
echo PASS
