/* SPDX-License-Identifier: BSD-2-Clause */
#include "certgen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

struct certgen_ca {
	EVP_PKEY *key;
	X509 *cert;
	unsigned char *der;
	size_t der_len;
};

static EVP_PKEY *new_key(bool rsa, int bits)
{
	if (rsa)
		return EVP_RSA_gen(bits > 0 ? (unsigned)bits : 2048);
	return EVP_EC_gen("P-256");
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return -1;
	int rc = X509_add_ext(cert, ext, -1) == 1 ? 0 : -1;
	X509_EXTENSION_free(ext);
	return rc;
}

static X509 *skeleton(EVP_PKEY *key, const char *cn, long serial,
		      long from_days, long to_days)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	if (x == NULL || name == NULL)
		goto fail;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), from_days * 86400L);
	X509_gmtime_adj(X509_getm_notAfter(x), to_days * 86400L);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
				   (const unsigned char *)"smime-milter tests",
				   -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_pubkey(x, key);
	X509_NAME_free(name);
	return x;
fail:
	X509_NAME_free(name);
	X509_free(x);
	return NULL;
}

static int to_der(X509 *x, unsigned char **der_r, size_t *len_r)
{
	unsigned char *der = NULL;
	int len = i2d_X509(x, &der);
	if (len <= 0)
		return -1;
	*der_r = malloc((size_t)len);
	if (*der_r == NULL) {
		OPENSSL_free(der);
		return -1;
	}
	memcpy(*der_r, der, (size_t)len);
	*len_r = (size_t)len;
	OPENSSL_free(der);
	return 0;
}

struct certgen_ca *certgen_ca_new(const char *cn)
{
	struct certgen_ca *ca = calloc(1, sizeof(*ca));
	if (ca == NULL || (ca->key = new_key(false, 0)) == NULL)
		goto fail;
	ca->cert = skeleton(ca->key, cn, 1, -1, 3650);
	if (ca->cert == NULL ||
	    X509_set_issuer_name(ca->cert, X509_get_subject_name(ca->cert)) != 1 ||
	    add_ext(ca->cert, ca->cert, NID_basic_constraints,
		    "critical,CA:TRUE") != 0 ||
	    add_ext(ca->cert, ca->cert, NID_key_usage,
		    "critical,keyCertSign,cRLSign") != 0 ||
	    add_ext(ca->cert, ca->cert, NID_subject_key_identifier, "hash") != 0 ||
	    X509_sign(ca->cert, ca->key, EVP_sha256()) <= 0 ||
	    to_der(ca->cert, &ca->der, &ca->der_len) != 0)
		goto fail;
	return ca;
fail:
	certgen_ca_free(&ca);
	return NULL;
}

void certgen_ca_free(struct certgen_ca **ca)
{
	if (ca == NULL || *ca == NULL)
		return;
	EVP_PKEY_free((*ca)->key);
	X509_free((*ca)->cert);
	free((*ca)->der);
	free(*ca);
	*ca = NULL;
}

const unsigned char *certgen_ca_der(const struct certgen_ca *ca, size_t *len_r)
{
	*len_r = ca->der_len;
	return ca->der;
}

static int add_ee_exts(X509 *x, X509 *issuer, const struct certgen_opts *o)
{
	char san[512];
	if (o->email2 != NULL)
		snprintf(san, sizeof(san), "email:%s,email:%s", o->email,
			 o->email2);
	else
		snprintf(san, sizeof(san), "email:%s", o->email);
	const char *ku = o->key_usage;
	if (ku != NULL && strcmp(ku, "default") == 0)
		ku = o->rsa ? "critical,digitalSignature,keyEncipherment"
			    : "critical,digitalSignature,keyAgreement";
	if (add_ext(x, issuer, NID_basic_constraints, "CA:FALSE") != 0 ||
	    (!o->no_san &&
	     add_ext(x, issuer, NID_subject_alt_name, san) != 0) ||
	    add_ext(x, issuer, NID_authority_key_identifier, "keyid") != 0)
		return -1;
	if (ku != NULL && add_ext(x, issuer, NID_key_usage, ku) != 0)
		return -1;
	if (o->eku != NULL && add_ext(x, issuer, NID_ext_key_usage, o->eku) != 0)
		return -1;
	return 0;
}

static int key_der(EVP_PKEY *key, unsigned char **key_r, size_t *len_r)
{
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(key);
	unsigned char *der = NULL;
	int len = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, &der) : -1;
	PKCS8_PRIV_KEY_INFO_free(p8);
	if (len <= 0)
		return -1;
	*key_r = malloc((size_t)len);
	if (*key_r != NULL)
		memcpy(*key_r, der, (size_t)len);
	*len_r = (size_t)len;
	OPENSSL_clear_free(der, (size_t)len);
	return *key_r ? 0 : -1;
}

int certgen_issue(struct certgen_ca *ca, const struct certgen_opts *o,
		  unsigned char **der_r, size_t *der_len_r,
		  unsigned char **key_r, size_t *key_len_r)
{
	int rc = -1;
	EVP_PKEY *key = new_key(o->rsa, o->rsa_bits);
	X509 *x = key ? skeleton(key, o->email, o->serial ? o->serial : 2,
				 o->from_days, o->to_days) : NULL;
	if (x == NULL ||
	    X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) != 1 ||
	    add_ee_exts(x, ca->cert, o) != 0 ||
	    (o->subject_email != NULL &&
	     (X509_NAME_add_entry_by_NID(X509_get_subject_name(x),
					 NID_pkcs9_emailAddress, MBSTRING_ASC,
					 (const unsigned char *)
						 o->subject_email,
					 -1, -1, 0) != 1)) ||
	    X509_sign(x, ca->key, EVP_sha256()) <= 0 ||
	    to_der(x, der_r, der_len_r) != 0)
		goto done;
	if (key_r != NULL && key_der(key, key_r, key_len_r) != 0) {
		free(*der_r);
		*der_r = NULL;
		goto done;
	}
	rc = 0;
done:
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

void certgen_fingerprint(const unsigned char *der, size_t len, char *out)
{
	unsigned char md[32];
	unsigned int n = 0;
	EVP_Digest(der, len, md, &n, EVP_sha256(), NULL);
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}
