/* SPDX-License-Identifier: BSD-2-Clause */
/* A signing identity (key, certificates, options) and the CMS SignedData
 * it produces: signed attributes, certificate set, the trial signature. */
#include "smime-private.h"
#include "signer.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pkcs7.h>

#include <smx/x509.h>

/* What the gateway can decrypt, strongest first (RFC 8551 2.7, RFC 5084):
 * the SMIMECapabilities every signature carries. */
static const int capability_nids[] = {
	NID_aes_256_gcm, NID_aes_128_gcm,
	NID_aes_256_cbc, NID_aes_192_cbc, NID_aes_128_cbc,
};

static void subject_of(X509 *cert, char *buf, size_t size)
{
	X509_NAME_oneline(X509_get_subject_name(cert), buf, (int)size);
}

static bool is_eddsa(EVP_PKEY *key)
{
	int id = EVP_PKEY_get_base_id(key);
	return id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448;
}

/* The key types RFC 8551 and the issue ask for; everything else is a
 * permanent failure with a reason. */
static enum smx_status check_key(EVP_PKEY *key, X509 *cert,
				 struct smx_error *err)
{
	char subj[160];
	subject_of(cert, subj, sizeof(subj));
	if (!smx_x509_key_matches(cert, key)) {
		smx_error_set(err, "the private key does not belong to the "
			      "certificate %s", subj);
		return SMX_PERMFAIL;
	}
	int id = EVP_PKEY_get_base_id(key);
	if (id == EVP_PKEY_RSA) {
		if (EVP_PKEY_get_bits(key) >= 2048)
			return SMX_OK;
		smx_error_set(err, "the RSA key of %s has %d bits; at least "
			      "2048 are needed", subj, EVP_PKEY_get_bits(key));
		return SMX_PERMFAIL;
	}
	if (id == EVP_PKEY_EC) {
		char group[64] = "";
		size_t len = 0;
		EVP_PKEY_get_group_name(key, group, sizeof(group), &len);
		if (strcmp(group, "prime256v1") == 0 ||
		    strcmp(group, "secp384r1") == 0 ||
		    strcmp(group, "secp521r1") == 0)
			return SMX_OK;
		smx_error_set(err, "the EC key of %s is on curve %s; P-256, "
			      "P-384 or P-521 is needed", subj,
			      group[0] ? group : "(unknown)");
		return SMX_PERMFAIL;
	}
	if (is_eddsa(key))
		return SMX_OK;	/* the trial signature decides */
	smx_error_set(err, "the key of %s has type %s, which cannot sign "
		      "S/MIME here (RSA or ECDSA needed)", subj,
		      OBJ_nid2sn(id));
	return SMX_PERMFAIL;
}

static void choose_digest(struct smime_signer *s, enum smime_digest digest)
{
	/* RFC 8419: Ed25519 signs with SHA-512 in CMS. */
	if (is_eddsa(s->key))
		digest = SMIME_DIGEST_SHA512;
	switch (digest) {
	case SMIME_DIGEST_SHA384:
		s->md = EVP_sha384();
		s->micalg = "sha-384";
		break;
	case SMIME_DIGEST_SHA512:
		s->md = EVP_sha512();
		s->micalg = "sha-512";
		break;
	case SMIME_DIGEST_SHA256:
	default:
		s->md = EVP_sha256();
		s->micalg = "sha-256";
		break;
	}
}

static bool in_list(STACK_OF(X509) *list, X509 *x)
{
	for (int i = 0; i < sk_X509_num(list); i++)
		if (X509_cmp(sk_X509_value(list, i), x) == 0)
			return true;
	return false;
}

/* The certificates to send besides the signer's: the encryption
 * certificate first (RFC 8551 2.5.3: receivers need it), then the chain,
 * each once. */
static int collect_certs(struct smime_signer *s, STACK_OF(X509) *chain)
{
	s->certs = sk_X509_new_null();
	if (s->certs == NULL)
		return -1;
	if (s->enc_cert != NULL && !sk_X509_push(s->certs, s->enc_cert))
		return -1;
	if (s->enc_cert != NULL)
		X509_up_ref(s->enc_cert);
	for (int i = 0; i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);
		if (X509_cmp(x, s->cert) == 0 || in_list(s->certs, x))
			continue;
		if (!sk_X509_push(s->certs, x))
			return -1;
		X509_up_ref(x);
	}
	return 0;
}

static int add_capabilities(CMS_SignerInfo *si)
{
	STACK_OF(X509_ALGOR) *caps = sk_X509_ALGOR_new_null();
	int ok = caps != NULL;
	size_t n = sizeof(capability_nids) / sizeof(capability_nids[0]);
	for (size_t i = 0; ok && i < n; i++)
		ok = PKCS7_simple_smimecap(caps, capability_nids[i], 0);
	ok = ok && CMS_add_smimecap(si, caps);
	sk_X509_ALGOR_pop_free(caps, X509_ALGOR_free);
	return ok ? 0 : -1;
}

/* SMIMEEncryptionKeyPreference (RFC 8551 2.5.3), the issuerAndSerialNumber
 * choice: [0] IMPLICIT IssuerAndSerialNumber, so the SEQUENCE tag becomes
 * A0 around the issuer name and serial. OpenSSL has no type for the
 * attribute, so the DER is built here and added as a whole. */
static int add_key_preference(CMS_SignerInfo *si, X509 *enc)
{
	unsigned char *name = NULL, *serial = NULL, *der = NULL;
	int nlen = i2d_X509_NAME(X509_get_issuer_name(enc), &name);
	int slen = i2d_ASN1_INTEGER(X509_get0_serialNumber(enc), &serial);
	int rc = -1;
	if (nlen <= 0 || slen <= 0 || nlen + slen > 0xffff)
		goto out;
	size_t content = (size_t)nlen + (size_t)slen, hdr = 0;
	der = malloc(content + 4);
	if (der == NULL)
		goto out;
	der[hdr++] = 0xa0;
	if (content >= 0x100) {
		der[hdr++] = 0x82;
		der[hdr++] = (unsigned char)(content >> 8);
	} else if (content >= 0x80) {
		der[hdr++] = 0x81;
	}
	der[hdr++] = (unsigned char)(content & 0xff);
	memcpy(der + hdr, name, (size_t)nlen);
	memcpy(der + hdr + nlen, serial, (size_t)slen);
	/* V_ASN1_SEQUENCE: OpenSSL writes the bytes as the complete
	 * encoding, tag included (as it does for receipt requests). */
	if (CMS_signed_add1_attr_by_NID(si, NID_id_smime_aa_encrypKeyPref,
					V_ASN1_SEQUENCE, der,
					(int)(hdr + content)))
		rc = 0;
out:
	OPENSSL_free(name);
	OPENSSL_free(serial);
	free(der);
	return rc;
}

CMS_ContentInfo *signer_cms_new(const struct smime_signer *s, bool detached,
				struct smx_error *err)
{
	unsigned flags = CMS_BINARY | CMS_PARTIAL |
		(detached ? CMS_DETACHED : CMS_STREAM);
	CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
	CMS_SignerInfo *si = NULL;
	if (cms != NULL)
		si = CMS_add1_signer(cms, s->cert, s->key, s->md,
				     CMS_BINARY | CMS_NOSMIMECAP);
	if (si == NULL || add_capabilities(si) != 0 ||
	    (s->enc_cert != NULL && add_key_preference(si, s->enc_cert) != 0))
		goto fail;
	for (int i = 0; i < sk_X509_num(s->certs); i++)
		if (!CMS_add1_cert(cms, sk_X509_value(s->certs, i)))
			goto fail;
	return cms;
fail:
	smime_err_ssl(err, "cannot prepare the CMS signature");
	CMS_ContentInfo_free(cms);
	return NULL;
}

/* Signs a few bytes once: a key type the OpenSSL in use cannot sign CMS
 * with fails here, at set-up, rather than on a message. */
static enum smx_status trial_signature(struct smime_signer *s,
				       struct smx_error *err)
{
	static const char probe[] = "Content-Type: text/plain\r\n\r\nprobe\r\n";
	BIO *in = BIO_new_mem_buf(probe, (int)sizeof(probe) - 1);
	CMS_ContentInfo *cms = signer_cms_new(s, true, err);
	enum smx_status st = SMX_OK;
	if (in == NULL || cms == NULL || !CMS_final(cms, in, NULL,
						    CMS_BINARY)) {
		char subj[160];
		subject_of(s->cert, subj, sizeof(subj));
		st = SMX_PERMFAIL;
		if (is_eddsa(s->key))
			smime_err_ssl(err, "%s cannot produce CMS signatures "
				      "with %s keys (RFC 8419), as needed for "
				      "%s; sign with an RSA or ECDSA key",
				      OpenSSL_version(OPENSSL_VERSION),
				      OBJ_nid2sn(EVP_PKEY_get_base_id(s->key)),
				      subj);
		else
			smime_err_ssl(err, "trial signature with the key of "
				      "%s failed", subj);
	}
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	return st;
}

static enum smx_status signer_setup(struct smime_signer *s, EVP_PKEY *key,
				    X509 *cert, STACK_OF(X509) *chain,
				    X509 *enc_cert,
				    const struct smime_sign_options *opts,
				    struct smx_error *err)
{
	EVP_PKEY_up_ref(key);
	s->key = key;
	X509_up_ref(cert);
	s->cert = cert;
	if (enc_cert != NULL && X509_cmp(enc_cert, cert) != 0) {
		X509_up_ref(enc_cert);
		s->enc_cert = enc_cert;
	}
	s->format = opts->format;
	s->threshold = opts->mem_threshold ? opts->mem_threshold :
		SMIME_DEFAULT_THRESHOLD;
	s->dir = strdup(opts->spool_dir != NULL ? opts->spool_dir : "/tmp");
	if (s->dir == NULL || collect_certs(s, chain) != 0) {
		smx_error_set(err, "out of memory");
		return SMX_TEMPFAIL;
	}
	choose_digest(s, opts->digest);
	return trial_signature(s, err);
}

enum smx_status smime_signer_new(EVP_PKEY *key, X509 *cert,
				 STACK_OF(X509) *chain, X509 *enc_cert,
				 const struct smime_sign_options *opts,
				 struct smime_signer **signer_r,
				 struct smx_error *err)
{
	static const struct smime_sign_options defaults;
	*signer_r = NULL;
	smx_error_set(err, "%s", "");
	smime_init();
	if (key == NULL || cert == NULL) {
		smx_error_set(err, "no key or no certificate to sign with");
		return SMX_PERMFAIL;
	}
	enum smx_status st = check_key(key, cert, err);
	if (st != SMX_OK)
		return st;
	struct smime_signer *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		smx_error_set(err, "out of memory");
		return SMX_TEMPFAIL;
	}
	st = signer_setup(s, key, cert, chain, enc_cert,
			  opts != NULL ? opts : &defaults, err);
	if (st != SMX_OK)
		smime_signer_free(&s);
	*signer_r = s;
	return st;
}

const char *smime_signer_micalg(const struct smime_signer *signer)
{
	return signer->micalg;
}

void smime_signer_free(struct smime_signer **signer)
{
	if (signer == NULL || *signer == NULL)
		return;
	struct smime_signer *s = *signer;
	EVP_PKEY_free(s->key);
	X509_free(s->cert);
	X509_free(s->enc_cert);
	sk_X509_pop_free(s->certs, X509_free);
	free(s->dir);
	free(s);
	*signer = NULL;
}
