/* SPDX-License-Identifier: BSD-2-Clause */
/* Gathering the facts a message is decided on. Certificates come from
 * the store's one selection rule; a body that claims client protection
 * must bear it out (a claim without a body is not believed). */
#include <smx/plan.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <smx/lookup.h>
#include <smx/smime-encrypt.h>
#include <smx/smime-protection.h>
#include <smx/smime-fromaddr.h>
#include <smx/smime.h>

enum policy_direction plan_classify(const struct cfg *cfg,
				    const struct policy_envelope *env,
				    char *reason, size_t size)
{
	const struct cfg_milter *mc = &cfg->milter;
	struct policy_site site = {
		.internal_domains = mc->internal_domains,
		.n_internal_domains = mc->n_internal_domains,
		.trusted_networks = mc->trusted_networks,
		.n_trusted_networks = mc->n_trusted_networks,
	};
	return policy_classify(env, &site, reason, size);
}

/* The store's selection for email: the availability, and the selection
 * in *sel_r (NULL when the store cannot answer). */
static enum policy_availability select_certs(struct store *store,
					     const char *email,
					     enum store_purpose purpose,
					     struct store_selection **sel_r)
{
	*sel_r = NULL;
	if (store == NULL)
		return POLICY_UNKNOWN;
	enum smx_status st = store_select(store, email, purpose, time(NULL),
					  sel_r);
	if (st != SMX_OK && st != SMX_NOTFOUND)
		store_selection_free(sel_r);
	return st == SMX_OK ? POLICY_AVAILABLE
	       : st == SMX_NOTFOUND ? POLICY_MISSING : POLICY_UNKNOWN;
}

static const char *header(const struct plan_message *m, const char *name,
			  size_t *count_r)
{
	size_t count = 0;
	const char *v = name != NULL ? m->header(m->msg, name, &count) : NULL;
	if (count_r != NULL)
		*count_r = count;
	return v;
}

/* The signing identity: the From: address when there is exactly one
 * From: header holding exactly one mailbox. */
static char *signing_identity(const struct plan_message *m)
{
	size_t n = 0;
	const char *from = header(m, "From", &n);
	return from != NULL && n == 1 ? from_header_address(from) : NULL;
}

/* S/MIME or PGP protection the client applied itself: the parsed
 * Content-Type must claim it and the body must bear it out.
 * A message that only claims to be encrypted is handled like any other. */
static void client_protection(const struct plan_message *m,
			      struct policy_message_input *in)
{
	const char *ct = header(m, "Content-Type", NULL);
	enum smime_claim claim = smime_protection_claim(ct);
	if (!smime_protection_body_matches(claim, ct,
			header(m, "Content-Transfer-Encoding", NULL),
			m->body)) {
		in->encryption_claim_false = smime_claim_encrypted(claim);
		claim = SMIME_CLAIM_NONE;
	}
	in->client_signed = smime_claim_signed(claim);
	in->client_encrypted = smime_claim_encrypted(claim);
}

/* The certificates to encrypt to email, with revocation checked as the
 * configuration says (the lookup's rule, also used at RCPT time): a
 * revoked certificate, or in hard mode one of unknown status, is not
 * usable. */
static enum policy_availability select_encrypt(const struct cfg *cfg,
					       struct store *store,
					       const char *email,
					       time_t deadline,
					       struct store_selection **sel_r)
{
	*sel_r = NULL;
	if (store == NULL)
		return POLICY_UNKNOWN;
	enum smx_status st = lookup_select_encrypt(store, &cfg->verify,
						   &cfg->revocation, email,
						   time(NULL), deadline, sel_r);
	if (st != SMX_OK && st != SMX_NOTFOUND)
		store_selection_free(sel_r);
	return st == SMX_OK ? POLICY_AVAILABLE
	       : st == SMX_NOTFOUND ? POLICY_MISSING : POLICY_UNKNOWN;
}

static unsigned caps_of(const struct store_selection *sel)
{
	unsigned caps = 0;
	if (sel == NULL || sel->n_usable == 0)
		return 0;
	const struct store_cert *c = sel->items[0].cert;
	if (smime_caps_parse(c->smime_caps, c->smime_caps_len, &caps) !=
	    SMX_OK)
		caps = 0;	/* unknown: the safe choices */
	return caps;
}

/* Recipient i: its availability as found before (RCPT time), by the
 * caller's lookup, or by the store; then the certificate to use. */
static void gather_rcpt(const struct cfg *cfg, struct store *store,
			const struct plan_message *m, size_t i,
			struct plan_rcpt *r)
{
	const char *rcpt = m->rcpts[i];
	if (m->rcpt_certs != NULL && m->rcpt_certs[i] >= 0)
		r->cert = (enum policy_availability)m->rcpt_certs[i];
	else if (m->availability != NULL)
		r->cert = m->availability(m->availability_ctx, rcpt);
	else {
		r->cert = r->selected = select_encrypt(
			cfg, store, rcpt, m->revocation_deadline, &r->sel);
		r->caps = caps_of(r->sel);
		return;
	}
	r->selected = POLICY_MISSING;
	if (r->cert == POLICY_AVAILABLE) {
		r->selected = select_encrypt(cfg, store, rcpt,
					     m->revocation_deadline, &r->sel);
		r->caps = caps_of(r->sel);
	}
}

void plan_refresh_signing(struct plan *p, struct store *store)
{
	store_selection_free(&p->signing);
	p->in.signing_key = p->from != NULL
				    ? select_certs(store, p->from,
						   STORE_PURPOSE_SIGN,
						   &p->signing)
			    : store == NULL ? POLICY_UNKNOWN : POLICY_MISSING;
}

int plan_gather(const struct cfg *cfg, struct store *store,
		const struct plan_message *m, struct plan *p)
{
	memset(p, 0, sizeof(*p));
	smime_init();	/* GMime parses the From header */
	size_t n = m->n_rcpts ? m->n_rcpts : 1;
	p->rcpts = calloc(n, sizeof(*p->rcpts));
	p->rcpt_inputs = calloc(n, sizeof(*p->rcpt_inputs));
	if (p->rcpts == NULL || p->rcpt_inputs == NULL) {
		plan_release(p);
		return -1;
	}
	p->revocation_deadline = m->revocation_deadline;
	bool outgoing = m->direction == POLICY_OUTBOUND ||
			m->direction == POLICY_INTERNAL;
	for (size_t i = 0; i < m->n_rcpts; i++) {
		p->rcpts[i].cert = POLICY_MISSING;
		if (outgoing)
			gather_rcpt(cfg, store, m, i, &p->rcpts[i]);
		p->rcpt_inputs[i] = (struct policy_rcpt_input){
			m->rcpts[i], p->rcpts[i].cert };
	}
	p->from = signing_identity(m);
	p->in = (struct policy_message_input){
		.direction = m->direction, .sender = m->sender,
		.from = p->from, .auth_login = m->auth_login,
		.subject = header(m, "Subject", NULL),
		.trigger_header = header(m, policy_trigger_header(cfg->policy),
					 NULL),
		.rcpts = p->rcpt_inputs, .n_rcpts = m->n_rcpts,
		.signing_key = POLICY_MISSING,
		.can_sign = true,
	};
	if (outgoing)
		plan_refresh_signing(p, store);
	client_protection(m, &p->in);
	return 0;
}

const struct store_cert *plan_signing_cert(const struct plan *p)
{
	return p->signing != NULL && p->signing->n_usable > 0
		       ? p->signing->items[0].cert : NULL;
}

const struct store_cert *plan_rcpt_cert(const struct plan *p, size_t i)
{
	const struct store_selection *sel = p->rcpts[i].sel;
	return sel != NULL && sel->n_usable > 0 ? sel->items[0].cert : NULL;
}

int plan_decide(const struct cfg *cfg, const struct plan *p,
		struct policy_decision *d)
{
	return policy_decide(cfg->policy, &p->in, d);
}

void plan_release(struct plan *p)
{
	for (size_t i = 0; p->rcpts != NULL && i < p->in.n_rcpts; i++)
		store_selection_free(&p->rcpts[i].sel);
	free(p->rcpts);
	free(p->rcpt_inputs);
	store_selection_free(&p->signing);
	free(p->from);
	memset(p, 0, sizeof(*p));
}
