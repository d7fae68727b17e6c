#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The MTA snippets in contrib/ are what an administrator pastes: Postfix
# must read main.cf and master.cf without a warning (postconf warns about
# misspelt or unused parameters), the macro lists must carry what the
# milter reads, and the Sendmail .mc must build into a sendmail.cf whose
# filter and macro lines are right. Run by contrib-configs.sh.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/sendmail/sendmail-lib.sh"
contrib="$SMX_SOURCE_DIR/contrib"

# available CMD: true when CMD exists; a missing CMD fails the test when
# peers are required, and is only reported otherwise.
available() {
  command -v "$1" >/dev/null 2>&1 && return 0
  [ "${SMX_REQUIRE_PEERS:-0}" = 1 ] && fail "$1 is not installed"
  echo "note: $1 is not installed; its check is left out" >&2
  return 1
}

# postconf_clean DIR ARGS...: postconf output, failing on any warning.
postconf_clean() {
  local dir=$1 out
  shift
  out=$(postconf -c "$dir" "$@" 2>&1 >/dev/null)
  [ -z "$out" ] || fail "postconf $*: $out"
  postconf -c "$dir" "$@"
}

check_postfix() {
  local pf
  pf=$(fresh_dir postfix-snippets)
  cp "$contrib/postfix/main.cf" "$contrib/postfix/master.cf" "$pf/"
  postconf_clean "$pf" -n > "$pf/n.out"
  postconf_clean "$pf" -P > "$pf/p.out"
  [ "$(postconf -c "$pf" -hx smtpd_milters)" = "inet:127.0.0.1:8891" ] ||
    fail "main.cf: smtpd_milters is not the milter's default socket"
  [ "$(postconf -c "$pf" -hx non_smtpd_milters)" = "inet:127.0.0.1:8891" ] ||
    fail "main.cf: locally injected mail does not reach the milter"
  grep -qx "milter_default_action = tempfail" "$pf/n.out" ||
    fail "main.cf: milter_default_action is not tempfail"
  grep -qx "disable_mime_output_conversion = yes" "$pf/n.out" ||
    fail "main.cf: MIME output conversion is not disabled"
  # The macros milter/callbacks.c reads: {auth_authen} at MAIL, i from
  # RCPT on (and at MAIL when Postfix opens the queue file early).
  postconf -c "$pf" -h milter_mail_macros | grep -qw "{auth_authen}" ||
    fail "main.cf: {auth_authen} is not passed at MAIL"
  local p
  for p in milter_mail_macros milter_rcpt_macros milter_end_of_data_macros; do
    postconf -c "$pf" -h "$p" | grep -qw i || fail "main.cf: $p lacks i"
  done
  grep -qx "submission/inet/smtpd_sasl_auth_enable = yes" "$pf/p.out" ||
    fail "master.cf: submission without SASL"
  grep -qx "smtp/inet/smtpd_sasl_auth_enable = no" "$pf/p.out" ||
    fail "master.cf: the MX port offers SASL"
  # The commented alternatives (unix socket, per-port milter lists with a
  # DKIM milter) are valid too once uncommented.
  sed -i -e 's/^smime_milter = inet:/#&/' -e 's/^#smime_milter = unix:/smime_milter = unix:/' \
    "$pf/main.cf"
  sed -i 's/^#  -o { smtpd_milters/  -o { smtpd_milters/' "$pf/master.cf"
  postconf_clean "$pf" -P > "$pf/p2.out"
  grep -qx "submission/inet/smtpd_milters = \$smime_milter, unix:opendkim/opendkim.sock" "$pf/p2.out" ||
    fail "master.cf: the submission milter list with DKIM does not parse"
  grep -qx "smtp/inet/smtpd_milters = unix:opendkim/opendkim.sock, \$smime_milter" "$pf/p2.out" ||
    fail "master.cf: the MX milter list with DKIM does not parse"
  [ "$(postconf -c "$pf" -hx smtpd_milters)" = "unix:smime-milter/smime-milter.sock" ] ||
    fail "main.cf: the unix socket alternative does not parse"
  echo "ok: Postfix main.cf and master.cf read without warnings"
}

# contrib/postfix/final-recipients on top of main.cf and master.cf: its
# MX entry replaces theirs, Postfix reads the result without a warning,
# and the re-injection path is what docs/postfix-final-recipients.md says.
check_postfix_final() {
  local pf fr="$contrib/postfix/final-recipients"
  pf=$(fresh_dir postfix-final-recipients)
  cat "$contrib/postfix/main.cf" "$fr/main.cf" > "$pf/main.cf"
  awk '/^[^ \t#]/ { drop = ($1 == "smtp" && $2 == "inet") } !drop' \
    "$contrib/postfix/master.cf" > "$pf/master.cf"
  cat "$fr/master.cf" >> "$pf/master.cf"
  postconf_clean "$pf" -n > "$pf/n.out"
  postconf_clean "$pf" -P > "$pf/p.out"
  grep -qx "content_filter = smime-final:\[127.0.0.1\]:10025" "$pf/n.out" ||
    fail "final-recipients: submitted mail is not re-injected"
  grep -qx "smtp/inet/smtpd_milters =" "$pf/p.out" ||
    fail "final-recipients: the MX port still runs the milter before expansion"
  grep -qx "smtp/inet/content_filter = smime-final-mx:\[127.0.0.1\]:10025" "$pf/p.out" ||
    fail "final-recipients: the MX port does not re-inject from the untrusted address"
  grep -qx "smime-final-mx/unix/smtp_bind_address = 127.0.0.2" "$pf/p.out" ||
    fail "final-recipients: smime-final-mx does not connect from 127.0.0.2"
  grep -qx "smime-final/unix/smtp_bind_address = 127.0.0.1" "$pf/p.out" ||
    fail "final-recipients: smime-final does not connect from 127.0.0.1"
  local s=127.0.0.1:10025/inet
  grep -qx "$s/content_filter =" "$pf/p.out" || fail "final-recipients: re-injection loops"
  grep -qx "$s/receive_override_options = no_address_mappings" "$pf/p.out" ||
    fail "final-recipients: re-injection expands addresses twice"
  grep -qx "$s/smtpd_milters = \$smime_milter" "$pf/p.out" ||
    fail "final-recipients: no milter on the final recipients"
  grep -q "^submission/inet/content_filter" "$pf/p.out" &&
    fail "final-recipients: submission must use the global content_filter"
  echo "ok: Postfix reads contrib/postfix/final-recipients without warnings"
}

# The .mc needs Sendmail's m4 macro tree: an installed sendmail-cf, or
# the .debs the sendmail test downloaded into the build directory.
check_sendmail() {
  local sm
  sm=$(fresh_dir sendmail-snippet)
  if [ -f /usr/share/sendmail/cf/m4/cf.m4 ]; then
    SM_CF_DIR=/usr/share/sendmail/cf
  elif sm_have_debs; then
    sm_unpack "$sm/prefix" || fail "cannot unpack the cached sendmail packages"
  else
    echo "note: no sendmail-cf (installed or cached); the .mc check is left out" >&2
    return 0
  fi
  printf "OSTYPE(\`linux')dnl\ninclude(\`%s')dnl\nMAILER(\`local')dnl\nMAILER(\`smtp')dnl\n" \
    "$contrib/sendmail/smime-milter.mc" > "$sm/check.mc"
  sm_build_cf "$sm/check.mc" "$sm/sendmail.cf" 2> "$sm/m4.err" ||
    fail "m4 on contrib/sendmail/smime-milter.mc: $(cat "$sm/m4.err")"
  [ -s "$sm/m4.err" ] && fail "m4 on contrib/sendmail/smime-milter.mc: $(cat "$sm/m4.err")"
  grep -qx 'Xsmime-milter, S=inet:8891@127.0.0.1, F=T, T=C:10s;S:5m;R:5m;E:10m' "$sm/sendmail.cf" ||
    fail "sendmail.cf: wrong or missing smime-milter filter line"
  grep -qx 'O InputMailFilters=smime-milter' "$sm/sendmail.cf" ||
    fail "sendmail.cf: smime-milter is not an input filter"
  grep -q '^O Milter.macros.envfrom=i, .*{auth_authen}' "$sm/sendmail.cf" ||
    fail "sendmail.cf: i and {auth_authen} are not passed at MAIL"
  grep -q '^O Milter.macros.envrcpt=i, ' "$sm/sendmail.cf" ||
    fail "sendmail.cf: i is not passed at RCPT"
  grep -q '^O Milter.macros.eom=i, ' "$sm/sendmail.cf" ||
    fail "sendmail.cf: i is not passed at end of message"
  echo "ok: contrib/sendmail/smime-milter.mc builds a sendmail.cf"
}

if available postconf; then check_postfix; check_postfix_final; fi
if available m4; then check_sendmail; fi
