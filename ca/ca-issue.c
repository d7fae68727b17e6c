/* SPDX-License-Identifier: BSD-2-Clause */
/* Issuing S/MIME certificates (RFC 8550/8551 profile) to internal
 * addresses, once per address even when many processes ask at once. */
#include "ca-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <smx/log.h>
#include <smx/mailaddr.h>

/* What one certificate is for. */
enum role { ROLE_BOTH, ROLE_SIGN, ROLE_ENCRYPT };

static const char *role_name(enum role r)
{
	return r == ROLE_BOTH ? "signing and encryption"
	       : r == ROLE_SIGN ? "signing" : "encryption";
}

static const char *key_usage_for(enum role r, bool ec)
{
	switch (r) {
	case ROLE_SIGN: return "critical,digitalSignature";
	case ROLE_ENCRYPT: return ec ? "critical,keyAgreement"
				     : "critical,keyEncipherment";
	case ROLE_BOTH: break;
	}
	return ec ? "critical,digitalSignature,keyAgreement"
		  : "critical,digitalSignature,keyEncipherment";
}

/* --- the address ------------------------------------------------------- */

/* The lower-case address, or NULL (logged) unless it is a plain ASCII
 * address in one of the internal domains. */
static char *checked_address(const struct ca *ca, const char *email)
{
	char *low = mailaddr_normalize(email);
	const char *at = low ? strrchr(low, '@') : NULL;
	const char *why = NULL;
	if (low == NULL)
		why = "not an address";
	for (const char *p = low; why == NULL && *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f ||
		    strchr("<>()[]\\,;:\"", *p) != NULL)
			why = "only plain ASCII addresses can be certified";
	if (why == NULL && (at == NULL || at == low || at[1] == '\0' ||
			    strchr(low, '@') != at || at - low > 64 ||
			    strlen(low) > 254))
		why = "not an address";
	if (why == NULL &&
	    !mailaddr_domain_in(at + 1, ca->domains, ca->n_domains))
		why = "not in milter.internal_domains";
	if (why != NULL) {
		smx_log(LOG_ERR, "ca: %s: refusing to issue: %s", email, why);
		free(low);
		return NULL;
	}
	return low;
}

/* --- building a certificate -------------------------------------------- */

static ASN1_IA5STRING *ia5(const char *s)
{
	ASN1_IA5STRING *str = ASN1_IA5STRING_new();
	if (str != NULL && ASN1_STRING_set(str, s, -1) != 1) {
		ASN1_IA5STRING_free(str);
		return NULL;
	}
	return str;
}

/* GENERAL_NAMES holding one name of type (GEN_EMAIL, GEN_URI). */
static GENERAL_NAMES *one_name(int type, const char *value)
{
	GENERAL_NAMES *names = GENERAL_NAMES_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *str = ia5(value);
	if (names == NULL || gn == NULL || str == NULL)
		goto fail;
	GENERAL_NAME_set0_value(gn, type, str);
	str = NULL;
	if (sk_GENERAL_NAME_push(names, gn) <= 0)
		goto fail;
	return names;
fail:
	ASN1_IA5STRING_free(str);
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(names);
	return NULL;
}

static int add_san(X509 *x, const char *email)
{
	GENERAL_NAMES *names = one_name(GEN_EMAIL, email);
	int rc = (names != NULL && X509_add1_ext_i2d(x, NID_subject_alt_name,
						     names, 0,
						     X509V3_ADD_DEFAULT) == 1)
			 ? 0 : -1;
	GENERAL_NAMES_free(names);
	return rc;
}

static int add_crl_dp(X509 *x, const char *url)
{
	CRL_DIST_POINTS *dps = sk_DIST_POINT_new_null();
	DIST_POINT *dp = DIST_POINT_new();
	int rc = -1;
	if (dps == NULL || dp == NULL ||
	    (dp->distpoint = DIST_POINT_NAME_new()) == NULL)
		goto done;
	dp->distpoint->type = 0;	/* fullName */
	if ((dp->distpoint->name.fullname = one_name(GEN_URI, url)) == NULL ||
	    sk_DIST_POINT_push(dps, dp) <= 0)
		goto done;
	dp = NULL;
	if (X509_add1_ext_i2d(x, NID_crl_distribution_points, dps, 0,
			      X509V3_ADD_DEFAULT) == 1)
		rc = 0;
done:
	DIST_POINT_free(dp);
	CRL_DIST_POINTS_free(dps);
	return rc;
}

static X509_NAME *subject_for(const char *email)
{
	X509_NAME *name = X509_NAME_new();
	const unsigned char *v = (const unsigned char *)email;
	/* ub-common-name is 64: a longer address goes in emailAddress only. */
	if (name == NULL || (strlen(email) <= 64 &&
			     X509_NAME_add_entry_by_NID(name, NID_commonName,
							MBSTRING_ASC, v, -1,
							-1, 0) != 1) ||
	    X509_NAME_add_entry_by_NID(name, NID_pkcs9_emailAddress,
				       MBSTRING_ASC, v, -1, -1, 0) != 1) {
		X509_NAME_free(name);
		return NULL;
	}
	return name;
}

static int add_extensions(const struct ca *ca, X509 *x, const char *email,
			  enum role role, bool ec)
{
	if (ca_add_ext(x, ca->cert, NID_basic_constraints,
		       "critical,CA:FALSE") != 0 ||
	    ca_add_ext(x, ca->cert, NID_key_usage, key_usage_for(role, ec)) != 0 ||
	    ca_add_ext(x, ca->cert, NID_ext_key_usage, "emailProtection") != 0 ||
	    ca_add_ext(x, ca->cert, NID_subject_key_identifier, "hash") != 0 ||
	    ca_add_ext(x, ca->cert, NID_authority_key_identifier,
		       "keyid:always") != 0 ||
	    add_san(x, email) != 0)
		return -1;
	if (ca->crl_url != NULL && add_crl_dp(x, ca->crl_url) != 0)
		return -1;
	return 0;
}

static X509 *build(const struct ca *ca, EVP_PKEY *key, const char *email,
		   enum role role, time_t now)
{
	X509 *x = X509_new();
	X509_NAME *name = subject_for(email);
	int64_t to = (int64_t)now + ca->cert_lifetime;
	if (to > ca->not_after)
		to = ca->not_after;	/* never outlive the CA */
	bool ec = EVP_PKEY_is_a(key, "EC");
	if (x == NULL || name == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 || ca_set_serial(x) != 0 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) != 1 ||
	    ca_set_validity(x, (int64_t)now - CA_BACKDATE, to) != 0 ||
	    X509_set_pubkey(x, key) != 1 ||
	    add_extensions(ca, x, email, role, ec) != 0 ||
	    X509_sign(x, ca->key, ca_digest_for(ca->key)) <= 0) {
		ca_log_ossl(email);
		X509_free(x);
		x = NULL;
	}
	X509_NAME_free(name);
	return x;
}

/* --- storing ----------------------------------------------------------- */

/* Stores certificate and key so that no one ever selects a certificate
 * whose key is not held: untrusted first, trusted once the key is in. */
static enum smx_status store_issued(struct store *store,
				    const unsigned char *der, size_t len,
				    const unsigned char *p8, size_t p8_len,
				    char *fp_r)
{
	bool created = false;
	enum smx_status st = store_cert_put(store, der, len,
					    STORE_SOURCE_ISSUED,
					    STORE_TRUST_NONE, NULL, 0, fp_r,
					    &created);
	if (st == SMX_OK)
		st = store_key_put(store, fp_r, p8, p8_len);
	if (st == SMX_OK)
		st = store_cert_set_trust(store, fp_r, STORE_TRUST_CHAIN);
	if (st != SMX_OK && created)
		store_cert_remove(store, fp_r);
	return st;
}

/* Issues and stores one certificate for email. */
static enum smx_status issue_one(const struct ca *ca, const char *email,
				 enum role role, time_t now, char *fp_r)
{
	unsigned char *der = NULL, *p8 = NULL;
	size_t der_len = 0, p8_len = 0;
	enum smx_status st = SMX_TEMPFAIL;
	EVP_PKEY *key = ca_keygen(ca->key_type);
	X509 *x = key ? build(ca, key, email, role, now) : NULL;
	if (x == NULL || (der_len = smx_x509_to_der(x, &der)) == 0 ||
	    (p8_len = smx_x509_key_to_der(key, &p8)) == 0)
		goto done;
	st = store_issued(ca->store, der, der_len, p8, p8_len, fp_r);
	if (st == SMX_OK)
		smx_log(LOG_INFO, "ca: issued %s to %s for %s (%s)", fp_r,
			email, role_name(role), ca_key_type_name(ca->key_type));
	else
		smx_log(LOG_ERR, "ca: %s: the new certificate was not stored "
			"(%s)", email, smx_status_name(st));
done:
	free(der);
	store_secret_free(&p8, p8_len);
	X509_free(x);
	EVP_PKEY_free(key);
	return st;
}

/* --- idempotence ------------------------------------------------------- */

static bool ours(const struct ca *ca, const struct store_cert *c)
{
	return c->source == STORE_SOURCE_ISSUED &&
	       strcmp(c->issuer, ca->subject) == 0;
}

/* The newest usable certificate of ours for purpose, or NULL. */
static const struct store_cert *usable_ours(const struct ca *ca,
					    const struct store_selection *sel)
{
	for (size_t i = 0; sel != NULL && i < sel->n_usable; i++)
		if (ours(ca, sel->items[i].cert))
			return sel->items[i].cert;
	return NULL;
}

/* Fills out from the existing certificates when one may be returned;
 * *due_r says an existing one is due for renewal. */
static enum smx_status find_existing(const struct ca *ca, const char *email,
				     time_t now, struct ca_issued *out,
				     bool *found_r, bool *due_r)
{
	struct store_selection *sign = NULL, *enc = NULL;
	*found_r = *due_r = false;
	enum smx_status st = store_select(ca->store, email, STORE_PURPOSE_SIGN,
					  now, &sign);
	if (st == SMX_TEMPFAIL)
		return st;
	const struct store_cert *s = usable_ours(ca, sign);
	if (s != NULL && s->not_after - (int64_t)ca->renew_before <= (int64_t)now)
		*due_r = true;
	else if (s != NULL)
		*found_r = true;
	if (*found_r) {
		memcpy(out->sign_fingerprint, s->fingerprint, 65);
		memcpy(out->enc_fingerprint, s->fingerprint, 65);
		st = store_select(ca->store, email, STORE_PURPOSE_ENCRYPT, now,
				  &enc);
		const struct store_cert *e = usable_ours(ca, enc);
		if (e != NULL)
			memcpy(out->enc_fingerprint, e->fingerprint, 65);
	}
	store_selection_free(&sign);
	store_selection_free(&enc);
	return st == SMX_TEMPFAIL ? st : SMX_OK;
}

static enum smx_status issue_locked(struct ca *ca, const char *email,
				    unsigned flags, time_t now,
				    struct ca_issued *out)
{
	bool found = false, due = false;
	enum smx_status st = find_existing(ca, email, now, out, &found, &due);
	if (st != SMX_OK || (found && !(flags & CA_ISSUE_FORCE)))
		return st;
	bool separate = ca->separate || (flags & CA_ISSUE_SEPARATE);
	bool have_sign = false, have_enc = false;
	st = issue_one(ca, email, separate ? ROLE_SIGN : ROLE_BOTH, now,
		       out->sign_fingerprint);
	have_sign = st == SMX_OK;
	memcpy(out->enc_fingerprint, out->sign_fingerprint, 65);
	if (st == SMX_OK && separate) {
		st = issue_one(ca, email, ROLE_ENCRYPT, now,
			       out->enc_fingerprint);
		have_enc = st == SMX_OK;
	}
	/* What SMIMEEncryptionKeyPreference names from now on (and what
	 * selection prefers). */
	if (st == SMX_OK)
		st = store_preference_set(ca->store, email,
					  out->enc_fingerprint);
	if (st != SMX_OK) {	/* all or nothing */
		if (have_enc)
			store_cert_remove(ca->store, out->enc_fingerprint);
		if (have_sign)
			store_cert_remove(ca->store, out->sign_fingerprint);
	}
	out->created = st == SMX_OK;
	out->renewed = st == SMX_OK && due && !found;
	return st;
}

enum smx_status ca_issue(struct ca *ca, const char *email, unsigned flags,
			 time_t now, struct ca_issued *out)
{
	struct store_lock *lock = NULL;
	char name[300];
	memset(out, 0, sizeof(*out));
	if (ca->key == NULL) {
		smx_log(LOG_ERR, "ca: %s: cannot issue: the CA key is not "
			"available (master key missing or wrong)", email);
		return SMX_CONFIG;
	}
	char *low = checked_address(ca, email);
	if (low == NULL)
		return SMX_PERMFAIL;
	snprintf(name, sizeof(name), "ca-issue:%s", low);
	enum smx_status st = store_lock_acquire(ca->store, name,
						CA_ISSUE_LOCK_TIMEOUT_MS, &lock);
	if (st == SMX_OK)
		st = issue_locked(ca, low, flags, now, out);
	else
		smx_log(LOG_ERR, "ca: %s: another issuance did not finish in "
			"time, or the store did not answer", low);
	store_lock_release(&lock);
	free(low);
	return st;
}
