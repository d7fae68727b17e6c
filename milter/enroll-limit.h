/* SPDX-License-Identifier: BSD-2-Clause */
/* Bounds on auto-enrollment: how many new addresses one SASL login, and
 * one domain, may have the organization CA issue per hour. A login
 * granted "@domain" as a signer could otherwise mint a key pair and a
 * store row for every address it invents.
 *
 * Counts live in the process (fixed one-hour windows) and are shared by
 * its threads; several milter processes or hosts each count their own.
 * The caller asks before issuing and records only what was issued, so
 * concurrent first messages of one address count once. */
#ifndef SMX_MILTER_ENROLL_LIMIT_H
#define SMX_MILTER_ENROLL_LIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Seconds in one counting window. */
#define ENROLL_LIMIT_WINDOW 3600

/* At most this many logins and domains are counted per window; beyond,
 * new ones are refused until the window ends. */
#define ENROLL_LIMIT_MAX_KEYS 4096

enum enroll_limit_verdict {
	ENROLL_LIMIT_ALLOWED,
	ENROLL_LIMIT_LOGIN,	/* the login reached its limit */
	ENROLL_LIMIT_DOMAIN,	/* the domain reached its limit */
	ENROLL_LIMIT_FULL,	/* too many logins and domains this window */
};

struct enroll_limit;

/* A limiter. Returns NULL when memory ran out. */
struct enroll_limit *enroll_limit_new(void);

/* Frees the limiter and sets *limit NULL. NULL-safe. */
void enroll_limit_free(struct enroll_limit **limit);

/* May login (NULL or "" for a client without one) enroll a new address
 * of domain at time now, with at most per_login and per_domain issued
 * per window (0: no limit)? A refusal sets *first_r (may be NULL) true
 * the first time that login or domain is refused in the window, so that
 * it is logged once. Thread-safe. */
enum enroll_limit_verdict enroll_limit_check(struct enroll_limit *limit,
					     const char *login,
					     const char *domain,
					     unsigned per_login,
					     unsigned per_domain, time_t now,
					     bool *first_r);

/* Counts one address issued for login and domain at time now. */
void enroll_limit_record(struct enroll_limit *limit, const char *login,
			 const char *domain, time_t now);

#endif
