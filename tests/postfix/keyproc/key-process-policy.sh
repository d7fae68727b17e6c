#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# What the key process grants, asked directly over its socket as the
# daemon asks: it signs a digest for an identity of the store (a real
# PKCS #1 signature, checked with openssl) and decrypts for an internal
# user's key; it refuses, and logs, a signature for an unknown
# fingerprint, a decryption with an outside correspondent's key, an
# enrollment while ca.auto_enroll is off, a malformed request, and
# requests over keys.process_rate. It ends when the socket closes.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/pki.sh"
set -e
need_cmd openssl python3
CLIENT="$SMX_SOURCE_DIR/tests/postfix/keyproc/kpclient.py"
pki=$(fresh_dir pki)
q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }
pki_ca "$pki" "Key Process Policy CA"
echo pw > "$pki/pw"
issue() { # NAME EMAIL: certificate and PKCS#12
  pki_issue "$1" "$2"
  pki_p12 "$1" "$pki/pw"
}
issue alice alice@example.com
issue bob bob@partner.example
fp() { openssl x509 -in "$pki/$1.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f; }

conf="$SMX_TEST_DIR/milter.conf"
write_milter_conf "$conf" "inet:1@127.0.0.1"
rm -f "$SMX_TEST_DIR"/store.db* "$SMX_TEST_DIR/master.key"
ctl() { "$SMX_BIN_DIR/smimectl" -c "$conf" "$@"; }
q ctl init
q ctl trust add "$pki/ca.pem"
q ctl import-p12 "$pki/alice.p12" --password-file "$pki/pw"
q ctl import-p12 "$pki/bob.p12" --password-file "$pki/pw"
log="$SMX_TEST_DIR/keyproc.log"
: > "$log"

digest=$(printf 'signed attributes' | openssl dgst -sha256 -binary | od -An -tx1 | tr -d ' \n')
head -c 32 /dev/urandom > "$pki/cek"
openssl pkeyutl -encrypt -pubin -inkey <(openssl x509 -in "$pki/alice.pem" -noout -pubkey) \
  -in "$pki/cek" -out "$pki/cek.alice" || fail "pkeyutl -encrypt"
openssl pkeyutl -encrypt -pubin -inkey <(openssl x509 -in "$pki/bob.pem" -noout -pubkey) \
  -in "$pki/cek" -out "$pki/cek.bob" || fail "pkeyutl -encrypt"
unknown=$(printf '%064d' 0 | tr 0 a)
cat > "$pki/script" <<EOS
sign $(fp alice) $digest
sign $unknown $digest
sign $(fp alice) $digest md5
decrypt $(fp alice) $pki/cek.alice
decrypt $(fp bob) $pki/cek.bob
enroll carol@example.com
raw 00
EOS
python3 "$CLIENT" "$SMX_BIN_DIR/smime-milter" "$conf" "$log" "$pki/script" > "$pki/replies" ||
  { cat "$log" >&2; fail "the key process did not run or end cleanly"; }
cat "$pki/replies"
mapfile -t r < "$pki/replies"
[ "${r[0]%% *}" = ok ] || fail "no signature for alice: ${r[0]}"
python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.argv[1]))' "${r[0]#ok }" > "$pki/sig"
printf 'signed attributes' | openssl dgst -sha256 -binary > "$pki/digest"
openssl pkeyutl -verify -pubin -inkey <(openssl x509 -in "$pki/alice.pem" -noout -pubkey) \
  -pkeyopt digest:sha256 -in "$pki/digest" -sigfile "$pki/sig" >/dev/null ||
  fail "alice's signature from the key process does not verify"
echo "ok: signs a digest for an identity of the store"
[ "${r[1]%% *}" = refused ] || fail "signed for an unknown fingerprint: ${r[1]}"
grep -q "refused to sign with $unknown: no such certificate" "$log" || fail "refusal not logged"
[ "${r[2]%% *}" = bad_request ] || fail "accepted an md5 digest: ${r[2]}"
grep -q "refused a malformed request" "$log" || fail "malformed request not logged"
echo "ok: refuses (and logs) an unknown fingerprint and a malformed request"
[ "${r[3]}" = "ok $(od -An -tx1 "$pki/cek" | tr -d ' \n')" ] || fail "alice's block not decrypted: ${r[3]}"
[ "${r[4]%% *}" = refused ] || fail "decrypted with an outside correspondent's key: ${r[4]}"
grep -q "refused to decrypt with $(fp bob): not an internal user's certificate" "$log" ||
  fail "outside decryption refusal not logged"
echo "ok: decrypts only with internal users' keys"
[ "${r[5]%% *}" = refused ] || fail "enrolled with ca.auto_enroll off: ${r[5]}"
grep -q "refused to enroll <carol@example.com>: ca.auto_enroll is off" "$log" ||
  fail "enrollment refusal not logged"
[ "${r[6]%% *}" = bad_request ] || fail "a 1-byte request was not refused: ${r[6]}"
echo "ok: refuses enrollment with ca.auto_enroll off and a short request"

# Lanes: the daemon talks to the key process over one socket pair per
# CPU, each answered by its own thread, so that the private-key work of
# parallel messages is not done one at a time. A request sent on every
# lane before any reply is read must be answered on every lane.
printf 'burst %s %s\n' "$(fp alice)" "$digest" > "$pki/script3"
python3 "$CLIENT" "$SMX_BIN_DIR/smime-milter" "$conf" "$log" "$pki/script3" 3 > "$pki/replies3" ||
  { cat "$log" >&2; fail "the key process did not answer on three lanes or end cleanly"; }
[ "$(grep -c '^ok ' "$pki/replies3")" = 3 ] || fail "not every lane was answered: $(cat "$pki/replies3")"
echo "ok: answers requests in flight on three lanes at once"

# keys.process_rate = 1: the second request within the second is refused.
sed -i 's|^keys: {|keys: { process_rate = 1;|' "$conf"
printf 'sign %s %s\nsign %s %s\n' "$(fp alice)" "$digest" "$(fp alice)" "$digest" > "$pki/script2"
python3 "$CLIENT" "$SMX_BIN_DIR/smime-milter" "$conf" "$log" "$pki/script2" > "$pki/replies2" ||
  { cat "$log" >&2; fail "the key process did not run or end cleanly"; }
mapfile -t r < "$pki/replies2"
[ "${r[0]%% *}" = ok ] && [ "${r[1]%% *}" = rate_limited ] ||
  fail "keys.process_rate = 1 did not limit: ${r[*]}"
grep -q "over keys.process_rate (1 a second)" "$log" || fail "rate refusal not logged"
echo "ok: keys.process_rate limits and logs"
