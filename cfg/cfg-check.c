/* SPDX-License-Identifier: BSD-2-Clause */
/* Checks that look at a value's meaning or at several keys together. */
#include "cfg-private.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <smx/hostport.h>

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

/* The metrics listener: a numeric address, on loopback unless remote
 * scraping was asked for explicitly (the counters tell outsiders about
 * the organization's mail). */
static void check_metrics(const struct cfg_milter *m, const config_t *lc,
			  struct cfg_report *report)
{
	struct sockaddr_storage addr;
	socklen_t len;
	if (m->metrics_listen == NULL)
		return;
	if (!smx_hostport_parse(m->metrics_listen, &addr, &len))
		cfg_error(report, where(lc, "milter.metrics_listen"),
			  "milter.metrics_listen: '%s' is not PORT, "
			  "ADDRESS:PORT or [IPV6]:PORT (numeric address, port "
			  "1-65535)", m->metrics_listen);
	else if (!m->metrics_allow_remote &&
		 !smx_sockaddr_is_loopback((struct sockaddr *)&addr))
		cfg_error(report, where(lc, "milter.metrics_listen"),
			  "milter.metrics_listen: '%s' is not a loopback "
			  "address; set milter.metrics_allow_remote = true to "
			  "expose the metrics to other hosts",
			  m->metrics_listen);
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
	check_metrics(m, lc, report);
}

/* Keys in a PKCS#11 token are used by the key process only. */
static void check_pkcs11(const struct cfg_keys *k, const config_t *lc,
			 struct cfg_report *report)
{
	const char *module = k->pkcs11_module;
	if (module != NULL && module[0] == '\0')
		module = NULL;
	if (module != NULL && module[0] != '/')
		cfg_error(report, where(lc, "keys.pkcs11_module"),
			  "keys.pkcs11_module: must be an absolute path");
	if (module != NULL && !k->process)
		cfg_error(report, where(lc, "keys.pkcs11_module"),
			  "keys.pkcs11_module: needs keys.process = true (only "
			  "the key process uses the token)");
	if (module != NULL && k->pkcs11_pin_file == NULL)
		cfg_error(report, where(lc, "keys.pkcs11_module"),
			  "keys.pkcs11_pin_file: required with "
			  "keys.pkcs11_module");
	if (k->pkcs11_pin_file != NULL && k->pkcs11_pin_file[0] != '/')
		cfg_error(report, where(lc, "keys.pkcs11_pin_file"),
			  "keys.pkcs11_pin_file: must be an absolute path");
}

static void check_store(struct cfg *cfg, const config_t *lc,
			struct cfg_report *report)
{
	struct cfg_store *s = &cfg->store;
	enum store_backend backend = cfg->store_settings.backend;
	if (backend == STORE_BACKEND_POSTGRESQL && s->conninfo == NULL)
		cfg_error(report, where(lc, "store.backend"), "store.conninfo: "
			  "required with backend \"postgresql\"");
	if (backend == STORE_BACKEND_SQLITE && s->path != NULL &&
	    s->path[0] != '/')
		cfg_error(report, where(lc, "store.path"),
			  "store.path: must be an absolute path");
	if (cfg->keys.master_key_file != NULL &&
	    cfg->keys.master_key_file[0] != '/')
		cfg_error(report, where(lc, "keys.master_key_file"),
			  "keys.master_key_file: must be an absolute path");
	check_pkcs11(&cfg->keys, lc, report);
}

/* A filter template: RFC 4515 text where every %s stands for the escaped
 * address and %% for a percent sign. Returns NULL when it is fine, or
 * what is wrong with it. */
static const char *ldap_filter_problem(const char *f)
{
	int depth = 0, placeholders = 0;
	if (f[0] != '(')
		return "must start with '('";
	for (const char *p = f; *p != '\0'; p++) {
		if (*p == '%') {
			if (p[1] == 's')
				placeholders++;
			else if (p[1] != '%')
				return "only %s (the address) and %% may follow '%'";
			p++;
		} else if (*p == '\\') {
			if (!isxdigit((unsigned char)p[1]) ||
			    !isxdigit((unsigned char)p[2]))
				return "'\\' must be followed by two hex digits";
			p += 2;
		} else if (*p == '(') {
			depth++;
		} else if (*p == ')') {
			if (--depth < 0)
				return "unbalanced parentheses";
			if (depth == 0 && p[1] != '\0')
				return "text after the closing parenthesis";
		}
	}
	if (depth != 0)
		return "unbalanced parentheses";
	return placeholders == 0 ? "needs the placeholder %s for the address"
				 : NULL;
}

static bool valid_ldap_uri(const char *u, bool *ldaps)
{
	*ldaps = strncasecmp(u, "ldaps://", 8) == 0;
	if (!*ldaps && strncasecmp(u, "ldap://", 7) != 0 &&
	    strncasecmp(u, "ldapi://", 8) != 0)
		return false;
	for (; *u != '\0'; u++)
		if ((unsigned char)*u <= ' ' || (unsigned char)*u >= 0x7f)
			return false;
	return true;
}

static void check_ldap_uris(struct cfg_ldap *l, const config_t *lc,
			    struct cfg_report *report)
{
	for (size_t i = 0; i < l->n_uri; i++) {
		bool ldaps;
		if (!valid_ldap_uri(l->uri[i], &ldaps))
			cfg_error(report, where(lc, "ldap.uri"), "ldap.uri: "
				  "'%s' is not an ldap://, ldaps:// or ldapi:// "
				  "URI", l->uri[i]);
		else if (ldaps && l->starttls)
			cfg_error(report, where(lc, "ldap.starttls"),
				  "ldap.starttls: '%s' already uses TLS; "
				  "StartTLS needs ldap:// URIs", l->uri[i]);
	}
}

/* A bind password sent over plain ldap:// without StartTLS can be read
 * by anyone on the path; ldaps:// and ldapi:// (a local socket) do not
 * expose it. Only an explicit setting lets it through. */
static void check_ldap_cleartext_bind(const struct cfg_ldap *l,
				      const config_t *lc,
				      struct cfg_report *report)
{
	if (l->bind_dn == NULL || l->starttls || l->allow_cleartext_bind)
		return;
	for (size_t i = 0; i < l->n_uri; i++)
		if (strncasecmp(l->uri[i], "ldap://", 7) == 0) {
			cfg_error(report, where(lc, "ldap.bind_dn"),
				  "ldap.bind_dn: '%s' would send the bind "
				  "password in clear text; set ldap.starttls = "
				  "true, use ldaps:// or ldapi://, or set "
				  "ldap.allow_cleartext_bind = true", l->uri[i]);
			return;
		}
}

static bool valid_attribute(const char *a)
{
	for (; *a != '\0'; a++)
		if (!isalnum((unsigned char)*a) && strchr("-;.", *a) == NULL)
			return false;
	return true;
}

static void check_ldap_paths(struct cfg_ldap *l, const config_t *lc,
			     struct cfg_report *report)
{
	if (l->bind_dn != NULL && l->bind_password_file == NULL)
		cfg_error(report, where(lc, "ldap.bind_dn"), "ldap.bind_dn: "
			  "needs ldap.bind_password_file");
	if (l->bind_dn == NULL && l->bind_password_file != NULL)
		cfg_error(report, where(lc, "ldap.bind_password_file"),
			  "ldap.bind_password_file: needs ldap.bind_dn");
	if (l->bind_password_file != NULL && l->bind_password_file[0] != '/')
		cfg_error(report, where(lc, "ldap.bind_password_file"),
			  "ldap.bind_password_file: must be an absolute path");
	if (l->ca_file != NULL && l->ca_file[0] != '/')
		cfg_error(report, where(lc, "ldap.ca_file"),
			  "ldap.ca_file: must be an absolute path");
}

/* The ldap group is optional; once present it needs a uri and a base. */
static void check_ldap(struct cfg *cfg, const config_t *lc,
		       struct cfg_report *report)
{
	struct cfg_ldap *l = &cfg->ldap;
	if (where(lc, "ldap") == NULL)
		return;
	if (l->n_uri == 0)
		cfg_error(report, where(lc, "ldap"), "ldap.uri: required in "
			  "the ldap group, such as [ \"ldap://ldap.example.com\" ]");
	if (l->base == NULL)
		cfg_error(report, where(lc, "ldap"), "ldap.base: required in "
			  "the ldap group, such as \"dc=example,dc=com\"");
	check_ldap_uris(l, lc, report);
	check_ldap_paths(l, lc, report);
	check_ldap_cleartext_bind(l, lc, report);
	const char *problem = l->filter ? ldap_filter_problem(l->filter) : NULL;
	if (problem != NULL)
		cfg_error(report, where(lc, "ldap.filter"), "ldap.filter: '%s': "
			  "%s", l->filter, problem);
	for (size_t i = 0; i < l->n_attributes; i++)
		if (!valid_attribute(l->attributes[i]))
			cfg_error(report, where(lc, "ldap.attributes"),
				  "ldap.attributes: '%s' is not an attribute "
				  "description", l->attributes[i]);
}

/* A distinguished name in RFC 4514 form: TYPE=value pairs separated by
 * unescaped commas, such as "CN=Example CA,O=Example". The CA library
 * parses it for real; this catches typing mistakes at -n time. */
static bool valid_ca_subject(const char *s)
{
	bool in_value = false, have_type = false, have_value = false;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '\\' && in_value && p[1] != '\0') {
			p++;
			have_value = true;
		} else if (*p == ',' && in_value) {
			if (!have_value)
				return false;
			in_value = have_type = have_value = false;
		} else if (*p == '=' && !in_value) {
			if (!have_type)
				return false;
			in_value = true;
		} else if (in_value) {
			have_value = have_value || *p != ' ';
		} else if (isalnum((unsigned char)*p) || *p == '.') {
			have_type = true;
		} else if (*p != ' ') {
			return false;
		}
	}
	return in_value && have_value;
}

static void check_ca(struct cfg *cfg, const config_t *lc,
		     struct cfg_report *report)
{
	struct cfg_ca *ca = &cfg->ca;
	if (ca->subject != NULL && !valid_ca_subject(ca->subject))
		cfg_error(report, where(lc, "ca.subject"), "ca.subject: '%s' is "
			  "not a distinguished name such as \"CN=Example CA,"
			  "O=Example\"", ca->subject);
	if (ca->crl_url != NULL && strncmp(ca->crl_url, "http://", 7) != 0 &&
	    strncmp(ca->crl_url, "ldap://", 7) != 0)
		cfg_error(report, where(lc, "ca.crl_url"), "ca.crl_url: '%s' "
			  "is not an http:// or ldap:// URL", ca->crl_url);
	/* 0: out of range, reported already */
	if (ca->ca_lifetime == 0 || ca->cert_lifetime == 0)
		return;
	if (ca->cert_lifetime > ca->ca_lifetime)
		cfg_error(report, where(lc, "ca.cert_lifetime"),
			  "ca.cert_lifetime: longer than ca.ca_lifetime");
	if (ca->renew_before >= ca->cert_lifetime)
		cfg_error(report, where(lc, "ca.renew_before"),
			  "ca.renew_before: must be shorter than "
			  "ca.cert_lifetime");
}

void cfg_check_groups(struct cfg *cfg, const config_t *lc,
		      struct cfg_report *report)
{
	check_domains(cfg, lc, report);
	check_milter(cfg, lc, report);
	check_store(cfg, lc, report);
	check_ldap(cfg, lc, report);
	check_ca(cfg, lc, report);
}
