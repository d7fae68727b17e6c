#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# smimectl import-cert judges a certificate by the trust of inbound
# verification (verify.ca_file, "none" meaning no bundle; the store's
# anchors) and for email protection; it files a certificate under its
# SAN addresses only and warns about a subject emailAddress outside them.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
set -o pipefail
need_cmd openssl python3
W=$(fresh_dir work)
cd "$W" || fail "no work dir"
CTL="$SMX_BIN_DIR/smimectl"
# conf CA_FILE: the configuration, with verify.ca_file = CA_FILE
conf() {
  cat > store.conf <<CONF
milter: { internal_domains = [ "example.com" ]; };
store: { backend = "sqlite"; path = "$W/store.db"; };
keys: { master_key_file = "$W/master.key"; };
verify: { ca_file = "$1"; };
CONF
}
ctl() { "$CTL" -c "$W/store.conf" "$@"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
problems=0
bad() { echo "FAIL: $*" >&2; problems=$((problems + 1)); }

openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 \
  -subj "/CN=Trust CA" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null || fail "CA"
# issue NAME EKU SUBJECT SAN
issue() {
  openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -subj "$3" \
    -out "$1.csr" 2>/dev/null
  printf "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=%s\nsubjectAltName=%s\n" "$2" "$4" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
    -days 10 -extfile "$1.ext" -out "$1.pem" 2>/dev/null || fail "issue $1"
}
issue good emailProtection "/CN=Good" email:good@partner.example
issue server serverAuth "/CN=Server" email:server@partner.example
issue planted emailProtection "/CN=Planted/emailAddress=bob@partner.example" \
  email:mallory@evil.example

# trust_of FILE: the trust import-cert gives the certificate in FILE
# (imported into a new store each time)
trust_of() {
  rm -f "$W/store.db"* "$W/master.key"
  ctl init >/dev/null 2>&1 || fail "init"
  ctl --json import-cert "$1" 2>"$W/err" | json 'd["trust"] + " " + d["reason"]'
}

# The bundle that ca_file names is what counts: OpenSSL's default paths
# (pointed at the test CA here) no longer do.
export SSL_CERT_FILE="$W/ca.pem" SSL_CERT_DIR="$W/none"
conf none
got=$(trust_of good.pem)
case "$got" in trusted*) bad "ca_file = none: the test CA still trusted ($got)";;
  *) echo "ok: ca_file = none: $got";; esac
unset SSL_CERT_FILE SSL_CERT_DIR
conf "$W/ca.pem"
got=$(trust_of good.pem)
case "$got" in trusted*) echo "ok: ca_file names the CA: $got";;
  *) bad "ca_file names the CA, yet: $got";; esac

# Email protection is required of the chain.
got=$(trust_of server.pem)
case "$got" in trusted*) bad "a serverAuth-only certificate verified ($got)";;
  *"purpose"*) echo "ok: serverAuth only: $got";;
  *) bad "serverAuth only, unexpected reason: $got";; esac

# The store's anchors count with ca_file = none.
conf none
rm -f "$W/store.db"* "$W/master.key"
ctl init >/dev/null 2>&1 && ctl trust add ca.pem >/dev/null 2>&1 || fail "trust add"
got=$(ctl --json import-cert good.pem | json 'd["trust"]')
[ "$got" = trusted ] || bad "a store anchor is not trusted with ca_file = none ($got)"

# A subject emailAddress outside the SAN: warned about, not filed.
ctl import-cert --pin planted.pem >out 2>err || { cat out err >&2; fail "import planted"; }
grep -q "warning: the subject emailAddress bob@partner.example is not in the certificate's subjectAltName" err ||
  { cat err >&2; bad "no warning for the subject emailAddress"; }
n=$(ctl --json list bob@partner.example | json 'len(d)')
[ "$n" = 0 ] || bad "the certificate is filed under its subject emailAddress ($n)"
n=$(ctl --json list mallory@evil.example | json 'len(d)')
[ "$n" = 1 ] || bad "the certificate is not filed under its SAN address ($n)"
[ "$problems" = 0 ] || fail "$problems check(s) failed"
echo PASS
