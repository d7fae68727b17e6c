/* SPDX-License-Identifier: BSD-2-Clause */
/* Internals shared by the loader and the setting table. */
#ifndef SMX_CFG_PRIVATE_H
#define SMX_CFG_PRIVATE_H

#include <libconfig.h>
#include <stddef.h>

#include <smx/cfg.h>

enum cfg_type {
	CFG_STRING,
	CFG_BOOL,
	CFG_UINT,	/* integer within [min, max] */
	CFG_SIZE,	/* bytes: integer, or string with K/M/G suffix */
	CFG_DURATION,	/* seconds: integer, or string with s/m/h/d suffix */
	CFG_STRLIST,	/* array or list of strings */
	CFG_CIDRLIST,	/* array or list of networks */
	CFG_ENUM,	/* one word of choices[], stored as its int value */
};

/* An allowed word of a CFG_ENUM setting and the value stored for it. */
struct cfg_choice {
	const char *word;
	int value;
};

struct cfg_setting {
	const char *group;
	const char *name;
	enum cfg_type type;
	size_t offset;		/* of the value in struct cfg */
	size_t count_offset;	/* of the element count, for lists */
	const char *fallback;	/* default, in configuration text form */
	unsigned long long min, max;
	const struct cfg_choice *choices;	/* ends with a NULL word */
};

extern const struct cfg_setting cfg_settings[];
extern const size_t cfg_settings_count;

/* Where problems are reported while a file is loaded. */
struct cfg_report {
	const char *file;
	const char *dir;	/* of file: relative @include names are there */
	struct cfg_errors *errors;
	int failed;
};

void cfg_error(struct cfg_report *report, const config_setting_t *where,
	       const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Stores the value of setting s from a configuration element, or from
 * its default when elem is NULL. Reports and returns -1 on a bad value. */
int cfg_set_value(struct cfg *cfg, const struct cfg_setting *s,
		  const config_setting_t *elem, struct cfg_report *report);

/* Frees the value of s in cfg. */
void cfg_free_value(struct cfg *cfg, const struct cfg_setting *s);

/* Reads milter.signer_map (set in cfg) into cfg->policy: every line
 * "ADDRESS LOGIN[, LOGIN...]" (ADDRESS may be "@domain"), "#" comments;
 * the format of Postfix's smtpd_sender_login_maps source files, so the
 * same file can serve both. Problems are reported at where, naming the
 * map's file and line. */
void cfg_load_signer_map(struct cfg *cfg, const config_setting_t *where,
			 struct cfg_report *report);

/* Checks that need more than one key (backend needs path, ...). */
void cfg_check_groups(struct cfg *cfg, const config_t *lc,
		      struct cfg_report *report);

#endif
