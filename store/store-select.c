/* SPDX-License-Identifier: BSD-2-Clause */
/* The certificate-selection rule, in one place: which
 * of an address's certificates may be used to encrypt to it or to sign
 * as it, in which order, and why each other one may not. */
#include "store-private.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include <smx/keyrule.h>

const char *store_reject_text(enum store_reject reason,
			      enum store_purpose purpose)
{
	bool enc = purpose == STORE_PURPOSE_ENCRYPT;
	switch (reason) {
	case STORE_USABLE: return "usable";
	case STORE_REJECT_CA: return "a CA certificate, not a user's";
	case STORE_REJECT_NOT_YET_VALID: return "not valid yet";
	case STORE_REJECT_EXPIRED: return "expired";
	case STORE_REJECT_REVOKED: return "revoked";
	case STORE_REJECT_UNTRUSTED:
		return "not trusted (chain not verified, not pinned)";
	case STORE_REJECT_KEY_USAGE:
		return enc ? "key usage does not allow encryption"
			   : "key usage does not allow signing";
	case STORE_REJECT_EKU:
		return "extended key usage lacks emailProtection";
	case STORE_REJECT_NO_KEY: return "no private key held";
	case STORE_REJECT_ADDRESS:
		return "not issued to this address";
	case STORE_REJECT_KEY:
		return "a public key the encryptor refuses (RSA of 2048 to "
		       "16384 bits or EC on P-256, P-384, P-521 accepted)";
	case STORE_REJECT_REVOCATION_UNKNOWN:
		return "revocation status unknown (revocation.mode hard)";
	}
	return "unknown";
}

static bool key_usage_ok(const struct store_cert *c, enum store_purpose p)
{
	unsigned ku = c->key_usage;
	if (ku & STORE_KU_ABSENT)
		return true;
	if (p == STORE_PURPOSE_SIGN)
		return (ku & (STORE_KU_DIGITAL_SIGNATURE |
			      STORE_KU_NON_REPUDIATION)) != 0;
	/* RSA transports the content key, EC agrees on it (RFC 8550). */
	if (strcmp(c->key_type, "ec") == 0 || strcmp(c->key_type, "x25519") == 0)
		return (ku & STORE_KU_KEY_AGREEMENT) != 0;
	return (ku & STORE_KU_KEY_ENCIPHERMENT) != 0;
}

/* The encryptor's own rule (smx/keyrule.h), so that a certificate
 * selected here is never one it refuses: a refused one would make even
 * opportunistic mail wait until it bounces. */
static bool key_encryptable(const struct store_cert *c)
{
	X509 *x = store_cert_x509(c);
	bool ok = x != NULL &&
		  smx_keyrule_encryptable(X509_get0_pubkey(x), NULL, NULL, 0);
	X509_free(x);
	return ok;
}

/* The first rule a certificate breaks for email, or STORE_USABLE. */
static enum store_reject judge(const struct store_cert *c, const char *email,
			       enum store_purpose p, time_t now)
{
	if (!store_cert_has_email(c, email))
		return STORE_REJECT_ADDRESS;
	if (c->is_ca)
		return STORE_REJECT_CA;
	if (c->not_before > (int64_t)now)
		return STORE_REJECT_NOT_YET_VALID;
	if (c->not_after < (int64_t)now)
		return STORE_REJECT_EXPIRED;
	if (c->revoked)
		return STORE_REJECT_REVOKED;
	if (c->trust != STORE_TRUST_CHAIN && c->trust != STORE_TRUST_PINNED)
		return STORE_REJECT_UNTRUSTED;
	if (!key_usage_ok(c, p))
		return STORE_REJECT_KEY_USAGE;
	if (!(c->eku & (STORE_EKU_ABSENT | STORE_EKU_EMAIL)))
		return STORE_REJECT_EKU;
	if (p == STORE_PURPOSE_ENCRYPT && !key_encryptable(c))
		return STORE_REJECT_KEY;
	if (p == STORE_PURPOSE_SIGN && !c->has_key)
		return STORE_REJECT_NO_KEY;
	return STORE_USABLE;
}

/* Usable first; among them the preferred one, then newest notBefore
 * (store_cert_list already returns newest first, and the sort is made
 * stable by comparing the original positions). */
static int compare(const void *a, const void *b)
{
	const struct store_candidate *x = a, *y = b;
	bool ux = x->reason == STORE_USABLE, uy = y->reason == STORE_USABLE;
	if (ux != uy)
		return ux ? -1 : 1;
	if (ux && x->preferred != y->preferred)
		return x->preferred ? -1 : 1;
	if (x->cert->not_before != y->cert->not_before)
		return x->cert->not_before > y->cert->not_before ? -1 : 1;
	return strcmp(x->cert->fingerprint, y->cert->fingerprint);
}

enum smx_status store_select(struct store *store, const char *email,
			     enum store_purpose purpose, time_t now,
			     struct store_selection **sel_r)
{
	struct store_cert **certs = NULL;
	size_t n = 0;
	char pref[65] = "";
	*sel_r = NULL;
	enum smx_status st = store_cert_list(store, email, &certs, &n);
	if (st != SMX_OK)
		return st;
	if (purpose == STORE_PURPOSE_ENCRYPT) {
		st = store_preference_get(store, email, pref);
		if (st == SMX_TEMPFAIL)
			goto done;
	}
	struct store_selection *sel = calloc(1, sizeof(*sel));
	if (sel == NULL || (sel->items = calloc(n + 1, sizeof(*sel->items))) ==
				   NULL) {
		free(sel);
		st = SMX_TEMPFAIL;
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		struct store_candidate *cand = &sel->items[i];
		cand->cert = certs[i];
		certs[i] = NULL;
		cand->reason = judge(cand->cert, email, purpose, now);
		cand->preferred = strcmp(cand->cert->fingerprint, pref) == 0;
		if (cand->reason == STORE_USABLE)
			sel->n_usable++;
	}
	sel->count = n;
	qsort(sel->items, n, sizeof(*sel->items), compare);
	*sel_r = sel;
	st = sel->n_usable > 0 ? SMX_OK : SMX_NOTFOUND;
done:
	store_cert_list_free(&certs, n);
	return st;
}

void store_selection_free(struct store_selection **sel)
{
	if (sel == NULL || *sel == NULL)
		return;
	for (size_t i = 0; i < (*sel)->count; i++)
		store_cert_free(&(*sel)->items[i].cert);
	free((*sel)->items);
	free(*sel);
	*sel = NULL;
}

/* Whether a certificate under email other than the offered one, newer
 * than it, is usable to encrypt to now. */
static bool newer_usable(struct store_cert **certs, size_t n,
			 const struct store_cert *offered, const char *email,
			 time_t now)
{
	for (size_t i = 0; i < n; i++) {
		const struct store_cert *c = certs[i];
		if (strcmp(c->fingerprint, offered->fingerprint) != 0 &&
		    c->not_before > offered->not_before &&
		    judge(c, email, STORE_PURPOSE_ENCRYPT, now) == STORE_USABLE)
			return true;
	}
	return false;
}

enum smx_status store_preference_offer(struct store *store, const char *email,
				       const char *fingerprint, time_t now,
				       bool *set_r)
{
	struct store_cert *offered = NULL, **certs = NULL;
	size_t n = 0;
	*set_r = false;
	enum smx_status st = store_cert_get(store, fingerprint, &offered);
	if (st == SMX_OK)
		st = store_cert_list(store, email, &certs, &n);
	if (st == SMX_OK && !newer_usable(certs, n, offered, email, now)) {
		st = store_preference_set(store, email, offered->fingerprint);
		*set_r = st == SMX_OK;
	}
	store_cert_list_free(&certs, n);
	store_cert_free(&offered);
	return st;
}
