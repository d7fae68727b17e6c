/* SPDX-License-Identifier: BSD-2-Clause */
/* Revoking what the CA issued, and the CRL (RFC 5280 section 5) that
 * lists it. */
#include "ca-private.h"

#include <stdlib.h>
#include <string.h>
#include <ctype.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <smx/log.h>

#define CRL_NUMBER_COUNTER "ca.crl_number"

static const struct {
	int code;
	const char *name;
} reasons[] = {
	{ CA_REASON_UNSPECIFIED, "unspecified" },
	{ CA_REASON_KEY_COMPROMISE, "keyCompromise" },
	{ CA_REASON_AFFILIATION_CHANGED, "affiliationChanged" },
	{ CA_REASON_SUPERSEDED, "superseded" },
	{ CA_REASON_CESSATION, "cessationOfOperation" },
	{ CA_REASON_PRIVILEGE_WITHDRAWN, "privilegeWithdrawn" },
};
#define N_REASONS (sizeof(reasons) / sizeof(reasons[0]))

/* Compares ignoring case and the separators '-' and '_'. */
static bool same_words(const char *a, const char *b)
{
	for (;;) {
		while (*a == '-' || *a == '_')
			a++;
		while (*b == '-' || *b == '_')
			b++;
		if (*a == '\0' || *b == '\0')
			return *a == *b;
		if (tolower((unsigned char)*a++) != tolower((unsigned char)*b++))
			return false;
	}
}

bool ca_reason_parse(const char *name, int *code_r)
{
	for (size_t i = 0; name != NULL && i < N_REASONS; i++) {
		if (same_words(name, reasons[i].name)) {
			*code_r = reasons[i].code;
			return true;
		}
	}
	return false;
}

const char *ca_reason_name(int code)
{
	for (size_t i = 0; i < N_REASONS; i++)
		if (reasons[i].code == code)
			return reasons[i].name;
	return "unknown";
}

/* --- revoking ---------------------------------------------------------- */

/* SMX_OK when this CA signed the certificate. */
static enum smx_status issued_by_us(const struct ca *ca,
				    const struct store_cert *c)
{
	X509 *x = smx_x509_parse(c->der, c->der_len, NULL, 0);
	EVP_PKEY *pub = X509_get0_pubkey(ca->cert);
	enum smx_status st = SMX_PERMFAIL;
	if (strcmp(c->fingerprint, ca->fingerprint) == 0)
		smx_log(LOG_ERR, "ca: %s is the CA certificate itself: it "
			"cannot be on its own CRL", c->fingerprint);
	else if (x == NULL || pub == NULL ||
		 X509_NAME_cmp(X509_get_issuer_name(x),
			       X509_get_subject_name(ca->cert)) != 0 ||
		 X509_verify(x, pub) != 1)
		smx_log(LOG_ERR, "ca: %s (%s) was not issued by this CA: only "
			"its own certificates can be revoked", c->fingerprint,
			c->subject);
	else
		st = SMX_OK;
	ERR_clear_error();
	X509_free(x);
	return st;
}

enum smx_status ca_revoke(struct ca *ca, const char *fingerprint, int reason,
			  time_t now, bool *already_r)
{
	struct store_cert *c = NULL;
	bool created = false;
	if (already_r != NULL)
		*already_r = false;
	enum smx_status st = store_cert_get(ca->store, fingerprint, &c);
	if (st == SMX_NOTFOUND)
		smx_log(LOG_ERR, "ca: %s: no such certificate", fingerprint);
	if (st != SMX_OK)
		return st;
	st = issued_by_us(ca, c);
	if (st == SMX_OK)
		st = store_revocation_add(ca->store, c->fingerprint,
					  ca->fingerprint, c->serial,
					  (int64_t)now, reason, &created);
	if (st == SMX_OK && already_r != NULL)
		*already_r = !created;
	if (st == SMX_OK && created)
		smx_log(LOG_INFO, "ca: revoked %s (serial %s, %s)",
			c->fingerprint, c->serial, ca_reason_name(reason));
	store_cert_free(&c);
	return st;
}

/* --- the CRL ----------------------------------------------------------- */

static int add_entry(X509_CRL *crl, const struct store_revocation *r)
{
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial = NULL;
	ASN1_TIME *when = ASN1_TIME_set(NULL, (time_t)r->revoked_at);
	ASN1_ENUMERATED *reason = NULL;
	X509_REVOKED *rev = X509_REVOKED_new();
	int rc = -1;
	if (rev == NULL || when == NULL || BN_hex2bn(&bn, r->serial) == 0 ||
	    (serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    X509_REVOKED_set_serialNumber(rev, serial) != 1 ||
	    X509_REVOKED_set_revocationDate(rev, when) != 1)
		goto done;
	/* RFC 5280 5.3.1: leave the reason out rather than say unspecified. */
	if (r->reason != CA_REASON_UNSPECIFIED &&
	    ((reason = ASN1_ENUMERATED_new()) == NULL ||
	     ASN1_ENUMERATED_set(reason, r->reason) != 1 ||
	     X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, reason, 0, 0) != 1))
		goto done;
	if (X509_CRL_add0_revoked(crl, rev) != 1)
		goto done;
	rev = NULL;
	rc = 0;
done:
	X509_REVOKED_free(rev);
	ASN1_ENUMERATED_free(reason);
	ASN1_INTEGER_free(serial);
	ASN1_TIME_free(when);
	BN_free(bn);
	return rc;
}

static int set_header(const struct ca *ca, X509_CRL *crl, time_t now)
{
	ASN1_TIME *this_update = ASN1_TIME_set(NULL, now);
	ASN1_TIME *next_update = ASN1_TIME_set(NULL, now + ca->crl_validity);
	int rc = (this_update != NULL && next_update != NULL &&
		  X509_CRL_set_version(crl, X509_CRL_VERSION_2) == 1 &&
		  X509_CRL_set_issuer_name(crl,
					   X509_get_subject_name(ca->cert)) == 1 &&
		  X509_CRL_set1_lastUpdate(crl, this_update) == 1 &&
		  X509_CRL_set1_nextUpdate(crl, next_update) == 1) ? 0 : -1;
	ASN1_TIME_free(this_update);
	ASN1_TIME_free(next_update);
	return rc;
}

static int add_crl_extensions(const struct ca *ca, X509_CRL *crl,
			      int64_t number)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, ca->cert, NULL, NULL, crl, 0);
	X509_EXTENSION *aki = X509V3_EXT_conf_nid(NULL, &ctx,
						  NID_authority_key_identifier,
						  "keyid:always");
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	int rc = (aki != NULL && X509_CRL_add_ext(crl, aki, -1) == 1 &&
		  num != NULL && ASN1_INTEGER_set_int64(num, number) == 1 &&
		  X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) == 1)
			 ? 0 : -1;
	X509_EXTENSION_free(aki);
	ASN1_INTEGER_free(num);
	return rc;
}

static enum smx_status build_crl(const struct ca *ca, time_t now,
				 const struct store_revocation *list, size_t n,
				 int64_t number, unsigned char **der_r,
				 size_t *len_r)
{
	X509_CRL *crl = X509_CRL_new();
	unsigned char *tmp = NULL;
	int len = -1;
	enum smx_status st = SMX_TEMPFAIL;
	if (crl == NULL || set_header(ca, crl, now) != 0)
		goto done;
	for (size_t i = 0; i < n; i++)
		if (add_entry(crl, &list[i]) != 0)
			goto done;
	if (X509_CRL_sort(crl) != 1 || add_crl_extensions(ca, crl, number) != 0 ||
	    X509_CRL_sign(crl, ca->key, ca_digest_for(ca->key)) <= 0 ||
	    (len = i2d_X509_CRL(crl, &tmp)) <= 0)
		goto done;
	if ((*der_r = malloc((size_t)len)) == NULL)
		goto done;
	memcpy(*der_r, tmp, (size_t)len);
	*len_r = (size_t)len;
	st = SMX_OK;
done:
	if (st != SMX_OK)
		ca_log_ossl("building the CRL");
	OPENSSL_free(tmp);
	X509_CRL_free(crl);
	return st;
}

enum smx_status ca_crl(struct ca *ca, time_t now, unsigned char **der_r,
		       size_t *len_r, size_t *n_r)
{
	struct store_revocation *list = NULL;
	size_t n = 0;
	int64_t number = 0;
	*der_r = NULL;
	*len_r = 0;
	if (ca->key == NULL) {
		smx_log(LOG_ERR, "ca: cannot sign a CRL: the key of the CA %s "
			"is not available (master key missing or wrong)",
			ca->fingerprint);
		return SMX_CONFIG;
	}
	enum smx_status st = store_revocation_list(ca->store, ca->fingerprint,
						   &list, &n);
	if (st == SMX_OK)
		st = store_counter_next(ca->store, CRL_NUMBER_COUNTER, &number);
	if (st == SMX_OK)
		st = build_crl(ca, now, list, n, number, der_r, len_r);
	if (st == SMX_OK && n_r != NULL)
		*n_r = n;
	store_revocation_list_free(&list, n);
	return st;
}
