/* SPDX-License-Identifier: BSD-2-Clause */
/* The expiry survey and the once-a-day memory of warnings: see
 * expiry.h. No store access here: the watcher (expiry-watch.c) reads. */
#include "expiry.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400

/* Valid at now, not revoked, trusted or pinned, an end entity. */
static bool in_force(const struct store_cert *c, time_t now)
{
	return !c->is_ca && !c->revoked && c->not_before <= (int64_t)now &&
	       c->not_after >= (int64_t)now &&
	       (c->trust == STORE_TRUST_CHAIN || c->trust == STORE_TRUST_PINNED);
}

static bool ends_within(const struct store_cert *c, time_t now, int days)
{
	return c->not_after - (int64_t)now <= (int64_t)days * DAY;
}

static bool shares_address(const struct store_cert *a,
			   const struct store_cert *b)
{
	for (size_t i = 0; i < a->n_emails; i++)
		for (size_t j = 0; j < b->n_emails; j++)
			if (strcmp(a->emails[i], b->emails[j]) == 0)
				return true;
	return false;
}

/* Whether another identity for one of c's addresses stays valid past
 * the warning period: c was renewed by hand, nothing to do. */
static bool has_successor(struct store_cert *const *certs, size_t n,
			  const struct store_cert *c, time_t now)
{
	for (size_t i = 0; i < n; i++) {
		const struct store_cert *o = certs[i];
		if (o != c && o->has_key && in_force(o, now) &&
		    !ends_within(o, now, EXPIRY_WARN_DAYS) &&
		    shares_address(o, c))
			return true;
	}
	return false;
}

int expiry_survey_make(struct store_cert *const *certs, size_t n, time_t now,
		       bool auto_renew, struct expiry_survey *out)
{
	memset(out, 0, sizeof(*out));
	out->warn = calloc(n + 1, sizeof(*out->warn));
	if (out->warn == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct store_cert *c = certs[i];
		if (!in_force(c, now) || !ends_within(c, now, EXPIRY_GAUGE_DAYS))
			continue;
		if (c->has_key) {
			out->identities++;
			if (!auto_renew && ends_within(c, now, EXPIRY_WARN_DAYS) &&
			    !has_successor(certs, n, c, now))
				out->warn[out->n_warn++] = c;
		} else if (c->last_seen >= (int64_t)now -
					     (int64_t)EXPIRY_SEEN_DAYS * DAY) {
			out->recipients++;
		}
	}
	return 0;
}

void expiry_survey_clear(struct expiry_survey *s)
{
	free(s->warn);
	memset(s, 0, sizeof(*s));
}

/* --- once a day ------------------------------------------------------------ */

#define WARNED_MAX 256

static pthread_mutex_t warned_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char fingerprint[65];
	int64_t day;
} warned[WARNED_MAX];

bool expiry_warn_due(const char *fingerprint, time_t now)
{
	int64_t today = (int64_t)now / DAY;
	size_t slot = 0;
	bool due = true;
	pthread_mutex_lock(&warned_lock);
	for (size_t i = 0; i < WARNED_MAX; i++) {
		if (strcmp(warned[i].fingerprint, fingerprint) == 0) {
			slot = i;
			due = warned[i].day != today;
			goto record;
		}
		if (warned[i].day < warned[slot].day)
			slot = i;	/* the oldest (or an empty) slot */
	}
record:
	if (due) {
		snprintf(warned[slot].fingerprint,
			 sizeof(warned[slot].fingerprint), "%s", fingerprint);
		warned[slot].day = today;
	}
	pthread_mutex_unlock(&warned_lock);
	return due;
}
