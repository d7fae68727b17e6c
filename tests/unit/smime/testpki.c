/* SPDX-License-Identifier: BSD-2-Clause */
#include "testpki.h"

#include <stdio.h>
#include <stdlib.h>

#include <openssl/x509v3.h>

static void need(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "testpki: %s failed\n", what);
		abort();
	}
}

static EVP_PKEY *make_key(enum testkey t)
{
	EVP_PKEY *k = NULL;
	switch (t) {
	case TESTKEY_RSA2048: k = EVP_RSA_gen(2048); break;
	case TESTKEY_RSA1024: k = EVP_RSA_gen(1024); break;
	case TESTKEY_P256: k = EVP_EC_gen("P-256"); break;
	case TESTKEY_P384: k = EVP_EC_gen("P-384"); break;
	case TESTKEY_ED25519: k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	}
	need(k != NULL, "key generation");
	return k;
}

static void add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	need(ext != NULL && X509_add_ext(cert, ext, -1), "extension");
	X509_EXTENSION_free(ext);
}

static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer,
		       long serial)
{
	X509 *x = X509_new();
	need(x != NULL, "X509_new");
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509_set_pubkey(x, key);
	add_ext(x, issuer ? issuer : x, NID_subject_key_identifier, "hash");
	return x;
}

static void sign_cert(X509 *x, EVP_PKEY *key)
{
	need(X509_sign(x, key, EVP_sha256()) > 0, "X509_sign");
}

void testpki_init(struct testpki *pki)
{
	pki->root_key = make_key(TESTKEY_P256);
	pki->root = make_cert(pki->root_key, "Test Root CA", NULL, 1);
	add_ext(pki->root, pki->root, NID_basic_constraints, "critical,CA:TRUE");
	add_ext(pki->root, pki->root, NID_key_usage, "critical,keyCertSign,cRLSign");
	sign_cert(pki->root, pki->root_key);
	pki->inter_key = make_key(TESTKEY_P256);
	pki->inter = make_cert(pki->inter_key, "Test Intermediate CA",
			       pki->root, 2);
	add_ext(pki->inter, pki->root, NID_basic_constraints, "critical,CA:TRUE");
	add_ext(pki->inter, pki->root, NID_key_usage, "critical,keyCertSign,cRLSign");
	add_ext(pki->inter, pki->root, NID_authority_key_identifier, "keyid");
	sign_cert(pki->inter, pki->root_key);
}

void testpki_issue(const struct testpki *pki, enum testkey t,
		   const char *email, struct testid *id)
{
	static long serial = 100;
	char san[200];
	id->key = make_key(t);
	id->cert = make_cert(id->key, email, pki->inter, serial++);
	snprintf(san, sizeof(san), "email:%s", email);
	add_ext(id->cert, pki->inter, NID_basic_constraints, "CA:FALSE");
	add_ext(id->cert, pki->inter, NID_key_usage,
		"critical,digitalSignature,nonRepudiation,keyEncipherment");
	add_ext(id->cert, pki->inter, NID_ext_key_usage, "emailProtection");
	add_ext(id->cert, pki->inter, NID_subject_alt_name, san);
	add_ext(id->cert, pki->inter, NID_authority_key_identifier, "keyid");
	sign_cert(id->cert, pki->inter_key);
}

void testid_free(struct testid *id)
{
	EVP_PKEY_free(id->key);
	X509_free(id->cert);
	id->key = NULL;
	id->cert = NULL;
}

void testpki_free(struct testpki *pki)
{
	EVP_PKEY_free(pki->root_key);
	EVP_PKEY_free(pki->inter_key);
	X509_free(pki->root);
	X509_free(pki->inter);
}

X509_STORE *testpki_store(const struct testpki *pki)
{
	X509_STORE *st = X509_STORE_new();
	need(st != NULL && X509_STORE_add_cert(st, pki->root), "store");
	return st;
}
