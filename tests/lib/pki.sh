# SPDX-License-Identifier: BSD-2-Clause
# A test PKI made with the openssl command line when the test runs
# (nothing is committed): one CA and S/MIME certificates it issues.
# Source it after common.sh:
#   . "$SMX_SOURCE_DIR/tests/lib/pki.sh"
#   pki=$(fresh_dir pki)
#   pki_ca "$pki" "Sign Test CA"          # $pki/ca.key, $pki/ca.pem
#   pki_issue alice alice@example.com     # $pki/alice.key, .csr, .pem
#   pki_issue -ku digitalSignature,keyAgreement ec1 ec1@partner.example \
#     ec -pkeyopt ec_paramgen_curve:P-256
#   pki_p12 alice "$pki/pw" -certfile "$pki/ca.pem"   # $pki/alice.p12
# Certificates are valid for 7 days from now. A failing openssl command
# fails the test, naming the command.

# pki_run CMD...: runs CMD without output; fails the test if CMD fails.
pki_run() {
  "$@" >/dev/null 2>&1 || fail "command failed: $*"
}

# pki_ca DIR CN: a self-signed RSA 2048 CA named CN in DIR/ca.key and
# DIR/ca.pem (basicConstraints CA:TRUE, keyUsage keyCertSign and cRLSign,
# both critical). Later pki_issue and pki_p12 calls work in DIR
# ($PKI_DIR).
pki_ca() {
  PKI_DIR=$1
  pki_run openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI_DIR/ca.key" \
    -out "$PKI_DIR/ca.pem" -days 7 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign"
}

# pki_issue [-subj SUBJECT] [-ku USAGES] NAME EMAIL [KEYSPEC...]: a key
# and a certificate from the CA for the address EMAIL, in
# $PKI_DIR/NAME.key, NAME.csr and NAME.pem: subject SUBJECT (default
# /CN=NAME), basicConstraints CA:FALSE, keyUsage USAGES, critical
# (default digitalSignature,keyEncipherment), extendedKeyUsage
# emailProtection, subjectAltName email:EMAIL. KEYSPEC is what openssl
# req -newkey takes (default rsa:2048; ec -pkeyopt ec_paramgen_curve:P-256).
pki_issue() {
  local subj='' ku=digitalSignature,keyEncipherment
  while :; do
    case $1 in
      -subj) subj=$2; shift 2 ;;
      -ku) ku=$2; shift 2 ;;
      *) break ;;
    esac
  done
  local name=$1 email=$2
  shift 2
  [ $# -gt 0 ] || set -- rsa:2048
  [ -n "${PKI_DIR:-}" ] || fail "pki_issue $name: pki_ca was not called"
  pki_run openssl req -newkey "$@" -nodes -keyout "$PKI_DIR/$name.key" \
    -out "$PKI_DIR/$name.csr" -subj "${subj:-/CN=$name}"
  pki_run openssl x509 -req -in "$PKI_DIR/$name.csr" -CA "$PKI_DIR/ca.pem" \
    -CAkey "$PKI_DIR/ca.key" -CAcreateserial -out "$PKI_DIR/$name.pem" -days 7 \
    -extfile <(printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,%s\nextendedKeyUsage=emailProtection\nsubjectAltName=email:%s\n' "$ku" "$email")
}

# pki_p12 NAME PASSFILE [OPTION...]: $PKI_DIR/NAME.p12 holding NAME.pem
# and NAME.key, encrypted with the password in PASSFILE; the OPTIONs go
# to openssl pkcs12 -export (-certfile "$PKI_DIR/ca.pem" adds the CA).
pki_p12() {
  local name=$1 pwfile=$2
  shift 2
  pki_run openssl pkcs12 -export -in "$PKI_DIR/$name.pem" \
    -inkey "$PKI_DIR/$name.key" -out "$PKI_DIR/$name.p12" \
    -passout "file:$pwfile" "$@"
}
