#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Revocation checking through a real Postfix, against a real OCSP
# responder (openssl ocsp -index -port, signing with a delegated
# responder certificate) and a CRL served by python3's http.server, both
# on free ports of 127.0.0.1 and started and stopped here. The partner
# CA's certificates name them in their AIA (OCSP) or CRL distribution
# points:
#   bob@partner.example    OCSP only, good (opportunistic domain)
#   rita@secure.example    OCSP only, good (required domain)
#   eve@partner.example    OCSP only, revoked from the start
#   carl@partner.example   CRL only, good
#   dave@partner.example   CRL only, revoked from the start
# Checked, in order:
# - eve's and dave's signatures are smime=fail (certificate revoked) and
#   not harvested, and smimectl verify judges them alike; bob's,
#   rita's and carl's pass and are harvested;
# - mail to bob and carl is encrypted, its status served from the
#   store's cache: the responder and the CRL server saw one request each;
# - smimectl show and lookup print the statuses (ocsp, crl);
# - responder stopped, statuses refreshed (unknown): "soft" encrypts to
#   rita and logs the unknown status once for two messages; "hard" defers
#   required mail to rita with 450 4.7.1, sends bob's signed only, and
#   rita's signature is smime=policy (revocation status unknown);
# - responder back: rita's mail is encrypted again (hard);
# - bob and rita revoked at the responder: the background refresh finds
#   bob revoked (no mail, no smimectl), smimectl revocation refresh finds
#   rita; both are marked revoked; mail to bob goes signed only, mail to
#   rita is refused, nothing is encrypted to them;
# - a certificate of the organization CA is judged by its own records,
#   good, then revoked, without asking the network;
# - revocation.max_wait bounds a whole message: to three recipients whose
#   responder never answers, it is asked once (at the first RCPT), not
#   once per recipient and check.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"
set -e
pf_need_peers
need_cmd openssl saslpasswd2 ss
MSGTOOL="$SMX_SOURCE_DIR/tests/lib/msgtool.py"

pki=$(fresh_dir pki)
crldir=$(fresh_dir crl)
OCSP_PORT=$(free_port)
CRL_PORT=$(free_port)
OCSP_PID=
HTTP_PID=
q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }

q openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/ca.key" \
  -out "$pki/ca.pem" -days 7 -subj "/CN=Revocation Test CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign"
: > "$pki/index.txt"
echo 01 > "$pki/crlnumber"
cat > "$pki/ca.cnf" <<EOF
[ ca ]
default_ca = ca_default
[ ca_default ]
database = $pki/index.txt
crlnumber = $pki/crlnumber
default_md = sha256
default_crl_days = 1
EOF
# issue NAME SERIAL EMAIL EXTRA-EXTENSIONS: a certificate of the CA with
# the given serial (hex) and a line for it in the responder's index.
issue() {
  q openssl req -newkey rsa:2048 -nodes -keyout "$pki/$1.key" \
    -out "$pki/$1.csr" -subj "/CN=$1"
  q openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.pem" \
    -CAkey "$pki/ca.key" -set_serial "0x$2" -out "$pki/$1.pem" -days 7 \
    -extfile <(printf 'basicConstraints=CA:FALSE\n%s\n%s\n' "$4" \
      "${3:+subjectAltName=email:$3}")
  local end
  end=$(date -u -d "+7 days" +%y%m%d%H%M%SZ)
  printf 'V\t%s\t\t%s\tunknown\t/CN=%s\n' "$end" "$2" "$1" >> "$pki/index.txt"
}
# revoke SERIAL: marks it revoked in the index (the responder and the CRL)
revoke() {
  local now
  now=$(date -u +%y%m%d%H%M%SZ)
  sed -i "s/^V\t\([0-9]*Z\)\t\t$1\t/R\t\1\t$now\t$1\t/" "$pki/index.txt"
  grep -q "^R.*	$1	" "$pki/index.txt" || fail "revoke $1: not in the index"
}
make_crl() {
  q openssl ca -config "$pki/ca.cnf" -gencrl -keyfile "$pki/ca.key" \
    -cert "$pki/ca.pem" -out "$pki/crl.pem"
  q openssl crl -in "$pki/crl.pem" -outform DER -out "$crldir/ca.crl"
}
USAGE='keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=emailProtection'
OCSP_EXT="$USAGE
authorityInfoAccess=OCSP;URI:http://127.0.0.1:$OCSP_PORT/"
CRL_EXT="$USAGE
crlDistributionPoints=URI:http://127.0.0.1:$CRL_PORT/ca.crl"
issue responder 0F00 "" "keyUsage=critical,digitalSignature
extendedKeyUsage=OCSPSigning"
issue alice 1000 alice@example.com "$USAGE"
issue bob 1001 bob@partner.example "$OCSP_EXT"
issue rita 1002 rita@secure.example "$OCSP_EXT"
issue eve 1003 eve@partner.example "$OCSP_EXT"
issue carl 1004 carl@partner.example "$CRL_EXT"
issue dave 1005 dave@partner.example "$CRL_EXT"
revoke 1003
revoke 1005
make_crl
echo p12pass > "$pki/pw"
q openssl pkcs12 -export -in "$pki/alice.pem" -inkey "$pki/alice.key" \
  -out "$pki/alice.p12" -passout "file:$pki/pw"

# The responder spins on a connection closed without a request: wait
# for its port with ss, never by connecting.
listening() { ss -ltnH "sport = :$1" | grep -q .; }
ocsp_start() {
  openssl ocsp -index "$pki/index.txt" -port "$OCSP_PORT" \
    -CA "$pki/ca.pem" -rsigner "$pki/responder.pem" \
    -rkey "$pki/responder.key" -text >>"$SMX_TEST_DIR/ocsp.log" 2>&1 &
  OCSP_PID=$!
  local i=0
  until listening "$OCSP_PORT"; do
    [ $i -lt 100 ] || fail "the OCSP responder did not listen"
    sleep 0.1
    i=$((i + 1))
  done
}
ocsp_stop() {
  [ -n "$OCSP_PID" ] || return 0
  kill "$OCSP_PID" 2>/dev/null || true
  wait "$OCSP_PID" 2>/dev/null || true
  OCSP_PID=
}
ocsp_requests() { grep -c "OCSP Request Data:" "$SMX_TEST_DIR/ocsp.log" || true; }
crl_requests() { grep -c "GET /ca.crl" "$SMX_TEST_DIR/http.log" || true; }

pf_init --sasl
: > "$SMX_TEST_DIR/ocsp.log"
trap 'rc=$?; set +e; ocsp_stop; [ -n "$HTTP_PID" ] && kill "$HTTP_PID" && wait "$HTTP_PID"; [ -n "$HOLE_PID" ] && kill "$HOLE_PID" && wait "$HOLE_PID"; pf_cleanup $rc' EXIT
python3 -m http.server --bind 127.0.0.1 --directory "$crldir" "$CRL_PORT" \
  >"$SMX_TEST_DIR/http.log" 2>&1 &
HTTP_PID=$!
wait_for_port "$CRL_PORT"
ocsp_start
sink_start

# mode MODE [SETTINGS]: writes the milter's configuration with
# revocation.mode MODE and more revocation settings (unknown statuses are
# not reused, so that a responder that is back is asked at once; no
# background refresh unless SETTINGS turn it on).
mode() {
  write_milter_conf "$PF_MILTER_CONF" "$PF_MILTER_PORT" \
    'trusted_networks = [ "192.0.2.0/24" ]'
  cat >> "$PF_MILTER_CONF" <<CONF
revocation: { mode = "$1"; unknown_ttl = 0; fetch_timeout = "${FETCH_TIMEOUT:-3s}";
              ${2:-refresh_interval = 0;} };
policy: { default: { sign = "always"; };
          domains: ( { domain = "partner.example"; encrypt = "opportunistic"; },
                     { domain = "secure.example"; encrypt = "required"; } ); };
CONF
}
mode soft
rm -f "$SMX_TEST_DIR"/store.db* "$SMX_TEST_DIR/master.key"
ctl() { "$SMX_BIN_DIR/smimectl" -c "$PF_MILTER_CONF" "$@"; }
q ctl init
q ctl trust add "$pki/ca.pem"
q ctl import-p12 "$pki/alice.p12" --password-file "$pki/pw"
pf_start_milter
pf_add_sasl_user alice@example.com pw-alice
pf_start

msgs=$(fresh_dir messages)
problems=0
bad() { echo "FAIL: $*" >&2; problems=$((problems + 1)); }
certs_of() {
  ctl --json list "$1" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}

# inbound NAME: NAME's signed message to alice from outside; echoes the
# Authentication-Results the milter added.
inbound() {
  local who=$1 addr
  addr=$(openssl x509 -in "$pki/$who.pem" -noout -ext subjectAltName |
         sed -n 's/.*email:\([^, ]*\).*/\1/p')
  printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nHello from %s.\r\n' "$who" \
    > "$msgs/in-$who.content"
  openssl cms -sign -in "$msgs/in-$who.content" -signer "$pki/$who.pem" \
    -inkey "$pki/$who.key" -binary -md sha256 -out "$msgs/in-$who.smime" \
    2>/dev/null || fail "openssl cms -sign ($who)"
  {
    printf 'From: <%s>\r\nTo: <alice@example.com>\r\nSubject: hello\r\nMessage-ID: <in-%s@partner.example>\r\n' "$addr" "$who"
    tr -d '\r' < "$msgs/in-$who.smime" | sed 's/$/\r/'
  } > "$msgs/in-$who.eml"
  python3 "$MSGTOOL" wire "$msgs/in-$who.eml" "$msgs/in-$who.wire"
  pf_send "$msgs/in-$who.out" --from "$addr" --to alice@example.com -ndf \
    --data "@$msgs/in-$who.wire" || { cat "$msgs/in-$who.out" >&2; fail "inbound from $who refused"; }
  local qid
  qid=$(pf_queue_id "$msgs/in-$who.out")
  pf_wait_delivered "$qid"
  pf_unfolded_headers "$(sink_file_for "$qid")" | grep -i '^Authentication-Results:'
}

# send NAME TO: alice writes to TO through the submission port; the
# swaks transcript in $msgs/NAME.out, its exit status returned.
send() {
  printf 'From: <alice@example.com>\r\nTo: <%s>\r\nSubject: revocation\r\nMessage-ID: <%s@example.com>\r\n\r\nSecret %s.\r\n' \
    "$2" "$1" "$1" > "$msgs/$1.eml"
  python3 "$MSGTOOL" wire "$msgs/$1.eml" "$msgs/$1.wire"
  pf_send "$msgs/$1.out" --server "127.0.0.1:$PF_SUBMIT_PORT" -a PLAIN \
    -au alice@example.com -ap pw-alice --from alice@example.com --to "$2" \
    -ndf --data "@$msgs/$1.wire"
}
# delivered NAME: "encrypted" or "signed" for a message sent and delivered
delivered() {
  local qid f
  qid=$(pf_queue_id "$msgs/$1.out")
  pf_wait_delivered "$qid"
  f=$(sink_file_for "$qid")
  if grep -qi "enveloped-data" "$f"; then echo encrypted; else echo signed; fi
}

# --- inbound: revoked signers fail and are not harvested ------------------
for who in eve dave; do
  ar=$(inbound $who)
  addr=$who@partner.example
  if ! grep -q "smime=fail (certificate revoked)" <<<"$ar"; then
    bad "$who: want smime=fail (certificate revoked), got: $ar"
  elif [ "$(certs_of $addr)" != 0 ]; then
    bad "$who: a revoked signer was harvested"
  else
    echo "ok: $who (revoked, $( [ $who = eve ] && echo OCSP || echo CRL)): smime=fail, not harvested"
  fi
done
grep -q "not harvested (certificate revoked)" "$PF_MILTER_LOG" ||
  bad "the decision line does not say why eve was not harvested"

# smimectl verify judges the same messages as the milter did: fail,
# certificate revoked (its chain alone is valid).
for who in eve dave; do
  got=$(ctl --json verify "$msgs/in-$who.eml" | python3 -c '
import json, sys
v = json.load(sys.stdin)
print(v["result"], v["signatures"][0]["reason"])')
  [ "$got" = "fail certificate revoked" ] ||
    bad "smimectl verify $who: want fail (certificate revoked), got: $got"
done
echo "ok: smimectl verify: revoked signers fail (certificate revoked)"

for who in bob rita carl; do
  ar=$(inbound $who)
  grep -q "smime=pass" <<<"$ar" || bad "$who: want smime=pass, got: $ar"
done
[ "$(certs_of bob@partner.example)" = 1 ] || bad "bob not harvested"
[ "$(certs_of rita@secure.example)" = 1 ] || bad "rita not harvested"
[ "$(certs_of carl@partner.example)" = 1 ] || bad "carl not harvested"
echo "ok: good signers pass and are harvested"

# --- the cache: outbound mail reuses the statuses learned inbound -------
ocsp_before=$(ocsp_requests)
crl_before=$(crl_requests)
[ "$crl_before" = 2 ] || bad "want 2 CRL downloads (dave, carl), got $crl_before"
send enc-bob bob@partner.example || { cat "$msgs/enc-bob.out" >&2; fail "mail to bob refused"; }
[ "$(delivered enc-bob)" = encrypted ] || bad "mail to bob (good) not encrypted"
send enc-carl carl@partner.example || { cat "$msgs/enc-carl.out" >&2; fail "mail to carl refused"; }
[ "$(delivered enc-carl)" = encrypted ] || bad "mail to carl (CRL only, good) not encrypted"
[ "$(ocsp_requests)" = "$ocsp_before" ] ||
  bad "the responder was asked again ($ocsp_before, then $(ocsp_requests) requests)"
[ "$(crl_requests)" = "$crl_before" ] ||
  bad "the CRL was fetched again ($crl_before, then $(crl_requests))"
echo "ok: encrypted to bob and carl, statuses from the store's cache ($(ocsp_requests) OCSP requests, $(crl_requests) CRL downloads in all)"

fp_of() { openssl x509 -in "$pki/$1.pem" -outform DER | sha256sum | cut -d' ' -f1; }
ctl show "$(fp_of bob)" | grep -q "^revocation: *good (ocsp" ||
  bad "smimectl show bob: $(ctl show "$(fp_of bob)" | grep revocation)"
ctl show "$(fp_of carl)" | grep -q "^revocation: *good (crl" ||
  bad "smimectl show carl: $(ctl show "$(fp_of carl)" | grep revocation)"
st=$(ctl --json show "$(fp_of bob)" |
     python3 -c 'import json,sys; r=json.load(sys.stdin)["revocation"]; print(r["status"], r["source"])' || true)
[ "$st" = "good ocsp" ] || bad "smimectl --json show bob: $st"
ctl lookup carl@partner.example | grep -q "revocation: good (crl" ||
  bad "smimectl lookup carl: $(ctl lookup carl@partner.example)"
echo "ok: smimectl show and lookup print the statuses"

# --- responder down ------------------------------------------------------
ocsp_stop
ctl revocation refresh rita@secure.example | grep -q ": unknown (none" ||
  bad "refresh with the responder down: not unknown"
send soft1 rita@secure.example || { cat "$msgs/soft1.out" >&2; bad "soft: required mail to rita refused"; }
[ "$(delivered soft1)" = encrypted ] || bad "soft: mail to rita not encrypted"
send soft2 rita@secure.example || { cat "$msgs/soft2.out" >&2; bad "soft: second mail to rita refused"; }
[ "$(delivered soft2)" = encrypted ] || bad "soft: second mail to rita not encrypted"
n=$(grep -c "revocation: status of certificate $(fp_of rita) unknown" "$PF_MILTER_LOG" || true)
[ "$n" = 1 ] || bad "soft: the unknown status was logged $n times, not once"
echo "ok: soft: rita's certificate of unknown status used, logged once for two messages"

pf_stop_milter
mode hard
pf_start_milter
if send hard1 rita@secure.example; then
  bad "hard: required mail to rita accepted with an unknown status"
elif ! grep -q "450 4.7.1" "$msgs/hard1.out"; then
  cat "$msgs/hard1.out" >&2
  bad "hard: want 450 4.7.1 for rita"
else
  echo "ok: hard: required mail to rita deferred with 450 4.7.1"
fi
ctl revocation refresh bob@partner.example >/dev/null
send hard2 bob@partner.example || { cat "$msgs/hard2.out" >&2; bad "hard: opportunistic mail to bob refused"; }
[ "$(delivered hard2)" = signed ] || bad "hard: opportunistic mail to bob encrypted with an unknown status"
echo "ok: hard: opportunistic mail to bob signed only"

ar=$(inbound rita)
grep -q "smime=policy (revocation status unknown)" <<<"$ar" ||
  bad "hard: rita's signature with the responder down: $ar"
echo "ok: hard: a signature whose status is unknown is smime=policy"

ocsp_start
send back rita@secure.example || { cat "$msgs/back.out" >&2; bad "responder back: mail to rita refused"; }
[ "$(delivered back)" = encrypted ] || bad "responder back: mail to rita not encrypted"
echo "ok: responder back: mail to rita encrypted"

# --- revoked after the harvest ---------------------------------------------
# Statuses live a minute and the background refresh runs every second:
# bob's revocation is found without mail and without smimectl.
pf_stop_milter
mode hard 'max_age = "60s"; refresh_interval = "1s";'
ctl revocation refresh bob@partner.example >/dev/null
pf_start_milter
ocsp_stop
revoke 1001
revoke 1002
ocsp_start
i=0
until ctl --json show "$(fp_of bob)" |
      python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["revoked"] else 1)'; do
  [ $i -lt $((30 * ${SMX_TIMEOUT_SCALE:-1})) ] || { bad "the background refresh did not find bob revoked"; break; }
  sleep 1
  i=$((i + 1))
done
ctl show "$(fp_of bob)" | grep -q "^revocation: *revoked (ocsp" ||
  bad "bob: $(ctl show "$(fp_of bob)" | grep revocation)"
echo "ok: the background refresh found bob revoked"
ctl revocation refresh rita@secure.example | grep -q ": revoked (ocsp" ||
  bad "refresh: rita not revoked"
ctl --json show "$(fp_of bob)" | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["revoked"] else 1)' ||
  bad "bob's certificate is not marked revoked in the store"
send rev-bob bob@partner.example || { cat "$msgs/rev-bob.out" >&2; bad "revoked: opportunistic mail to bob refused"; }
[ "$(delivered rev-bob)" = signed ] || bad "revoked: mail to bob encrypted to a revoked certificate"
if send rev-rita rita@secure.example; then
  bad "revoked: required mail to rita accepted"
elif ! grep -q "550 5.7.1" "$msgs/rev-rita.out"; then
  cat "$msgs/rev-rita.out" >&2
  bad "revoked: want 550 5.7.1 for rita (on_missing_certificate reject)"
fi
grep -rq "Secret rev-rita" "$PF_SINK_DIR" && fail "plaintext at the sink"
echo "ok: revoked after the harvest: bob signed only, rita refused"

# --- the organization CA: its own records, no network ----------------------
q ctl ca init
q ctl ca issue kate@example.com
kfp=$(ctl --json list kate@example.com | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["fingerprint"])')
ocsp_before=$(ocsp_requests)
ctl revocation refresh "$kfp" | grep -q ": good (organization-ca" ||
  bad "organization CA: $(ctl revocation refresh "$kfp")"
q ctl ca revoke "$kfp"
ctl revocation refresh "$kfp" | grep -q ": revoked (organization-ca" ||
  bad "organization CA after revoke: $(ctl revocation refresh "$kfp")"
[ "$(ocsp_requests)" = "$ocsp_before" ] || bad "the organization CA's certificate was asked by OCSP"
echo "ok: organization CA certificates judged by its own records"

# --- one max_wait for a whole message ----------------------------------
# Three recipients whose responder takes connections and never answers:
# the message's one deadline is spent on the first request (at its
# first RCPT), so the later recipients' checks, at RCPT time and at the
# end of the message, ask nobody. A wait per recipient would connect
# once per check.
HOLE_PORT=$(free_port)
: > "$SMX_TEST_DIR/hole.log"
python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
    with open(sys.argv[2], "a") as log:
        log.write("connection\n")
' "$HOLE_PORT" "$SMX_TEST_DIR/hole.log" &
HOLE_PID=$!
i=0
until listening "$HOLE_PORT"; do
  [ $i -lt 100 ] || fail "the silent responder did not listen"
  sleep 0.1
  i=$((i + 1))
done
for n in 1 2 3; do
  issue slow$n 102$n slow$n@partner.example "$USAGE
authorityInfoAccess=OCSP;URI:http://127.0.0.1:$HOLE_PORT/"
  q ctl import-cert "$pki/slow$n.pem"
done
# The wait is scaled with the harness (valgrind's milter may spend a short
# one before its first request) and one request may use all of it.
wait_s=$((3 * ${SMX_TIMEOUT_SCALE:-1}))
pf_stop_milter
FETCH_TIMEOUT=${wait_s}s mode soft "refresh_interval = 0; max_wait = \"${wait_s}s\";"
pf_start_milter
: > "$SMX_TEST_DIR/hole.log"
send slow slow1@partner.example,slow2@partner.example,slow3@partner.example ||
  { cat "$msgs/slow.out" >&2; bad "one deadline: mail to three recipients refused"; }
n=$(grep -c connection "$SMX_TEST_DIR/hole.log" || true)
[ "$n" = 1 ] || bad "one deadline: the silent responder was asked $n times, not once"
echo "ok: one max_wait for the whole message: the silent responder asked once"

[ "$problems" = 0 ] || fail "$problems check(s) failed"
echo PASS
