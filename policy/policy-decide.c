/* SPDX-License-Identifier: BSD-2-Clause */
/* The decision: which layers apply, what each recipient needs, whether to
 * sign and encrypt, and what to do when that cannot be done. Pure: no
 * I/O, the caller supplies certificate and key availability. */
#include "policy-private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <smx/mailaddr.h>

const char *policy_sign_name(enum policy_sign v)
{
	static const char *const names[] = { "unset", "never", "on-request",
					     "always" };
	return (unsigned)v < 4 ? names[v] : "unknown";
}

const char *policy_encrypt_name(enum policy_encrypt v)
{
	static const char *const names[] = { "unset", "never", "opportunistic",
					     "required" };
	return (unsigned)v < 4 ? names[v] : "unknown";
}

const char *policy_action_name(enum policy_action v)
{
	static const char *const names[] = { "unset", "send", "tempfail",
					     "hold", "reject" };
	return (unsigned)v < 5 ? names[v] : "unknown";
}

const char *policy_hp_name(enum policy_header_protection v)
{
	static const char *const names[] = { "unset", "off", "baseline" };
	return (unsigned)v < 3 ? names[v] : "unknown";
}

/* An exact domain entry beats any ".parent" entry; among those, the
 * longest (most specific) wins. */
static const struct policy_layer *domain_layer(const struct policy *p,
					       const char *domain)
{
	const struct policy_layer *best = NULL;
	size_t best_len = 0;
	for (size_t i = 0; domain != NULL && i < p->n_domains; i++) {
		const struct policy_layer *l = &p->domains[i];
		size_t len = strlen(l->key) + (l->key[0] != '.' ? 1000 : 0);
		char *one[] = { l->key };
		if (mailaddr_domain_in(domain, one, 1) && len > best_len) {
			best = l;
			best_len = len;
		}
	}
	return best;
}

size_t policy_layers_for(const struct policy *p, const char *addr,
			 const struct policy_layer *layers[4])
{
	size_t n = 0;
	layers[n++] = &p->builtin;
	layers[n++] = &p->defaults;
	const struct policy_layer *d =
		domain_layer(p, addr ? mailaddr_domain(addr) : NULL);
	if (d != NULL)
		layers[n++] = d;
	for (size_t i = 0; addr != NULL && i < p->n_addresses; i++)
		if (strcasecmp(p->addresses[i].key, addr) == 0) {
			layers[n++] = &p->addresses[i];
			break;
		}
	return n;
}

/* The most specific layer that sets the property at offset. */
static struct policy_source resolve(const struct policy_layer *const *layers,
				    size_t n, size_t offset)
{
	struct policy_source s = { 0, "built-in" };
	for (size_t i = 0; i < n; i++) {
		int v = *(const int *)((const char *)layers[i] + offset);
		if (v != 0) {
			s.value = v;
			s.layer = layers[i]->label;
		}
	}
	return s;
}

#define PROP(field) offsetof(struct policy_layer, field)

void policy_rcpt_level(const struct policy *p, const char *sender,
		       const char *rcpt, struct policy_rcpt_level *out)
{
	const struct policy_layer *rl[4], *sl[4];
	size_t rn = policy_layers_for(p, rcpt, rl);
	size_t sn = policy_layers_for(p, sender, sl);
	out->encrypt = resolve(rl, rn, PROP(encrypt));
	out->on_missing = resolve(rl, rn, PROP(on_missing));
	out->legacy_interop = resolve(rl, rn, PROP(legacy_interop));
	out->header_protection = resolve(rl, rn, PROP(header_protection));
	/* Only the sender's own layers (domain, address) raise: the
	 * built-in and default layers already apply to the recipient. */
	if (sn > 2) {
		struct policy_source sh = resolve(sl + 2, sn - 2,
						  PROP(header_protection));
		if (sh.value > out->header_protection.value)
			out->header_protection = sh;
		struct policy_source se = resolve(sl + 2, sn - 2, PROP(encrypt));
		if (se.value > out->encrypt.value) {
			out->encrypt = se;
			out->on_missing = resolve(sl, sn, PROP(on_missing));
		}
	}
}

static enum policy_group group_of(enum policy_encrypt level,
				  enum policy_availability cert)
{
	if (level == POLICY_ENCRYPT_NEVER)
		return POLICY_GROUP_PLAIN;
	return cert == POLICY_AVAILABLE ? POLICY_GROUP_ENCRYPTED
					: POLICY_GROUP_PLAIN;
}

enum policy_rcpt_verdict policy_rcpt_decide(const struct policy *p,
					    const char *sender,
					    const char *rcpt,
					    enum policy_availability cert,
					    enum policy_group first_group,
					    enum policy_group *group_r,
					    char *reason, size_t size)
{
	struct policy_rcpt_level lv;
	policy_rcpt_level(p, sender, rcpt, &lv);
	*group_r = group_of((enum policy_encrypt)lv.encrypt.value, cert);
	if (lv.encrypt.value == POLICY_ENCRYPT_REQUIRED && cert != POLICY_AVAILABLE) {
		snprintf(reason, size, "<%s>: encryption required (%s) and %s",
			 rcpt, lv.encrypt.layer, cert == POLICY_UNKNOWN
				 ? "its certificate cannot be looked up now"
				 : "no certificate is known");
		if (cert == POLICY_UNKNOWN ||
		    lv.on_missing.value == POLICY_ACTION_TEMPFAIL)
			return POLICY_RCPT_TEMPFAIL;
		if (lv.on_missing.value == POLICY_ACTION_REJECT)
			return POLICY_RCPT_REJECT;
		/* hold: accepted now, the message is held at its end */
	}
	if (p->mixed == POLICY_MIXED_SPLIT && first_group != POLICY_GROUP_NONE &&
	    *group_r != first_group) {
		snprintf(reason, size, "<%s>: needs %s delivery, unlike the "
			 "recipients before it: send it separately", rcpt,
			 *group_r == POLICY_GROUP_ENCRYPTED ? "encrypted" : "plain");
		return POLICY_RCPT_SPLIT;
	}
	snprintf(reason, size, "<%s>: encrypt %s (%s)", rcpt,
		 policy_encrypt_name((enum policy_encrypt)lv.encrypt.value),
		 lv.encrypt.layer);
	return POLICY_RCPT_ACCEPT;
}

/* --- end of message ------------------------------------------------- */

/* Appends to the decision's reason, "; "-separated, truncating safely. */
static void add_reason(struct policy_decision *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add_reason(struct policy_decision *d, const char *fmt, ...)
{
	size_t used = strlen(d->reason);
	if (used + 3 >= sizeof(d->reason))
		return;
	if (used > 0) {
		memcpy(d->reason + used, "; ", 3);
		used += 2;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->reason + used, sizeof(d->reason) - used, fmt, ap);
	va_end(ap);
}

static void raise_action(struct policy_decision *d, enum policy_action a)
{
	if (a > d->action)
		d->action = a;
}

/* Does a signers.logins address (or "@domain") cover from? */
static bool grant_covers(const char *grant, const char *from)
{
	if (grant[0] != '@')
		return strcasecmp(grant, from) == 0;
	const char *at = strrchr(from, '@');
	return at != NULL && strcasecmp(at, grant) == 0;
}

/* May this client sign as `from`? The SASL login must be the address or
 * be mapped to it; without a login, only listed addresses. */
static bool may_sign_as(const struct policy *p,
			const struct policy_message_input *in)
{
	if (in->from == NULL)
		return false;
	if (in->auth_login == NULL || in->auth_login[0] == '\0') {
		for (size_t i = 0; i < p->n_allow_unauthenticated; i++)
			if (strcasecmp(p->allow_unauthenticated[i], in->from) == 0)
				return true;
		return false;
	}
	if (strcasecmp(in->auth_login, in->from) == 0)
		return true;
	for (size_t i = 0; i < p->n_logins; i++) {
		if (strcasecmp(p->logins[i].login, in->auth_login) != 0)
			continue;
		for (size_t j = 0; j < p->logins[i].n_addresses; j++)
			if (grant_covers(p->logins[i].addresses[j], in->from))
				return true;
	}
	return false;
}

static void decide_sign(const struct policy *p,
			const struct policy_message_input *in, bool triggered,
			struct policy_decision *d)
{
	const struct policy_layer *sl[4];
	size_t sn = policy_layers_for(p, in->from ? in->from : in->sender, sl);
	d->sign_source = resolve(sl, sn, PROP(sign));
	d->on_sign_failure = resolve(sl, sn, PROP(on_sign_failure));
	enum policy_sign want = (enum policy_sign)d->sign_source.value;
	if (want == POLICY_SIGN_NEVER ||
	    (want == POLICY_SIGN_ON_REQUEST && !triggered)) {
		add_reason(d, "not signed: sign %s (%s)", policy_sign_name(want),
			   d->sign_source.layer);
		return;
	}
	if (in->client_signed) {
		add_reason(d, "not signed: already signed by the client");
		return;
	}
	if (!in->can_sign) {
		add_reason(d, "not signed: signing is not available");
		return;
	}
	if (!may_sign_as(p, in)) {
		add_reason(d, "not signed: client %s%s may not sign as <%s>",
			   in->auth_login ? "login " : "unauthenticated",
			   in->auth_login ? in->auth_login : "",
			   in->from ? in->from : "(no single From address)");
		return;
	}
	if (in->signing_key == POLICY_AVAILABLE) {
		d->sign = true;
		add_reason(d, "signed as <%s> (%s)", in->from,
			   d->sign_source.layer);
		return;
	}
	struct policy_source fail = d->on_sign_failure;
	d->needs_key = true;
	add_reason(d, "no signing key for <%s>%s: %s (%s)", in->from,
		   in->signing_key == POLICY_UNKNOWN ? " (store unavailable)" : "",
		   fail.value == POLICY_ACTION_SEND ? "sent unsigned"
			: policy_action_name((enum policy_action)fail.value),
		   fail.layer);
	if (fail.value != POLICY_ACTION_SEND)
		raise_action(d, (enum policy_action)fail.value);
}

/* Fills each recipient's level; returns true if any is required. */
static bool rcpt_levels(const struct policy *p,
			const struct policy_message_input *in,
			const char *trigger, struct policy_decision *d)
{
	bool any_required = false;
	const struct policy_layer *sl[4];
	size_t sn = policy_layers_for(p, in->sender, sl);
	for (size_t i = 0; i < in->n_rcpts; i++) {
		struct policy_rcpt_decision *r = &d->rcpts[i];
		r->address = in->rcpts[i].address;
		r->cert = in->rcpts[i].cert;
		policy_rcpt_level(p, in->sender, r->address, &r->level);
		if (trigger != NULL &&
		    r->level.encrypt.value != POLICY_ENCRYPT_REQUIRED) {
			r->level.encrypt.value = POLICY_ENCRYPT_REQUIRED;
			r->level.encrypt.layer = trigger;
			r->level.on_missing = resolve(sl, sn, PROP(on_missing));
		}
		if (r->level.encrypt.value == POLICY_ENCRYPT_REQUIRED)
			any_required = true;
	}
	return any_required;
}

/* Required recipients without a certificate: their on_missing action. */
static void refuse_missing(struct policy_decision *d)
{
	for (size_t i = 0; i < d->n_rcpts; i++) {
		struct policy_rcpt_decision *r = &d->rcpts[i];
		if (r->level.encrypt.value != POLICY_ENCRYPT_REQUIRED ||
		    r->cert == POLICY_AVAILABLE)
			continue;
		enum policy_action a = r->cert == POLICY_UNKNOWN
			? POLICY_ACTION_TEMPFAIL
			: (enum policy_action)r->level.on_missing.value;
		raise_action(d, a);
		add_reason(d, "<%s>: encryption required (%s), %s: %s",
			   r->address, r->level.encrypt.layer,
			   r->cert == POLICY_UNKNOWN ? "certificate lookup failed"
						     : "no certificate",
			   policy_action_name(a));
	}
}

static void decide_encrypt(bool any_required, struct policy_decision *d)
{
	size_t without = 0, never = 0, wanting = 0;
	const struct policy_rcpt_decision *blocker = NULL, *requirer = NULL;
	for (size_t i = 0; i < d->n_rcpts; i++) {
		const struct policy_rcpt_decision *r = &d->rcpts[i];
		if (r->cert != POLICY_AVAILABLE) {
			without++;
			blocker = blocker ? blocker : r;
		}
		if (r->level.encrypt.value == POLICY_ENCRYPT_NEVER)
			never++;
		else if (r->cert == POLICY_AVAILABLE)
			wanting++;
		if (r->level.encrypt.value == POLICY_ENCRYPT_REQUIRED && !requirer)
			requirer = r;
	}
	if (any_required && without > 0 && requirer != NULL && blocker != NULL &&
	    blocker->level.encrypt.value != POLICY_ENCRYPT_REQUIRED) {
		/* One envelope for everybody: it cannot include a recipient
		 * without a certificate, and it cannot be left out. */
		raise_action(d, (enum policy_action)requirer->level.on_missing.value);
		add_reason(d, "<%s> requires encryption but <%s> has no "
			   "certificate (mixed recipients)", requirer->address,
			   blocker->address);
		return;
	}
	if (d->n_rcpts == 0 || without > 0 || wanting == 0 ||
	    (never > 0 && !any_required)) {
		add_reason(d, "not encrypted: %s", d->n_rcpts == 0 ? "no recipients"
			   : never > 0 ? "a recipient's policy says never"
			   : without > 0 ? "not every recipient has a certificate"
				       : "no recipient wants encryption");
		return;
	}
	d->encrypt = true;
	for (size_t i = 0; i < d->n_rcpts; i++) {
		d->rcpts[i].encrypt_to = true;
		if (d->rcpts[i].level.legacy_interop.value == 2)
			d->legacy_interop = true;
	}
	add_reason(d, "encrypted to %zu recipient%s", d->n_rcpts,
		   d->n_rcpts == 1 ? "" : "s");
}

/* Outbound mail is ours; inbound and relayed mail are not. Internal mail
 * follows internal_mail, except that a recipient who requires encryption
 * (by policy or by a trigger) always wins: then the message is handled
 * like outbound mail, protected or refused, never passed in clear. */
static bool wants_processing(const struct policy *p,
			     const struct policy_message_input *in,
			     bool any_required, struct policy_decision *d)
{
	if (in->direction == POLICY_OUTBOUND)
		return true;
	if (in->direction == POLICY_INTERNAL &&
	    (p->internal_mail != POLICY_INTERNAL_PASS || any_required))
		return true;
	add_reason(d, "%s mail: no outbound processing%s",
		   policy_direction_name(in->direction),
		   in->direction == POLICY_INTERNAL ? " (internal_mail = pass)"
						    : "");
	return false;
}

static void check_invariant(struct policy_decision *d)
{
	if (d->action != POLICY_ACTION_SEND || d->encrypt)
		return;
	for (size_t i = 0; i < d->n_rcpts; i++)
		if (d->rcpts[i].level.encrypt.value == POLICY_ENCRYPT_REQUIRED) {
			d->action = POLICY_ACTION_TEMPFAIL;
			add_reason(d, "internal error: required encryption not "
				   "met, refusing to send in clear");
			return;
		}
}

/* Header protection for the message: the stricter setting of its
 * recipients wins, since all of them receive one header. It only means
 * something for mail that is signed or encrypted here, and not for mail
 * the client signed that is only encrypted here: the fields would sit
 * outside the client's signature, where no reader looks for them. */
static void decide_header_protection(const struct policy_message_input *in,
				     struct policy_decision *d)
{
	d->header_protection = POLICY_HP_OFF;
	d->hp_source = (struct policy_source){ POLICY_HP_OFF, "built-in" };
	for (size_t i = 0; i < d->n_rcpts; i++) {
		struct policy_source s = d->rcpts[i].level.header_protection;
		if (i == 0 || s.value > d->hp_source.value)
			d->hp_source = s;
	}
	if (d->hp_source.value != POLICY_HP_BASELINE ||
	    d->action != POLICY_ACTION_SEND || (!d->sign && !d->encrypt))
		return;
	if (in->client_signed && !d->sign) {
		add_reason(d, "no header protection: signed by the client");
		return;
	}
	d->header_protection = POLICY_HP_BASELINE;
	add_reason(d, "header protection baseline (%s)", d->hp_source.layer);
}

int policy_decide(const struct policy *p,
		  const struct policy_message_input *in,
		  struct policy_decision *out)
{
	struct policy_decision d;
	memset(&d, 0, sizeof(d));
	d.action = POLICY_ACTION_SEND;
	d.rcpts = calloc(in->n_rcpts ? in->n_rcpts : 1, sizeof(*d.rcpts));
	if (d.rcpts == NULL)
		return -1;
	d.n_rcpts = in->n_rcpts;
	bool outgoing = in->direction == POLICY_OUTBOUND ||
			in->direction == POLICY_INTERNAL;
	bool tag = outgoing && policy_subject_has_tag(p, in->subject);
	bool hdr = outgoing && policy_header_triggers(p, in->trigger_header);
	const char *trigger = tag ? "trigger subject tag"
			      : hdr ? "trigger header" : NULL;
	bool any_required = rcpt_levels(p, in, trigger, &d) && outgoing;
	d.process = wants_processing(p, in, any_required, &d);
	if (in->encryption_claim_false && !in->client_encrypted)
		add_reason(&d, "Content-Type claims client encryption but the "
			   "body is not encrypted: not exempt");
	if (d.process && in->client_encrypted) {
		/* Encrypted by the client: never in clear, never touched. */
		d.process = false;
		add_reason(&d, "already encrypted by the client: left as is");
	}
	if (d.process) {
		bool internal_sign_only = in->direction == POLICY_INTERNAL &&
			p->internal_mail != POLICY_INTERNAL_OUTBOUND;
		if (internal_sign_only && any_required) {
			internal_sign_only = false;
			add_reason(&d, "internal mail handled as outbound: "
				   "encryption required (%s)",
				   trigger ? trigger : "recipient policy");
		}
		if (!internal_sign_only)
			refuse_missing(&d);
		decide_sign(p, in, trigger != NULL, &d);
		if (!internal_sign_only && d.action == POLICY_ACTION_SEND)
			decide_encrypt(any_required, &d);
		d.strip_subject_tag = tag;
		d.strip_trigger_header = in->trigger_header != NULL &&
					 p->trigger_header != NULL;
		decide_header_protection(in, &d);
		check_invariant(&d);
	}
	*out = d;
	return 0;
}

void policy_decision_release(struct policy_decision *d)
{
	free(d->rcpts);
	d->rcpts = NULL;
	d->n_rcpts = 0;
}
