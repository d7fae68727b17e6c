/* SPDX-License-Identifier: BSD-2-Clause */
/* Settings that are valid but deserve a word of caution: reported by
 * `smime-milter -n` (and at start and reload) as warnings, never as
 * errors. */
#include "policy-private.h"

#include <libconfig.h>
#include <stdbool.h>
#include <string.h>

/* Can any recipient's encryption become required? A layer that says so,
 * or a trigger (it raises every recipient to required). */
static bool anything_required(const struct policy *p)
{
	if (p->subject_tag != NULL || p->trigger_header != NULL ||
	    p->defaults.encrypt == POLICY_ENCRYPT_REQUIRED)
		return true;
	for (size_t i = 0; i < p->n_domains; i++)
		if (p->domains[i].encrypt == POLICY_ENCRYPT_REQUIRED)
			return true;
	for (size_t i = 0; i < p->n_addresses; i++)
		if (p->addresses[i].encrypt == POLICY_ENCRYPT_REQUIRED)
			return true;
	return false;
}

static void warn_if_hold(const config_setting_t *layer,
			 policy_report_fn *warn, void *ctx)
{
	const config_setting_t *e =
		config_setting_get_member(layer, "on_missing_certificate");
	const char *v = e != NULL ? config_setting_get_string(e) : NULL;
	if (v == NULL || strcmp(v, "hold") != 0)
		return;
	warn(ctx, e, "policy: on_missing_certificate = \"hold\" with required "
	     "encryption: a held message waits unencrypted in the MTA's "
	     "queue, and releasing it (postsuper -H) delivers it without the "
	     "milter seeing it again; \"reject\" or \"tempfail\" never queue "
	     "plaintext");
}

static void warn_list(const config_setting_t *list, policy_report_fn *warn,
		      void *ctx)
{
	for (int i = 0; list != NULL && i < config_setting_length(list); i++) {
		const config_setting_t *e =
			config_setting_get_elem(list, (unsigned)i);
		if (config_setting_is_group(e))
			warn_if_hold(e, warn, ctx);
	}
}

void policy_warnings(const struct policy *p,
		     const struct config_setting_t *group,
		     policy_report_fn *warn, void *ctx)
{
	if (p == NULL || group == NULL || !config_setting_is_group(group) ||
	    !anything_required(p))
		return;
	const config_setting_t *d = config_setting_get_member(group, "default");
	if (d != NULL && config_setting_is_group(d))
		warn_if_hold(d, warn, ctx);
	warn_list(config_setting_get_member(group, "domains"), warn, ctx);
	warn_list(config_setting_get_member(group, "addresses"), warn, ctx);
}
