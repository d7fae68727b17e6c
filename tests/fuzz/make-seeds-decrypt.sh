#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Writes the seed corpus of the decryption fuzzer into $1, made with
# openssl now, and the two identities the fuzzer decrypts with into
# $1.ids (rsa.pem, ec.pem: certificate and key). Messages: EnvelopedData
# (AES-256-CBC) and AuthEnvelopedData (AES-256-GCM) to RSA (PKCS#1 v1.5
# and OAEP) and EC recipients, several recipients, base64 and binary
# bodies, the content types the milter accepts (pkcs7-mime,
# x-pkcs7-mime, octet-stream named .p7m), signed-data (not ours), a
# stranger's message, and broken ones (truncated, bad base64). Entities
# for the harness to encrypt itself ("\0", options byte, entity):
# folded, non-Content, LF-only and header-less content.
set -eu
out=$1
ids=$1.ids
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out" "$ids"
# ident NAME KEYOPTS...: a self-signed S/MIME certificate and its key
ident() {
  name=$1; shift
  openssl req -x509 -newkey "$@" -nodes -keyout "$tmp/$name.key" \
    -out "$tmp/$name.crt" -days 3650 -subj "/CN=$name@example.com" \
    -addext "subjectAltName=email:$name@example.com" 2>/dev/null
  cat "$tmp/$name.crt" "$tmp/$name.key" > "$tmp/$name.pem"
}
ident rsa rsa:2048
ident ec ec -pkeyopt ec_paramgen_curve:P-256
ident stranger ec -pkeyopt ec_paramgen_curve:P-256
cp "$tmp/rsa.pem" "$tmp/ec.pem" "$ids/"

printf 'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nSecret text.\r\nSecond line.\r\n' > "$tmp/plain"
hdr='From: Alice <alice@example.net>\r\nTo: rsa@example.com, ec@example.com\r\nSubject: seed\r\nMessage-ID: <seed@example.net>\r\n'
# enc NAME CIPHER [CMS OPTIONS...]: an S/MIME message (base64) from openssl
enc() {
  name=$1; cipher=$2; shift 2
  openssl cms -encrypt -in "$tmp/plain" -binary "-$cipher" "$@" \
    > "$tmp/$name.smime" 2>/dev/null
  { printf "$hdr"; cat "$tmp/$name.smime"; } > "$out/$name.eml"
}
enc rsa-cbc aes-256-cbc -recip "$tmp/rsa.crt"
enc rsa-gcm aes-256-gcm -recip "$tmp/rsa.crt"
enc rsa-oaep aes-256-cbc -recip "$tmp/rsa.crt" -keyopt rsa_padding_mode:oaep
enc ec-cbc aes-256-cbc -recip "$tmp/ec.crt"
enc ec-gcm aes-128-gcm -recip "$tmp/ec.crt"
enc both aes-256-cbc -recip "$tmp/stranger.crt" -recip "$tmp/ec.crt" -recip "$tmp/rsa.crt"
enc stranger aes-256-cbc -recip "$tmp/stranger.crt"
enc rsa-skid aes-256-cbc -recip "$tmp/rsa.crt" -keyid
# a binary DER body under each content type the milter accepts
openssl cms -encrypt -in "$tmp/plain" -binary -aes-256-cbc -outform DER \
  -recip "$tmp/ec.crt" -out "$tmp/ec.der" 2>/dev/null
for ct in 'application/pkcs7-mime; smime-type=enveloped-data' \
          'application/x-pkcs7-mime' \
          'application/octet-stream; name="mail.P7M"'; do
  n=$((${n:-0} + 1))
  { printf "${hdr}Content-Type: $ct\r\n\r\n"; cat "$tmp/ec.der"; } > "$out/binary-$n.eml"
done
# signed-data: not encrypted, nothing to do
openssl cms -sign -nodetach -in "$tmp/plain" -signer "$tmp/ec.crt" \
  -inkey "$tmp/ec.key" > "$tmp/signed.smime" 2>/dev/null
{ printf "$hdr"; cat "$tmp/signed.smime"; } > "$out/signed.eml"
head -c 700 "$out/rsa-cbc.eml" > "$out/truncated.eml"
sed 's/^\([A-Za-z0-9+\/]\{10\}\)[A-Za-z0-9+\/]/\1*/' "$out/ec-gcm.eml" > "$out/bad-base64.eml"
printf "${hdr}Content-Type: application/pkcs7-mime; smime-type=authEnveloped-data\r\nContent-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEJEAEXoIAwgAIBADGA\r\n" > "$out/broken.eml"
printf "${hdr}Content-Type: text/plain\r\n\r\nhello\r\n" > "$out/plain.eml"

# entities the harness encrypts itself: NUL, options, entity
ent() { { printf '\000\'"$2"; cat; } > "$out/entity-$1"; }
ent crlf-rsa-cbc 000 < "$tmp/plain"
ent lf-ec-gcm 005 <<'E'
Content-Type: multipart/mixed;
 boundary="b1"
Content-ID: <x@y>
X-Inner: dropped

--b1
Content-Type: text/plain

body
--b1--
E
printf 'Content-Type: text/html\r\nMIME-Version: 1.0\r\n\r\n<p>x</p>\nbare\r\nlf\n' | ent mixed-ec-binary 006
printf '\r\nno headers\r\n' | ent noheaders 004
printf 'not a mime entity' | ent nonmime 001
printf ' folded first line\r\n\r\nx' | ent badfold 000
printf 'Content-Type: text/plain\r\n\tcontinued\r\n\r\n' | ent emptybody 007
