#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Inbound verification through a real Postfix: a message signed by an
# external correspondent (openssl cms, clear-signed, chain to a CA the
# gateway trusts) arrives with "Authentication-Results: mx.example.com;
# smime=pass" and its body unchanged, the signer's certificate is
# harvested (once, however often it is seen); a tampered message gets
# smime=fail, a forged Authentication-Results header claiming our
# authserv-id is removed, and nothing is ever refused.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"
. "$SMX_SOURCE_DIR/tests/lib/pki.sh"
set -e
pf_need_peers
need_cmd openssl
MSGTOOL="$SMX_SOURCE_DIR/tests/lib/msgtool.py"

pki=$(fresh_dir pki)
q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }
pki_ca "$pki" "Partner CA"
pki_issue -subj "/CN=Bob Partner" bob bob@partner.example

pf_init
sink_start
write_milter_conf "$PF_MILTER_CONF" "$PF_MILTER_PORT" \
  'trusted_networks = [ "192.0.2.0/24" ]'
rm -f "$SMX_TEST_DIR"/store.db* "$SMX_TEST_DIR/master.key"
ctl() { "$SMX_BIN_DIR/smimectl" -c "$PF_MILTER_CONF" "$@"; }
q ctl init
q ctl trust add "$pki/ca.pem"
pf_start_milter
pf_start

msgs=$(fresh_dir messages)
# signed NAME [forged]: a clear-signed message from bob to alice.
signed() {
  local m="$msgs/$1"
  printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nHello Alice,\r\nthe figures are attached in spirit.\r\n' > "$m.content"
  openssl cms -sign -in "$m.content" -signer "$pki/bob.pem" -inkey "$pki/bob.key" \
    -certfile "$pki/ca.pem" -binary -md sha256 -out "$m.smime" 2>/dev/null ||
    fail "openssl cms -sign"
  {
    [ "${2:-}" = forged ] && printf 'Authentication-Results: mx.example.com; smime=pass header.s=forged\r\n'
    printf 'From: Bob <bob@partner.example>\r\nTo: <alice@example.com>\r\nSubject: figures\r\nMessage-ID: <%s@partner.example>\r\n' "$1"
    tr -d '\r' < "$m.smime" | sed 's/$/\r/'
  } > "$m.eml"
}
# deliver NAME: sends it in, prints the sink file.
deliver() {
  local m="$msgs/$1" qid
  python3 "$MSGTOOL" wire "$m.eml" "$m.wire" || fail "cannot dot-stuff $1"
  pf_send "$m.out" --from bob@partner.example --to alice@example.com \
    -ndf --data "@$m.wire" || { cat "$m.out" >&2; fail "$1 was refused"; }
  qid=$(pf_queue_id "$m.out")
  pf_wait_delivered "$qid"
  sink_file_for "$qid"
}
# body_unchanged NAME SINKFILE
body_unchanged() {
  python3 "$SMX_SOURCE_DIR/tests/lib/sink-to-message.py" "$2" "$msgs/$1.got"
  python3 "$MSGTOOL" same-body "$msgs/$1.eml" "$msgs/$1.got" ||
  fail "$1: body changed"
}

signed good
f=$(deliver good)
pf_unfolded_headers "$f" | grep -q "^Authentication-Results: mx.example.com; smime=pass .*body.smime-identifier=bob@partner.example body.smime-part=1 body.smime-serial=[0-9A-F]* body.smime-issuer=\"CN=Partner CA\"" ||
  { cat "$f" >&2; fail "good: no complete smime=pass header"; }
body_unchanged good "$f"
n=$("$SMX_BIN_DIR/smimectl" -c "$PF_MILTER_CONF" --json list bob@partner.example |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n" = 1 ] || fail "bob's certificate was not harvested ($n)"
echo "ok: smime=pass reported, body unchanged, certificate harvested"

signed again forged
f=$(deliver again)
[ "$(grep -c '^Authentication-Results: mx.example.com' "$f")" = 1 ] ||
  { cat "$f" >&2; fail "forged header not removed (or ours missing)"; }
grep -q "header.s=forged" "$f" && fail "the forged Authentication-Results survived"
n=$("$SMX_BIN_DIR/smimectl" -c "$PF_MILTER_CONF" --json list bob@partner.example |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n" = 1 ] || fail "second message duplicated the certificate ($n)"
echo "ok: forged header removed, no duplicate harvest"

signed tampered
sed -i 's/the figures/THE figures/' "$msgs/tampered.eml"
f=$(deliver tampered)
pf_unfolded_headers "$f" | grep -q "^Authentication-Results: mx.example.com; smime=fail" ||
  { cat "$f" >&2; fail "tampered: no smime=fail"; }
body_unchanged tampered "$f"
echo "ok: tampered message delivered unchanged with smime=fail"
echo PASS
