#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Writes the seed corpus of the header protection reader into $1:
# decrypted entities marked hp="cipher", hp="clear" and
# protected-headers="v1", one under a clear signature, one inside an
# opaque signed-data made with openssl now (a throwaway key), and broken
# variants (no blank line, an unterminated multipart, a signed-data that
# is not CMS).
set -eu
out=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
crlf() { sed 's/$/\r/'; }
crlf > "$out/cipher" <<'EOF2'
From: Alice <alice@example.com>
To: bob@example.com
Subject: the real subject
Keywords: board
HP-Outer: From: Alice <alice@example.com>
HP-Outer: To: bob@example.com
HP-Outer: Subject: [...]
Content-Type: text/plain; charset=utf-8; hp="cipher"; hp-legacy-display="1"

Subject: the real subject

Hello.
EOF2
crlf > "$out/v1" <<'EOF2'
Subject: BarCorp contract
Message-ID: <x@example.com>
Content-Type: multipart/mixed; boundary="6ae"; protected-headers="v1"

--6ae
Content-Type: text/plain; protected-headers="v1"

Subject: BarCorp contract
--6ae--
EOF2
crlf > "$tmp/inner" <<'EOF2'
Subject: signed
 and folded
Received: from evil
Content-Type: text/plain; hp="clear"

x
EOF2
{ printf 'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="s"\r\n\r\n--s\r\n'
  cat "$tmp/inner"
  printf '\r\n--s\r\nContent-Type: application/pkcs7-signature\r\n\r\nAAAA\r\n--s--\r\n'
} > "$out/clear-signed"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/k" -out "$tmp/c" \
  -days 2 -subj "/CN=seed" >/dev/null 2>&1
openssl cms -sign -nodetach -binary -in "$tmp/inner" -signer "$tmp/c" \
  -inkey "$tmp/k" -outform DER -out "$tmp/sd" >/dev/null 2>&1
{ printf 'Content-Type: application/pkcs7-mime; smime-type=signed-data; name="smime.p7m"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
  openssl base64 -in "$tmp/sd" | crlf
} > "$out/opaque-signed"
printf 'Subject: x\r\nContent-Type: text/plain; hp=cipher' > "$out/no-body"
printf 'Content-Type: multipart/signed; boundary="s"\r\n\r\n--s\r\nSubject: y\r\nContent-Type: text/plain; hp=clear\r\n' > "$out/unterminated"
printf 'Content-Type: application/pkcs7-mime; smime-type=signed-data\r\nContent-Transfer-Encoding: base64\r\n\r\nMIIBAAAA\r\n' > "$out/not-cms"
