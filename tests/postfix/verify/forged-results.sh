#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Authentication-Results headers a sender wrote, through a real Postfix
# with an upstream filter (header-milter, standing in for a DMARC milter)
# before smime-milter, as in "smtpd_milters = dmarc, smime":
#  - how milters are shown a message: Postfix's own Received header is
#    not shown at all; what the upstream milter inserted at the top is
#    shown to smime-milter at the top, above the sender's headers;
#  - a forged header naming our authserv-id (mx.example.com) is removed
#    on every path: a message with 10 001 headers (the forged ones before
#    and after the header limit), one over milter.max_message_size, one
#    whose body is skipped (inbound text/plain), one
#    that meets a verifier error (the trust bundle vanished), internal
#    and outbound mail; the upstream filter's header stays; so is any
#    X-SMIME-Decrypted header (only the gateway writes one, after decrypting);
#  - harvest_require_dmarc: dmarc=pass from a listed authserv-id counts
#    above the first Received header smime-milter is shown (the upstream
#    filter's), never below it, even when it names that authserv-id; one
#    the sender put on top of its whole message is what the documented
#    header_checks rule removes before any milter sees the message.
# Usage: forged-results.sh PATH/TO/header-milter
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"
. "$SMX_SOURCE_DIR/tests/lib/pki.sh"
set -e
HEADER_MILTER=${1:?usage: forged-results.sh PATH/TO/header-milter}
pf_need_peers
need_cmd openssl python3
MSGTOOL="$SMX_SOURCE_DIR/tests/lib/msgtool.py"

pki=$(fresh_dir pki)
q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }
pki_ca "$pki" "Partner CA"
pki_issue bob bob@partner.example
pki_issue carol carol@other.example

pf_init
UP_PORT=$(free_port)
UP_LOG="$SMX_TEST_DIR/upstream-headers.log"
UP_PID=
: >"$UP_LOG"
trap 'st=$?; set +e; [ -n "$UP_PID" ] && kill "$UP_PID" 2>/dev/null; pf_cleanup $st' EXIT
sink_start
# The upstream filter's verdict is for partner.example only.
"$HEADER_MILTER" "inet:$UP_PORT@127.0.0.1" "$UP_LOG" 0 \
  Authentication-Results \
  "dmarc.example.com; dmarc=pass (p=reject) header.from=partner.example" \
  >>"$SMX_TEST_DIR/upstream.log" 2>&1 &
UP_PID=$!
wait_for_port "$UP_PORT" 10 || fail "header-milter does not listen"
pf_main_cf_set "smtpd_milters = inet:127.0.0.1:$UP_PORT, inet:127.0.0.1:$PF_MILTER_PORT"

cp "$pki/ca.pem" "$SMX_TEST_DIR/bundle.pem"
write_milter_conf "$PF_MILTER_CONF" "$PF_MILTER_PORT" \
  'spool_threshold = "64K"' 'max_message_size = "256K"'
cat >>"$PF_MILTER_CONF" <<EOF
verify: { ca_file = "$SMX_TEST_DIR/bundle.pem"; };
policy: {
  harvest_require_dmarc = true;
  dmarc_authserv_ids = [ "dmarc.example.com" ];
  default: { sign = "never"; encrypt = "never"; };
};
EOF
rm -f "$SMX_TEST_DIR"/store.db* "$SMX_TEST_DIR/master.key"
ctl() { "$SMX_BIN_DIR/smimectl" -c "$PF_MILTER_CONF" "$@"; }
q ctl init
pf_start_milter
pf_start

msgs=$(fresh_dir messages)
FORGED='Authentication-Results: mx.example.com; smime=pass header.s=forged'
# signed NAME SIGNER FROM [HEADER-LINES-FILE [TOP-LINES-FILE]]: a
# clear-signed message to alice from a relay that wrote its Received
# header, with the lines of the file (CRLF added) below it and those of
# TOP-LINES-FILE above it.
signed() {
  local m="$msgs/$1"
  printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nHello Alice,\r\nthe figures.\r\n' > "$m.content"
  openssl cms -sign -in "$m.content" -signer "$pki/$2.pem" -inkey "$pki/$2.key" \
    -certfile "$pki/ca.pem" -binary -md sha256 -out "$m.smime" 2>/dev/null ||
    fail "openssl cms -sign"
  {
    [ -n "${5:-}" ] && sed 's/$/\r/' "$5"
    printf 'Received: from client.sender.example by relay.sender.example\r\n'
    printf 'From: <%s>\r\nTo: <alice@example.com>\r\nSubject: figures\r\nMessage-ID: <%s@test>\r\n' "$3" "$1"
    [ -n "${4:-}" ] && sed 's/$/\r/' "$4"
    tr -d '\r' < "$m.smime" | sed 's/$/\r/'
  } > "$m.eml"
}
# plain NAME FROM [HEADER-LINES-FILE] [BODY-BYTES]: an unsigned message.
plain() {
  local m="$msgs/$1"
  {
    printf 'Received: from client.sender.example by relay.sender.example\r\n'
    printf 'From: <%s>\r\nTo: <alice@example.com>\r\nSubject: plain\r\nMessage-ID: <%s@test>\r\n' "$2" "$1"
    [ -n "${3:-}" ] && sed 's/$/\r/' "$3"
    printf 'Content-Type: %s\r\n\r\n' "${5:-text/plain}"
    python3 -c 'import sys
n = int(sys.argv[1])
line = "x" * 70 + "\r\n"
sys.stdout.write(line * (n // len(line)) + "end\r\n")' "${4:-100}"
  } > "$m.eml"
}
# deliver NAME FROM RCPT: sends it in, prints the sink file.
deliver() {
  local m="$msgs/$1" qid
  python3 "$MSGTOOL" wire "$m.eml" "$m.wire" || fail "cannot dot-stuff $1"
  pf_send "$m.out" --from "$2" --to "$3" -ndf --data "@$m.wire" ||
    { cat "$m.out" >&2; fail "$1 was refused"; }
  qid=$(pf_queue_id "$m.out")
  pf_wait_delivered "$qid"
  sink_file_for "$qid"
}
# no_forged NAME SINKFILE: no header of ours but the one we add (if any),
# and the upstream filter's header still there.
no_forged() {
  if grep -q 'header.s=forged' "$2"; then
    grep -n 'Authentication-Results' "$2" >&2
    fail "$1: a forged Authentication-Results header was delivered"
  fi
  grep -q '^Authentication-Results: dmarc.example.com; dmarc=pass' "$2" ||
    { sed '/^$/q' "$2" | grep -v '^X-H' >&2; fail "$1: the upstream filter's header is gone"; }
}
harvested() { # EMAIL: the number of its certificates in the store
  ctl --json list "$1" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}

# 1. A verifier error: the trust bundle is gone when the message comes.
printf '%s\n' "$FORGED" > "$msgs/forged.hdr"
signed vererr bob bob@partner.example "$msgs/forged.hdr"
mv "$SMX_TEST_DIR/bundle.pem" "$SMX_TEST_DIR/bundle.away"
f=$(deliver vererr bob@partner.example alice@example.com)
mv "$SMX_TEST_DIR/bundle.away" "$SMX_TEST_DIR/bundle.pem"
grep -q "verification skipped" "$PF_MILTER_LOG" ||
  fail "vererr: the milter did not meet the verifier error"
no_forged vererr "$f"
echo "ok: verifier error: forged header removed"

# How the two filters are shown the message: not Postfix's Received
# (measured with Postfix 3.7), but the client's first header first.
first=$(sed -n '1p' "$UP_LOG")
case "$first" in
  Received:from\ client.sender.example*) ;;
  *) fail "the first header a milter is shown is not the client's first: $first" ;;
esac
echo "ok: milters are not shown Postfix's own Received header"

# 2. dmarc=pass from the upstream filter, above Received: harvested.
signed good bob bob@partner.example "$msgs/forged.hdr"
f=$(deliver good bob@partner.example alice@example.com)
no_forged good "$f"
pf_unfolded_headers "$f" | grep -q '^Authentication-Results: mx.example.com; smime=pass' ||
  { cat "$f" >&2; fail "good: no smime=pass"; }
[ "$(harvested bob@partner.example)" = 1 ] ||
  fail "good: dmarc=pass from the upstream filter did not allow the harvest"
# The upstream filter's header sits above Received in what smime-milter
# was shown: that is what made it count. Its index among the
# Authentication-Results headers is 1, and the deletions spared it.
echo "ok: dmarc=pass above Received harvested, forged header removed, upstream header kept"

# 3. The sender writes dmarc=pass naming the listed authserv-id: below
# Received, it does not count.
printf '%s\n' 'Authentication-Results: dmarc.example.com; dmarc=pass header.from=other.example' \
  "$FORGED" > "$msgs/carol.hdr"
signed carol carol carol@other.example "$msgs/carol.hdr"
f=$(deliver carol carol@other.example alice@example.com)
no_forged carol "$f"
pf_unfolded_headers "$f" | grep -q '^Authentication-Results: mx.example.com; smime=pass' ||
  { cat "$f" >&2; fail "carol: no smime=pass"; }
[ "$(harvested carol@other.example)" = 0 ] ||
  fail "carol: a dmarc=pass the sender wrote allowed the harvest"
echo "ok: forged dmarc=pass below Received not trusted"

# 4. 10 001 headers, forged ones before and after the header limit.
python3 - "$msgs/many.hdr" <<'EOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("Authentication-Results: mx.example.com; smime=pass header.s=forged\n")
    f.write("X-SMIME-Decrypted: forged before the limit\n")
    for i in range(10001):
        f.write("X-H: %d\n" % i)
    f.write("Authentication-Results: other.example; smime=pass\n")
    f.write("Authentication-Results: (c) MX.example.COM; smime=pass header.s=forged\n")
    f.write("Authentication-Results: mx.example.com.evil; smime=pass\n")
    f.write("x-smime-decrypted: forged after the limit\n")
EOF
signed many bob bob@partner.example "$msgs/many.hdr"
f=$(deliver many bob@partner.example alice@example.com)
no_forged many "$f"
grep -q '^Authentication-Results: other.example; smime=pass' "$f" &&
  grep -q '^Authentication-Results: mx.example.com.evil; smime=pass' "$f" ||
  fail "many: a header of another authserv-id was removed"
[ "$(grep -c '^X-H: ' "$f")" = 10001 ] || fail "many: headers lost"
# Only the gateway writes the decryption header, after decrypting.
grep -qi '^X-SMIME-Decrypted:' "$f" && fail "many: a forged X-SMIME-Decrypted header was delivered"
milter_line_for "$(pf_queue_id "$msgs/many.out")" |
  grep -q "header limit reached" || fail "many: the header limit was not reached"
echo "ok: 10001 headers: forged headers (Authentication-Results, X-SMIME-Decrypted) removed before and after the limit"

# 5. A body over max_message_size (a multipart: the milter reads it;
# the body of a text/plain one it would skip, 5b).
plain big bob@partner.example "$msgs/forged.hdr" 400000 \
  'multipart/mixed; boundary="none"'
f=$(deliver big bob@partner.example alice@example.com)
no_forged big "$f"
grep -q "over max_message_size" "$PF_MILTER_LOG" ||
  fail "big: the message was not over max_message_size"
echo "ok: over max_message_size: forged header removed"

# 5b. The same as text/plain: its body is skipped after the first chunk.
plain bigtext bob@partner.example "$msgs/forged.hdr" 400000
f=$(deliver bigtext bob@partner.example alice@example.com)
no_forged bigtext "$f"
grep -q "size=[0-9]*+ .*body skipped (cannot carry S/MIME)" "$PF_MILTER_LOG" ||
  fail "bigtext: the body was not skipped"
echo "ok: skipped body: forged header removed"

# 6. Internal and outbound mail (trusted client): removed too.
plain internal alice@example.com "$msgs/forged.hdr"
f=$(deliver internal alice@example.com dave@example.com)
no_forged internal "$f"
plain outbound alice@example.com "$msgs/forged.hdr"
f=$(deliver outbound alice@example.com someone@partner.example)
no_forged outbound "$f"
echo "ok: internal and outbound: forged header removed"
# 7. More forged headers than the milter keeps track of: refused.
python3 - "$msgs/flood.hdr" <<'EOF2'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(1001):
        f.write("Authentication-Results: mx.example.com; smime=pass header.s=forged\n")
EOF2
plain flood bob@partner.example "$msgs/flood.hdr"
python3 "$MSGTOOL" wire "$msgs/flood.eml" "$msgs/flood.wire" || fail "cannot dot-stuff flood"
pf_send "$msgs/flood.out" --from bob@partner.example --to alice@example.com \
  -ndf --data "@$msgs/flood.wire" && fail "flood: 1001 forged headers were accepted"
grep -q '550 5.7.1 .*too many Authentication-Results headers naming mx.example.com' "$msgs/flood.out" ||
  { cat "$msgs/flood.out" >&2; fail "flood: not refused with a clear reply"; }
echo "ok: 1001 forged headers refused with 550 5.7.1"

# 8. A dmarc=pass the sender put on top of its whole message, above its
# own Received, looks to smime-milter like the upstream filter's. What
# smime-milter.conf(5) asks for with harvest_require_dmarc removes it:
# header_checks drop results naming a trusted authserv-id that the client
# sent, before any milter runs, and never see what milters add.
printf '%s\n' '/^Authentication-Results:.*dmarc\.example\.com/ IGNORE' > "$PF_CONF/header_checks"
pf_main_cf_set "header_checks = regexp:$PF_CONF/header_checks"
pf_postfix reload || fail "postfix reload"
sleep 1
printf '%s\n' 'Authentication-Results: dmarc.example.com; dmarc=pass header.from=other.example' \
  > "$msgs/carol-top.hdr"
signed carol2 carol carol@other.example "$msgs/forged.hdr" "$msgs/carol-top.hdr"
f=$(deliver carol2 carol@other.example alice@example.com)
no_forged carol2 "$f"
[ "$(harvested carol@other.example)" = 0 ] ||
  fail "carol2: a dmarc=pass the sender put on top allowed the harvest"
signed good2 bob bob@partner.example
f=$(deliver good2 bob@partner.example alice@example.com)
no_forged good2 "$f"
milter_line_for "$(pf_queue_id "$msgs/good2.out")" | grep -q "harvested 1 certificate" ||
  fail "good2: with header_checks, the upstream filter's dmarc=pass no longer counts"
echo "ok: with header_checks, dmarc=pass on top of the message is gone, the upstream's counts"
echo PASS
