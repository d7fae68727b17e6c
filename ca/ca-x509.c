/* SPDX-License-Identifier: BSD-2-Clause */
/* X.509 building blocks of the CA: keys, names, serials, validity,
 * extensions and encodings, all by OpenSSL. Values that come from users
 * (addresses, URLs) are never passed through OpenSSL's configuration
 * syntax: the callers build those extensions from structures. */
#include "ca-private.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <smx/log.h>

void ca_log_ossl(const char *what)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	smx_log(LOG_ERR, "ca: %s: %s", what, r ? r : "OpenSSL error");
	ERR_clear_error();
}

/* Indexed by enum ca_key_type. */
static const struct {
	const char *name;
	unsigned bits;		/* RSA */
	const char *curve;	/* EC */
} key_types[] = {
	[CA_KEY_RSA_2048] = { "rsa-2048", 2048, NULL },
	[CA_KEY_RSA_3072] = { "rsa-3072", 3072, NULL },
	[CA_KEY_RSA_4096] = { "rsa-4096", 4096, NULL },
	[CA_KEY_EC_P256] = { "ec-p256", 0, "P-256" },
	[CA_KEY_EC_P384] = { "ec-p384", 0, "P-384" },
};
#define N_KEY_TYPES (sizeof(key_types) / sizeof(key_types[0]))

bool ca_key_type_parse(const char *name, enum ca_key_type *type_r)
{
	for (size_t i = 0; name != NULL && i < N_KEY_TYPES; i++)
		if (strcmp(key_types[i].name, name) == 0) {
			*type_r = (enum ca_key_type)i;
			return true;
		}
	return false;
}

const char *ca_key_type_name(enum ca_key_type type)
{
	return (size_t)type < N_KEY_TYPES ? key_types[type].name : "?";
}

EVP_PKEY *ca_keygen(enum ca_key_type key_type)
{
	if ((size_t)key_type >= N_KEY_TYPES) {
		smx_log(LOG_ERR, "ca: unknown key type %d", (int)key_type);
		return NULL;
	}
	EVP_PKEY *key = key_types[key_type].curve != NULL
		? EVP_PKEY_Q_keygen(NULL, NULL, "EC", key_types[key_type].curve)
		: EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
				    (size_t)key_types[key_type].bits);
	if (key == NULL)
		ca_log_ossl(key_types[key_type].name);
	return key;
}

const EVP_MD *ca_digest_for(const EVP_PKEY *signer)
{
	char group[64] = "";
	if (EVP_PKEY_is_a(signer, "EC") &&
	    EVP_PKEY_get_utf8_string_param(signer, OSSL_PKEY_PARAM_GROUP_NAME,
					   group, sizeof(group), NULL) == 1 &&
	    (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0))
		return EVP_sha384();
	return EVP_sha256();
}

/* --- names ------------------------------------------------------------- */

/* Copies one RDN "TYPE=value" of the text starting at *p into type and
 * value (unescaping "\," and friends), advancing *p past its comma. */
static int next_rdn(const char **p, char *type, size_t tsize, char *value,
		    size_t vsize)
{
	const char *s = *p;
	size_t t = 0, v = 0;
	while (*s == ' ')
		s++;
	while (*s != '\0' && *s != '=' && t + 1 < tsize)
		type[t++] = *s++;
	while (t > 0 && type[t - 1] == ' ')
		t--;
	type[t] = '\0';
	if (*s != '=' || t == 0)
		return -1;
	s++;
	while (*s == ' ')
		s++;
	while (*s != '\0' && *s != ',' && v + 1 < vsize) {
		if (*s == '\\' && s[1] != '\0')
			s++;
		value[v++] = *s++;
	}
	while (v > 0 && value[v - 1] == ' ' && (v < 2 || value[v - 2] != '\\'))
		v--;
	value[v] = '\0';
	if (v == 0 || (*s != '\0' && *s != ','))
		return -1;
	*p = *s == ',' ? s + 1 : s;
	return 0;
}

X509_NAME *ca_name_parse(const char *dn)
{
	X509_NAME *name = X509_NAME_new();
	char type[64], value[256];
	const char *p = dn;
	if (name == NULL)
		return NULL;
	while (*p != '\0') {
		if (next_rdn(&p, type, sizeof(type), value, sizeof(value)) != 0)
			goto bad;
		/* RFC 4514 lists the most specific RDN first: prepend. */
		if (X509_NAME_add_entry_by_txt(name, type, MBSTRING_UTF8,
					       (const unsigned char *)value, -1,
					       0, 0) != 1)
			goto bad;
	}
	if (X509_NAME_entry_count(name) == 0)
		goto bad;
	return name;
bad:
	ERR_clear_error();
	smx_log(LOG_ERR, "ca: '%s' is not a distinguished name such as "
		"\"CN=Example CA,O=Example\" (near '%s')", dn, p);
	X509_NAME_free(name);
	return NULL;
}

/* --- serial, validity, extensions -------------------------------------- */

int ca_set_serial(X509 *x)
{
	BIGNUM *bn = BN_new();
	int rc = -1;
	/* 159 bits, top bit set: positive, 20 octets, 158 random bits. */
	if (bn != NULL && BN_priv_rand(bn, 159, BN_RAND_TOP_ONE,
				       BN_RAND_BOTTOM_ANY) == 1) {
		ASN1_INTEGER *ai = BN_to_ASN1_INTEGER(bn, NULL);
		if (ai != NULL && X509_set_serialNumber(x, ai) == 1)
			rc = 0;
		ASN1_INTEGER_free(ai);
	}
	BN_free(bn);
	return rc;
}

int ca_set_validity(X509 *x, int64_t from, int64_t to)
{
	ASN1_TIME *a = ASN1_TIME_set(NULL, (time_t)from);
	ASN1_TIME *b = ASN1_TIME_set(NULL, (time_t)to);
	int rc = (a != NULL && b != NULL && X509_set1_notBefore(x, a) == 1 &&
		  X509_set1_notAfter(x, b) == 1) ? 0 : -1;
	ASN1_TIME_free(a);
	ASN1_TIME_free(b);
	return rc;
}

int ca_add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	int rc = (ext != NULL && X509_add_ext(x, ext, -1) == 1) ? 0 : -1;
	X509_EXTENSION_free(ext);
	if (rc != 0)
		ca_log_ossl(OBJ_nid2sn(nid));
	return rc;
}
