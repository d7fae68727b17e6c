#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The CRLs a SignedData carries, through `smimectl verify --json`: root
# -> sub CA -> signer. A CRL of the sub CA listing the signer makes the
# path invalid ("certificate revoked"); one not listing it, or none at
# all, leaves it valid, also without the root's CRL about the sub CA
# (a certificate without a CRL is not failed for that alone), and no CRL
# is asked of the trust anchor itself; a message that carries the
# root's CRL but not the sub CA's has no status for the signer below
# it: invalid.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
set -e
need_cmd openssl python3

W=$(fresh_dir crls)
cd "$W"
q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }
q openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem \
  -days 30 -subj "/CN=CRL Test Root" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign"
q openssl req -newkey rsa:2048 -nodes -keyout sub.key -out sub.csr -subj "/CN=CRL Test Sub"
q openssl x509 -req -in sub.csr -CA root.pem -CAkey root.key -set_serial 2 \
  -out sub.pem -days 30 \
  -extfile <(printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n')
# issue NAME SERIAL
issue() {
  q openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$1"
  q openssl x509 -req -in "$1.csr" -CA sub.pem -CAkey sub.key -set_serial "$2" \
    -out "$1.pem" -days 30 \
    -extfile <(printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=emailProtection\nsubjectAltName=email:%s@partner.example\n' "$1")
}
issue good 10
issue bad 11
# crl CA NAME [REVOKED-CERT]: a CRL by CA into NAME.crl.pem
crl() {
  rm -rf "db-$2"; mkdir "db-$2"; : > "db-$2/index.txt"; echo 01 > "db-$2/crlnumber"
  cat > "db-$2/ca.cnf" <<CNF
[ ca ]
default_ca = d
[ d ]
database = $W/db-$2/index.txt
crlnumber = $W/db-$2/crlnumber
default_md = sha256
default_crl_days = 7
CNF
  [ -n "${3:-}" ] && q openssl ca -config "db-$2/ca.cnf" -cert "$1.pem" \
    -keyfile "$1.key" -revoke "$3.pem"
  q openssl ca -config "db-$2/ca.cnf" -cert "$1.pem" -keyfile "$1.key" \
    -gencrl -out "$2.crl.pem"
}
crl sub sub-revokes-bad bad
crl sub sub-clean
crl root root-clean

cat > smime-milter.conf <<CONF
milter: { internal_domains = [ "example.com" ]; authserv_id = "mx.example.com"; };
store: { backend = "sqlite"; path = "$W/store.db"; };
keys: { master_key_file = "$W/master.key"; };
verify: { ca_file = "none"; };
CONF
ctl() { "$SMX_BIN_DIR/smimectl" -c "$W/smime-milter.conf" "$@"; }
q ctl init
q ctl trust add root.pem

# check NAME SIGNER WANT-VALID WANT-REASON [CRL...]
problems=0
check() {
  local name=$1 signer=$2 want=$3 reason=$4
  shift 4
  local crls=()
  for c in "$@"; do
    openssl crl -in "$c.crl.pem" -outform DER -out "$c.crl.der" || fail "crl $c"
    crls+=("$c.crl.der")
  done
  printf 'Content-Type: text/plain\r\n\r\nHello.\r\n' > "$name.txt"
  openssl cms -sign -nodetach -in "$name.txt" -signer "$signer.pem" \
    -inkey "$signer.key" -certfile sub.pem -binary -md sha256 -outform DER \
    -out "$name.p7m" 2>/dev/null || fail "openssl cms -sign $name"
  python3 "$SMX_SOURCE_DIR/tests/postfix/lifecycle/cms-add-crls.py" \
    "$name.p7m" "$name.with-crls.p7m" "${crls[@]}" || fail "adding CRLs to $name"
  { printf 'From: <%s@partner.example>\r\nTo: <alice@example.com>\r\nSubject: %s\r\n' "$signer" "$name"
    printf 'MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\n'
    printf 'Content-Transfer-Encoding: base64\r\n\r\n'
    base64 -w 76 "$name.with-crls.p7m" | sed 's/$/\r/'; } > "$name.eml"
  local got
  got=$(ctl --json verify "$name.eml" | python3 -c '
import json, sys
s = json.load(sys.stdin)["signatures"][0]
print(("true" if s["chain_valid"] else "false") + "|" + s["chain_reason"])')
  if [ "${got%%|*}" = "$want" ] && [ "${got#*|}" = "$reason" ]; then
    echo "ok: $name: chain_valid $want ($reason)"
  else
    echo "FAIL: $name: got $got, want $want|$reason" >&2
    problems=$((problems + 1))
  fi
}
check no-crl good true ok
check revoked bad false "certificate revoked" sub-revokes-bad
check listed-other good true ok sub-revokes-bad
check sub-clean good true ok sub-clean
check all-clean good true ok sub-clean root-clean
check root-only good false "unable to get certificate CRL" root-clean
[ "$problems" = 0 ] || fail "$problems case(s) failed"
echo PASS
