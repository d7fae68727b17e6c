/* SPDX-License-Identifier: BSD-2-Clause */
/* smimectl explain: the decision the milter would make for a message,
 * without sending anything. The facts are gathered by the milter's own
 * code (plan_gather: the From identity, the store's selections, the
 * triggers, the client's protection checked against the body) and
 * decided by the same policy engine. The directory is not contacted;
 * certificates it returned earlier are in the store. Exit 0: the message
 * would be sent; 2: refused or deferred (wholly, or some recipient at
 * RCPT time); 1: usage error. */
#include "ctl.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <smx/hdrlist.h>
#include <smx/mailaddr.h>
#include <smx/msgfile.h>
#include <smx/plan.h>
#include <smx/policy-engine.h>
#include <smx/policy.h>
#include <smx/spool.h>

struct args {
	char *from;			/* normalized */
	char **to;			/* normalized */
	size_t n_to;
	const char *subject;
	const char *login;		/* NULL: the From address */
	bool inbound;			/* --client inbound */
	struct hdrlist *headers;	/* --header's and --message's, in
					 * their order */
	struct spool *body;		/* --message's body, or NULL */
};

/* One lookup in the store, as the plan holds it. */
struct lookup {
	enum policy_availability avail;
	const struct store_selection *sel;	/* NULL when the store
						 * failed */
};

static void args_free(struct args *a)
{
	free(a->from);
	for (size_t i = 0; i < a->n_to; i++)
		free(a->to[i]);
	free(a->to);
	hdrlist_free(&a->headers);
	spool_free(&a->body);
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

/* --header NAME:VALUE. */
static int add_header(struct args *a, const char *arg)
{
	const char *colon = strchr(arg, ':');
	if (colon == NULL || colon == arg) {
		ctl_error("explain: --header wants NAME:VALUE, not '%s'", arg);
		return -1;
	}
	char *name = strndup(arg, (size_t)(colon - arg));
	int rc = name != NULL ? hdrlist_append(a->headers, name, colon + 1)
			      : -1;
	free(name);
	if (rc > 0)
		ctl_error("explain: too many or too large header fields");
	return rc != 0 ? -1 : 0;
}

/* --message FILE: its header fields join the --header ones, its body is
 * what the milter would check a claim of client protection against. The
 * file is split as the milter would receive it. */
static int read_message(struct args *a, const char *path)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	if (ctl_read_file(path, &buf, &len) != 0)
		return -1;
	spool_free(&a->body);
	/* in memory: the file was read whole (ctl_read_file limits it) */
	a->body = spool_new(len + 1, NULL, 0);
	int rc = a->body != NULL
			 ? msgfile_split((const char *)buf, len, a->headers,
					 a->body)
			 : -1;
	free(buf);
	if (rc != 0)
		ctl_error("explain: %s: cannot keep the message", path);
	else if (hdrlist_truncated(a->headers))
		ctl_error("explain: %s: too many or too large header fields",
			  path);
	return rc != 0 || hdrlist_truncated(a->headers) ? -1 : 0;
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
		{ "message", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	optind = 0;
	/* bounded as the milter bounds the header it receives */
	a->headers = hdrlist_new(HDRLIST_MAX_COUNT, HDRLIST_MAX_BYTES);
	if (a->headers == NULL)
		return -1;
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
		case 'm':
			if (read_message(a, optarg) != 0)
				return -1;
			break;
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

/* The message's headers as the plan reads them (the first value
 * without its leading blanks, as the milter gives it): --subject stands
 * for the Subject, and without any From header the sender is From. */
static const char *header_value(const void *msg, const char *name,
				size_t *count_r)
{
	const struct args *a = msg;
	const char *first = hdrlist_get(a->headers, name);
	while (first != NULL && (*first == ' ' || *first == '\t'))
		first++;
	size_t n = 0;
	for (size_t i = hdrlist_find(a->headers, name, 0);
	     i < hdrlist_count(a->headers);
	     i = hdrlist_find(a->headers, name, i + 1))
		n++;
	if (strcasecmp(name, "Subject") == 0 && a->subject != NULL) {
		first = a->subject;
		n = n ? n : 1;
	}
	if (strcasecmp(name, "From") == 0 && n == 0) {
		first = a->from;
		n = 1;
	}
	*count_r = n;
	return first;
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
			const char *from, const char *login,
			enum policy_direction dir,
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
		printf("  signing key for <%s>: %s\n",
		       from ? from : "(no single From address)",
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
		struct policy_reply reply = policy_rcpt_reply(verdicts[i]);
		if (verdicts[i] != POLICY_RCPT_ACCEPT)
			printf("    at RCPT time: %s %s %s: %s\n",
			       verdict_name(verdicts[i]), reply.code,
			       reply.xcode, reasons[i]);
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

/* The header protection line of the human output: the mode and its
 * layer; with baseline on a processed message, the hp= value the
 * protected headers get and whether the outer Subject is replaced. */
static void json_header_protection(const struct policy_decision *d)
{
	bool baseline = d->process &&
			d->header_protection == POLICY_HP_BASELINE;
	printf("\"header_protection\":{");
	json_source("mode", policy_hp_name(d->header_protection),
		    d->hp_source.layer);
	printf(",\"hp\":%s,\"subject_obscured\":%s}",
	       !baseline ? "null" : d->encrypt ? "\"cipher\"" : "\"clear\"",
	       baseline && d->encrypt ? "true" : "false");
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
	printf("},\"encrypt\":%s,\"legacy_interop\":%s,\"strip_subject_tag\":%s,",
	       d->encrypt ? "true" : "false",
	       d->legacy_interop ? "true" : "false",
	       d->strip_subject_tag ? "true" : "false");
	json_header_protection(d);
	printf(",\"recipients\":[");
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

/* The verdict at RCPT time of each recipient, as the milter gives it
 * (only for a trusted internal sender: outbound without recipients). */
static bool rcpt_verdicts(const struct ctl *ctl, const struct args *a,
			  const struct policy_envelope *env,
			  const struct plan *plan,
			  enum policy_rcpt_verdict *verdicts,
			  char reasons[][400])
{
	struct policy_envelope sender_only = *env;
	sender_only.n_recipients = 0;
	char scratch[256];
	if (plan_classify(ctl->cfg, &sender_only, scratch, sizeof(scratch)) !=
	    POLICY_OUTBOUND)
		return true;
	bool all = true;
	enum policy_group first = POLICY_GROUP_NONE;
	for (size_t i = 0; i < a->n_to; i++) {
		enum policy_group group = POLICY_GROUP_PLAIN;
		verdicts[i] = policy_rcpt_decide(ctl->cfg->policy, a->from,
						 a->to[i], plan->rcpts[i].cert,
						 first, &group, reasons[i],
						 sizeof(reasons[i]));
		if (verdicts[i] != POLICY_RCPT_ACCEPT) {
			all = false;
			continue;
		}
		reasons[i][0] = '\0';
		if (first == POLICY_GROUP_NONE)
			first = group;
	}
	return all;
}

static int explain(struct ctl *ctl, const struct args *a)
{
	/* An untrusted client: an address from TEST-NET-1, unauthenticated.
	 * A trusted one: locally injected, with its SASL login (by default
	 * the From address). */
	struct sockaddr_in outside = { .sin_family = AF_INET };
	inet_pton(AF_INET, "192.0.2.1", &outside.sin_addr);
	struct policy_envelope env = {
		.sender = a->from, .recipients = a->to, .n_recipients = a->n_to,
		.auth_authen = a->inbound ? NULL : a->login ? a->login : a->from,
		.client = a->inbound ? (const struct sockaddr *)&outside : NULL,
	};
	char dir_reason[256];
	enum policy_direction dir = plan_classify(ctl->cfg, &env, dir_reason,
						  sizeof(dir_reason));
	struct plan_message pm = {
		.direction = dir, .sender = a->from,
		.rcpts = a->to, .n_rcpts = a->n_to,
		.auth_login = env.auth_authen,
		.header = header_value, .msg = a, .body = a->body,
	};
	struct plan plan;
	struct lookup *certs = calloc(a->n_to, sizeof(*certs));
	enum policy_rcpt_verdict *verdicts = calloc(a->n_to, sizeof(*verdicts));
	char (*reasons)[400] = calloc(a->n_to, sizeof(*reasons));
	int rc = CTL_FAIL;
	if (plan_gather(ctl->cfg, ctl->store, &pm, &plan) != 0) {
		ctl_error("explain: out of memory");
		goto out_plan;
	}
	if (certs == NULL || verdicts == NULL || reasons == NULL) {
		ctl_error("explain: out of memory");
		goto out;
	}
	if (!a->inbound && a->login == NULL)
		plan.in.auth_login = plan.from;	/* logged in as From */
	const char *login = plan.in.auth_login;
	struct lookup key = { plan.in.signing_key, plan.signing };
	for (size_t i = 0; i < a->n_to; i++)
		certs[i] = (struct lookup){ plan.rcpts[i].cert,
					    plan.rcpts[i].sel };
	bool sent = rcpt_verdicts(ctl, a, &env, &plan, verdicts, reasons);
	struct policy_decision d;
	if (plan_decide(ctl->cfg, &plan, &d) != 0) {
		ctl_error("explain: out of memory");
		goto out;
	}
	sent = sent && d.action == POLICY_ACTION_SEND;
	if (ctl->json)
		print_json(a, login, dir, dir_reason, &key, certs, verdicts,
			   reasons, &d, sent);
	else
		print_human(ctl, a, plan.from, login, dir, dir_reason, &key,
			    certs, verdicts, reasons, &d, sent);
	if (!ctl->json && a->body == NULL && plan.in.encryption_claim_false)
		printf("note:       there is no body (--message): the milter "
		       "leaves a message as it is only when its body really "
		       "is encrypted\n");
	policy_decision_release(&d);
	rc = sent ? CTL_OK : CTL_FAIL;
out:
	plan_release(&plan);
out_plan:
	free(certs);
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
			"         [--message FILE] [--login L] "
			"[--client inbound|outbound] [--json]\n");
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
