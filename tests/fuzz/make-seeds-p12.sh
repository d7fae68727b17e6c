#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Writes the seed corpus of the PKCS#12 fuzzer into $1, made with openssl
# now, all with the password "seed-pass" unless said: OpenSSL 3's default
# (AES-256-CBC, PBKDF2, HMAC-SHA-256), the legacy form gpgsm and old
# Windows use (3DES, SHA-1 MAC), RC2-40 when the legacy provider exists,
# no MAC, the empty password, RSA and EC keys, a chain, a key that does
# not match the certificate (openssl 3.0 refuses to write it: skipped),
# only a certificate, only a key, and broken
# files (truncated, trailing bytes).
set -eu
out=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$tmp/ca.key" -out "$tmp/ca.pem" -days 3650 -subj "/CN=Seed CA" 2>/dev/null
# leaf NAME KEYOPTS...: a certificate for NAME@example.com from the seed CA
leaf() {
  name=$1; shift
  openssl req -new -newkey "$@" -nodes -keyout "$tmp/$name.key" \
    -subj "/CN=$name/emailAddress=$name@example.com" -out "$tmp/$name.csr" 2>/dev/null
  printf 'subjectAltName=email:%s@example.com\nextendedKeyUsage=emailProtection\n' "$name" > "$tmp/$name.ext"
  openssl x509 -req -in "$tmp/$name.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
    -CAcreateserial -days 3650 -extfile "$tmp/$name.ext" -out "$tmp/$name.pem" 2>/dev/null
}
leaf alice ec -pkeyopt ec_paramgen_curve:P-256
leaf bob rsa:2048
# p12 NAME PASS OPTIONS...: a PKCS#12 file
p12() {
  name=$1 pass=$2; shift 2
  openssl pkcs12 -export -passout "pass:$pass" -out "$out/$name.p12" "$@" 2>/dev/null
}
p12 default seed-pass -inkey "$tmp/alice.key" -in "$tmp/alice.pem" -name alice
p12 chain seed-pass -inkey "$tmp/bob.key" -in "$tmp/bob.pem" -certfile "$tmp/ca.pem"
p12 legacy-3des seed-pass -inkey "$tmp/bob.key" -in "$tmp/bob.pem" \
  -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1
p12 rc2 seed-pass -inkey "$tmp/alice.key" -in "$tmp/alice.pem" -legacy || rm -f "$out/rc2.p12"
p12 nomac seed-pass -inkey "$tmp/alice.key" -in "$tmp/alice.pem" -nomac
p12 empty-pass '' -inkey "$tmp/alice.key" -in "$tmp/alice.pem"
p12 clear-key seed-pass -inkey "$tmp/alice.key" -in "$tmp/alice.pem" -keypbe NONE -certpbe NONE
p12 iter1 seed-pass -inkey "$tmp/alice.key" -in "$tmp/alice.pem" -iter 1 -maciter
p12 mismatch seed-pass -inkey "$tmp/bob.key" -in "$tmp/alice.pem" || rm -f "$out/mismatch.p12"
p12 cert-only seed-pass -in "$tmp/alice.pem" -nokeys
p12 key-only seed-pass -inkey "$tmp/alice.key" -nocerts
p12 ca-only seed-pass -inkey "$tmp/ca.key" -in "$tmp/ca.pem"
head -c 400 "$out/default.p12" > "$out/truncated.p12"
{ cat "$out/chain.p12"; printf 'trailing'; } > "$out/trailing.p12"
