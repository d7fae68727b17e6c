/* SPDX-License-Identifier: BSD-2-Clause */
/* OpenSSL views of the store for smimectl: certificates as X509 objects,
 * chains for export, and chain verification for import. */
#ifndef SMX_CTL_X509UTIL_H
#define SMX_CTL_X509UTIL_H

#include <stddef.h>

#include <openssl/x509.h>

#include <smx/store.h>

struct cfg_verify;

/* X509 from DER (NULL when it does not parse). */
X509 *x509_from_der(const unsigned char *der, size_t len);

/* DER of x into a malloc'd buffer; returns its length or 0. */
size_t x509_to_der(X509 *x, unsigned char **der_r);

/* Every trust anchor (anchors true) or every stored certificate as X509
 * objects; NULL when the store does not answer. */
STACK_OF(X509) *x509_from_store(struct store *store, bool anchors);

/* The issuers of leaf up to a self-signed one, found in pool (stored
 * certificates and anchors). Always returns a stack (maybe empty). */
STACK_OF(X509) *x509_chain_for(X509 *leaf, STACK_OF(X509) *pool);

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

/* Frees a stack and its certificates; sets *sk NULL. */
void x509_stack_free(STACK_OF(X509) **sk);

#endif
