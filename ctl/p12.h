/* SPDX-License-Identifier: BSD-2-Clause */
/* PKCS#12 files for smimectl import-p12 and export-p12. */
#ifndef SMX_CTL_P12_H
#define SMX_CTL_P12_H

#include <stdbool.h>

#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/x509.h>

struct p12_identity {
	EVP_PKEY *key;
	X509 *cert;
	STACK_OF(X509) *chain;	/* may be NULL */
};

/* Reads and decrypts path with pass. Prints the error naming path (a
 * wrong password is said so) and returns -1, or 0 with *id filled. */
int p12_read(const char *path, const char *pass, struct p12_identity *id);

/* Writes id to path: AES-256-CBC + PBKDF2 with an HMAC-SHA-256 MAC, or
 * with legacy the PBE-SHA1-3DES + SHA-1 MAC form that gpgsm 2.2 and old
 * Windows import. The file is written next to path under a temporary
 * name (mode 0600), synced, read back and decrypted, compared with id,
 * and only then linked to path; an existing path is never replaced.
 * Returns 0, or -1 after printing the error (nothing is left behind). */
int p12_write(const char *path, const char *pass, const char *friendly,
	      const struct p12_identity *id, bool legacy);

/* Frees the parts and zeroes id. */
void p12_identity_clear(struct p12_identity *id);

/* The OpenSSL providers PKCS#12 files need: default, and legacy for
 * RC2/RC4-encrypted files when it is installed. Load before reading or
 * writing, unload when done. */
struct p12_providers {
	OSSL_PROVIDER *def, *legacy;
};
void p12_load_providers(struct p12_providers *pv);
void p12_unload_providers(struct p12_providers *pv);

#endif
