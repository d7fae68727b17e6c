/* SPDX-License-Identifier: BSD-2-Clause */
/* Every configuration key: its group, name, type, default and bounds.
 * The loader, `smime-milter -n` and the documentation check all walk this
 * one table, so a key cannot exist in one place and not in another. */
#include "cfg-private.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#define FIELD(f) offsetof(struct cfg, f)
#define KIB 1024ULL
#define MIB (1024ULL * 1024ULL)
#define GIB (1024ULL * 1024ULL * 1024ULL)
#define DAY 86400ULL
#define YEAR (365ULL * DAY)	/* the "y" suffix: 365 days */

static const struct cfg_choice backends[] = {
	{ "sqlite", STORE_BACKEND_SQLITE },
	{ "postgresql", STORE_BACKEND_POSTGRESQL }, { NULL, 0 }
};
static const struct cfg_choice facilities[] = {
	{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 }, { NULL, 0 }
};
static const struct cfg_choice log_levels[] = {
	{ "info", LOG_INFO }, { "debug", LOG_DEBUG }, { NULL, 0 }
};
static const struct cfg_choice sign_formats[] = {
	{ "clear", CFG_SIGN_CLEAR }, { "opaque", CFG_SIGN_OPAQUE }, { NULL, 0 }
};
static const struct cfg_choice sign_digests[] = {
	{ "sha256", CFG_DIGEST_SHA256 }, { "sha384", CFG_DIGEST_SHA384 },
	{ "sha512", CFG_DIGEST_SHA512 }, { NULL, 0 }
};
static const struct cfg_choice revocation_modes[] = {
	{ "off", REVOCATION_MODE_OFF }, { "soft", REVOCATION_MODE_SOFT },
	{ "hard", REVOCATION_MODE_HARD }, { NULL, 0 }
};
static const struct cfg_choice ca_key_types[] = {
	{ "rsa-2048", CA_KEY_RSA_2048 }, { "rsa-3072", CA_KEY_RSA_3072 },
	{ "rsa-4096", CA_KEY_RSA_4096 }, { "ec-p256", CA_KEY_EC_P256 },
	{ "ec-p384", CA_KEY_EC_P384 }, { NULL, 0 }
};

const char *cfg_store_backend_name(const struct cfg *cfg)
{
	for (const struct cfg_choice *c = backends; c->word != NULL; c++)
		if (c->value == (int)cfg->store_settings.backend)
			return c->word;
	return "unknown";
}

/* A CFG_ENUM value is written as an int into its enum field. */
_Static_assert(sizeof(enum cfg_sign_format) == sizeof(int) &&
		       sizeof(enum cfg_sign_digest) == sizeof(int) &&
		       sizeof(enum revocation_mode) == sizeof(int) &&
		       sizeof(enum ca_key_type) == sizeof(int) &&
		       sizeof(enum store_backend) == sizeof(int),
	       "enum settings are stored as int");

const struct cfg_setting cfg_settings[] = {
	{ "milter", "socket", CFG_STRING, FIELD(milter.socket), 0,
	  "inet:8891@127.0.0.1", 0, 0, NULL },
	{ "milter", "authserv_id", CFG_STRING, FIELD(milter.authserv_id), 0,
	  NULL, 0, 0, NULL },
	{ "milter", "internal_domains", CFG_STRLIST,
	  FIELD(milter.internal_domains), FIELD(milter.n_internal_domains),
	  NULL, 0, 0, NULL },
	{ "milter", "trusted_networks", CFG_CIDRLIST,
	  FIELD(milter.trusted_networks), FIELD(milter.n_trusted_networks),
	  "127.0.0.0/8 ::1", 0, 0, NULL },
	{ "milter", "user", CFG_STRING, FIELD(milter.user), 0, NULL, 0, 0,
	  NULL },
	{ "milter", "pidfile", CFG_STRING, FIELD(milter.pidfile), 0, NULL, 0,
	  0, NULL },
	{ "milter", "signer_map", CFG_STRING, FIELD(milter.signer_map), 0,
	  NULL, 0, 0, NULL },
	{ "milter", "spool_threshold", CFG_SIZE, FIELD(milter.spool_threshold),
	  0, "1M", 4 * KIB, 1 * GIB, NULL },
	{ "milter", "spool_directory", CFG_STRING,
	  FIELD(milter.spool_directory), 0, "/var/tmp", 0, 0, NULL },
	{ "milter", "max_message_size", CFG_SIZE,
	  FIELD(milter.max_message_size), 0, "100M", 0, 4 * GIB, NULL },
	{ "milter", "shutdown_timeout", CFG_DURATION,
	  FIELD(milter.shutdown_timeout), 0, "30s", 0, 3600, NULL },
	{ "milter", "timeout", CFG_DURATION, FIELD(milter.milter_timeout), 0,
	  "300s", 10, 3600, NULL },
	{ "milter", "max_connections", CFG_UINT, FIELD(milter.max_connections),
	  0, "512", 1, 65536, NULL },
	{ "milter", "syslog_facility", CFG_ENUM,
	  FIELD(milter.syslog_facility), 0, "mail", 0, 0, facilities },
	{ "milter", "log_level", CFG_ENUM, FIELD(milter.log_level), 0,
	  "info", 0, 0, log_levels },
	{ "milter", "sign_format", CFG_ENUM, FIELD(milter.sign_format), 0,
	  "clear", 0, 0, sign_formats },
	{ "milter", "sign_digest", CFG_ENUM, FIELD(milter.sign_digest), 0,
	  "sha256", 0, 0, sign_digests },
	{ "milter", "metrics_listen", CFG_STRING,
	  FIELD(milter.metrics_listen), 0, NULL, 0, 0, NULL },
	{ "milter", "metrics_allow_remote", CFG_BOOL,
	  FIELD(milter.metrics_allow_remote), 0, "false", 0, 0, NULL },

	{ "store", "backend", CFG_ENUM, FIELD(store_settings.backend), 0,
	  "sqlite", 0, 0, backends },
	{ "store", "path", CFG_STRING, FIELD(store.path), 0,
	  "/var/lib/smime-milter/store.db", 0, 0, NULL },
	{ "store", "conninfo", CFG_STRING, FIELD(store.conninfo), 0, NULL, 0,
	  0, NULL },
	{ "store", "busy_timeout", CFG_UINT, FIELD(store.busy_timeout), 0,
	  "5000", 0, 600000, NULL },
	{ "store", "pool_size", CFG_UINT, FIELD(store.pool_size), 0, "8", 1,
	  256, NULL },

	{ "verify", "ca_file", CFG_STRING, FIELD(verify.ca_file), 0,
	  "/etc/ssl/certs/ca-certificates.crt", 0, 0, NULL },
	{ "verify", "extra_ca_file", CFG_STRING, FIELD(verify.extra_ca_file), 0,
	  NULL, 0, 0, NULL },
	{ "verify", "max_signatures", CFG_UINT, FIELD(verify.max_signatures),
	  0, "8", 1, 64, NULL },
	{ "verify", "max_certificates", CFG_UINT,
	  FIELD(verify.max_certificates), 0, "32", 1, 1000, NULL },
	{ "verify", "max_depth", CFG_UINT, FIELD(verify.max_depth), 0, "16", 1,
	  64, NULL },
	{ "verify", "max_parts", CFG_UINT, FIELD(verify.max_parts), 0, "1000",
	  10, 100000, NULL },
	{ "verify", "max_bytes", CFG_SIZE, FIELD(verify.max_bytes), 0, "64M",
	  64 * KIB, 1 * GIB, NULL },
	{ "verify", "authentication_results_none", CFG_BOOL,
	  FIELD(verify.authentication_results_none), 0, "false", 0, 0, NULL },

	{ "revocation", "mode", CFG_ENUM, FIELD(revocation.mode), 0, "soft",
	  0, 0, revocation_modes },
	{ "revocation", "network", CFG_BOOL, FIELD(revocation.network), 0,
	  "true", 0, 0, NULL },
	{ "revocation", "fetch_timeout", CFG_DURATION,
	  FIELD(revocation.fetch_timeout), 0, "5s", 1, 60, NULL },
	{ "revocation", "max_wait", CFG_DURATION, FIELD(revocation.max_wait),
	  0, "10s", 1, 300, NULL },
	{ "revocation", "max_age", CFG_DURATION, FIELD(revocation.max_age), 0,
	  "1d", 60, 30 * DAY, NULL },
	{ "revocation", "unknown_ttl", CFG_DURATION,
	  FIELD(revocation.unknown_ttl), 0, "5m", 0, DAY, NULL },
	{ "revocation", "max_response_size", CFG_SIZE,
	  FIELD(revocation.max_response_size), 0, "10M", 4 * KIB, 256 * MIB,
	  NULL },
	{ "revocation", "refresh_interval", CFG_DURATION,
	  FIELD(revocation.refresh_interval), 0, "1m", 0, DAY, NULL },

	{ "keys", "master_key_file", CFG_STRING, FIELD(keys.master_key_file),
	  0, "/var/lib/smime-milter/master.key", 0, 0, NULL },
	{ "keys", "process", CFG_BOOL, FIELD(keys.process), 0, "true", 0, 0,
	  NULL },
	{ "keys", "process_rate", CFG_UINT, FIELD(keys.process_rate), 0,
	  "2000", 1, 1000000, NULL },
	{ "keys", "pkcs11_module", CFG_STRING, FIELD(keys.pkcs11_module), 0,
	  NULL, 0, 0, NULL },
	{ "keys", "pkcs11_pin_file", CFG_STRING, FIELD(keys.pkcs11_pin_file),
	  0, NULL, 0, 0, NULL },

	{ "ldap", "uri", CFG_STRLIST, FIELD(ldap.uri), FIELD(ldap.n_uri), NULL,
	  0, 0, NULL },
	{ "ldap", "bind_dn", CFG_STRING, FIELD(ldap.bind_dn), 0, NULL, 0, 0,
	  NULL },
	{ "ldap", "bind_password_file", CFG_STRING,
	  FIELD(ldap.bind_password_file), 0, NULL, 0, 0, NULL },
	{ "ldap", "starttls", CFG_BOOL, FIELD(ldap.starttls), 0, "false", 0, 0,
	  NULL },
	{ "ldap", "allow_cleartext_bind", CFG_BOOL,
	  FIELD(ldap.allow_cleartext_bind), 0, "false", 0, 0, NULL },
	{ "ldap", "ca_file", CFG_STRING, FIELD(ldap.ca_file), 0, NULL, 0, 0,
	  NULL },
	{ "ldap", "base", CFG_STRING, FIELD(ldap.base), 0, NULL, 0, 0, NULL },
	{ "ldap", "filter", CFG_STRING, FIELD(ldap.filter), 0,
	  "(|(mail=%s)(proxyAddresses=smtp:%s))", 0, 0, NULL },
	{ "ldap", "attributes", CFG_STRLIST, FIELD(ldap.attributes),
	  FIELD(ldap.n_attributes),
	  "userCertificate;binary userSMIMECertificate userCertificate", 0, 0,
	  NULL },
	{ "ldap", "timeout", CFG_DURATION, FIELD(ldap.timeout), 0, "5s", 1, 300,
	  NULL },
	{ "ldap", "cache_ttl", CFG_DURATION, FIELD(ldap.cache_ttl), 0, "4h", 0,
	  30 * 86400, NULL },
	{ "ldap", "negative_ttl", CFG_DURATION, FIELD(ldap.negative_ttl), 0,
	  "15m", 0, 86400, NULL },
	{ "ldap", "publish", CFG_BOOL, FIELD(ldap.publish), 0, "false", 0, 0,
	  NULL },

	{ "ca", "subject", CFG_STRING, FIELD(ca.subject), 0,
	  "CN=smime-milter organization CA", 0, 0, NULL },
	{ "ca", "key_type", CFG_ENUM, FIELD(ca.key_type), 0, "rsa-3072", 0,
	  0, ca_key_types },
	{ "ca", "ca_lifetime", CFG_DURATION, FIELD(ca.ca_lifetime), 0, "10y",
	  DAY, 30 * YEAR, NULL },
	{ "ca", "cert_lifetime", CFG_DURATION, FIELD(ca.cert_lifetime), 0,
	  "2y", DAY, 10 * YEAR, NULL },
	{ "ca", "renew_before", CFG_DURATION, FIELD(ca.renew_before), 0, "30d",
	  0, YEAR, NULL },
	{ "ca", "crl_validity", CFG_DURATION, FIELD(ca.crl_validity), 0, "7d",
	  3600, YEAR, NULL },
	{ "ca", "crl_url", CFG_STRING, FIELD(ca.crl_url), 0, NULL, 0, 0, NULL },
	{ "ca", "separate_encryption_cert", CFG_BOOL,
	  FIELD(ca.separate_encryption_cert), 0, "false", 0, 0, NULL },
	{ "ca", "auto_enroll", CFG_BOOL, FIELD(ca.auto_enroll), 0, "false", 0,
	  0, NULL },
	{ "ca", "enroll_per_login", CFG_UINT, FIELD(ca.enroll_per_login), 0,
	  "10", 0, 1000000, NULL },
	{ "ca", "enroll_per_domain", CFG_UINT, FIELD(ca.enroll_per_domain), 0,
	  "200", 0, 1000000, NULL },
	{ "ca", "enroll_known_only", CFG_BOOL, FIELD(ca.enroll_known_only), 0,
	  "false", 0, 0, NULL },
};
const size_t cfg_settings_count = sizeof(cfg_settings) / sizeof(cfg_settings[0]);

/* --- scalar parsers ------------------------------------------------- */

static int parse_suffixed(const char *text, const char *suffixes,
			  const unsigned long long *factors,
			  unsigned long long *out)
{
	if (!isdigit((unsigned char)text[0]))
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno != 0)
		return -1;
	unsigned long long factor = 1;
	if (*end != '\0') {
		const char *hit = strchr(suffixes, tolower((unsigned char)*end));
		if (hit == NULL || end[1] != '\0')
			return -1;
		factor = factors[hit - suffixes];
	}
	if (factor != 0 && v > ULLONG_MAX / factor)
		return -1;
	*out = v * factor;
	return 0;
}

static int parse_size(const char *text, unsigned long long *out)
{
	static const unsigned long long f[] = { KIB, MIB, GIB };
	return parse_suffixed(text, "kmg", f, out);
}

static int parse_duration(const char *text, unsigned long long *out)
{
	static const unsigned long long f[] = { 1, 60, 3600, DAY, YEAR };
	return parse_suffixed(text, "smhdy", f, out);
}

/* Reads a number from an integer element or a string with a suffix. */
static int element_number(const config_setting_t *elem, const char *text,
			  enum cfg_type type, unsigned long long *out)
{
	if (elem != NULL) {
		int t = config_setting_type(elem);
		if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64) {
			long long v = config_setting_get_int64(elem);
			if (v < 0)
				return -1;
			*out = (unsigned long long)v;
			return 0;
		}
		if (t != CONFIG_TYPE_STRING || type == CFG_UINT)
			return -1;
		text = config_setting_get_string(elem);
	}
	if (type == CFG_SIZE)
		return parse_size(text, out);
	if (type == CFG_DURATION)
		return parse_duration(text, out);
	char *end;
	errno = 0;
	*out = strtoull(text, &end, 10);
	return (errno != 0 || *end != '\0' || !isdigit((unsigned char)*text))
		       ? -1 : 0;
}

static const char *type_hint(enum cfg_type type)
{
	switch (type) {
	case CFG_STRING: return "a string";
	case CFG_BOOL: return "true or false";
	case CFG_UINT: return "a non-negative integer";
	case CFG_SIZE: return "a size in bytes, such as 1048576 or \"1M\"";
	case CFG_DURATION: return "a duration, such as 30 or \"30s\", \"5m\"";
	case CFG_STRLIST: return "a list of strings, such as [ \"a\", \"b\" ]";
	case CFG_CIDRLIST:
		return "a list of networks, such as [ \"192.0.2.0/24\" ]";
	case CFG_ENUM: return "one of the allowed values";
	}
	return "a value";
}

static int set_number(struct cfg *cfg, const struct cfg_setting *s,
		      const config_setting_t *elem, struct cfg_report *report)
{
	unsigned long long v;
	if (element_number(elem, s->fallback, s->type, &v) != 0) {
		cfg_error(report, elem, "%s.%s: expected %s", s->group, s->name,
			  type_hint(s->type));
		return -1;
	}
	if (v < s->min || v > s->max) {
		cfg_error(report, elem, "%s.%s: %llu is out of range [%llu, %llu]",
			  s->group, s->name, v, s->min, s->max);
		return -1;
	}
	void *field = (char *)cfg + s->offset;
	if (s->type == CFG_SIZE)
		*(size_t *)field = (size_t)v;
	else
		*(unsigned *)field = (unsigned)v;
	return 0;
}

/* --- strings and lists ---------------------------------------------- */

static const struct cfg_choice *find_choice(const struct cfg_choice *choices,
					    const char *word)
{
	for (; choices->word != NULL; choices++)
		if (strcmp(choices->word, word) == 0)
			return choices;
	return NULL;
}

/* "info, debug": the allowed words, for an error message. */
static const char *choice_words(const struct cfg_choice *choices, char *buf,
				size_t size)
{
	size_t used = 0;
	buf[0] = '\0';
	for (; choices->word != NULL && used < size; choices++) {
		int n = snprintf(buf + used, size - used, "%s%s",
				 used > 0 ? ", " : "", choices->word);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	return buf;
}

static int set_string(struct cfg *cfg, const struct cfg_setting *s,
		      const config_setting_t *elem, struct cfg_report *report)
{
	const char *text = s->fallback;
	if (elem != NULL) {
		if (config_setting_type(elem) != CONFIG_TYPE_STRING) {
			cfg_error(report, elem, "%s.%s: expected %s", s->group,
				  s->name, type_hint(s->type));
			return -1;
		}
		text = config_setting_get_string(elem);
		if (text[0] == '\0') {
			cfg_error(report, elem, "%s.%s: must not be empty",
				  s->group, s->name);
			return -1;
		}
	}
	if (text != NULL && s->type == CFG_ENUM) {
		const struct cfg_choice *c = find_choice(s->choices, text);
		if (c == NULL) {
			char words[256];
			cfg_error(report, elem, "%s.%s: '%s' is not one of the "
				  "allowed values (%s)", s->group, s->name, text,
				  choice_words(s->choices, words, sizeof(words)));
			return -1;
		}
		*(int *)((char *)cfg + s->offset) = c->value;
		return 0;
	}
	char **field = (char **)((char *)cfg + s->offset);
	if (text == NULL)
		return 0;
	*field = strdup(text);
	if (*field == NULL) {
		cfg_error(report, elem, "out of memory");
		return -1;
	}
	return 0;
}

/* Splits the space-separated default of a list into words. */
static size_t split_words(const char *text, char ***words_r)
{
	size_t n = 0;
	char **words = NULL;
	char *copy = strdup(text != NULL ? text : "");
	char *save = NULL;
	for (char *w = copy ? strtok_r(copy, " ", &save) : NULL; w != NULL;
	     w = strtok_r(NULL, " ", &save)) {
		char **grown = realloc(words, (n + 1) * sizeof(*words));
		if (grown == NULL)
			break;
		words = grown;
		words[n] = strdup(w);
		if (words[n] != NULL)
			n++;
	}
	free(copy);
	*words_r = words;
	return n;
}

static int list_from_element(const config_setting_t *elem,
			     const struct cfg_setting *s,
			     struct cfg_report *report, char ***words_r,
			     size_t *n_r)
{
	int t = config_setting_type(elem);
	if (t == CONFIG_TYPE_STRING) {	/* one value needs no brackets */
		*words_r = calloc(1, sizeof(char *));
		if (*words_r == NULL || !((*words_r)[0] = strdup(
				   config_setting_get_string(elem))))
			return -1;
		*n_r = 1;
		return 0;
	}
	if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) {
		cfg_error(report, elem, "%s.%s: expected %s", s->group, s->name,
			  type_hint(s->type));
		return -1;
	}
	int len = config_setting_length(elem);
	char **words = calloc((size_t)len + 1, sizeof(*words));
	if (words == NULL)
		return -1;
	*words_r = words;
	for (int i = 0; i < len; i++) {
		const config_setting_t *e = config_setting_get_elem(elem, i);
		const char *v = config_setting_get_string(e);
		if (v == NULL || v[0] == '\0') {
			cfg_error(report, e, "%s.%s: element %d: expected a "
				  "non-empty string", s->group, s->name, i + 1);
			return -1;
		}
		if ((words[i] = strdup(v)) == NULL)
			return -1;
		*n_r = (size_t)i + 1;
	}
	return 0;
}

static void free_words(char **words, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(words[i]);
	free(words);
}

static int set_cidrs(struct cfg *cfg, const struct cfg_setting *s,
		     const config_setting_t *elem, char **words, size_t n,
		     struct cfg_report *report)
{
	struct cidr *nets = calloc(n ? n : 1, sizeof(*nets));
	if (nets == NULL)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		if (!cidr_parse(words[i], &nets[i])) {
			const config_setting_t *where = elem;
			if (elem != NULL && config_setting_is_aggregate(elem))
				where = config_setting_get_elem(elem,
								(unsigned)i);
			cfg_error(report, where, "%s.%s: '%s' is not a network "
				  "(address/prefix, host bits clear)",
				  s->group, s->name, words[i]);
			rc = -1;
		}
	}
	*(struct cidr **)((char *)cfg + s->offset) = nets;
	*(size_t *)((char *)cfg + s->count_offset) = n;
	free_words(words, n);
	return rc;
}

static int set_list(struct cfg *cfg, const struct cfg_setting *s,
		    const config_setting_t *elem, struct cfg_report *report)
{
	char **words = NULL;
	size_t n = 0;
	if (elem == NULL)
		n = split_words(s->fallback, &words);
	else if (list_from_element(elem, s, report, &words, &n) != 0) {
		free_words(words, n);
		if (!report->failed)
			cfg_error(report, elem, "out of memory");
		return -1;
	}
	if (s->type == CFG_CIDRLIST)
		return set_cidrs(cfg, s, elem, words, n, report);
	*(char ***)((char *)cfg + s->offset) = words;
	*(size_t *)((char *)cfg + s->count_offset) = n;
	return 0;
}

int cfg_set_value(struct cfg *cfg, const struct cfg_setting *s,
		  const config_setting_t *elem, struct cfg_report *report)
{
	switch (s->type) {
	case CFG_STRING:
	case CFG_ENUM:
		return set_string(cfg, s, elem, report);
	case CFG_BOOL: {
		bool *field = (bool *)((char *)cfg + s->offset);
		if (elem == NULL) {
			*field = s->fallback != NULL &&
				 strcmp(s->fallback, "true") == 0;
			return 0;
		}
		if (config_setting_type(elem) != CONFIG_TYPE_BOOL) {
			cfg_error(report, elem, "%s.%s: expected %s", s->group,
				  s->name, type_hint(s->type));
			return -1;
		}
		*field = config_setting_get_bool(elem) != 0;
		return 0;
	}
	case CFG_UINT:
	case CFG_SIZE:
	case CFG_DURATION:
		return set_number(cfg, s, elem, report);
	case CFG_STRLIST:
	case CFG_CIDRLIST:
		return set_list(cfg, s, elem, report);
	}
	return -1;
}

void cfg_free_value(struct cfg *cfg, const struct cfg_setting *s)
{
	void *field = (char *)cfg + s->offset;
	switch (s->type) {
	case CFG_STRING:
		free(*(char **)field);
		*(char **)field = NULL;
		break;
	case CFG_STRLIST:
		free_words(*(char ***)field,
			   *(size_t *)((char *)cfg + s->count_offset));
		*(char ***)field = NULL;
		break;
	case CFG_CIDRLIST:
		free(*(struct cidr **)field);
		*(struct cidr **)field = NULL;
		break;
	default:
		break;
	}
}
