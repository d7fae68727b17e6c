#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Interop test for S/MIME encryption: smx-encrypt-message encrypts sample
# messages (8-bit UTF-8 text, multipart with attachments, 20 MB) the way
# the milter does, and independent implementations decrypt them with each
# recipient's key: OpenSSL (openssl cms -decrypt), GnuPG (gpgsm 2.2) and
# NSS (cmsutil 3.87). Signed-then-encrypted messages decrypt and their
# inner signature verifies with all three.
#
# What gpgsm 2.2.40 and NSS 3.87 cannot read is documented here by
# running it (docs/smime-encrypt.md): AuthEnvelopedData (AES-GCM),
# RSAES-OAEP, and ECDH recipients (NSS refuses the whole message when
# it holds any KeyAgreeRecipientInfo; gpgsm 2.2 has no CMS ECDH, and
# crashes importing an EC PKCS#12, so no EC key is given to it). Those
# checks print "known:" and, should a newer peer read the form, "NOTE:"
# (the documentation then needs an update) instead of failing.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
set -e -o pipefail

HERE=$SMX_SOURCE_DIR/tests/interop/encrypt
TOOL=$SMX_BIN_DIR/smx-encrypt-message
need_cmd openssl gpgsm gpgconf certutil cmsutil pk12util python3 "$TOOL"
W=$(fresh_dir work)
cd "$W"
q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }
mc() { python3 "$HERE/mime_check.py" "$@"; }

# --- a test PKI: root -> intermediate -> people ---------------------------
cat > ext.cnf <<'CNF'
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[rsa]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = emailProtection
subjectAltName = email:$ENV::SAN
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ec]
basicConstraints = CA:FALSE
keyUsage = critical, keyAgreement
extendedKeyUsage = emailProtection
subjectAltName = email:$ENV::SAN
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
q openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem \
  -days 7 -subj "/CN=Interop Root CA" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" -addext "subjectKeyIdentifier=hash"
q openssl req -newkey rsa:2048 -nodes -keyout inter.key -out inter.csr \
  -subj "/CN=Interop Intermediate CA"
SAN=none q openssl x509 -req -in inter.csr -CA root.pem -CAkey root.key \
  -CAcreateserial -out inter.pem -days 7 -extfile ext.cnf -extensions ca
issue() { # NAME CN EMAIL EXTENSIONS KEY-OPTIONS...
  local name=$1 cn=$2 san=$3 ext=$4
  shift 4
  q openssl req -newkey "$@" -nodes -keyout "$name.key" -out "$name.csr" -subj "/CN=$cn"
  SAN=$san q openssl x509 -req -in "$name.csr" -CA inter.pem -CAkey inter.key \
    -CAcreateserial -out "$name.pem" -days 7 -extfile ext.cnf -extensions "$ext"
  legacy_p12 "$name"
}
# legacy_p12 NAME: NAME.p12 in the old algorithms, the only ones gpgsm 2.2
# reads (FACTS.md).
legacy_p12() {
  q openssl pkcs12 -export -inkey "$1.key" -in "$1.pem" -certfile inter.pem \
    -out "$1.p12" -passout pass:pw -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES \
    -macalg sha1
}
issue alice "Alice Signing" alice@example.com rsa rsa:2048
issue bob "Bob RSA" bob@example.org rsa rsa:2048
issue dave "Dave RSA" dave@example.org rsa rsa:3072
issue carol "Carol EC" carol@example.org ec ec -pkeyopt ec_paramgen_curve:P-256
issue erin "Erin EC" erin@example.org ec ec -pkeyopt ec_paramgen_curve:P-384
issue weak "Weak RSA" weak@example.org rsa rsa:1024
issue ed "Ed" ed@example.org rsa ed25519

# --- SMIMECapabilities as a harvest stores them ---------------------------
caps() { # NAME OID...
  local name=$1 i=0
  shift
  { echo "asn1 = SEQUENCE:caps"; echo "[caps]"
    for o in "$@"; do i=$((i + 1)); echo "c$i = SEQUENCE:c${i}s"; done
    i=0
    for o in "$@"; do i=$((i + 1)); printf '[c%ss]\noid = OID:%s\n' "$i" "$o"; done
  } > "$name.cnf"
  q openssl asn1parse -genconf "$name.cnf" -out "$name.der"
}
GCM=2.16.840.1.101.3.4.1.46 CBC=2.16.840.1.101.3.4.1.42 OAEP=1.2.840.113549.1.1.7
caps caps-gcm $GCM $CBC $OAEP
caps caps-cbc $CBC
caps caps-oaep $CBC $OAEP

# --- gpgsm and NSS: one home per person, so each key is tried alone ------
# gpgsm (FACTS.md): RSA keys only, see the top of this file.
HOMES=()
cleanup() {
  local h
  for h in "${HOMES[@]}"; do
    GNUPGHOME=$h gpgconf --kill all >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT
for p in bob dave; do
  h=$W/gnupg-$p
  HOMES+=("$h")
  mkdir -m 700 "$h"
  printf 'disable-crl-checks\ndisable-policy-checks\n' > "$h/gpgsm.conf"
  printf 'allow-mark-trusted\nallow-loopback-pinentry\n' > "$h/gpg-agent.conf"
  GNUPGHOME=$h q gpgsm --batch --import root.pem
  echo "$(openssl x509 -in root.pem -noout -fingerprint -sha1 | sed 's/.*=//') S" \
    > "$h/trustlist.txt"
  GNUPGHOME=$h gpgsm_import_p12 "$p.p12" pw legacy_p12 "$p" ||
    fail "gpgsm cannot import $p.p12: $(tail -3 "$p.p12.gpgsm.log")"
done
echo pw > pwfile
for p in bob dave carol erin; do
  mkdir "nss-$p"
  q certutil -N -d "sql:nss-$p" --empty-password
  q certutil -A -d "sql:nss-$p" -n root -t "C,C,C" -i root.pem
  q pk12util -i "$p.p12" -d "sql:nss-$p" -w pwfile -K ""
done

python3 - "$W" <<'PY'
import os, random, sys, base64
out, rnd = sys.argv[1], random.Random(4711)
head = ("From: Alice <alice@example.com>\r\nTo: bob@example.org\r\n"
        "Subject: {0}\r\nMessage-ID: <{0}@example.com>\r\n")
def b64(data):
    s = base64.b64encode(data).decode()
    return "".join(s[i:i + 76] + "\r\n" for i in range(0, len(s), 76))
def write(name, data):
    open(os.path.join(out, name + ".eml"), "wb").write(
        data.encode("utf-8") if isinstance(data, str) else data)
write("utf8", head.format("utf8") + "MIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
      "\r\nGrüße aus Köln – naïve café 🙂\r\nFrom the office\r\n" + "é" * 600 + "\r\n")
raw = bytes(b for b in (rnd.randrange(256) for _ in range(5000)) if b not in (0, 10, 13))
write("mixed", (head.format("mixed") + "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n"
      "--mix\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: 8bit\r\n\r\nDer Bericht hängt an.\r\n"
      "--mix\r\nContent-Type: application/octet-stream\r\n"
      "Content-Disposition: attachment; filename=\"r.bin\"\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n" +
      b64(bytes(rnd.getrandbits(8) for _ in range(300000))) +
      "--mix\r\nContent-Type: application/octet-stream\r\n"
      "Content-Transfer-Encoding: 8bit\r\n\r\n").encode() + raw + b"\r\n--mix--\r\n")
big = bytes(rnd.getrandbits(8) for _ in range(15 * 1024 * 1024))
write("big20m", head.format("big20m") + "MIME-Version: 1.0\r\n"
      "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
      "\r\n" + b64(big))
PY

# --- helpers ---------------------------------------------------------------
# encrypt NAME SAMPLE SMIME-TYPE KM DRIVER-OPTIONS...: NAME.eml and NAME.der,
# with the algorithms the driver reports checked.
encrypt() {
  local name=$1 sample=$2 type=$3 km=$4
  shift 4
  "$TOOL" --dir "$W" --threshold 1048576 "$@" "$sample.eml" "$name.eml" \
    2> "$name.log" || fail "$name: encryption failed: $(cat "$name.log")"
  grep -q "^encrypted: content=$type km=$km " "$name.log" ||
    fail "$name: $(cat "$name.log"), want content=$type km=$km"
  mc body-der "$name.eml" "$type" "$name.der" || fail "$name: outer MIME is wrong"
  rm -f "$name.ref"
}

# print NAME: the structure, for algorithm and identifier checks (small
# messages only: the content is printed too).
print() {
  openssl cms -cmsout -print -inform DER -in "$1.der" > "$1.print"
  grep -q "subjectKeyIdentifier" "$1.print" && fail "$1: a recipient named by SKI"
  return 0
}

# same NAME FILE WHAT: FILE equals the first decryption of NAME.
same() {
  if [ ! -e "$1.ref" ]; then
    cp "$2" "$1.ref"
  else
    cmp -s "$1.ref" "$2" || fail "$1: $3 decrypts to different bytes"
  fi
}

dec_openssl() { # NAME WHO
  openssl cms -decrypt -binary -in "$1.eml" -inkey "$2.key" -recip "$2.pem" \
    -out "$1.$2.openssl" 2> "$1.$2.openssl.log" ||
    fail "$1: openssl as $2: $(cat "$1.$2.openssl.log")"
  same "$1" "$1.$2.openssl" "openssl as $2"
}

# gpgsm 2.2 exits 2 when the message has a recipient before ours whose
# certificate it does not hold ("failed to find the certificate"), yet
# decrypts: judge it as GPGME (Kleopatra, GpgOL) does, by its status.
try_gpgsm() { # NAME WHO
  echo pw | GNUPGHOME=$W/gnupg-$2 gpgsm --batch --pinentry-mode loopback \
    --passphrase-fd 0 --status-fd 3 --decrypt --output "$1.$2.gpgsm" "$1.der" \
    > "$1.$2.gpgsm.log" 2>&1 3> "$1.$2.gpgsm.status" || true
  grep -q "^\[GNUPG:\] DECRYPTION_OKAY" "$1.$2.gpgsm.status" &&
    ! grep -q "^\[GNUPG:\] DECRYPTION_FAILED" "$1.$2.gpgsm.status"
}
dec_gpgsm() {
  try_gpgsm "$@" || fail "$1: gpgsm as $2: $(tail -3 "$1.$2.gpgsm.log")"
  same "$1" "$1.$2.gpgsm" "gpgsm as $2"
}

try_nss() { # NAME WHO
  cmsutil -D -i "$1.der" -d "sql:nss-$2" -p "" -o "$1.$2.nss" > "$1.$2.nss.log" 2>&1
}
dec_nss() {
  try_nss "$@" || fail "$1: NSS as $2: $(tail -2 "$1.$2.nss.log")"
  same "$1" "$1.$2.nss" "NSS as $2"
}

# known WHAT LOG CMD...: a peer documented as unable to read this form.
known() {
  local what=$1 log=$2
  shift 2
  if "$@"; then
    echo "NOTE: $what now works: update docs/smime-encrypt.md"
  else
    echo "known: $what fails: $(grep -v '^$' "$log" | tail -1)"
  fi
}

# content SAMPLE NAME: the decrypted entity is the canonical form of the
# sample (same leaves, 7-bit, CRLF).
content() {
  mc compare "$1.eml" "$2.ref" || fail "$2: decrypted entity differs from $1"
  mc check-7bit "$2.ref" || fail "$2: decrypted entity is not canonical"
}

# --- AES-256-CBC EnvelopedData to RSA recipients: everyone reads it -------
for s in utf8 mixed big20m; do
  n=cbc-$s
  opts=(--rcpt bob.pem --caps caps-cbc.der --rcpt dave.pem)
  [ $s = big20m ] && opts+=(--threshold 65536 --max-rss-mb 24)
  encrypt $n $s enveloped-data rsa-pkcs1v15,rsa-pkcs1v15 "${opts[@]}"
  [ $s = big20m ] || { print $n; grep -q "aes-256-cbc" $n.print || fail "$n: not CBC"; }
  for p in bob dave; do
    dec_openssl $n $p
    dec_gpgsm $n $p
    dec_nss $n $p
  done
  content $s $n
  echo "ok: $n decrypts with openssl, gpgsm and NSS ($(sed -n 's/^encrypted: //p' $n.log))"
done

# --- legacy_interop: PKCS#1 v1.5, CBC, issuerAndSerialNumber --------------
n=legacy
encrypt $n utf8 enveloped-data rsa-pkcs1v15,rsa-pkcs1v15 \
  --caps caps-gcm.der --legacy --rcpt bob.pem --caps caps-gcm.der --rcpt dave.pem
print $n
grep -q "rsaesOaep\|gcm" $n.print && fail "$n: OAEP or GCM despite legacy_interop"
[ "$(grep -c "d.issuerAndSerialNumber" $n.print)" = 2 ] || fail "$n: rids"
for p in bob dave; do
  dec_openssl $n $p
  dec_gpgsm $n $p
  dec_nss $n $p
done
content utf8 $n
echo "ok: $n decrypts with openssl, gpgsm and NSS"

# --- EC recipients: ECDH ephemeral-static ---------------------------------
for s in utf8 mixed; do
  n=ec-$s
  encrypt $n $s enveloped-data ecdh,ecdh,rsa-pkcs1v15 \
    --rcpt carol.pem --rcpt erin.pem --rcpt bob.pem
  print $n
  grep -q "dhSinglePass-stdDH-sha256kdf-scheme" $n.print || fail "$n: P-256 KDF"
  grep -q "dhSinglePass-stdDH-sha384kdf-scheme" $n.print || fail "$n: P-384 KDF"
  [ "$(grep -c "id-aes256-wrap" $n.print)" = 2 ] || fail "$n: key wrap"
  for p in carol erin bob; do
    dec_openssl $n $p
  done
  dec_gpgsm $n bob	# gpgsm passes over the ECDH recipients
  content $s $n
  known "NSS 3.87 (even as the RSA recipient) with ECDH recipients in the message" \
    $n.bob.nss.log try_nss $n bob
  known "NSS 3.87 as an ECDH recipient" $n.carol.nss.log try_nss $n carol
  echo "ok: $n decrypts with openssl (P-256, P-384, RSA) and gpgsm (RSA)"
done

# --- AuthEnvelopedData (all advertise GCM): OpenSSL only ------------------
n=gcm
encrypt $n utf8 authEnveloped-data rsaes-oaep,ecdh \
  --caps caps-gcm.der --rcpt bob.pem --caps caps-gcm.der --rcpt carol.pem
print $n
grep -q "aes-256-gcm" $n.print || fail "$n: not GCM"
dec_openssl $n bob
dec_openssl $n carol
content utf8 $n
known "gpgsm 2.2 on AuthEnvelopedData" $n.bob.gpgsm.log try_gpgsm $n bob
known "NSS 3.87 on AuthEnvelopedData" $n.bob.nss.log try_nss $n bob
echo "ok: $n decrypts with openssl"
n=gcm-big20m
encrypt $n big20m authEnveloped-data rsaes-oaep --caps caps-gcm.der \
  --rcpt bob.pem --threshold 65536 --max-rss-mb 24
dec_openssl $n bob
content big20m $n
echo "ok: $n decrypts with openssl ($(sed -n 's/^encrypted: //p' $n.log))"
n=gcm-partial
encrypt $n utf8 enveloped-data rsaes-oaep,rsa-pkcs1v15 \
  --caps caps-gcm.der --rcpt bob.pem --caps caps-cbc.der --rcpt dave.pem
echo "ok: $n: CBC when one recipient does not advertise GCM"

# --- RSAES-OAEP where advertised -------------------------------------------
n=oaep
encrypt $n utf8 enveloped-data rsaes-oaep,rsa-pkcs1v15 \
  --caps caps-oaep.der --rcpt bob.pem --rcpt dave.pem
print $n
[ "$(grep -c "rsaesOaep" $n.print)" = 1 ] || fail "$n: OAEP"
dec_openssl $n bob
dec_openssl $n dave
content utf8 $n
known "gpgsm 2.2 on RSAES-OAEP" $n.bob.gpgsm.log try_gpgsm $n bob
known "NSS 3.87 on RSAES-OAEP" $n.bob.nss.log try_nss $n bob
# an OAEP recipient does not keep the others from reading the message
dec_gpgsm $n dave
dec_nss $n dave
echo "ok: $n decrypts with openssl; gpgsm and NSS read it as the PKCS#1 recipient"

# --- signed, then encrypted: the inner signature verifies everywhere ------
# verify_inner NAME MODE SAMPLE [protected]: NAME.ref is the decrypted
# signed entity; the content signed is SAMPLE's (with "protected": its
# header fields are inside too, so it is not compared); NAME.signed is
# the content gpgsm saw.
verify_inner() {
  local n=$1 mode=$2 s=$3 protected=${4:-}
  # (clear-signed: not with -binary, see tests/interop/sign)
  local bin=-binary
  [ $mode = clear ] && bin=
  openssl cms -verify -in $n.ref -CAfile root.pem $bin -out $n.content \
    2> $n.verify.log || fail "$n: openssl: inner signature: $(cat $n.verify.log)"
  if [ $mode = clear ]; then
    mc extract-clear $n.ref $n.signed $n.p7s
    [ -n "$protected" ] || mc compare $s.eml $n.signed ||
      fail "$n: signed content differs from $s"
    GNUPGHOME=$W/gnupg-bob gpgsm --batch --verify $n.p7s $n.signed > $n.gv.log 2>&1 ||
      fail "$n: gpgsm: inner signature: $(tail -3 $n.gv.log)"
    cmsutil -D -i $n.p7s -c $n.signed -d sql:nss-bob -u 4 > /dev/null 2> $n.nv.log ||
      fail "$n: NSS: inner signature: $(cat $n.nv.log)"
  else
    mc extract-opaque $n.ref $n.p7m
    GNUPGHOME=$W/gnupg-bob gpgsm --batch --verify --output $n.gcontent $n.p7m \
      > $n.gv.log 2>&1 || fail "$n: gpgsm: inner signature: $(tail -3 $n.gv.log)"
    cmsutil -D -i $n.p7m -d sql:nss-bob -u 4 -o $n.ncontent 2> $n.nv.log ||
      fail "$n: NSS: inner signature: $(cat $n.nv.log)"
    cmp -s $n.gcontent $n.ncontent || fail "$n: gpgsm and NSS see different content"
    cmp -s $n.gcontent $n.content || fail "$n: gpgsm and openssl see different content"
    cp $n.gcontent $n.signed
    [ -n "$protected" ] || mc compare $s.eml $n.content ||
      fail "$n: signed content differs from $s"
  fi
  grep -q "Good signature" $n.gv.log || fail "$n: gpgsm: no good signature"
}
for mode in clear opaque; do
  for s in utf8 mixed; do
    n=signed-$mode-$s
    opts=(--sign-key alice.key --sign-cert alice.pem --chain inter.pem
          --rcpt bob.pem --rcpt dave.pem)
    [ $mode = opaque ] && opts+=(--opaque)
    encrypt $n $s enveloped-data rsa-pkcs1v15,rsa-pkcs1v15 "${opts[@]}"
    for p in bob dave; do
      dec_openssl $n $p
      dec_gpgsm $n $p
      dec_nss $n $p
    done
    head -c 200 $n.ref | grep -ci "^content-type: $([ $mode = clear ] &&
      echo multipart/signed || echo application/pkcs7-mime)" ||
      fail "$n: the encrypted entity is not the signed entity"
    verify_inner $n $mode $s
    echo "ok: $n: decrypts and the inner signature verifies with openssl, gpgsm and NSS"
  done
done

# --- header protection (RFC 9788): the protected entity is still what
# every peer decrypts, and its signature (over the protected header
# fields) verifies with all three.
for mode in clear opaque; do
  n=hp-$mode
  opts=(--sign-key alice.key --sign-cert alice.pem --chain inter.pem
        --rcpt bob.pem --header-protection)
  [ $mode = opaque ] && opts+=(--opaque)
  encrypt $n utf8 enveloped-data rsa-pkcs1v15 "${opts[@]}"
  grep -q '^Subject: \[\.\.\.\]' $n.eml || fail "$n: outer Subject is not [...]"
  dec_openssl $n bob
  dec_gpgsm $n bob
  dec_nss $n bob
  verify_inner $n $mode utf8 protected
  subject=$(grep -m1 '^Subject:' utf8.eml | tr -d '\r')
  grep -q "^$subject" $n.signed || fail "$n: the signed entity lacks '$subject'"
  grep -qi '^Content-Type: .*hp="\{0,1\}cipher' $n.signed ||
    fail "$n: the signed entity is not marked hp=cipher"
  echo "ok: $n: header protection: decrypts, inner signature verifies with openssl, gpgsm and NSS"
done

# --- unusable certificates: refused, named ---------------------------------
for p in weak ed; do
  if "$TOOL" --rcpt bob.pem --rcpt $p.pem utf8.eml refused-$p.eml 2> refused-$p.log; then
    fail "$p: encrypted to an unusable certificate"
  fi
  [ ! -e refused-$p.eml ] || fail "$p: output written despite the refusal"
  serial=$(openssl x509 -in $p.pem -noout -serial | sed 's/.*=//')
  grep -q "^permfail: recipient certificate CN=.* serial $serial: " refused-$p.log ||
    fail "$p: refusal does not name the certificate: $(cat refused-$p.log)"
  echo "ok: refused: $(cat refused-$p.log)"
done
echo "PASS"
