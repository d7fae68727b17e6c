/* SPDX-License-Identifier: BSD-2-Clause */
/* The whole check of one certificate: the store's cached status, the
 * organization CA's own records, OCSP, CRLs; and what the mode makes of
 * the status. */
#include "revocation-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <smx/cfg.h>
#include <smx/log.h>
#include <smx/metrics.h>
#include <smx/x509.h>

/* URLs tried per kind: a certificate naming more is odd, and each costs
 * a timeout when its server is down. */
#define MAX_URLS 3

enum revocation_mode revocation_mode_of(const struct cfg_revocation *cfg)
{
	return cfg == NULL ? REVOCATION_MODE_SOFT : cfg->mode;
}

time_t revocation_deadline(const struct cfg_revocation *cfg, time_t start)
{
	return cfg == NULL ? start : start + (time_t)cfg->max_wait;
}

const char *revocation_status_name(enum store_revstatus_value status)
{
	switch (status) {
	case STORE_REVSTATUS_GOOD: return "good";
	case STORE_REVSTATUS_REVOKED: return "revoked";
	case STORE_REVSTATUS_UNKNOWN: return "unknown";
	}
	return "unknown";
}

/* The organization CA's certificate when it issued cert, else NULL. */
static X509 *organization_issuer(struct store *store, X509 *cert)
{
	char ca_fp[65];
	struct store_cert *ca = NULL;
	X509 *x = NULL;
	if (store_ca_get(store, ca_fp) != SMX_OK ||
	    store_cert_get(store, ca_fp, &ca) != SMX_OK)
		return NULL;
	x = store_cert_x509(ca);
	store_cert_free(&ca);
	if (x != NULL && X509_check_issued(x, cert) != X509_V_OK) {
		X509_free(x);
		x = NULL;
	}
	ERR_clear_error();
	return x;
}

/* The organization CA's revocation records are its CRL: a certificate
 * on them is revoked, any other it issued is good. */
static enum smx_status organization_status(struct store *store,
					   const char *ca_fp, const char *fp,
					   time_t now,
					   struct store_revstatus *out)
{
	struct store_revocation *list = NULL;
	size_t n = 0;
	enum smx_status st = store_revocation_list(store, ca_fp, &list, &n);
	out->checked_at = (int64_t)now;
	if (st != SMX_OK) {
		revocation_set(out, STORE_REVSTATUS_UNKNOWN, "organization-ca",
			       "the store did not answer");
		return st;
	}
	revocation_set(out, STORE_REVSTATUS_GOOD, "organization-ca",
		       "not on the organization CA's CRL");
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i].fingerprint, fp) == 0)
			revocation_set(out, STORE_REVSTATUS_REVOKED,
				       "organization-ca",
				       "on the organization CA's CRL");
	store_revocation_list_free(&list, n);
	return SMX_OK;
}

/* Seconds left for one request: the fetch timeout, cut by the deadline;
 * 0 when the deadline has passed. */
static int time_left(const struct cfg_revocation *cfg, time_t deadline)
{
	time_t now = time(NULL);
	if (now >= deadline)
		return 0;
	time_t left = deadline - now;
	unsigned t = cfg->fetch_timeout > 0 ? cfg->fetch_timeout : 5;
	return (int)((time_t)t < left ? (time_t)t : left);
}

/* Appends "what: why" of an unknown answer to the reasons so far,
 * cutting what does not fit. */
static void note(char *reasons, size_t size, const char *what,
		 const char *why)
{
	size_t used = strlen(reasons);
	const char *parts[3] = { used > 0 ? "; " : "", what, why };
	for (size_t p = 0; p < 3; p++) {
		for (const char *c = parts[p]; *c != '\0' && used + 1 < size; c++)
			reasons[used++] = *c;
		if (p == 1 && used + 3 < size) {
			reasons[used++] = ':';
			reasons[used++] = ' ';
		}
	}
	reasons[used] = '\0';
}

/* OCSP first, then the CRLs, until one answers good or revoked.
 * Returns false when max_wait was used up before the first request: that
 * "unknown" says nothing about the certificate and must not be cached. */
static bool ask_network(const struct cfg_revocation *cfg, X509 *cert,
			X509 *issuer, time_t now, time_t deadline,
			struct store_revstatus *out)
{
	char reasons[sizeof(out->detail)] = "";
	size_t max = cfg->max_response_size > 0 ? cfg->max_response_size
						 : 10u * 1024u * 1024u;
	STACK_OF(OPENSSL_STRING) *ocsp = X509_get1_ocsp(cert);
	STACK_OF(OPENSSL_STRING) *crls = revocation_crl_urls(cert);
	/* sk_num of a NULL stack (no extension) is -1 */
	int n_ocsp = ocsp != NULL ? sk_OPENSSL_STRING_num(ocsp) : 0;
	int n_crl = crls != NULL ? sk_OPENSSL_STRING_num(crls) : 0;
	bool asked = false;
	for (int i = 0; i < n_ocsp + n_crl; i++) {
		bool is_ocsp = i < n_ocsp;
		if ((is_ocsp ? i : i - n_ocsp) >= MAX_URLS)
			continue;
		const char *url = is_ocsp ? sk_OPENSSL_STRING_value(ocsp, i)
					  : sk_OPENSSL_STRING_value(crls,
								    i - n_ocsp);
		int timeout = time_left(cfg, deadline);
		if (timeout <= 0) {
			note(reasons, sizeof(reasons), "time",
			     "revocation.max_wait reached");
			break;
		}
		asked = true;
		if (is_ocsp)
			revocation_fetch_ocsp(url, cert, issuer, max, timeout,
					      now, out);
		else
			revocation_fetch_crl(url, cert, issuer, max, timeout,
					     now, out);
		if (out->status != STORE_REVSTATUS_UNKNOWN)
			goto done;
		note(reasons, sizeof(reasons), is_ocsp ? "OCSP" : "CRL",
		     out->detail);
	}
	out->next_update = 0;
	if (n_ocsp <= 0 && n_crl <= 0)
		revocation_set(out, STORE_REVSTATUS_UNKNOWN, "none",
			       "no OCSP responder or CRL distribution point "
			       "named");
	else
		revocation_set(out, STORE_REVSTATUS_UNKNOWN, "none", "%s",
			       reasons);
done:
	X509_email_free(ocsp);
	X509_email_free(crls);
	return asked || (n_ocsp <= 0 && n_crl <= 0);
}

/* How long the status is reused: until nextUpdate, at most max_age; an
 * unknown one for unknown_ttl. */
static int64_t valid_until(const struct cfg_revocation *cfg,
			   const struct store_revstatus *s, time_t now)
{
	if (s->status == STORE_REVSTATUS_UNKNOWN)
		return (int64_t)now + cfg->unknown_ttl;
	int64_t until = (int64_t)now + cfg->max_age;
	if (s->next_update > 0 && s->next_update < until)
		until = s->next_update;
	return until;
}

/* Finds the status out; returns false when it is an unknown that no
 * request stands behind (the time ran out first): not worth caching. */
static bool learn(struct store *store, const struct cfg_revocation *cfg,
		  X509 *cert, X509 *issuer, const char *fp, time_t now,
		  time_t deadline, struct store_revstatus *out)
{
	X509 *org = issuer == NULL || X509_check_issued(issuer, cert) !=
							X509_V_OK
			    ? organization_issuer(store, cert) : NULL;
	char issuer_fp[65] = "", ca_fp[65] = "";
	bool cacheable = true;
	if (org != NULL)
		issuer = org;
	ERR_clear_error();
	if (issuer != NULL && smx_x509_fingerprint(issuer, issuer_fp) &&
	    store_ca_get(store, ca_fp) == SMX_OK &&
	    strcmp(ca_fp, issuer_fp) == 0)
		(void)organization_status(store, ca_fp, fp, now, out);
	else if (issuer == NULL)
		revocation_set(out, STORE_REVSTATUS_UNKNOWN, "none",
			       "the issuer's certificate is not known");
	else if (!cfg->network)
		revocation_set(out, STORE_REVSTATUS_UNKNOWN, "none",
			       "network checks are off (revocation.network)");
	else
		cacheable = ask_network(cfg, cert, issuer, now, deadline, out);
	X509_free(org);
	return cacheable;
}

enum smx_status revocation_check(struct store *store,
				 const struct cfg_revocation *cfg, X509 *cert,
				 X509 *issuer, time_t now, time_t deadline,
				 unsigned flags, struct store_revstatus *out,
				 bool *cached_r)
{
	char fp[65];
	memset(out, 0, sizeof(*out));
	if (cached_r != NULL)
		*cached_r = false;
	if (cert == NULL || !smx_x509_fingerprint(cert, fp)) {
		revocation_set(out, STORE_REVSTATUS_UNKNOWN, "none",
			       "not a certificate");
		return SMX_OK;
	}
	if (!(flags & REVOCATION_FORCE)) {
		enum smx_status st = store_revstatus_get(store, fp, out);
		if (st == SMX_OK && out->valid_until > (int64_t)now) {
			if (cached_r != NULL)
				*cached_r = true;
			return SMX_OK;
		}
		if (st == SMX_TEMPFAIL) {
			memset(out, 0, sizeof(*out));
			memcpy(out->fingerprint, fp, sizeof(fp));
			revocation_set(out, STORE_REVSTATUS_UNKNOWN, "none",
				       "the store did not answer");
			return SMX_TEMPFAIL;
		}
		memset(out, 0, sizeof(*out));
	}
	memcpy(out->fingerprint, fp, sizeof(fp));
	if (flags & REVOCATION_CACHED_ONLY)
		return SMX_NOTFOUND;
	out->checked_at = (int64_t)now;
	bool cacheable = learn(store, cfg, cert, issuer, fp, now, deadline,
			       out);
	memcpy(out->fingerprint, fp, sizeof(fp));
	smx_metrics_revocation(revocation_status_name(out->status));
	if (!cacheable) {
		/* nobody was asked: the next message asks again */
		out->valid_until = (int64_t)now;
		smx_log(LOG_DEBUG, "revocation: certificate %s: not checked "
			"(%s); not cached", fp, out->detail);
		return SMX_OK;
	}
	out->valid_until = valid_until(cfg, out, now);
	if (out->status == STORE_REVSTATUS_REVOKED)
		smx_log(LOG_WARNING, "revocation: certificate %s is revoked "
			"(%s: %s); it is marked revoked in the store", fp,
			out->source, out->detail);
	else
		smx_log(LOG_DEBUG, "revocation: certificate %s: %s (%s: %s)",
			fp, revocation_status_name(out->status), out->source,
			out->detail);
	return store_revstatus_put(store, out) == SMX_TEMPFAIL ? SMX_TEMPFAIL
							       : SMX_OK;
}

bool revocation_usable(struct store *store, const struct cfg_revocation *cfg,
		       const struct store_revstatus *s, const char *what)
{
	enum revocation_mode mode = revocation_mode_of(cfg);
	if (s->status == STORE_REVSTATUS_REVOKED)
		return false;
	if (mode == REVOCATION_MODE_OFF || s->status == STORE_REVSTATUS_GOOD)
		return true;
	if (mode == REVOCATION_MODE_HARD) {
		smx_metrics_revocation("unknown_refused");
		return false;
	}
	smx_metrics_revocation("unknown_used");
	bool first = false;
	if (store_revstatus_mark_logged(store, s->fingerprint, &first) ==
		    SMX_OK && first)
		smx_log(LOG_WARNING, "revocation: status of certificate %s "
			"unknown (%s); used for %s all the same "
			"(revocation.mode soft; logged once)", s->fingerprint,
			s->detail, what);
	return true;
}
