#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Auto-enrollment only for a client that may sign as the From: address,
# through a real Postfix. carol (SASL login) and a trusted-network client
# without a login send From: ceo@example.com while the CEO's certificate
# is due for renewal, and From: addresses that have no certificate yet:
# the organization CA issues and renews nothing, the encryption choice
# for the CEO stays, and the messages go out unsigned as for any client
# that may not sign as its From:, and with ldap.publish nothing reaches
# the CEO's directory entry. The CEO's own login, and the address
# policy.signers.allow_unauthenticated lists, do get their renewals (the
# CEO's published).
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"
. "$SMX_SOURCE_DIR/tests/lib/slapd.sh"
set -e
pf_need_peers
need_cmd openssl ldapadd ldapsearch saslpasswd2 swaks

. "$SMX_SOURCE_DIR/tests/postfix/sign/enroll-lib.sh"
enroll_slapd_start ceo
pwfile="$SMX_TEST_DIR/ldap.pw"
printf '%s' "$SLAPD_ROOTPW" > "$pwfile"
chmod 600 "$pwfile"
pf_init --sasl
trap 'rc=$?; set +e; slapd_stop "$SLAPD_DIR"; pf_cleanup $rc' EXIT
enroll_prepare
# Certificates valid for one day, issued ahead by the administrator...
issue_conf="$SMX_TEST_DIR/issue.conf"
cp "$PF_MILTER_CONF" "$issue_conf"
printf 'ca: { key_type = "ec-p256"; cert_lifetime = "1d"; renew_before = "0"; };\n' \
  >> "$issue_conf"
# ... are due for renewal under the milter's configuration.
cat >> "$PF_MILTER_CONF" <<CONF
ca: { auto_enroll = true; key_type = "ec-p256";
      cert_lifetime = "2d"; renew_before = "25h"; };
ldap: { uri = [ "$SLAPD_URI" ]; base = "dc=example,dc=com";
        bind_dn = "$SLAPD_ROOTDN"; bind_password_file = "$pwfile";
        allow_cleartext_bind = true;   # the test slapd listens on loopback
        publish = true; };
policy: { signers: { allow_unauthenticated = [ "noreply@example.com" ]; }; };
CONF
ctl init > /dev/null || fail "smimectl init"
ctl ca init > /dev/null || fail "smimectl ca init"
for who in ceo noreply; do
  "$SMX_BIN_DIR/smimectl" -c "$issue_conf" ca issue "$who@example.com" \
    > /dev/null || fail "smimectl ca issue $who"
done
ceo_lookup=$(ctl --json lookup ceo@example.com) || fail "smimectl lookup"
pf_start_milter
for who in carol ceo; do pf_add_sasl_user "$who@example.com" pw; done
pf_start

# unsigned_and_refused OUT WHO FROM: delivered unsigned, and the decision
# says the client may not sign as FROM.
unsigned_and_refused() {
  local msg line
  msg=$(delivered "$1")
  is_signed "$msg" && fail "$2 as <$3>: the message was signed"
  line=$(decision "$1")
  case "$line" in
    *"may not sign as <$3>"*) ;;
    *) echo "$line" >&2; fail "$2 as <$3>: no 'may not sign' reason" ;;
  esac
}

out=$(send carol-as-ceo ceo@example.com carol@example.com)
unsigned_and_refused "$out" carol ceo@example.com
out=$(send trusted-as-ceo ceo@example.com)
unsigned_and_refused "$out" "a trusted client without login" ceo@example.com
n=$(certificates ceo@example.com)
[ "$n" = 1 ] || fail "the CEO has $n certificates, want the 1 issued ahead"
! grep -q "enrolled <ceo@example.com>" "$PF_MILTER_LOG" ||
  fail "a client that may not sign as the CEO had the CEO's certificate renewed"
[ "$(ctl --json lookup ceo@example.com)" = "$ceo_lookup" ] ||
  fail "the CEO's encryption certificate changed"
[ "$(directory_certificates ceo)" = 0 ] ||
  fail "a certificate was published to the CEO's directory entry"
echo "ok: no renewal for a client that may not sign as the address"

out=$(send carol-as-new newcomer@example.com carol@example.com)
unsigned_and_refused "$out" carol newcomer@example.com
out=$(send trusted-as-new another@example.com)
unsigned_and_refused "$out" "a trusted client without login" another@example.com
for a in newcomer another; do
  n=$(certificates "$a@example.com")
  [ "$n" = 0 ] || fail "<$a@example.com> was enrolled ($n certificates)"
done
echo "ok: no first enrollment for a client that may not sign as the address"

# Those who may sign get their renewals: the setup above would renew.
out=$(send ceo-as-ceo ceo@example.com ceo@example.com)
is_signed "$(delivered "$out")" || fail "the CEO's own message is not signed"
n=$(certificates ceo@example.com)
[ "$n" = 2 ] || fail "the CEO's own message: $n certificates, want 2 (renewed)"
grep -q "enrolled <ceo@example.com>: renewed" "$PF_MILTER_LOG" ||
  fail "no renewal line for the CEO's own message"
[ "$(directory_certificates ceo)" = 1 ] ||
  fail "the CEO's renewed certificate was not published"
out=$(send trusted-as-noreply noreply@example.com)
is_signed "$(delivered "$out")" || fail "noreply's message is not signed"
n=$(certificates noreply@example.com)
[ "$n" = 2 ] || fail "noreply: $n certificates, want 2 (renewed)"
echo "ok: the CEO's login and a listed unauthenticated address are renewed"
echo PASS
