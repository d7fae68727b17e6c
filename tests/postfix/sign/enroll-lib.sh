# SPDX-License-Identifier: BSD-2-Clause
# Helpers for the auto-enrollment tests through Postfix (sourced after
# tests/lib/common.sh and tests/lib/postfix.sh; ctl, enroll_prepare and
# the sending helpers after pf_init).
MSGTOOL="$SMX_SOURCE_DIR/tests/lib/msgtool.py"
TOOL="$SMX_SOURCE_DIR/tests/lib/mime_tool.py"

ctl() { "$SMX_BIN_DIR/smimectl" -c "$PF_MILTER_CONF" "$@"; }

# certificates EMAIL: how many certificates the store holds for EMAIL.
certificates() {
  ctl --json list "$1" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}

# enroll_prepare: the sink, a fresh store and the milter's configuration
# (to which the test appends its groups); ENROLL_MSGS for the messages.
enroll_prepare() {
  ENROLL_MSGS=$(fresh_dir messages)
  sink_start
  rm -f "$SMX_TEST_DIR"/store.db* "$SMX_TEST_DIR/master.key"  # a previous run's
  write_milter_conf "$PF_MILTER_CONF" "$PF_MILTER_PORT"
}

# submit NAME FROM [LOGIN]: a message with From: FROM to
# rcpt@partner.example; with LOGIN it goes to the submission port after
# SASL login LOGIN (password pw, envelope sender LOGIN), without from
# 127.0.0.1 (a trusted network) with no login (envelope sender FROM).
# Prints the swaks transcript's path, whatever the server answered.
submit() {
  local name=$1 from=$2 login=${3:-} m
  m="$ENROLL_MSGS/$name.eml"
  python3 "$MSGTOOL" make text7 "$from" rcpt@partner.example \
    "$name@client.example.net" "$m" || fail "cannot write $m"
  python3 "$MSGTOOL" wire "$m" "$m.wire" || fail "cannot dot-stuff $m"
  if [ -n "$login" ]; then
    pf_send "$m.out" --server "127.0.0.1:$PF_SUBMIT_PORT" -a PLAIN \
      -au "$login" -ap pw --from "$login" --to rcpt@partner.example \
      -ndf --data "@$m.wire" || true
  else
    pf_send "$m.out" --from "$from" --to rcpt@partner.example \
      -ndf --data "@$m.wire" || true
  fi
  echo "$m.out"
}

# send NAME FROM [LOGIN]: submit, and fail unless the message was queued.
send() {
  local out
  out=$(submit "$@")
  [ -n "$(pf_queue_id "$out")" ] || { cat "$out" >&2; fail "$1: refused"; }
  echo "$out"
}

# delivered OUT: waits for the message of swaks transcript OUT, prints the
# path of the message as delivered (without the sink's envelope).
delivered() {
  local qid f w
  qid=$(pf_queue_id "$1")
  [ -n "$qid" ] || { cat "$1" >&2; fail "no queue id in $1"; }
  pf_wait_delivered "$qid" 60
  f=$(sink_file_for "$qid")
  w=$(mktemp -d "$SMX_TEST_DIR/delivered.XXXXXX")
  python3 "$SMX_SOURCE_DIR/tests/lib/sink-to-message.py" "$f" "$w/message.eml"
  echo "$w/message.eml"
}

# is_signed MESSAGE: the gateway signed it (clear-signed S/MIME).
is_signed() {
  local w
  w=$(mktemp -d "$SMX_TEST_DIR/signed.XXXXXX")
  python3 "$TOOL" extract-clear "$1" "$w/content" "$w/sig.der" 2>/dev/null
}

# decision OUT: the milter's log line for the message of transcript OUT.
decision() {
  milter_line_for "$(pf_queue_id "$1")"
}

# enroll_slapd_start [USER...]: a slapd (tests/lib/slapd.sh) in SLAPD_DIR
# holding dc=example,dc=com and an entry without certificates for each
# USER@example.com (default: george).
enroll_slapd_start() {
  local ldif="$SMX_TEST_DIR/entries.ldif" u
  SLAPD_DIR=$(fresh_dir slapd)
  slapd_start "$SLAPD_DIR"
  printf 'dn: dc=example,dc=com\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n' > "$ldif"
  for u in "${@:-george}"; do
    printf '\ndn: uid=%s,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: New\nmail: %s@example.com\n' \
      "$u" "$u" "$u" "$u" >> "$ldif"
  done
  ldapadd -x -H "$SLAPD_URI" -D "$SLAPD_ROOTDN" -w "$SLAPD_ROOTPW" -f "$ldif" \
    > "$SMX_TEST_DIR/ldapadd.log" 2>&1 || fail "ldapadd: $(cat "$SMX_TEST_DIR/ldapadd.log")"
}

# directory_certificates USER: how many userCertificate;binary values
# USER@example.com's entry holds.
directory_certificates() {
  ldapsearch -LLL -o ldif-wrap=no -x -H "$SLAPD_URI" -b "dc=example,dc=com" \
    "(mail=$1@example.com)" "userCertificate;binary" |
    grep -ci "^usercertificate;binary::" || true
}
