#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The directory as a certificate source through a real Postfix: dana's
# certificate lives only in a real slapd; a message to her (her domain
# requires encryption) arrives encrypted to that certificate, found and
# cached by the milter. With slapd stopped, a required recipient whose
# certificate is unknown gets 450 4.7.1 at RCPT (never 550, never sent in
# clear) and nothing reaches the sink.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"
. "$SMX_SOURCE_DIR/tests/lib/slapd.sh"
. "$SMX_SOURCE_DIR/tests/lib/pki.sh"
set -e
pf_need_peers
need_cmd openssl ldapadd
MSGTOOL="$SMX_SOURCE_DIR/tests/lib/msgtool.py"
SINK2MSG="$SMX_SOURCE_DIR/tests/lib/sink-to-message.py"
MARKER="PLAINTEXT-MARKER-d1r"

pki=$(fresh_dir pki)
q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }
pki_ca "$pki" "Directory Test CA"
pki_issue -subj "/CN=Dana" dana dana@partner.example
q openssl x509 -in "$pki/dana.pem" -outform DER -out "$pki/dana.der"

SLAPD_DIR=$(fresh_dir slapd)
slapd_start "$SLAPD_DIR"
cat > "$pki/entries.ldif" <<LDIF
dn: dc=example,dc=com
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: uid=dana,dc=example,dc=com
objectClass: inetOrgPerson
uid: dana
cn: Dana
sn: Partner
mail: dana@partner.example
userCertificate;binary:< file://$pki/dana.der
LDIF
ldapadd -x -H "$SLAPD_URI" -D "$SLAPD_ROOTDN" -w "$SLAPD_ROOTPW" \
  -f "$pki/entries.ldif" > "$pki/ldapadd.log" 2>&1 || fail "ldapadd: $(cat "$pki/ldapadd.log")"

pf_init
trap 'rc=$?; set +e; slapd_stop "$SLAPD_DIR"; pf_cleanup $rc' EXIT
sink_start
write_milter_conf "$PF_MILTER_CONF" "$PF_MILTER_PORT"
rm -f "$SMX_TEST_DIR"/store.db* "$SMX_TEST_DIR/master.key"
cat >> "$PF_MILTER_CONF" <<CONF
ldap: { uri = [ "$SLAPD_URI" ]; base = "dc=example,dc=com"; timeout = "2s"; };
policy: { default: { sign = "never"; };
          domains: ( { domain = "partner.example"; encrypt = "required"; } ); };
CONF
ctl() { "$SMX_BIN_DIR/smimectl" -c "$PF_MILTER_CONF" "$@"; }
q ctl init
q ctl trust add "$pki/ca.pem"
pf_start_milter
pf_start

msgs=$(fresh_dir messages)
printf 'From: <alice@example.com>\r\nTo: <dana@partner.example>\r\nSubject: contract\r\n\r\n%s\r\n' "$MARKER" > "$msgs/m.eml"
python3 "$MSGTOOL" wire "$msgs/m.eml" "$msgs/m.wire"
pf_send "$msgs/m.out" --from alice@example.com --to dana@partner.example \
  -ndf --data "@$msgs/m.wire" || { cat "$msgs/m.out" >&2; fail "refused"; }
qid=$(pf_queue_id "$msgs/m.out")
pf_wait_delivered "$qid"
f=$(sink_file_for "$qid")
grep -q "$MARKER" "$f" && fail "plaintext at the sink"
python3 "$SINK2MSG" "$f" "$msgs/enc.eml"
python3 "$MSGTOOL" body-b64 "$msgs/enc.eml" "$msgs/enc.der"
openssl cms -decrypt -inform DER -in "$msgs/enc.der" -recip "$pki/dana.pem" \
  -inkey "$pki/dana.key" -out "$msgs/dec" 2>"$msgs/err" ||
  fail "dana cannot decrypt: $(cat "$msgs/err")"
grep -q "$MARKER" "$msgs/dec" || fail "decrypted text differs"
ctl lookup dana@partner.example > "$msgs/lookup.out" || fail "lookup after the message"
grep -q "directory\|cache" "$msgs/lookup.out" || { cat "$msgs/lookup.out" >&2; fail "lookup does not say where the certificate came from"; }
echo "ok: a recipient found only in the directory gets encrypted mail"

slapd_stop "$SLAPD_DIR"
before=$(sink_count)
if pf_send "$msgs/down.out" --from alice@example.com --to erin@partner.example \
   -ndf --data "@$msgs/m.wire"; then
  cat "$msgs/down.out" >&2
  fail "accepted a required recipient while the directory is down"
fi
grep -q "450 4.7.1" "$msgs/down.out" || { cat "$msgs/down.out" >&2; fail "want 450 4.7.1 with the directory down"; }
[ "$(sink_count)" = "$before" ] || fail "something reached the sink"
grep -rq "$MARKER" "$PF_SINK_DIR" && fail "plaintext at the sink"
echo "ok: directory down: 450 at RCPT, nothing sent"
echo PASS
