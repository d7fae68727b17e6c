#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# A reload that changes sign_format applies to the very next message, even
# when a message that began before the reload signs (and builds its
# signer) after it.
. "$SMX_SOURCE_DIR/tests/lib/milter.sh"
. "$SMX_SOURCE_DIR/tests/lib/pki.sh"
mt_init
need_cmd openssl python3
pki="$RUN/pki"
mkdir -p "$pki"
q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }
pki_ca "$pki" "Reload Test CA"
pki_issue alice alice@example.com
echo secret-p12 > "$pki/p12.pw"
pki_p12 alice "$pki/p12.pw" -certfile "$pki/ca.pem"

mt_conf "$CONF" 'sign_format = "clear"'
mt_conf "$RUN/opaque.conf" 'sign_format = "opaque"'
ctl() { "$SMX_BIN_DIR/smimectl" -c "$CONF" "$@"; }
q ctl init
q ctl trust add "$pki/ca.pem"
q ctl import-p12 "$pki/alice.p12" --password-file "$pki/p12.pw"
mt_start "$CONF"

python3 "$SMX_SOURCE_DIR/tests/lib/milter_session.py" sign-reload "$PORT" "$MILTER_PID" \
  "$CONF" "$RUN/opaque.conf" "$LOG" > "$RUN/session.out" 2>&1 ||
  { cat "$RUN/session.out" >&2; show_log; fail "sign-reload session failed"; }

for q in F1 F2 F3; do
  expect_log_once "info: $q: direction=outbound from=<alice@example.com> rcpts=1 "
done
expect_log_count " action=sign " 3
mt_finish
