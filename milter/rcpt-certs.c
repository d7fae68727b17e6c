/* SPDX-License-Identifier: BSD-2-Clause */
#include "rcpt-certs.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <smx/log.h>
#include <smx/lookup.h>
#include <smx/metrics.h>

/* Counts who answered a lookup: the directory (asked by this call), or
 * directory data cached in the store (a fresh negative entry, or a
 * certificate that came from the directory earlier). */
static void count_lookup(const struct directory *dir,
			 const struct lookup_result *res, enum lookup_answer a,
			 uint64_t micros)
{
	if (a == LOOKUP_UNKNOWN)
		smx_metrics_failure(SMX_METRICS_FAIL_LOOKUP);
	if (res == NULL)
		return;
	if (res->directory_asked)
		smx_metrics_directory_lookup(
			a == LOOKUP_AVAILABLE ? SMX_METRICS_LOOKUP_HIT
			: a == LOOKUP_MISSING ? SMX_METRICS_LOOKUP_MISS
					      : SMX_METRICS_LOOKUP_UNKNOWN,
			micros);
	else if (dir != NULL &&
		 (a == LOOKUP_MISSING ||
		  (a == LOOKUP_AVAILABLE && res->n_usable > 0 &&
		   res->items[0].origin == LOOKUP_FROM_CACHE)))
		smx_metrics_cache_hit();
}

enum policy_availability recipient_cert_state(struct store *store,
					      struct directory *dir,
					      const struct cfg *cfg,
					      const char *rcpt,
					      time_t deadline)
{
	if (store == NULL) {
		smx_metrics_failure(SMX_METRICS_FAIL_LOOKUP);
		return POLICY_UNKNOWN;
	}
	struct lookup_result *res = NULL;
	uint64_t started = smx_metrics_clock_us();
	enum lookup_answer a = lookup_encrypt_certs_checked(
		store, &cfg->verify, &cfg->revocation, dir, &cfg->ldap, rcpt,
		time(NULL), deadline, &res);
	count_lookup(dir, res, a, smx_metrics_since_us(started));
	lookup_result_free(&res);
	return a == LOOKUP_AVAILABLE ? POLICY_AVAILABLE
	       : a == LOOKUP_MISSING ? POLICY_MISSING : POLICY_UNKNOWN;
}

static int push(struct enc_recipients *r, X509 *cert, unsigned caps,
		bool legacy)
{
	struct smime_recipient *grown =
		realloc(r->items, (r->n + 1) * sizeof(*grown));
	if (grown == NULL) {
		X509_free(cert);
		return -1;
	}
	r->items = grown;
	r->items[r->n++] = (struct smime_recipient){ cert, caps, legacy };
	return 0;
}

/* The best encryption certificate of email (revocation checked), or
 * SMX_NOTFOUND. */
static enum smx_status best_cert(struct store *store, const struct cfg *cfg,
				 const char *email, time_t deadline,
				 X509 **cert_r,
				 unsigned *caps_r)
{
	struct store_selection *sel = NULL;
	enum smx_status st = lookup_select_encrypt(store, &cfg->verify,
						   &cfg->revocation, email,
						   time(NULL), deadline, &sel);
	if (st == SMX_OK) {
		const struct store_cert *c = sel->items[0].cert;
		*cert_r = store_cert_x509(c);
		*caps_r = 0;
		if (smime_caps_parse(c->smime_caps, c->smime_caps_len,
				     caps_r) != SMX_OK)
			*caps_r = 0;	/* unknown: the safe choices */
		if (*cert_r == NULL)
			st = SMX_PERMFAIL;
	}
	store_selection_free(&sel);
	return st;
}

static X509 *read_pem_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return x;
}

static enum smx_status add_extras(struct store *store, const struct cfg *cfg,
				  const char *from, time_t deadline,
				  bool legacy,
				  struct enc_recipients *out,
				  struct smx_error *why)
{
	X509 *cert = NULL;
	unsigned caps = 0;
	if (policy_encrypt_to_sender(cfg->policy) && from != NULL &&
	    best_cert(store, cfg, from, deadline, &cert, &caps) == SMX_OK &&
	    push(out, cert, caps, legacy) != 0)
		return SMX_TEMPFAIL;
	const char *archive = policy_archive_certificate(cfg->policy);
	if (archive == NULL)
		return SMX_OK;
	cert = read_pem_cert(archive);
	if (cert == NULL) {
		return smx_error_fail(why, SMX_TEMPFAIL, "archive certificate "
				      "%s cannot be read", archive);
	}
	return push(out, cert, 0, legacy) == 0 ? SMX_OK : SMX_TEMPFAIL;
}

/* Why recipient i of the plan has no certificate to encrypt to: one the
 * store holds but OpenSSL cannot read (permanent), the store did not
 * answer (temporary), or none is usable since RCPT time. */
static enum smx_status unavailable(const struct plan *plan, size_t i,
				   const struct store_cert *c)
{
	if (c != NULL)
		return SMX_PERMFAIL;
	return plan->rcpts[i].selected == POLICY_UNKNOWN ? SMX_TEMPFAIL
							 : SMX_NOTFOUND;
}

enum smx_status recipients_collect(struct store *store, const struct cfg *cfg,
				   const struct plan *plan,
				   const struct policy_decision *d,
				   struct enc_recipients *out,
				   struct smx_error *why)
{
	*out = (struct enc_recipients){ NULL, 0 };
	smx_error_clear(why);
	if (store == NULL)
		return smx_error_fail(why, SMX_TEMPFAIL, "store unavailable");
	for (size_t i = 0; i < d->n_rcpts; i++) {
		if (!d->rcpts[i].encrypt_to)
			continue;
		const struct store_cert *c = plan_rcpt_cert(plan, i);
		X509 *cert = c != NULL ? store_cert_x509(c) : NULL;
		if (cert == NULL) {
			enum smx_status st = unavailable(plan, i, c);
			smx_error_set(why, "certificate of <%s> unavailable "
				      "(%s)", d->rcpts[i].address,
				      smx_status_name(st));
			return st == SMX_NOTFOUND ? SMX_TEMPFAIL : st;
		}
		if (push(out, cert, plan->rcpts[i].caps,
			 d->rcpts[i].level.legacy_interop.value == 2) != 0)
			return SMX_TEMPFAIL;
	}
	return add_extras(store, cfg, plan->from, plan->revocation_deadline,
			  d->legacy_interop, out, why);
}

void recipients_release(struct enc_recipients *r)
{
	for (size_t i = 0; i < r->n; i++)
		X509_free(r->items[i].cert);
	free(r->items);
	r->items = NULL;
	r->n = 0;
}
