#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Ten smimectl processes issue for the same new address at once: exactly
# one certificate comes out, and every process reports that one.
#   ca-concurrency.sh sqlite|postgresql
. "$(dirname "$0")/ca-lib.sh"
need_cmd python3
ca_setup "$1" smx_ca_concurrency 'key_type = "rsa-2048";'
expect_rc 0 ctl ca init --key-type ec-p256

pids=()
for i in $(seq 1 10); do
  ctl --json ca issue carol@example.com >"$W/issue.$i.out" 2>"$W/issue.$i.err" &
  pids+=($!)
done
for i in $(seq 1 10); do
  wait "${pids[$((i - 1))]}" || { cat "$W/issue.$i.err" >&2; fail "issuer $i failed"; }
done
created=0
for i in $(seq 1 10); do
  [ "$(json 'd["created"]' < "$W/issue.$i.out")" = True ] && created=$((created + 1))
  json 'd["sign_fingerprint"]' < "$W/issue.$i.out" >> "$W/fps"
done
[ "$created" = 1 ] || fail "$created processes issued a certificate, want 1"
[ "$(sort -u "$W/fps" | wc -l)" = 1 ] || fail "processes report different certificates: $(sort -u "$W/fps")"
expect_rc 0 ctl --json list carol@example.com
[ "$(json 'len(d)' < "$W/out")" = 1 ] || fail "store holds $(json 'len(d)' < "$W/out") certificates for carol"
[ "$(json 'd[0]["fingerprint"]' < "$W/out")" = "$(sort -u "$W/fps")" ] || fail "stored certificate differs"
echo "ok: 10 concurrent issuers, 1 certificate ($1)"
