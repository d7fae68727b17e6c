#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# lookup_encrypt_certs against a real slapd: sets up (lookup-lib.sh) and
# runs the cmocka suite, which stops and restarts slapd itself.
#   lookup.sh TEST_PROGRAM
. "$SMX_SOURCE_DIR/tests/slapd/lookup/lookup-lib.sh"

prog=${1:?usage: lookup.sh TEST_PROGRAM}
lookup_setup
export SMX_CONF="$CONF" SMX_CERT_DIR="$C" SMX_SLAPD_DIR="$SLAPD_DIR" SMX_UNTRUSTED_DIR="$U"
export SMX_SLAPD_CTL="$SMX_SOURCE_DIR/tests/lib/slapd.sh"
"$prog" || fail "$(basename "$prog") failed (slapd log: $SLAPD_DIR/slapd.log)"
