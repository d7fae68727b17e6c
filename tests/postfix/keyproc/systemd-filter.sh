#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The daemon and its key process under the system call filter of
# contrib/systemd/smime-milter.service, without systemd: unit-sandbox.py
# reads the unit file (SystemCallFilter= lines expanded by systemd-analyze
# and combined as systemd combines them, the unit's default action, which
# kills on a filtered call; NoNewPrivileges=, SystemCallArchitectures=,
# CapabilityBoundingSet=, RestrictAddressFamilies=,
# MemoryDenyWriteExecute=), installs that and execs smime-milter, which
# starts its key process (with a seccomp filter of its own on top). A
# real Postfix then carries mail that needs the key process: signed,
# signed and encrypted, decrypted inbound; a reload replaces the key
# process, which signs and decrypts again; the daemon stops cleanly. No
# process may be killed by the filter (no SIGSYS, no key process
# restart). First, the same sandbox with the network taken out of the
# filter must kill the daemon: the sandbox does filter.
# SMX_SYSFILTER_UNIT names another unit file (a modified copy) to run.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"
. "$SMX_SOURCE_DIR/tests/lib/pki.sh"
set -e
pf_need_peers
need_cmd openssl saslpasswd2 pgrep systemd-analyze
MSGTOOL="$SMX_SOURCE_DIR/tests/lib/msgtool.py"
TOSINK="$SMX_SOURCE_DIR/tests/lib/sink-to-message.py"
SANDBOX="$SMX_SOURCE_DIR/tests/postfix/keyproc/unit-sandbox.py"
UNIT=${SMX_SYSFILTER_UNIT:-$SMX_SOURCE_DIR/contrib/systemd/smime-milter.service}

# Not skip(): these are not missing peers, and SMX_REQUIRE_PEERS must not
# turn them into failures.
not_here() { echo "SKIP: $*" >&2; exit 77; }
[ -z "${SMX_MILTER_WRAPPER:-}" ] ||
  not_here "the daemon runs under the unit's filter here, not under $SMX_MILTER_WRAPPER"
grep -q '^SMIME_SANITIZE:BOOL=ON' "$SMX_BUILD_DIR/CMakeCache.txt" 2>/dev/null &&
  not_here "LeakSanitizer traces the process (ptrace), which the unit's filter forbids"
PY=
for p in python3 /usr/bin/python3; do
  if "$p" -c 'import seccomp' 2>/dev/null; then PY=$(command -v "$p"); break; fi
done
[ -n "$PY" ] || skip "python3-seccomp is not installed"
[ -r "$UNIT" ] || fail "no unit file $UNIT"
grep -q '^SystemCallFilter=' "$UNIT" || fail "$UNIT has no SystemCallFilter= line"
"$PY" "$SANDBOX" "$UNIT" --print >"$SMX_TEST_DIR/filter.txt" ||
  fail "cannot build the filter of $UNIT"
echo "ok: the filter of $(basename "$UNIT"): $(head -1 "$SMX_TEST_DIR/filter.txt"), $(($(wc -l <"$SMX_TEST_DIR/filter.txt") - 1)) system calls"

pki=$(fresh_dir pki)
q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }
pki_ca "$pki" "Systemd Filter CA"
echo pw > "$pki/pw"
issue() { # NAME EMAIL
  pki_issue "$1" "$2"
  pki_p12 "$1" "$pki/pw"
}
issue alice alice@example.com		# internal sender, key in the store
issue bob bob@example.com		# internal recipient, key in the store
issue rcpt rcpt@partner.example		# external, certificate only

pf_init --sasl
sink_start
# 127.0.0.1 is not trusted: unauthenticated mail on the MX port is
# inbound, alice's on the submission port outbound.
write_milter_conf "$PF_MILTER_CONF" "$PF_MILTER_PORT" \
  'trusted_networks = [ "192.0.2.0/24" ]'
printf 'policy: { decrypt_inbound = true;\n  domains: ( { domain = "partner.example"; encrypt = "required"; } ); };\n' \
  >> "$PF_MILTER_CONF"
rm -f "$SMX_TEST_DIR"/store.db* "$SMX_TEST_DIR/master.key"
ctl() { "$SMX_BIN_DIR/smimectl" -c "$PF_MILTER_CONF" "$@"; }
q ctl init
q ctl trust add "$pki/ca.pem"
q ctl import-p12 "$pki/alice.p12" --password-file "$pki/pw"
q ctl import-p12 "$pki/bob.p12" --password-file "$pki/pw"
q ctl import-cert "$pki/rcpt.pem"
pf_add_sasl_user alice@example.com pw-alice

# The sandbox filters: without the network the daemon is killed (SIGSYS)
# before it listens.
milter_adopt_files "$PF_MILTER_CONF"
rc=0
timeout -k 5 60 "$PY" "$SANDBOX" "$UNIT" --extra 'SystemCallFilter=~@network-io' -- \
  "$SMX_BIN_DIR/smime-milter" -f -c "$PF_MILTER_CONF" \
  >"$SMX_TEST_DIR/no-network.log" 2>&1 || rc=$?
[ "$rc" = $((128 + 31)) ] || {
  cat "$SMX_TEST_DIR/no-network.log" >&2
  fail "the daemon without the network in its filter ended with status $rc, not by SIGSYS"
}
echo "ok: with @network-io filtered out the daemon is killed by SIGSYS"

SMX_MILTER_WRAPPER="$PY $SANDBOX $UNIT --" pf_start_milter
pf_start

# status_field PID NAME: a line of /proc/PID/status.
status_field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status"; }
key_pid() { pgrep -P "$MILTER_PID" | head -1; }
milter_filters=$(status_field "$MILTER_PID" Seccomp_filters)
[ "$(status_field "$MILTER_PID" Seccomp)" = 2 ] ||
  fail "the daemon runs without a seccomp filter"
[ "$(status_field "$MILTER_PID" NoNewPrivs)" = 1 ] ||
  fail "the daemon runs without no_new_privs"
i=0
while :; do
  kp=$(key_pid)
  [ -n "$kp" ] && grep -q "key process $kp ready" "$PF_MILTER_LOG" && break
  [ $i -lt 100 ] || fail "no key process is ready"
  sleep 0.1
  i=$((i + 1))
done
if [ -n "$milter_filters" ]; then
  [ "$(status_field "$kp" Seccomp_filters)" -gt "$milter_filters" ] ||
    fail "the key process did not add its own filter to the unit's"
fi
echo "ok: daemon $MILTER_PID and key process $kp run under the filter${milter_filters:+ ($milter_filters and $(status_field "$kp" Seccomp_filters) filters)}"

msgs=$(fresh_dir messages)
n=0
# submit TO: alice sends one message through the submission port; prints
# the sink file it arrived as.
submit() {
  n=$((n + 1))
  local m="$msgs/$n" qid
  printf 'From: <alice@example.com>\r\nTo: <%s>\r\nSubject: message %s\r\n\r\nBody %s.\r\n' \
    "$1" "$n" "$n" > "$m.eml"
  python3 "$MSGTOOL" wire "$m.eml" "$m.wire"
  pf_send "$m.out" --server "127.0.0.1:$PF_SUBMIT_PORT" -a PLAIN \
    -au alice@example.com -ap pw-alice --from alice@example.com \
    --to "$1" -ndf --data "@$m.wire" || { cat "$m.out" >&2; fail "message $n to $1 was refused"; }
  qid=$(pf_queue_id "$m.out")
  pf_wait_delivered "$qid"
  sink_file_for "$qid"
}
# signed TO: a message to TO arrives signed by alice.
signed() {
  local f
  f=$(submit "$1")
  grep -qi '^Content-Type: multipart/signed' "$f" ||
    { cat "$f" >&2; fail "message $n to $1 went out unsigned"; }
  python3 "$TOSINK" "$f" "$msgs/$n.got"
  openssl cms -verify -in "$msgs/$n.got" -CAfile "$pki/ca.pem" \
    -out /dev/null 2>/dev/null || fail "message $n: the signature does not verify"
}
# encrypted: a message to rcpt@partner.example arrives encrypted to
# rcpt, signed inside.
encrypted() {
  local f
  f=$(submit rcpt@partner.example)
  grep -qi '^Content-Type: application/pkcs7-mime; smime-type=enveloped-data' "$f" ||
    { cat "$f" >&2; fail "message $n to rcpt@partner.example went out in clear"; }
  python3 "$TOSINK" "$f" "$msgs/$n.got"
  openssl cms -decrypt -in "$msgs/$n.got" -recip "$pki/rcpt.pem" \
    -inkey "$pki/rcpt.key" -out "$msgs/$n.inner" 2>/dev/null ||
    fail "message $n: rcpt cannot decrypt it"
  grep -qi 'application/pkcs7-signature\|smime-type=signed-data' "$msgs/$n.inner" ||
    fail "message $n was encrypted but not signed"
}
# decrypted: a message from outside encrypted to bob arrives decrypted.
printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nBob, the filter test secret.\r\n' \
  > "$msgs/content"
decrypted() {
  n=$((n + 1))
  local m="$msgs/$n" qid f
  openssl cms -encrypt -aes256 -binary -in "$msgs/content" -outform DER \
    -out "$m.der" "$pki/bob.pem" 2>/dev/null || fail "openssl cms -encrypt"
  {
    printf 'From: <someone@partner.example>\r\nTo: <bob@example.com>\r\n'
    printf 'Subject: inbound %s\r\nMIME-Version: 1.0\r\n' "$n"
    printf 'Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"\r\n'
    printf 'Content-Transfer-Encoding: base64\r\n\r\n'
    openssl base64 -e -in "$m.der" | sed 's/$/\r/'
  } > "$m.eml"
  python3 "$MSGTOOL" wire "$m.eml" "$m.wire"
  pf_send "$m.out" --from someone@partner.example --to bob@example.com \
    -ndf --data "@$m.wire" || { cat "$m.out" >&2; fail "inbound message $n was refused"; }
  qid=$(pf_queue_id "$m.out")
  pf_wait_delivered "$qid"
  f=$(sink_file_for "$qid")
  pf_unfolded_headers "$f" | grep -q '^X-SMIME-Decrypted: .*enveloped-data for bob@example.com' ||
    { cat "$f" >&2; fail "inbound message $n was not decrypted for bob"; }
  grep -q 'the filter test secret' "$f" || { cat "$f" >&2; fail "inbound message $n: content lost"; }
}
# no_filter_kill: nothing in the log says a process was killed or
# restarted.
no_filter_kill() {
  if grep -E 'Bad system call|SIGSYS|killed by signal|starting it again|cannot (harden|install the seccomp)|after it was replaced|while the daemon stopped' \
       "$PF_MILTER_LOG" >&2; then
    fail "a process was killed or restarted under the unit's filter ($1)"
  fi
}

signed other@other.example
echo "ok: signed"
encrypted
echo "ok: signed and encrypted"
decrypted
echo "ok: decrypted inbound"
no_filter_kill "mail"
[ "$(key_pid)" = "$kp" ] || fail "the key process changed without a reload"

old=$kp
kill -HUP "$MILTER_PID"
i=0
until grep -q "key process $old replaced by [0-9]* for the new configuration" "$PF_MILTER_LOG"; do
  [ $i -lt 100 ] || fail "the reload did not replace key process $old"
  sleep 0.1
  i=$((i + 1))
done
kp=$(grep -o "key process $old replaced by [0-9]*" "$PF_MILTER_LOG" | sed 's/.* //')
i=0
while [ -e "/proc/$old" ] && [ "$(cut -d' ' -f3 "/proc/$old/stat" 2>/dev/null)" != Z ]; do
  [ $i -lt 100 ] || fail "the old key process $old did not end"
  sleep 0.1
  i=$((i + 1))
done
[ "$(key_pid)" = "$kp" ] || fail "key process $kp is not the daemon's child"
encrypted
decrypted
no_filter_kill "reload"
echo "ok: a reload replaced key process $old by $kp, which signs and decrypts"

pid=$MILTER_PID
pf_stop_milter
[ "${MILTER_RC:-}" = 0 ] || fail "the daemon ended with status ${MILTER_RC:-?} at its stop"
[ -e "/proc/$kp" ] && fail "key process $kp outlived the daemon"
no_filter_kill "stop"
echo "ok: daemon $pid stopped with status 0, its key process with it"
