/* SPDX-License-Identifier: BSD-2-Clause */
/* Parsing a certificate into the store's record: everything the store
 * keeps about a certificate is derived from its DER here, by OpenSSL. */
#include "store-private.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <smx/x509.h>

void store_cert_free(struct store_cert **cert)
{
	if (cert == NULL || *cert == NULL)
		return;
	struct store_cert *c = *cert;
	free(c->der);
	free(c->subject);
	free(c->issuer);
	free(c->serial);
	for (size_t i = 0; i < c->n_emails; i++)
		free(c->emails[i]);
	free(c->emails);
	free(c->smime_caps);
	free(c);
	*cert = NULL;
}

void store_cert_list_free(struct store_cert ***certs, size_t n)
{
	if (certs == NULL || *certs == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		store_cert_free(&(*certs)[i]);
	free(*certs);
	*certs = NULL;
}

static char *name_text(const X509_NAME *name)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *out = NULL;
	if (bio == NULL)
		return NULL;
	if (X509_NAME_print_ex(bio, name, 0,
			       XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		char *data;
		long len = BIO_get_mem_data(bio, &data);
		out = strndup(data != NULL ? data : "", (size_t)(len > 0 ? len : 0));
	}
	BIO_free(bio);
	return out;
}

static char *serial_text(const X509 *x)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	char *out = hex != NULL ? strdup(hex) : NULL;
	OPENSSL_free(hex);
	BN_free(bn);
	return out;
}

static int time_of(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

/* The addresses a certificate is for, the only ones it is ever filed and
 * selected under, by the one rule of smx_x509_mail_addresses: a
 * certificate naming one address in its SAN and another in its subject
 * is never filed under the second, and a name with a control or 8-bit
 * byte (which would carry escapes into logs) is no address. */
static int parse_emails(X509 *x, struct store_cert *c)
{
	char *list[SMX_X509_MAX_MAIL];
	int n = smx_x509_mail_addresses(x, list, SMX_X509_MAX_MAIL);
	if (n <= 0)
		return n;
	c->emails = calloc((size_t)n, sizeof(char *));
	if (c->emails == NULL) {
		smx_x509_mail_addresses_free(list, (size_t)n);
		return -1;
	}
	memcpy(c->emails, list, (size_t)n * sizeof(char *));
	c->n_emails = (size_t)n;
	return 0;
}

bool store_cert_has_email(const struct store_cert *cert, const char *email)
{
	for (size_t i = 0; email != NULL && i < cert->n_emails; i++)
		if (strcasecmp(cert->emails[i], email) == 0)
			return true;
	return false;
}

static unsigned map_key_usage(X509 *x)
{
	static const struct { uint32_t ossl; unsigned ours; } map[] = {
		{ KU_DIGITAL_SIGNATURE, STORE_KU_DIGITAL_SIGNATURE },
		{ KU_NON_REPUDIATION, STORE_KU_NON_REPUDIATION },
		{ KU_KEY_ENCIPHERMENT, STORE_KU_KEY_ENCIPHERMENT },
		{ KU_DATA_ENCIPHERMENT, STORE_KU_DATA_ENCIPHERMENT },
		{ KU_KEY_AGREEMENT, STORE_KU_KEY_AGREEMENT },
		{ KU_KEY_CERT_SIGN, STORE_KU_KEY_CERT_SIGN },
		{ KU_CRL_SIGN, STORE_KU_CRL_SIGN },
	};
	if ((X509_get_extension_flags(x) & EXFLAG_KUSAGE) == 0)
		return STORE_KU_ABSENT;
	uint32_t ku = X509_get_key_usage(x);
	unsigned out = 0;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (ku & map[i].ossl)
			out |= map[i].ours;
	return out;
}

static unsigned map_eku(X509 *x)
{
	if ((X509_get_extension_flags(x) & EXFLAG_XKUSAGE) == 0)
		return STORE_EKU_ABSENT;
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL,
						   NULL);
	unsigned out = 0;
	for (int i = 0; eku != NULL && i < sk_ASN1_OBJECT_num(eku); i++) {
		int nid = OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i));
		if (nid == NID_email_protect)
			out |= STORE_EKU_EMAIL;
		else if (nid == NID_anyExtendedKeyUsage)
			out |= STORE_EKU_ANY;
		else
			out |= STORE_EKU_OTHER;
	}
	EXTENDED_KEY_USAGE_free(eku);
	return out != 0 ? out : STORE_EKU_OTHER;
}

static void key_type_of(X509 *x, char *out, size_t size)
{
	EVP_PKEY *pk = X509_get0_pubkey(x);
	const char *name = "unknown";
	switch (pk != NULL ? EVP_PKEY_get_base_id(pk) : NID_undef) {
	case EVP_PKEY_RSA: name = "rsa"; break;
	case EVP_PKEY_RSA_PSS: name = "rsa-pss"; break;
	case EVP_PKEY_EC: name = "ec"; break;
	case EVP_PKEY_ED25519: name = "ed25519"; break;
	case EVP_PKEY_ED448: name = "ed448"; break;
	case EVP_PKEY_X25519: name = "x25519"; break;
	default: break;
	}
	snprintf(out, size, "%s", name);
}

static int fill_record(X509 *x, const unsigned char *der, size_t len,
		       struct store_cert *c)
{
	if (!smx_x509_der_fingerprint(der, len, c->fingerprint))
		return -1;
	c->der = malloc(len);
	c->subject = name_text(X509_get_subject_name(x));
	c->issuer = name_text(X509_get_issuer_name(x));
	c->serial = serial_text(x);
	if (c->der == NULL || c->subject == NULL || c->issuer == NULL ||
	    c->serial == NULL)
		return -1;
	memcpy(c->der, der, len);
	c->der_len = len;
	if (time_of(X509_get0_notBefore(x), &c->not_before) != 0 ||
	    time_of(X509_get0_notAfter(x), &c->not_after) != 0)
		return -1;
	if (parse_emails(x, c) != 0)
		return -1;
	c->key_usage = map_key_usage(x);
	c->eku = map_eku(x);
	c->is_ca = (X509_get_extension_flags(x) & EXFLAG_CA) != 0;
	key_type_of(x, c->key_type, sizeof(c->key_type));
	return 0;
}

enum smx_status store_cert_parse(const unsigned char *der, size_t len,
				 struct store_cert **cert_r)
{
	enum smx_status st = SMX_PERMFAIL;
	struct store_cert *c = NULL;
	*cert_r = NULL;
	if (len == 0 || len > SMX_X509_MAX_DER)
		goto fail;
	if ((*cert_r = store_parse_cache_get(der, len)) != NULL)
		return SMX_OK;
	X509 *x = smx_x509_parse(der, len, NULL, 0);
	if (x == NULL)
		goto fail;
	c = calloc(1, sizeof(*c));
	/* X509_get_extension_flags caches the parsed extensions; a
	 * certificate whose extensions do not parse is refused. */
	if (c != NULL && (X509_get_extension_flags(x) & EXFLAG_INVALID) == 0 &&
	    fill_record(x, der, len, c) == 0)
		st = SMX_OK;
	if (st == SMX_OK)
		store_parse_cache_put(c, x);
	X509_free(x);
	if (st != SMX_OK)
		goto fail;
	*cert_r = c;
	return SMX_OK;
fail:
	store_cert_free(&c);
	return st;
}

bool store_fingerprint_normalize(const char *in, char *out)
{
	size_t n = 0;
	for (const char *p = in; *p != '\0'; p++) {
		if (*p == ':' || *p == ' ')
			continue;
		if (!isxdigit((unsigned char)*p) || n >= 64)
			return false;
		out[n++] = (char)tolower((unsigned char)*p);
	}
	out[n] = '\0';
	return n == 64;
}

char *store_lower_dup(const char *s)
{
	char *out = strdup(s);
	for (char *p = out; p != NULL && *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return out;
}
