#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Private keys in a PKCS#11 token (SoftHSM2, its token directory in the
# test directory through SOFTHSM2_CONF). Two identities (RSA-2048, ECDSA
# P-256) are imported with `smimectl import-p12 --to-token`: their store
# rows name the key by a PKCS#11 URI and hold no key material. Through a
# real Postfix the milter signs for each (OpenSSL, gpgsm and NSS accept
# the signature) and decrypts inbound mail encrypted to each (RSA key
# transport, ECDH key agreement); the memory of the process that reads
# mail holds neither private key. With a wrong PIN in the PIN file the
# key process cannot use the token: a message to be signed is tempfailed
# (451) and nothing goes out unsigned, and the failure is logged once.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"
. "$SMX_SOURCE_DIR/tests/lib/pki.sh"
. "$SMX_SOURCE_DIR/tests/postfix/keyproc/secrets.sh"
set -e
pf_need_peers
need_cmd openssl saslpasswd2 pgrep python3 sqlite3 gpgsm certutil cmsutil
MODULE=${SMX_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
command -v softhsm2-util >/dev/null 2>&1 && [ -r "$MODULE" ] ||
  skip "softhsm2 is not installed (softhsm2-util, $MODULE)"
command -v pkcs11-tool >/dev/null 2>&1 ||
  skip "pkcs11-tool is not installed (Debian package opensc)"
engines=$(openssl version -e | sed -n 's/^ENGINESDIR: "\(.*\)"$/\1/p')
[ -r "$engines/pkcs11.so" ] ||
  skip "the OpenSSL engine pkcs11 is not installed (libengine-pkcs11-openssl)"
MSGTOOL="$SMX_SOURCE_DIR/tests/lib/msgtool.py"
SCAN="$SMX_SOURCE_DIR/tests/postfix/keyproc/memscan.py"
unset SMX_MILTER_WRAPPER	# the scan reads the milter's own process

pki=$(fresh_dir pki)
q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }
pki_ca "$pki" "Token Test CA"
echo pw > "$pki/pw"
issue() { # NAME KEYSPEC...
  local name=$1
  shift
  pki_issue -ku digitalSignature,keyEncipherment,keyAgreement \
    "$name" "$name@example.com" "$@"
  pki_p12 "$name" "$pki/pw"
}
issue alice rsa:2048
issue erin ec -pkeyopt ec_paramgen_curve:P-256
users="alice erin"

# The token: SoftHSM2 with its objects under the test directory.
hsm=$(fresh_dir softhsm)
mkdir "$hsm/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
  "$hsm" > "$hsm/softhsm2.conf"
export SOFTHSM2_CONF="$hsm/softhsm2.conf"
q softhsm2-util --init-token --free --label smx-test --so-pin 87654321 --pin 4321
pin="$hsm/pin"
printf '4321\n' > "$pin"
chmod 600 "$pin"

pf_init --sasl
# Independent judges of the token's signatures: gpgsm and NSS, each
# trusting the test CA only.
export GNUPGHOME="$SMX_TEST_DIR/gnupg"
trap 'rc=$?; set +e; gpgconf --kill all >/dev/null 2>&1; pf_cleanup $rc' EXIT
rm -rf "$GNUPGHOME" "$SMX_TEST_DIR/nss"
gpgsm_home "$GNUPGHOME" "$pki/ca.pem"
mkdir -m 700 "$SMX_TEST_DIR/nss"
q certutil -N -d "sql:$SMX_TEST_DIR/nss" --empty-password
q certutil -A -d "sql:$SMX_TEST_DIR/nss" -n ca -t "C,C,C" -i "$pki/ca.pem"
sink_start
write_milter_conf "$PF_MILTER_CONF" "$PF_MILTER_PORT" \
  'trusted_networks = [ "192.0.2.0/24" ]'
printf 'policy: { decrypt_inbound = true; };\n' >> "$PF_MILTER_CONF"
sed -i "s|^keys: {|keys: { pkcs11_module = \"$MODULE\"; pkcs11_pin_file = \"$pin\";|" \
  "$PF_MILTER_CONF"
rm -f "$SMX_TEST_DIR"/store.db* "$SMX_TEST_DIR/master.key"
ctl() { "$SMX_BIN_DIR/smimectl" -c "$PF_MILTER_CONF" "$@"; }
q ctl init
q ctl trust add "$pki/ca.pem"
for u in $users; do
  ctl import-p12 "$pki/$u.p12" --password-file "$pki/pw" --to-token \
    > "$pki/$u.import" 2>&1 || { cat "$pki/$u.import" >&2; fail "import-p12 --to-token $u"; }
  grep -q "in the PKCS#11 token" "$pki/$u.import" ||
    { cat "$pki/$u.import" >&2; fail "import-p12 does not say the key went into the token"; }
  pf_add_sasl_user "$u@example.com" "pw-$u"
done
# In the token: two private keys, sensitive and not extractable.
objs=$(pkcs11-tool --module "$MODULE" --login --pin 4321 --list-objects \
  --type privkey 2>&1) || fail "pkcs11-tool --list-objects: $objs"
[ "$(echo "$objs" | grep -c '^ *Access: *sensitive$')" = 2 ] ||
  fail "the token's keys are not sensitive or are extractable: $objs"
# The milter's user reads the token and the PIN file.
[ "$(id -u)" != 0 ] || chown -R "$SMX_TEST_USER" "$hsm"

# The store holds no key material for them: an empty sealed value and a
# pkcs11: URI in every key row.
rows=$(sqlite3 "$SMX_TEST_DIR/store.db" \
  "SELECT length(sealed) || ' ' || substr(token_uri, 1, 7) FROM cert_keys")
[ "$(echo "$rows" | sort | uniq -c | awk '{print $1, $2, $3}')" = "2 0 pkcs11:" ] ||
  fail "key rows are not token references: [$rows]"
fp=$(ctl list alice@example.com --json | python3 -c \
  'import json,sys; l=json.load(sys.stdin); assert l[0]["key_in_token"], l; print(l[0]["fingerprint"])') ||
  fail "list does not say alice's key is in the token"
ctl show "$fp" | grep -q "^private key:  in a PKCS#11 token" ||
  fail "show does not say where the key lives"
ctl show "$fp" | grep -q "^token key:    pkcs11:.*id=" || fail "show names no token URI"
ctl list alice@example.com | grep -q " token " || fail "list does not mark the key as a token's"
echo "ok: the store holds token URIs and no key material"
pf_start

secrets="$pki/secrets"
: > "$secrets"
for u in $users; do
  h=$(secret_hex "$pki/$u.key")
  [ ${#h} -ge 64 ] || fail "cannot read the private number of $u.key"
  echo "$u $h" >> "$secrets"
done
echo "master $(tr -d '\n' < "$SMX_TEST_DIR/master.key")" >> "$secrets"

msgs=$(fresh_dir messages)
crlf() { tr -d '\r' < "$1" | sed 's/$/\r/'; }
# submit USER TAG: USER submits a message; prints "accepted QUEUEID" or
# the server's reply.
submit() {
  local m="$msgs/$1-$2"
  printf 'From: <%s@example.com>\r\nTo: <rcpt@partner.example>\r\nSubject: signed %s\r\n\r\nHello from %s.\r\n' \
    "$1" "$2" "$1" > "$m.eml"
  python3 "$MSGTOOL" wire "$m.eml" "$m.wire"
  if pf_send "$m.out" --server "127.0.0.1:$PF_SUBMIT_PORT" -a PLAIN \
       -au "$1@example.com" -ap "pw-$1" --from "$1@example.com" \
       --to rcpt@partner.example -ndf --data "@$m.wire"; then
    echo "accepted $(pf_queue_id "$m.out")"
  else
    cat "$m.out"
  fi
}
sign_as() {
  local r qid f
  r=$(submit "$1" "$2")
  case "$r" in accepted*) ;; *) echo "$r" >&2; fail "$1's message was refused" ;; esac
  qid=${r#accepted }
  pf_wait_delivered "$qid"
  f=$(sink_file_for "$qid")
  grep -qi '^Content-Type: multipart/signed' "$f" ||
    { cat "$f" >&2; fail "$1's message was not signed"; }
  openssl cms -verify -in "$f" -CAfile "$pki/ca.pem" -out "$f.text" 2>"$f.verify" ||
    { cat "$f.verify" >&2; fail "openssl cms -verify refused $1's signature"; }
  grep -q "Hello from $1" "$f.text" || fail "$1's signed text is not the message"
  python3 "$SMX_SOURCE_DIR/tests/lib/sink-to-message.py" "$f" "$f.eml"
  python3 "$SMX_SOURCE_DIR/tests/lib/mime_tool.py" extract-clear "$f.eml" \
    "$f.content" "$f.sig" || fail "$1's message is not multipart/signed"
  gpgsm --batch --verify "$f.sig" "$f.content" > "$f.gpgsm" 2>&1 &&
    grep -q "Good signature" "$f.gpgsm" ||
    { cat "$f.gpgsm" >&2; fail "gpgsm refused $1's signature"; }
  cmsutil -D -i "$f.sig" -c "$f.content" -d "sql:$SMX_TEST_DIR/nss" -u 4 \
    > /dev/null 2> "$f.nss" || { cat "$f.nss" >&2; fail "NSS refused $1's signature"; }
  echo "ok: $1 signed with the token's key; OpenSSL, gpgsm and NSS accept it"
}
decrypt_for() {
  local m="$msgs/to-$1" qid f
  printf 'Content-Type: text/plain\r\n\r\nSecret for %s.\r\n' "$1" > "$m.content"
  openssl cms -encrypt -aes256 -binary -in "$m.content" -out "$m.smime" \
    "$pki/$1.pem" 2>/dev/null || fail "openssl cms -encrypt"
  { printf 'From: <bob@partner.example>\r\nTo: <%s@example.com>\r\nSubject: enc\r\n' "$1"
    crlf "$m.smime"; } > "$m.eml"
  python3 "$MSGTOOL" wire "$m.eml" "$m.wire"
  pf_send "$m.out" --from bob@partner.example --to "$1@example.com" \
    -ndf --data "@$m.wire" || { cat "$m.out" >&2; fail "to $1 refused"; }
  qid=$(pf_queue_id "$m.out")
  pf_wait_delivered "$qid"
  f=$(sink_file_for "$qid")
  grep -q '^X-SMIME-Decrypted:' "$f" && grep -q "Secret for $1" "$f" ||
    { cat "$f" >&2; fail "the message to $1 was not decrypted"; }
  echo "ok: mail encrypted to $1 decrypted with the token's key"
}

pf_start_milter
for i in $(seq 100); do
  grep -q "key process [0-9]* ready" "$PF_MILTER_LOG" && break
  sleep 0.1
done
grep -q "PKCS#11 module $MODULE loaded" "$PF_MILTER_LOG" ||
  { cat "$PF_MILTER_LOG" >&2; fail "the key process did not load the module"; }
for u in $users; do sign_as "$u" ok; done
for u in $users; do decrypt_for "$u"; done

keypid=$(pgrep -P "$MILTER_PID" | head -1)
[ -n "$keypid" ] || fail "no key process under the milter ($MILTER_PID)"
in_mail=$(python3 "$SCAN" "$MILTER_PID" "$secrets" | tr '\n' ' ')
in_keys=$(python3 "$SCAN" "$keypid" "$secrets" | tr '\n' ' ')
echo "mail-handling process holds: [$in_mail]; key process holds: [$in_keys]"
[ -z "$in_mail" ] || fail "the mail-handling process holds: $in_mail"
case " $in_keys" in *" master "*) ;; *) fail "the scan did not find the master key in the key process: [$in_keys]" ;; esac
echo "ok: no token key in the process that reads mail"

# A wrong PIN: the token cannot be used. Signing is tempfailed and
# nothing reaches the sink unsigned; the failure is logged once.
pf_stop_milter
printf '9999\n' > "$pin"
before=$(sink_count)
pf_start_milter
for n in 1 2; do
  r=$(submit alice "badpin$n")
  case "$r" in
    *"451 4"*) ;;
    *) echo "$r" >&2; fail "with a wrong PIN, message $n was not tempfailed" ;;
  esac
done
sleep 1
[ "$(sink_count)" = "$before" ] || fail "a message reached the sink with a wrong PIN"
n=$(grep -c "in the PKCS#11 token is unavailable" "$PF_MILTER_LOG" || true)
[ "$n" = 1 ] || { cat "$PF_MILTER_LOG" >&2; fail "the token's failure was logged $n times, not once"; }
echo "ok: a wrong PIN tempfails signing (451), nothing sent unsigned, logged once"
