/* SPDX-License-Identifier: BSD-2-Clause */
/* Test certificates made with OpenSSL at test time: a CA and end-entity
 * certificates with chosen addresses, usages and validity. Nothing
 * generated is ever written to the source tree. */
#ifndef SMX_TEST_CERTGEN_H
#define SMX_TEST_CERTGEN_H

#include <stdbool.h>
#include <stddef.h>

struct certgen_ca;

/* A self-signed EC P-256 CA. Returns NULL on failure; free with
 * certgen_ca_free. */
struct certgen_ca *certgen_ca_new(const char *cn);
void certgen_ca_free(struct certgen_ca **ca);

/* DER of the CA certificate (owned by the CA). */
const unsigned char *certgen_ca_der(const struct certgen_ca *ca, size_t *len_r);

struct certgen_opts {
	const char *email;	/* SAN rfc822Name (may contain upper case) */
	const char *email2;	/* a second address, or NULL */
	bool rsa;		/* RSA-2048 instead of EC P-256 */
	int rsa_bits;		/* with rsa: the key size, 0 for 2048 */
	const char *subject_email;	/* a subject emailAddress, or NULL */
	bool no_san;		/* no subjectAltName (email is the CN only) */
	const char *key_usage;	/* "digitalSignature,keyEncipherment", or
				 * NULL for none; "default": by key type */
	const char *eku;	/* "emailProtection", or NULL for none */
	long from_days;		/* notBefore = now + from_days */
	long to_days;		/* notAfter = now + to_days */
	long serial;
};

/* An end-entity certificate issued by ca. *der_r and *key_r (PKCS#8
 * DER) are malloc'd and owned by the caller. Returns 0 or -1. */
int certgen_issue(struct certgen_ca *ca, const struct certgen_opts *opts,
		  unsigned char **der_r, size_t *der_len_r,
		  unsigned char **key_r, size_t *key_len_r);

/* The SHA-256 fingerprint of DER, lower-case hex (65 bytes), computed
 * independently of the store. */
void certgen_fingerprint(const unsigned char *der, size_t len, char *out);

#endif
