/* SPDX-License-Identifier: BSD-2-Clause */
/* Prints every configuration key the code accepts, one per line, for the
 * man page consistency check (config-keys.sh):
 *
 *   group.key<TAB>type<TAB>default    from cfg_settings[], the loader's table
 *   policy.path<TAB>policy<TAB>-      from policy_key_name()
 *
 * A key without a default prints "-". Before listing the policy keys it
 * feeds each one's example to the policy parser: a table entry that the
 * parser rejects is an error (exit 1), so the list cannot name a key the
 * code does not take. */
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <smx/policy-engine.h>

#include "cfg-private.h"

static const char *type_name(enum cfg_type type)
{
	switch (type) {
	case CFG_STRING: return "string";
	case CFG_BOOL: return "boolean";
	case CFG_UINT: return "integer";
	case CFG_SIZE: return "size";
	case CFG_DURATION: return "duration";
	case CFG_STRLIST: return "list";
	case CFG_CIDRLIST: return "list";
	case CFG_ENUM: return "choice";
	}
	return "?";
}

static void print_cfg_keys(void)
{
	for (size_t i = 0; i < cfg_settings_count; i++) {
		const struct cfg_setting *s = &cfg_settings[i];
		printf("%s.%s\t%s\t%s\n", s->group, s->name, type_name(s->type),
		       s->fallback != NULL ? s->fallback : "-");
	}
}

struct probe {
	const char *key;
	int complaints;
};

static void on_complaint(void *ctx, const struct config_setting_t *where,
			 const char *message)
{
	struct probe *probe = ctx;
	(void)where;
	fprintf(stderr, "doc-keys: policy.%s: its example is refused: %s\n",
		probe->key, message);
	probe->complaints++;
}

/* Returns 0 when the policy parser takes the example without complaint. */
static int probe_policy_key(const char *key, const char *example)
{
	struct probe probe = { key, 0 };
	char text[1024];
	config_t lc;
	config_init(&lc);
	snprintf(text, sizeof(text), "policy: { %s };\n", example);
	if (config_read_string(&lc, text) != CONFIG_TRUE) {
		fprintf(stderr, "doc-keys: policy.%s: example is not libconfig "
			"syntax: %s\n", key, config_error_text(&lc));
		config_destroy(&lc);
		return -1;
	}
	struct policy *p = policy_from_config(config_lookup(&lc, "policy"),
					      on_complaint, &probe);
	int rc = (p == NULL || probe.complaints > 0) ? -1 : 0;
	policy_free(&p);
	config_destroy(&lc);
	return rc;
}

static int print_policy_keys(void)
{
	int failed = 0;
	const char *name, *example = NULL;
	for (size_t i = 0; (name = policy_key_name(i, &example)) != NULL; i++) {
		if (probe_policy_key(name, example) != 0)
			failed = 1;
		printf("policy.%s\tpolicy\t-\n", name);
	}
	return failed;
}

int main(void)
{
	print_cfg_keys();
	int failed = print_policy_keys();
	if (fflush(stdout) != 0)
		return 1;
	return failed ? 1 : 0;
}
