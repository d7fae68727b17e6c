#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# A certificate from the directory is filed only under the address that
# was looked up, and only when its subjectAltName names that address,
# through a real Postfix and slapd (partner.example requires encryption):
# - bob's entry holds a certificate whose SAN also names
#   carol@partner.example: mail to bob is encrypted to it, mail to carol
#   (who has no entry) is refused at RCPT, not encrypted to bob's key;
# - dave's entry holds a certificate issued to dave@partner.example whose
#   subject also carries emailAddress=frank@partner.example: after mail to
#   dave, mail to frank (no entry) is refused, not encrypted to dave's key;
# - erin's entry holds a certificate whose SAN names someone else
#   (subject emailAddress erin@partner.example): not used, mail to erin is
#   refused at RCPT, and smimectl lookup says why.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
. "$SMX_SOURCE_DIR/tests/lib/postfix.sh"
. "$SMX_SOURCE_DIR/tests/lib/slapd.sh"
set -e
pf_need_peers
need_cmd openssl ldapadd
MSGTOOL="$SMX_SOURCE_DIR/tests/lib/msgtool.py"
SINK2MSG="$SMX_SOURCE_DIR/tests/lib/sink-to-message.py"
MARKER="PLAINTEXT-MARKER-df52"

pki=$(fresh_dir pki)
q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }
q openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/ca.key" \
  -out "$pki/ca.pem" -days 7 -subj "/CN=Directory Filing CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign"
# issue NAME SUBJECT [SAN]
issue() {
  local san=${3:+subjectAltName=$3}
  q openssl req -newkey rsa:2048 -nodes -keyout "$pki/$1.key" \
    -out "$pki/$1.csr" -subj "$2"
  q openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" \
    -CAcreateserial -out "$pki/$1.pem" -days 7 -extfile <(printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=emailProtection\n%s\n' "$san")
  q openssl x509 -in "$pki/$1.pem" -outform DER -out "$pki/$1.der"
}
issue bob "/CN=Bob" "email:bob@partner.example,email:carol@partner.example"
issue dave "/CN=Dave/emailAddress=frank@partner.example" "email:dave@partner.example"
issue erin "/CN=Erin/emailAddress=erin@partner.example" "email:mallory@evil.example"

SLAPD_DIR=$(fresh_dir slapd)
slapd_start "$SLAPD_DIR"
cat > "$pki/entries.ldif" <<LDIF
dn: dc=example,dc=com
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: uid=bob,dc=example,dc=com
objectClass: inetOrgPerson
uid: bob
cn: Bob
sn: Partner
mail: bob@partner.example
userCertificate;binary:< file://$pki/bob.der

dn: uid=dave,dc=example,dc=com
objectClass: inetOrgPerson
uid: dave
cn: Dave
sn: Partner
mail: dave@partner.example
userCertificate;binary:< file://$pki/dave.der

dn: uid=erin,dc=example,dc=com
objectClass: inetOrgPerson
uid: erin
cn: Erin
sn: Partner
mail: erin@partner.example
userCertificate;binary:< file://$pki/erin.der
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

problems=0
bad() { echo "FAIL: $*" >&2; problems=$((problems + 1)); }
msgs=$(fresh_dir messages)
# send NAME TO
send() {
  printf 'From: <alice@example.com>\r\nTo: <%s>\r\nSubject: filing\r\n\r\n%s-%s\r\n' \
    "$2" "$MARKER" "$1" > "$msgs/$1.eml"
  python3 "$MSGTOOL" wire "$msgs/$1.eml" "$msgs/$1.wire"
  pf_send "$msgs/$1.out" --from alice@example.com --to "$2" -ndf \
    --data "@$msgs/$1.wire"
}

# encrypted_to NAME: mail to NAME@partner.example is encrypted to the
# certificate of NAME's entry
encrypted_to() {
  send "$1" "$1@partner.example" || { cat "$msgs/$1.out" >&2; fail "mail to $1 refused"; }
  local qid f
  qid=$(pf_queue_id "$msgs/$1.out")
  pf_wait_delivered "$qid"
  f=$(sink_file_for "$qid")
  python3 "$SINK2MSG" "$f" "$msgs/$1.enc.eml"
  python3 "$MSGTOOL" body-b64 "$msgs/$1.enc.eml" "$msgs/$1.der"
  openssl cms -decrypt -inform DER -in "$msgs/$1.der" -recip "$pki/$1.pem" \
    -inkey "$pki/$1.key" -out "$msgs/$1.dec" 2>/dev/null ||
    fail "mail to $1 not encrypted to $1's directory certificate"
  echo "ok: $1's directory certificate used for $1"
}
encrypted_to bob
encrypted_to dave

# refused NAME TO: a required recipient without a usable certificate
refused() {
  if send "$1" "$2"; then
    bad "mail to $2 accepted (encrypted to a certificate not filed for it)"
  elif ! grep -q "550 5.7.1" "$msgs/$1.out"; then
    cat "$msgs/$1.out" >&2
    bad "mail to $2: want 550 5.7.1"
  else
    echo "ok: $2: refused at RCPT"
  fi
}
refused carol carol@partner.example
refused frank frank@partner.example
# asked first by smimectl (then cached as not found for the milter)
ctl lookup erin@partner.example > "$msgs/erin.lookup" 2>&1 || true
grep -q "issued to mallory@evil.example, not erin@partner.example" "$msgs/erin.lookup" ||
  { cat "$msgs/erin.lookup" >&2; bad "lookup for erin does not say why"; }
refused erin erin@partner.example
grep -rq "$MARKER-carol\|$MARKER-frank\|$MARKER-erin" "$PF_SINK_DIR" && fail "plaintext at the sink"

ctl lookup carol@partner.example > "$msgs/carol.lookup" 2>&1 || true
grep -q "$(openssl x509 -in "$pki/bob.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)" "$msgs/carol.lookup" &&
  { cat "$msgs/carol.lookup" >&2; bad "lookup for carol lists bob's certificate"; }
[ "$problems" = 0 ] || fail "$problems check(s) failed"
echo PASS
