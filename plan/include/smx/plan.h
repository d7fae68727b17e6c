/* SPDX-License-Identifier: BSD-2-Clause */
/* The facts a message is decided on, gathered once: the From identity,
 * its signing certificate and key, every recipient's encryption
 * certificate with its capabilities, the triggers, the protection the
 * client applied. The milter carries out the decision the policy engine
 * makes from them; smimectl explain shows it. Both gather with this code
 * so that they cannot disagree. The header exposes no OpenSSL types. */
#ifndef SMX_PLAN_H
#define SMX_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <smx/cfg.h>
#include <smx/policy-engine.h>
#include <smx/policy.h>
#include <smx/spool.h>
#include <smx/store.h>

/* The value of the first header called name (any case), without leading
 * white space, or NULL; *count_r gets how many there are. */
typedef const char *plan_header_fn(const void *msg, const char *name,
				   size_t *count_r);

/* Whether rcpt has a usable encryption certificate (the milter asks the
 * store, the directory cache and the directory). */
typedef enum policy_availability plan_availability_fn(void *ctx,
						      const char *rcpt);

/* A message as the MTA handed it over. */
struct plan_message {
	enum policy_direction direction;	/* plan_classify */
	const char *sender;		/* envelope sender, normalized */
	char *const *rcpts;		/* normalized */
	size_t n_rcpts;
	const signed char *rcpt_certs;	/* per recipient: availability found
					 * already, or -1; NULL: none */
	const char *auth_login;		/* SASL login or NULL */
	plan_header_fn *header;
	const void *msg;		/* for header */
	struct spool *body;		/* NULL: no body */
	plan_availability_fn *availability;	/* NULL: the store's
						 * selection says */
	void *availability_ctx;
	time_t revocation_deadline;	/* when revocation checks stop
					 * waiting (the message's), or 0:
					 * revocation.max_wait from each
					 * check */
};

struct plan_rcpt {
	enum policy_availability cert;
	struct store_selection *sel;	/* encryption certificates: usable
					 * first; NULL when not asked or the
					 * store failed */
	enum policy_availability selected;	/* the store's answer for sel
						 * (MISSING when not asked) */
	unsigned caps;			/* SMIMECapabilities of the best
					 * (SMIME_CAP_*), 0 when unknown */
};

struct plan {
	char *from;			/* the signing identity: the one
					 * mailbox of the one From: header,
					 * or NULL */
	struct store_selection *signing;	/* from's signing
						 * certificates, or NULL */
	struct plan_rcpt *rcpts;	/* n_rcpts of the message */
	struct policy_rcpt_input *rcpt_inputs;
	struct policy_message_input in;	/* what policy_decide reads: points
					 * into the plan and the message */
	time_t revocation_deadline;	/* the message's, as given */
};

/* Classifies the envelope for the organization cfg describes. */
enum policy_direction plan_classify(const struct cfg *cfg,
				    const struct policy_envelope *env,
				    char *reason, size_t size);

/* Gathers the facts about m into *p: lookups only for outbound and
 * internal mail (store may be NULL: then they are "unknown"). Returns 0,
 * or -1 when out of memory (then *p holds nothing). The caller frees *p
 * with plan_release; the plan points into m, which must outlive it. */
int plan_gather(const struct cfg *cfg, struct store *store,
		const struct plan_message *m, struct plan *p);

/* Looks the signing identity up again (after a certificate was issued
 * or renewed for it). */
void plan_refresh_signing(struct plan *p, struct store *store);

/* The best signing certificate of the From identity, or NULL. */
const struct store_cert *plan_signing_cert(const struct plan *p);

/* The best encryption certificate of recipient i, or NULL. */
const struct store_cert *plan_rcpt_cert(const struct plan *p, size_t i);

/* The policy's decision on the plan (policy_decide). */
int plan_decide(const struct cfg *cfg, const struct plan *p,
		struct policy_decision *d);

/* Frees what plan_gather allocated. NULL-safe for a zeroed plan. */
void plan_release(struct plan *p);

#endif
