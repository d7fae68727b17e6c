/* SPDX-License-Identifier: BSD-2-Clause */
/* Chain verification of certificates to the trust anchors of inbound
 * verification (verify.ca_file, verify.extra_ca_file, loaded by the
 * verifier's own code) plus the store's anchors, with the stored
 * certificates as intermediates, for email protection. One
 * implementation for the directory lookup and for smimectl import-cert. */
#include "lookup-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <smx/cfg.h>
#include <smx/log.h>
#include <smx/smime.h>
#include <smx/x509.h>

struct lookup_verifier {
	X509_STORE *anchors;		/* verify.* files + store anchors */
	STACK_OF(X509) *pool;		/* every stored certificate */
};

static int load_anchors(struct store *store, X509_STORE *xs)
{
	struct store_anchor *list = NULL;
	size_t n = 0;
	if (store_anchor_list(store, &list, &n) != SMX_OK)
		return -1;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		X509 *x = smx_x509_parse(list[i].der, list[i].der_len, NULL, 0);
		if (x != NULL && !X509_STORE_add_cert(xs, x))
			rc = -1;
		X509_free(x);
	}
	store_anchor_list_free(&list, n);
	return rc;
}

static int load_pool(struct store *store, STACK_OF(X509) *pool)
{
	struct store_cert **list = NULL;
	size_t n = 0;
	if (store_cert_list(store, NULL, &list, &n) != SMX_OK)
		return -1;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = smx_x509_stack_push_der(pool, list[i]->der,
					     list[i]->der_len);
	store_cert_list_free(&list, n);
	return rc;
}

/* The roots of verify.ca_file ("none": none) and verify.extra_ca_file,
 * by the inbound verifier's loader; NULL verify: the system bundle. */
static X509_STORE *configured_roots(const struct cfg_verify *verify)
{
	const char *ca = verify != NULL ? verify->ca_file : NULL;
	struct smx_error err = { "" };
	if (ca != NULL && strcmp(ca, "none") == 0)
		ca = "";
	X509_STORE *xs = smime_trust_store_new(
		ca, verify != NULL ? verify->extra_ca_file : NULL, &err);
	if (xs == NULL)
		smx_log(LOG_ERR, "lookup: cannot load the trust anchors: %s",
			err.text);
	return xs;
}

enum smx_status lookup_verifier_new(struct store *store,
				    const struct cfg_verify *verify,
				    struct lookup_verifier **v_r)
{
	struct lookup_verifier *v = calloc(1, sizeof(*v));
	*v_r = NULL;
	if (v == NULL)
		return SMX_TEMPFAIL;
	v->anchors = configured_roots(verify);
	v->pool = sk_X509_new_null();
	if (v->anchors == NULL || v->pool == NULL)
		goto fail;
	if (load_anchors(store, v->anchors) != 0 ||
	    load_pool(store, v->pool) != 0)
		goto fail;
	ERR_clear_error();
	*v_r = v;
	return SMX_OK;
fail:
	lookup_verifier_free(&v);
	ERR_clear_error();
	return SMX_TEMPFAIL;
}

void lookup_verifier_free(struct lookup_verifier **v)
{
	if (v == NULL || *v == NULL)
		return;
	X509_STORE_free((*v)->anchors);
	sk_X509_pop_free((*v)->pool, X509_free);
	free(*v);
	*v = NULL;
}

/* The pool plus extra, as a new stack that holds references. */
static STACK_OF(X509) *intermediates(const struct lookup_verifier *v,
				     const struct lookup_der *extra,
				     size_t n_extra)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	for (int i = 0; sk != NULL && i < sk_X509_num(v->pool); i++) {
		X509 *x = sk_X509_value(v->pool, i);
		if (!X509_up_ref(x))
			goto fail;
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			goto fail;
		}
	}
	for (size_t i = 0; sk != NULL && i < n_extra; i++)
		if (smx_x509_stack_push_der(sk, extra[i].der, extra[i].len) != 0)
			goto fail;
	return sk;
fail:
	sk_X509_pop_free(sk, X509_free);
	return NULL;
}

/* Whether the verified chain is one for email protection, as inbound
 * verification demands of a signer's: the leaf's extended key usage
 * absent or naming emailProtection, every CA in the chain fit for
 * S/MIME. (OpenSSL's S/MIME encryption purpose would also demand
 * keyEncipherment of the leaf, refusing EC keys; the key usage is the
 * store's selection's business.) */
static bool chain_for_email(X509_STORE_CTX *ctx)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
	for (int i = 0; i < sk_X509_num(chain); i++) {
		X509 *x = sk_X509_value(chain, i);
		if (i == 0) {
			uint32_t xku = X509_get_extended_key_usage(x);
			if (xku != UINT32_MAX && (xku & XKU_SMIME) == 0)
				return false;
		} else if (X509_check_purpose(x, X509_PURPOSE_SMIME_ENCRYPT,
					      1) <= 0) {
			return false;
		}
	}
	return true;
}

enum smx_status lookup_verifier_check(struct lookup_verifier *v,
				      const unsigned char *der, size_t len,
				      const struct lookup_der *extra,
				      size_t n_extra, enum store_trust *trust_r,
				      char *why, size_t size)
{
	enum smx_status st = SMX_TEMPFAIL;
	X509 *leaf = smx_x509_parse(der, len, NULL, 0);
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = intermediates(v, extra, n_extra);
	*trust_r = STORE_TRUST_NONE;
	snprintf(why, size, "out of memory");
	if (leaf == NULL) {
		snprintf(why, size, "not a certificate");
		st = SMX_OK;
		goto done;
	}
	if (ctx == NULL || untrusted == NULL ||
	    !X509_STORE_CTX_init(ctx, v->anchors, leaf, untrusted))
		goto done;
	st = SMX_OK;
	if (X509_verify_cert(ctx) == 1 && !chain_for_email(ctx)) {
		snprintf(why, size, "%s (not for email protection)",
			 X509_verify_cert_error_string(
				 X509_V_ERR_INVALID_PURPOSE));
	} else if (X509_STORE_CTX_get_error(ctx) == X509_V_OK) {
		*trust_r = STORE_TRUST_CHAIN;
		snprintf(why, size, "chain verified");
	} else {
		snprintf(why, size, "%s", X509_verify_cert_error_string(
				 X509_STORE_CTX_get_error(ctx)));
	}
done:
	X509_STORE_CTX_free(ctx);
	sk_X509_pop_free(untrusted, X509_free);
	X509_free(leaf);
	ERR_clear_error();
	return st;
}

X509 *lookup_verifier_issuer(struct lookup_verifier *v,
			     const unsigned char *der, size_t len)
{
	X509 *leaf = smx_x509_parse(der, len, NULL, 0), *issuer = NULL;
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = intermediates(v, NULL, 0);
	if (leaf == NULL || ctx == NULL || untrusted == NULL ||
	    !X509_STORE_CTX_init(ctx, v->anchors, leaf, untrusted))
		goto done;
	(void)X509_verify_cert(ctx);
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
	if (sk_X509_num(chain) >= 2) {
		X509 *up = sk_X509_value(chain, 1);
		if (X509_check_issued(up, leaf) == X509_V_OK && X509_up_ref(up))
			issuer = up;
	}
done:
	X509_STORE_CTX_free(ctx);
	sk_X509_pop_free(untrusted, X509_free);
	X509_free(leaf);
	ERR_clear_error();
	return issuer;
}

X509 *lookup_issuer_of(struct store *store, const struct cfg_verify *verify,
		       const unsigned char *der, size_t len)
{
	struct lookup_verifier *v = NULL;
	if (lookup_verifier_new(store, verify, &v) != SMX_OK)
		return NULL;
	X509 *issuer = lookup_verifier_issuer(v, der, len);
	lookup_verifier_free(&v);
	return issuer;
}

enum smx_status lookup_issuers_of(struct store *store,
				  const struct cfg_verify *verify,
				  const struct lookup_der *certs, size_t n,
				  X509 **issuers_r)
{
	struct lookup_verifier *v = NULL;
	for (size_t i = 0; i < n; i++)
		issuers_r[i] = NULL;
	if (lookup_verifier_new(store, verify, &v) != SMX_OK)
		return SMX_TEMPFAIL;
	for (size_t i = 0; i < n; i++)
		issuers_r[i] = lookup_verifier_issuer(v, certs[i].der,
						      certs[i].len);
	lookup_verifier_free(&v);
	return SMX_OK;
}

enum smx_status lookup_verify_chain(struct store *store,
				    const struct cfg_verify *verify,
				    const unsigned char *der, size_t len,
				    const struct lookup_der *extra,
				    size_t n_extra, enum store_trust *trust_r,
				    char *why, size_t size)
{
	struct lookup_verifier *v = NULL;
	*trust_r = STORE_TRUST_NONE;
	if (lookup_verifier_new(store, verify, &v) != SMX_OK) {
		snprintf(why, size, "the store did not answer or the trust "
			 "anchors could not be loaded");
		return SMX_TEMPFAIL;
	}
	enum smx_status st = lookup_verifier_check(v, der, len, extra, n_extra,
						   trust_r, why, size);
	lookup_verifier_free(&v);
	return st;
}

/* Demotes c when its chain no longer verifies. */
static enum smx_status recheck_one(struct store *store,
				   struct lookup_verifier *v,
				   const struct store_cert *c, size_t *demoted)
{
	enum store_trust trust = STORE_TRUST_NONE;
	char why[160];
	if (c->trust != STORE_TRUST_CHAIN || c->is_ca)
		return SMX_OK;
	enum smx_status st = lookup_verifier_check(v, c->der, c->der_len, NULL,
						   0, &trust, why, sizeof(why));
	if (st != SMX_OK || trust == STORE_TRUST_CHAIN)
		return st;
	st = store_cert_set_trust(store, c->fingerprint, STORE_TRUST_NONE);
	if (st == SMX_NOTFOUND)
		return SMX_OK;	/* removed meanwhile */
	if (st == SMX_OK)
		(*demoted)++;
	smx_log(st == SMX_OK ? LOG_NOTICE : LOG_WARNING,
		"trust: certificate %s no longer verifies to a trust anchor "
		"(%s): %s", c->fingerprint, why,
		st == SMX_OK ? "demoted to unverified" : smx_status_name(st));
	return st;
}

enum smx_status lookup_trust_recheck(struct store *store,
				     const struct cfg_verify *verify,
				     size_t *demoted_r)
{
	struct lookup_verifier *v = NULL;
	struct store_cert **list = NULL;
	size_t n = 0, demoted = 0;
	enum smx_status st = lookup_verifier_new(store, verify, &v);
	if (st == SMX_OK)
		st = store_cert_list(store, NULL, &list, &n);
	for (size_t i = 0; st == SMX_OK && i < n; i++)
		st = recheck_one(store, v, list[i], &demoted);
	store_cert_list_free(&list, n);
	lookup_verifier_free(&v);
	if (demoted_r != NULL)
		*demoted_r = demoted;
	return st;
}
