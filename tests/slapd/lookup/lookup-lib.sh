# SPDX-License-Identifier: BSD-2-Clause
# Shared by the lookup tests:  . lookup-lib.sh; lookup_setup
# Starts a private slapd (stopped by a trap, also on failure), makes the
# directory fixtures (tests/slapd/directory/fixtures.sh) plus:
#   - olga@example.com: an entry whose certificate comes from a CA that is
#     no trust anchor ("Untrusted CA", in $U);
#   - $C/sam.der: a certificate for sam@example.com from the fixtures CA,
#     which the tests put into the store only (sam has no entry).
# Writes $CONF: SQLite store and master key in $W, ldap group for the
# slapd (bind as cn=publisher, publish = true, timeout 2s).
# Sets W, C, U, CONF, SLAPD_DIR, SLAPD_URI.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/slapd.sh"
. "$SMX_SOURCE_DIR/tests/slapd/directory/fixtures.sh"

lookup_setup() {
  need_cmd openssl ldapadd ldapsearch base64 python3
  W=$(fresh_dir work)
  cd "$W" || fail "no work dir"
  SLAPD_DIR=$(fresh_dir slapd)
  trap 'slapd_stop "$SLAPD_DIR"' EXIT
  slapd_start "$SLAPD_DIR"
  C=$(fresh_dir certs)
  make_fixtures "$C" || fail "cannot make the test certificates"
  load_fixtures "$C" "$SLAPD_URI" || fail "cannot load the test entries"
  fx_leaf "$C" sam "/CN=Sam" email:sam@example.com \
    "$(fx_date "-1 day")" "$(fx_date "+1 year")" || fail "cannot make sam's certificate"
  U=$(fresh_dir untrusted)
  fx_ca_conf "$U"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$U/ca.key" -out "$U/ca.pem" -subj "/CN=Untrusted CA" \
    -days 365 2>/dev/null || fail "cannot make the untrusted CA"
  fx_leaf "$U" olga "/CN=Olga" email:olga@example.com \
    "$(fx_date "-1 day")" "$(fx_date "+1 year")" || fail "cannot make olga's certificate"
  fx_person olga olga@example.com "userCertificate;binary=$U/olga.der" > "$U/olga.ldif"
  ldapadd -x -H "$SLAPD_URI" -D "$SLAPD_ROOTDN" -w "$SLAPD_ROOTPW" \
    -f "$U/olga.ldif" > "$U/ldapadd.log" 2>&1 || fail "cannot add olga's entry"
  CONF="$W/smx.conf"
  lookup_write_conf "$CONF" true
}

# lookup_write_conf FILE PUBLISH: the configuration (publish true|false).
lookup_write_conf() {
  {
    echo 'milter: { internal_domains = [ "example.com" ]; };'
    echo "store: { backend = \"sqlite\"; path = \"$W/store.db\"; };"
    echo "keys: { master_key_file = \"$W/master.key\"; };"
    echo "ca: { };"
    echo "ldap: {"
    echo "  uri = [ \"$SLAPD_URI\" ];"
    echo "  base = \"dc=example,dc=com\";"
    echo "  bind_dn = \"cn=publisher,dc=example,dc=com\";"
    echo "  bind_password_file = \"$C/publisher.pw\";"
    echo "  allow_cleartext_bind = true;  # the test slapd, on loopback"
    echo "  timeout = \"2s\";"
    echo "  cache_ttl = \"4h\";"
    echo "  negative_ttl = \"15m\";"
    echo "  publish = $2;"
    echo "};"
  } > "$1"
}

# searches FILTER_ADDRESS: how many searches slapd logged for an address.
searches() {
  grep -c "SRCH .*mail=$1)" "$SLAPD_DIR/slapd.log" || true
}
