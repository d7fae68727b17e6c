#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# smimectl explain against a real store and policy: a recipient with a
# certificate (encrypted to), a required recipient without one (refused,
# reason names it and the layer), the subject tag raising a recipient to
# required, a login that may not sign as From, and the header protection
# a message gets (off, baseline encrypted, baseline clear). Human and
# JSON output.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
set -o pipefail

need_cmd openssl python3
W=$(fresh_dir work)
cd "$W" || fail "no work dir"
CTL="$SMX_BIN_DIR/smimectl"
cat > smx.conf <<CONF
milter: { internal_domains = [ "example.com" ]; };
store: { backend = "sqlite"; path = "$W/store.db"; };
keys: { master_key_file = "$W/master.key"; };
policy: {
  default: { sign = "always"; encrypt = "opportunistic";
             on_missing_certificate = "reject"; on_sign_failure = "tempfail"; };
  domains: ( { domain = "partner.example"; encrypt = "required"; },
             { domain = "hp.example"; header_protection = "baseline"; } );
  addresses: ( { address = "bob@partner.example"; legacy_interop = true; },
               { address = "lawyer@example.com"; encrypt = "required"; } );
  triggers: { subject_tag = "[secure]"; header = "X-Encrypt"; };
};
CONF
ctl() { "$CTL" -c "$W/smx.conf" "$@"; }
expect_rc() {  # expect_rc WANT CMD...: stdout in $W/out, stderr in $W/err
  local want=$1 rc=0
  shift
  "$@" >"$W/out" 2>"$W/err" || rc=$?
  [ "$rc" = "$want" ] || { cat "$W/out" "$W/err" >&2; fail "'$*' exited $rc, want $want"; }
}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" < "$W/out"; }
has() { grep -qF -- "$1" "$W/out" || { cat "$W/out" >&2; fail "output lacks: $1"; }; }

# --- a CA, alice's identity (PKCS#12), bob's certificate, carol's untrusted one
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 \
  -subj "/O=smime-milter tests/CN=Explain CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=keyCertSign,cRLSign" 2>/dev/null \
  || fail "CA generation"
issue() {  # issue NAME EMAIL
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key" 2>/dev/null
  openssl req -new -key "$1.key" -subj "/CN=$1" -out "$1.csr" 2>/dev/null
  printf 'subjectAltName=email:%s\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=emailProtection\n' \
    "$2" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
    -days 20 -extfile "$1.ext" -out "$1.pem" 2>/dev/null || fail "issue $1"
}
issue alice alice@example.com
issue bob bob@partner.example
issue erin erin@hp.example
openssl req -x509 -newkey rsa:2048 -nodes -keyout carol.key -out carol.pem -days 20 \
  -subj "/CN=carol" -addext "basicConstraints=CA:FALSE" \
  -addext "subjectAltName=email:carol@partner.example" 2>/dev/null \
  || fail "carol's self-signed certificate"
echo "p12-secret" > pw
openssl pkcs12 -export -name alice -in alice.pem -inkey alice.key -certfile ca.pem \
  -passout file:pw -out alice.p12 || fail "openssl pkcs12 -export"
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f; }
ALICE=$(fp alice.pem) BOB=$(fp bob.pem) CAROL=$(fp carol.pem)

expect_rc 0 ctl init
expect_rc 0 ctl trust add ca.pem
expect_rc 0 ctl import-p12 alice.p12 --password-file pw
expect_rc 0 ctl import-cert bob.pem
expect_rc 0 ctl import-cert carol.pem
expect_rc 0 ctl import-cert erin.pem
ERIN=$(fp erin.pem)

# --- usage errors ----------------------------------------------------------
expect_rc 1 ctl explain --to bob@partner.example
expect_rc 1 ctl explain --from alice@example.com
expect_rc 1 ctl explain --from alice@example.com --to bob@partner.example --client sideways
expect_rc 1 ctl explain --from alice@example.com --to bob@partner.example --header NoColon
expect_rc 1 ctl explain --from alice@example.com --to "not an address"

# --- a recipient with a certificate: signed and encrypted ------------------
expect_rc 0 ctl explain --from alice@example.com --to bob@partner.example
has "direction:  outbound"
has "sign:       yes: sign always (default)"
has "certificate: $ALICE"
has "recipient <bob@partner.example>:"
has "encryption: required (domain partner.example)"
has "legacy_interop: yes (address bob@partner.example)"
has "certificate: $BOB"
has "encrypt:    yes (legacy forms)"
has "header protection: off (built-in)"
has "action:     send"
expect_rc 0 ctl --json explain --from alice@example.com --to bob@partner.example
[ "$(json 'd["direction"]')" = outbound ] || fail "json direction"
[ "$(json 'd["action"], d["sent"], d["encrypt"], d["legacy_interop"]')" = "send True True True" ] \
  || fail "json action: $(cat "$W/out")"
[ "$(json 'd["sign"]["sign"], d["sign"]["authorized"], d["sign"]["availability"]')" = "True True available" ] \
  || fail "json sign: $(json 'd["sign"]')"
[ "$(json 'd["sign"]["certificate"]["fingerprint"]')" = "$ALICE" ] || fail "json signing certificate"
[ "$(json 'd["sign"]["policy"], d["sign"]["policy_layer"]')" = "always default" ] || fail "json sign layer"
r='d["recipients"][0]'
[ "$(json "$r[\"encrypt\"], $r[\"encrypt_layer\"]")" = "required domain partner.example" ] \
  || fail "json bob level: $(json "$r")"
[ "$(json "$r[\"certificate\"][\"fingerprint\"], $r[\"certificate\"][\"source\"], $r[\"encrypt_to\"]")" = "$BOB imported True" ] \
  || fail "json bob certificate: $(json "$r")"
[ "$(json "$r[\"legacy_interop\"], $r[\"legacy_interop_layer\"]")" = "True address bob@partner.example" ] \
  || fail "json bob legacy_interop"
[ "$(json "$r[\"certificate\"][\"not_after\"] > 0")" = True ] || fail "json expiry"
hp='d["header_protection"]'
[ "$(json "$hp[\"mode\"], $hp[\"mode_layer\"], $hp[\"hp\"], $hp[\"subject_obscured\"]")" = \
  "off built-in None False" ] || fail "json header protection off: $(json "$hp")"

# --- header protection, as the text shows it and in JSON --------------------
expect_rc 0 ctl explain --from alice@example.com --to erin@hp.example
has "certificate: $ERIN"
has 'header protection: baseline, hp="cipher", Subject [...] outside (domain hp.example)'
expect_rc 0 ctl --json explain --from alice@example.com --to erin@hp.example
[ "$(json "$hp[\"mode\"], $hp[\"mode_layer\"], $hp[\"hp\"], $hp[\"subject_obscured\"]")" = \
  "baseline domain hp.example cipher True" ] || fail "json header protection cipher: $(cat "$W/out")"
expect_rc 0 ctl explain --from alice@example.com --to frank@hp.example
has 'header protection: baseline, hp="clear" (domain hp.example)'
expect_rc 0 ctl --json explain --from alice@example.com --to frank@hp.example
[ "$(json "$hp[\"mode\"], $hp[\"hp\"], $hp[\"subject_obscured\"], d[\"encrypt\"]")" = \
  "baseline clear False False" ] || fail "json header protection clear: $(cat "$W/out")"

# --- a required recipient without a usable certificate: refused -----------
expect_rc 2 ctl explain --from alice@example.com --to bob@partner.example --to carol@partner.example
has "recipient <carol@partner.example>:"
has "rejected:    $CAROL"
has "certificate: none usable"
has "at RCPT time: reject 550 5.7.1: <carol@partner.example>: encryption required (domain partner.example)"
has "<carol@partner.example>: encryption required (domain partner.example), no certificate: reject"
has "action:     reject"
expect_rc 2 ctl --json explain --from alice@example.com --to bob@partner.example --to carol@partner.example
[ "$(json 'd["action"], d["sent"], d["encrypt"]')" = "reject False False" ] || fail "json carol action"
r='d["recipients"][1]'
[ "$(json "$r[\"availability\"], $r[\"certificate\"], $r[\"at_rcpt\"]")" = "missing None reject" ] \
  || fail "json carol: $(json "$r")"
[ "$(json "$r[\"rejected\"][0][\"fingerprint\"]")" = "$CAROL" ] || fail "json carol's rejected candidate"
json "$r[\"rejected\"][0][\"reason\"]" | grep -ci "trust" || fail "carol's reject reason: $(json "$r[\"rejected\"]")"
json '"\n".join(d["reasons"])' | grep -c "carol@partner.example.*domain partner.example" \
  || fail "json reasons do not name carol and the layer: $(json 'd["reasons"]')"

# --- the subject tag raises an opportunistic recipient to required --------
expect_rc 0 ctl --json explain --from alice@example.com --to dave@other.example
[ "$(json 'd["recipients"][0]["encrypt"], d["recipients"][0]["encrypt_layer"]')" = "opportunistic default" ] \
  || fail "dave without tag: $(json 'd["recipients"][0]')"
[ "$(json 'd["encrypt"], d["action"]')" = "False send" ] || fail "dave without tag is sent signed only"
expect_rc 2 ctl explain --from alice@example.com --to dave@other.example --subject "[secure] Quarterly numbers"
has "encryption: required (trigger subject tag)"
has "action:     reject"
expect_rc 2 ctl --json explain --from alice@example.com --to dave@other.example --subject "[secure] Quarterly numbers"
[ "$(json 'd["recipients"][0]["encrypt"], d["recipients"][0]["encrypt_layer"]')" = "required trigger subject tag" ] \
  || fail "json dave with tag: $(json 'd["recipients"][0]')"
[ "$(json 'd["action"], d["sent"], d["strip_subject_tag"]')" = "reject False True" ] || fail "json tag action"
# The trigger header does the same; "no" does not trigger.
expect_rc 2 ctl --json explain --from alice@example.com --to dave@other.example --header "X-Encrypt: yes"
[ "$(json 'd["recipients"][0]["encrypt_layer"]')" = "trigger header" ] || fail "trigger header"
expect_rc 0 ctl --json explain --from alice@example.com --to dave@other.example --header "X-Encrypt: no"
# The tag with a recipient that has a certificate: encrypted, sent.
expect_rc 0 ctl --json explain --from alice@example.com --to bob@partner.example --subject "[secure] Q"
[ "$(json 'd["encrypt"], d["strip_subject_tag"]')" = "True True" ] || fail "tagged to bob"

# An encoded subject ("[secure] Bankverbindung ändern", UTF-8, B) and an
# encoded trigger header trigger alike; an encoded "no" does not.
expect_rc 2 ctl --json explain --from alice@example.com --to dave@other.example \
  --subject "=?UTF-8?B?W3NlY3VyZV0gQmFua3ZlcmJpbmR1bmcgw6RuZGVybg==?="
[ "$(json 'd["recipients"][0]["encrypt_layer"], d["action"], d["strip_subject_tag"]')" = \
  "trigger subject tag reject True" ] || fail "encoded subject tag: $(cat "$W/out")"
expect_rc 2 ctl --json explain --from alice@example.com --to dave@other.example \
  --header "Subject: =?ISO-8859-1?Q?Re:_[sec?= =?ISO-8859-1?Q?ure]_Kontost=E4nde?="
[ "$(json 'd["action"], d["strip_subject_tag"]')" = "reject True" ] || fail "split Q tag: $(cat "$W/out")"
expect_rc 2 ctl --json explain --from alice@example.com --to dave@other.example \
  --header "X-Encrypt: =?UTF-8?B?eWVz?="
[ "$(json 'd["recipients"][0]["encrypt_layer"]')" = "trigger header" ] || fail "encoded trigger header"
expect_rc 0 ctl --json explain --from alice@example.com --to dave@other.example \
  --header "X-Encrypt: =?UTF-8?Q?no?="

# --- claims of client encryption ------------------------------------------
# Only the parsed type counts: a parameter that mentions it does not exempt.
expect_rc 2 ctl --json explain --from alice@example.com --to nocert@partner.example \
  --header 'Content-Type: text/plain; x-comment="not pkcs7-mime enveloped-data multipart/encrypted"'
[ "$(json 'd["processed"], d["action"]')" = "True reject" ] || fail "fake claim exempted: $(cat "$W/out")"
# A claim without a body (no --message) is not believed, as the milter
# does not believe one its body does not bear out.
expect_rc 2 ctl explain --from alice@example.com --to nocert@partner.example \
  --header 'Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m'
has "Content-Type claims client encryption but the body is not encrypted: not exempt"
has "action:     reject"
has "the milter leaves a message as it is only when its body really is encrypted"
expect_rc 2 ctl explain --from alice@example.com --to nocert@partner.example \
  --header 'Content-Type: application/pkcs7-mime; smime-type=compressed-data'
has "action:     reject"

# --- internal mail (internal_mail = "pass") -------------------------------
# Nothing required: passed, and every recipient is named.
expect_rc 0 ctl explain --from alice@example.com --to bob2@example.com
has "direction:  internal"
has "recipient <bob2@example.com>:"
grep -q "(null)" "$W/out" && { cat "$W/out" >&2; fail "explain prints (null)"; }
# A required recipient wins over "pass": refused without a certificate,
# like the milter refuses it at RCPT time.
expect_rc 2 ctl explain --from alice@example.com --to lawyer@example.com
has "recipient <lawyer@example.com>:"
has "encryption: required (address lawyer@example.com)"
has "action:     reject"
grep -q "(null)" "$W/out" && { cat "$W/out" >&2; fail "explain prints (null)"; }
# ... and so does the subject tag.
expect_rc 2 ctl --json explain --from alice@example.com --to bob2@example.com \
  --subject "=?UTF-8?Q?[secure]_Geb=C3=BChren?="
[ "$(json 'd["processed"], d["action"], d["recipients"][0]["encrypt_layer"]')" = \
  "True reject trigger subject tag" ] || fail "internal tagged: $(cat "$W/out")"

# --- From, not the envelope sender, is signed as ---------------------------
expect_rc 0 ctl explain --from alice@example.com --to bob@partner.example \
  --header "From: Zoe <zoe@example.com>" --login alice@example.com
has "signing key for <zoe@example.com>: missing"
has "not signed: client login alice@example.com may not sign as <zoe@example.com>"

# --- a login that may not sign as From ------------------------------------
expect_rc 0 ctl explain --from alice@example.com --to bob@partner.example --login mallory@example.com
has "from:       <alice@example.com>, mallory@example.com"
has "sign:       no: sign always (default); not signed: client login mallory@example.com may not sign as <alice@example.com>"
has "encrypt:    yes"
expect_rc 0 ctl --json explain --from alice@example.com --to bob@partner.example --login mallory@example.com
[ "$(json 'd["sign"]["sign"], d["sign"]["authorized"], d["login"]')" = "False False mallory@example.com" ] \
  || fail "json login: $(json 'd["sign"]')"
json 'd["sign"]["reason"]' | grep -c "may not sign as <alice@example.com>" || fail "json sign reason"

# --- a sender without a key: on_sign_failure; an untrusted client ---------
expect_rc 2 ctl --json explain --from zoe@example.com --to dave@other.example
[ "$(json 'd["sign"]["availability"], d["action"], d["sign"]["on_failure"]')" = "missing tempfail tempfail" ] \
  || fail "zoe without key: $(cat "$W/out")"
expect_rc 0 ctl --json explain --from alice@example.com --to bob@partner.example --client inbound
[ "$(json 'd["direction"], d["processed"], d["login"]')" = "transit False None" ] || fail "inbound client: $(cat "$W/out")"
expect_rc 0 ctl explain --from alice@example.com --to bob@partner.example --client inbound
has "processing: none"
echo "ok: smimectl explain"
