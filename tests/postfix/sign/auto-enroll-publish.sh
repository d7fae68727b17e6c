#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Auto-enrollment with ldap.publish = true, through a real Postfix and a
# real slapd: a new user's first message is signed by a freshly issued
# certificate, and that certificate appears in the user's directory entry
# (userCertificate;binary), so every client of the directory finds it.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"
. "$SMX_SOURCE_DIR/tests/lib/slapd.sh"
set -e
pf_need_peers
need_cmd openssl ldapadd ldapsearch saslpasswd2
MSGTOOL="$SMX_SOURCE_DIR/tests/lib/msgtool.py"

. "$SMX_SOURCE_DIR/tests/postfix/sign/enroll-lib.sh"
enroll_slapd_start
pwfile="$SMX_TEST_DIR/ldap.pw"
printf '%s' "$SLAPD_ROOTPW" > "$pwfile"
chmod 600 "$pwfile"

pf_init --sasl
trap 'rc=$?; set +e; slapd_stop "$SLAPD_DIR"; pf_cleanup $rc' EXIT
sink_start
write_milter_conf "$PF_MILTER_CONF" "$PF_MILTER_PORT"
rm -f "$SMX_TEST_DIR"/store.db* "$SMX_TEST_DIR/master.key"
cat >> "$PF_MILTER_CONF" <<CONF
ca: { auto_enroll = true; key_type = "ec-p256"; };
ldap: { uri = [ "$SLAPD_URI" ]; base = "dc=example,dc=com";
        bind_dn = "$SLAPD_ROOTDN"; bind_password_file = "$pwfile";
        allow_cleartext_bind = true;  # the test slapd, on loopback
        publish = true; };
CONF
ctl() { "$SMX_BIN_DIR/smimectl" -c "$PF_MILTER_CONF" "$@"; }
ctl init > /dev/null || fail "smimectl init"
ctl ca init > /dev/null || fail "smimectl ca init"
pf_start_milter
pf_add_sasl_user george@example.com pw-george
pf_start

m="$SMX_TEST_DIR/first.eml"
python3 "$MSGTOOL" make text7 george@example.com rcpt@partner.example first@client.example.net "$m"
python3 "$MSGTOOL" wire "$m" "$m.wire"
pf_send "$m.out" --server "127.0.0.1:$PF_SUBMIT_PORT" -a PLAIN \
  -au george@example.com -ap pw-george --from george@example.com \
  --to rcpt@partner.example -ndf --data "@$m.wire" || { cat "$m.out" >&2; fail "refused"; }
qid=$(pf_queue_id "$m.out")
pf_wait_delivered "$qid"
grep -qi "^Content-Type: multipart/signed" "$(sink_file_for "$qid")" || fail "not signed"
grep -q "published .* for <george@example.com> to the directory" "$PF_MILTER_LOG" ||
  { cat "$PF_MILTER_LOG" >&2; fail "no publish log line"; }
fp=$(ctl --json list george@example.com | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["fingerprint"])')
ldapsearch -LLL -o ldif-wrap=no -x -H "$SLAPD_URI" -b "dc=example,dc=com" \
  "(mail=george@example.com)" "userCertificate;binary" > "$SMX_TEST_DIR/search.ldif" ||
  fail "ldapsearch"
python3 - "$SMX_TEST_DIR/search.ldif" "$fp" <<'PY' || fail "the issued certificate is not in the directory"
import base64, hashlib, sys
fps = [hashlib.sha256(base64.b64decode(l.split(":: ", 1)[1])).hexdigest()
       for l in open(sys.argv[1]) if l.lower().startswith("usercertificate;binary::")]
sys.exit(sys.argv[2] not in fps)
PY
echo "ok: the auto-enrolled certificate was published to the directory"
echo PASS
