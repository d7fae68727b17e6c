#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Sendmail, the other MTA: a sendmail.cf built from contrib's .mc (the
# INPUT_MAIL_FILTER and macro lines exactly as shipped) plus private
# settings (own queue, no DNS, every message delivered into a file), and
# messages sent through `sendmail -bs` with smime-milter on a unix socket:
#   (a) an unsigned message from an internal sender with a key, injected
#       locally, is delivered multipart/signed and verifies with OpenSSL;
#   (b) a message signed by an external correspondent is delivered with
#       Authentication-Results: ...; smime=pass and its body unchanged;
#   (c) an unsigned inbound message keeps its headers and body.
# Sendmail comes from Debian's .debs unpacked here (see sendmail-lib.sh).
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
HERE="$SMX_SOURCE_DIR/tests/sendmail"
. "$HERE/sendmail-lib.sh"
set -e
need_cmd m4 openssl python3 dpkg-deb
MIMETOOL="$SMX_SOURCE_DIR/tests/lib/mime_tool.py"

sm_download_debs || skip "cannot download sendmail-bin and sendmail-cf"
T="$SMX_TEST_DIR"
rm -rf "$T/prefix"
sm_unpack "$T/prefix" || fail "cannot unpack the sendmail packages"

trap 'rc=$?; stop_milter; exit $rc' EXIT

q() { "$@" >/dev/null 2>&1 || fail "command failed: $*"; }

# --- certificates: our CA for alice, a partner CA for bob -------------
pki=$(fresh_dir pki)
# ca NAME CN: a self-signed CA
ca() {
  q openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/$1.key" \
    -out "$pki/$1.pem" -days 7 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign"
}
# issue NAME EMAIL CA: an S/MIME certificate for EMAIL
issue() {
  q openssl req -newkey rsa:2048 -nodes -keyout "$pki/$1.key" \
    -out "$pki/$1.csr" -subj "/CN=$1"
  q openssl x509 -req -in "$pki/$1.csr" -CA "$pki/$3.pem" -CAkey "$pki/$3.key" \
    -CAcreateserial -out "$pki/$1.pem" -days 7 \
    -extfile <(printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=emailProtection\nsubjectAltName=email:%s\n' "$2")
}
ca orgca "Example Org CA"
ca partnerca "Partner CA"
issue alice alice@example.com orgca
issue bob bob@partner.example partnerca
echo secret-p12 > "$pki/p12.pw"
q openssl pkcs12 -export -in "$pki/alice.pem" -inkey "$pki/alice.key" \
  -certfile "$pki/orgca.pem" -out "$pki/alice.p12" -passout "file:$pki/p12.pw"

# --- the milter on a unix socket ---------------------------------------
conf="$T/smime-milter.conf"
sock="$T/milter.sock"
rm -f "$sock" "$T"/store.db* "$T/master.key" "$T/milter.log"
write_milter_conf "$conf" "unix:$sock"
# sendmail -bs is local injection (trusted); without a SASL login the
# policy must name the addresses that may be signed for.
cat >> "$conf" <<'EOF'
policy: { signers: { allow_unauthenticated = [ "alice@example.com" ]; }; };
EOF
ctl() { "$SMX_BIN_DIR/smimectl" -c "$conf" "$@"; }
q ctl init
q ctl trust add "$pki/orgca.pem"
q ctl trust add "$pki/partnerca.pem"
q ctl import-p12 "$pki/alice.p12" --password-file "$pki/p12.pw"
start_milter "$conf" "$T/milter.log"

# --- sendmail.cf: contrib's .mc plus this test's local settings --------
sm=$(fresh_dir sm)
mkdir -m 700 "$sm/queue"
mkdir "$sm/out"
cat > "$sm/deliver.sh" <<'EOF'
#!/bin/sh
# The test's mailer: the message on stdin into its own file in $1.
umask 077
f="$1/$(date +%s%N).$$"
cat > "$f.tmp" && mv "$f.tmp" "$f.eml"
EOF
chmod 755 "$sm/deliver.sh"
printf 'hosts files\naliases files\n' > "$sm/service.switch"
printf '127.0.0.1 mx.example.com localhost\n' > "$sm/hosts"
sm_runner "$sm/hosts" mx.example.com
sed -e "s|@SM@|$sm|g" -e "s|@SOCKET@|local:$sock|g" \
    -e "s|@CONTRIB@|$SMX_SOURCE_DIR/contrib/sendmail/smime-milter.mc|g" \
    "$HERE/test-local.mc.in" > "$sm/test.mc"
sm_build_cf "$sm/test.mc" "$sm/sendmail.cf" || fail "m4 could not build sendmail.cf"
grep -q "^Xsmime-milter, S=local:$sock, F=T" "$sm/sendmail.cf" ||
  fail "sendmail.cf has no smime-milter filter line"
grep -q "^O Milter.macros.envfrom=i, .*{auth_authen}" "$sm/sendmail.cf" ||
  fail "sendmail.cf does not pass {auth_authen} and i at MAIL"

msgs=$(fresh_dir messages)
# session FROM TO NAME: NAME.eml through `sendmail -bs`; the transcript
# goes to NAME.smtp. Prints the delivered file.
session() {
  local from=$1 to=$2 m="$msgs/$3" f
  rm -f "$sm"/out/*
  python3 "$HERE/smtp-stdio.py" "$from" "$to" "$m.eml" -- \
    "${SM_RUN[@]}" -C "$sm/sendmail.cf" -bs -Am -odi > "$m.smtp" 2>&1 ||
    { cat "$m.smtp" "$T/milter.log" >&2; fail "$3: not accepted"; }
  local i=0
  while [ $i -lt 100 ]; do
    f=$(ls "$sm"/out/*.eml 2>/dev/null | head -n1)
    if [ -n "$f" ]; then
      cp "$f" "$m.delivered"
      echo "$m.delivered"
      return 0
    fi
    sleep 0.1
    i=$((i + 1))
  done
  cat "$m.smtp" >&2
  ls -l "$sm/queue" >&2
  fail "$3: nothing delivered"
}
# unfolded FILE: the header section with folded lines joined.
unfolded() {
  sed -e '/^\r\?$/q' "$1" | tr -d '\r' |
    sed -e ':a' -e '$!N' -e 's/\n[[:space:]]\+/ /' -e 'ta' -e 'P;D'
}
# same_body ORIGINAL DELIVERED: the bodies are byte for byte equal.
same_body() {
  python3 - "$1" "$2" <<'PY'
import sys
a = open(sys.argv[1], "rb").read().split(b"\r\n\r\n", 1)[1]
b = open(sys.argv[2], "rb").read().split(b"\r\n\r\n", 1)[1]
sys.exit(a != b)
PY
}
# headers_kept ORIGINAL DELIVERED: every header line of the original is
# still in the delivered header section.
headers_kept() {
  local line
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    unfolded "$2" | grep -qxF "$line" || { echo "missing: $line" >&2; return 1; }
  done < <(unfolded "$1")
}

# --- (a) outbound: signed by the milter, verified by OpenSSL -----------
printf 'From: Alice <alice@example.com>\r\nTo: <rcpt@partner.example>\r\nSubject: quarterly figures\r\nMessage-ID: <out-1@example.com>\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nHello Partner,\r\n.a line that starts with a dot\r\nthe figures follow.\r\n' > "$msgs/out.eml"
f=$(session alice@example.com rcpt@partner.example out)
unfolded "$f" | grep -qi '^Content-Type: multipart/signed;.*protocol="application/pkcs7-signature"' ||
  { cat "$f" >&2; fail "outbound: not multipart/signed"; }
python3 "$MIMETOOL" extract-clear "$f" "$msgs/out.content" "$msgs/out.sig.der" ||
  fail "outbound: cannot take the signed message apart"
openssl cms -verify -binary -inform DER -in "$msgs/out.sig.der" \
  -content "$msgs/out.content" -CAfile "$pki/orgca.pem" -purpose smimesign \
  -out /dev/null 2> "$msgs/out.verify" ||
  fail "outbound: openssl cms -verify: $(cat "$msgs/out.verify")"
openssl cms -verify -in "$f" -CAfile "$pki/orgca.pem" -purpose smimesign \
  -out "$msgs/out.smime-content" 2> "$msgs/out.verify2" ||
  fail "outbound: openssl cms -verify (S/MIME input): $(cat "$msgs/out.verify2")"
python3 "$MIMETOOL" compare "$msgs/out.eml" "$msgs/out.content" ||
  fail "outbound: the signed content differs from what was sent"
openssl cms -cmsout -print -inform DER -in "$msgs/out.sig.der" |
  grep -q "alice" || fail "outbound: alice is not the signer"
grep -q "direction=outbound .*action=sign .*locally submitted" "$T/milter.log" ||
  { cat "$T/milter.log" >&2; fail "outbound: no 'action=sign' log line for local submission"; }
echo "ok: (a) outbound message signed by the milter, verified by openssl"

# --- (b) inbound signed: Authentication-Results smime=pass -------------
printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nHello Alice,\r\nthe contract is attached in spirit.\r\n' > "$msgs/in.content"
openssl cms -sign -in "$msgs/in.content" -signer "$pki/bob.pem" -inkey "$pki/bob.key" \
  -certfile "$pki/partnerca.pem" -binary -md sha256 -out "$msgs/in.smime" 2>/dev/null ||
  fail "openssl cms -sign"
{
  printf 'From: Bob <bob@partner.example>\r\nTo: <alice@example.com>\r\nSubject: contract\r\nMessage-ID: <in-1@partner.example>\r\n'
  tr -d '\r' < "$msgs/in.smime" | sed 's/$/\r/'
} > "$msgs/in.eml"
f=$(session bob@partner.example alice@example.com in)
unfolded "$f" | grep -q '^Authentication-Results: mx.example.com; smime=pass .*body.smime-identifier=bob@partner.example' ||
  { cat "$f" >&2; fail "inbound signed: no smime=pass Authentication-Results"; }
same_body "$msgs/in.eml" "$f" || fail "inbound signed: body changed"
headers_kept "$msgs/in.eml" "$f" || fail "inbound signed: a header was lost"
grep -q "direction=inbound " "$T/milter.log" || fail "inbound signed: no inbound log line"
echo "ok: (b) inbound signed message delivered with smime=pass, body unchanged"

# --- (c) inbound unsigned: passes, body and headers kept ---------------
printf 'From: Carol <carol@partner.example>\r\nTo: <alice@example.com>\r\nSubject: lunch\r\nMessage-ID: <in-2@partner.example>\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nLunch on Friday?\r\n..\r\n' > "$msgs/plain.eml"
f=$(session carol@partner.example alice@example.com plain)
same_body "$msgs/plain.eml" "$f" || { cat "$f" >&2; fail "inbound unsigned: body changed"; }
headers_kept "$msgs/plain.eml" "$f" || fail "inbound unsigned: a header was lost"
unfolded "$f" | grep -q 'smime=pass' && fail "inbound unsigned: claims smime=pass"
echo "ok: (c) inbound unsigned message passed with its headers and body"

# --- the milter down: F=T defers, nothing passes unprocessed ------------
stop_milter
[ "$MILTER_RC" = 0 ] || { cat "$T/milter.log" >&2; fail "smime-milter exited with $MILTER_RC"; }
grep -q "Sanitizer" "$T/milter.log" && { cat "$T/milter.log" >&2; fail "sanitizer report"; }
rm -f "$sm"/out/*
python3 "$HERE/smtp-stdio.py" alice@example.com rcpt@partner.example "$msgs/out.eml" -- \
  "${SM_RUN[@]}" -C "$sm/sendmail.cf" -bs -Am -odi > "$msgs/down.smtp" 2>&1 &&
  { cat "$msgs/down.smtp" >&2; fail "milter down: the message was accepted"; }
grep -q '^4[0-9][0-9][ -]4\.' "$msgs/down.smtp" ||
  { cat "$msgs/down.smtp" >&2; fail "milter down: no temporary failure"; }
sleep 1
[ -z "$(ls "$sm/out")" ] || fail "milter down: something was delivered"
echo "ok: milter down: the client is told to retry ($(grep -m1 '^4' "$msgs/down.smtp"))"
echo PASS
