/* SPDX-License-Identifier: BSD-2-Clause */
#include <smx/policy.h>

#include <smx/mailaddr.h>

#include <stdio.h>

const char *policy_direction_name(enum policy_direction direction)
{
	switch (direction) {
	case POLICY_INBOUND: return "inbound";
	case POLICY_OUTBOUND: return "outbound";
	case POLICY_INTERNAL: return "internal";
	case POLICY_TRANSIT: return "transit";
	}
	return "unknown";
}

static bool is_internal(const char *addr, const struct policy_site *site)
{
	return mailaddr_domain_in(mailaddr_domain(addr), site->internal_domains,
				  site->n_internal_domains);
}

/* Why the client may speak for the organization, or NULL if it may not. */
static const char *client_trust(const struct policy_envelope *env,
				const struct policy_site *site)
{
	if (env->auth_authen != NULL && env->auth_authen[0] != '\0')
		return "authenticated client";
	if (env->client == NULL)
		return "locally submitted";
	if (cidr_list_contains(site->trusted_networks,
			       site->n_trusted_networks, env->client))
		return "client in trusted_networks";
	return NULL;
}

static size_t count_internal(const struct policy_envelope *env,
			     const struct policy_site *site)
{
	size_t n = 0;
	for (size_t i = 0; i < env->n_recipients; i++)
		if (is_internal(env->recipients[i], site))
			n++;
	return n;
}

enum policy_direction policy_classify(const struct policy_envelope *env,
				      const struct policy_site *site,
				      char *reason, size_t size)
{
	bool sender_internal = is_internal(env->sender, site);
	const char *trust = client_trust(env, site);
	size_t internal = count_internal(env, site);

	if (sender_internal && trust != NULL) {
		bool all_internal = env->n_recipients > 0 &&
				    internal == env->n_recipients;
		snprintf(reason, size, "internal sender, %s%s", trust,
			 all_internal ? ", all recipients internal" : "");
		return all_internal ? POLICY_INTERNAL : POLICY_OUTBOUND;
	}
	if (internal > 0) {
		snprintf(reason, size, "%zu internal recipient%s%s", internal,
			 internal == 1 ? "" : "s",
			 sender_internal ? ", internal sender from untrusted "
					   "client" : "");
		return POLICY_INBOUND;
	}
	snprintf(reason, size, "no internal recipient, %s",
		 sender_internal ? "internal sender from untrusted client"
				 : "external sender");
	return POLICY_TRANSIT;
}
