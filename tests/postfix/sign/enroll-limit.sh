#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Bounds on auto-enrollment through a real Postfix: the login relay, which
# policy.signers grants "@example.com", sends as five invented addresses
# (x1+tag@ .. x5+tag@); with ca.enroll_per_login = 3 the CA enrolls three,
# and the other two are treated as any sender without a key (the built-in
# on_sign_failure, tempfail: 451, the client retries). A second such login
# then meets ca.enroll_per_domain = 5. Each limit is logged once, every
# refusal is counted (smime_milter_enrollments_total{result="limited"}).
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"
set -e
pf_need_peers
need_cmd openssl saslpasswd2 swaks

# The limits count per clock hour: keep the test inside one.
left=$((3600 - $(date +%s) % 3600))
[ "$left" -gt 150 ] || sleep "$left"
pf_init --sasl
. "$SMX_SOURCE_DIR/tests/postfix/sign/enroll-lib.sh"
enroll_prepare
cat >> "$PF_MILTER_CONF" <<'CONF'
ca: { auto_enroll = true; key_type = "ec-p256";
      enroll_per_login = 3; enroll_per_domain = 5; };
policy: { signers: { logins = (
  { login = "relay@example.com"; addresses = [ "@example.com" ]; },
  { login = "relay2@example.com"; addresses = [ "@example.com" ]; } ); }; };
CONF
ctl init > /dev/null || fail "smimectl init"
ctl ca init > /dev/null || fail "smimectl ca init"
pf_start_milter
for who in relay relay2; do pf_add_sasl_user "$who@example.com" pw; done
pf_start

# enrolled OUT FROM: queued, delivered signed, FROM has a certificate.
enrolled() {
  [ -n "$(pf_queue_id "$1")" ] || { cat "$1" >&2; fail "<$2>: not queued"; }
  is_signed "$(delivered "$1")" || fail "<$2>: not signed"
  [ "$(certificates "$2")" = 1 ] || fail "<$2>: want one certificate"
}
# limited OUT FROM WHICH: tempfailed with the limit as the reason, and no
# certificate for FROM.
limited() {
  grep -q "451 4.7.1 .*auto-enrollment of <$2> refused: $3" "$1" ||
    { cat "$1" >&2; fail "<$2>: not tempfailed for $3"; }
  [ "$(certificates "$2")" = 0 ] || fail "<$2>: enrolled beyond the limit"
}

for i in 1 2 3; do
  out=$(submit "relay-x$i+tag" "x$i+tag@example.com" relay@example.com)
  enrolled "$out" "x$i+tag@example.com"
done
for i in 4 5; do
  out=$(submit "relay-x$i+tag" "x$i+tag@example.com" relay@example.com)
  limited "$out" "x$i+tag@example.com" "the login's hourly enrollment limit"
done
n=$(grep -c "login relay@example.com reached ca.enroll_per_login" "$PF_MILTER_LOG" || true)
[ "$n" = 1 ] || fail "the login's limit logged $n times, want once"
echo "ok: a login granted @example.com enrolls 3 invented addresses, not 5"

for i in 1 2; do
  out=$(submit "relay2-y$i" "y$i@example.com" relay2@example.com)
  enrolled "$out" "y$i@example.com"
done
for i in 3 4; do
  out=$(submit "relay2-y$i" "y$i@example.com" relay2@example.com)
  limited "$out" "y$i@example.com" "the domain's hourly enrollment limit"
done
n=$(grep -c "domain example.com reached ca.enroll_per_domain" "$PF_MILTER_LOG" || true)
[ "$n" = 1 ] || fail "the domain's limit logged $n times, want once"
echo "ok: the domain's limit holds across logins"

# A sender that has its certificate is not enrolled again, so not limited.
out=$(send "relay-x1-again" "x1+tag@example.com" relay@example.com)
is_signed "$(delivered "$out")" || fail "x1's second message not signed"

pf_stop_milter
ctl stats > "$SMX_TEST_DIR/stats.txt" || fail "smimectl stats"
counter() {
  awk -v n="counter.milter.enrollments.$1" '$1 == n { v = $2 } END { print v + 0 }' \
    "$SMX_TEST_DIR/stats.txt"
}
[ "$(counter issued)" = 5 ] || fail "issued: $(counter issued), want 5"
[ "$(counter limited)" = 4 ] || fail "limited: $(counter limited), want 4"
echo "ok: enrollments counted: 5 issued, 4 limited"
echo PASS
