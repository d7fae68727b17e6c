/* SPDX-License-Identifier: BSD-2-Clause */
/* Policy decisions as pure functions: no I/O, no locks, no allocation
 * unless stated, so every rule can be tested exhaustively. */
#ifndef SMX_POLICY_H
#define SMX_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <smx/cidr.h>

enum policy_direction {
	POLICY_INBOUND,		/* to the organization from outside */
	POLICY_OUTBOUND,	/* from the organization to outside */
	POLICY_INTERNAL,	/* from the organization to itself only */
	POLICY_TRANSIT,		/* neither: no internal sender or recipient */
};

/* What the MTA told us about one message, as classification needs it. */
struct policy_envelope {
	const char *sender;		/* normalized; "" for the null sender */
	char *const *recipients;	/* normalized addresses */
	size_t n_recipients;
	const char *auth_authen;	/* SASL login, NULL when none */
	const struct sockaddr *client;	/* NULL: locally injected mail */
};

/* The organization as classification needs it (from milter config). */
struct policy_site {
	char *const *internal_domains;
	size_t n_internal_domains;
	const struct cidr *trusted_networks;
	size_t n_trusted_networks;
};

/* Classifies a message: outbound when the sender's
 * domain is internal and the client is trusted (SASL-authenticated, or
 * its address in trusted_networks, or local injection with no client
 * address); internal when that holds and every recipient is internal;
 * inbound when it is not outbound and a recipient is internal; transit
 * otherwise. Domains compare without regard to case. Writes a short
 * human-readable reason (no secrets) into reason, truncated to size. */
enum policy_direction policy_classify(const struct policy_envelope *env,
				      const struct policy_site *site,
				      char *reason, size_t size);

/* "inbound", "outbound", "internal" or "transit". */
const char *policy_direction_name(enum policy_direction direction);

#endif
