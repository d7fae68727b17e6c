/* Checks that look at a value's meaning or at several keys together. */
#include "cfg-private.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const config_setting_t *where(const config_t *lc, const char *path)
{
	return config_lookup(lc, path);
}

static bool valid_domain(const char *d)
{
	if (*d == '.')
		d++;
	size_t len = strlen(d);
	if (len == 0 || len > 253 || d[0] == '-' || d[len - 1] == '.')
		return false;
	for (const char *p = d; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (!isalnum(c) && c != '-' && c != '.' && c != '_')
			return false;
		if (c == '.' && p[1] == '.')
			return false;
	}
	return true;
}

static void check_domains(struct cfg *cfg, const config_t *lc,
			  struct cfg_report *report)
{
	struct cfg_milter *m = &cfg->milter;
	if (m->n_internal_domains == 0) {
		cfg_error(report, where(lc, "milter"), "milter.internal_domains: "
			  "required: the domains of the organization, such as "
			  "[ \"example.com\" ]");
		return;
	}
	for (size_t i = 0; i < m->n_internal_domains; i++) {
		char *d = m->internal_domains[i];
		if (!valid_domain(d))
			cfg_error(report, where(lc, "milter.internal_domains"),
				  "milter.internal_domains: '%s' is not a "
				  "domain name", d);
		for (char *p = d; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
	}
}

static bool valid_port(const char *p, const char *end)
{
	if (p == end || end - p > 5)
		return false;
	long v = 0;
	for (; p < end; p++) {
		if (!isdigit((unsigned char)*p))
			return false;
		v = v * 10 + (*p - '0');
	}
	return v > 0 && v < 65536;
}

/* The forms libmilter accepts: {unix|local}:/path, /path,
 * inet:port@host, inet6:port@host (host optional for inet). */
bool cfg_socket_valid(const char *s)
{
	if (s[0] == '/')
		return true;
	if (strncmp(s, "unix:", 5) == 0 || strncmp(s, "local:", 6) == 0)
		return strchr(s, ':')[1] == '/';
	const char *rest = NULL;
	if (strncmp(s, "inet:", 5) == 0)
		rest = s + 5;
	else if (strncmp(s, "inet6:", 6) == 0)
		rest = s + 6;
	if (rest == NULL)
		return false;
	const char *at = strchr(rest, '@');
	return valid_port(rest, at != NULL ? at : rest + strlen(rest)) &&
	       (at == NULL || at[1] != '\0');
}

/* RFC 8601 authserv-id: a token, no spaces, quotes or separators. */
static bool valid_authserv_id(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f ||
		    strchr("()<>@,;:\\\"/[]?=", *s) != NULL)
			return false;
	return true;
}

static void check_milter(struct cfg *cfg, const config_t *lc,
			 struct cfg_report *report)
{
	struct cfg_milter *m = &cfg->milter;
	if (m->socket != NULL && !cfg_socket_valid(m->socket))
		cfg_error(report, where(lc, "milter.socket"), "milter.socket: "
			  "'%s' is not inet:PORT@HOST, inet6:PORT@HOST or "
			  "unix:/PATH", m->socket);
	if (m->authserv_id == NULL) {
		char host[256] = "localhost";
		gethostname(host, sizeof(host) - 1);
		m->authserv_id = strdup(host);
	}
	if (m->authserv_id != NULL && !valid_authserv_id(m->authserv_id))
		cfg_error(report, where(lc, "milter.authserv_id"),
			  "milter.authserv_id: '%s' is not a valid authserv-id "
			  "(a host name, no spaces or separators)",
			  m->authserv_id);
	if (m->pidfile != NULL && m->pidfile[0] != '/')
		cfg_error(report, where(lc, "milter.pidfile"),
			  "milter.pidfile: must be an absolute path");
	if (m->spool_directory != NULL && m->spool_directory[0] != '/')
		cfg_error(report, where(lc, "milter.spool_directory"),
			  "milter.spool_directory: must be an absolute path");
	if (m->max_message_size != 0 &&
	    m->max_message_size < m->spool_threshold)
		cfg_error(report, where(lc, "milter.max_message_size"),
			  "milter.max_message_size: smaller than "
			  "milter.spool_threshold");
}

static void check_store(struct cfg *cfg, const config_t *lc,
			struct cfg_report *report)
{
	struct cfg_store *s = &cfg->store;
	if (s->backend == NULL)
		return;
	if (strcmp(s->backend, "postgresql") == 0 && s->conninfo == NULL)
		cfg_error(report, where(lc, "store.backend"), "store.conninfo: "
			  "required with backend \"postgresql\"");
	if (strcmp(s->backend, "sqlite") == 0 && s->path != NULL &&
	    s->path[0] != '/')
		cfg_error(report, where(lc, "store.path"),
			  "store.path: must be an absolute path");
	if (cfg->keys.master_key_file != NULL &&
	    cfg->keys.master_key_file[0] != '/')
		cfg_error(report, where(lc, "keys.master_key_file"),
			  "keys.master_key_file: must be an absolute path");
}

void cfg_check_groups(struct cfg *cfg, const config_t *lc,
		      struct cfg_report *report)
{
	check_domains(cfg, lc, report);
	check_milter(cfg, lc, report);
	check_store(cfg, lc, report);
}
