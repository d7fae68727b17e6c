#include "decide.h"

#include <smx/log.h>
#include <smx/policy.h>

static enum policy_direction classify(const struct conn *c, char *reason,
				      size_t size)
{
	const struct msg *m = c->msg;
	const struct cfg_milter *mc = &c->cfg->milter;
	struct policy_envelope env = {
		.sender = m->sender,
		.recipients = m->rcpts,
		.n_recipients = m->n_rcpts,
		.auth_authen = m->auth_authen,
		.client = c->has_client ? (const struct sockaddr *)&c->client
					: NULL,
	};
	struct policy_site site = {
		.internal_domains = mc->internal_domains,
		.n_internal_domains = mc->n_internal_domains,
		.trusted_networks = mc->trusted_networks,
		.n_trusted_networks = mc->n_trusted_networks,
	};
	return policy_classify(&env, &site, reason, size);
}

sfsistat decide_message(SMFICTX *ctx, struct conn *c, const char *qid)
{
	(void)ctx;
	const struct msg *m = c->msg;
	char reason[256];
	enum policy_direction dir = classify(c, reason, sizeof(reason));
	const char *note = m->body_too_large ? "; over max_message_size"
			   : m->headers_truncated ? "; header limit reached"
						  : "";
	smx_log(LOG_INFO, "%s: direction=%s from=<%s> rcpts=%zu size=%zu "
		"client=%s action=pass reason=\"%s%s\"", qid,
		policy_direction_name(dir), m->sender, m->n_rcpts,
		spool_size(m->body), c->client_text, reason, note);
	return SMFIS_CONTINUE;
}
