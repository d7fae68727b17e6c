/* SPDX-License-Identifier: BSD-2-Clause */
/* Reading the `policy` configuration group. Unknown keys and bad values
 * are reported with the element they concern, so that `smime-milter -n`
 * names the file and line. */
#include "policy-private.h"

#include <ctype.h>
#include <stdarg.h>
#include <libconfig.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct loader {
	policy_report_fn *report;
	void *ctx;
	int failed;
};

static void complain(struct loader *ld, const config_setting_t *where,
		     const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void complain(struct loader *ld, const config_setting_t *where,
		     const char *fmt, ...)
{
	char msg[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ld->report(ld->ctx, where, msg);
	ld->failed = 1;
}

struct choice {
	const char *name;
	int value;
};

/* True when group.key (key alone for group NULL) is in policy_keys[]
 * below: the parser accepts nothing that table does not list, so the
 * table the documentation is checked against cannot miss a key. */
static bool policy_key_listed(const char *group, const char *key);

static const struct choice sign_choices[] = {
	{ "always", POLICY_SIGN_ALWAYS }, { "never", POLICY_SIGN_NEVER },
	{ "on-request", POLICY_SIGN_ON_REQUEST }, { NULL, 0 } };
static const struct choice encrypt_choices[] = {
	{ "required", POLICY_ENCRYPT_REQUIRED },
	{ "opportunistic", POLICY_ENCRYPT_OPPORTUNISTIC },
	{ "never", POLICY_ENCRYPT_NEVER }, { NULL, 0 } };
static const struct choice missing_choices[] = {
	{ "reject", POLICY_ACTION_REJECT }, { "tempfail", POLICY_ACTION_TEMPFAIL },
	{ "hold", POLICY_ACTION_HOLD }, { NULL, 0 } };
static const struct choice sign_failure_choices[] = {
	{ "tempfail", POLICY_ACTION_TEMPFAIL }, { "send", POLICY_ACTION_SEND },
	{ "reject", POLICY_ACTION_REJECT }, { NULL, 0 } };
static const struct choice mixed_choices[] = {
	{ "all-or-nothing", POLICY_MIXED_ALL_OR_NOTHING },
	{ "split", POLICY_MIXED_SPLIT }, { NULL, 0 } };
static const struct choice hp_choices[] = {
	{ "off", POLICY_HP_OFF }, { "baseline", POLICY_HP_BASELINE },
	{ NULL, 0 } };
static const struct choice internal_choices[] = {
	{ "pass", POLICY_INTERNAL_PASS }, { "sign", POLICY_INTERNAL_SIGN },
	{ "outbound", POLICY_INTERNAL_OUTBOUND }, { NULL, 0 } };

static int parse_choice(struct loader *ld, const config_setting_t *e,
			const char *key, const struct choice *choices, int *out)
{
	const char *v = config_setting_get_string(e);
	if (v != NULL)
		for (const struct choice *c = choices; c->name != NULL; c++)
			if (strcmp(c->name, v) == 0) {
				*out = c->value;
				return 0;
			}
	char allowed[160] = "";
	for (const struct choice *c = choices; c->name != NULL; c++) {
		strncat(allowed, c->name, sizeof(allowed) - strlen(allowed) - 3);
		if (c[1].name != NULL)
			strncat(allowed, ", ", sizeof(allowed) - strlen(allowed) - 1);
	}
	complain(ld, e, "policy: %s: expected one of %s", key, allowed);
	return -1;
}

static int parse_bool(struct loader *ld, const config_setting_t *e,
		      const char *key, bool *out)
{
	if (config_setting_type(e) != CONFIG_TYPE_BOOL) {
		complain(ld, e, "policy: %s: expected true or false", key);
		return -1;
	}
	*out = config_setting_get_bool(e) != 0;
	return 0;
}

static char *lower_dup(const char *s)
{
	char *d = strdup(s);
	for (char *p = d; p != NULL && *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

static int parse_string(struct loader *ld, const config_setting_t *e,
			const char *key, char **out)
{
	const char *v = config_setting_get_string(e);
	if (v == NULL || v[0] == '\0') {
		complain(ld, e, "policy: %s: expected a non-empty string", key);
		return -1;
	}
	free(*out);
	*out = strdup(v);
	return *out != NULL ? 0 : -1;
}

static int parse_string_list(struct loader *ld, const config_setting_t *e,
			     const char *key, char ***out, size_t *n_out)
{
	if (config_setting_type(e) == CONFIG_TYPE_STRING) {
		*out = calloc(1, sizeof(char *));
		if (*out == NULL || ((*out)[0] = lower_dup(
				config_setting_get_string(e))) == NULL)
			return -1;
		*n_out = 1;
		return 0;
	}
	if (!config_setting_is_aggregate(e)) {
		complain(ld, e, "policy: %s: expected a list of strings", key);
		return -1;
	}
	int len = config_setting_length(e);
	*out = calloc((size_t)len + 1, sizeof(char *));
	if (*out == NULL)
		return -1;
	for (int i = 0; i < len; i++) {
		const config_setting_t *el = config_setting_get_elem(e, (unsigned)i);
		const char *v = config_setting_get_string(el);
		if (v == NULL || v[0] == '\0') {
			complain(ld, el, "policy: %s: expected a list of "
				 "non-empty strings", key);
			return -1;
		}
		if (((*out)[i] = lower_dup(v)) == NULL)
			return -1;
		*n_out = (size_t)i + 1;
	}
	return 0;
}

/* Reads one layer property; returns 1 if key is a layer property. */
static int layer_property(struct loader *ld, const config_setting_t *e,
			  const char *key, struct policy_layer *layer)
{
	if (!policy_key_listed("layer", key))
		return 0;
	if (strcmp(key, "sign") == 0)
		parse_choice(ld, e, key, sign_choices, &layer->sign);
	else if (strcmp(key, "encrypt") == 0)
		parse_choice(ld, e, key, encrypt_choices, &layer->encrypt);
	else if (strcmp(key, "on_missing_certificate") == 0)
		parse_choice(ld, e, key, missing_choices, &layer->on_missing);
	else if (strcmp(key, "on_sign_failure") == 0)
		parse_choice(ld, e, key, sign_failure_choices,
			     &layer->on_sign_failure);
	else if (strcmp(key, "header_protection") == 0)
		parse_choice(ld, e, key, hp_choices, &layer->header_protection);
	else if (strcmp(key, "legacy_interop") == 0) {
		bool v = false;
		if (parse_bool(ld, e, key, &v) == 0)
			layer->legacy_interop = v ? 2 : 1;
	} else
		return 0;
	return 1;
}

/* Reads a group of layer properties; name_key ("domain", "address") is
 * the one extra key the group must have, or NULL for the default. */
static int parse_layer(struct loader *ld, const config_setting_t *g,
		       const char *where_name, const char *name_key,
		       struct policy_layer *layer)
{
	if (!config_setting_is_group(g)) {
		complain(ld, g, "policy: %s: expected a group { ... }", where_name);
		return -1;
	}
	bool bad_name = false;
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *e = config_setting_get_elem(g, (unsigned)i);
		const char *key = config_setting_name(e);
		if (layer_property(ld, e, key, layer))
			continue;
		if (name_key != NULL && strcmp(key, name_key) == 0 &&
		    policy_key_listed(where_name, key)) {
			const char *v = config_setting_get_string(e);
			if (v == NULL || v[0] == '\0' ||
			    (strcmp(name_key, "address") == 0 &&
			     strchr(v, '@') == NULL)) {
				complain(ld, e, "policy: %s: '%s' is not valid",
					 where_name, name_key);
				bad_name = true;
				continue;
			}
			free(layer->key);
			layer->key = lower_dup(v);
			continue;
		}
		complain(ld, e, "policy: %s: unknown setting '%s'", where_name,
			 key);
	}
	if (name_key != NULL && layer->key == NULL) {
		if (bad_name)
			return -1;
		complain(ld, g, "policy: %s: every entry needs '%s'", where_name,
			 name_key);
		return -1;
	}
	char label[300];
	snprintf(label, sizeof(label), "%s%s%s", name_key ? name_key : "default",
		 name_key ? " " : "", name_key ? layer->key : "");
	free(layer->label);
	layer->label = strdup(label);
	return layer->label != NULL ? 0 : -1;
}

static int parse_layer_list(struct loader *ld, const config_setting_t *e,
			    const char *name, const char *name_key,
			    struct policy_layer **out, size_t *n_out)
{
	if (!config_setting_is_aggregate(e)) {
		complain(ld, e, "policy: %s: expected a list ( { ... }, ... )",
			 name);
		return -1;
	}
	int len = config_setting_length(e);
	*out = calloc((size_t)len + 1, sizeof(**out));
	if (*out == NULL)
		return -1;
	*n_out = (size_t)len;
	for (int i = 0; i < len; i++)
		parse_layer(ld, config_setting_get_elem(e, (unsigned)i), name,
			    name_key, &(*out)[i]);
	return 0;
}

static void parse_triggers(struct loader *ld, const config_setting_t *g,
			   struct policy *p)
{
	if (!config_setting_is_group(g)) {
		complain(ld, g, "policy: triggers: expected a group");
		return;
	}
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *e = config_setting_get_elem(g, (unsigned)i);
		const char *key = config_setting_name(e);
		if (!policy_key_listed("triggers", key))
			complain(ld, e, "policy: triggers: unknown setting '%s'",
				 key);
		else if (strcmp(key, "subject_tag") == 0)
			parse_string(ld, e, "triggers.subject_tag", &p->subject_tag);
		else if (strcmp(key, "header") == 0)
			parse_string(ld, e, "triggers.header", &p->trigger_header);
		else
			complain(ld, e, "policy: triggers: unknown setting '%s'",
				 key);
	}
}

static void parse_logins(struct loader *ld, const config_setting_t *e,
			 struct policy *p)
{
	if (!config_setting_is_aggregate(e)) {
		complain(ld, e, "policy: signers.logins: expected a list");
		return;
	}
	int len = config_setting_length(e);
	p->logins = calloc((size_t)len + 1, sizeof(*p->logins));
	if (p->logins == NULL)
		return;
	p->n_logins = (size_t)len;
	for (int i = 0; i < len; i++) {
		const config_setting_t *g = config_setting_get_elem(e, (unsigned)i);
		const config_setting_t *login = config_setting_get_member(g, "login");
		const config_setting_t *addrs =
			config_setting_get_member(g, "addresses");
		if (login == NULL || addrs == NULL ||
		    config_setting_length(g) != 2) {
			complain(ld, g, "policy: signers.logins: each entry is "
				 "{ login = \"...\"; addresses = [ ... ]; }");
			continue;
		}
		parse_string(ld, login, "signers.logins.login",
			     &p->logins[i].login);
		parse_string_list(ld, addrs, "signers.logins.addresses",
				  &p->logins[i].addresses,
				  &p->logins[i].n_addresses);
	}
}

static void parse_signers(struct loader *ld, const config_setting_t *g,
			  struct policy *p)
{
	if (!config_setting_is_group(g)) {
		complain(ld, g, "policy: signers: expected a group");
		return;
	}
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *e = config_setting_get_elem(g, (unsigned)i);
		const char *key = config_setting_name(e);
		if (!policy_key_listed("signers", key))
			complain(ld, e, "policy: signers: unknown setting '%s'",
				 key);
		else if (strcmp(key, "allow_unauthenticated") == 0)
			parse_string_list(ld, e, "signers.allow_unauthenticated",
					  &p->allow_unauthenticated,
					  &p->n_allow_unauthenticated);
		else if (strcmp(key, "logins") == 0)
			parse_logins(ld, e, p);
		else
			complain(ld, e, "policy: signers: unknown setting '%s'",
				 key);
	}
}

static void parse_top(struct loader *ld, const config_setting_t *e,
		      struct policy *p)
{
	const char *key = config_setting_name(e);
	int v = 0;
	if (!policy_key_listed(NULL, key))
		complain(ld, e, "policy: unknown setting '%s'", key);
	else if (strcmp(key, "default") == 0)
		parse_layer(ld, e, "default", NULL, &p->defaults);
	else if (strcmp(key, "domains") == 0)
		parse_layer_list(ld, e, "domains", "domain", &p->domains,
				 &p->n_domains);
	else if (strcmp(key, "addresses") == 0)
		parse_layer_list(ld, e, "addresses", "address", &p->addresses,
				 &p->n_addresses);
	else if (strcmp(key, "triggers") == 0)
		parse_triggers(ld, e, p);
	else if (strcmp(key, "signers") == 0)
		parse_signers(ld, e, p);
	else if (strcmp(key, "mixed_recipients") == 0) {
		if (parse_choice(ld, e, key, mixed_choices, &v) == 0)
			p->mixed = (enum policy_mixed)v;
	} else if (strcmp(key, "internal_mail") == 0) {
		if (parse_choice(ld, e, key, internal_choices, &v) == 0)
			p->internal_mail = (enum policy_internal)v;
	} else if (strcmp(key, "encrypt_to_sender") == 0)
		parse_bool(ld, e, key, &p->encrypt_to_sender);
	else if (strcmp(key, "harvest_untrusted") == 0)
		parse_bool(ld, e, key, &p->harvest_untrusted);
	else if (strcmp(key, "decrypt_inbound") == 0)
		parse_bool(ld, e, key, &p->decrypt_inbound);
	else if (strcmp(key, "harvest_require_dmarc") == 0)
		parse_bool(ld, e, key, &p->harvest_require_dmarc);
	else if (strcmp(key, "dmarc_authserv_ids") == 0)
		parse_string_list(ld, e, key, &p->dmarc_authserv_ids,
				  &p->n_dmarc_authserv_ids);
	else if (strcmp(key, "archive_certificate") == 0)
		parse_string(ld, e, key, &p->archive_certificate);
	else
		complain(ld, e, "policy: unknown setting '%s'", key);
}

static void set_builtin(struct policy *p)
{
	p->builtin.label = strdup("built-in");
	p->builtin.sign = POLICY_SIGN_ALWAYS;
	p->builtin.encrypt = POLICY_ENCRYPT_OPPORTUNISTIC;
	p->builtin.on_missing = POLICY_ACTION_REJECT;
	p->builtin.on_sign_failure = POLICY_ACTION_TEMPFAIL;
	p->builtin.legacy_interop = 1;
	p->builtin.header_protection = POLICY_HP_OFF;
	p->defaults.label = strdup("default");
	p->encrypt_to_sender = true;
	p->mixed = POLICY_MIXED_ALL_OR_NOTHING;
	p->internal_mail = POLICY_INTERNAL_PASS;
}

struct policy *policy_from_config(const struct config_setting_t *group,
				  policy_report_fn *report, void *ctx)
{
	struct loader ld = { report, ctx, 0 };
	struct policy *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	set_builtin(p);
	if (group != NULL && !config_setting_is_group(group))
		complain(&ld, group, "policy: expected a group { ... }");
	else if (group != NULL)
		for (int i = 0; i < config_setting_length(group); i++)
			parse_top(&ld, config_setting_get_elem(group, (unsigned)i),
				  p);
	if (p->harvest_require_dmarc && p->n_dmarc_authserv_ids == 0)
		complain(&ld, group, "policy: harvest_require_dmarc needs "
			 "dmarc_authserv_ids (the authserv-ids whose dmarc=pass "
			 "is trusted)");
	if (ld.failed || p->builtin.label == NULL || p->defaults.label == NULL) {
		if (!ld.failed)
			report(ctx, group, "policy: out of memory");
		policy_free(&p);
	}
	return p;
}

static void free_layer(struct policy_layer *l)
{
	free(l->key);
	free(l->label);
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void policy_free(struct policy **pp)
{
	struct policy *p = *pp;
	if (p == NULL)
		return;
	free_layer(&p->builtin);
	free_layer(&p->defaults);
	for (size_t i = 0; i < p->n_domains; i++)
		free_layer(&p->domains[i]);
	free(p->domains);
	for (size_t i = 0; i < p->n_addresses; i++)
		free_layer(&p->addresses[i]);
	free(p->addresses);
	for (size_t i = 0; i < p->n_logins; i++) {
		free(p->logins[i].login);
		free_strings(p->logins[i].addresses, p->logins[i].n_addresses);
	}
	free(p->logins);
	free_strings(p->allow_unauthenticated, p->n_allow_unauthenticated);
	free_strings(p->dmarc_authserv_ids, p->n_dmarc_authserv_ids);
	free(p->subject_tag);
	free(p->trigger_header);
	free(p->archive_certificate);
	free(p);
	*pp = NULL;
}

bool policy_harvest_untrusted(const struct policy *p) { return p->harvest_untrusted; }
bool policy_decrypt_inbound(const struct policy *p) { return p->decrypt_inbound; }
bool policy_encrypt_to_sender(const struct policy *p) { return p->encrypt_to_sender; }
enum policy_mixed policy_mixed_recipients(const struct policy *p) { return p->mixed; }
enum policy_internal policy_internal_mail(const struct policy *p) { return p->internal_mail; }
bool policy_harvest_require_dmarc(const struct policy *p) { return p->harvest_require_dmarc; }
char *const *policy_dmarc_authserv_ids(const struct policy *p, size_t *n_r)
{
	*n_r = p->n_dmarc_authserv_ids;
	return p->dmarc_authserv_ids;
}
const char *policy_trigger_header(const struct policy *p) { return p->trigger_header; }
const char *policy_archive_certificate(const struct policy *p) { return p->archive_certificate; }

/* Every key the `policy` group accepts, with a setting the parser takes
 * without complaint, for the documentation check (tests/docs): that check
 * feeds each example to policy_from_config, so an entry here that the
 * parser does not know fails the build's tests; and the parser refuses a
 * key missing here (policy_key_listed). Keep it in step with parse_top()
 * and the functions it calls. */
static const struct {
	const char *name;
	const char *example;
} policy_keys[] = {
	{ "default", "default: { sign = \"always\"; };" },
	{ "domains", "domains: ( { domain = \"partner.example\"; } );" },
	{ "domains.domain", "domains: ( { domain = \".gov.example\"; } );" },
	{ "addresses", "addresses: ( { address = \"a@example.com\"; } );" },
	{ "addresses.address", "addresses: ( { address = \"b@example.com\"; } );" },
	{ "layer.sign", "default: { sign = \"on-request\"; };" },
	{ "layer.encrypt", "default: { encrypt = \"required\"; };" },
	{ "layer.on_missing_certificate",
	  "default: { on_missing_certificate = \"hold\"; };" },
	{ "layer.on_sign_failure", "default: { on_sign_failure = \"send\"; };" },
	{ "layer.legacy_interop", "default: { legacy_interop = true; };" },
	{ "layer.header_protection",
	  "default: { header_protection = \"baseline\"; };" },
	{ "triggers.subject_tag", "triggers: { subject_tag = \"[secure]\"; };" },
	{ "triggers.header", "triggers: { header = \"X-Encrypt\"; };" },
	{ "signers.allow_unauthenticated",
	  "signers: { allow_unauthenticated = [ \"noreply@example.com\" ]; };" },
	{ "signers.logins", "signers: { logins = ( { login = \"alice\"; "
	  "addresses = [ \"sales@example.com\" ]; } ); };" },
	{ "signers.logins.login", "signers: { logins = ( { login = \"bob\"; "
	  "addresses = \"bob@example.com\"; } ); };" },
	{ "signers.logins.addresses", "signers: { logins = ( { login = \"c\"; "
	  "addresses = [ \"c@example.com\", \"d@example.com\" ]; } ); };" },
	{ "mixed_recipients", "mixed_recipients = \"split\";" },
	{ "internal_mail", "internal_mail = \"sign\";" },
	{ "encrypt_to_sender", "encrypt_to_sender = false;" },
	{ "harvest_untrusted", "harvest_untrusted = true;" },
	{ "decrypt_inbound", "decrypt_inbound = true;" },
	{ "harvest_require_dmarc", "harvest_require_dmarc = true; "
	  "dmarc_authserv_ids = \"mx.example.com\";" },
	{ "dmarc_authserv_ids", "dmarc_authserv_ids = [ \"mx.example.com\" ];" },
	{ "archive_certificate",
	  "archive_certificate = \"/etc/smime-milter/archive.pem\";" },
};

/* A top-level key is listed by itself ("default") or through the keys
 * of its group ("triggers" by "triggers.header"). */
static bool policy_key_listed(const char *group, const char *key)
{
	size_t glen = group != NULL ? strlen(group) : 0, klen = strlen(key);
	for (size_t i = 0; i < sizeof(policy_keys) / sizeof(policy_keys[0]); i++) {
		const char *name = policy_keys[i].name;
		if (group == NULL) {
			if (strncmp(name, key, klen) == 0 &&
			    (name[klen] == '\0' || name[klen] == '.'))
				return true;
			continue;
		}
		if (strncmp(name, group, glen) == 0 && name[glen] == '.' &&
		    strcmp(name + glen + 1, key) == 0)
			return true;
	}
	return false;
}

int policy_add_signer(struct policy *p, const char *login,
		      const char *address)
{
	struct policy_login *grown =
		realloc(p->logins, (p->n_logins + 1) * sizeof(*grown));
	if (grown == NULL)
		return -1;
	p->logins = grown;
	struct policy_login l = { strdup(login), calloc(1, sizeof(char *)), 0 };
	if (l.login == NULL || l.addresses == NULL ||
	    (l.addresses[0] = strdup(address)) == NULL) {
		free(l.login);
		free(l.addresses);
		return -1;
	}
	l.n_addresses = 1;
	p->logins[p->n_logins++] = l;
	return 0;
}

const char *policy_key_name(size_t i, const char **example_r)
{
	if (i >= sizeof(policy_keys) / sizeof(policy_keys[0]))
		return NULL;
	if (example_r != NULL)
		*example_r = policy_keys[i].example;
	return policy_keys[i].name;
}
