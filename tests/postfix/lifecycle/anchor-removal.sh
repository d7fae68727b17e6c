#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Trust follows the anchors, through a real Postfix: bob's certificate,
# harvested with a chain to the partner CA, is used to encrypt. Right
# after `smimectl trust remove` of that CA (no reload, no wait), alice's
# next mail to bob goes signed only, smimectl shows the certificate
# unverified, and bob's next signed message is not smime=pass and
# harvests nothing trusted. carol's, harvested through an intermediate
# of another root, stays trusted.
. "$SMX_SOURCE_DIR/tests/postfix/lifecycle/setup.sh"

signed_by c2 hello
f=$(inbound hello)
grep -q "smime=pass" "$f" || fail "bob's signature did not pass with the anchor"
f=$(outbound before)
encrypted_to "$f" c2 || fail "with the anchor, alice's mail is not encrypted to bob"
echo "ok: with the anchor, encrypted to bob"

# carol@other.example's certificate comes from another root through an
# intermediate that only her message carries: it stays trusted when the
# partner CA goes (the harvest kept the CA certificates of her path).
q openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/oroot.key" \
  -out "$pki/oroot.pem" -days 7 -subj "/CN=Other Root" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign"
q openssl req -newkey rsa:2048 -nodes -keyout "$pki/osub.key" \
  -out "$pki/osub.csr" -subj "/CN=Other Sub CA"
q openssl x509 -req -in "$pki/osub.csr" -CA "$pki/oroot.pem" \
  -CAkey "$pki/oroot.key" -CAcreateserial -out "$pki/osub.pem" -days 7 \
  -extfile <(printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n')
q openssl req -newkey rsa:2048 -nodes -keyout "$pki/carol.key" \
  -out "$pki/carol.csr" -subj "/CN=carol"
q openssl x509 -req -in "$pki/carol.csr" -CA "$pki/osub.pem" \
  -CAkey "$pki/osub.key" -CAcreateserial -out "$pki/carol.pem" -days 7 \
  -extfile <(printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=emailProtection\nsubjectAltName=email:carol@other.example\n')
q ctl trust add "$pki/oroot.pem"
signed_by carol fromcarol carol@other.example "$pki/osub.pem"
f=$(inbound fromcarol carol@other.example)
grep -q "smime=pass" "$f" || fail "carol's signature did not pass"
trust_of() { ctl --json list "$1" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["trust"])'; }
[ "$(trust_of carol@other.example)" = trusted ] || fail "carol's certificate not harvested trusted"

ca_fp=$(ctl --json trust list | python3 -c '
import json, sys
print(next(a["fingerprint"] for a in json.load(sys.stdin) if "Lifecycle Partner CA" in a["subject"]))')
ctl trust remove "$ca_fp" > "$msgs/remove.out" 2>&1 ||
  { cat "$msgs/remove.out" >&2; fail "trust remove failed"; }
grep -q "1 certificate(s) no longer trusted" "$msgs/remove.out" ||
  { cat "$msgs/remove.out" >&2; fail "trust remove did not demote bob's certificate"; }
trust=$(trust_of bob@partner.example)
[ "$trust" = unverified ] || fail "bob's certificate is still $trust"
trust=$(trust_of carol@other.example)
[ "$trust" = trusted ] || fail "carol's certificate (another root) became $trust"
echo "ok: smimectl shows bob's certificate unverified, carol's still trusted"

f=$(outbound after)
grep -qi "enveloped-data" "$f" && fail "alice's mail was encrypted with the anchor removed"
echo "ok: alice's next mail goes signed only"

signed_by c2 later
f=$(inbound later)
pf_unfolded_headers "$f" | grep -q "smime=pass" &&
  fail "bob's signature still passes with the anchor removed"
trust=$(trust_of bob@partner.example)
[ "$trust" = unverified ] || fail "the next message trusted bob's certificate again ($trust)"
echo "ok: bob's next message is not pass and trusts nothing"
echo PASS
