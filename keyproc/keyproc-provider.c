/* SPDX-License-Identifier: BSD-2-Clause */
/* An OpenSSL 3 provider, built into the program, whose RSA and EC keys
 * are handles: a fingerprint and the public key. Signing, RSA decryption
 * and ECDH (with its KDF) with such a key are forwarded to the key
 * process, so the
 * CMS code signs and decrypts with an EVP_PKEY as always and never sees
 * private key material.
 *
 * The provider's algorithms carry "provider=smx-keyproc"; the default
 * property query becomes "?provider=default" so that every other fetch
 * still prefers the default provider. A handle refuses to export its
 * private half, so OpenSSL falls back to the handle's own provider for
 * every private-key operation. */
#include <smx/keyproc.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>

#include "keyproc-private.h"

#define PROVIDER_NAME "smx-keyproc"
#define PROPS "provider=" PROVIDER_NAME
#define FP_PARAM "smx-fingerprint"

struct handle {
	bool rsa;
	char fingerprint[65];	/* "" for a public key only */
	EVP_PKEY *pub;		/* the public key, in the default provider */
};

/* --- key management ----------------------------------------------------- */

static struct handle *handle_new(bool rsa)
{
	struct handle *h = calloc(1, sizeof(*h));
	if (h != NULL)
		h->rsa = rsa;
	return h;
}

static void *rsa_new(void *provctx)
{
	(void)provctx;
	return handle_new(true);
}

static void *ec_new(void *provctx)
{
	(void)provctx;
	return handle_new(false);
}

static void handle_free(void *keydata)
{
	struct handle *h = keydata;
	if (h == NULL)
		return;
	EVP_PKEY_free(h->pub);
	free(h);
}

static int handle_has(const void *keydata, int selection)
{
	const struct handle *h = keydata;
	if (h == NULL)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) &&
	    h->fingerprint[0] == '\0')
		return 0;
	if ((selection & (OSSL_KEYMGMT_SELECT_PUBLIC_KEY |
			  OSSL_KEYMGMT_SELECT_ALL_PARAMETERS)) && h->pub == NULL)
		return 0;
	return 1;
}

/* The EVP_PKEY_fromdata/todata selection for a keymgmt selection: the
 * public key when asked for, else the domain parameters only (copying an
 * EC key's parameters must not copy its public point). */
static int public_or_parameters(int selection)
{
	return (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY)
		       ? EVP_PKEY_PUBLIC_KEY : EVP_PKEY_KEY_PARAMETERS;
}

static int handle_import(void *keydata, int selection, const OSSL_PARAM params[])
{
	struct handle *h = keydata;
	const OSSL_PARAM *fp = OSSL_PARAM_locate_const(params, FP_PARAM);
	const char *text = NULL;
	if (h == NULL || h->pub != NULL)
		return 0;
	if (fp != NULL) {
		if (!OSSL_PARAM_get_utf8_string_ptr(fp, &text) ||
		    strlen(text) != 64)
			return 0;
		memcpy(h->fingerprint, text, 65);
	}
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(
		NULL, h->rsa ? "RSA" : "EC", "provider=default");
	OSSL_PARAM *copy = OSSL_PARAM_dup(params);
	int ok = ctx != NULL && copy != NULL &&
		 EVP_PKEY_fromdata_init(ctx) == 1 &&
		 EVP_PKEY_fromdata(ctx, &h->pub, public_or_parameters(selection),
				   copy) == 1;
	OSSL_PARAM_free(copy);
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

static const OSSL_PARAM *rsa_types(int selection)
{
	static const OSSL_PARAM types[] = {
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
		OSSL_PARAM_utf8_string(FP_PARAM, NULL, 0),
		OSSL_PARAM_END
	};
	(void)selection;
	return types;
}

static const OSSL_PARAM *ec_types(int selection)
{
	static const OSSL_PARAM types[] = {
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
		OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
		OSSL_PARAM_utf8_string(FP_PARAM, NULL, 0),
		OSSL_PARAM_END
	};
	(void)selection;
	return types;
}

/* Only the public half leaves: a request for the private key fails. */
static int handle_export(void *keydata, int selection, OSSL_CALLBACK *cb,
			 void *cbarg)
{
	struct handle *h = keydata;
	OSSL_PARAM *params = NULL;
	if (h == NULL || h->pub == NULL ||
	    (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY))
		return 0;
	if (EVP_PKEY_todata(h->pub, public_or_parameters(selection),
			    &params) != 1)
		return 0;
	int ok = cb(params, cbarg);
	OSSL_PARAM_free(params);
	return ok;
}

static int handle_get_params(void *keydata, OSSL_PARAM params[])
{
	struct handle *h = keydata;
	return h != NULL && h->pub != NULL &&
	       EVP_PKEY_get_params(h->pub, params) == 1;
}

static const OSSL_PARAM *handle_gettable(void *provctx)
{
	static const OSSL_PARAM types[] = {
		OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
		OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
		OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
		OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
					NULL, 0),
		OSSL_PARAM_END
	};
	(void)provctx;
	return types;
}

/* CMS gives a peer key made from our key's parameters its public point
 * (ECDH with an originator key without parameters). */
static int handle_set_params(void *keydata, const OSSL_PARAM params[])
{
	struct handle *h = keydata;
	OSSL_PARAM *copy = OSSL_PARAM_dup(params);
	int ok = h != NULL && h->pub != NULL && copy != NULL &&
		 EVP_PKEY_set_params(h->pub, copy) == 1;
	OSSL_PARAM_free(copy);
	return ok;
}

static const OSSL_PARAM *handle_settable(void *provctx)
{
	static const OSSL_PARAM types[] = {
		OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
					NULL, 0),
		OSSL_PARAM_END
	};
	(void)provctx;
	return types;
}

static int handle_match(const void *a, const void *b, int selection)
{
	const struct handle *x = a, *y = b;
	(void)selection;
	return x->pub != NULL && y->pub != NULL &&
	       EVP_PKEY_eq(x->pub, y->pub) == 1;
}

static const char *ec_operation_name(int operation_id)
{
	return operation_id == OSSL_OP_SIGNATURE ? "ECDSA"
	       : operation_id == OSSL_OP_KEYEXCH ? "ECDH" : NULL;
}

#define KEYMGMT_COMMON \
	{ OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))handle_free }, \
	{ OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))handle_has }, \
	{ OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))handle_import }, \
	{ OSSL_FUNC_KEYMGMT_EXPORT, (void (*)(void))handle_export }, \
	{ OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))handle_get_params }, \
	{ OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, (void (*)(void))handle_gettable }, \
	{ OSSL_FUNC_KEYMGMT_SET_PARAMS, (void (*)(void))handle_set_params }, \
	{ OSSL_FUNC_KEYMGMT_SETTABLE_PARAMS, (void (*)(void))handle_settable }, \
	{ OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))handle_match }

static const OSSL_DISPATCH rsa_keymgmt[] = {
	{ OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))rsa_new },
	{ OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))rsa_types },
	{ OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))rsa_types },
	KEYMGMT_COMMON,
	{ 0, NULL }
};

static const OSSL_DISPATCH ec_keymgmt[] = {
	{ OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))ec_new },
	{ OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))ec_types },
	{ OSSL_FUNC_KEYMGMT_EXPORT_TYPES, (void (*)(void))ec_types },
	{ OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME,
	  (void (*)(void))ec_operation_name },
	KEYMGMT_COMMON,
	{ 0, NULL }
};

/* --- parameters shared by signing and decryption ------------------------ */

struct opctx {
	struct handle *h;
	EVP_MD_CTX *md;		/* digest-and-sign: the running digest */
	char mdname[KEYPROC_NAME_LEN];
	char mgf1[KEYPROC_NAME_LEN];
	int padding;
	unsigned char label[KEYPROC_MAX_LABEL];	/* or ECDH shared info */
	size_t label_len;
	unsigned char peer[KEYPROC_MAX_POINT];	/* ECDH: the other key */
	size_t peer_len;
	size_t kdf_outlen;	/* ECDH: 0 for no KDF */
	bool kdf;
};

static void *opctx_new(void *provctx, const char *propq)
{
	(void)provctx;
	(void)propq;
	return calloc(1, sizeof(struct opctx));
}

static void opctx_free(void *vctx)
{
	struct opctx *c = vctx;
	if (c == NULL)
		return;
	EVP_MD_CTX_free(c->md);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

static void *opctx_dup(void *vctx)
{
	const struct opctx *c = vctx;
	struct opctx *d = malloc(sizeof(*d));
	if (d == NULL)
		return NULL;
	*d = *c;
	d->md = NULL;
	if (c->md != NULL && ((d->md = EVP_MD_CTX_new()) == NULL ||
			      EVP_MD_CTX_copy_ex(d->md, c->md) != 1)) {
		EVP_MD_CTX_free(d->md);
		free(d);
		return NULL;
	}
	return d;
}

/* The short name the key process knows ("sha256"), or false. */
static bool set_md_name(char *dst, const char *name)
{
	EVP_MD *md = EVP_MD_fetch(NULL, name, "provider=default");
	const char *canon = NULL;
	static const char *const known[] = { "sha1", "sha224", "sha256",
					     "sha384", "sha512" };
	for (size_t i = 0; md != NULL && canon == NULL &&
			   i < sizeof(known) / sizeof(known[0]); i++)
		if (EVP_MD_is_a(md, known[i]))
			canon = known[i];
	EVP_MD_free(md);
	if (canon == NULL)
		return false;
	strcpy(dst, canon);
	return true;
}

static int set_padding(struct opctx *c, const OSSL_PARAM *p)
{
	if (p->data_type == OSSL_PARAM_UTF8_STRING) {
		const char *s = p->data;
		if (strcmp(s, OSSL_PKEY_RSA_PAD_MODE_PKCSV15) == 0)
			c->padding = RSA_PKCS1_PADDING;
		else if (strcmp(s, OSSL_PKEY_RSA_PAD_MODE_OAEP) == 0)
			c->padding = RSA_PKCS1_OAEP_PADDING;
		else
			return 0;
		return 1;
	}
	return OSSL_PARAM_get_int(p, &c->padding) &&
	       (c->padding == RSA_PKCS1_PADDING ||
		c->padding == RSA_PKCS1_OAEP_PADDING);
}

/* ECDH's KDF settings, as CMS gives them (X9.63, RFC 5753). */
static int exchange_set_params(struct opctx *c, const OSSL_PARAM params[])
{
	const OSSL_PARAM *p;
	const char *s = NULL;
	if ((p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_TYPE))
	    != NULL) {
		if (!OSSL_PARAM_get_utf8_string_ptr(p, &s))
			return 0;
		if (s[0] == '\0')
			c->kdf = false;
		else if (strcmp(s, OSSL_KDF_NAME_X963KDF) == 0)
			c->kdf = true;
		else
			return 0;
	}
	if ((p = OSSL_PARAM_locate_const(params,
					 OSSL_EXCHANGE_PARAM_KDF_DIGEST))
	    != NULL && (!OSSL_PARAM_get_utf8_string_ptr(p, &s) ||
			!set_md_name(c->mdname, s)))
		return 0;
	if ((p = OSSL_PARAM_locate_const(params,
					 OSSL_EXCHANGE_PARAM_KDF_OUTLEN))
	    != NULL && !OSSL_PARAM_get_size_t(p, &c->kdf_outlen))
		return 0;
	if ((p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_UKM))
	    != NULL) {
		void *buf = c->label;
		if (!OSSL_PARAM_get_octet_string(p, &buf, sizeof(c->label),
						 &c->label_len))
			return 0;
	}
	if ((p = OSSL_PARAM_locate_const(params,
				OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE))
	    != NULL) {
		int mode = 0;
		if (!OSSL_PARAM_get_int(p, &mode) || mode < -1 || mode > 1)
			return 0;
		c->padding = mode == 1 ? 1 : 0;
	}
	return 1;
}

static int opctx_set_params(void *vctx, const OSSL_PARAM params[])
{
	struct opctx *c = vctx;
	const OSSL_PARAM *p;
	const char *s = NULL;
	if (params == NULL)
		return 1;
	if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PAD_MODE))
	    != NULL && !set_padding(c, p))
		return 0;
	if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST))
	    != NULL && (!OSSL_PARAM_get_utf8_string_ptr(p, &s) ||
			!set_md_name(c->mdname, s)))
		return 0;
	if ((p = OSSL_PARAM_locate_const(params,
					 OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST))
	    != NULL && (!OSSL_PARAM_get_utf8_string_ptr(p, &s) ||
			!set_md_name(c->mgf1, s)))
		return 0;
	if ((p = OSSL_PARAM_locate_const(params,
					 OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL))
	    != NULL) {
		void *buf = c->label;
		if (!OSSL_PARAM_get_octet_string(p, &buf, sizeof(c->label),
						 &c->label_len))
			return 0;
	}
	return exchange_set_params(c, params);
}

static int opctx_get_params(void *vctx, OSSL_PARAM params[])
{
	struct opctx *c = vctx;
	OSSL_PARAM *p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PAD_MODE);
	if (p != NULL) {
		if (p->data_type == OSSL_PARAM_UTF8_STRING) {
			if (!OSSL_PARAM_set_utf8_string(p,
				c->padding == RSA_PKCS1_OAEP_PADDING
				? OSSL_PKEY_RSA_PAD_MODE_OAEP
				: OSSL_PKEY_RSA_PAD_MODE_PKCSV15))
				return 0;
		} else if (!OSSL_PARAM_set_int(p, c->padding)) {
			return 0;
		}
	}
	p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST);
	if (p != NULL && !OSSL_PARAM_set_utf8_string(p, c->mdname))
		return 0;
	return 1;
}

static const OSSL_PARAM *opctx_params(void *vctx, void *provctx)
{
	static const OSSL_PARAM types[] = {
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
		OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST,
				       NULL, 0),
		OSSL_PARAM_octet_string(OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL,
					NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_TYPE, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_DIGEST, NULL, 0),
		OSSL_PARAM_size_t(OSSL_EXCHANGE_PARAM_KDF_OUTLEN, NULL),
		OSSL_PARAM_octet_string(OSSL_EXCHANGE_PARAM_KDF_UKM, NULL, 0),
		OSSL_PARAM_int(OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE, NULL),
		OSSL_PARAM_END
	};
	(void)vctx;
	(void)provctx;
	return types;
}

static int opctx_init(struct opctx *c, void *keydata, const OSSL_PARAM params[])
{
	struct handle *h = keydata;
	if (h == NULL || h->fingerprint[0] == '\0')
		return 0;
	c->h = h;
	c->padding = h->rsa ? RSA_PKCS1_PADDING : 0;
	strcpy(c->mdname, "sha256");
	c->mgf1[0] = '\0';
	c->label_len = 0;
	c->peer_len = 0;
	c->kdf_outlen = 0;
	c->kdf = false;
	return opctx_set_params(c, params);
}

static void request_init(struct keyproc_request *rq, const struct opctx *c,
			 uint32_t op)
{
	memset(rq, 0, sizeof(*rq));
	rq->magic = KEYPROC_MAGIC;
	rq->op = op;
	memcpy(rq->fingerprint, c->h->fingerprint, 65);
	strcpy(rq->md, c->mdname);
	strcpy(rq->mgf1, c->mgf1);
	rq->padding = c->padding;
}

/* Sends rq, copies a successful result into out (of size bytes). */
static int forward(struct keyproc_request *rq, unsigned char *out,
		   size_t *outlen, size_t size)
{
	struct keyproc_reply rp;
	int ok = keyproc_call(rq, &rp) == SMX_OK && rp.result == KEYPROC_OK &&
		 rp.out_len <= size;
	if (ok) {
		memcpy(out, rp.out, rp.out_len);
		*outlen = rp.out_len;
	}
	OPENSSL_cleanse(rq, sizeof(*rq));
	OPENSSL_cleanse(&rp, sizeof(rp));
	return ok;
}

/* --- signature ---------------------------------------------------------- */

static int sign_init(void *vctx, void *keydata, const OSSL_PARAM params[])
{
	return opctx_init(vctx, keydata, params);
}

static int sign_digest(struct opctx *c, unsigned char *sig, size_t *siglen,
		       size_t sigsize, const unsigned char *tbs, size_t tbslen)
{
	if (sig == NULL) {
		*siglen = (size_t)EVP_PKEY_get_size(c->h->pub);
		return 1;
	}
	struct keyproc_request rq;
	if (tbslen > sizeof(rq.in))
		return 0;
	request_init(&rq, c, KEYPROC_OP_SIGN);
	memcpy(rq.in, tbs, tbslen);
	rq.in_len = (uint32_t)tbslen;
	return forward(&rq, sig, siglen, sigsize);
}

static int sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize,
		const unsigned char *tbs, size_t tbslen)
{
	return sign_digest(vctx, sig, siglen, sigsize, tbs, tbslen);
}

static int digest_sign_init(void *vctx, const char *mdname, void *keydata,
			    const OSSL_PARAM params[])
{
	struct opctx *c = vctx;
	if (!opctx_init(c, keydata, params))
		return 0;
	if (mdname != NULL && mdname[0] != '\0' &&
	    !set_md_name(c->mdname, mdname))
		return 0;
	EVP_MD *md = EVP_MD_fetch(NULL, c->mdname, "provider=default");
	EVP_MD_CTX_free(c->md);
	c->md = EVP_MD_CTX_new();
	int ok = md != NULL && c->md != NULL &&
		 EVP_DigestInit_ex2(c->md, md, NULL) == 1;
	EVP_MD_free(md);
	return ok;
}

static int digest_sign_update(void *vctx, const unsigned char *data, size_t len)
{
	struct opctx *c = vctx;
	return c->md != NULL && EVP_DigestUpdate(c->md, data, len) == 1;
}

static int digest_sign_final(void *vctx, unsigned char *sig, size_t *siglen,
			     size_t sigsize)
{
	struct opctx *c = vctx;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	if (sig == NULL)
		return sign_digest(c, NULL, siglen, sigsize, NULL, 0);
	if (c->md == NULL || EVP_DigestFinal_ex(c->md, digest, &len) != 1)
		return 0;
	return sign_digest(c, sig, siglen, sigsize, digest, len);
}

static const OSSL_DISPATCH signature[] = {
	{ OSSL_FUNC_SIGNATURE_NEWCTX, (void (*)(void))opctx_new },
	{ OSSL_FUNC_SIGNATURE_FREECTX, (void (*)(void))opctx_free },
	{ OSSL_FUNC_SIGNATURE_DUPCTX, (void (*)(void))opctx_dup },
	{ OSSL_FUNC_SIGNATURE_SIGN_INIT, (void (*)(void))sign_init },
	{ OSSL_FUNC_SIGNATURE_SIGN, (void (*)(void))sign },
	{ OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT,
	  (void (*)(void))digest_sign_init },
	{ OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE,
	  (void (*)(void))digest_sign_update },
	{ OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL,
	  (void (*)(void))digest_sign_final },
	{ OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, (void (*)(void))opctx_get_params },
	{ OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS,
	  (void (*)(void))opctx_params },
	{ OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, (void (*)(void))opctx_set_params },
	{ OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS,
	  (void (*)(void))opctx_params },
	{ 0, NULL }
};

/* --- RSA decryption ----------------------------------------------------- */

static int decrypt_init(void *vctx, void *keydata, const OSSL_PARAM params[])
{
	struct opctx *c = vctx;
	if (!opctx_init(c, keydata, params) || !c->h->rsa)
		return 0;
	c->mdname[0] = '\0';	/* OAEP's default is SHA-1, said below */
	return 1;
}

static int decrypt(void *vctx, unsigned char *out, size_t *outlen,
		   size_t outsize, const unsigned char *in, size_t inlen)
{
	struct opctx *c = vctx;
	if (out == NULL) {
		*outlen = (size_t)EVP_PKEY_get_size(c->h->pub);
		return 1;
	}
	struct keyproc_request rq;
	if (inlen > sizeof(rq.in))
		return 0;
	request_init(&rq, c, KEYPROC_OP_DECRYPT);
	if (c->padding == RSA_PKCS1_OAEP_PADDING) {
		if (rq.md[0] == '\0')
			strcpy(rq.md, "sha1");
		if (rq.mgf1[0] == '\0')
			strcpy(rq.mgf1, rq.md);
		memcpy(rq.label, c->label, c->label_len);
		rq.label_len = (uint32_t)c->label_len;
	}
	memcpy(rq.in, in, inlen);
	rq.in_len = (uint32_t)inlen;
	return forward(&rq, out, outlen, outsize);
}

static const OSSL_DISPATCH asym_cipher[] = {
	{ OSSL_FUNC_ASYM_CIPHER_NEWCTX, (void (*)(void))opctx_new },
	{ OSSL_FUNC_ASYM_CIPHER_FREECTX, (void (*)(void))opctx_free },
	{ OSSL_FUNC_ASYM_CIPHER_DUPCTX, (void (*)(void))opctx_dup },
	{ OSSL_FUNC_ASYM_CIPHER_DECRYPT_INIT, (void (*)(void))decrypt_init },
	{ OSSL_FUNC_ASYM_CIPHER_DECRYPT, (void (*)(void))decrypt },
	{ OSSL_FUNC_ASYM_CIPHER_GET_CTX_PARAMS,
	  (void (*)(void))opctx_get_params },
	{ OSSL_FUNC_ASYM_CIPHER_GETTABLE_CTX_PARAMS,
	  (void (*)(void))opctx_params },
	{ OSSL_FUNC_ASYM_CIPHER_SET_CTX_PARAMS,
	  (void (*)(void))opctx_set_params },
	{ OSSL_FUNC_ASYM_CIPHER_SETTABLE_CTX_PARAMS,
	  (void (*)(void))opctx_params },
	{ 0, NULL }
};

/* --- ECDH key agreement ------------------------------------------------- */

static int exchange_init(void *vctx, void *keydata, const OSSL_PARAM params[])
{
	struct opctx *c = vctx;
	if (!opctx_init(c, keydata, params) || c->h->rsa)
		return 0;
	return 1;
}

static int exchange_set_peer(void *vctx, void *peerdata)
{
	struct opctx *c = vctx;
	struct handle *peer = peerdata;
	return peer != NULL && peer->pub != NULL &&
	       EVP_PKEY_get_octet_string_param(
		       peer->pub, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, c->peer,
		       sizeof(c->peer), &c->peer_len) == 1;
}

/* Only with the KDF: the raw shared secret never leaves the key
 * process. */
static int exchange_derive(void *vctx, unsigned char *secret,
			   size_t *secretlen, size_t outlen)
{
	struct opctx *c = vctx;
	if (!c->kdf || c->kdf_outlen == 0 || c->peer_len == 0)
		return 0;
	if (secret == NULL) {
		*secretlen = c->kdf_outlen;
		return 1;
	}
	struct keyproc_request rq;
	request_init(&rq, c, KEYPROC_OP_DERIVE);
	memcpy(rq.in, c->peer, c->peer_len);
	rq.in_len = (uint32_t)c->peer_len;
	memcpy(rq.label, c->label, c->label_len);
	rq.label_len = (uint32_t)c->label_len;
	rq.out_len = (uint32_t)c->kdf_outlen;
	return forward(&rq, secret, secretlen, outlen);
}

static const OSSL_DISPATCH key_exchange[] = {
	{ OSSL_FUNC_KEYEXCH_NEWCTX, (void (*)(void))opctx_new },
	{ OSSL_FUNC_KEYEXCH_FREECTX, (void (*)(void))opctx_free },
	{ OSSL_FUNC_KEYEXCH_DUPCTX, (void (*)(void))opctx_dup },
	{ OSSL_FUNC_KEYEXCH_INIT, (void (*)(void))exchange_init },
	{ OSSL_FUNC_KEYEXCH_SET_PEER, (void (*)(void))exchange_set_peer },
	{ OSSL_FUNC_KEYEXCH_DERIVE, (void (*)(void))exchange_derive },
	{ OSSL_FUNC_KEYEXCH_SET_CTX_PARAMS, (void (*)(void))opctx_set_params },
	{ OSSL_FUNC_KEYEXCH_SETTABLE_CTX_PARAMS,
	  (void (*)(void))opctx_params },
	{ OSSL_FUNC_KEYEXCH_GET_CTX_PARAMS, (void (*)(void))opctx_get_params },
	{ OSSL_FUNC_KEYEXCH_GETTABLE_CTX_PARAMS,
	  (void (*)(void))opctx_params },
	{ 0, NULL }
};

/* --- the provider ------------------------------------------------------- */

#define RSA_NAMES "RSA:rsaEncryption:1.2.840.113549.1.1.1"
#define EC_NAMES "EC:id-ecPublicKey:1.2.840.10045.2.1"

static const OSSL_ALGORITHM keymgmts[] = {
	{ RSA_NAMES, PROPS, rsa_keymgmt, "key-process RSA handle" },
	{ EC_NAMES, PROPS, ec_keymgmt, "key-process EC handle" },
	{ NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM signatures[] = {
	{ RSA_NAMES, PROPS, signature, "RSA through the key process" },
	{ "ECDSA", PROPS, signature, "ECDSA through the key process" },
	{ NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM asym_ciphers[] = {
	{ RSA_NAMES, PROPS, asym_cipher, "RSA through the key process" },
	{ NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM exchanges[] = {
	{ "ECDH", PROPS, key_exchange, "ECDH through the key process" },
	{ NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM *query(void *provctx, int operation_id,
				   int *no_cache)
{
	(void)provctx;
	*no_cache = 0;
	switch (operation_id) {
	case OSSL_OP_KEYMGMT: return keymgmts;
	case OSSL_OP_SIGNATURE: return signatures;
	case OSSL_OP_ASYM_CIPHER: return asym_ciphers;
	case OSSL_OP_KEYEXCH: return exchanges;
	default: return NULL;
	}
}

static const OSSL_DISPATCH provider_functions[] = {
	{ OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))query },
	{ 0, NULL }
};

static int provider_init(const OSSL_CORE_HANDLE *core, const OSSL_DISPATCH *in,
			 const OSSL_DISPATCH **out, void **provctx)
{
	static int context;	/* the provider keeps no state */
	(void)core;
	(void)in;
	*out = provider_functions;
	*provctx = &context;
	return 1;
}

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_result = -1;
/* Loaded once; unloaded when the client stops, after the caches that
 * hold key handles were emptied. */
static OSSL_PROVIDER *default_provider, *handle_provider;

static void load(void)
{
	if ((default_provider = OSSL_PROVIDER_load(NULL, "default")) == NULL ||
	    OSSL_PROVIDER_add_builtin(NULL, PROVIDER_NAME, provider_init) != 1 ||
	    (handle_provider = OSSL_PROVIDER_load(NULL, PROVIDER_NAME)) ==
		    NULL ||
	    EVP_set_default_properties(NULL, "?provider=default") != 1)
		return;
	load_result = 0;
}

int keyproc_provider_load(void)
{
	pthread_once(&load_once, load);
	return load_result;
}

void keyproc_provider_unload(void)
{
	if (handle_provider != NULL)
		OSSL_PROVIDER_unload(handle_provider);
	if (default_provider != NULL)
		OSSL_PROVIDER_unload(default_provider);
	handle_provider = default_provider = NULL;
}

EVP_PKEY *keyproc_pkey_new(const char *fingerprint, X509 *cert)
{
	EVP_PKEY *pub = X509_get0_pubkey(cert), *key = NULL;
	OSSL_PARAM *params = NULL, *all = NULL;
	char text[65];
	OSSL_PARAM fp[] = {
		OSSL_PARAM_utf8_string(FP_PARAM, text, 64),
		OSSL_PARAM_END
	};
	if (pub == NULL || strlen(fingerprint) != 64 ||
	    keyproc_provider_load() != 0)
		return NULL;
	memcpy(text, fingerprint, sizeof(text));
	const char *type = EVP_PKEY_is_a(pub, "RSA") ? "RSA"
			   : EVP_PKEY_is_a(pub, "EC") ? "EC" : NULL;
	if (type == NULL)
		return NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, PROPS);
	if (ctx != NULL && EVP_PKEY_todata(pub, EVP_PKEY_PUBLIC_KEY,
					   &params) == 1 &&
	    (all = OSSL_PARAM_merge(params, fp)) != NULL &&
	    EVP_PKEY_fromdata_init(ctx) == 1 &&
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEYPAIR, all) != 1)
		key = NULL;
	OSSL_PARAM_free(all);
	OSSL_PARAM_free(params);
	EVP_PKEY_CTX_free(ctx);
	return key;
}
