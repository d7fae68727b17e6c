#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# PKCS#12 round trips between smimectl and independent implementations:
# OpenSSL (openssl pkcs12), NSS (pk12util) and gpgsm, plus the master-key
# guarantees. Everything is generated here, in this test's directory.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
set -o pipefail

need_cmd openssl pk12util certutil gpgsm gpgconf python3
W=$(fresh_dir work)
cd "$W" || fail "no work dir"
CTL="$SMX_BIN_DIR/smimectl"
export GNUPGHOME="$W/gnupg"
# gpgsm starts gpg-agent and dirmngr for this GNUPGHOME: stop both.
cleanup() { gpgconf --kill all >/dev/null 2>&1 || true; }
trap cleanup EXIT

conf() {  # conf FILE DBPATH KEYFILE
  cat > "$1" <<CONF
milter: { internal_domains = [ "example.com" ]; };
store: { backend = "sqlite"; path = "$2"; };
keys: { master_key_file = "$3"; };
CONF
}
conf store.conf "$W/store.db" "$W/master.key"
ctl() { "$CTL" -c "$W/store.conf" "$@"; }
# expect_rc WANT CMD...: runs CMD, captures stderr in $W/err, checks the exit code
expect_rc() {
  local want=$1 rc=0
  shift
  "$@" >"$W/out" 2>"$W/err" || rc=$?
  [ "$rc" = "$want" ] || { cat "$W/out" "$W/err" >&2; fail "'$*' exited $rc, want $want"; }
}
has_key() {  # has_key EMAIL -> prints true/false for the newest certificate
  ctl list "$1" --json | python3 -c 'import json,sys; l=json.load(sys.stdin); print(str(l[0]["has_key"]).lower() if l else "none")'
}

# --- test identities, made with the openssl CLI ---------------------------
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 \
  -subj "/O=smime-milter tests/CN=Interop CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=keyCertSign,cRLSign" 2>/dev/null \
  || fail "CA generation"
issue() {  # issue NAME EMAIL|"" KEYALG
  local name=$1 email=$2 alg=$3
  if [ "$alg" = ec ]; then
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$name.key" 2>/dev/null
  else
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$name.key" 2>/dev/null
  fi
  openssl req -new -key "$name.key" -subj "/CN=$name" -out "$name.csr" 2>/dev/null
  {
    [ -n "$email" ] && echo "subjectAltName=email:$email"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=emailProtection"
  } > "$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
    -days 20 -extfile "$name.ext" -out "$name.pem" 2>/dev/null || fail "issue $name"
}
echo "p12-secret" > pw
echo "wrong-password" > badpw
issue alice alice@example.com rsa
issue bob Bob@Example.com rsa
issue noaddr "" rsa
openssl pkcs12 -export -name alice -in alice.pem -inkey alice.key -certfile ca.pem \
  -passout file:pw -out alice-openssl.p12 || fail "openssl pkcs12 -export"
openssl pkcs12 -export -name noaddr -in noaddr.pem -inkey noaddr.key \
  -passout file:pw -out noaddr.p12 || fail "openssl pkcs12 -export noaddr"

expect_rc 0 ctl init
[ "$(stat -c %a master.key)" = 600 ] || fail "master key mode is $(stat -c %a master.key)"
expect_rc 0 ctl init   # idempotent
expect_rc 0 ctl trust add ca.pem

# --- import: OpenSSL-made file; wrong password changes nothing -------------
ctl list --json > before.json
expect_rc 2 ctl import-p12 alice-openssl.p12 --password-file badpw
grep -q "alice-openssl.p12: wrong password" err || fail "no clear wrong-password error: $(cat err)"
ctl list --json > after.json
cmp -s before.json after.json || fail "a failed import changed the store"
expect_rc 2 ctl import-p12 noaddr.p12 --password-file pw
grep -q "noaddr.p12: .*no email address" err || fail "no-address refusal: $(cat err)"
expect_rc 0 ctl import-p12 alice-openssl.p12 --password-file pw
[ "$(has_key alice@example.com)" = true ] || fail "alice has no key after import"
echo "ok: openssl-made PKCS#12 imported; wrong password and no address refused"

# --- import: NSS-made file -------------------------------------------------
mkdir nss-a && certutil -N -d sql:nss-a --empty-password || fail "certutil -N"
openssl pkcs12 -export -name bob -in bob.pem -inkey bob.key -passout file:pw \
  -out bob-openssl.p12 || fail "bob p12"
pk12util -i bob-openssl.p12 -d sql:nss-a -w pw -K "" >/dev/null || fail "pk12util -i (bob)"
pk12util -o bob-nss.p12 -n bob -d sql:nss-a -w pw -K "" >/dev/null || fail "pk12util -o"
expect_rc 0 ctl import-p12 bob-nss.p12 --password-file pw
[ "$(has_key bob@example.com)" = true ] || fail "bob (NSS-made) has no key after import"
echo "ok: NSS pk12util-made PKCS#12 imported"

# --- export (default AES-256/PBKDF2), read by OpenSSL and NSS --------------
expect_rc 0 ctl export-p12 alice@example.com alice-out.p12 --password-file pw
openssl pkcs12 -in alice-out.p12 -passin file:pw -nodes -info 2>info.txt >alice-out.pem \
  || fail "openssl cannot read the export"
grep -q "AES-256-CBC" info.txt || fail "default export is not AES-256: $(cat info.txt)"
[ "$(openssl x509 -in alice-out.pem -noout -fingerprint -sha256)" = \
  "$(openssl x509 -in alice.pem -noout -fingerprint -sha256)" ] || fail "exported certificate differs"
[ "$(openssl pkey -in alice-out.pem -pubout)" = "$(openssl pkey -in alice.key -pubout)" ] \
  || fail "exported key differs"
mkdir nss-b && certutil -N -d sql:nss-b --empty-password || fail "certutil -N"
pk12util -i alice-out.p12 -d sql:nss-b -w pw -K "" >/dev/null || fail "pk12util cannot import our export"
certutil -K -d sql:nss-b | grep -ci alice || fail "NSS shows no alice key"
expect_rc 2 ctl export-p12 alice@example.com alice-out.p12 --password-file pw
grep -q "alice-out.p12: exists already" err || fail "export overwrote a file"
echo "ok: export imported by openssl pkcs12 and pk12util"

# --- export carries the issuer path: an intermediate stored as a CA ---------
# carol is issued by an intermediate that only her imported file held; her
# export names it and the root, so a client trusting the root alone can
# build her path.
openssl req -new -newkey rsa:2048 -nodes -keyout sub.key -subj "/CN=Interop Sub CA" \
  -out sub.csr 2>/dev/null || fail "sub CA request"
printf "basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign,cRLSign\n" > sub.ext
openssl x509 -req -in sub.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 20 \
  -extfile sub.ext -out sub.pem 2>/dev/null || fail "sub CA"
issue carol carol@example.com rsa
openssl x509 -req -in carol.csr -CA sub.pem -CAkey sub.key -CAcreateserial -days 20 \
  -extfile carol.ext -out carol.pem 2>/dev/null || fail "carol under the sub CA"
openssl pkcs12 -export -name carol -in carol.pem -inkey carol.key -certfile sub.pem \
  -passout file:pw -out carol-in.p12 || fail "carol p12"
expect_rc 0 ctl import-p12 carol-in.p12 --password-file pw
expect_rc 0 ctl export-p12 carol@example.com carol-out.p12 --password-file pw
openssl pkcs12 -in carol-out.p12 -passin file:pw -nokeys -cacerts 2>/dev/null |
  grep "^subject=" > carol-cas.txt || fail "carol's export holds no CA certificate"
grep -q "CN *= *Interop Sub CA" carol-cas.txt || fail "carol's export lacks the intermediate: $(cat carol-cas.txt)"
grep -q "CN *= *Interop CA" carol-cas.txt || fail "carol's export lacks the root: $(cat carol-cas.txt)"
[ "$(wc -l < carol-cas.txt)" = 2 ] || fail "carol's export holds other CAs: $(cat carol-cas.txt)"
echo "ok: export carries the issuer path from the stored CA certificates"

# --- legacy export, imported by gpgsm 2.2 ---------------------------------
mkdir -m 700 "$GNUPGHOME"
printf "disable-crl-checks\ndisable-policy-checks\n" > "$GNUPGHOME/gpgsm.conf"
echo "allow-loopback-pinentry" > "$GNUPGHOME/gpg-agent.conf"
expect_rc 0 ctl export-p12 bob@example.com bob-legacy.p12 --password-file pw --legacy
# gpgsm 2.2.40 cannot decrypt a small share of valid legacy files (see
# gpgsm_import_p12): a failing file is kept and exported again.
reexport() { rm -f bob-legacy.p12 && ctl export-p12 bob@example.com bob-legacy.p12 --password-file pw --legacy; }
gpgsm_import_p12 bob-legacy.p12 "$(cat pw)" reexport ||
  { cat bob-legacy.p12.gpgsm.log >&2; fail "gpgsm --import of the legacy export"; }
gpgsm --list-secret-keys 2>/dev/null | grep -ci "bob@example.com" \
  || { cat bob-legacy.p12.gpgsm.log >&2; fail "gpgsm holds no secret key for bob"; }
echo "ok: --legacy export imported by gpgsm"

# --- --delete-key: certificate stays, key goes -----------------------------
expect_rc 0 ctl export-p12 bob@example.com bob-final.p12 --password-file pw --delete-key
[ -s bob-final.p12 ] || fail "no file written"
[ "$(has_key bob@example.com)" = false ] || fail "key still held after --delete-key"
expect_rc 2 ctl export-p12 bob@example.com again.p12 --password-file pw
grep -q "bob@example.com: no private key" err || fail "$(cat err)"
[ ! -e again.p12 ] || fail "a file was written without a key"
openssl pkcs12 -in bob-final.p12 -passin file:pw -nodes -noout || fail "bob-final.p12 unreadable"
# a failing write must not delete the key: export into a missing directory
expect_rc 2 ctl export-p12 alice@example.com "$W/missing/x.p12" --password-file pw --delete-key
[ "$(has_key alice@example.com)" = true ] || fail "key deleted although the export failed"
echo "ok: --delete-key removes the key only after a good export"

# --- master key: copied store without key file; wrong key; loose mode -------
mkdir copy && cp store.db copy/
conf copy.conf "$W/copy/store.db" "$W/copy/master.key"
expect_rc 1 "$CTL" -c copy.conf export-p12 alice@example.com copy.p12 --password-file pw
grep -q "copy/master.key: no master key file" err || fail "$(cat err)"
[ ! -e copy.p12 ] || fail "a key came out of a store without its key file"
expect_rc 0 "$CTL" -c copy.conf list alice@example.com   # certificates still readable
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > copy/master.key; echo >> copy/master.key
chmod 600 copy/master.key
expect_rc 1 "$CTL" -c copy.conf export-p12 alice@example.com copy.p12 --password-file pw
grep -q "does not match the store" err || fail "wrong master key not detected: $(cat err)"
[ ! -e copy.p12 ] || fail "a key came out with the wrong master key"
chmod 640 master.key
expect_rc 1 ctl list
grep -q "master.key: the master key file is accessible by group or others" err \
  || fail "loose key file mode accepted: $(cat err)"
chmod 600 master.key
echo "ok: master key missing/wrong/loose handled"
echo "PASS"
