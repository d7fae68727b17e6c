/* SPDX-License-Identifier: BSD-2-Clause */
/* milter.signer_map: which SASL logins may sign as which addresses,
 * beyond a login that is the address itself. */
#include "cfg-private.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <smx/policy-engine.h>

#define MAP_LINE_MAX 4096
#define MAP_ENTRIES_MAX 100000	/* bounds memory for a runaway file */

/* An address, or "@domain": one "@", something after it, no space. */
static bool map_address_ok(const char *a)
{
	const char *at = strchr(a, '@');
	return at != NULL && at == strrchr(a, '@') && at[1] != '\0' &&
	       strlen(a) <= 254;
}

/* Grants every login of the rest of the line the address. Returns the
 * number of grants, or -1 for a line without login or out of memory. */
static int grant_logins(struct policy *p, const char *address, char *rest)
{
	int n = 0;
	for (char *save = NULL, *login = strtok_r(rest, " \t\r\n,", &save);
	     login != NULL; login = strtok_r(NULL, " \t\r\n,", &save)) {
		if (policy_add_signer(p, login, address) != 0)
			return -1;
		n++;
	}
	return n > 0 ? n : -1;
}

static int map_line(struct cfg *cfg, char *line, const config_setting_t *where,
		    struct cfg_report *report, unsigned lineno)
{
	char *p = line;
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	char *address = p;
	while (*p != '\0' && !isspace((unsigned char)*p))
		p++;
	if (*p != '\0')
		*p++ = '\0';
	if (!map_address_ok(address)) {
		cfg_error(report, where, "milter.signer_map: %s:%u: '%s' is not "
			  "an address or @domain", cfg->milter.signer_map, lineno,
			  address);
		return -1;
	}
	int n = grant_logins(cfg->policy, address, p);
	if (n < 0)
		cfg_error(report, where, "milter.signer_map: %s:%u: expected "
			  "ADDRESS LOGIN[, LOGIN...]", cfg->milter.signer_map,
			  lineno);
	return n;
}

void cfg_load_signer_map(struct cfg *cfg, const config_setting_t *where,
			 struct cfg_report *report)
{
	const char *path = cfg->milter.signer_map;
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		cfg_error(report, where, "milter.signer_map: cannot read %s: %s",
			  path, strerror(errno));
		return;
	}
	char line[MAP_LINE_MAX];
	unsigned lineno = 0;
	long grants = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		size_t len = strlen(line);
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			cfg_error(report, where, "milter.signer_map: %s:%u: line "
				  "longer than %d bytes", path, lineno,
				  MAP_LINE_MAX - 2);
			break;
		}
		int n = map_line(cfg, line, where, report, lineno);
		grants += n > 0 ? n : 0;
		if (grants > MAP_ENTRIES_MAX) {
			cfg_error(report, where, "milter.signer_map: %s: more "
				  "than %d grants", path, MAP_ENTRIES_MAX);
			break;
		}
	}
	if (ferror(f))
		cfg_error(report, where, "milter.signer_map: cannot read %s",
			  path);
	fclose(f);
}
