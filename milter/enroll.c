/* SPDX-License-Identifier: BSD-2-Clause */
#include "enroll.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <smx/ca.h>
#include <smx/directory.h>
#include <smx/keyproc.h>
#include <smx/log.h>
#include <smx/metrics.h>

#include "enroll-limit.h"
#include "runtime.h"

/* With ldap.publish, the new encryption certificate goes to the user's
 * directory entry so that every client of the directory finds it. A
 * failure is logged, not fatal: the message is signed all the same. */
static void publish_issued(const struct cfg *cfg, struct store *store,
			   const char *qid, const char *from,
			   const char *fingerprint)
{
	struct directory *dir = runtime_directory();
	struct store_cert *cert = NULL;
	struct directory_changes *changes = NULL;
	if (!cfg->ldap.publish || dir == NULL ||
	    store_cert_get(store, fingerprint, &cert) != SMX_OK)
		return;
	struct directory_blob blob = { cert->der, cert->der_len };
	enum smx_status st = directory_publish(dir, from, &blob, 1, false,
					       &changes);
	if (st == SMX_OK)
		smx_log(LOG_INFO, "%s: published %s for <%s> to the directory "
			"(%zu change%s)", qid, fingerprint, from,
			changes ? changes->count : 0,
			changes && changes->count == 1 ? "" : "s");
	else
		smx_log(LOG_WARNING, "%s: publishing %s for <%s> failed: %s",
			qid, fingerprint, from,
			changes != NULL ? smx_error_text(&changes->error,
							 smx_status_name(st))
					: smx_status_name(st));
	directory_changes_free(&changes);
	store_cert_free(&cert);
}

/* Asks the organization CA for from's identity (new or renewed). */
static enum smx_status issue(struct store *store, const struct cfg *cfg,
			     const char *qid, const char *from,
			     struct ca_issued *out, struct smx_error *why)
{
	struct ca *ca = NULL;
	enum smx_status st = store == NULL ? SMX_TEMPFAIL
			     : keyproc_client_active() ? SMX_OK
			     : ca_open(store, cfg, &ca);
	if (st != SMX_OK) {
		smx_error_set(why, "auto-enrollment: organization CA "
			      "unavailable (%s)", smx_status_name(st));
		smx_metrics_enrollment(SMX_METRICS_ENROLL_FAILED);
		return st;
	}
	/* With the key process, it issues: the CA's key is there. */
	st = ca == NULL ? keyproc_enroll(from, out)
			: ca_issue(ca, from, 0, time(NULL), out);
	ca_free(&ca);
	if (st != SMX_OK) {
		smx_error_set(why, "auto-enrollment of <%s> failed (%s)", from,
			      smx_status_name(st));
		smx_metrics_enrollment(SMX_METRICS_ENROLL_FAILED);
		return st;
	}
	if (out->created) {
		smx_log(LOG_INFO, "%s: enrolled <%s>: %s certificate %s", qid,
			from, out->renewed ? "renewed" : "issued",
			out->sign_fingerprint);
		smx_metrics_enrollment(out->renewed ? SMX_METRICS_ENROLL_RENEWED
						    : SMX_METRICS_ENROLL_ISSUED);
		publish_issued(cfg, store, qid, from, out->enc_fingerprint);
	}
	smx_error_clear(why);
	return SMX_OK;
}

static struct enroll_limit *limiter;
static pthread_once_t limiter_once = PTHREAD_ONCE_INIT;

static void limiter_create(void)
{
	limiter = enroll_limit_new();
}

static const char *domain_of(const char *address)
{
	const char *at = strrchr(address, '@');
	return at != NULL ? at + 1 : address;
}

/* Is login allowed to enroll another new address of from's domain? The
 * first refusal of a login or domain in a window is logged; every one is
 * counted and explained in why. */
static bool within_limits(const struct cfg *cfg, const char *qid,
			  const char *login, const char *from,
			  struct smx_error *why)
{
	pthread_once(&limiter_once, limiter_create);
	bool first = false;
	enum enroll_limit_verdict v =
		limiter == NULL
			? ENROLL_LIMIT_FULL
			: enroll_limit_check(limiter, login, domain_of(from),
					     cfg->ca.enroll_per_login,
					     cfg->ca.enroll_per_domain,
					     time(NULL), &first);
	if (v == ENROLL_LIMIT_ALLOWED)
		return true;
	const char *what = v == ENROLL_LIMIT_LOGIN ? "the login's"
			   : v == ENROLL_LIMIT_DOMAIN ? "the domain's"
						      : "the limiter's";
	smx_error_set(why, "auto-enrollment of <%s> refused: %s hourly "
		      "enrollment limit reached", from, what);
	smx_metrics_enrollment(SMX_METRICS_ENROLL_LIMITED);
	if (v == ENROLL_LIMIT_LOGIN && first)
		smx_log(LOG_WARNING, "%s: login %s reached ca.enroll_per_login "
			"(%u new addresses per hour): no more enrollments for "
			"it until the hour ends (first refused: <%s>)", qid,
			login, cfg->ca.enroll_per_login, from);
	else if (v == ENROLL_LIMIT_DOMAIN && first)
		smx_log(LOG_WARNING, "%s: domain %s reached "
			"ca.enroll_per_domain (%u new addresses per hour): no "
			"more enrollments for it until the hour ends (first "
			"refused: <%s>)", qid, domain_of(from),
			cfg->ca.enroll_per_domain, from);
	else if (first)
		smx_log(LOG_WARNING, "%s: too many logins and domains enrolled "
			"this hour (or out of memory): no more enrollments of "
			"new ones until the hour ends (first refused: <%s>)",
			qid, from);
	return false;
}

/* Did an administrator or the CA ever put a certificate for from into the
 * store? Harvested ones do not count: anybody who mails us signed can
 * have one harvested for any address. */
static enum smx_status store_knows(struct store *store, const char *from,
				   bool *known_r)
{
	struct store_cert **certs = NULL;
	size_t n = 0;
	enum smx_status st = store != NULL
				     ? store_cert_list(store, from, &certs, &n)
				     : SMX_TEMPFAIL;
	*known_r = false;
	for (size_t i = 0; st == SMX_OK && i < n; i++)
		if (certs[i]->source == STORE_SOURCE_IMPORTED ||
		    certs[i]->source == STORE_SOURCE_ISSUED)
			*known_r = true;
	store_cert_list_free(&certs, n);
	return st;
}

/* With ca.enroll_known_only: does the store know from (store_knows), or
 * the directory hold an entry for it (with or without certificates)?
 * SMX_OK (known), SMX_NOTFOUND (unknown) or SMX_TEMPFAIL (cannot tell). */
static enum smx_status known_address(struct store *store, const char *from)
{
	bool known = false;
	enum smx_status st = store_knows(store, from, &known);
	if (st != SMX_OK || known)
		return st == SMX_OK ? SMX_OK : SMX_TEMPFAIL;
	struct directory *dir = runtime_directory();
	if (dir == NULL)
		return SMX_NOTFOUND;
	struct directory_result *r = NULL;
	st = directory_lookup(dir, from, &r);
	bool has_entry = r != NULL && r->n_entries > 0;
	directory_result_free(&r);
	if (st == SMX_OK || (st == SMX_NOTFOUND && has_entry))
		return SMX_OK;
	return st == SMX_TEMPFAIL ? SMX_TEMPFAIL : SMX_NOTFOUND;
}

/* ca.enroll_known_only refuses an address nobody knows: SMX_OK, or the
 * refusal (SMX_PERMFAIL, SMX_TEMPFAIL) with the reason in why. */
static enum smx_status check_known(struct store *store, const struct cfg *cfg,
				   const char *from, struct smx_error *why)
{
	if (!cfg->ca.enroll_known_only)
		return SMX_OK;
	enum smx_status st = known_address(store, from);
	if (st == SMX_OK)
		return SMX_OK;
	smx_metrics_enrollment(st == SMX_NOTFOUND ? SMX_METRICS_ENROLL_UNKNOWN
						  : SMX_METRICS_ENROLL_FAILED);
	smx_error_set(why, "auto-enrollment of <%s> refused: %s", from,
		      st == SMX_NOTFOUND ? "neither the directory nor the "
					   "store knows the address "
					   "(ca.enroll_known_only)"
					 : "the directory or the store cannot "
					   "tell whether it knows the address");
	return st == SMX_NOTFOUND ? SMX_PERMFAIL : SMX_TEMPFAIL;
}

enum smx_status enroll_sender(struct store *store, const struct cfg *cfg,
			      const char *qid, const char *login,
			      const char *from, struct smx_error *why)
{
	if (!within_limits(cfg, qid, login, from, why))
		return SMX_PERMFAIL;
	enum smx_status known = check_known(store, cfg, from, why);
	if (known != SMX_OK)
		return known;
	struct ca_issued out;
	enum smx_status st = issue(store, cfg, qid, from, &out, why);
	if (st == SMX_OK && out.created && limiter != NULL)
		enroll_limit_record(limiter, login, domain_of(from), time(NULL));
	return st;
}

bool enroll_renew_if_due(struct store *store, const struct cfg *cfg,
			 const char *qid, const char *from, int64_t not_after)
{
	if (!enroll_renewal_due(cfg, not_after, time(NULL)))
		return false;
	struct ca_issued out;
	struct smx_error why = { "" };
	if (issue(store, cfg, qid, from, &out, &why) != SMX_OK) {
		smx_log(LOG_WARNING, "%s: %s", qid, why.text);
		return false;
	}
	return out.created;
}

bool enroll_renewal_due(const struct cfg *cfg, int64_t not_after, time_t now)
{
	return cfg->ca.auto_enroll &&
	       not_after - (int64_t)now < (int64_t)cfg->ca.renew_before;
}
