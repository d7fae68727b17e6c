#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Interop test for S/MIME signing: smx-sign-message signs sample messages
# (7-bit, 8-bit UTF-8, multipart/alternative with an inline image, a 2 MB
# attachment, 20 MB) with an RSA and an ECDSA P-256 key, and three
# independent implementations verify every result against the test root
# CA: OpenSSL (openssl cms -verify), GnuPG (gpgsm --verify) and NSS
# (cmsutil -D). The signed content decodes to the original content, the
# certificate set holds the chain, and the signed attributes carry
# SMIMECapabilities and SMIMEEncryptionKeyPreference.
#
# Usage (through ctest): interop_sign.sh clear|opaque
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
set -e -o pipefail

MODE=${1:?clear or opaque}
HERE=$SMX_SOURCE_DIR/tests/interop/sign
TOOL=$SMX_BIN_DIR/smx-sign-message
need_cmd openssl gpgsm gpgconf certutil cmsutil python3 "$TOOL"

W=$(fresh_dir work-$MODE)
cd "$W"

# --- a test PKI: root -> intermediate -> signers -------------------------
cat > ext.cnf <<'EOF'
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ee]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation, keyEncipherment
extendedKeyUsage = emailProtection
subjectAltName = email:$ENV::SAN
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }
q openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem \
  -days 7 -subj "/CN=Interop Root CA" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" -addext "subjectKeyIdentifier=hash"
q openssl req -newkey rsa:2048 -nodes -keyout inter.key -out inter.csr \
  -subj "/CN=Interop Intermediate CA"
SAN=none q openssl x509 -req -in inter.csr -CA root.pem -CAkey root.key \
  -CAcreateserial -out inter.pem -days 7 -extfile ext.cnf -extensions ca
issue() { # NAME CN EMAIL KEY-OPTIONS...
  local name=$1 cn=$2 san=$3
  shift 3
  q openssl req -newkey "$@" -nodes -keyout "$name.key" -out "$name.csr" -subj "/CN=$cn"
  SAN=$san q openssl x509 -req -in "$name.csr" -CA inter.pem -CAkey inter.key \
    -CAcreateserial -out "$name.pem" -days 7 -extfile ext.cnf -extensions ee
}
issue alice "Alice Signing" alice@example.com rsa:2048
issue alice-enc "Alice Encryption" alice@example.com rsa:2048
issue carol "Carol EC" carol@example.com ec -pkeyopt ec_paramgen_curve:P-256
issue ed "Ed" ed@example.com ed25519

# --- gpgsm: temporary GNUPGHOME trusting the root (FACTS.md) -------------
export GNUPGHOME=$W/gnupg
mkdir -m 700 "$GNUPGHOME"
printf 'disable-crl-checks\ndisable-policy-checks\n' > "$GNUPGHOME/gpgsm.conf"
printf 'allow-mark-trusted\n' > "$GNUPGHOME/gpg-agent.conf"
cleanup() { gpgconf --kill all >/dev/null 2>&1 || true; }
trap cleanup EXIT
q gpgsm --batch --import root.pem
echo "$(openssl x509 -in root.pem -noout -fingerprint -sha1 | sed 's/.*=//') S" \
  > "$GNUPGHOME/trustlist.txt"

# --- NSS: a database trusting the root -----------------------------------
mkdir nss
q certutil -N -d sql:nss --empty-password
q certutil -A -d sql:nss -n root -t "C,C,C" -i root.pem

python3 "$HERE/make_samples.py" "$W"

# --- Ed25519: a clear refusal, never a broken signature ------------------
if "$TOOL" --key ed.key --cert ed.pem 7bit.eml ed.out 2>ed.err; then
  fail "an Ed25519 signature was produced with $(openssl version)"
fi
grep -q "permfail: .*cannot produce CMS signatures with ED25519 keys" ed.err ||
  fail "Ed25519 refusal without the expected reason: $(cat ed.err)"
[ ! -e ed.out ] || fail "output written despite the refusal"
echo "ok: Ed25519 refused: $(cat ed.err)"

# verify_one SIGNER SAMPLE EXTRA_OPTS...
verify_one() {
  local signer=$1 sample=$2 out
  shift 2
  out=$signer-$sample
  local opts=(--key "$signer.key" --cert "$signer.pem" --chain inter.pem
              --threshold 1048576 --dir "$W" --max-rss-mb 24 "$@")
  [ "$MODE" = opaque ] && opts+=(--opaque)
  "$TOOL" "${opts[@]}" "$sample.eml" "$out.eml" 2> "$out.log" ||
    fail "$out: signing failed: $(cat "$out.log")"
  python3 "$SMX_SOURCE_DIR/tests/lib/mime_tool.py" check-7bit "$out.eml" || fail "$out: not 7-bit canonical"

  if [ "$MODE" = clear ]; then
    # OpenSSL reads the whole S/MIME message as a user would. (Not with
    # -binary: OpenSSL's S/MIME reader rebuilds the first part with LF
    # line ends, so -binary fails on any clear-signed message.) Then the
    # strict check: the DER signature over the exact bytes, no translation.
    openssl cms -verify -in "$out.eml" -CAfile root.pem -out /dev/null \
      2> "$out.verify" || fail "$out: openssl: $(cat "$out.verify")"
    python3 "$SMX_SOURCE_DIR/tests/lib/mime_tool.py" extract-clear "$out.eml" "$out.content" "$out.der"
    openssl cms -verify -inform DER -in "$out.der" -content "$out.content" \
      -binary -CAfile root.pem -out /dev/null 2> "$out.verify" ||
      fail "$out: openssl (detached, binary): $(cat "$out.verify")"
    gpgsm --batch --verify "$out.der" "$out.content" > "$out.gpgsm" 2>&1 ||
      fail "$out: gpgsm: $(cat "$out.gpgsm")"
    cmsutil -D -i "$out.der" -c "$out.content" -d sql:nss -u 4 \
      > /dev/null 2> "$out.nss" || fail "$out: cmsutil: $(cat "$out.nss")"
  else
    openssl cms -verify -in "$out.eml" -CAfile root.pem -binary \
      -out "$out.content" 2> "$out.verify" || fail "$out: openssl: $(cat "$out.verify")"
    python3 "$SMX_SOURCE_DIR/tests/lib/mime_tool.py" extract-opaque "$out.eml" "$out.der"
    gpgsm --batch --verify --output "$out.gpgsm-content" "$out.der" \
      > "$out.gpgsm" 2>&1 || fail "$out: gpgsm: $(cat "$out.gpgsm")"
    cmp -s "$out.gpgsm-content" "$out.content" || fail "$out: gpgsm content differs"
    cmsutil -D -i "$out.der" -d sql:nss -u 4 -o "$out.nss-content" \
      2> "$out.nss" || fail "$out: cmsutil: $(cat "$out.nss")"
    cmp -s "$out.nss-content" "$out.content" || fail "$out: NSS content differs"
  fi
  grep -q "Good signature" "$out.gpgsm" || fail "$out: gpgsm: no good signature"
  python3 "$SMX_SOURCE_DIR/tests/lib/mime_tool.py" compare "$sample.eml" "$out.content" > /dev/null ||
    fail "$out: the signed content does not decode to the original"
  check_attributes "$out" "$signer"
  echo "ok: $MODE $signer $sample ($(stat -c %s "$out.eml") bytes;" \
    "$(sed -n 's/^signed: //p' "$out.log"))"
}

# check_attributes OUT SIGNER: certificate set and signed attributes.
check_attributes() {
  local out=$1 signer=$2 p=$1.print
  openssl cms -cmsout -print -inform DER -in "$out.der" > "$p"
  grep -q "object: S/MIME Capabilities" "$p" || fail "$out: no SMIMECapabilities"
  grep -q "subject: CN=Interop Intermediate CA" "$p" || fail "$out: chain missing"
  grep -q "subject: CN=Interop Root CA" "$p" && fail "$out: root sent along"
  openssl asn1parse -inform DER -in "$out.der" > "$out.asn1"
  grep -A12 ":S/MIME Capabilities" "$out.asn1" | tail -n +2 | grep OBJECT | head -5 |
    sed 's/.*://' | tr '\n' ' ' > "$out.caps"
  [ "$(cat "$out.caps")" = "aes-256-gcm aes-128-gcm aes-256-cbc aes-192-cbc aes-128-cbc " ] ||
    fail "$out: capabilities are: $(cat "$out.caps")"
  if [ "$signer" = alice ]; then
    grep -q "subject: CN=Alice Encryption" "$p" || fail "$out: encryption cert missing"
    local serial
    serial=$(openssl x509 -in alice-enc.pem -noout -serial | sed 's/.*=//')
    grep -A9 ":id-smime-aa-encrypKeyPref" "$out.asn1" | grep -c "cont \[ 0 \]" ||
      fail "$out: EncryptionKeyPreference is not issuerAndSerialNumber"
    grep -A9 ":id-smime-aa-encrypKeyPref" "$out.asn1" | grep -c "INTEGER *:$serial" ||
      fail "$out: EncryptionKeyPreference does not name serial $serial"
  else
    grep -q "id-smime-aa-encrypKeyPref" "$out.asn1" &&
      fail "$out: EncryptionKeyPreference without a separate certificate"
  fi
  return 0
}

for sample in 7bit utf8 alternative attachment2m big20m; do
  verify_one alice "$sample" --enc-cert alice-enc.pem
  verify_one carol "$sample"
done
# the digest follows the option, micalg with it
verify_one carol utf8 --digest sha384
if [ "$MODE" = clear ]; then
  grep -q "micalg=sha-384;" carol-utf8.eml || fail "micalg does not follow sha384"
fi
echo "PASS: $MODE signatures verified by OpenSSL, gpgsm and NSS"
