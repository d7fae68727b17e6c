#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# ca.enroll_known_only through a real Postfix and a real slapd: the login
# relay, which policy.signers grants "@example.com", sends as george (an
# entry in the directory, no certificate yet), as stored (a certificate
# imported into the store, no key) and as an invented address; george
# and stored are enrolled and signed, the invented address gets no
# certificate and its message is handled as any sender's without a key
# (the built-in on_sign_failure, tempfail), counted as unknown.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"
. "$SMX_SOURCE_DIR/tests/lib/slapd.sh"
set -e
pf_need_peers
need_cmd openssl ldapadd saslpasswd2 swaks

. "$SMX_SOURCE_DIR/tests/postfix/sign/enroll-lib.sh"
enroll_slapd_start

pf_init --sasl
trap 'rc=$?; set +e; slapd_stop "$SLAPD_DIR"; pf_cleanup $rc' EXIT
enroll_prepare
cat >> "$PF_MILTER_CONF" <<CONF
ca: { auto_enroll = true; key_type = "ec-p256"; enroll_known_only = true; };
ldap: { uri = [ "$SLAPD_URI" ]; base = "dc=example,dc=com"; };
policy: { signers: { logins = (
  { login = "relay@example.com"; addresses = [ "@example.com" ]; } ); }; };
CONF
ctl init > /dev/null || fail "smimectl init"
ctl ca init > /dev/null || fail "smimectl ca init"
# stored@ is not in the directory, but the administrator imported a
# certificate for it (from elsewhere, without its key).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$SMX_TEST_DIR/stored.key" -out "$SMX_TEST_DIR/stored.pem" \
  -subj "/CN=Stored" -addext "subjectAltName=email:stored@example.com" \
  -days 30 2> "$SMX_TEST_DIR/openssl.log" || fail "openssl req"
ctl import-cert "$SMX_TEST_DIR/stored.pem" > /dev/null || fail "import-cert"
pf_start_milter
pf_add_sasl_user relay@example.com pw
pf_start

out=$(send relay-george george@example.com relay@example.com)
is_signed "$(delivered "$out")" || fail "george's message is not signed"
[ "$(certificates george@example.com)" = 1 ] || fail "george: want one certificate"
echo "ok: an address the directory knows is enrolled"

out=$(send relay-stored stored@example.com relay@example.com)
is_signed "$(delivered "$out")" || fail "stored's message is not signed"
[ "$(certificates stored@example.com)" = 2 ] ||
  fail "stored: want the imported certificate and an issued one"
echo "ok: an address the store knows is enrolled"

out=$(submit relay-invented invented+tag@example.com relay@example.com)
grep -q "451 4.7.1 .*auto-enrollment of <invented+tag@example.com> refused: neither the directory nor the store knows" "$out" ||
  { cat "$out" >&2; fail "the invented address: not tempfailed as unknown"; }
[ "$(certificates invented+tag@example.com)" = 0 ] ||
  fail "the invented address was enrolled"
echo "ok: an address nobody knows is not enrolled"

pf_stop_milter
ctl stats > "$SMX_TEST_DIR/stats.txt" || fail "smimectl stats"
n=$(awk '$1 == "counter.milter.enrollments.unknown" { v = $2 } END { print v + 0 }' \
  "$SMX_TEST_DIR/stats.txt")
[ "$n" = 1 ] || fail "enrollments.unknown: $n, want 1"
echo "ok: counted"
echo PASS
