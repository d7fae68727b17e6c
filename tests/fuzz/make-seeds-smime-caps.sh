#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Writes the seed corpus of the SMIMECapabilities fuzzer into $1: lists
# made with openssl now (what OpenSSL, Thunderbird and Outlook advertise:
# AES-GCM and CBC, RSAES-OAEP with parameters, old algorithms with an
# RC2 key size), the one our signer writes, and broken variants
# (truncated, trailing bytes, wrong outer tag, a huge length, an empty
# list).
set -eu
out=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
# gen NAME: DER from the asn1parse -genconf description on stdin
gen() {
  cat > "$tmp/$1.cnf"
  openssl asn1parse -genconf "$tmp/$1.cnf" -out "$out/$1.der" > /dev/null
}
gen ours <<'CNF'
asn1 = SEQUENCE:caps
[caps]
c1 = SEQUENCE:gcm256
c2 = SEQUENCE:gcm128
c3 = SEQUENCE:cbc256
c4 = SEQUENCE:cbc192
c5 = SEQUENCE:cbc128
[gcm256]
oid = OID:2.16.840.1.101.3.4.1.46
[gcm128]
oid = OID:2.16.840.1.101.3.4.1.6
[cbc256]
oid = OID:2.16.840.1.101.3.4.1.42
[cbc192]
oid = OID:2.16.840.1.101.3.4.1.22
[cbc128]
oid = OID:2.16.840.1.101.3.4.1.2
CNF
gen oaep <<'CNF'
asn1 = SEQUENCE:caps
[caps]
c1 = SEQUENCE:cbc256
c2 = SEQUENCE:oaep
c3 = SEQUENCE:rsa
[cbc256]
oid = OID:2.16.840.1.101.3.4.1.42
[oaep]
oid = OID:1.2.840.113549.1.1.7
params = SEQUENCE:oaepparams
[oaepparams]
hash = EXP:0,SEQUENCE:sha256
[sha256]
oid = OID:2.16.840.1.101.3.4.2.1
[rsa]
oid = OID:1.2.840.113549.1.1.1
null = NULL
CNF
gen legacy <<'CNF'
asn1 = SEQUENCE:caps
[caps]
c1 = SEQUENCE:des3
c2 = SEQUENCE:rc2
c3 = SEQUENCE:prefersigned
[des3]
oid = OID:1.2.840.113549.3.7
[rc2]
oid = OID:1.2.840.113549.3.2
bits = INTEGER:128
[prefersigned]
oid = OID:1.2.840.113549.1.9.15.1
CNF
gen empty <<'CNF'
asn1 = SEQUENCE:caps
[caps]
CNF
head -c 20 "$out/ours.der" > "$out/ours-truncated.der"
{ cat "$out/ours.der"; printf '\000'; } > "$out/ours-trailing.der"
{ printf '\061'; tail -c +2 "$out/ours.der"; } > "$out/ours-set-tag.der"
printf '\060\204\177\377\377\377\060\003\006\001\052' > "$out/huge-length.der"
printf '\060\200\060\003\006\001\052\000\000' > "$out/indefinite.der"
