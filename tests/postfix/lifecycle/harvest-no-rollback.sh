#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# No rollback to an older certificate, through a real Postfix: bob signs
# with C1, then with C2 (newer); alice's mail is encrypted to C2. A
# replay of bob's C1 message (whole, or only its signed part under other
# headers) changes nothing but when C1 was last seen: alice's next mail
# is still encrypted to C2, not C1.
. "$SMX_SOURCE_DIR/tests/postfix/lifecycle/setup.sh"

signed_by c1 first
signed_by c2 second
inbound first >/dev/null
inbound second >/dev/null
f=$(outbound before)
encrypted_to "$f" c2 || fail "before the replay, not encrypted to C2"
echo "ok: after C1 then C2, alice encrypts to C2"

# the replay: the same message again, and its signed part under new headers
inbound first >/dev/null
{
  printf 'From: Bob <bob@partner.example>\r\nTo: <alice@example.com>\r\nSubject: again\r\nMessage-ID: <replay@elsewhere.example>\r\n'
  tr -d '\r' < "$msgs/first.smime" | sed 's/$/\r/'
} > "$msgs/rewrapped.eml"
python3 "$MSGTOOL" wire "$msgs/rewrapped.eml" "$msgs/rewrapped.wire"
inbound rewrapped >/dev/null
grep -q "not preferred (a newer certificate is in use)" "$PF_MILTER_LOG" ||
  fail "the harvest log does not say the replayed certificate stayed unpreferred"
f=$(outbound after)
if encrypted_to "$f" c1; then
  fail "a replay of C1's message made alice encrypt to the older C1"
fi
encrypted_to "$f" c2 || fail "after the replay, not encrypted to C2"
echo "ok: after the replay, alice still encrypts to C2 only"
echo PASS
