/* SPDX-License-Identifier: BSD-2-Clause */
/* Recipients of an encrypted message: which certificates can be used,
 * which content encryption every one of them can read, and how the
 * content key reaches each (docs/smime-encrypt.md explains the choices).
 * Every RecipientInfo names its certificate by issuerAndSerialNumber:
 * gpgsm 2.2 finds no key from a subjectKeyIdentifier. */
#include "encrypt-private.h"
#include "smime-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include <smx/keyrule.h>

const char *smime_enc_content_name(enum smime_enc_content content)
{
	return content == SMIME_ENC_AUTH_ENVELOPED ? "authEnveloped-data" :
		"enveloped-data";
}

const char *smime_key_mgmt_name(enum smime_key_mgmt km)
{
	switch (km) {
	case SMIME_KM_RSA_OAEP:
		return "rsaes-oaep";
	case SMIME_KM_ECDH:
		return "ecdh";
	default:
		return "rsa-pkcs1v15";
	}
}

/* "recipient certificate CN=Bob,O=Example serial 1F" into buf. */
static void describe(X509 *cert, char *buf, size_t size)
{
	char subject[120] = "(no subject)", serial[72] = "?";
	BIO *mem = BIO_new(BIO_s_mem());
	if (mem != NULL && X509_NAME_print_ex(mem, X509_get_subject_name(cert),
					      0, XN_FLAG_RFC2253) >= 0) {
		int n = BIO_read(mem, subject, (int)sizeof(subject) - 1);
		subject[n > 0 ? n : 0] = '\0';
	}
	BIO_free(mem);
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	if (hex != NULL)
		snprintf(serial, sizeof(serial), "%s", hex);
	OPENSSL_free(hex);
	BN_free(bn);
	snprintf(buf, size, "recipient certificate %s serial %s", subject,
		 serial);
}

/* Checks the key of cert by the shared rule (smx/keyrule.h, which the
 * store's selection applies too); fills r->km (RSA: PKCS#1 for now) and
 * r->kdf_md. */
static enum smx_status check_key(X509 *cert, struct enc_rcpt *r,
				 struct smx_error *err)
{
	char who[256], why[160];
	EVP_PKEY *pk = X509_get0_pubkey(cert);
	if (!smx_keyrule_encryptable(pk, &r->kdf_md, why, sizeof(why))) {
		describe(cert, who, sizeof(who));
		smx_error_set(err, "%s: %s", who, why);
		return SMX_PERMFAIL;
	}
	r->km = EVP_PKEY_is_a(pk, "EC") ? SMIME_KM_ECDH : SMIME_KM_RSA_PKCS1;
	return SMX_OK;
}

enum smx_status smime_recipient_check(X509 *cert, struct smx_error *err)
{
	struct enc_rcpt r = { 0 };
	smx_error_set(err, "%s", "");
	if (cert == NULL) {
		smx_error_set(err, "no recipient certificate");
		return SMX_PERMFAIL;
	}
	return check_key(cert, &r, err);
}

static bool already_in(const struct enc_rcpt *r, size_t n, X509 *cert)
{
	for (size_t i = 0; i < n; i++)
		if (X509_cmp(r[i].cert, cert) == 0)
			return true;
	return false;
}

/* GCM when every certificate is known to read it and none is legacy;
 * OAEP where advertised unless legacy. */
static void choose(const struct smime_recipient *in, size_t n,
		   struct enc_rcpt *out, size_t n_out,
		   enum smime_enc_content *content_r)
{
	const unsigned gcm = SMIME_CAP_KNOWN | SMIME_CAP_AES256_GCM;
	const unsigned oaep = SMIME_CAP_KNOWN | SMIME_CAP_RSAES_OAEP;
	bool legacy = false, all_gcm = true;
	for (size_t i = 0; i < n; i++) {
		legacy = legacy || in[i].legacy_interop;
		all_gcm = all_gcm && (in[i].caps & gcm) == gcm;
	}
	*content_r = all_gcm && !legacy ? SMIME_ENC_AUTH_ENVELOPED :
		SMIME_ENC_ENVELOPED;
	for (size_t j = 0; j < n_out && !legacy; j++) {
		if (out[j].km != SMIME_KM_RSA_PKCS1)
			continue;
		/* the first entry given for this certificate decides */
		for (size_t i = 0; i < n; i++) {
			if (X509_cmp(in[i].cert, out[j].cert) != 0)
				continue;
			if ((in[i].caps & oaep) == oaep)
				out[j].km = SMIME_KM_RSA_OAEP;
			break;
		}
	}
}

enum smx_status enc_plan(const struct smime_recipient *in, size_t n,
			 struct enc_rcpt **rcpts_r, size_t *n_r,
			 enum smime_enc_content *content_r,
			 struct smx_error *err)
{
	struct enc_rcpt *r = NULL;
	size_t used = 0;
	enum smx_status st = SMX_PERMFAIL;
	if (n == 0 || n > SMIME_ENCRYPT_MAX_RECIPIENTS) {
		smx_error_set(err, "%zu recipient certificates (1 to %d "
			      "accepted)", n, SMIME_ENCRYPT_MAX_RECIPIENTS);
		goto fail;
	}
	r = calloc(n, sizeof(*r));
	if (r == NULL) {
		st = SMX_TEMPFAIL;
		smx_error_set(err, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		if (in[i].cert == NULL) {
			st = SMX_PERMFAIL;
			smx_error_set(err, "recipient %zu has no certificate",
				      i + 1);
			goto fail;
		}
		if (already_in(r, used, in[i].cert))
			continue;
		st = check_key(in[i].cert, &r[used], err);
		if (st != SMX_OK || X509_up_ref(in[i].cert) != 1)
			goto fail;
		r[used++].cert = in[i].cert;
	}
	choose(in, n, r, used, content_r);
	*rcpts_r = r;
	*n_r = used;
	return SMX_OK;
fail:
	if (st == SMX_OK)
		st = SMX_TEMPFAIL;
	enc_rcpts_free(&r, used);
	return st;
}

void enc_rcpts_free(struct enc_rcpt **rcpts, size_t n)
{
	if (rcpts == NULL || *rcpts == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		X509_free((*rcpts)[i].cert);
	free(*rcpts);
	*rcpts = NULL;
}

/* The parameters of one RecipientInfo: padding and digests for RSA, the
 * KDF digest for ECDH (the wrap follows the content cipher: AES-256). */
static int set_key_params(CMS_RecipientInfo *ri, const struct enc_rcpt *r)
{
	EVP_PKEY_CTX *pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);
	if (pctx == NULL)
		return -1;
	switch (r->km) {
	case SMIME_KM_RSA_OAEP:
		return EVP_PKEY_CTX_set_rsa_padding(pctx,
						    RSA_PKCS1_OAEP_PADDING) > 0 &&
			EVP_PKEY_CTX_set_rsa_oaep_md(pctx, EVP_sha256()) > 0 &&
			EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) > 0 ?
			0 : -1;
	case SMIME_KM_ECDH:
		return EVP_PKEY_CTX_set_ecdh_kdf_md(pctx, r->kdf_md) > 0 ?
			0 : -1;
	default:
		return EVP_PKEY_CTX_set_rsa_padding(pctx,
						    RSA_PKCS1_PADDING) > 0 ?
			0 : -1;
	}
}

CMS_ContentInfo *enc_cms_new(enum smime_enc_content content,
			     const struct enc_rcpt *rcpts, size_t n,
			     struct smx_error *err)
{
	CMS_ContentInfo *cms = content == SMIME_ENC_AUTH_ENVELOPED ?
		CMS_AuthEnvelopedData_create(EVP_aes_256_gcm()) :
		CMS_EnvelopedData_create(EVP_aes_256_cbc());
	if (cms == NULL) {
		smime_err_ssl(err, "cannot create the %s",
			      smime_enc_content_name(content));
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		CMS_RecipientInfo *ri = CMS_add1_recipient_cert(
			cms, rcpts[i].cert, CMS_KEY_PARAM);
		if (ri == NULL || set_key_params(ri, &rcpts[i]) != 0) {
			char who[256];
			describe(rcpts[i].cert, who, sizeof(who));
			smime_err_ssl(err, "%s: cannot add it (%s)", who,
				      smime_key_mgmt_name(rcpts[i].km));
			CMS_ContentInfo_free(cms);
			return NULL;
		}
	}
	return cms;
}
