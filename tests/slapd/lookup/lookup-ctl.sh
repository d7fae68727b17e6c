#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# smimectl lookup and publish against a real slapd (lookup-lib.sh):
# output, --json and exit codes of lookup (directory, cache, none,
# untrusted, slapd down); publish --dry-run writes nothing, publish writes
# both attributes (read back with ldapsearch and openssl), a second
# publish changes nothing, publish = false refuses.
. "$SMX_SOURCE_DIR/tests/slapd/lookup/lookup-lib.sh"
set -o pipefail

CTL="$SMX_BIN_DIR/smimectl"
ctl() { "$CTL" -c "$CONF" "$@"; }
# expect_rc RC CMD...: runs CMD (stdout in $W/out, stderr in $W/err).
expect_rc() {
  local want=$1 rc=0
  shift
  "$@" >"$W/out" 2>"$W/err" || rc=$?
  [ "$rc" = "$want" ] || { cat "$W/out" "$W/err" >&2; fail "'$*' exited $rc, want $want"; }
}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" < "$W/out"; }
has() { grep -q -- "$2" "$W/$1" || { cat "$W/out" "$W/err" >&2; fail "$1 lacks '$2'"; }; }

lookup_setup
expect_rc 0 ctl init
expect_rc 0 ctl trust add "$C/ca.pem"

# --- lookup ---------------------------------------------------------------
expect_rc 0 ctl lookup alice@example.com
has out "alice@example.com: 1 usable certificate"
has out "from directory"
has out "entry uid=alice,ou=people,dc=example,dc=com, userCertificate;binary"
[ "$(searches alice@example.com)" = 1 ] || fail "alice: slapd searched $(searches alice@example.com) times, want 1"
expect_rc 0 ctl --json lookup alice@example.com
[ "$(json 'd["answer"], d["directory_asked"], d["certificates"][0]["source"], d["certificates"][0]["usable"]')" = "available False cache True" ] ||
  fail "alice --json: $(cat "$W/out")"
[ "$(searches alice@example.com)" = 1 ] || fail "alice: the cached answer reached slapd"

expect_rc 2 ctl lookup nocert@example.com
has out "nocert@example.com: no usable certificate"
has err "nocert@example.com: no usable encryption certificate (asked: the store and the directory)"
expect_rc 2 ctl lookup nocert@example.com
has err "asked: the store and the directory cache"
[ "$(searches nocert@example.com)" = 1 ] || fail "nocert: the negative cache did not stop the second search"

expect_rc 2 ctl lookup olga@example.com
has out "rejected"
has out "not trusted"
expect_rc 2 ctl --json lookup olga@example.com
[ "$(json 'd["answer"], d["certificates"][0]["source"], "not trusted" in d["certificates"][0]["reason"]')" = "missing cache True" ] ||
  fail "olga --json: $(cat "$W/out")"

expect_rc 2 ctl lookup dave@example.com
has out "expired on 2021-01-01"
expect_rc 1 ctl lookup
expect_rc 1 ctl lookup a@example.com b@example.com

# --- publish ----------------------------------------------------------------
entry() {
  ldapsearch -LLL -o ldif-wrap=no -x -H "$SLAPD_URI" -b "dc=example,dc=com" \
    "(mail=kate@example.com)" userCertificate userSMIMECertificate > "$W/ldif" ||
    fail "ldapsearch failed"
}
expect_rc 0 ctl ca init --subject "CN=Lookup Test Mail CA"
expect_rc 0 ctl ca issue kate@example.com
expect_rc 2 ctl publish alice@example.com
has err "nothing to publish"

expect_rc 0 ctl publish kate@example.com --dry-run
has out "dry run: nothing written"
has out "would add"
has out "userCertificate;binary"
has out "userSMIMECertificate"
entry
grep -q "^userCertificate;binary::\|^userSMIMECertificate::" "$W/ldif" &&
  fail "--dry-run wrote to the directory"

lookup_write_conf "$W/off.conf" false
expect_rc 1 "$CTL" -c "$W/off.conf" publish kate@example.com
has err "publishing is off"
expect_rc 0 "$CTL" -c "$W/off.conf" publish kate@example.com --dry-run

expect_rc 0 ctl publish kate@example.com
has out "uid=kate,ou=people,dc=example,dc=com updated"
has out "add    userCertificate;binary"
entry
kate_fp=$(ctl --json list kate@example.com | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["fingerprint"])')
sed -n 's/^userCertificate;binary:: //p' "$W/ldif" | base64 -d > "$W/kate.der"
got_fp=$(openssl x509 -inform DER -in "$W/kate.der" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
[ "$got_fp" = "$kate_fp" ] || fail "ldapsearch shows $got_fp in userCertificate;binary, want $kate_fp"
sed -n 's/^userSMIMECertificate:: //p' "$W/ldif" | base64 -d > "$W/kate.p7b"
openssl pkcs7 -inform DER -in "$W/kate.p7b" -print_certs -out "$W/kate-p7.pem" ||
  fail "openssl cannot read the published userSMIMECertificate"
[ "$(grep -c "BEGIN CERTIFICATE" "$W/kate-p7.pem")" = 1 ] || fail "the PKCS#7 blob does not hold exactly one certificate"
p7_fp=$(openssl x509 -in "$W/kate-p7.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
[ "$p7_fp" = "$kate_fp" ] || fail "the PKCS#7 blob holds $p7_fp, want $kate_fp"

expect_rc 0 ctl publish kate@example.com
has out "is up to date: no change"
expect_rc 0 ctl --json publish kate@example.com
[ "$(json 'd["changed"], len(d["changes"]), d["dn"]')" = "False 0 uid=kate,ou=people,dc=example,dc=com" ] ||
  fail "second publish --json: $(cat "$W/out")"
expect_rc 2 ctl publish nobody@example.com
expect_rc 1 ctl publish

# --- slapd down: unknown, never "none" ---------------------------------------
slapd_stop "$SLAPD_DIR"
expect_rc 2 ctl lookup carol@example.com
has out "carol@example.com: unknown"
has err "cannot tell whether it has a certificate: the directory did not answer"
expect_rc 2 ctl --json lookup carol@example.com
[ "$(json 'd["answer"]')" = unknown ] || fail "carol --json: $(cat "$W/out")"
expect_rc 0 ctl lookup alice@example.com	# cached
has out "from cache"
expect_rc 2 ctl lookup nocert@example.com	# negative cache
has err "no usable encryption certificate"
echo "smimectl lookup and publish behave"
