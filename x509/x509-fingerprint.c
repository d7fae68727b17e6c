/* SPDX-License-Identifier: BSD-2-Clause */
/* SHA-256 fingerprints of certificates: see smx/x509.h. */
#include <smx/x509.h>

#include <openssl/err.h>

static void hex_of(const unsigned char md[SMX_X509_FP_LEN],
		   char out[SMX_X509_FP_HEX])
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < SMX_X509_FP_LEN; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[2 * SMX_X509_FP_LEN] = '\0';
}

bool smx_x509_der_fingerprint(const unsigned char *der, size_t len,
			      char out[SMX_X509_FP_HEX])
{
	unsigned char md[SMX_X509_FP_LEN];
	unsigned n = 0;
	out[0] = '\0';
	if (der == NULL ||
	    EVP_Digest(der, len, md, &n, EVP_sha256(), NULL) != 1 ||
	    n != SMX_X509_FP_LEN) {
		ERR_clear_error();
		return false;
	}
	hex_of(md, out);
	return true;
}

bool smx_x509_fingerprint_raw(X509 *x, unsigned char md[SMX_X509_FP_LEN])
{
	unsigned char full[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	if (x == NULL || X509_digest(x, EVP_sha256(), full, &n) != 1 ||
	    n != SMX_X509_FP_LEN) {
		ERR_clear_error();
		return false;
	}
	for (size_t i = 0; i < SMX_X509_FP_LEN; i++)
		md[i] = full[i];
	return true;
}

bool smx_x509_fingerprint(X509 *x, char out[SMX_X509_FP_HEX])
{
	unsigned char md[SMX_X509_FP_LEN];
	out[0] = '\0';
	if (!smx_x509_fingerprint_raw(x, md))
		return false;
	hex_of(md, out);
	return true;
}
