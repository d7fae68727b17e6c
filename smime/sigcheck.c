/* SPDX-License-Identifier: BSD-2-Clause */
/* Checking one CMS SignedData: the signature over the exact content, the
 * signer's chain to the anchors for S/MIME signing at the verification
 * time, its address against From; and what the harvest needs later (the
 * certificate set, SMIMECapabilities, SMIMEEncryptionKeyPreference).
 * The cost is bounded before any hashing or public-key operation: the
 * object size (by the caller), the number of certificates, CRLs, signer
 * infos and digest algorithms, and the message's work budget. */
#include "verify-private.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <smx/x509.h>

/* --- BIOs -------------------------------------------------------------------- */

static int gs_read(BIO *bio, char *buf, int len)
{
	GMimeStream *s = BIO_get_data(bio);
	if (len <= 0)
		return 0;
	ssize_t n = g_mime_stream_read(s, buf, (size_t)len);
	if (n < 0)
		return g_mime_stream_eos(s) ? 0 : -1;
	return (int)n;
}

static long gs_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
	(void)bio;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

struct sink {
	struct tmpstore *ts;
	size_t max, total;
	bool over;
};

static int sink_write(BIO *bio, const char *data, int len)
{
	struct sink *s = BIO_get_data(bio);
	if (len <= 0)
		return 0;
	s->total += (size_t)len;
	if (s->total > s->max) {
		s->over = true;
		return -1;
	}
	return tmpstore_write(s->ts, data, (size_t)len) == 0 ? len : -1;
}

static BIO_METHOD *gs_method, *sink_method;
static pthread_once_t methods_once = PTHREAD_ONCE_INIT;

static void make_methods(void)
{
	gs_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
				 "smime gmime source");
	if (gs_method != NULL) {
		BIO_meth_set_read(gs_method, gs_read);
		BIO_meth_set_ctrl(gs_method, gs_ctrl);
	}
	sink_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
				   "smime bounded sink");
	if (sink_method != NULL) {
		BIO_meth_set_write(sink_method, sink_write);
		BIO_meth_set_ctrl(sink_method, gs_ctrl);
	}
}

static BIO *bio_with(BIO_METHOD *meth, void *data)
{
	BIO *bio = meth != NULL ? BIO_new(meth) : NULL;
	if (bio != NULL) {
		BIO_set_data(bio, data);
		BIO_set_init(bio, 1);
	}
	return bio;
}

BIO *verify_bio_gstream(GMimeStream *stream)
{
	pthread_once(&methods_once, make_methods);
	return bio_with(gs_method, stream);
}

/* --- parsing ----------------------------------------------------------------- */

static CMS_ContentInfo *parse_cms(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	if (len > (size_t)0x7fffffff)
		return NULL;
	return d2i_CMS_ContentInfo(NULL, &p, (long)len);
}

int sigcheck_sniff(struct smime_verify *m, const unsigned char *der,
		   size_t len, bool *detached_r)
{
	struct cms_census c;
	unsigned max = m->v->max_certificates;
	*detached_r = false;
	/* too much to parse, or a SignedData the count cannot read: not
	 * parsed here (OpenSSL reads some the count does not), and
	 * sigcheck says which bound it passes or that it is unreadable */
	bool counted = cms_census(der, len, max, &c);
	if (c.signed_data &&
	    (!counted || c.n_digests > VERIFY_MAX_DIGESTS || c.n_certs > max ||
	     c.n_crls > max || c.n_signers > VERIFY_MAX_SIGNERS)) {
		*detached_r = c.detached;
		return NID_pkcs7_signed;
	}
	/* an envelope whose OriginatorInfo holds too much: no signature */
	if (c.enveloped && (!counted || c.n_certs > max || c.n_crls > max))
		return NID_pkcs7_enveloped;
	CMS_ContentInfo *cms = parse_cms(der, len);
	int nid = NID_undef;
	if (cms != NULL) {
		nid = OBJ_obj2nid(CMS_get0_type(cms));
		if (nid == NID_pkcs7_signed) {
			*detached_r = CMS_is_detached(cms) == 1;
			if (sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms)) <= 0)
				nid = NID_pkcs7_data;	/* certs-only */
		}
		if (nid == NID_undef)
			nid = NID_pkcs7_data;	/* CMS, unknown type */
	}
	CMS_ContentInfo_free(cms);
	ERR_clear_error();
	return nid;
}

/* --- what the SignedData asks for -------------------------------------------- */

/* True when a certificate of the set has an RSA or DSA key over
 * VERIFY_MAX_KEY_BITS: one operation with it costs what hundreds with an
 * ordinary key cost, and a signature may cause dozens (each signer, each
 * step of the chain). */
static bool huge_key_in(STACK_OF(X509) *certs)
{
	for (int i = 0; i < sk_X509_num(certs); i++) {
		EVP_PKEY *k = X509_get0_pubkey(sk_X509_value(certs, i));
		if (k != NULL && (EVP_PKEY_is_a(k, "RSA") ||
				  EVP_PKEY_is_a(k, "RSA-PSS") ||
				  EVP_PKEY_is_a(k, "DSA")) &&
		    EVP_PKEY_get_bits(k) > VERIFY_MAX_KEY_BITS)
			return true;
	}
	ERR_clear_error();
	return false;
}

/* The bounds on the signer infos, certificates, CRLs and digest
 * algorithms, before OpenSSL parses any of them. Returns false with rec
 * set when one is passed. */
static bool within_bounds(struct smime_verify *m, struct sigrec *rec,
			  const struct cms_census *c)
{
	unsigned max = m->v->max_certificates;
	if (c->n_digests > VERIFY_MAX_DIGESTS)
		sig_set(rec, SMIME_RESULT_PERMERROR, SMIME_REASON_LIMIT,
			"more than %u digest algorithms", VERIFY_MAX_DIGESTS);
	else if (c->digest_twice)
		sig_set(rec, SMIME_RESULT_PERMERROR, SMIME_REASON_LIMIT,
			"a digest algorithm listed twice");
	else if (c->n_certs > max || c->n_crls > max)
		sig_set(rec, SMIME_RESULT_PERMERROR, SMIME_REASON_LIMIT,
			"more than %u certificates or CRLs", max);
	else if (c->n_signers > VERIFY_MAX_SIGNERS || c->n_signers > max)
		sig_set(rec, SMIME_RESULT_PERMERROR, SMIME_REASON_LIMIT,
			"more than %u signers", c->n_signers > VERIFY_MAX_SIGNERS ?
			VERIFY_MAX_SIGNERS : max);
	else
		return true;
	return false;
}

/* --- the signature ----------------------------------------------------------- */

/* Sorts OpenSSL's error queue into a result. */
static void classify_failure(struct sigrec *rec)
{
	unsigned long e, first = 0;
	bool bad = false, nocert = false, unsup = false, mem = false;
	while ((e = ERR_get_error()) != 0) {
		int lib = ERR_GET_LIB(e), r = ERR_GET_REASON(e);
		if (first == 0)
			first = e;
		if (lib == ERR_LIB_CMS && (r == CMS_R_CONTENT_VERIFY_ERROR ||
					   r == CMS_R_VERIFICATION_FAILURE))
			bad = true;
		else if (lib == ERR_LIB_CMS &&
			 r == CMS_R_SIGNER_CERTIFICATE_NOT_FOUND)
			nocert = true;
		else if ((lib == ERR_LIB_CMS &&
			  (r == CMS_R_UNKNOWN_DIGEST_ALGORITHM ||
			   r == CMS_R_UNSUPPORTED_TYPE)) ||
			 r == ERR_R_UNSUPPORTED ||
			 (lib == ERR_LIB_EVP &&
			  (r == EVP_R_UNSUPPORTED_ALGORITHM ||
			   r == EVP_R_DECODE_ERROR)))
			unsup = true;
		else if (r == ERR_R_MALLOC_FAILURE)
			mem = true;
	}
	const char *why = first ? ERR_reason_error_string(first) : NULL;
	if (mem)
		sig_set(rec, SMIME_RESULT_TEMPERROR, SMIME_REASON_RESOURCE,
			"out of memory");
	else if (nocert)
		sig_set(rec, SMIME_RESULT_NEUTRAL, SMIME_REASON_NO_SIGNER_CERT,
			"signer certificate not in the message");
	else if (bad)
		sig_set(rec, SMIME_RESULT_FAIL, SMIME_REASON_BAD_SIGNATURE,
			"signature does not match the content");
	else if (unsup)
		sig_set(rec, SMIME_RESULT_NEUTRAL, SMIME_REASON_UNSUPPORTED,
			"unsupported algorithm");
	else
		sig_set(rec, SMIME_RESULT_PERMERROR, SMIME_REASON_MALFORMED,
			"signature not verifiable: %s", why ? why : "unknown");
}

/* The structural checks before any cryptography. Returns the CMS or
 * NULL with rec set. */
static CMS_ContentInfo *open_cms(struct smime_verify *m, struct sigrec *rec,
				 const unsigned char *der, size_t len,
				 bool detached, unsigned *n_digests_r)
{
	struct cms_census c;
	CMS_ContentInfo *cms = NULL;
	if (!cms_census(der, len, m->v->max_certificates, &c) ||
	    !c.signed_data) {
		sig_set(rec, SMIME_RESULT_PERMERROR, SMIME_REASON_MALFORMED,
			"not a CMS SignedData");
		return NULL;
	}
	if (!within_bounds(m, rec, &c))
		return NULL;
	cms = parse_cms(der, len);
	ERR_clear_error();
	if (cms == NULL || OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		sig_set(rec, SMIME_RESULT_PERMERROR, SMIME_REASON_MALFORMED,
			"not a CMS SignedData");
		goto fail;
	}
	rec->certs = CMS_get1_certs(cms);
	rec->crls = CMS_get1_crls(cms);
	ERR_clear_error();
	if (sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms)) <= 0) {
		sig_set(rec, SMIME_RESULT_PERMERROR, SMIME_REASON_MALFORMED,
			"SignedData without a signer");
	} else if (huge_key_in(rec->certs)) {
		sig_set(rec, SMIME_RESULT_PERMERROR, SMIME_REASON_LIMIT,
			"a key over %u bits", VERIFY_MAX_KEY_BITS);
	} else if (detached && CMS_is_detached(cms) != 1) {
		sig_set(rec, SMIME_RESULT_FAIL, SMIME_REASON_EMBEDDED_CONTENT,
			"detached signature carries content of its own");
	} else if (!detached && CMS_is_detached(cms) == 1) {
		sig_set(rec, SMIME_RESULT_PERMERROR, SMIME_REASON_MALFORMED,
			"signed-data without content");
	} else {
		*n_digests_r = c.n_digests;
		return cms;
	}
fail:
	CMS_ContentInfo_free(cms);
	return NULL;
}

/* Verifies the signature values only (no chain). Returns 1 valid, 0 not
 * (rec set), -1 resources. */
static int check_math(struct smime_verify *m, struct sigrec *rec,
		      CMS_ContentInfo *cms, struct tmpstore *content,
		      struct tmpstore **content_r)
{
	struct sink sk = { NULL, m->v->max_bytes, 0, false };
	BIO *in = NULL, *out = NULL;
	int rc = -1;
	pthread_once(&methods_once, make_methods);
	if (content != NULL && (tmpstore_rewind(content) != 0 ||
				(in = verify_bio_gstream(
					 tmpstore_stream(content))) == NULL))
		goto done;
	if (content_r != NULL) {
		sk.ts = tmpstore_new(m->v->threshold, m->v->dir);
		if (sk.ts == NULL || (out = bio_with(sink_method, &sk)) == NULL)
			goto done;
	}
	ERR_clear_error();
	if (CMS_verify(cms, NULL, NULL, in, out,
		       CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY) == 1) {
		rc = 1;
		if (content_r != NULL) {
			*content_r = sk.ts;
			sk.ts = NULL;
		}
	} else if (sk.over) {
		ERR_clear_error();
		sig_set(rec, SMIME_RESULT_PERMERROR, SMIME_REASON_LIMIT,
			"signed content over %zu bytes", m->v->max_bytes);
		rc = 0;
	} else {
		classify_failure(rec);
		rc = 0;
	}
done:
	BIO_free(in);
	BIO_free(out);
	tmpstore_free(&sk.ts);
	return rc;
}

/* --- the signer -------------------------------------------------------------- */

static char *issuer_text(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *text = NULL, *data;
	if (b == NULL)
		return NULL;
	if (X509_NAME_print_ex(b, X509_get_issuer_name(x), 0,
			       XN_FLAG_RFC2253) >= 0 &&
	    BIO_write(b, "", 1) == 1 && BIO_get_mem_data(b, &data) > 0)
		text = verify_clean_dup(data);
	BIO_free(b);
	return text;
}

static char *serial_text(X509 *x)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	char *text = hex != NULL ? verify_clean_dup(hex) : NULL;
	OPENSSL_free(hex);
	BN_free(bn);
	return text;
}

/* The signer certificate of the first signer and what it says. */
static X509 *find_signer(CMS_ContentInfo *cms, struct sigrec *rec)
{
	X509 *signer = NULL;
	CMS_set1_signers_certs(cms, NULL, 0);
	ERR_clear_error();
	CMS_SignerInfo *si = sk_CMS_SignerInfo_value(
		CMS_get0_SignerInfos(cms), 0);
	CMS_SignerInfo_get0_algs(si, NULL, &signer, NULL, NULL);
	if (signer == NULL)
		return NULL;
	X509_up_ref(signer);
	rec->signer = signer;
	(void)smx_x509_fingerprint(signer, rec->fingerprint);
	rec->serial = serial_text(signer);
	rec->issuer = issuer_text(signer);
	return signer;
}

/* The signer's addresses: the one equal to From, else the first. */
static void match_from(struct smime_verify *m, struct sigrec *rec)
{
	size_t n = 0;
	char **emails = cert_emails(rec->signer, &n);
	const char *pick = n > 0 ? emails[0] : NULL;
	for (size_t i = 0; i < n; i++)
		if (m->from != NULL && strcmp(emails[i], m->from) == 0) {
			pick = emails[i];
			rec->pub.from_match = true;
		}
	if (pick != NULL)
		rec->identifier = verify_clean_dup(pick);
	cert_emails_free(emails, n);
}

/* --- the chain ------------------------------------------------------------- */

/* Whether one of crls was issued by the issuer of a certificate above
 * depth in the path: the SignedData then speaks about the revocation of
 * the path from there down, and was meant to cover the certificate at
 * depth too. */
static bool crls_from_above(STACK_OF(X509_CRL) *crls, STACK_OF(X509) *path,
			    int depth)
{
	for (int i = 0; i < sk_X509_CRL_num(crls); i++) {
		X509_NAME *by = X509_CRL_get_issuer(sk_X509_CRL_value(crls, i));
		for (int j = depth + 1; j < sk_X509_num(path); j++)
			if (X509_NAME_cmp(by, X509_get_issuer_name(
						  sk_X509_value(path, j))) == 0)
				return true;
	}
	return false;
}

/* Revocation by the CRLs the SignedData carries (RFC 5652: they are
 * meant to tell whether its certificates are valid). A certificate of
 * the path without a CRL is not known to be revoked, and that alone
 * does not fail the path (the online status checks come after) unless
 * the SignedData carries a CRL from higher up the path: it is then taken
 * at its word, and a certificate below that none of its CRLs covers (a
 * CRL of the wrong issuer or scope, a delta without its base) has no
 * known status and fails, as RFC 5280 wants. The trust anchor is an
 * input of the validation, not a certificate of the path: no CRL is
 * asked of it. Every other error, and a CRL that is stale, badly signed
 * or lists the certificate, fails in any case. */
static int chain_callback(int ok, X509_STORE_CTX *ctx)
{
	STACK_OF(X509_CRL) *crls = X509_STORE_CTX_get_app_data(ctx);
	STACK_OF(X509) *path = X509_STORE_CTX_get0_chain(ctx);
	int depth = X509_STORE_CTX_get_error_depth(ctx);
	if (!ok && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_UNABLE_TO_GET_CRL &&
	    (depth == sk_X509_num(path) - 1 ||
	     !crls_from_above(crls, path, depth)))
		return 1;
	return ok;
}

/* RFC 5280 path validation: names, basic and name constraints, key
 * usage, policies with anyPolicy as the initial set (explicit-policy,
 * policy-mapping and anyPolicy inhibition as the certificates demand),
 * and revocation by the CRLs at hand, indirect and delta ones included. */
static int set_rfc5280(X509_STORE_CTX *ctx, time_t now)
{
	X509_VERIFY_PARAM *p = X509_STORE_CTX_get0_param(ctx);
	STACK_OF(ASN1_OBJECT) *initial = sk_ASN1_OBJECT_new_null();
	ASN1_OBJECT *any = OBJ_nid2obj(NID_any_policy);
	int ok = initial != NULL && any != NULL &&
		 sk_ASN1_OBJECT_push(initial, any) > 0 &&
		 X509_VERIFY_PARAM_set1_policies(p, initial) == 1 &&
		 X509_VERIFY_PARAM_set_flags(
			 p, X509_V_FLAG_POLICY_CHECK | X509_V_FLAG_CRL_CHECK |
			 X509_V_FLAG_CRL_CHECK_ALL |
			 X509_V_FLAG_EXTENDED_CRL_SUPPORT |
			 X509_V_FLAG_USE_DELTAS) == 1;
	sk_ASN1_OBJECT_free(initial);	/* set1 copied it; any is static */
	X509_VERIFY_PARAM_set_time(p, now);
	X509_VERIFY_PARAM_set_depth(p, 10);
	X509_STORE_CTX_set_verify_cb(ctx, chain_callback);
	return ok ? 0 : -1;
}

int sigcheck_chain(struct smime_verify *m, X509 *x, const struct sigrec *rec,
		   int purpose, STACK_OF(X509) **path_r)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int err = X509_V_ERR_OUT_OF_MEM;
	if (ctx == NULL || X509_STORE_CTX_init(ctx, m->v->anchors, x,
					       rec ? rec->certs : NULL) != 1 ||
	    set_rfc5280(ctx, m->now) != 0)
		goto done;
	X509_STORE_CTX_set_purpose(ctx, purpose);
	if (rec != NULL && rec->crls != NULL) {
		X509_STORE_CTX_set0_crls(ctx, rec->crls);
		X509_STORE_CTX_set_app_data(ctx, rec->crls);
	}
	err = X509_verify_cert(ctx) == 1 ? X509_V_OK :
		X509_STORE_CTX_get_error(ctx);
	if (err == X509_V_OK && path_r != NULL &&
	    (*path_r = X509_STORE_CTX_get1_chain(ctx)) == NULL)
		err = X509_V_ERR_OUT_OF_MEM;
done:
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return err;
}

bool sigcheck_untrusted_only(int err)
{
	return err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
	       err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
	       err == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE ||
	       err == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
	       err == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
	       err == X509_V_ERR_CERT_UNTRUSTED;
}

static void judge_chain(struct sigrec *rec, int err)
{
	rec->pub.chain_reason = err == X509_V_OK ? "ok" :
		X509_verify_cert_error_string(err);
	if (err == X509_V_OK) {
		rec->pub.chain_trusted = true;
		return;
	}
	rec->chain_untrusted_only = sigcheck_untrusted_only(err);
	if (rec->chain_untrusted_only)
		sig_set(rec, SMIME_RESULT_POLICY, SMIME_REASON_UNTRUSTED,
			"certificate chain not trusted");
	else if (err == X509_V_ERR_CERT_HAS_EXPIRED)
		sig_set(rec, SMIME_RESULT_POLICY, SMIME_REASON_EXPIRED,
			"certificate expired");
	else if (err == X509_V_ERR_CERT_NOT_YET_VALID)
		sig_set(rec, SMIME_RESULT_POLICY, SMIME_REASON_NOT_YET_VALID,
			"certificate not yet valid");
	else if (err == X509_V_ERR_EE_KEY_TOO_SMALL)
		sig_set(rec, SMIME_RESULT_POLICY, SMIME_REASON_CHAIN,
			"signer key too weak");
	else if (err == X509_V_ERR_INVALID_PURPOSE)
		sig_set(rec, SMIME_RESULT_POLICY, SMIME_REASON_USAGE,
			"certificate not for email signing");
	else if (err == X509_V_ERR_OUT_OF_MEM)
		sig_set(rec, SMIME_RESULT_TEMPERROR, SMIME_REASON_RESOURCE,
			"out of memory");
	else
		sig_set(rec, SMIME_RESULT_POLICY, SMIME_REASON_CHAIN,
			"certificate chain: %s",
			X509_verify_cert_error_string(err));
}

/* --- attributes for the harvest ---------------------------------------------- */

/* Reads a DER tag and length; returns the content or NULL. */
static const unsigned char *der_item(const unsigned char *p,
				     const unsigned char *end, int *tag_r,
				     size_t *len_r)
{
	if (end - p < 2)
		return NULL;
	*tag_r = p[0];
	size_t len = p[1];
	p += 2;
	if (len & 0x80) {
		size_t nb = len & 0x7f;
		if (nb == 0 || nb > 3 || (size_t)(end - p) < nb)
			return NULL;
		len = 0;
		while (nb-- > 0)
			len = (len << 8) | *p++;
	}
	if ((size_t)(end - p) < len)
		return NULL;
	*len_r = len;
	return p;
}

static bool same_ski(X509 *x, const unsigned char *id, size_t len)
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);
	return ski != NULL && (size_t)ASN1_STRING_length(ski) == len &&
	       memcmp(ASN1_STRING_get0_data(ski), id, len) == 0;
}

/* Finds the certificate an SMIMEEncryptionKeyPreference value names:
 * [0] issuerAndSerialNumber, [1] rKeyId (its subjectKeyIdentifier) or
 * [2] subjectAltKeyIdentifier. */
static X509 *pref_target(STACK_OF(X509) *certs, const unsigned char *der,
			 size_t len)
{
	int tag;
	size_t clen;
	const unsigned char *end = der + len;
	const unsigned char *c = der_item(der, end, &tag, &clen);
	X509_NAME *name = NULL;
	ASN1_INTEGER *serial = NULL;
	X509 *hit = NULL;
	if (c == NULL)
		return NULL;
	if (tag == 0xa0) {
		const unsigned char *q = c;
		name = d2i_X509_NAME(NULL, &q, (long)clen);
		if (name != NULL)
			serial = d2i_ASN1_INTEGER(NULL, &q,
						  (long)(c + clen - q));
	} else if (tag == 0xa1) {
		c = der_item(c, c + clen, &tag, &clen);
		if (c == NULL || tag != 0x04)
			return NULL;
	} else if (tag != 0x82) {
		return NULL;
	}
	for (int i = 0; i < sk_X509_num(certs) && hit == NULL; i++) {
		X509 *x = sk_X509_value(certs, i);
		if (name != NULL ?
			    serial != NULL &&
			    X509_NAME_cmp(name, X509_get_issuer_name(x)) == 0 &&
			    ASN1_INTEGER_cmp(serial,
					     X509_get0_serialNumber(x)) == 0 :
			    same_ski(x, c, clen))
			hit = x;
	}
	X509_NAME_free(name);
	ASN1_INTEGER_free(serial);
	ERR_clear_error();
	return hit;
}

/* The whole DER of a signed attribute's single value, or NULL. */
static const ASN1_STRING *attr_der(CMS_SignerInfo *si, int nid)
{
	int idx = CMS_signed_get_attr_by_NID(si, nid, -1);
	X509_ATTRIBUTE *a = idx >= 0 ? CMS_signed_get_attr(si, idx) : NULL;
	ASN1_TYPE *t = a != NULL ? X509_ATTRIBUTE_get0_type(a, 0) : NULL;
	if (t == NULL || (t->type != V_ASN1_SEQUENCE &&
			  t->type != V_ASN1_OTHER))
		return NULL;
	return t->value.asn1_string;
}

/* The signingTime attribute in Unix seconds, no later than now (a
 * signer's clock cannot make its capabilities outrank later ones); -1
 * when there is none. */
static int64_t signing_time(CMS_SignerInfo *si, time_t now)
{
	int idx = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1);
	X509_ATTRIBUTE *a = idx >= 0 ? CMS_signed_get_attr(si, idx) : NULL;
	ASN1_TYPE *t = a != NULL ? X509_ATTRIBUTE_get0_type(a, 0) : NULL;
	struct tm tm;
	if (t == NULL || (t->type != V_ASN1_UTCTIME &&
			  t->type != V_ASN1_GENERALIZEDTIME) ||
	    ASN1_TIME_to_tm(t->value.utctime, &tm) != 1)
		return -1;
	int64_t at = (int64_t)timegm(&tm);
	return at < 0 ? -1 : at > (int64_t)now ? (int64_t)now : at;
}

static int read_attributes(CMS_ContentInfo *cms, struct sigrec *rec,
			   time_t now)
{
	CMS_SignerInfo *si = sk_CMS_SignerInfo_value(
		CMS_get0_SignerInfos(cms), 0);
	const ASN1_STRING *caps = attr_der(si, NID_SMIMECapabilities);
	const ASN1_STRING *pref = attr_der(si, NID_id_smime_aa_encrypKeyPref);
	rec->signed_at = signing_time(si, now);
	if (caps != NULL && ASN1_STRING_length(caps) > 0 &&
	    ASN1_STRING_length(caps) <= 4096) {
		rec->caps_len = (size_t)ASN1_STRING_length(caps);
		rec->caps = malloc(rec->caps_len);
		if (rec->caps == NULL)
			return -1;
		memcpy(rec->caps, ASN1_STRING_get0_data(caps), rec->caps_len);
	}
	if (pref != NULL) {
		rec->pref_named = true;
		X509 *x = pref_target(rec->certs, ASN1_STRING_get0_data(pref),
				      (size_t)ASN1_STRING_length(pref));
		if (x != NULL && X509_up_ref(x) == 1)
			rec->pref = x;
	}
	return 0;
}

/* RSA and DSA signer keys under 1024 bits prove nothing. */
static bool weak_key(X509 *x)
{
	EVP_PKEY *k = X509_get0_pubkey(x);
	if (k == NULL)
		return true;
	if (EVP_PKEY_is_a(k, "RSA") || EVP_PKEY_is_a(k, "RSA-PSS") ||
	    EVP_PKEY_is_a(k, "DSA"))
		return EVP_PKEY_get_bits(k) < 1024;
	return false;
}

/* --- putting it together ----------------------------------------------------- */

/* The bytes OpenSSL will hash: the content once per digest algorithm. */
static size_t hashing_work(CMS_ContentInfo *cms, struct tmpstore *content,
			   unsigned n_digests)
{
	ASN1_OCTET_STRING **embedded = CMS_get0_content(cms);
	size_t len = content != NULL ? tmpstore_size(content) :
		embedded != NULL && *embedded != NULL ?
		(size_t)ASN1_STRING_length(*embedded) : 0;
	return len * n_digests;
}

int sigcheck(struct smime_verify *m, struct sigrec *rec,
	     const unsigned char *der, size_t der_len,
	     struct tmpstore *content, struct tmpstore **content_r)
{
	unsigned n_digests = 0;
	CMS_ContentInfo *cms = open_cms(m, rec, der, der_len,
					content != NULL, &n_digests);
	int rc = 0;
	if (cms == NULL)
		return 0;
	if (!verify_charge(m, hashing_work(cms, content, n_digests))) {
		verify_over_budget(rec);
		goto done;
	}
	X509 *signer = find_signer(cms, rec);
	if ((rec->serial == NULL || rec->issuer == NULL) && signer != NULL) {
		rc = -1;
		goto done;
	}
	if (signer != NULL)
		match_from(m, rec);
	int math = check_math(m, rec, cms, content, content_r);
	if (math <= 0) {
		rc = math;
		goto done;
	}
	rec->pub.signature_valid = true;
	if (signer == NULL) {	/* CMS_verify found it; we did not */
		sig_set(rec, SMIME_RESULT_NEUTRAL, SMIME_REASON_NO_SIGNER_CERT,
			"signer certificate not in the message");
		goto done;
	}
	rec->leaf_time_ok = cert_time_ok(signer, m->now);
	rec->leaf_usage_ok = cert_usage_ok(signer, KU_DIGITAL_SIGNATURE |
					   KU_NON_REPUDIATION);
	if (read_attributes(cms, rec, m->now) != 0) {
		rc = -1;
		goto done;
	}
	sig_set(rec, SMIME_RESULT_PASS, SMIME_REASON_OK, "signature verified");
	judge_chain(rec, weak_key(signer) ? X509_V_ERR_EE_KEY_TOO_SMALL :
			 sigcheck_chain(m, signer, rec,
					X509_PURPOSE_SMIME_SIGN, &rec->path));
	if (rec->pub.result != SMIME_RESULT_PASS)
		goto done;
	if (rec->identifier == NULL)
		sig_set(rec, SMIME_RESULT_POLICY, SMIME_REASON_NO_EMAIL,
			"certificate has no email address");
	else if (!rec->pub.from_match)
		sig_set(rec, SMIME_RESULT_POLICY, SMIME_REASON_FROM_MISMATCH,
			"signer is not the From address");
	sigcheck_revocation(m, rec, signer);
done:
	CMS_ContentInfo_free(cms);
	ERR_clear_error();
	return rc;
}
