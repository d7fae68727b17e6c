/* SPDX-License-Identifier: BSD-2-Clause */
/* The verifier (trust anchors, limits, harvest rules) is built once per
 * configuration snapshot and rebuilt every VERIFIER_TTL seconds, and at
 * once when the store's trust anchors changed (`smimectl trust add` or
 * `remove`: a removed anchor vouches for no further message). */
#include "inbound.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <smx/inbound-verify.h>
#include <smx/log.h>
#include <smx/metrics.h>
#include <smx/policy-engine.h>
#include <smx/smime-harvest.h>
#include <smx/smime.h>
#include <smx/store.h>

#include "decrypt.h"
#include "edits.h"
#include "runtime.h"

#define VERIFIER_TTL 300

struct shared_verifier {
	struct smime_verifier *verifier;
	unsigned long generation;	/* of the snapshot it was built for */
	time_t built;
	uint64_t anchors;	/* anchors_digest() it was built with */
	unsigned refs;
};

static pthread_mutex_t verifier_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t build_lock = PTHREAD_MUTEX_INITIALIZER;	/* build() */
static struct shared_verifier *current;

static void shared_release(struct shared_verifier *s)
{
	pthread_mutex_lock(&verifier_lock);
	bool last = --s->refs == 0;
	pthread_mutex_unlock(&verifier_lock);
	if (last) {
		smime_verifier_free(&s->verifier);
		free(s);
	}
}

void inbound_cache_clear(void)
{
	pthread_mutex_lock(&verifier_lock);
	struct shared_verifier *old = current;
	current = NULL;
	pthread_mutex_unlock(&verifier_lock);
	if (old != NULL)
		shared_release(old);
}

/* A digest of the set of the store's anchors (their fingerprints, in
 * the store's order); 0 when the store did not answer. */
static uint64_t anchors_digest(void)
{
	struct store *store = runtime_store();
	struct store_anchor *anchors = NULL;
	size_t n = 0;
	uint64_t h = 14695981039346656037u;	/* FNV-1a */
	if (store == NULL || store_anchor_list(store, &anchors, &n) != SMX_OK)
		return 0;
	for (size_t i = 0; i < n; i++)
		for (const char *p = anchors[i].fingerprint; *p != '\0'; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211u;
	store_anchor_list_free(&anchors, n);
	return h;
}

static void add_store_anchors(struct smime_verifier *v)
{
	struct store *store = runtime_store();
	struct store_anchor *anchors = NULL;
	size_t n = 0;
	if (store == NULL || store_anchor_list(store, &anchors, &n) != SMX_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		struct smx_error err = { "" };
		if (smime_verifier_add_anchor(v, anchors[i].der,
					      anchors[i].der_len, &err) != SMX_OK)
			smx_log(LOG_WARNING, "trust anchor %s: %s",
				anchors[i].fingerprint, err.text);
	}
	store_anchor_list_free(&anchors, n);
}

static struct shared_verifier *build(const struct cfg *cfg, uint64_t digest)
{
	struct smime_verify_options o;
	inbound_verify_options(cfg, &o);
	struct shared_verifier *s = calloc(1, sizeof(*s));
	struct smx_error err = { "" };
	if (s == NULL || smime_verifier_new(&o, &s->verifier, &err) != SMX_OK) {
		smx_log(LOG_ERR, "cannot set up verification: %s",
			s ? err.text : "out of memory");
		free(s);
		return NULL;
	}
	add_store_anchors(s->verifier);
	s->generation = cfg->generation;
	s->anchors = digest;
	s->built = time(NULL);
	s->refs = 1;	/* the cache's */
	return s;
}

/* The cached verifier when it is for cfg and these anchors and fresh,
 * with a reference for the caller; or NULL. A store that did not answer
 * (digest 0) keeps the verifier it has until the TTL. */
static struct shared_verifier *current_for(const struct cfg *cfg,
					   uint64_t digest)
{
	time_t now = time(NULL);
	pthread_mutex_lock(&verifier_lock);
	struct shared_verifier *s = current;
	if (s != NULL && s->generation == cfg->generation &&
	    now - s->built < VERIFIER_TTL &&
	    (digest == 0 || digest == s->anchors))
		s->refs++;
	else
		s = NULL;
	pthread_mutex_unlock(&verifier_lock);
	return s;
}

/* A verifier for cfg with a reference for the caller, or NULL. One
 * thread builds at a time, so that a burst of messages at start (or
 * after the TTL) reads the anchors once, not once per message. */
static struct shared_verifier *get_verifier(const struct cfg *cfg)
{
	uint64_t digest = anchors_digest();
	struct shared_verifier *s = current_for(cfg, digest);
	if (s != NULL)
		return s;
	pthread_mutex_lock(&build_lock);
	s = current_for(cfg, digest);
	if (s != NULL) {
		pthread_mutex_unlock(&build_lock);
		return s;
	}
	struct shared_verifier *fresh = build(cfg, digest), *old = NULL;
	if (fresh != NULL) {
		pthread_mutex_lock(&verifier_lock);
		old = current;
		current = fresh;
		fresh->refs++;	/* the caller's */
		pthread_mutex_unlock(&verifier_lock);
	}
	pthread_mutex_unlock(&build_lock);	/* current is set: others use it */
	if (old != NULL)
		shared_release(old);
	return fresh;
}

/* Applies the verification's header edits, but for its deletions: the
 * forged headers are gone already (inbound_strip_forged_results). */
static int apply_edits(SMFICTX *ctx, const struct smime_verify *v,
		       bool add_none)
{
	for (size_t i = 0; i < smime_verify_edit_count(v); i++) {
		const struct smime_header_edit *e = smime_verify_edit(v, i);
		if (e->op == SMIME_EDIT_DELETE ||
		    (!add_none && smime_verify_result(v) == SMIME_RESULT_NONE))
			continue;
		if (edit_apply(ctx, e) != 0)
			return -1;
	}
	return 0;
}

static void harvest(const struct smime_verify *v,
		    const struct smime_verify_msginfo *info, char *summary,
		    size_t size)
{
	struct store *store = runtime_store();
	size_t created = 0;
	size_t used = strlen(summary);
	if (smime_verify_harvest_count(v) == 0) {
		/* Say why, so that an administrator who expected a partner's
		 * certificate in the store need not guess from the result. */
		const struct smime_signature *s =
			smime_verify_signature_count(v) > 0
				? smime_verify_signature(v, 0) : NULL;
		if (s != NULL && s->harvest_comment != NULL)
			snprintf(summary + used, size - used,
				 "; not harvested (%s)", s->harvest_comment);
		return;
	}
	if (store == NULL ||
	    smime_harvest_store(store, v, info, time(NULL), &created) != SMX_OK) {
		snprintf(summary + used, size - used, "; harvest failed "
			 "(store unavailable)");
		smx_metrics_failure(SMX_METRICS_FAIL_HARVEST);
	} else {
		snprintf(summary + used, size - used, "; harvested %zu "
			 "certificate%s (%zu new)", smime_verify_harvest_count(v),
			 smime_verify_harvest_count(v) == 1 ? "" : "s", created);
		smx_metrics_harvest(smime_verify_harvest_count(v));
	}
}

/* Counts each signature's result and the verification's time. */
static void count_verification(const struct smime_verify *v, uint64_t started)
{
	smx_metrics_verification(smx_metrics_since_us(started));
	for (size_t i = 0; i < smime_verify_signature_count(v); i++)
		smx_metrics_signature_verified(
			smime_result_name(smime_verify_signature(v, i)->result));
}

/* Copies the folded header value into dst as one log line: every run of
 * white space (line ends included) becomes one space, none leads. */
static void one_line(char *dst, size_t size, const char *src)
{
	size_t n = 0;
	bool space = true;	/* drops leading white space */
	for (; *src != '\0' && n + 1 < size; src++) {
		bool ws = *src == ' ' || *src == '\t' || *src == '\r' ||
			  *src == '\n';
		if (!ws)
			dst[n++] = *src;
		else if (!space)
			dst[n++] = ' ';
		space = ws;
	}
	dst[n] = '\0';
}

/* Prefixes the decryption's summary (if any) to the verification's. */
static void join_summary(char *summary, size_t size, const char *decrypted)
{
	if (decrypted[0] == '\0')
		return;
	size_t len = strlen(decrypted);
	if (len + 2 >= size)
		return;
	memmove(summary + len + 2, summary, size - len - 2);
	summary[size - 1] = '\0';
	memcpy(summary, decrypted, len);
	memcpy(summary + len, "; ", 2);
}

int inbound_apply(SMFICTX *ctx, struct conn *c, const char *qid,
		  char *summary, size_t size)
{
	struct msg *m = c->msg;
	struct smx_error err = { "" };
	struct smime_verify_msginfo info = { m->sender, false };
	struct smime_decrypt *dec = NULL;
	char decrypted[200];
	if (inbound_decrypt(ctx, c, qid, &dec, decrypted,
			    sizeof(decrypted)) != 0) {
		snprintf(summary, size, "%s", decrypted[0] ? decrypted
			 : "decryption edits refused");
		return -1;
	}
	struct shared_verifier *s = get_verifier(c->cfg);
	struct smime_verify *v = s ? smime_verify_begin(s->verifier) : NULL;
	struct inbound_revocation revocation;
	inbound_verify_revocation(v, runtime_store(), c->cfg, time(NULL),
				  &revocation);
	int rc = 0;
	uint64_t started = smx_metrics_clock_us();
	snprintf(summary, size, "smime: not verified");
	/* a decrypted message is verified as it is delivered */
	const struct hdrlist *headers = dec != NULL
		? smime_decrypt_result_headers(dec) : m->headers;
	struct spool *body = dec != NULL ? smime_decrypt_result_body(dec)
					 : m->body;
	if (v == NULL ||
	    smime_verify_eom(v, headers, body, &info, &err) != SMX_OK) {
		smx_log(LOG_WARNING, "%s: verification skipped: %s", qid,
			err.text[0] ? err.text : "out of memory");
		smx_metrics_failure(SMX_METRICS_FAIL_VERIFY);
		goto done;
	}
	count_verification(v, started);
	const char *ar = smime_verify_ar_value(v);
	one_line(summary, size, ar != NULL ? ar : "smime=none");
	if (apply_edits(ctx, v, c->cfg->verify.authentication_results_none)
	    != 0) {
		smx_metrics_failure(SMX_METRICS_FAIL_MTA);
		rc = -1;
		goto done;
	}
	harvest(v, &info, summary, size);
done:
	join_summary(summary, size, decrypted);
	smime_verify_free(&v);
	smime_decrypt_free(&dec);
	if (s != NULL)
		shared_release(s);
	return rc;
}

/* Answers the message with code/xcode and reply, and logs the decision
 * with reason. */
static sfsistat refuse(SMFICTX *ctx, const struct conn *c, const char *qid,
		       const char *direction, const char *code,
		       const char *reply, const char *reason)
{
	const struct msg *m = c->msg;
	bool reject = code[0] == '5';
	const char *action = reject ? "reject" : "tempfail";
	char rcode[4], xcode[8], text[300];
	snprintf(rcode, sizeof(rcode), "%s", code);
	snprintf(xcode, sizeof(xcode), "%s", reject ? "5.7.1" : "4.3.0");
	snprintf(text, sizeof(text), "smime-milter: %s", reply);
	smx_log(reject ? LOG_INFO : LOG_WARNING, "%s: direction=%s from=<%s> "
		"rcpts=%zu client=%s action=%s reason=\"%s\"", qid, direction,
		m->sender, m->n_rcpts, c->client_text, action, reason);
	smx_metrics_message(direction, action, 0);
	smfi_setreply(ctx, rcode, xcode, text);
	return reject ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

sfsistat inbound_strip_forged_results(SMFICTX *ctx, const struct conn *c,
				      const char *qid, const char *direction)
{
	const struct msg *m = c->msg;
	char name[] = "Authentication-Results";	/* libmilter wants char * */
	char why[400];
	if (m->ar_overflow) {
		snprintf(why, sizeof(why), "too many Authentication-Results "
			 "headers naming %s", c->cfg->milter.authserv_id);
		return refuse(ctx, c, qid, direction, "550", why, why);
	}
	/* Only this gateway writes the decryption header, after decrypting:
	 * every one the message came with is forged, kept or not. */
	char decrypted[] = SMIME_DECRYPTED_HEADER;
	for (unsigned n = m->decrypted_seen; n > 0; n--)
		if (smfi_chgheader(ctx, decrypted, (int)n, NULL) != MI_SUCCESS) {
			smx_metrics_failure(SMX_METRICS_FAIL_MTA);
			return refuse(ctx, c, qid, direction, "451",
				      "cannot remove a forged "
				      SMIME_DECRYPTED_HEADER " header",
				      "the MTA refused to remove a forged "
				      SMIME_DECRYPTED_HEADER " header");
		}
	/* highest first: a deletion never moves an index still to come */
	for (size_t i = m->n_ar_ours; i-- > 0;)
		if (smfi_chgheader(ctx, name, (int)m->ar_ours[i], NULL) !=
		    MI_SUCCESS) {
			smx_metrics_failure(SMX_METRICS_FAIL_MTA);
			return refuse(ctx, c, qid, direction, "451",
				      "cannot remove a forged "
				      "Authentication-Results header",
				      "the MTA refused to remove a forged "
				      "Authentication-Results header");
		}
	return SMFIS_CONTINUE;
}
