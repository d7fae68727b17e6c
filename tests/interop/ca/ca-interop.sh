#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Certificates from `smimectl ca` judged by independent implementations:
# OpenSSL (verify -purpose smimesign/smimeencrypt, CRL check), NSS certutil
# (-u S email signer, -u R email recipient) and gpgsm (trusted CA, issued
# certificate valid, sign/verify round trip with the exported key).
#   ca-interop.sh sqlite|postgresql rsa|ec
. "$(dirname "$0")/ca-lib.sh"
backend=${1:?backend}
kt=${2:?rsa or ec}
need_cmd openssl python3 certutil gpgsm gpg-agent gpgconf
case $kt in
  rsa) ca_setup "$backend" smx_ca_interop 'key_type = "rsa-3072"; crl_url = "http://pki.example.com/ca.crl";' ;;
  ec) ca_setup "$backend" smx_ca_interop_ec 'key_type = "ec-p256"; crl_url = "http://pki.example.com/ca.crl";' ;;
  *) fail "key type $kt" ;;
esac
echo pw > "$W/pw"

# --- the CA ---------------------------------------------------------------
expect_rc 1 ctl ca issue alice@example.com --bogus
expect_rc 2 ctl ca issue alice@example.com          # no CA yet
grep -q "alice@example.com" "$W/err" || fail "error does not name the address: $(cat "$W/err")"
expect_rc 1 ctl ca init --key-type dsa-1024
expect_rc 0 ctl ca init --subject "CN=Interop CA,O=Example Org" --lifetime 5y
expect_rc 2 ctl ca init                             # exists already
expect_rc 0 ctl ca cert
mv "$W/out" "$W/ca.pem"
CAFP=$(fp_of "$W/ca.pem")
openssl x509 -in "$W/ca.pem" -noout -text > "$W/ca.txt"
grep -q "CA:TRUE, pathlen:0" "$W/ca.txt" || fail "CA basicConstraints"
grep -q "Certificate Sign, CRL Sign" "$W/ca.txt" || fail "CA keyUsage"
grep -q "Subject: O = Example Org, CN = Interop CA" "$W/ca.txt" || fail "CA subject: $(grep Subject: "$W/ca.txt")"
openssl verify -CAfile "$W/ca.pem" "$W/ca.pem" >/dev/null || fail "CA does not verify itself"

# --- issuing --------------------------------------------------------------
expect_rc 2 ctl ca issue mallory@elsewhere.example
grep -q "mallory@elsewhere.example" "$W/err" || fail "refusal does not name the address"
expect_rc 0 ctl --json ca issue Alice@Example.com
[ "$(json 'd["created"]' < "$W/out")" = True ] || fail "alice not created"
A=$(json 'd["sign_fingerprint"]' < "$W/out")
[ "$(json 'd["encryption_fingerprint"]' < "$W/out")" = "$A" ] || fail "one certificate expected"
expect_rc 0 ctl --json ca issue alice@example.com     # idempotent
[ "$(json 'd["created"]' < "$W/out")" = False ] || fail "second issue created another"
[ "$(json 'd["sign_fingerprint"]' < "$W/out")" = "$A" ] || fail "second issue returned another"
expect_rc 0 ctl export-p12 alice@example.com "$W/alice.p12" --password-file "$W/pw" --legacy
openssl pkcs12 -in "$W/alice.p12" -passin pass:pw -nokeys -clcerts -legacy 2>/dev/null |
  openssl x509 > "$W/alice.pem" || openssl pkcs12 -in "$W/alice.p12" -passin pass:pw -nokeys -clcerts |
  openssl x509 > "$W/alice.pem" || fail "alice.p12 unreadable"
[ "$(fp_of "$W/alice.pem")" = "$A" ] || fail "exported another certificate"
openssl x509 -in "$W/alice.pem" -noout -text > "$W/alice.txt"
for want in "Subject: CN = alice@example.com, emailAddress = alice@example.com" \
            "email:alice@example.com" "E-mail Protection" "CA:FALSE" \
            "URI:http://pki.example.com/ca.crl" "X509v3 Subject Key Identifier" \
            "X509v3 Authority Key Identifier"; do
  grep -q "$want" "$W/alice.txt" || fail "alice certificate lacks '$want'"
done
serial=$(openssl x509 -in "$W/alice.pem" -noout -serial | sed 's/serial=//')
[ ${#serial} = 40 ] || fail "serial $serial is not 20 octets"
if [ "$kt" = rsa ]; then
  grep -q "Digital Signature, Key Encipherment" "$W/alice.txt" || fail "RSA key usage"
else
  grep -q "Digital Signature, Key Agreement" "$W/alice.txt" || fail "EC key usage"
fi
openssl verify -purpose smimesign -CAfile "$W/ca.pem" "$W/alice.pem" >/dev/null ||
  fail "alice: openssl verify -purpose smimesign"
if [ "$kt" = rsa ]; then
  openssl verify -purpose smimeencrypt -CAfile "$W/ca.pem" "$W/alice.pem" >/dev/null ||
    fail "alice: openssl verify -purpose smimeencrypt"
fi

# separate signing and encryption certificates
expect_rc 0 ctl --json ca issue bob@example.com --separate-encryption
BS=$(json 'd["sign_fingerprint"]' < "$W/out")
BE=$(json 'd["encryption_fingerprint"]' < "$W/out")
[ "$BS" != "$BE" ] || fail "bob: one certificate, want two"
expect_rc 0 ctl export-p12 bob@example.com "$W/bob-sign.p12" --password-file "$W/pw" --fingerprint "$BS"
expect_rc 0 ctl export-p12 bob@example.com "$W/bob-enc.p12" --password-file "$W/pw" --fingerprint "$BE"
for r in sign enc; do
  openssl pkcs12 -in "$W/bob-$r.p12" -passin pass:pw -nokeys -clcerts | openssl x509 > "$W/bob-$r.pem" ||
    fail "bob-$r.p12 unreadable"
done
openssl x509 -in "$W/bob-sign.pem" -noout -ext keyUsage | grep -q "Digital Signature$" || fail "bob signing key usage"
if [ "$kt" = rsa ]; then
  openssl x509 -in "$W/bob-enc.pem" -noout -ext keyUsage | grep -q "Key Encipherment$" || fail "bob encryption key usage"
  openssl verify -purpose smimeencrypt -CAfile "$W/ca.pem" "$W/bob-enc.pem" >/dev/null || fail "bob-enc: smimeencrypt"
  openssl verify -purpose smimeencrypt -CAfile "$W/ca.pem" "$W/bob-sign.pem" >/dev/null 2>&1 &&
    fail "bob-sign must not be an encryption certificate"
else
  openssl x509 -in "$W/bob-enc.pem" -noout -ext keyUsage | grep -q "Key Agreement$" || fail "bob encryption key usage"
fi
openssl verify -purpose smimesign -CAfile "$W/ca.pem" "$W/bob-sign.pem" >/dev/null || fail "bob-sign: smimesign"
openssl verify -purpose smimesign -CAfile "$W/ca.pem" "$W/bob-enc.pem" >/dev/null 2>&1 &&
  fail "bob-enc must not be a signing certificate"

# --- NSS ------------------------------------------------------------------
N="$W/nss"
mkdir -p "$N"
certutil -N -d "sql:$N" --empty-password || fail "certutil -N"
certutil -A -d "sql:$N" -n ca -t "C,C,C" -i "$W/ca.pem" || fail "certutil -A ca"
for c in alice bob-sign bob-enc; do
  certutil -A -d "sql:$N" -n "$c" -t ",," -i "$W/$c.pem" || fail "certutil -A $c"
done
nss_valid() {
  certutil -V -d "sql:$N" -n "$1" -u "$2" > "$W/nss.out" 2>&1 ||
    { cat "$W/nss.out" >&2; fail "NSS: $1 is not valid for usage $2"; }
  grep -q "certificate is valid" "$W/nss.out" || fail "NSS $1 -u $2: $(cat "$W/nss.out")"
}
nss_valid alice S
nss_valid alice R
nss_valid bob-sign S
nss_valid bob-enc R
certutil -V -d "sql:$N" -n bob-enc -u S >/dev/null 2>&1 && fail "NSS: bob-enc accepted as signer"

# --- gpgsm ----------------------------------------------------------------
export GNUPGHOME="$W/gnupg"
mkdir -p "$GNUPGHOME" && chmod 700 "$GNUPGHOME"
printf 'disable-crl-checks\ndisable-policy-checks\n' > "$GNUPGHOME/gpgsm.conf"
printf 'allow-mark-trusted\nallow-loopback-pinentry\n' > "$GNUPGHOME/gpg-agent.conf"
cleanup() { gpgconf --kill all >/dev/null 2>&1; }
trap cleanup EXIT
sha1=$(openssl x509 -in "$W/ca.pem" -noout -fingerprint -sha1 | sed 's/.*=//')
echo "$sha1 S" > "$GNUPGHOME/trustlist.txt"
gpgsm --batch --import "$W/ca.pem" >/dev/null 2>&1 || fail "gpgsm import CA"
gpgsm --batch --import "$W/alice.pem" >/dev/null 2>&1 || fail "gpgsm import alice"
gpgsm --batch --with-validation --list-keys alice@example.com > "$W/gpgsm.list" 2>&1 ||
  { cat "$W/gpgsm.list" >&2; fail "gpgsm --list-keys alice"; }
grep -q "alice@example.com" "$W/gpgsm.list" || fail "gpgsm does not list alice"
grep -Eqi "invalid|not trusted|expired|revoked" "$W/gpgsm.list" &&
  { cat "$W/gpgsm.list" >&2; fail "gpgsm: alice not valid"; }
printf 'a message from alice\r\n' > "$W/msg"
if [ "$kt" = rsa ]; then
  # round trip: gpgsm signs with the exported key, gpgsm and OpenSSL verify
  reexport() { rm -f "$W/alice.p12" && ctl export-p12 alice@example.com "$W/alice.p12" --password-file "$W/pw" --legacy; }
  gpgsm_import_p12 "$W/alice.p12" pw reexport ||
    { cat "$W/alice.p12.gpgsm.log" >&2; fail "gpgsm import alice.p12"; }
  echo pw | gpgsm --batch --pinentry-mode loopback --passphrase-fd 0 -u alice@example.com \
    --detach-sign -o "$W/msg.sig" "$W/msg" >"$W/gpgsm.sign" 2>&1 ||
    { cat "$W/gpgsm.sign" >&2; fail "gpgsm cannot sign with alice's key"; }
  openssl cms -verify -binary -inform DER -in "$W/msg.sig" -content "$W/msg" \
    -CAfile "$W/ca.pem" -purpose smimesign -out /dev/null 2>"$W/cms.err" ||
    fail "openssl does not verify gpgsm's signature: $(cat "$W/cms.err")"
else
  # gpgsm 2.2.40 crashes importing an EC PKCS#12 (seen here): OpenSSL
  # signs with alice's ECDSA key, gpgsm verifies.
  openssl pkcs12 -in "$W/alice.p12" -passin pass:pw -nocerts -nodes > "$W/alice.key" 2>/dev/null ||
    fail "alice key"
  openssl cms -sign -binary -outform DER -in "$W/msg" -signer "$W/alice.pem" \
    -inkey "$W/alice.key" -out "$W/msg.sig" || fail "openssl cms -sign"
fi
gpgsm --batch --verify "$W/msg.sig" "$W/msg" > "$W/gpgsm.verify" 2>&1 ||
  { cat "$W/gpgsm.verify" >&2; fail "gpgsm does not verify alice's signature"; }
grep -q "Good signature" "$W/gpgsm.verify" || fail "gpgsm verify: $(cat "$W/gpgsm.verify")"

# --- revocation and the CRL -----------------------------------------------
expect_rc 2 ctl ca revoke "$CAFP"                      # the CA itself
grep -q "$CAFP" "$W/err" || fail "error does not name the CA fingerprint"
expect_rc 2 ctl ca revoke 0000000000000000000000000000000000000000000000000000000000000000
grep -q 0000000000000000000000000000000000000000000000000000000000000000 "$W/err" || fail "unknown fingerprint not named"
expect_rc 1 ctl ca revoke "$A" --reason bored
expect_rc 0 ctl ca revoke "${A:0:16}" --reason keyCompromise
grep -q "$A: revoked (keyCompromise)" "$W/out" || fail "revoke output: $(cat "$W/out")"
expect_rc 0 ctl --json ca revoke "$A"
[ "$(json 'd["new"]' < "$W/out")" = False ] || fail "second revoke is new"
expect_rc 0 ctl --json list alice@example.com
[ "$(json 'd[0]["status"]' < "$W/out")" = revoked ] || fail "list does not show alice revoked"
expect_rc 0 ctl list alice@example.com
grep -q "$A .* revoked" "$W/out" || fail "list: $(cat "$W/out")"
expect_rc 0 ctl ca crl --out "$W/ca.crl"
openssl crl -in "$W/ca.crl" -noout -text > "$W/crl.txt" || fail "openssl crl"
grep -q "Version 2" "$W/crl.txt" || fail "CRL version"
grep -q "Serial Number: $serial" "$W/crl.txt" || fail "CRL lacks alice's serial $serial"
grep -q "Key Compromise" "$W/crl.txt" || fail "CRL lacks the reason"
grep -q "X509v3 CRL Number" "$W/crl.txt" || fail "CRL number"
grep -q "Next Update" "$W/crl.txt" || fail "CRL nextUpdate"
openssl crl -in "$W/ca.crl" -noout -CAfile "$W/ca.pem" 2>&1 | grep -q "verify OK" || fail "CRL signature"
cat "$W/ca.pem" "$W/ca.crl" > "$W/ca+crl.pem"
openssl verify -crl_check -CAfile "$W/ca+crl.pem" "$W/alice.pem" > "$W/v.out" 2>&1 &&
  fail "revoked alice still verifies with -crl_check"
grep -q "certificate revoked" "$W/v.out" || fail "verify -crl_check: $(cat "$W/v.out")"
openssl verify -crl_check -CAfile "$W/ca+crl.pem" "$W/bob-sign.pem" >/dev/null ||
  fail "bob fails -crl_check"
expect_rc 0 ctl ca crl --der --out "$W/ca.crl.der"
n1=$(openssl crl -in "$W/ca.crl" -noout -crlnumber | sed 's/.*=//')
n2=$(openssl crl -inform DER -in "$W/ca.crl.der" -noout -crlnumber | sed 's/.*=//')
[ $((16#$n2)) -gt $((16#$n1)) ] || fail "CRL number did not grow ($n1, $n2)"

# a revoked certificate is no longer used: issuing again makes a new one
expect_rc 0 ctl --json ca issue alice@example.com
[ "$(json 'd["created"]' < "$W/out")" = True ] || fail "alice not reissued after revocation"
[ "$(json 'd["sign_fingerprint"]' < "$W/out")" != "$A" ] || fail "revoked certificate returned"
expect_rc 0 ctl --json ca issue alice@example.com --force
[ "$(json 'd["created"]' < "$W/out")" = True ] || fail "--force did not issue"
echo "ok: $kt certificates accepted by OpenSSL, NSS and gpgsm ($backend)"
