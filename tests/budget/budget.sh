#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The work budget of one message: for every way a message can multiply
# the work of verification or decryption (digest algorithms, signer
# infos, certificates (many, of one subject, in an opaque signature under
# a tag in the long form, or in an envelope's OriginatorInfo), CRLs, nested opaque and
# clear signatures, MIME nesting and part count, RecipientInfos), a
# hostile message and an
# honest one of the same size go through the milter; the hostile ones
# may cost at most 3 times the milter's CPU time (from /proc) of the
# honest ones, and each arrives with a result that names the limit.
# budget.py says how; BUDGET_SIZE and BUDGET_ROUNDS change the size of
# the messages and how often each is sent.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
need_cmd openssl python3
[ -x "$SMX_BIN_DIR/smimectl" ] || fail "no $SMX_BIN_DIR/smimectl: build first"

cd "$SMX_TEST_DIR" || fail "cannot enter $SMX_TEST_DIR"
pki=$(fresh_dir pki)
python3 "$SMX_SOURCE_DIR/tests/budget/budget.py" prepare "$pki" ||
  fail "cannot make the test PKI"

PORT=$(free_port)
CONF=$SMX_TEST_DIR/milter.conf
LOG=$SMX_TEST_DIR/milter.log
: > "$LOG"
rm -f "$SMX_TEST_DIR"/store.db* "$SMX_TEST_DIR/master.key"
write_milter_conf "$CONF" "$PORT" 'trusted_networks = [ "127.0.0.1/32" ]'
printf 'policy: { decrypt_inbound = true; };\n' >> "$CONF"
# The private-key work of an honest decryption is measured in the same
# process as the parsing it is compared with (under valgrind too): no
# key process, whose CPU would run outside the wrapper.
sed -i 's|^keys: {|keys: { process = false;|' "$CONF"
ctl() { "$SMX_BIN_DIR/smimectl" -c "$CONF" "$@" >/dev/null 2>&1 || fail "smimectl $*"; }
ctl init
ctl trust add "$pki/ca.pem"
ctl import-p12 "$pki/alice.p12" --password-file "$pki/pw"

trap 'stop_milter' EXIT
start_milter "$CONF" "$LOG"
python3 "$SMX_SOURCE_DIR/tests/budget/budget.py" measure "$pki" "$PORT" \
  "$MILTER_PID" "$LOG" "$@"
rc=$?
stop_milter
if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: .*Sanitizer' "$LOG"; then
  cat "$LOG" >&2
  fail "sanitizer report in the milter log"
fi
[ "$MILTER_RC" = 0 ] || { tail -20 "$LOG" >&2; fail "smime-milter exited $MILTER_RC"; }
[ $rc = 0 ] || { tail -40 "$LOG" >&2; fail "budget exceeded or unclear result"; }
echo "PASS: budget"
