/* SPDX-License-Identifier: BSD-2-Clause */
/* OpenSSL views of the store for smimectl: certificates as X509 objects
 * (chains for export: smx_x509_chain over them), and chain verification
 * for import. */
#ifndef SMX_CTL_X509UTIL_H
#define SMX_CTL_X509UTIL_H

#include <stddef.h>

#include <openssl/x509.h>

#include <smx/store.h>
#include <smx/x509.h>

struct cfg_verify;

/* Every trust anchor (anchors true) or every stored CA certificate (the
 * possible intermediates of a chain) as X509 objects; NULL when the store
 * does not answer. */
STACK_OF(X509) *x509_from_store(struct store *store, bool anchors);

/* Verifies leaf for email protection to the trust anchors of inbound
 * verification (verify: verify.ca_file and verify.extra_ca_file) and the
 * store's, with extra (may be NULL) and the stored certificates as
 * intermediates (lookup_verify_chain).
 * Returns STORE_TRUST_CHAIN or STORE_TRUST_NONE with the reason in why. */
enum store_trust x509_verify(struct store *store,
			     const struct cfg_verify *verify, X509 *leaf,
			     STACK_OF(X509) *extra, char *why, size_t size);

/* Warns (on stderr, naming file) about every subject emailAddress of x
 * that its SAN does not name: the store files a certificate under its
 * SAN rfc822Names only, so it is never used for such an address. */
void x509_warn_unfiled(const char *file, X509 *x);

#endif
