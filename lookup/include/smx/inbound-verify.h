/* SPDX-License-Identifier: BSD-2-Clause */
/* The settings inbound verification runs with, shared by the milter and
 * smimectl verify so that both judge a message alike: the verifier's
 * options from the configuration, and the revocation check of the
 * signers' certificates. */
#ifndef SMX_INBOUND_VERIFY_H
#define SMX_INBOUND_VERIFY_H

#include <time.h>

struct cfg;
struct cfg_revocation;
struct smime_verify;
struct smime_verify_options;
struct store;

/* Fills *o from cfg (limits, trust anchor files, spooling, harvest
 * rules). The strings point into cfg and its policy: o lives no longer
 * than cfg. */
void inbound_verify_options(const struct cfg *cfg,
			    struct smime_verify_options *o);

/* What the revocation hook of one message needs; the caller keeps it
 * until the message's verification ends. */
struct inbound_revocation {
	struct store *store;
	const struct cfg_revocation *cfg;
	time_t deadline;	/* statuses are waited for until then */
};

/* Sets vfy's revocation hook (statuses learned, or read from store,
 * until now + revocation.max_wait) unless checking is off or there is
 * no store. r is filled here and must outlive vfy's verification. */
void inbound_verify_revocation(struct smime_verify *vfy, struct store *store,
			       const struct cfg *cfg, time_t now,
			       struct inbound_revocation *r);

#endif
