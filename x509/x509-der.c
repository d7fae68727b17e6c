/* SPDX-License-Identifier: BSD-2-Clause */
/* Certificates and private keys from and to DER: see smx/x509.h. */
#include <smx/x509.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

__attribute__((format(printf, 3, 4)))
static void say(char *why, size_t size, const char *fmt, ...)
{
	if (why == NULL || size == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
}

/* Whether der can be read at all: not empty, not over the bound (read
 * untouched). Clears why, or says why not. */
static bool sized(const unsigned char *der, size_t len, const char *what,
		  char *why, size_t size)
{
	say(why, size, "%s", "");
	if (der == NULL || len == 0)
		say(why, size, "empty %s", what);
	else if (len > SMX_X509_MAX_DER)
		say(why, size, "%s larger than 1 MiB", what);
	else
		return true;
	return false;
}

X509 *smx_x509_parse(const unsigned char *der, size_t len, char *why,
		     size_t size)
{
	if (!sized(der, len, "certificate", why, size))
		return NULL;
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	if (x == NULL) {
		ERR_clear_error();
		say(why, size, "not a DER %s", "certificate");
		return NULL;
	}
	if (p != der + len) {
		/* one certificate and something else: not a certificate */
		X509_free(x);
		say(why, size, "bytes after the %s", "certificate");
		return NULL;
	}
	return x;
}

/* Hands out OpenSSL's encoding tmp (len bytes, or len <= 0 on failure)
 * as a malloc'd copy in *der_r, so that callers free with free(); a
 * secret is cleared before it is freed. Returns the length or 0. */
static size_t hand_out(unsigned char *tmp, int len, bool secret,
		       unsigned char **der_r)
{
	*der_r = NULL;
	if (len > 0 && (*der_r = malloc((size_t)len)) != NULL)
		memcpy(*der_r, tmp, (size_t)len);
	if (secret && tmp != NULL)
		OPENSSL_clear_free(tmp, (size_t)len);
	else
		OPENSSL_free(tmp);
	ERR_clear_error();
	return *der_r != NULL ? (size_t)len : 0;
}

size_t smx_x509_to_der(X509 *x, unsigned char **der_r)
{
	unsigned char *tmp = NULL;
	int len = x != NULL ? i2d_X509(x, &tmp) : -1;
	return hand_out(tmp, len, false, der_r);
}

EVP_PKEY *smx_x509_key_parse(const unsigned char *der, size_t len,
			     char *why, size_t size)
{
	if (!sized(der, len, "private key", why, size))
		return NULL;
	const unsigned char *p = der;
	EVP_PKEY *key = d2i_AutoPrivateKey(NULL, &p, (long)len);
	if (key == NULL) {
		ERR_clear_error();
		say(why, size, "not a DER %s", "private key");
		return NULL;
	}
	if (p != der + len) {
		EVP_PKEY_free(key);
		say(why, size, "bytes after the %s", "private key");
		return NULL;
	}
	return key;
}

size_t smx_x509_key_to_der(EVP_PKEY *key, unsigned char **der_r)
{
	PKCS8_PRIV_KEY_INFO *p8 = key != NULL ? EVP_PKEY2PKCS8(key) : NULL;
	unsigned char *tmp = NULL;
	int len = p8 != NULL ? i2d_PKCS8_PRIV_KEY_INFO(p8, &tmp) : -1;
	PKCS8_PRIV_KEY_INFO_free(p8);
	return hand_out(tmp, len, true, der_r);
}

bool smx_x509_key_matches(X509 *x, EVP_PKEY *key)
{
	if (x == NULL || key == NULL)
		return false;
	bool match = X509_check_private_key(x, key) == 1;
	ERR_clear_error();
	return match;
}

void smx_x509_stack_free(STACK_OF(X509) **sk)
{
	if (sk == NULL || *sk == NULL)
		return;
	sk_X509_pop_free(*sk, X509_free);
	*sk = NULL;
}
