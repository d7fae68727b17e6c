/* SPDX-License-Identifier: BSD-2-Clause */
/* Decisions and their log lines.
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
#include <smx/policy.h>
#include <smx/smime-protection.h>

#include "enroll.h"
#include "inbound.h"
#include "protect.h"
#include "recipients.h"
#include "fromaddr.h"
#include "runtime.h"
#include "signing.h"

static void fill_site(const struct cfg *cfg, struct policy_site *site)
{
	const struct cfg_milter *mc = &cfg->milter;
	site->internal_domains = mc->internal_domains;
	site->n_internal_domains = mc->n_internal_domains;
	site->trusted_networks = mc->trusted_networks;
	site->n_trusted_networks = mc->n_trusted_networks;
}

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
	struct policy_site site;
	fill_site(c->cfg, &site);
	return policy_classify(&env, &site, reason, size);
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
			runtime_store(), runtime_directory(), c->cfg, rcpt);
		known = a == POLICY_UNKNOWN ? -1 : (int)a;
		v = policy_rcpt_decide(c->cfg->policy, m->sender, rcpt, a,
				       m->group, &group, reason, sizeof(reason));
	}
	static const struct { const char *code, *xcode, *action; } replies[] = {
		[POLICY_RCPT_REJECT] = { "550", "5.7.1", "reject" },
		[POLICY_RCPT_TEMPFAIL] = { "450", "4.7.1", "tempfail" },
		[POLICY_RCPT_SPLIT] = { "452", "4.5.3", "defer" },
	};
	if (v != POLICY_RCPT_ACCEPT) {
		smx_log(LOG_INFO, "%s: direction=outbound from=<%s> rcpt=<%s> "
			"action=%s reason=\"%s\"", qid, m->sender, rcpt,
			replies[v].action, reason);
		smx_metrics_recipient_refused(replies[v].action);
		set_reply(ctx, replies[v].code, replies[v].xcode, reason);
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

static void add_reason_text(struct policy_decision *d, const char *what,
			    const char *why)
{
	size_t used = strlen(d->reason);
	snprintf(d->reason + used, sizeof(d->reason) - used, "; %s%s", what,
		 why);
}

static size_t header_count(const struct msg *m, const char *name)
{
	size_t n = 0;
	for (size_t i = 0; i < m->n_headers; i++)
		n += strcasecmp(m->headers[i].name, name) == 0;
	return n;
}

/* The signing identity: the From: address when there is exactly one
 * From: header holding exactly one mailbox. */
static char *signing_identity(const struct msg *m)
{
	const char *from = msg_header(m, "From");
	return from != NULL && header_count(m, "From") == 1
		       ? from_header_address(from) : NULL;
}

/* S/MIME or PGP protection the client applied itself: the parsed
 * Content-Type must claim it and the body must bear it out.
 * A message that only claims to be encrypted is handled like any other. */
static void client_protection(const struct msg *m,
			      struct policy_message_input *in)
{
	const char *ct = msg_header(m, "Content-Type");
	enum smime_claim claim = smime_protection_claim(ct);
	if (!smime_protection_body_matches(claim, ct,
			msg_header(m, "Content-Transfer-Encoding"), m->body)) {
		in->encryption_claim_false = smime_claim_encrypted(claim);
		claim = SMIME_CLAIM_NONE;
	}
	in->client_signed = smime_claim_signed(claim);
	in->client_encrypted = smime_claim_encrypted(claim);
}

/* Builds the policy input: certificates and the signing key are looked
 * up in the store for outbound and internal mail. */
static int policy_input(const struct conn *c, enum policy_direction dir,
			const char *from, struct policy_message_input *in,
			struct policy_rcpt_input **rcpts_r)
{
	const struct msg *m = c->msg;
	struct policy_rcpt_input *r = calloc(m->n_rcpts ? m->n_rcpts : 1,
					     sizeof(*r));
	if (r == NULL)
		return -1;
	bool outgoing = dir == POLICY_OUTBOUND || dir == POLICY_INTERNAL;
	for (size_t i = 0; i < m->n_rcpts; i++) {
		r[i].address = m->rcpts[i];
		if (!outgoing)
			r[i].cert = POLICY_MISSING;
		else if (m->rcpt_certs[i] >= 0)	/* RCPT time, moments ago */
			r[i].cert = (enum policy_availability)m->rcpt_certs[i];
		else
			r[i].cert = recipient_cert_state(runtime_store(),
							 runtime_directory(),
							 c->cfg, m->rcpts[i]);
	}
	const char *trigger = NULL;
	const char *trigger_name = policy_trigger_header(c->cfg->policy);
	if (trigger_name != NULL)
		trigger = msg_header(m, trigger_name);
	*in = (struct policy_message_input){
		.direction = dir, .sender = m->sender, .from = from,
		.auth_login = m->auth_authen,
		.subject = msg_header(m, "Subject"),
		.trigger_header = trigger, .rcpts = r, .n_rcpts = m->n_rcpts,
		.signing_key = outgoing && from != NULL
				       ? signing_key_state(runtime_store(), from,
							   NULL)
				       : POLICY_MISSING,
		.can_sign = true,
	};
	client_protection(m, in);
	*rcpts_r = r;
	return 0;
}

static sfsistat apply(SMFICTX *ctx, const struct policy_decision *d,
		      const char **action)
{
	switch (d->action) {
	case POLICY_ACTION_REJECT:
		*action = "reject";
		set_reply(ctx, "550", "5.7.1", d->reason);
		return SMFIS_REJECT;
	case POLICY_ACTION_TEMPFAIL:
		*action = "tempfail";
		set_reply(ctx, "451", "4.7.1", d->reason);
		return SMFIS_TEMPFAIL;
	case POLICY_ACTION_HOLD: {
		*action = "hold";
		char reason[sizeof(d->reason) + 16];
		snprintf(reason, sizeof(reason), "smime-milter: %s", d->reason);
		if (smfi_quarantine(ctx, reason) == MI_SUCCESS)
			return SMFIS_CONTINUE;
		*action = "tempfail";	/* could not hold: never deliver */
		return SMFIS_TEMPFAIL;
	}
	default:
		*action = d->sign && d->encrypt ? "sign+encrypt"
			  : d->encrypt ? "encrypt" : d->sign ? "sign" : "pass";
		return SMFIS_CONTINUE;
	}
}

/* Removes the subject tag and the trigger header that asked for
 * encryption: they are the user's instruction to the gateway, not part of
 * the message. Returns -1 when the MTA refused a change. */
static int strip_triggers(SMFICTX *ctx, const struct conn *c,
			  const struct policy_decision *d)
{
	char subject_name[] = "Subject";
	if (d->strip_subject_tag && !protect_headers_hide_subject(c->msg)) {
		char *stripped = policy_strip_subject_tag(
			c->cfg->policy, msg_header(c->msg, "Subject"));
		if (stripped == NULL)
			return -1;
		char *value = malloc(strlen(stripped) + 2);
		int rc = MI_FAILURE;
		if (value != NULL) {
			value[0] = ' ';	/* SMFIP_HDR_LEADSPC: we add the space */
			strcpy(value + 1, stripped);
			rc = smfi_chgheader(ctx, subject_name, 1, value);
		}
		free(value);
		free(stripped);
		if (rc != MI_SUCCESS)
			return -1;
	}
	const char *trigger = policy_trigger_header(c->cfg->policy);
	if (d->strip_trigger_header && trigger != NULL) {
		char *name = strdup(trigger);
		int rc = name ? smfi_chgheader(ctx, name, 1, NULL) : MI_FAILURE;
		free(name);
		if (rc != MI_SUCCESS)
			return -1;
	}
	return 0;
}

/* Signs and encrypts as the decision says. A signing failure follows
 * on_sign_failure ("send": the message goes unsigned, still encrypted
 * when it must be); any encryption failure tempfails: a message that
 * must be encrypted never leaves in clear. */
static void protect_if_decided(SMFICTX *ctx, struct conn *c, const char *from,
			       struct policy_decision *d)
{
	if (d->action != POLICY_ACTION_SEND || (!d->sign && !d->encrypt))
		return;
	char why[300] = "";
	struct enc_recipients rc = { NULL, 0 };
	enum smx_status st = SMX_OK;
	if (d->encrypt)
		st = recipients_collect(runtime_store(), c->cfg, d, from, &rc,
					why, sizeof(why));
	if (st == SMX_OK && protect_headers_prepare(c, d) != 0) {
		snprintf(why, sizeof(why), "out of memory");
		st = SMX_TEMPFAIL;
	}
	if (st == SMX_OK)
		st = outbound_apply(ctx, runtime_store(), c, from, d->sign,
				    rc.items, rc.n, why, sizeof(why));
	bool send_unsigned = d->on_sign_failure.value == POLICY_ACTION_SEND;
	if (st == SMX_PERMFAIL && d->sign && d->encrypt && send_unsigned) {
		add_reason_text(d, "signing failed: ", why);
		smx_metrics_failure(SMX_METRICS_FAIL_SIGN);
		d->sign = false;
		st = outbound_apply(ctx, runtime_store(), c, from, false,
				    rc.items, rc.n, why, sizeof(why));
	}
	recipients_release(&rc);
	if (st == SMX_OK && strip_triggers(ctx, c, d) != 0) {
		add_reason_text(d, "cannot remove the trigger", "");
		st = SMX_TEMPFAIL;
	}
	if (st == SMX_OK)
		return;
	add_reason_text(d, d->encrypt ? "encryption failed: "
				      : "signing failed: ", why);
	smx_metrics_failure(d->encrypt ? SMX_METRICS_FAIL_ENCRYPT
				       : SMX_METRICS_FAIL_SIGN);
	bool was_encrypting = d->encrypt;
	d->sign = d->encrypt = false;
	if (was_encrypting || st == SMX_TEMPFAIL || !send_unsigned)
		d->action = !was_encrypting && st != SMX_TEMPFAIL &&
				    d->on_sign_failure.value ==
					    POLICY_ACTION_REJECT
				    ? POLICY_ACTION_REJECT
				    : POLICY_ACTION_TEMPFAIL;
}

/* With ca.auto_enroll, a sender that policy signs, or wants signed but
 * has no key for, gets a certificate from the organization CA when it has
 * none (or its certificate is due for renewal), and the decision is made
 * again. Both come after policy_decide: it alone establishes that the
 * client may sign as from (policy.signers), and a client that may not
 * never makes the CA issue, renew or publish anything for that address. */
static int decide_with_enrollment(const struct conn *c, const char *qid,
				  const char *from,
				  struct policy_message_input *in,
				  struct policy_decision *d)
{
	const struct cfg *cfg = c->cfg;
	if (policy_decide(cfg->policy, in, d) != 0)
		return -1;
	if (!cfg->ca.auto_enroll || in->signing_key == POLICY_UNKNOWN)
		return 0;
	int64_t not_after = 0;
	if (d->sign) {
		if (signing_key_state(runtime_store(), from, &not_after) ==
			    POLICY_AVAILABLE &&
		    enroll_renew_if_due(runtime_store(), cfg, qid, from,
					not_after))
			(void)signing_key_state(runtime_store(), from, NULL);
		return 0;
	}
	if (!d->needs_key)
		return 0;
	char why[200];
	if (enroll_sender(runtime_store(), cfg, qid, c->msg->auth_authen, from,
			  why, sizeof(why)) != SMX_OK) {
		size_t used = strlen(d->reason);
		snprintf(d->reason + used, sizeof(d->reason) - used, "; %s", why);
		return 0;
	}
	policy_decision_release(d);
	in->signing_key = signing_key_state(runtime_store(), from, NULL);
	return policy_decide(cfg->policy, in, d);
}

sfsistat decide_message(SMFICTX *ctx, struct conn *c, const char *qid)
{
	const struct msg *m = c->msg;
	uint64_t started = smx_metrics_clock_us();
	signing_selection_forget();
	char why[256];
	enum policy_direction dir = classify(c, why, sizeof(why));
	/* Forged Authentication-Results go first, on every path. */
	sfsistat early = inbound_strip_forged_results(
		ctx, c, qid, policy_direction_name(dir));
	if (early != SMFIS_CONTINUE)
		return early;
	struct policy_message_input in;
	struct policy_rcpt_input *rcpts = NULL;
	struct policy_decision d;
	const char *action = "tempfail";
	sfsistat rc;
	char *from = signing_identity(m);
	if (policy_input(c, dir, from, &in, &rcpts) != 0 ||
	    decide_with_enrollment(c, qid, from, &in, &d) != 0) {
		smx_log(LOG_ERR, "%s: out of memory deciding the message", qid);
		smx_metrics_failure(SMX_METRICS_FAIL_INTERNAL);
		free(rcpts);
		free(from);
		return SMFIS_TEMPFAIL;
	}
	protect_if_decided(ctx, c, from, &d);
	char verified[400] = "";
	/* A message over the limits was not kept whole: its signatures
	 * cannot be checked, and it passes unverified (the log says why). */
	if (dir == POLICY_INBOUND && !m->body_too_large &&
	    !m->headers_truncated &&
	    inbound_apply(ctx, c, qid, verified, sizeof(verified)) != 0)
		d.action = POLICY_ACTION_TEMPFAIL;	/* half-edited copy */
	rc = apply(ctx, &d, &action);
	const char *note = m->body_too_large ? "; over max_message_size"
			   : m->headers_truncated ? "; header limit reached"
						  : "";
	smx_log(LOG_INFO, "%s: direction=%s from=<%s> rcpts=%zu size=%zu "
		"client=%s action=%s reason=\"%s; %s%s\"%s%s", qid,
		policy_direction_name(dir), m->sender, m->n_rcpts,
		m->body_bytes, c->client_text, action, why, d.reason, note,
		verified[0] ? " verify=" : "", verified);
	smx_metrics_message(policy_direction_name(dir), action,
			    smx_metrics_since_us(started));
	policy_decision_release(&d);
	free(rcpts);
	free(from);
	return rc;
}
