#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# smimectl's certificate commands on one backend:  smimectl-cli.sh sqlite|postgresql
# import-cert (PEM, DER, PKCS#7 certs-only), list, show, remove, trust,
# stats, --json, and the exit codes (0 ok, 1 usage or
# configuration, 2 runtime failure; every error names its object).
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
set -o pipefail
backend=${1:?backend}
need_cmd openssl python3
W=$(fresh_dir work)
cd "$W" || fail "no work dir"
CTL="$SMX_BIN_DIR/smimectl"
if [ "$backend" = postgresql ]; then
  [ -s "${SMX_PG_CONNINFO_FILE:-}" ] || skip "no PostgreSQL fixture"
  store="backend = \"postgresql\"; conninfo = \"$(cat "$SMX_PG_CONNINFO_FILE")\";"
else
  store="backend = \"sqlite\"; path = \"$W/store.db\";"
fi
cat > store.conf <<CONF
milter: { internal_domains = [ "example.com" ]; };
store: { $store };
keys: { master_key_file = "$W/master.key"; };
CONF
ctl() { "$CTL" -c "$W/store.conf" "$@"; }
expect_rc() {
  local want=$1 rc=0
  shift
  "$@" >"$W/out" 2>"$W/err" || rc=$?
  [ "$rc" = "$want" ] || { cat "$W/out" "$W/err" >&2; fail "'$*' exited $rc, want $want"; }
}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
  -out ca.pem -days 30 -subj "/CN=CLI CA" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=keyCertSign" 2>/dev/null || fail "CA"
issue() {
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
    -subj "/CN=$1" -out "$1.csr" 2>/dev/null
  printf "subjectAltName=email:%s\nkeyUsage=digitalSignature,keyAgreement\n" "$2" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 10 \
    -extfile "$1.ext" -out "$1.pem" 2>/dev/null || fail "issue $1"
}
issue carol carol@partner.example
issue dave Dave@Partner.example
issue erin erin@partner.example
openssl x509 -in dave.pem -outform DER -out dave.der
openssl crl2pkcs7 -nocrl -certfile erin.pem -out erin.p7b -outform DER
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f; }

expect_rc 1 ctl                       # no command
expect_rc 1 ctl frobnicate            # unknown command
expect_rc 1 ctl import-cert           # missing argument
expect_rc 0 ctl init
expect_rc 0 ctl init
grep -q "schema version 6" out || fail "init output: $(cat out)"

# unverified until the CA is an anchor
expect_rc 0 ctl import-cert carol.pem
grep -q "unverified" out || fail "carol should be unverified: $(cat out)"
expect_rc 0 ctl trust add ca.pem
expect_rc 0 ctl trust list --json
[ "$(json 'len(d)' < out)" = 1 ] || fail "one anchor expected"
expect_rc 0 ctl import-cert dave.der erin.p7b
grep -q "dave.der: .* imported (trusted" out || fail "DER import: $(cat out)"
grep -q "erin.p7b: .* imported (trusted" out || fail "PKCS#7 import: $(cat out)"
expect_rc 0 ctl import-cert carol.pem     # again: idempotent, now trusted
grep -q "already known" out || fail "re-import: $(cat out)"
expect_rc 0 ctl list --json
[ "$(json 'len(d)' < out)" = 3 ] || fail "3 certificates expected: $(cat out)"
expect_rc 0 ctl list DAVE@partner.example --json
[ "$(json 'd[0]["emails"][0]' < out)" = dave@partner.example ] || fail "address lookup"
[ "$(json 'd[0]["trust"]' < out)" = trusted ] || fail "dave not trusted"

F=$(fp erin.pem)
expect_rc 0 ctl show "${F:0:12}"
grep -q "erin@partner.example" out || fail "show by prefix"
expect_rc 0 ctl show "$F" --json
[ "$(json 'd["key_type"]' < out)" = ec ] || fail "show --json"
expect_rc 2 ctl show 0000000000000000000000000000000000000000000000000000000000000000
grep -q "0000000000000000000000000000000000000000000000000000000000000000: no such certificate" err || fail "$(cat err)"
expect_rc 0 ctl trust pin "$F"
expect_rc 0 ctl show "$F" --json
[ "$(json 'd["trust"]' < out)" = pinned ] || fail "pin"
expect_rc 0 ctl remove "$F"
expect_rc 2 ctl remove "$F"
grep -q "${F}: no such certificate" err || fail "$(cat err)"
expect_rc 2 ctl import-cert missing.pem
grep -q "missing.pem: No such file" err || fail "$(cat err)"
echo "garbage" > junk.pem
expect_rc 2 ctl import-cert junk.pem
grep -q "junk.pem: no certificate found" err || fail "$(cat err)"

expect_rc 0 ctl stats --json
[ "$(json 'd["certificates"]' < out)" = 2 ] || fail "stats: $(cat out)"
[ "$(json 'd["trust_anchors"]' < out)" = 1 ] || fail "stats anchors"
A=$(fp ca.pem)
expect_rc 0 ctl trust remove "$A"
expect_rc 2 ctl trust remove "$A"

# configuration errors are exit 1 and name the file
echo "store: { backend = \"oracle\"; };" > bad.conf
expect_rc 1 "$CTL" -c "$W/bad.conf" list
grep -q "bad.conf" err || fail "config error does not name the file: $(cat err)"
echo "PASS ($backend)"
