#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Writes the seed corpus of the certificate fuzzer into $1: DER
# certificates made with `openssl ca` now, with fixed validity dates
# around the fuzzer's fixed "now" (2025-01-01): RSA and EC keys of the
# sizes and curves encryption accepts and refuses, Ed25519, a CA, key
# usage and extended key usage combinations, addresses in the SAN (mixed
# case, several) or only in the subject, expired and not yet valid ones,
# and broken variants (truncated, trailing bytes, empty).
set -eu
out=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out" "$tmp/db"
: > "$tmp/db/index.txt"
cat > "$tmp/ca.cnf" <<CNF
[ca]
default_ca = seed
[seed]
dir = $tmp/db
database = \$dir/index.txt
new_certs_dir = \$dir
serial = \$dir/serial
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[anything]
commonName = optional
emailAddress = optional
organizationName = optional
CNF
openssl rand -hex 8 > "$tmp/db/serial"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$tmp/ca.key" -out "$tmp/ca.pem" -days 7300 -subj "/CN=Seed CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=keyCertSign,cRLSign" 2>/dev/null
openssl x509 -in "$tmp/ca.pem" -outform DER -out "$out/ca.der"
# cert NAME "KEYALG KEYOPTS" SUBJECT START END EXTENSIONS...: one certificate
cert() {
  name=$1 keyspec=$2 subj=$3 start=$4 end=$5; shift 5
  # shellcheck disable=SC2086
  openssl genpkey -algorithm $keyspec -out "$tmp/$name.key" 2>/dev/null
  openssl req -new -key "$tmp/$name.key" -subj "$subj" -out "$tmp/$name.csr" 2>/dev/null
  printf '[ext]\n' > "$tmp/$name.ext"
  for e in "$@"; do printf '%s\n' "$e" >> "$tmp/$name.ext"; done
  openssl ca -batch -config "$tmp/ca.cnf" -cert "$tmp/ca.pem" -keyfile "$tmp/ca.key" \
    -in "$tmp/$name.csr" -startdate "$start" -enddate "$end" \
    -extfile "$tmp/$name.ext" -extensions ext -notext -out "$tmp/$name.pem" 2>/dev/null
  openssl x509 -in "$tmp/$name.pem" -outform DER -out "$out/$name.der"
}
ok="20240101000000Z 20340101000000Z"
p256="EC -pkeyopt ec_paramgen_curve:P-256"
# shellcheck disable=SC2086
{
cert rsa2048 "RSA -pkeyopt rsa_keygen_bits:2048" "/CN=Alice" $ok \
  "subjectAltName=email:Alice@Example.COM,email:a@example.com" \
  "keyUsage=digitalSignature,keyEncipherment" "extendedKeyUsage=emailProtection"
cert rsa1024 "RSA -pkeyopt rsa_keygen_bits:1024" "/CN=Small" $ok \
  "subjectAltName=email:small@example.com"
cert p384 "EC -pkeyopt ec_paramgen_curve:P-384" "/CN=Bob" $ok \
  "subjectAltName=email:bob@example.com" "keyUsage=keyAgreement"
cert p256-sign "$p256" "/CN=Carol" $ok \
  "subjectAltName=email:carol@example.com" "keyUsage=digitalSignature,nonRepudiation" \
  "extendedKeyUsage=emailProtection,clientAuth"
cert k256 "EC -pkeyopt ec_paramgen_curve:secp256k1" "/CN=Koblitz" $ok \
  "subjectAltName=email:k@example.com"
cert ed25519 ED25519 "/CN=Ed" $ok "subjectAltName=email:ed@example.com"
cert subject-email "$p256" "/CN=Dave/emailAddress=Dave@Example.com" $ok
cert server "$p256" "/CN=www.example.com" $ok \
  "subjectAltName=DNS:www.example.com,email:web@example.com" "extendedKeyUsage=serverAuth"
cert anyeku "$p256" "/CN=Any" $ok \
  "subjectAltName=email:any@example.com" "extendedKeyUsage=anyExtendedKeyUsage"
cert subca "$p256" "/CN=Sub CA/emailAddress=ca@example.com" $ok \
  "basicConstraints=critical,CA:TRUE" "keyUsage=keyCertSign"
cert expired "$p256" "/CN=Old" 20200101000000Z 20220101000000Z \
  "subjectAltName=email:old@example.com"
cert future "$p256" "/CN=New" 20300101000000Z 20400101000000Z \
  "subjectAltName=email:new@example.com"
cert generalized "$p256" "/CN=Far" 20240101000000Z 20550101000000Z \
  "subjectAltName=email:far@example.com,email:far@example.com,email:FAR@example.com"
cert many "$p256" "/CN=Many/O=Org/emailAddress=m0@example.com" $ok \
  "subjectAltName=email:m1@example.com,email:m2@example.com,email:m3@example.com,email:m4@example.com,email:m5@example.com,URI:http://example.com/,IP:192.0.2.1"
cert utf8 "$p256" "/CN=Zoë" $ok "subjectAltName=email:zoe@example.com,otherName:1.3.6.1.5.5.7.8.9;UTF8:zoë@exämple.com"
}
head -c 300 "$out/rsa2048.der" > "$out/truncated.der"
{ cat "$out/p384.der"; printf '\000'; } > "$out/trailing.der"
printf '' > "$out/empty.der"
