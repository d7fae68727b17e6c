/* SPDX-License-Identifier: BSD-2-Clause */
#include "cfg-private.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <smx/policy-engine.h>

/* Keeps errors in line order, whichever check found them first. */
static void errors_append(struct cfg_errors *errors, char *text,
			  unsigned line)
{
	char **grown = realloc(errors->lines,
			       (errors->count + 1) * sizeof(*grown));
	if (grown != NULL)
		errors->lines = grown;
	unsigned *lgrown = realloc(errors->line_numbers,
				   (errors->count + 1) * sizeof(*lgrown));
	if (lgrown != NULL)
		errors->line_numbers = lgrown;
	if (grown == NULL || lgrown == NULL) {
		free(text);
		return;
	}
	size_t at = errors->count;
	while (at > 0 && errors->line_numbers[at - 1] > line) {
		errors->lines[at] = errors->lines[at - 1];
		errors->line_numbers[at] = errors->line_numbers[at - 1];
		at--;
	}
	errors->lines[at] = text;
	errors->line_numbers[at] = line;
	errors->count++;
}

void cfg_error(struct cfg_report *report, const config_setting_t *where,
	       const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	/* An @include'd file reports its own name, not the main file's. */
	const char *file = report->file, *prefix = "";
	unsigned line = 0;
	if (where != NULL) {
		const char *src = config_setting_source_file(where);
		if (src != NULL && strcmp(src, report->file) != 0) {
			file = src;
			if (src[0] != '/' && report->dir != NULL)
				prefix = report->dir;
		}
		line = config_setting_source_line(where);
	}
	char *text = NULL;
	const char *sep = prefix[0] != '\0' ? "/" : "";
	int n = line > 0 ? asprintf(&text, "%s%s%s:%u: %s", prefix, sep, file,
				    line, msg)
			 : asprintf(&text, "%s%s%s: %s", prefix, sep, file, msg);
	report->failed = 1;
	if (n >= 0)
		errors_append(report->errors, text, line);
}

static const struct cfg_setting *find_setting(const char *group,
					      const char *name)
{
	for (size_t i = 0; i < cfg_settings_count; i++)
		if (strcmp(cfg_settings[i].group, group) == 0 &&
		    strcmp(cfg_settings[i].name, name) == 0)
			return &cfg_settings[i];
	return NULL;
}

static int known_group(const char *group)
{
	if (strcmp(group, "policy") == 0)	/* read by the policy library */
		return 1;
	for (size_t i = 0; i < cfg_settings_count; i++)
		if (strcmp(cfg_settings[i].group, group) == 0)
			return 1;
	return 0;
}

/* Reports every element of the file that no table entry describes. */
static void check_unknown(const config_t *lc, struct cfg_report *report)
{
	const config_setting_t *root = config_root_setting(lc);
	for (int i = 0; i < config_setting_length(root); i++) {
		const config_setting_t *g = config_setting_get_elem(root, i);
		const char *gname = config_setting_name(g);
		if (!config_setting_is_group(g) || !known_group(gname)) {
			cfg_error(report, g, "unknown %s '%s'",
				  config_setting_is_group(g) ? "group" :
							       "top-level setting",
				  gname);
			continue;
		}
		if (strcmp(gname, "policy") == 0)
			continue;
		for (int j = 0; j < config_setting_length(g); j++) {
			const config_setting_t *e =
				config_setting_get_elem(g, j);
			if (find_setting(gname, config_setting_name(e)) == NULL)
				cfg_error(report, e, "unknown setting '%s.%s'",
					  gname, config_setting_name(e));
		}
	}
}

static void apply_settings(struct cfg *cfg, const config_t *lc,
			   struct cfg_report *report)
{
	for (size_t i = 0; i < cfg_settings_count; i++) {
		const struct cfg_setting *s = &cfg_settings[i];
		char path[128];
		snprintf(path, sizeof(path), "%s.%s", s->group, s->name);
		const config_setting_t *elem = config_lookup(lc, path);
		cfg_set_value(cfg, s, elem, report);
	}
}

static void report_policy(void *ctx, const config_setting_t *where,
			  const char *message)
{
	cfg_error(ctx, where, "%s", message);
}

/* A warning goes with the errors, prefixed, but does not fail the load. */
static void report_policy_warning(void *ctx, const config_setting_t *where,
				  const char *message)
{
	struct cfg_report *report = ctx;
	int failed = report->failed;
	cfg_error(report, where, "warning: %s", message);
	report->failed = failed;
}

static void report_parse_error(const config_t *lc, const char *path,
			       struct cfg_report *report)
{
	const char *file = config_error_file(lc);
	report->file = file != NULL ? file : path;
	if (config_error_type(lc) == CONFIG_ERR_FILE_IO) {
		char *text = NULL;
		if (asprintf(&text, "%s: cannot read: %s", report->file,
			     errno != 0 ? strerror(errno) : "I/O error") >= 0)
			errors_append(report->errors, text, 0);
		report->failed = 1;
		return;
	}
	char *text = NULL;
	if (asprintf(&text, "%s:%d: %s", report->file, config_error_line(lc),
		     config_error_text(lc)) >= 0)
		errors_append(report->errors, text,
			      (unsigned)config_error_line(lc));
	report->failed = 1;
}

/* Relative @include paths are resolved next to the main file, not in
 * whatever directory the daemon happens to run in. */
static char *set_include_dir(config_t *lc, const char *path)
{
	char *copy = strdup(path);
	if (copy == NULL)
		return NULL;
	char *slash = strrchr(copy, '/');
	if (slash == NULL) {
		free(copy);
		return NULL;
	}
	*slash = '\0';
	if (copy[0] == '\0') {
		copy[0] = '/';
		copy[1] = '\0';
	}
	config_set_include_dir(lc, copy);
	return copy;
}

static void cfg_destroy(struct cfg *cfg)
{
	for (size_t i = 0; i < cfg_settings_count; i++)
		cfg_free_value(cfg, &cfg_settings[i]);
	policy_free(&cfg->policy);
	free(cfg->file);
	free(cfg);
}

/* What the store is opened with: the store group and the master key
 * file, read once here (the strings stay owned by those groups; the
 * backend was parsed into the settings at load). */
static void fill_store_settings(struct cfg *cfg)
{
	const struct cfg_store *s = &cfg->store;
	cfg->store_settings = (struct store_settings){
		.backend = cfg->store_settings.backend,
		.path = s->path,
		.conninfo = s->conninfo,
		.busy_timeout = s->busy_timeout,
		.pool_size = s->pool_size,
		.master_key_file = cfg->keys.master_key_file,
	};
}

/* The generation of the last snapshot loaded (the first gets 1). */
static unsigned long generations;

struct cfg *cfg_load(const char *path, struct cfg_errors *errors)
{
	struct cfg_report report = { .file = path, .errors = errors };
	struct cfg *cfg = calloc(1, sizeof(*cfg));
	char *include_dir = NULL;
	config_t lc;
	config_init(&lc);
	if (cfg == NULL || (cfg->file = strdup(path)) == NULL) {
		report.failed = 1;
		cfg_error(&report, NULL, "out of memory");
		goto fail;
	}
	cfg->refs = 1;
	cfg->generation = __atomic_add_fetch(&generations, 1,
					     __ATOMIC_RELAXED);
	include_dir = set_include_dir(&lc, path);
	report.dir = include_dir;
	errno = 0;
	if (config_read_file(&lc, path) != CONFIG_TRUE) {
		report_parse_error(&lc, path, &report);
		goto fail;
	}
	check_unknown(&lc, &report);
	apply_settings(cfg, &lc, &report);
	cfg->policy = policy_from_config(config_lookup(&lc, "policy"),
					 report_policy, &report);
	if (cfg->policy != NULL && cfg->milter.signer_map != NULL)
		cfg_load_signer_map(cfg, config_lookup(&lc, "milter.signer_map"),
				    &report);
	cfg_check_groups(cfg, &lc, &report);
	if (report.failed)
		goto fail;
	fill_store_settings(cfg);
	policy_warnings(cfg->policy, config_lookup(&lc, "policy"),
			report_policy_warning, &report);
	config_destroy(&lc);
	free(include_dir);
	return cfg;
fail:
	config_destroy(&lc);
	free(include_dir);
	if (cfg != NULL)
		cfg_destroy(cfg);
	return NULL;
}

struct cfg *cfg_ref(struct cfg *cfg)
{
	__atomic_add_fetch(&cfg->refs, 1, __ATOMIC_RELAXED);
	return cfg;
}

void cfg_unref(struct cfg **cfgp)
{
	struct cfg *cfg = *cfgp;
	if (cfg == NULL)
		return;
	*cfgp = NULL;
	if (__atomic_sub_fetch(&cfg->refs, 1, __ATOMIC_ACQ_REL) == 0)
		cfg_destroy(cfg);
}

void cfg_errors_free(struct cfg_errors *errors)
{
	for (size_t i = 0; i < errors->count; i++)
		free(errors->lines[i]);
	free(errors->lines);
	free(errors->line_numbers);
	errors->lines = NULL;
	errors->line_numbers = NULL;
	errors->count = 0;
}

const char *cfg_key_name(size_t i, char *buf, size_t bufsize)
{
	if (i >= cfg_settings_count)
		return NULL;
	snprintf(buf, bufsize, "%s.%s", cfg_settings[i].group,
		 cfg_settings[i].name);
	return buf;
}
