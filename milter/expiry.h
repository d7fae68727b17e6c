/* SPDX-License-Identifier: BSD-2-Clause */
/* Certificates in use that are about to expire: the survey behind the
 * certificates_expiring gauge and the daily warning about internal
 * identities that nobody renews. */
#ifndef SMX_MILTER_EXPIRY_H
#define SMX_MILTER_EXPIRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <smx/store.h>

#define EXPIRY_GAUGE_DAYS	30	/* the gauge: expiring within */
#define EXPIRY_SEEN_DAYS	30	/* a recipient's certificate in use:
					 * seen within */
#define EXPIRY_WARN_DAYS	14	/* the log warning: expiring within */

struct expiry_survey {
	uint64_t identities;	/* internal identities (key held) */
	uint64_t recipients;	/* others, seen in the last 30 days */
	/* the identities to warn about: expiring within 14 days, with no
	 * successor for their addresses and no automatic renewal; pointers
	 * into the surveyed array */
	const struct store_cert **warn;
	size_t n_warn;
};

/* Surveys certs (every stored certificate, store_cert_list) at now:
 * certificates in use (valid now, not revoked, trusted or pinned, not a
 * CA) that expire within EXPIRY_GAUGE_DAYS. auto_renew: auto-enrollment
 * renews identities (ca.auto_enroll), so none is warned about. Returns
 * 0, or -1 when memory ran out; free with expiry_survey_clear. */
int expiry_survey_make(struct store_cert *const *certs, size_t n, time_t now,
		       bool auto_renew, struct expiry_survey *out);
void expiry_survey_clear(struct expiry_survey *s);

/* Whether the identity with that fingerprint is to be warned about now:
 * once a day (UTC) per fingerprint, across calls. Thread-safe. */
bool expiry_warn_due(const char *fingerprint, time_t now);

/* The thread that surveys the store at start and every hour, sets the
 * gauge and logs the warnings. Started after the fork; a failure to
 * start costs the survey, never the mail. */
int expiry_watch_start(void);
void expiry_watch_stop(void);

#endif
