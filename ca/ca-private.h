/* SPDX-License-Identifier: BSD-2-Clause */
/* Internals of the CA library: the loaded CA and the X.509 building
 * blocks (ca-x509.c) that ca.c, ca-issue.c and ca-crl.c share. */
#ifndef SMX_CA_PRIVATE_H
#define SMX_CA_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <smx/ca.h>
#include <smx/store.h>
#include <smx/x509.h>

/* Issued certificates start this long before "now" (clock skew). */
#define CA_BACKDATE 300

struct ca {
	struct store *store;		/* borrowed */
	X509 *cert;
	EVP_PKEY *key;			/* NULL without a usable master key */
	unsigned char *der;
	size_t der_len;
	char fingerprint[65];
	char *subject;			/* RFC 2253, as the store writes issuers */
	int64_t not_after;
	/* settings copied from the configuration */
	enum ca_key_type key_type;
	unsigned cert_lifetime, renew_before, crl_validity;
	char *crl_url;
	bool separate;
	char **domains;
	size_t n_domains;
};

/* A fresh private key of key_type; NULL (logged) when it fails. */
EVP_PKEY *ca_keygen(enum ca_key_type key_type);

/* The X509_NAME of an RFC 4514 string ("CN=x,O=y": the last RDN comes
 * first in the DER). NULL (logged) when it does not parse. */
X509_NAME *ca_name_parse(const char *dn);

/* The signature digest for a signer's key: SHA-384 for P-384, else
 * SHA-256. */
const EVP_MD *ca_digest_for(const EVP_PKEY *signer);

/* Sets a random positive 159-bit serial. Returns 0 or -1. */
int ca_set_serial(X509 *x);

/* Sets notBefore/notAfter from seconds since the epoch. 0 or -1. */
int ca_set_validity(X509 *x, int64_t from, int64_t to);

/* Adds an extension given in OpenSSL's configuration syntax; value is
 * always a constant of this library, never input. 0 or -1. */
int ca_add_ext(X509 *x, X509 *issuer, int nid, const char *value);

/* Stores a certificate the CA made or imported: pinned, its key sealed,
 * a trust anchor, then recorded as the CA. On failure takes back what it
 * added. */
enum smx_status ca_store_new(struct store *store, const unsigned char *der,
			     size_t len, const unsigned char *pkcs8,
			     size_t key_len, enum store_source source,
			     char *fingerprint_r);

/* Logs the OpenSSL error queue's last reason with what, and clears it. */
void ca_log_ossl(const char *what);

#endif
