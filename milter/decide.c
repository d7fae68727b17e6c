/* SPDX-License-Identifier: BSD-2-Clause */
/* Decisions and their log lines. The end of a message reads top to
 * bottom in decide_message: classify, gather the facts once (plan_gather,
 * shared with smimectl explain), decide (the policy engine, then
 * auto-enrollment), carry the decision out (outbound.c; inbound.c for
 * inbound mail), reply (policy_message_reply) and log one line.
 *
 * Certificates and keys come from the store. A recipient whose policy
 * requires encryption and who has no usable certificate is refused (or
 * the message tempfailed or held) exactly as policy says; a lookup that
 * cannot be made counts as "unknown" and tempfails; any failure while
 * encrypting tempfails: nothing that must be encrypted leaves in clear. */
#include "decide.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>

#include <smx/log.h>
#include <smx/mailaddr.h>
#include <smx/metrics.h>
#include <smx/plan.h>
#include <smx/policy.h>
#include <smx/revocation.h>
#include <smx/smime.h>

#include "enroll.h"
#include "inbound.h"
#include "rcpt-certs.h"
#include "outbound.h"
#include "runtime.h"

static enum policy_direction classify(const struct conn *c, char *reason,
				      size_t size)
{
	const struct msg *m = c->msg;
	struct policy_envelope env = {
		.sender = m->sender,
		.recipients = m->rcpts,
		.n_recipients = m->n_rcpts,
		.auth_authen = m->auth_authen,
		.client = c->has_client ? (const struct sockaddr *)&c->client
					: NULL,
	};
	return plan_classify(c->cfg, &env, reason, size);
}

bool decide_body_skip(const struct conn *c)
{
	const struct msg *m = c->msg;
	char reason[128];
	return c->mta_skips && !m->lost_header &&
	       !c->cfg->verify.authentication_results_none &&
	       classify(c, reason, sizeof(reason)) == POLICY_INBOUND &&
	       !smime_headers_may_carry(m->headers);
}

void decide_sender(struct conn *c)
{
	char reason[128];
	/* With no recipient yet, "outbound" means: internal sender,
	 * trusted client. */
	c->msg->sender_trusted = classify(c, reason, sizeof(reason)) ==
				 POLICY_OUTBOUND;
}

/* Replies with code/xcode/text; libmilter wants writable strings. */
/* The message's revocation deadline, fixed at its first lookup: every
 * recipient's checks share it, so that the message waits at most
 * revocation.max_wait in all. */
static time_t message_deadline(const struct conn *c)
{
	struct msg *m = c->msg;
	if (m->revocation_deadline == 0)
		m->revocation_deadline =
			revocation_deadline(&c->cfg->revocation, time(NULL));
	return m->revocation_deadline;
}

static void set_reply(SMFICTX *ctx, const char *code, const char *xcode,
		      const char *text)
{
	char c[4], x[16], t[512];
	snprintf(c, sizeof(c), "%s", code);
	snprintf(x, sizeof(x), "%s", xcode);
	snprintf(t, sizeof(t), "%s", text);
	smfi_setreply(ctx, c, x, t);
}

sfsistat decide_recipient(SMFICTX *ctx, struct conn *c, const char *qid,
			  const char *rcpt_path)
{
	struct msg *m = c->msg;
	char *rcpt = mailaddr_normalize(rcpt_path);
	if (rcpt == NULL) {
		smx_log(LOG_WARNING, "%s: from=<%s> recipient is not an "
			"address: refused", qid, m->sender);
		set_reply(ctx, "501", "5.1.3", "smime-milter: bad recipient "
			  "address syntax");
		return SMFIS_REJECT;
	}
	enum policy_rcpt_verdict v = POLICY_RCPT_ACCEPT;
	enum policy_group group = POLICY_GROUP_PLAIN;
	char reason[400] = "";
	int known = -1;	/* kept for the end of the message when definite */
	if (m->sender_trusted) {
		enum policy_availability a = recipient_cert_state(
			runtime_store(), runtime_directory(), c->cfg, rcpt,
			message_deadline(c));
		known = a == POLICY_UNKNOWN ? -1 : (int)a;
		v = policy_rcpt_decide(c->cfg->policy, m->sender, rcpt, a,
				       m->group, &group, reason, sizeof(reason));
	}
	if (v != POLICY_RCPT_ACCEPT) {
		struct policy_reply r = policy_rcpt_reply(v);
		smx_log(LOG_INFO, "%s: direction=outbound from=<%s> rcpt=<%s> "
			"action=%s reason=\"%s\"", qid, m->sender, rcpt,
			r.action, reason);
		smx_metrics_recipient_refused(r.action);
		set_reply(ctx, r.code, r.xcode, reason);
		free(rcpt);
		return v == POLICY_RCPT_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
	}
	free(rcpt);
	if (msg_add_rcpt(m, rcpt_path, known) != 0) {
		smx_log(LOG_ERR, "%s: out of memory recording a recipient", qid);
		set_reply(ctx, "451", "4.3.0", "smime-milter: out of memory");
		return SMFIS_TEMPFAIL;
	}
	if (m->group == POLICY_GROUP_NONE)
		m->group = group;
	return SMFIS_CONTINUE;
}

static const char *header_of_msg(const void *msg, const char *name,
				 size_t *count_r)
{
	const struct msg *m = msg;
	size_t n = 0;
	for (size_t i = hdrlist_find(m->headers, name, 0);
	     i < hdrlist_count(m->headers);
	     i = hdrlist_find(m->headers, name, i + 1))
		n++;
	*count_r = n;
	return msg_header(m, name);
}

/* What the end of the message looks recipients up with. */
struct rcpt_lookup {
	const struct cfg *cfg;
	time_t deadline;
};

static enum policy_availability lookup_rcpt(void *arg, const char *rcpt)
{
	const struct rcpt_lookup *l = arg;
	return recipient_cert_state(runtime_store(), runtime_directory(),
				    l->cfg, rcpt, l->deadline);
}

/* The facts of the message: recipients' certificates as found at RCPT
 * time, the others looked up in the store and the directory. */
static int gather(const struct conn *c, enum policy_direction dir,
		  struct plan *plan)
{
	const struct msg *m = c->msg;
	struct rcpt_lookup lookup = { c->cfg, message_deadline(c) };
	struct plan_message pm = {
		.direction = dir, .sender = m->sender,
		.rcpts = m->rcpts, .n_rcpts = m->n_rcpts,
		.rcpt_certs = m->rcpt_certs, .auth_login = m->auth_authen,
		.header = header_of_msg, .msg = m,
		.body = m->body_skipped ? NULL : m->body,
		.availability = lookup_rcpt, .availability_ctx = &lookup,
		.revocation_deadline = lookup.deadline,
	};
	return plan_gather(c->cfg, runtime_store(), &pm, plan);
}

/* Gives the MTA the reply of the decision; *action gets the word for the
 * log line. */
static sfsistat reply(SMFICTX *ctx, const struct policy_decision *d,
		      const char **action)
{
	struct policy_reply r = policy_message_reply(d);
	*action = r.action;
	switch (d->action) {
	case POLICY_ACTION_REJECT:
		set_reply(ctx, r.code, r.xcode, d->reason);
		return SMFIS_REJECT;
	case POLICY_ACTION_TEMPFAIL:
		set_reply(ctx, r.code, r.xcode, d->reason);
		return SMFIS_TEMPFAIL;
	case POLICY_ACTION_HOLD: {
		char reason[sizeof(d->reason) + 16];
		snprintf(reason, sizeof(reason), "smime-milter: %s", d->reason);
		if (smfi_quarantine(ctx, reason) == MI_SUCCESS)
			return SMFIS_CONTINUE;
		*action = "tempfail";	/* could not hold: never deliver */
		return SMFIS_TEMPFAIL;
	}
	default:
		return SMFIS_CONTINUE;
	}
}

/* With ca.auto_enroll, a sender that policy signs, or wants signed but
 * has no key for, gets a certificate from the organization CA when it has
 * none (or its certificate is due for renewal), and the decision is made
 * again. Both come after the decision: it alone establishes that the
 * client may sign as From (policy.signers), and a client that may not
 * never makes the CA issue, renew or publish anything for that address. */
static int decide_with_enrollment(const struct conn *c, const char *qid,
				  struct plan *plan, struct policy_decision *d)
{
	const struct cfg *cfg = c->cfg;
	if (plan_decide(cfg, plan, d) != 0)
		return -1;
	if (!cfg->ca.auto_enroll || plan->in.signing_key == POLICY_UNKNOWN)
		return 0;
	if (d->sign) {
		const struct store_cert *sc = plan_signing_cert(plan);
		if (sc != NULL && enroll_renew_if_due(runtime_store(), cfg, qid,
						      plan->from, sc->not_after))
			plan_refresh_signing(plan, runtime_store());
		return 0;
	}
	if (!d->needs_key)
		return 0;
	struct smx_error why = { "" };
	if (enroll_sender(runtime_store(), cfg, qid, c->msg->auth_authen,
			  plan->from, &why) != SMX_OK) {
		size_t used = strlen(d->reason);
		snprintf(d->reason + used, sizeof(d->reason) - used, "; %s",
			 why.text);
		return 0;
	}
	policy_decision_release(d);
	plan_refresh_signing(plan, runtime_store());
	return plan_decide(cfg, plan, d);
}

sfsistat decide_message(SMFICTX *ctx, struct conn *c, const char *qid)
{
	const struct msg *m = c->msg;
	uint64_t started = smx_metrics_clock_us();
	char why[256];
	enum policy_direction dir = classify(c, why, sizeof(why));
	if (m->body_skipped && dir != POLICY_INBOUND) {
		/* decide_body_skip classified the same envelope: never reached;
		 * nothing may be signed or encrypted from a partial body */
		smx_log(LOG_ERR, "%s: body skipped but direction=%s", qid,
			policy_direction_name(dir));
		smx_metrics_failure(SMX_METRICS_FAIL_INTERNAL);
		return SMFIS_TEMPFAIL;
	}
	/* Forged Authentication-Results go first, on every path. */
	sfsistat early = inbound_strip_forged_results(
		ctx, c, qid, policy_direction_name(dir));
	if (early != SMFIS_CONTINUE)
		return early;
	struct plan plan;
	struct policy_decision d;
	if (gather(c, dir, &plan) != 0 ||
	    decide_with_enrollment(c, qid, &plan, &d) != 0) {
		smx_log(LOG_ERR, "%s: out of memory deciding the message", qid);
		smx_metrics_failure(SMX_METRICS_FAIL_INTERNAL);
		plan_release(&plan);
		return SMFIS_TEMPFAIL;
	}
	outbound_carry_out(ctx, c, &plan, &d);
	char verified[400] = "";
	/* A message over the limits was not kept whole: its signatures
	 * cannot be checked, and it passes unverified (the log says why).
	 * A skipped body had none to check. */
	if (dir == POLICY_INBOUND && !m->body_too_large && !m->body_skipped &&
	    !hdrlist_truncated(m->headers) &&
	    inbound_apply(ctx, c, qid, verified, sizeof(verified)) != 0)
		d.action = POLICY_ACTION_TEMPFAIL;	/* half-edited copy */
	const char *action;
	sfsistat rc = reply(ctx, &d, &action);
	const char *note = m->body_skipped ? "; body skipped (cannot carry "
					     "S/MIME)"
			   : m->body_too_large ? "; over max_message_size"
			   : hdrlist_truncated(m->headers)
					? "; header limit reached"
						  : "";
	/* size=N+ : N bytes came before the rest of the body was skipped */
	smx_log(LOG_INFO, "%s: direction=%s from=<%s> rcpts=%zu size=%zu%s "
		"client=%s action=%s reason=\"%s; %s%s\"%s%s", qid,
		policy_direction_name(dir), m->sender, m->n_rcpts,
		m->body_bytes, m->body_skipped ? "+" : "", c->client_text,
		action, why, d.reason, note, verified[0] ? " verify=" : "",
		verified);
	smx_metrics_message(policy_direction_name(dir), action,
			    smx_metrics_since_us(started));
	policy_decision_release(&d);
	plan_release(&plan);
	return rc;
}
