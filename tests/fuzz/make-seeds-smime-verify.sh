#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Writes the seed corpus of the verification fuzzer into $1: messages
# signed at build time by `openssl cms` (clear, opaque, nested in a list
# footer, tampered, truncated, with forged and upstream
# Authentication-Results), made with a throw-away key. Nothing is copied
# from elsewhere.
set -eu
out=$1
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 2 \
  -subj "/CN=Alice/emailAddress=alice@example.com" \
  -addext "subjectAltName=email:alice@example.com" \
  -addext "extendedKeyUsage=emailProtection" 2>/dev/null
printf 'Content-Type: text/plain\r\n\r\nHello, world.\r\n' > "$tmp/entity"
hdr='From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: seed\r\nMessage-ID: <seed@example.com>\r\nAuthentication-Results: mx.example.org; smime=pass\r\nAuthentication-Results: mx.upstream; dmarc=pass header.from=example.com\r\n'
openssl cms -sign -signer "$tmp/cert.pem" -inkey "$tmp/key.pem" \
  -in "$tmp/entity" -binary -crlfeol > "$tmp/clear" 2>/dev/null
openssl cms -sign -nodetach -signer "$tmp/cert.pem" -inkey "$tmp/key.pem" \
  -in "$tmp/entity" -binary -crlfeol > "$tmp/opaque" 2>/dev/null
{ printf "$hdr"; cat "$tmp/clear"; } > "$out/clear.eml"
{ printf "$hdr"; cat "$tmp/opaque"; } > "$out/opaque.eml"
{ printf "$hdr"; cat "$tmp/clear"; } | sed 's/Hello, world/Hello, World/' > "$out/tampered.eml"
{ printf "$hdr"; cat "$tmp/clear"; } | awk 'NR == 30 { exit } { print }' > "$out/truncated.eml"
{ printf "$hdr"; printf 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="L"\r\n\r\n--L\r\n'
  sed '1d' "$tmp/clear"; printf '\r\n--L\r\nContent-Type: text/plain\r\n\r\nfooter\r\n--L--\r\n'; } > "$out/nested.eml"
{ printf "$hdr"; printf 'MIME-Version: 1.0\r\nContent-Type: application/octet-stream; name="smime.p7m"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
  awk 'f { print } /^\r?$/ { f = 1 }' "$tmp/opaque"; } > "$out/octet-p7m.eml"
printf 'From: a@example.com\r\nContent-Type: multipart/signed; protocol="application/pkcs7-signature"; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b\r\nContent-Type: application/pkcs7-signature\r\n\r\nMIAGCSqGSIb3DQEHAqCAMIACAQEx\r\n--b--\r\n' > "$out/broken.eml"
printf 'From: a@example.com\r\n\r\nplain\r\n' > "$out/plain.eml"
