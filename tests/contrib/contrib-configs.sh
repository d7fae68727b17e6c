#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The shipped example configuration and example policy are valid: what an
# administrator copies must pass `smime-milter -n` as it is.
. "$SMX_SOURCE_DIR/tests/lib/common.sh"
contrib="$SMX_SOURCE_DIR/contrib"
"$SMX_BIN_DIR/smime-milter" -n -c "$contrib/smime-milter.conf" || fail "contrib/smime-milter.conf is not valid"
cp "$contrib/smime-milter.conf" "$contrib/policy-example.conf" "$SMX_TEST_DIR/"
sed -i '/^policy: {/,/^};/d' "$SMX_TEST_DIR/smime-milter.conf"
echo '@include "policy-example.conf"' >> "$SMX_TEST_DIR/smime-milter.conf"
"$SMX_BIN_DIR/smime-milter" -n -c "$SMX_TEST_DIR/smime-milter.conf" || fail "contrib/policy-example.conf is not valid"
# contrib/postgresql: the store group for several MX hosts, in place of
# the example's store and keys groups.
cp "$contrib/smime-milter.conf" "$SMX_TEST_DIR/ha.conf"
sed -i -e '/^store: {/,/^};/d' -e '/^keys: {/,/^};/d' "$SMX_TEST_DIR/ha.conf"
cat "$contrib/postgresql/store-ha.conf" >> "$SMX_TEST_DIR/ha.conf"
"$SMX_BIN_DIR/smime-milter" -n -c "$SMX_TEST_DIR/ha.conf" || fail "contrib/postgresql/store-ha.conf is not valid"
bash "$SMX_SOURCE_DIR/tests/contrib/mta-snippets.sh" || exit 1
echo PASS
