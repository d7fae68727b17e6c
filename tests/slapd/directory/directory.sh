#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# The directory client against a real slapd: starts slapd (stopped by a
# trap, also on failure), makes certificates with openssl and loads the
# entries, runs the cmocka suite (which stops, pauses and restarts slapd
# itself through tests/lib/slapd.sh), then checks with ldapsearch and
# openssl what publishing wrote.
#   directory.sh TEST_PROGRAM
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/slapd.sh"

prog=${1:?usage: directory.sh TEST_PROGRAM}
need_cmd openssl ldapadd ldapsearch base64

SLAPD_DIR=$(fresh_dir slapd)
trap 'slapd_stop "$SLAPD_DIR"' EXIT
slapd_start "$SLAPD_DIR"

C=$(fresh_dir certs)
. "$SMX_SOURCE_DIR/tests/slapd/directory/fixtures.sh"
make_fixtures "$C" || fail "cannot make the test certificates"
load_fixtures "$C" "$SLAPD_URI" || fail "cannot load the test entries"

export SMX_LDAP_URI="$SLAPD_URI" SMX_CERT_DIR="$C" SMX_SLAPD_DIR="$SLAPD_DIR"
export SMX_SLAPD_CTL="$SMX_SOURCE_DIR/tests/lib/slapd.sh"
"$prog" || fail "$(basename "$prog") failed (slapd log: $SLAPD_DIR/slapd.log)"

# What the suite published, read back by independent tools: ldapsearch
# sees the new certificate in both attributes, and openssl reads the
# PKCS#7 blob as certs-only SignedData holding exactly that set.
slapd_start "$SLAPD_DIR"	# the suite leaves it running; harmless if so
ldif=$SMX_TEST_DIR/ivan.ldif
ldapsearch -LLL -o ldif-wrap=no -x -H "$SLAPD_URI" -b "dc=example,dc=com" \
  "(mail=ivan@example.com)" userCertificate userSMIMECertificate > "$ldif" ||
  fail "ldapsearch failed"
want=$(base64 -w0 < "$C/ivan-new.der")
grep -qx "userCertificate;binary:: $want" "$ldif" ||
  fail "ldapsearch does not show ivan's new certificate in userCertificate;binary"
grep -q "userCertificate;binary:: $(base64 -w0 < "$C/ivan-old.der")" "$ldif" &&
  fail "ivan's replaced certificate is still published"
grep -q "userCertificate;binary:: $(base64 -w0 < "$C/ivan-expired.der")" "$ldif" &&
  fail "ivan's expired certificate is still published"
sed -n 's/^userSMIMECertificate:: //p' "$ldif" | base64 -d > "$SMX_TEST_DIR/ivan.p7b"
openssl pkcs7 -inform DER -in "$SMX_TEST_DIR/ivan.p7b" -print_certs \
  -out "$SMX_TEST_DIR/ivan-p7.pem" || fail "openssl cannot read the published PKCS#7"
n=$(grep -c "BEGIN CERTIFICATE" "$SMX_TEST_DIR/ivan-p7.pem")
[ "$n" = 2 ] || fail "published PKCS#7 holds $n certificates, want 2 (new + kept)"
openssl x509 -in "$C/ivan-new.pem" -outform PEM | grep -v '^-' | tr -d '\n' > "$SMX_TEST_DIR/a"
grep -v '^-\|subject\|issuer\|^$' "$SMX_TEST_DIR/ivan-p7.pem" | tr -d '\n' > "$SMX_TEST_DIR/b"
grep -qF "$(cat "$SMX_TEST_DIR/a")" "$SMX_TEST_DIR/b" ||
  fail "published PKCS#7 does not hold ivan's new certificate"
echo "ldapsearch and openssl agree with what was published"
