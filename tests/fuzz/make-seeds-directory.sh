#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Writes the seed corpus of the directory value fuzzer into $1, made with
# openssl now: DER certificates (SAN email, subject emailAddress only,
# another address), PKCS#7 certs-only blobs (one, several, none) as
# Outlook publishes them, and broken variants (truncated, trailing bytes).
set -eu
out=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
key "$tmp/ca.key"
openssl req -x509 -new -key "$tmp/ca.key" -subj "/CN=Seed CA" -days 3650 \
  -out "$tmp/ca.pem" 2>/dev/null
# leaf NAME SUBJECT [SAN]: a certificate from the seed CA
leaf() {
  key "$tmp/$1.key"
  openssl req -new -key "$tmp/$1.key" -subj "$2" -out "$tmp/$1.csr" 2>/dev/null
  if [ -n "${3:-}" ]; then
    printf 'subjectAltName=%s\nextendedKeyUsage=emailProtection\n' "$3" > "$tmp/$1.ext"
  else
    printf 'keyUsage=digitalSignature\n' > "$tmp/$1.ext"
  fi
  openssl x509 -req -in "$tmp/$1.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
    -CAcreateserial -days 3650 -extfile "$tmp/$1.ext" -out "$tmp/$1.pem" 2>/dev/null
  openssl x509 -in "$tmp/$1.pem" -outform DER -out "$out/$1.der"
}
leaf alice "/CN=Alice" "email:alice@example.com,email:a@example.com"
leaf upper "/CN=Alice" "email:ALICE@Example.COM"
leaf legacy "/CN=Alice/emailAddress=alice@example.com"
leaf other "/CN=Other" "email:other@example.org"
openssl x509 -in "$tmp/ca.pem" -outform DER -out "$out/ca.der"
openssl crl2pkcs7 -nocrl -certfile "$tmp/alice.pem" -outform DER -out "$out/alice.p7b"
openssl crl2pkcs7 -nocrl -certfile "$tmp/alice.pem" -certfile "$tmp/ca.pem" \
  -certfile "$tmp/other.pem" -certfile "$tmp/legacy.pem" -outform DER -out "$out/chain.p7b"
openssl crl2pkcs7 -nocrl -outform DER -out "$out/empty.p7b"
head -c 200 "$out/alice.der" > "$out/alice-truncated.der"
cat "$out/alice.der" "$out/ca.der" > "$out/two-ders.der"
head -c 100 "$out/chain.p7b" > "$out/chain-truncated.p7b"
printf '*)(mail=*' > "$out/injection.txt"
printf 'alice@example.com\\2a)(|(x=\000' > "$out/escapes.txt"
