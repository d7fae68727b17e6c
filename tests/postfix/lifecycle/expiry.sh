#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Expiry: `smimectl list --expiring DAYS` lists the certificates that end
# within DAYS; the running milter's certificates_expiring gauge counts
# the identities and recent recipients' certificates that end within 30
# days, and its log warns (once) about an identity that ends within 14
# days that no one renews.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
set -e
need_cmd openssl curl python3
trap 'rc=$?; set +e; stop_milter; exit $rc' EXIT

pki=$(fresh_dir pki)
q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }
q openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/ca.key" \
  -out "$pki/ca.pem" -days 400 -subj "/CN=Expiry Test CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign"
echo p12pass > "$pki/pw"
# issue NAME EMAIL DAYS
issue() {
  q openssl req -newkey rsa:2048 -nodes -keyout "$pki/$1.key" \
    -out "$pki/$1.csr" -subj "/CN=$1"
  q openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.pem" \
    -CAkey "$pki/ca.key" -CAcreateserial -out "$pki/$1.pem" -days "$3" \
    -extfile <(printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=emailProtection\nsubjectAltName=email:%s\n' "$2")
  q openssl pkcs12 -export -in "$pki/$1.pem" -inkey "$pki/$1.key" \
    -out "$pki/$1.p12" -passout "file:$pki/pw"
}
issue alice alice@example.com 5	# an identity ending in 5 days
issue carol carol@example.com 200	# one that is fine
issue bob bob@partner.example 20	# a recipient ending in 20 days
issue dave dave@partner.example 90	# one ending later

conf="$SMX_TEST_DIR/milter.conf"
log="$SMX_TEST_DIR/milter.log"
: > "$log"
MPORT=$(free_port)
write_milter_conf "$conf" "$(free_port)" "metrics_listen = \"$MPORT\""
rm -f "$SMX_TEST_DIR"/store.db* "$SMX_TEST_DIR/master.key"
ctl() { "$SMX_BIN_DIR/smimectl" -c "$conf" "$@"; }
q ctl init
q ctl trust add "$pki/ca.pem"
q ctl import-p12 "$pki/alice.p12" --password-file "$pki/pw"
q ctl import-p12 "$pki/carol.p12" --password-file "$pki/pw"
q ctl import-cert "$pki/bob.pem" "$pki/dave.pem"

emails() { python3 -c 'import json,sys; print(" ".join(sorted(e for c in json.load(sys.stdin) for e in c["emails"])))'; }
got=$(ctl --json list --expiring 30 | emails)
[ "$got" = "alice@example.com bob@partner.example" ] ||
  fail "list --expiring 30: '$got', want alice and bob"
got=$(ctl --json list --expiring 10 | emails)
[ "$got" = "alice@example.com" ] || fail "list --expiring 10: '$got', want alice"
got=$(ctl --json list bob@partner.example --expiring 10 | emails)
[ -z "$got" ] || fail "list bob --expiring 10: '$got', want nothing"
ctl list --expiring 1 | grep -q "no certificate expires within 1 days" ||
  fail "list --expiring 1 does not say that nothing expires"
ctl list --expiring x >/dev/null 2>&1 && fail "list --expiring x accepted"
echo "ok: smimectl list --expiring"

start_milter "$conf" "$log"
wait_for_port "$MPORT" 10 || fail "no metrics listener"
series() { curl -s --max-time 5 "http://127.0.0.1:$MPORT/metrics" |
  sed -n "s/^smime_milter_certificates_expiring{kind=\"$1\"} //p"; }
i=0
until [ "$(series identity)" = 1 ] || [ $i -ge 50 ]; do sleep 0.2; i=$((i + 1)); done
[ "$(series identity)" = 1 ] || fail "identity gauge: '$(series identity)', want 1"
[ "$(series recipient)" = 1 ] || fail "recipient gauge: '$(series recipient)', want 1"
echo "ok: the gauge counts alice's identity and bob's certificate"
n=$(grep -c "expiry: identity <alice@example.com> .* not renewed automatically" "$log" || true)
[ "$n" = 1 ] || { cat "$log" >&2; fail "want one expiry warning for alice, got $n"; }
grep -q "expiry: identity <carol@example.com>" "$log" && fail "carol warned about"
echo "ok: one warning for alice's identity"
echo PASS
