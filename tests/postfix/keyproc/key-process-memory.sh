#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The process that reads mail holds no private key and no master key.
# Through a real Postfix the milter signs for three users (RSA-2048,
# ECDSA P-256, RSA-3072) and decrypts inbound mail for each (RSA key
# transport, ECDH key agreement); then
# the memory of the mail-handling process (every readable mapping,
# through /proc/PID/mem) holds none of their private exponents or EC
# scalars nor the master key, while the key process's memory holds them
# all (the scan can find what it looks for). With keys.process = false
# the same scan of the one process finds them: the key process is what
# keeps them out.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"
. "$SMX_SOURCE_DIR/tests/lib/pki.sh"
. "$SMX_SOURCE_DIR/tests/postfix/keyproc/secrets.sh"
set -e
pf_need_peers
need_cmd openssl saslpasswd2 pgrep python3
MSGTOOL="$SMX_SOURCE_DIR/tests/lib/msgtool.py"
SCAN="$SMX_SOURCE_DIR/tests/postfix/keyproc/memscan.py"
# The scan reads the milter's own process, so it runs without a wrapper
# (the valgrind stage runs the suite again with one): the milter is
# started bare, and the scan still proves what it proves.
unset SMX_MILTER_WRAPPER

pki=$(fresh_dir pki)
q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }
pki_ca "$pki" "Key Process Test CA"
echo pw > "$pki/pw"
issue() { # NAME KEYSPEC...: NAME@example.com, certificate and PKCS#12
  local name=$1
  shift
  pki_issue -ku digitalSignature,keyEncipherment,keyAgreement \
    "$name" "$name@example.com" "$@"
  pki_p12 "$name" "$pki/pw"
}
issue alice rsa:2048
issue erin ec -pkeyopt ec_paramgen_curve:P-256
issue frank rsa:3072

pf_init --sasl
sink_start
write_milter_conf "$PF_MILTER_CONF" "$PF_MILTER_PORT" \
  'trusted_networks = [ "192.0.2.0/24" ]'
printf 'policy: { decrypt_inbound = true; };\n' >> "$PF_MILTER_CONF"
rm -f "$SMX_TEST_DIR"/store.db* "$SMX_TEST_DIR/master.key"
ctl() { "$SMX_BIN_DIR/smimectl" -c "$PF_MILTER_CONF" "$@"; }
q ctl init
q ctl trust add "$pki/ca.pem"
for u in alice erin frank; do
  q ctl import-p12 "$pki/$u.p12" --password-file "$pki/pw"
  pf_add_sasl_user "$u@example.com" "pw-$u"
done
pf_start

# What must not leak: each user's private number, and the master key.
secrets="$pki/secrets"
: > "$secrets"
for u in alice erin frank; do
  h=$(secret_hex "$pki/$u.key")
  [ ${#h} -ge 64 ] || fail "cannot read the private number of $u.key"
  echo "$u $h" >> "$secrets"
done
echo "master $(tr -d '\n' < "$SMX_TEST_DIR/master.key")" >> "$secrets"

msgs=$(fresh_dir messages)
crlf() { tr -d '\r' < "$1" | sed 's/$/\r/'; }
# sign_as USER: a message submitted by USER, which must arrive signed.
sign_as() {
  local m="$msgs/$1-$RUN" qid f
  printf 'From: <%s@example.com>\r\nTo: <rcpt@partner.example>\r\nSubject: signed\r\n\r\nHello from %s.\r\n' \
    "$1" "$1" > "$m.eml"
  python3 "$MSGTOOL" wire "$m.eml" "$m.wire"
  pf_send "$m.out" --server "127.0.0.1:$PF_SUBMIT_PORT" -a PLAIN \
    -au "$1@example.com" -ap "pw-$1" --from "$1@example.com" \
    --to rcpt@partner.example -ndf --data "@$m.wire" ||
    { cat "$m.out" >&2; fail "$RUN: $1's message was refused"; }
  qid=$(pf_queue_id "$m.out")
  pf_wait_delivered "$qid"
  f=$(sink_file_for "$qid")
  grep -qi '^Content-Type: multipart/signed' "$f" ||
    { cat "$f" >&2; fail "$RUN: $1's message was not signed"; }
}
# decrypt_for USER: a message encrypted to USER from outside, which must
# arrive decrypted.
decrypt_for() {
  local m="$msgs/to-$1-$RUN" qid f
  printf 'Content-Type: text/plain\r\n\r\nSecret for %s.\r\n' "$1" > "$m.content"
  openssl cms -encrypt -aes256 -binary -in "$m.content" -out "$m.smime" \
    "$pki/$1.pem" 2>/dev/null || fail "openssl cms -encrypt"
  { printf 'From: <bob@partner.example>\r\nTo: <%s@example.com>\r\nSubject: enc\r\n' "$1"
    crlf "$m.smime"; } > "$m.eml"
  python3 "$MSGTOOL" wire "$m.eml" "$m.wire"
  pf_send "$m.out" --from bob@partner.example --to "$1@example.com" \
    -ndf --data "@$m.wire" || { cat "$m.out" >&2; fail "$RUN: to $1 refused"; }
  qid=$(pf_queue_id "$m.out")
  pf_wait_delivered "$qid"
  f=$(sink_file_for "$qid")
  grep -q '^X-SMIME-Decrypted:' "$f" && grep -q "Secret for $1" "$f" ||
    { cat "$f" >&2; fail "$RUN: the message to $1 was not decrypted"; }
}
exercise() {
  for u in alice erin frank; do sign_as $u; done
  for u in alice erin frank; do decrypt_for $u; done
}
scan() { python3 "$SCAN" "$1" "$secrets" | tr '\n' ' '; }

RUN=keyproc
pf_start_milter
exercise
keypid=$(pgrep -P "$MILTER_PID" | head -1)
[ -n "$keypid" ] || fail "no key process under the milter ($MILTER_PID)"
grep -q -- "-K" "/proc/$keypid/cmdline" || fail "$keypid is not the key process"
lanes=$(( $(nproc) < 8 ? $(nproc) : 8 ))
tr '\0' ' ' < "/proc/$keypid/cmdline" | grep -q -- "-K 3:$lanes " ||
  fail "the key process was not given one lane per CPU ($lanes): $(tr '\0' ' ' < "/proc/$keypid/cmdline")"
[ "$(ls "/proc/$keypid/task" | wc -l)" = "$lanes" ] ||
  fail "the key process does not serve its $lanes lanes in $lanes threads"
echo "ok: the key process serves $lanes lanes, one thread each"
in_mail=$(scan "$MILTER_PID")
in_keys=$(scan "$keypid")
echo "mail-handling process $MILTER_PID holds: [${in_mail}]; key process $keypid holds: [${in_keys}]"
[ -z "$in_mail" ] || fail "the mail-handling process holds: $in_mail"
[ "$in_keys" = "alice erin frank master " ] ||
  fail "the scan did not find every secret in the key process: [$in_keys]"
echo "ok: no private key and no master key in the process that reads mail"

# Without the key process the same scan finds them in the one process.
pf_stop_milter
sed -i 's|^keys: {|keys: { process = false;|' "$PF_MILTER_CONF"
RUN=inprocess
pf_start_milter
exercise
[ -z "$(pgrep -P "$MILTER_PID")" ] || fail "a key process with keys.process = false"
in_mail=$(scan "$MILTER_PID")
echo "with keys.process = false, process $MILTER_PID holds: [${in_mail}]"
[ "$in_mail" = "alice erin frank master " ] ||
  fail "keys.process = false: the scan found only [$in_mail]"
echo "ok: with keys.process = false the keys are in the process that reads mail"
