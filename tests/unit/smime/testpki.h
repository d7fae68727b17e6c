/* SPDX-License-Identifier: BSD-2-Clause */
/* Keys and certificates made at test time with OpenSSL: a root CA, an
 * intermediate CA, and end-entity certificates issued by the
 * intermediate. Nothing is read from or written to disk. */
#ifndef SMX_TEST_PKI_H
#define SMX_TEST_PKI_H

#include <openssl/evp.h>
#include <openssl/x509.h>

struct testpki {
	EVP_PKEY *root_key, *inter_key;
	X509 *root, *inter;
};

struct testid {
	EVP_PKEY *key;
	X509 *cert;
};

/* Key types for testpki_issue. */
enum testkey { TESTKEY_RSA2048, TESTKEY_RSA1024, TESTKEY_P256, TESTKEY_P384,
	       TESTKEY_ED25519 };

/* Makes the two CAs. Aborts the test program on failure. */
void testpki_init(struct testpki *pki);

/* Issues an S/MIME certificate for email with a fresh key of type t. */
void testpki_issue(const struct testpki *pki, enum testkey t,
		   const char *email, struct testid *id);

void testid_free(struct testid *id);
void testpki_free(struct testpki *pki);

/* A certificate store trusting only the root. Caller frees. */
X509_STORE *testpki_store(const struct testpki *pki);

#endif
