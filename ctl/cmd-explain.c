/* SPDX-License-Identifier: BSD-2-Clause */
/* smimectl explain: the decision the milter would make for a message,
 * without sending anything. The same policy engine (policy_classify,
 * policy_rcpt_decide, policy_decide) is fed the same kind of input the
 * milter builds: the signing key and each recipient's certificate are
 * looked up in the store with store_select, the one selection rule. The
 * directory is not contacted; certificates it returned earlier are in the
 * store. Exit 0: the message would be sent; 2: refused or deferred
 * (wholly, or some recipient at RCPT time); 1: usage error. */
#include "ctl.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <smx/mailaddr.h>
#include <smx/policy-engine.h>
#include <smx/policy.h>
#include <smx/smime-protection.h>

struct header {
	char *name;
	const char *value;
};

struct args {
	char *from;			/* normalized */
	char **to;			/* normalized */
	size_t n_to;
	const char *subject;
	const char *login;		/* NULL: the From address */
	bool inbound;			/* --client inbound */
	struct header *headers;
	size_t n_headers;
};

/* One lookup in the store, as the milter's availability checks do it. */
struct lookup {
	enum policy_availability avail;
	struct store_selection *sel;	/* NULL when the store failed */
};

static void args_free(struct args *a)
{
	free(a->from);
	for (size_t i = 0; i < a->n_to; i++)
		free(a->to[i]);
	free(a->to);
	for (size_t i = 0; i < a->n_headers; i++)
		free(a->headers[i].name);
	free(a->headers);
}

static char *address_arg(const char *opt, const char *value)
{
	char *addr = mailaddr_normalize(value);
	if (addr == NULL || mailaddr_domain(addr) == NULL ||
	    strchr(addr, '@') == addr) {
		ctl_error("explain: %s '%s' is not a mail address", opt, value);
		free(addr);
		return NULL;
	}
	return addr;
}

static int add_header(struct args *a, const char *arg)
{
	const char *colon = strchr(arg, ':');
	if (colon == NULL || colon == arg) {
		ctl_error("explain: --header wants NAME:VALUE, not '%s'", arg);
		return -1;
	}
	struct header *grown = realloc(a->headers,
				       (a->n_headers + 1) * sizeof(*grown));
	if (grown == NULL)
		return -1;
	a->headers = grown;
	char *name = strndup(arg, (size_t)(colon - arg));
	if (name == NULL)
		return -1;
	const char *value = colon + 1;
	while (*value == ' ' || *value == '\t')
		value++;
	a->headers[a->n_headers++] = (struct header){ name, value };
	return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "subject", required_argument, NULL, 's' },
		{ "header", required_argument, NULL, 'H' },
		{ "login", required_argument, NULL, 'l' },
		{ "client", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			free(a->from);
			if ((a->from = address_arg("--from", optarg)) == NULL)
				return -1;
			break;
		case 't': {
			char *addr = address_arg("--to", optarg);
			char **grown = addr ? realloc(a->to, (a->n_to + 1) *
							     sizeof(*grown))
					    : NULL;
			if (grown == NULL) {
				free(addr);
				return -1;
			}
			a->to = grown;
			a->to[a->n_to++] = addr;
			break;
		}
		case 's': a->subject = optarg; break;
		case 'H':
			if (add_header(a, optarg) != 0)
				return -1;
			break;
		case 'l': a->login = optarg; break;
		case 'C':
			if (strcmp(optarg, "inbound") == 0)
				a->inbound = true;
			else if (strcmp(optarg, "outbound") != 0) {
				ctl_error("explain: --client is inbound or "
					  "outbound, not '%s'", optarg);
				return -1;
			}
			break;
		default:
			return -1;
		}
	}
	if (optind != argc) {
		ctl_error("explain: unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (a->from == NULL || a->n_to == 0) {
		ctl_error("explain: --from and at least one --to are required");
		return -1;
	}
	return 0;
}

static const char *header_value(const struct args *a, const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < a->n_headers; i++)
		if (strcasecmp(a->headers[i].name, name) == 0)
			return a->headers[i].value;
	return NULL;
}

static void do_lookup(struct store *store, const char *email,
		      enum store_purpose purpose, struct lookup *out)
{
	out->sel = NULL;
	if (store == NULL) {
		out->avail = POLICY_UNKNOWN;
		return;
	}
	enum smx_status st = store_select(store, email, purpose, time(NULL),
					  &out->sel);
	out->avail = st == SMX_OK ? POLICY_AVAILABLE
		     : st == SMX_NOTFOUND ? POLICY_MISSING : POLICY_UNKNOWN;
	if (st != SMX_OK && st != SMX_NOTFOUND)
		out->sel = NULL;
}

static const char *avail_name(enum policy_availability a)
{
	return a == POLICY_AVAILABLE ? "available"
	       : a == POLICY_MISSING ? "missing" : "unknown";
}

static const char *verdict_name(enum policy_rcpt_verdict v)
{
	static const char *const names[] = { "accept", "reject", "tempfail",
					     "split" };
	return (unsigned)v < 4 ? names[v] : "unknown";
}

static const char *verdict_reply(enum policy_rcpt_verdict v)
{
	static const char *const replies[] = { "", "550 5.7.1", "450 4.7.1",
					       "452 4.5.3" };
	return (unsigned)v < 4 ? replies[v] : "";
}

/* The reason segment ("; "-separated) about signing, or NULL. */
static const char *sign_segment(const char *reason, char *buf, size_t size)
{
	static const char *const starts[] = { "signed as", "not signed",
					      "no signing key" };
	const char *p = reason;
	while (p != NULL && *p != '\0') {
		const char *end = strstr(p, "; ");
		size_t len = end ? (size_t)(end - p) : strlen(p);
		for (size_t i = 0; i < 3; i++)
			if (strncmp(p, starts[i], strlen(starts[i])) == 0) {
				snprintf(buf, size, "%.*s", (int)len, p);
				return buf;
			}
		p = end ? end + 2 : NULL;
	}
	return NULL;
}

/* --- human output ------------------------------------------------------ */

static void human_selection(const struct lookup *l, enum store_purpose purpose,
			    const char *none)
{
	char date[32];
	if (l->sel == NULL) {
		printf("    certificate: none: %s\n", l->avail == POLICY_UNKNOWN
			       ? "the store cannot answer" : none);
		return;
	}
	for (size_t i = 0; i < l->sel->count; i++) {
		const struct store_candidate *c = &l->sel->items[i];
		const struct store_cert *x = c->cert;
		if (i == 0 && l->sel->n_usable > 0)
			printf("    certificate: %s  expires %s  source %s%s\n",
			       x->fingerprint,
			       ctl_date(x->not_after, date, sizeof(date)),
			       store_source_name(x->source),
			       c->preferred ? "  (preferred by the sender)"
					    : "");
		else if (i < l->sel->n_usable)
			printf("    also usable: %s  expires %s  source %s\n",
			       x->fingerprint,
			       ctl_date(x->not_after, date, sizeof(date)),
			       store_source_name(x->source));
		else
			printf("    rejected:    %s  expires %s  source %s: %s\n",
			       x->fingerprint,
			       ctl_date(x->not_after, date, sizeof(date)),
			       store_source_name(x->source),
			       store_reject_text(c->reason, purpose));
	}
	if (l->sel->n_usable == 0)
		printf("    certificate: none usable%s\n",
		       l->sel->count == 0 ? " (the store holds none)" : "");
}

static void print_human(const struct ctl *ctl, const struct args *a,
			const char *login, enum policy_direction dir,
			const char *dir_reason, const struct lookup *key,
			const struct lookup *certs,
			const enum policy_rcpt_verdict *verdicts,
			char reasons[][400], const struct policy_decision *d,
			bool sent)
{
	char seg[512];
	printf("direction:  %s (%s)\n", policy_direction_name(dir), dir_reason);
	printf("from:       <%s>, %s\n", a->from,
	       login ? login : "no login (unauthenticated client)");
	if (!d->process) {
		printf("processing: none, the message passes unchanged\n");
	} else {
		const char *why = sign_segment(d->reason, seg, sizeof(seg));
		printf("sign:       %s: sign %s (%s)%s%s\n", d->sign ? "yes" : "no",
		       policy_sign_name((enum policy_sign)d->sign_source.value),
		       d->sign_source.layer, why ? "; " : "", why ? why : "");
		printf("  signing key for <%s>: %s\n", a->from,
		       avail_name(key->avail));
		human_selection(key, STORE_PURPOSE_SIGN,
				"no certificate with a private key");
		printf("  on sign failure: %s (%s)\n",
		       policy_action_name((enum policy_action)
						  d->on_sign_failure.value),
		       d->on_sign_failure.layer);
		printf("encrypt:    %s%s\n", d->encrypt ? "yes" : "no",
		       d->legacy_interop ? " (legacy forms)" : "");
		printf("header protection: %s%s (%s)\n",
		       policy_hp_name(d->header_protection),
		       d->header_protection != POLICY_HP_BASELINE ? ""
		       : d->encrypt ? ", hp=\"cipher\", Subject [...] outside"
				    : ", hp=\"clear\"", d->hp_source.layer);
	}
	for (size_t i = 0; i < d->n_rcpts; i++) {
		const struct policy_rcpt_decision *r = &d->rcpts[i];
		printf("recipient <%s>:\n", r->address);
		if (!d->process) {
			printf("    not processed\n");
			continue;
		}
		printf("    encryption: %s (%s)\n",
		       policy_encrypt_name((enum policy_encrypt)
						   r->level.encrypt.value),
		       r->level.encrypt.layer);
		printf("    when no certificate: %s (%s)\n",
		       policy_action_name((enum policy_action)
						  r->level.on_missing.value),
		       r->level.on_missing.layer);
		printf("    legacy_interop: %s (%s)\n",
		       r->level.legacy_interop.value == 2 ? "yes" : "no",
		       r->level.legacy_interop.layer);
		human_selection(&certs[i], STORE_PURPOSE_ENCRYPT,
				"no certificate is known");
		if (verdicts[i] != POLICY_RCPT_ACCEPT)
			printf("    at RCPT time: %s %s: %s\n",
			       verdict_name(verdicts[i]),
			       verdict_reply(verdicts[i]), reasons[i]);
		printf("    encrypted to: %s\n", r->encrypt_to ? "yes" : "no");
	}
	if (ctl->cfg->ldap.n_uri > 0)
		printf("note:       the directory was not consulted; the milter "
		       "also looks there\n");
	printf("action:     %s%s\n", policy_action_name(d->action),
	       sent ? "" : " (refused or deferred)");
	printf("reasons:\n");
	const char *p = d->reason;
	while (p != NULL && *p != '\0') {
		const char *end = strstr(p, "; ");
		size_t len = end ? (size_t)(end - p) : strlen(p);
		printf("  - %.*s\n", (int)len, p);
		p = end ? end + 2 : NULL;
	}
}

/* --- JSON output ------------------------------------------------------- */

static void json_cert(const struct store_cert *x)
{
	printf("{\"fingerprint\":\"%s\",\"not_after\":%" PRId64
	       ",\"source\":\"%s\",\"trust\":\"%s\",\"subject\":",
	       x->fingerprint, x->not_after, store_source_name(x->source),
	       store_trust_name(x->trust));
	ctl_json_string(stdout, x->subject);
	putchar('}');
}

static void json_selection(const struct lookup *l, enum store_purpose purpose)
{
	printf("\"availability\":\"%s\",\"certificate\":",
	       avail_name(l->avail));
	if (l->sel != NULL && l->sel->n_usable > 0)
		json_cert(l->sel->items[0].cert);
	else
		printf("null");
	printf(",\"rejected\":[");
	for (size_t i = 0, n = 0; l->sel != NULL && i < l->sel->count; i++) {
		const struct store_candidate *c = &l->sel->items[i];
		if (c->reason == STORE_USABLE)
			continue;
		printf("%s{\"fingerprint\":\"%s\",\"not_after\":%" PRId64
		       ",\"source\":\"%s\",\"reason\":", n++ ? "," : "",
		       c->cert->fingerprint, c->cert->not_after,
		       store_source_name(c->cert->source));
		ctl_json_string(stdout, store_reject_text(c->reason, purpose));
		putchar('}');
	}
	putchar(']');
}

static void json_source(const char *name, const char *value,
			const char *layer)
{
	printf("\"%s\":", name);
	ctl_json_string(stdout, value);
	printf(",\"%s_layer\":", name);
	ctl_json_string(stdout, layer);
}

static void print_json(const struct args *a, const char *login,
		       enum policy_direction dir, const char *dir_reason,
		       const struct lookup *key, const struct lookup *certs,
		       const enum policy_rcpt_verdict *verdicts,
		       char reasons[][400], const struct policy_decision *d,
		       bool sent)
{
	char seg[512];
	printf("{\"direction\":\"%s\",\"direction_reason\":",
	       policy_direction_name(dir));
	ctl_json_string(stdout, dir_reason);
	printf(",\"from\":");
	ctl_json_string(stdout, a->from);
	printf(",\"login\":");
	if (login != NULL)
		ctl_json_string(stdout, login);
	else
		printf("null");
	const char *why = sign_segment(d->reason, seg, sizeof(seg));
	printf(",\"processed\":%s,\"sign\":{\"sign\":%s,\"authorized\":%s,",
	       d->process ? "true" : "false", d->sign ? "true" : "false",
	       why != NULL && strstr(why, "may not sign as") ? "false"
							     : "true");
	json_source("policy",
		    policy_sign_name((enum policy_sign)d->sign_source.value),
		    d->sign_source.layer);
	printf(",\"reason\":");
	ctl_json_string(stdout, why ? why : "");
	putchar(',');
	json_source("on_failure",
		    policy_action_name((enum policy_action)
					       d->on_sign_failure.value),
		    d->on_sign_failure.layer);
	putchar(',');
	json_selection(key, STORE_PURPOSE_SIGN);
	printf("},\"encrypt\":%s,\"legacy_interop\":%s,\"strip_subject_tag\":%s,"
	       "\"recipients\":[", d->encrypt ? "true" : "false",
	       d->legacy_interop ? "true" : "false",
	       d->strip_subject_tag ? "true" : "false");
	for (size_t i = 0; i < d->n_rcpts; i++) {
		const struct policy_rcpt_decision *r = &d->rcpts[i];
		printf("%s{\"address\":", i ? "," : "");
		ctl_json_string(stdout, a->to[i]);
		putchar(',');
		json_source("encrypt",
			    policy_encrypt_name((enum policy_encrypt)
							r->level.encrypt.value),
			    r->level.encrypt.layer);
		putchar(',');
		json_source("on_missing",
			    policy_action_name((enum policy_action)
						       r->level.on_missing.value),
			    r->level.on_missing.layer);
		printf(",\"legacy_interop\":%s,\"legacy_interop_layer\":",
		       r->level.legacy_interop.value == 2 ? "true" : "false");
		ctl_json_string(stdout, r->level.legacy_interop.layer);
		printf(",\"encrypt_to\":%s,", r->encrypt_to ? "true" : "false");
		json_selection(&certs[i], STORE_PURPOSE_ENCRYPT);
		printf(",\"at_rcpt\":\"%s\",\"at_rcpt_reason\":",
		       verdict_name(verdicts[i]));
		ctl_json_string(stdout, reasons[i]);
		putchar('}');
	}
	printf("],\"action\":\"%s\",\"sent\":%s,\"reasons\":[",
	       policy_action_name(d->action), sent ? "true" : "false");
	const char *p = d->reason;
	for (int n = 0; p != NULL && *p != '\0'; n++) {
		const char *end = strstr(p, "; ");
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char *one = strndup(p, len);
		printf("%s", n ? "," : "");
		ctl_json_string(stdout, one ? one : "");
		free(one);
		p = end ? end + 2 : NULL;
	}
	printf("]}\n");
}

/* --- the command ------------------------------------------------------- */

static int explain(struct ctl *ctl, const struct args *a)
{
	const struct policy *policy = ctl->cfg->policy;
	const struct cfg_milter *mc = &ctl->cfg->milter;
	const char *login = a->inbound ? NULL : a->login ? a->login : a->from;

	/* An untrusted client: an address from TEST-NET-1, unauthenticated.
	 * A trusted one: locally injected, with its SASL login. */
	struct sockaddr_in outside = { .sin_family = AF_INET };
	inet_pton(AF_INET, "192.0.2.1", &outside.sin_addr);
	struct policy_envelope env = {
		.sender = a->from, .recipients = a->to, .n_recipients = a->n_to,
		.auth_authen = login,
		.client = a->inbound ? (const struct sockaddr *)&outside : NULL,
	};
	struct policy_site site = {
		.internal_domains = mc->internal_domains,
		.n_internal_domains = mc->n_internal_domains,
		.trusted_networks = mc->trusted_networks,
		.n_trusted_networks = mc->n_trusted_networks,
	};
	char dir_reason[256];
	enum policy_direction dir = policy_classify(&env, &site, dir_reason,
						    sizeof(dir_reason));
	bool outgoing = dir == POLICY_OUTBOUND || dir == POLICY_INTERNAL;
	/* The milter decides at RCPT time only for a trusted internal
	 * sender (outbound classification without recipients). */
	struct policy_envelope sender_only = env;
	sender_only.n_recipients = 0;
	char scratch[256];
	bool sender_trusted = policy_classify(&sender_only, &site, scratch,
					      sizeof(scratch)) ==
			      POLICY_OUTBOUND;

	struct lookup key = { outgoing ? POLICY_UNKNOWN : POLICY_MISSING, NULL };
	struct lookup *certs = calloc(a->n_to, sizeof(*certs));
	struct policy_rcpt_input *rin = calloc(a->n_to, sizeof(*rin));
	enum policy_rcpt_verdict *verdicts = calloc(a->n_to, sizeof(*verdicts));
	char (*reasons)[400] = calloc(a->n_to, sizeof(*reasons));
	int rc = CTL_FAIL;
	if (certs == NULL || rin == NULL || verdicts == NULL || reasons == NULL) {
		ctl_error("explain: out of memory");
		goto out;
	}
	if (outgoing)
		do_lookup(ctl->store, a->from, STORE_PURPOSE_SIGN, &key);
	enum policy_group first = POLICY_GROUP_NONE;
	for (size_t i = 0; i < a->n_to; i++) {
		certs[i].avail = POLICY_MISSING;
		if (outgoing)
			do_lookup(ctl->store, a->to[i], STORE_PURPOSE_ENCRYPT,
				  &certs[i]);
		rin[i] = (struct policy_rcpt_input){ a->to[i], certs[i].avail };
		if (!sender_trusted)
			continue;
		enum policy_group group = POLICY_GROUP_PLAIN;
		verdicts[i] = policy_rcpt_decide(policy, a->from, a->to[i],
						 certs[i].avail, first, &group,
						 reasons[i], sizeof(reasons[i]));
		if (verdicts[i] != POLICY_RCPT_ACCEPT)
			continue;
		reasons[i][0] = '\0';
		if (first == POLICY_GROUP_NONE)
			first = group;
	}
	/* There is no body to check: the Content-Type's claim is taken as
	 * it is, and the output says that the milter checks the body too. */
	enum smime_claim claim = smime_protection_claim(
		header_value(a, "Content-Type"));
	struct policy_message_input in = {
		.direction = dir, .sender = a->from, .from = a->from,
		.auth_login = login,
		.subject = a->subject ? a->subject : header_value(a, "Subject"),
		.trigger_header = header_value(a, policy_trigger_header(policy)),
		.rcpts = rin, .n_rcpts = a->n_to,
		.signing_key = key.avail, .can_sign = true,
		.client_signed = smime_claim_signed(claim),
		.client_encrypted = smime_claim_encrypted(claim),
	};
	struct policy_decision d;
	if (policy_decide(policy, &in, &d) != 0) {
		ctl_error("explain: out of memory");
		goto out;
	}
	bool sent = d.action == POLICY_ACTION_SEND;
	for (size_t i = 0; i < a->n_to; i++)
		if (verdicts[i] != POLICY_RCPT_ACCEPT)
			sent = false;
	if (ctl->json)
		print_json(a, login, dir, dir_reason, &key, certs, verdicts,
			   reasons, &d, sent);
	else
		print_human(ctl, a, login, dir, dir_reason, &key, certs,
			    verdicts, reasons, &d, sent);
	if (!ctl->json && smime_claim_encrypted(claim))
		printf("note:       the Content-Type says the client encrypted "
		       "the message; the milter leaves it as is only when the "
		       "body really is encrypted\n");
	policy_decision_release(&d);
	rc = sent ? CTL_OK : CTL_FAIL;
out:
	store_selection_free(&key.sel);
	for (size_t i = 0; certs != NULL && i < a->n_to; i++)
		store_selection_free(&certs[i].sel);
	free(certs);
	free(rin);
	free(verdicts);
	free(reasons);
	return rc;
}

int ctl_cmd_explain(struct ctl *ctl, int argc, char **argv)
{
	struct args a = { 0 };
	if (parse_args(argc, argv, &a) != 0) {
		args_free(&a);
		fprintf(stderr, "usage: smimectl explain --from S --to R "
			"[--to R2 ...] [--subject TEXT] [--header NAME:VALUE]\n"
			"         [--login L] [--client inbound|outbound] "
			"[--json]\n");
		return CTL_USAGE;
	}
	int rc = ctl_open_store(ctl, 0);
	if (rc == CTL_USAGE || ctl->cfg == NULL) {
		args_free(&a);
		return CTL_USAGE;
	}
	/* An unreachable store is what the milter would see too: every
	 * lookup is "unknown", and policy decides what that means. */
	rc = explain(ctl, &a);
	args_free(&a);
	return rc;
}
