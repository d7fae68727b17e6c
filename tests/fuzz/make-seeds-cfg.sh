#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Writes the seed corpus of the configuration fuzzer into $1: the shipped
# example plus variants that reach each value parser and each error path.
set -eu
out=$1
src=$(dirname "$0")/../..
mkdir -p "$out"
cp "$src/contrib/smime-milter.conf" "$out/example.conf"
printf 'milter: { internal_domains = [ "example.com" ]; };\n' > "$out/minimal.conf"
printf 'milter: { internal_domains = "e.com"; trusted_networks = [ "10.0.0.0/8", "2001:db8::/32", "::ffff:0:0/96" ]; spool_threshold = "64K"; max_message_size = 1073741824; shutdown_timeout = "2m"; timeout = "1h"; };\n' > "$out/values.conf"
printf 'milter: { internal_domains = [ ".sub.e.com", "x..y" ]; socket = "inet6:99@::1"; authserv_id = "a b"; };\nstore: { backend = "postgresql"; };\n' > "$out/errors.conf"
printf 'milter: { internal_domains = [ "e.com" ]; };\nstore: { backend = "sqlite"; path = "rel"; busy_timeout = 99999999999; pool_size = -1; };\nkeys: { master_key_file = ""; };\npolicy: { x = 1; };\n' > "$out/store.conf"
printf 'milter: {\n  x = ;\n' > "$out/syntax.conf"
printf '@include "nonexistent.conf"\nmilter: { internal_domains = [ 1, 2.5, true ]; trusted_networks = ( "1.2.3.4/33", 5 ); };\n' > "$out/types.conf"
