#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Trust follows the anchors, through a real Postfix: bob's certificate,
# harvested with a chain to the partner CA, is used to encrypt. Right
# after `smimectl trust remove` of that CA (no reload, no wait), alice's
# next mail to bob goes signed only, smimectl shows the certificate
# unverified, and bob's next signed message is not smime=pass and
# harvests nothing trusted.
. "$SMX_SOURCE_DIR/tests/integration-lifecycle/setup.sh"

signed_by c2 hello
f=$(inbound hello)
grep -q "smime=pass" "$f" || fail "bob's signature did not pass with the anchor"
f=$(outbound before)
encrypted_to "$f" c2 || fail "with the anchor, alice's mail is not encrypted to bob"
echo "ok: with the anchor, encrypted to bob"

ca_fp=$(ctl --json trust list | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["fingerprint"])')
ctl trust remove "$ca_fp" > "$msgs/remove.out" 2>&1 ||
  { cat "$msgs/remove.out" >&2; fail "trust remove failed"; }
grep -q "1 certificate(s) no longer trusted" "$msgs/remove.out" ||
  { cat "$msgs/remove.out" >&2; fail "trust remove did not demote bob's certificate"; }
trust=$(ctl --json list bob@partner.example |
  python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["trust"])')
[ "$trust" = unverified ] || fail "bob's certificate is still $trust"
echo "ok: smimectl shows bob's certificate unverified"

f=$(outbound after)
grep -qi "enveloped-data" "$f" && fail "alice's mail was encrypted with the anchor removed"
echo "ok: alice's next mail goes signed only"

signed_by c2 later
f=$(inbound later)
pf_unfolded_headers "$f" | grep -q "smime=pass" &&
  fail "bob's signature still passes with the anchor removed"
trust=$(ctl --json list bob@partner.example |
  python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["trust"])')
[ "$trust" = unverified ] || fail "the next message trusted bob's certificate again ($trust)"
echo "ok: bob's next message is not pass and trusts nothing"
echo PASS
