#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# A recipient certificate the encryptor refuses (RSA-1024, chain to a
# trusted CA, in the store) is skipped at selection as if absent, through
# a real Postfix: mail to an opportunistic recipient is delivered signed
# only (not tempfailed until it bounces); a required recipient gets the
# configured missing-certificate answer at RCPT (550 5.7.1 by default,
# 450 4.7.1 with on_missing_certificate = "tempfail"); smimectl lookup
# says why the certificate is not used.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"
set -e
pf_need_peers
need_cmd openssl saslpasswd2
MSGTOOL="$SMX_SOURCE_DIR/tests/lib/msgtool.py"
MARKER="PLAINTEXT-MARKER-wk77"

pki=$(fresh_dir pki)
q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }
q openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/ca.key" \
  -out "$pki/ca.pem" -days 7 -subj "/CN=Weak Key Test CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign"
echo p12pass > "$pki/pw"
# issue NAME BITS EMAIL...
issue() {
  local name=$1 bits=$2 san
  shift 2
  san=$(printf 'email:%s,' "$@")
  q openssl req -newkey "rsa:$bits" -nodes -keyout "$pki/$name.key" \
    -out "$pki/$name.csr" -subj "/CN=$name"
  q openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.pem" \
    -CAkey "$pki/ca.key" -CAcreateserial -out "$pki/$name.pem" -days 7 \
    -extfile <(printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=emailProtection\nsubjectAltName=%s\n' "${san%,}")
}
issue alice 2048 alice@example.com
issue weak 1024 weak@partner.example weak@secure.example weak@hold.example
q openssl pkcs12 -export -in "$pki/alice.pem" -inkey "$pki/alice.key" \
  -out "$pki/alice.p12" -passout "file:$pki/pw"

pf_init --sasl
sink_start
write_milter_conf "$PF_MILTER_CONF" "$PF_MILTER_PORT"
rm -f "$SMX_TEST_DIR"/store.db* "$SMX_TEST_DIR/master.key"
cat >> "$PF_MILTER_CONF" <<'CONF'
policy: { default: { sign = "always"; };
          domains: ( { domain = "partner.example"; encrypt = "opportunistic"; },
                     { domain = "secure.example"; encrypt = "required"; },
                     { domain = "hold.example"; encrypt = "required";
                       on_missing_certificate = "tempfail"; } ); };
CONF
ctl() { "$SMX_BIN_DIR/smimectl" -c "$PF_MILTER_CONF" "$@"; }
q ctl init
q ctl trust add "$pki/ca.pem"
q ctl import-p12 "$pki/alice.p12" --password-file "$pki/pw"
q ctl import-cert "$pki/weak.pem"
pf_start_milter
pf_add_sasl_user alice@example.com pw-alice
pf_start

problems=0
bad() { echo "FAIL: $*" >&2; problems=$((problems + 1)); }
msgs=$(fresh_dir messages)
# send NAME TO: alice writes through the submission port.
send() {
  printf 'From: <alice@example.com>\r\nTo: <%s>\r\nSubject: weak\r\nMessage-ID: <%s@example.com>\r\n\r\n%s-%s\r\n' \
    "$2" "$1" "$MARKER" "$1" > "$msgs/$1.eml"
  python3 "$MSGTOOL" wire "$msgs/$1.eml" "$msgs/$1.wire"
  pf_send "$msgs/$1.out" --server "127.0.0.1:$PF_SUBMIT_PORT" -a PLAIN \
    -au alice@example.com -ap pw-alice --from alice@example.com --to "$2" \
    -ndf --data "@$msgs/$1.wire"
}

if ! send opp weak@partner.example; then
  bad "opportunistic mail refused: $(grep -E '^<[-~*]+ *[45]' "$msgs/opp.out" | tail -1)"
else
  qid=$(pf_queue_id "$msgs/opp.out")
  if ! grep -q "$qid: direction=outbound .* action=sign " "$PF_MILTER_LOG"; then
    grep "$qid" "$PF_MILTER_LOG" >&2
    bad "opportunistic mail not signed only"
  else
    pf_wait_delivered "$qid"
    echo "ok: opportunistic: delivered signed, not tempfailed"
  fi
fi

# required REPLY NAME TO
required() {
  if send "$2" "$3"; then
    bad "required mail to $3 was accepted"
  elif ! grep -q "$1" "$msgs/$2.out"; then
    bad "required mail to $3: want $1, got $(grep -E '^<[-~*]+ *[45]' "$msgs/$2.out" | tail -1)"
  else
    echo "ok: required ($3): $1 at RCPT"
  fi
}
required "550 5.7.1" req weak@secure.example
required "450 4.7.1" hold weak@hold.example
grep -rq "$MARKER-req\|$MARKER-hold" "$PF_SINK_DIR" && fail "plaintext at the sink"

ctl lookup weak@partner.example > "$msgs/lookup.out" 2>&1 || true
grep -q "encryptor refuses its key: RSA key of 1024 bits" "$msgs/lookup.out" ||
  { cat "$msgs/lookup.out" >&2; bad "smimectl lookup does not say why"; }
[ "$problems" = 0 ] || fail "$problems check(s) failed"
echo PASS
