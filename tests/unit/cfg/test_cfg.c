/* SPDX-License-Identifier: BSD-2-Clause */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <smx/cfg.h>
#include <smx/policy-engine.h>

static char dir[512];

static int setup_dir(void **state)
{
	(void)state;
	const char *base = getenv("SMX_TEST_DIR");
	snprintf(dir, sizeof(dir), "%s", base != NULL ? base : ".");
	return 0;
}

/* Writes text to DIR/name and returns the path (static buffer). */
static const char *write_file(const char *name, const char *text)
{
	static char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static const char minimal[] =
	"milter: { internal_domains = [ \"Example.COM\" ]; };\n";

static void minimal_file_gets_defaults(void **state)
{
	(void)state;
	struct cfg_errors errors = { 0 };
	struct cfg *cfg = cfg_load(write_file("min.conf", minimal), &errors);
	assert_non_null(cfg);
	assert_int_equal(errors.count, 0);
	assert_string_equal(cfg->milter.socket, "inet:8891@127.0.0.1");
	assert_int_equal(cfg->milter.n_internal_domains, 1);
	assert_string_equal(cfg->milter.internal_domains[0], "example.com");
	assert_int_equal(cfg->milter.n_trusted_networks, 2);
	assert_int_equal(cfg->milter.spool_threshold, 1024 * 1024);
	assert_int_equal(cfg->milter.max_message_size, 100 * 1024 * 1024);
	assert_int_equal(cfg->milter.shutdown_timeout, 30);
	assert_non_null(cfg->milter.authserv_id);
	assert_null(cfg->milter.user);
	assert_string_equal(cfg->store.path, "/var/lib/smime-milter/store.db");
	assert_string_equal(cfg->keys.master_key_file,
			    "/var/lib/smime-milter/master.key");
	/* what the store is opened with */
	const struct store_settings *ss = &cfg->store_settings;
	assert_int_equal(ss->backend, STORE_BACKEND_SQLITE);
	assert_string_equal(ss->path, "/var/lib/smime-milter/store.db");
	assert_int_equal(ss->busy_timeout, 5000);
	assert_int_equal(ss->pool_size, 8);
	assert_string_equal(ss->master_key_file,
			    "/var/lib/smime-milter/master.key");
	assert_int_equal(cfg->milter.syslog_facility, LOG_MAIL);
	assert_int_equal(cfg->milter.log_level, LOG_INFO);
	assert_int_equal(cfg->milter.sign_format, CFG_SIGN_CLEAR);
	assert_int_equal(cfg->milter.sign_digest, CFG_DIGEST_SHA256);
	assert_int_equal(cfg->revocation.mode, REVOCATION_MODE_SOFT);
	assert_int_equal(cfg->ca.key_type, CA_KEY_RSA_3072);
	cfg_unref(&cfg);
	assert_null(cfg);
}

static void full_file_is_read(void **state)
{
	(void)state;
	const char *text =
		"milter: {\n"
		"  socket = \"unix:/run/smime/milter.sock\";\n"
		"  authserv_id = \"mx.example.com\";\n"
		"  internal_domains = [ \"example.com\", \".corp.example\" ];\n"
		"  trusted_networks = [ \"10.0.0.0/8\", \"2001:db8::/32\" ];\n"
		"  user = \"smime-milter\";\n"
		"  pidfile = \"/run/smime/pid\";\n"
		"  spool_threshold = \"64K\";\n"
		"  max_message_size = 52428800;\n"
		"  shutdown_timeout = \"2m\";\n"
		"  log_level = \"debug\";\n"
		"};\n"
		"store: { backend = \"postgresql\";\n"
		"  conninfo = \"host=db dbname=smime\"; pool_size = 4; };\n";
	struct cfg_errors errors = { 0 };
	struct cfg *cfg = cfg_load(write_file("full.conf", text), &errors);
	for (size_t i = 0; i < errors.count; i++)
		print_error("%s\n", errors.lines[i]);
	assert_non_null(cfg);
	assert_string_equal(cfg->milter.socket, "unix:/run/smime/milter.sock");
	assert_string_equal(cfg->milter.authserv_id, "mx.example.com");
	assert_int_equal(cfg->milter.n_internal_domains, 2);
	assert_int_equal(cfg->milter.n_trusted_networks, 2);
	assert_int_equal(cfg->milter.trusted_networks[1].prefix, 32);
	assert_string_equal(cfg->milter.user, "smime-milter");
	assert_int_equal(cfg->milter.spool_threshold, 64 * 1024);
	assert_int_equal(cfg->milter.max_message_size, 52428800);
	assert_int_equal(cfg->milter.shutdown_timeout, 120);
	assert_int_equal(cfg->milter.log_level, LOG_DEBUG);
	assert_string_equal(cfg->store.conninfo, "host=db dbname=smime");
	assert_int_equal(cfg->store.pool_size, 4);
	assert_int_equal(cfg->store_settings.backend, STORE_BACKEND_POSTGRESQL);
	assert_string_equal(cfg->store_settings.conninfo,
			    "host=db dbname=smime");
	assert_int_equal(cfg->store_settings.pool_size, 4);
	/* a second reference keeps the snapshot alive */
	struct cfg *other = cfg_ref(cfg);
	cfg_unref(&cfg);
	assert_string_equal(other->milter.user, "smime-milter");
	cfg_unref(&other);
}

/* Loads text and checks that the load fails with exactly the expected
 * error lines, each given without the "DIR/" prefix of the path. */
static void expect_errors(const char *name, const char *text,
			  const char *const *want, size_t n_want)
{
	struct cfg_errors errors = { 0 };
	struct cfg *cfg = cfg_load(write_file(name, text), &errors);
	if (cfg != NULL)
		fail_msg("%s: loaded although it is wrong", name);
	for (size_t i = 0; i < errors.count && i < n_want; i++) {
		char full[1024];
		snprintf(full, sizeof(full), "%s/%s", dir, want[i]);
		if (strcmp(errors.lines[i], full) != 0)
			fail_msg("%s: error %zu:\n got  %s\n want %s", name, i,
				 errors.lines[i], full);
	}
	if (errors.count != n_want) {
		for (size_t i = 0; i < errors.count; i++)
			print_error("  %s\n", errors.lines[i]);
		fail_msg("%s: %zu errors, want %zu", name, errors.count, n_want);
	}
	cfg_errors_free(&errors);
}

static void every_error_has_file_and_line_in_order(void **state)
{
	(void)state;
	const char *text =
		"milter: {\n"					/* 1 */
		"  socket = \"tcp:99\";\n"			/* 2 */
		"  internal_domains = [ \"exa mple.com\" ];\n"	/* 3 */
		"  trusted_networks = [ \"10.0.0.1/8\",\n"	/* 4 */
		"                       \"::1/129\" ];\n"	/* 5 */
		"  spool_threshold = \"12X\";\n"		/* 6 */
		"  bogus = 1;\n"				/* 7 */
		"  shutdown_timeout = 7200;\n"			/* 8 */
		"  log_level = \"loud\";\n"			/* 9 */
		"  user = 5;\n"					/* 10 */
		"};\n"						/* 11 */
		"store: { backend = \"postgresql\"; };\n"	/* 12 */
		"cache: { };\n";				/* 13 */
	const char *const want[] = {
		"bad.conf:2: milter.socket: 'tcp:99' is not inet:PORT@HOST, "
		"inet6:PORT@HOST or unix:/PATH",
		"bad.conf:3: milter.internal_domains: 'exa mple.com' is not a "
		"domain name",
		"bad.conf:4: milter.trusted_networks: '10.0.0.1/8' is not a "
		"network (address/prefix, host bits clear)",
		"bad.conf:5: milter.trusted_networks: '::1/129' is not a network "
		"(address/prefix, host bits clear)",
		"bad.conf:6: milter.spool_threshold: expected a size in bytes, "
		"such as 1048576 or \"1M\"",
		"bad.conf:7: unknown setting 'milter.bogus'",
		"bad.conf:8: milter.shutdown_timeout: 7200 is out of range "
		"[0, 3600]",
		"bad.conf:9: milter.log_level: 'loud' is not one of the allowed "
		"values (info, debug)",
		"bad.conf:10: milter.user: expected a string",
		"bad.conf:12: store.conninfo: required with backend "
		"\"postgresql\"",
		"bad.conf:13: unknown group 'cache'",
	};
	expect_errors("bad.conf", text, want, sizeof(want) / sizeof(want[0]));
}

/* A setting with a fixed set of words: every word loads as its value,
 * any other word is refused naming the key and the allowed words. */
struct choice_case {
	const char *word;
	int value;
};

/* A file setting group.key to word (milter on line 1, another group on
 * line 2; the store group with the conninfo PostgreSQL needs). */
static const char *choice_file(const char *group, const char *key,
			       const char *word)
{
	char text[512];
	if (strcmp(group, "milter") == 0)
		snprintf(text, sizeof(text), "milter: { internal_domains = "
			 "[ \"example.com\" ]; %s = \"%s\"; };\n", key, word);
	else
		snprintf(text, sizeof(text), "milter: { internal_domains = "
			 "[ \"example.com\" ]; };\n%s: { %s = \"%s\";%s };\n",
			 group, key, word, strcmp(group, "store") == 0
			 ? " conninfo = \"dbname=smime\";" : "");
	return write_file("choice.conf", text);
}

static void check_choice(const char *group, const char *key,
			 const struct choice_case *cases, size_t n,
			 int (*field)(const struct cfg *), const char *words)
{
	for (size_t i = 0; i < n; i++) {
		struct cfg_errors errors = { 0 };
		struct cfg *cfg = cfg_load(choice_file(group, key,
						       cases[i].word), &errors);
		if (cfg == NULL)
			fail_msg("%s.%s = \"%s\": %s", group, key,
				 cases[i].word, errors.count > 0 ?
				 errors.lines[0] : "refused");
		assert_int_equal(field(cfg), cases[i].value);
		cfg_unref(&cfg);
		cfg_errors_free(&errors);
	}
	struct cfg_errors errors = { 0 };
	assert_null(cfg_load(choice_file(group, key, "Bogus"), &errors));
	assert_int_equal(errors.count, 1);
	char want[1200];
	snprintf(want, sizeof(want), "%s/choice.conf:%d: %s.%s: 'Bogus' is not "
		 "one of the allowed values (%s)", dir,
		 strcmp(group, "milter") == 0 ? 1 : 2, group, key, words);
	assert_string_equal(errors.lines[0], want);
	cfg_errors_free(&errors);
}

static int facility_of(const struct cfg *c)
{
	return c->milter.syslog_facility;
}

static int log_level_of(const struct cfg *c)
{
	return c->milter.log_level;
}

static int sign_format_of(const struct cfg *c)
{
	return (int)c->milter.sign_format;
}

static int sign_digest_of(const struct cfg *c)
{
	return (int)c->milter.sign_digest;
}

static int revocation_mode_of_cfg(const struct cfg *c)
{
	return (int)c->revocation.mode;
}

static int ca_key_type_of(const struct cfg *c)
{
	return (int)c->ca.key_type;
}

static int store_backend_of(const struct cfg *c)
{
	return (int)c->store_settings.backend;
}

static void choices_are_read_once_at_load(void **state)
{
	(void)state;
	const struct choice_case facilities[] = {
		{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON },
		{ "user", LOG_USER }, { "local0", LOG_LOCAL0 },
		{ "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
		{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 },
		{ "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 },
		{ "local7", LOG_LOCAL7 },
	};
	check_choice("milter", "syslog_facility", facilities, 11, facility_of,
		     "mail, daemon, user, local0, local1, local2, local3, "
		     "local4, local5, local6, local7");
	const struct choice_case levels[] = {
		{ "info", LOG_INFO }, { "debug", LOG_DEBUG },
	};
	check_choice("milter", "log_level", levels, 2, log_level_of,
		     "info, debug");
	const struct choice_case formats[] = {
		{ "clear", CFG_SIGN_CLEAR }, { "opaque", CFG_SIGN_OPAQUE },
	};
	check_choice("milter", "sign_format", formats, 2, sign_format_of,
		     "clear, opaque");
	const struct choice_case digests[] = {
		{ "sha256", CFG_DIGEST_SHA256 }, { "sha384", CFG_DIGEST_SHA384 },
		{ "sha512", CFG_DIGEST_SHA512 },
	};
	check_choice("milter", "sign_digest", digests, 3, sign_digest_of,
		     "sha256, sha384, sha512");
	const struct choice_case modes[] = {
		{ "off", REVOCATION_MODE_OFF }, { "soft", REVOCATION_MODE_SOFT },
		{ "hard", REVOCATION_MODE_HARD },
	};
	check_choice("revocation", "mode", modes, 3, revocation_mode_of_cfg,
		     "off, soft, hard");
	const struct choice_case key_types[] = {
		{ "rsa-2048", CA_KEY_RSA_2048 }, { "rsa-3072", CA_KEY_RSA_3072 },
		{ "rsa-4096", CA_KEY_RSA_4096 }, { "ec-p256", CA_KEY_EC_P256 },
		{ "ec-p384", CA_KEY_EC_P384 },
	};
	check_choice("ca", "key_type", key_types, 5, ca_key_type_of,
		     "rsa-2048, rsa-3072, rsa-4096, ec-p256, ec-p384");
	const struct choice_case backends[] = {
		{ "sqlite", STORE_BACKEND_SQLITE },
		{ "postgresql", STORE_BACKEND_POSTGRESQL },
	};
	check_choice("store", "backend", backends, 2, store_backend_of,
		     "sqlite, postgresql");
}

static void semantic_errors(void **state)
{
	(void)state;
	const char *const no_domains[] = {
		"nodom.conf:1: milter.internal_domains: required: the domains "
		"of the organization, such as [ \"example.com\" ]",
	};
	expect_errors("nodom.conf", "milter: { socket = \"inet:1@localhost\"; };\n",
		      no_domains, 1);
	const char *const relative[] = {
		"rel.conf:2: store.path: must be an absolute path",
		"rel.conf:3: keys.master_key_file: must be an absolute path",
	};
	expect_errors("rel.conf",
		      "milter: { internal_domains = \"example.com\"; };\n"
		      "store: { path = \"store.db\"; };\n"
		      "keys: { master_key_file = \"k\"; };\n",
		      relative, 2);
	const char *const token[] = {
		"tok.conf:2: keys.pkcs11_module: must be an absolute path",
		"tok.conf:2: keys.pkcs11_module: needs keys.process = true "
		"(only the key process uses the token)",
		"tok.conf:2: keys.pkcs11_pin_file: required with "
		"keys.pkcs11_module",
	};
	expect_errors("tok.conf",
		      "milter: { internal_domains = \"example.com\"; };\n"
		      "keys: { process = false; pkcs11_module = \"p.so\"; };\n",
		      token, 3);
	const char *const pin[] = {
		"pin.conf:2: keys.pkcs11_pin_file: must be an absolute path",
	};
	expect_errors("pin.conf",
		      "milter: { internal_domains = \"example.com\"; };\n"
		      "keys: { pkcs11_module = \"/p.so\"; "
		      "pkcs11_pin_file = \"pin\"; };\n",
		      pin, 1);
	const char *const empty[] = {
		"empty.conf:1: milter.socket: must not be empty",
	};
	expect_errors("empty.conf",
		      "milter: { socket = \"\"; internal_domains = \"e.com\"; };\n",
		      empty, 1);
}

static void syntax_error_and_missing_file(void **state)
{
	(void)state;
	const char *const syntax[] = { "syn.conf:2: syntax error" };
	expect_errors("syn.conf", "milter: {\n  x = ;\n};\n", syntax, 1);

	struct cfg_errors errors = { 0 };
	char path[1024];
	snprintf(path, sizeof(path), "%s/does-not-exist.conf", dir);
	assert_null(cfg_load(path, &errors));
	assert_int_equal(errors.count, 1);
	assert_non_null(strstr(errors.lines[0], "does-not-exist.conf: cannot "
					     "read"));
	cfg_errors_free(&errors);
}

static void included_file_errors_name_that_file(void **state)
{
	(void)state;
	write_file("inc-part.conf", "\n\nstore: { pool_size = 0; };\n");
	struct cfg_errors errors = { 0 };
	/* a relative @include is found next to the main file */
	const char *main_path = write_file(
		"inc-main.conf",
		"milter: { internal_domains = [ \"example.com\" ]; };\n"
		"@include \"inc-part.conf\"\n");
	assert_null(cfg_load(main_path, &errors));
	assert_int_equal(errors.count, 1);
	char want[1024];
	snprintf(want, sizeof(want), "%s/inc-part.conf:3: store.pool_size: 0 "
		 "is out of range [1, 256]", dir);
	assert_string_equal(errors.lines[0], want);
	cfg_errors_free(&errors);
}

static void key_names_are_listed(void **state)
{
	(void)state;
	char buf[128];
	size_t n = 0;
	int saw_socket = 0;
	while (cfg_key_name(n, buf, sizeof(buf)) != NULL) {
		if (strcmp(buf, "milter.socket") == 0)
			saw_socket = 1;
		n++;
	}
	assert_true(n > 10);
	assert_true(saw_socket);
}

static void ldap_group_is_optional_read_and_checked(void **state)
{
	(void)state;
	struct cfg_errors errors = { 0 };
	struct cfg *cfg = cfg_load(write_file("noldap.conf", minimal), &errors);
	assert_non_null(cfg);
	assert_int_equal(cfg->ldap.n_uri, 0);	/* no directory */
	assert_int_equal(cfg->ldap.n_attributes, 3);
	assert_string_equal(cfg->ldap.attributes[0], "userCertificate;binary");
	assert_string_equal(cfg->ldap.attributes[1], "userSMIMECertificate");
	assert_string_equal(cfg->ldap.attributes[2], "userCertificate");
	assert_string_equal(cfg->ldap.filter,
			    "(|(mail=%s)(proxyAddresses=smtp:%s))");
	assert_int_equal(cfg->ldap.timeout, 5);
	assert_false(cfg->ldap.publish);
	cfg_unref(&cfg);

	cfg = cfg_load(write_file("ldap.conf",
		"milter: { internal_domains = \"example.com\"; };\n"
		"ldap: { uri = [ \"ldap://a.example\", \"LDAPS://b.example:636\","
		" \"ldapi://%2Frun%2Fslapd%2Fldapi\" ];\n"
		"  bind_dn = \"cn=smime,dc=example,dc=com\";\n"
		"  bind_password_file = \"/etc/smime-milter/ldap.pw\";\n"
		"  ca_file = \"/etc/ssl/certs/ca.pem\"; base = \"dc=example,dc=com\";\n"
		"  filter = \"(&(objectClass=person)(mail=%s))\";\n"
		"  attributes = \"userCertificate;binary\"; timeout = \"3s\";\n"
		"  cache_ttl = \"1h\"; negative_ttl = 60; publish = true;\n"
		"  allow_cleartext_bind = true; };\n"),
		&errors);
	for (size_t i = 0; i < errors.count; i++)
		print_error("%s\n", errors.lines[i]);
	assert_non_null(cfg);
	assert_int_equal(cfg->ldap.n_uri, 3);
	assert_string_equal(cfg->ldap.uri[1], "LDAPS://b.example:636");
	assert_string_equal(cfg->ldap.bind_dn, "cn=smime,dc=example,dc=com");
	assert_string_equal(cfg->ldap.filter, "(&(objectClass=person)(mail=%s))");
	assert_int_equal(cfg->ldap.n_attributes, 1);
	assert_int_equal(cfg->ldap.timeout, 3);
	assert_int_equal(cfg->ldap.cache_ttl, 3600);
	assert_int_equal(cfg->ldap.negative_ttl, 60);
	assert_true(cfg->ldap.publish);
	assert_false(cfg->ldap.starttls);
	assert_true(cfg->ldap.allow_cleartext_bind);
	cfg_unref(&cfg);

	const char *const want[] = {
		"badldap.conf:2: ldap.uri: 'http://x' is not an ldap://, "
		"ldaps:// or ldapi:// URI",
		"badldap.conf:3: ldap.starttls: 'ldaps://y' already uses TLS; "
		"StartTLS needs ldap:// URIs",
		"badldap.conf:4: ldap.bind_dn: needs ldap.bind_password_file",
		"badldap.conf:5: ldap.filter: '(mail=%s)(x=*)': text after the "
		"closing parenthesis",
		"badldap.conf:6: ldap.attributes: 'user cert' is not an "
		"attribute description",
		"badldap.conf:7: ldap.ca_file: must be an absolute path",
	};
	expect_errors("badldap.conf",
		"milter: { internal_domains = \"example.com\"; };\n"
		"ldap: { uri = [ \"http://x\", \"ldaps://y\" ]; base = \"o=x\";\n"
		"  starttls = true;\n"
		"  bind_dn = \"cn=a\";\n"
		"  filter = \"(mail=%s)(x=*)\";\n"
		"  attributes = [ \"user cert\" ];\n"
		"  ca_file = \"ca.pem\"; };\n",
		want, sizeof(want) / sizeof(want[0]));

	const char *const filters[][2] = {
		{ "(mail=%s", "unbalanced parentheses" },
		{ "(mail=x)", "needs the placeholder %s for the address" },
		{ "(mail=%d)", "only %s (the address) and %% may follow '%'" },
		{ "mail=%s", "must start with '('" },
		{ "(mail=%s\\\\zz)", "'\\' must be followed by two hex digits" },
	};
	for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
		char text[512], line[512];
		snprintf(text, sizeof(text), "milter: { internal_domains = "
			 "\"e.com\"; };\nldap: { uri = \"ldap://h\"; base = "
			 "\"o=x\"; filter = \"%s\"; };\n", filters[i][0]);
		snprintf(line, sizeof(line), "filter.conf:2: ldap.filter: "
			 "'%s': %s", filters[i][0], filters[i][1]);
		const char *one[] = { line };
		/* the file holds "\\\\zz": libconfig reads it as "\\zz" */
		if (i == 4)
			snprintf(line, sizeof(line), "filter.conf:2: ldap.filter: "
				 "'(mail=%%s\\zz)': %s", filters[i][1]);
		expect_errors("filter.conf", text, one, 1);
	}
	const char *const missing[] = {
		"missing.conf:2: ldap.uri: required in the ldap group, such as "
		"[ \"ldap://ldap.example.com\" ]",
		"missing.conf:2: ldap.base: required in the ldap group, such as "
		"\"dc=example,dc=com\"",
	};
	expect_errors("missing.conf", "milter: { internal_domains = \"e.com\"; };"
		      "\nldap: { timeout = 2; };\n", missing, 2);
}

/* A bind password over plain ldap:// is refused unless StartTLS protects
 * it or ldap.allow_cleartext_bind says so; ldaps:// and ldapi:// are
 * fine, and so is an anonymous bind. */
static void ldap_cleartext_bind_is_refused(void **state)
{
	(void)state;
	static const char head[] =
		"milter: { internal_domains = \"example.com\"; };\n"
		"ldap: { base = \"dc=example,dc=com\";\n";
	static const char bind[] =
		"  bind_dn = \"cn=smime,dc=example,dc=com\";\n"
		"  bind_password_file = \"/etc/smime-milter/ldap.pw\";\n";
	char text[1024];
	const char *const want[] = {
		"clear.conf:4: ldap.bind_dn: 'ldap://b.example' would send the "
		"bind password in clear text; set ldap.starttls = true, use "
		"ldaps:// or ldapi://, or set ldap.allow_cleartext_bind = true",
	};
	snprintf(text, sizeof(text), "%s  uri = [ \"ldaps://a.example\", "
		 "\"ldap://b.example\" ];\n%s};\n", head, bind);
	expect_errors("clear.conf", text, want, 1);

	static const char *const fine[] = {
		"  uri = [ \"ldap://a.example\" ]; starttls = true;\n",
		"  uri = [ \"ldap://a.example\" ]; allow_cleartext_bind = true;\n",
		"  uri = [ \"LDAPS://a.example\", \"ldapi://%2Frun%2Fldapi\" ];\n",
	};
	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
		struct cfg_errors errors = { 0 };
		snprintf(text, sizeof(text), "%s%s%s};\n", head, fine[i], bind);
		struct cfg *cfg = cfg_load(write_file("fine.conf", text),
					   &errors);
		for (size_t e = 0; e < errors.count; e++)
			print_error("%s\n", errors.lines[e]);
		assert_non_null(cfg);
		cfg_unref(&cfg);
		cfg_errors_free(&errors);
	}
	/* anonymous over ldap:// sends no password */
	struct cfg_errors errors = { 0 };
	snprintf(text, sizeof(text), "%s  uri = \"ldap://a.example\"; };\n",
		 head);
	struct cfg *cfg = cfg_load(write_file("anon.conf", text), &errors);
	assert_non_null(cfg);
	assert_false(cfg->ldap.allow_cleartext_bind);
	cfg_unref(&cfg);
}

/* milter.signer_map grants logins the right to sign as addresses (and
 * "@domain"); the decisions follow; every bad line is reported with the
 * map's file and line, at the line of the key in the configuration. */
static bool signs(const struct cfg *cfg, const char *login, const char *from)
{
	struct policy_rcpt_input r = { "x@partner.example", POLICY_MISSING };
	struct policy_message_input in = {
		.direction = POLICY_OUTBOUND, .sender = from, .from = from,
		.auth_login = login, .rcpts = &r, .n_rcpts = 1,
		.signing_key = POLICY_AVAILABLE, .can_sign = true,
	};
	struct policy_decision d;
	assert_int_equal(policy_decide(cfg->policy, &in, &d), 0);
	bool sign = d.sign;
	policy_decision_release(&d);
	return sign;
}

static void signer_map_grants_logins(void **state)
{
	(void)state;
	char map[1024], text[2048];
	snprintf(map, sizeof(map), "%s", write_file("signers",
		"# address        logins\n"
		"\n"
		"sales@example.com  alice, bob\n"
		"  @example.net     relay\n"));
	snprintf(text, sizeof(text), "milter: { internal_domains = "
		 "[ \"example.com\", \"example.net\" ];\n"
		 "  signer_map = \"%s\"; };\n", map);
	struct cfg_errors errors = { 0 };
	struct cfg *cfg = cfg_load(write_file("map.conf", text), &errors);
	assert_non_null(cfg);
	assert_int_equal(errors.count, 0);
	assert_true(signs(cfg, "alice", "sales@example.com"));
	assert_true(signs(cfg, "BOB", "Sales@Example.com"));
	assert_true(signs(cfg, "relay", "anyone@example.net"));
	assert_true(signs(cfg, "carol@example.com", "carol@example.com"));
	assert_false(signs(cfg, "carol", "sales@example.com"));
	assert_false(signs(cfg, "relay", "anyone@example.com"));
	assert_false(signs(cfg, "alice", "alice2@example.com"));
	cfg_unref(&cfg);

	snprintf(map, sizeof(map), "%s", write_file("bad-signers",
		"sales@example.com\nnot-an-address alice\nok@example.com a\n"));
	snprintf(text, sizeof(text), "milter: { internal_domains = "
		 "[ \"example.com\" ];\n  signer_map = \"%s\"; };\n", map);
	char want0[1200], want1[1200];
	snprintf(want0, sizeof(want0), "badmap.conf:2: milter.signer_map: "
		 "%s:1: expected ADDRESS LOGIN[, LOGIN...]", map);
	snprintf(want1, sizeof(want1), "badmap.conf:2: milter.signer_map: "
		 "%s:2: 'not-an-address' is not an address or @domain", map);
	const char *want[] = { want0, want1 };
	expect_errors("badmap.conf", text, want, 2);

	expect_errors("nomap.conf", "milter: { internal_domains = "
		      "[ \"example.com\" ];\n  signer_map = \"/nonexistent/m\"; };\n",
		      (const char *[]){ "nomap.conf:2: milter.signer_map: cannot "
					"read /nonexistent/m: No such file or "
					"directory" }, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(minimal_file_gets_defaults),
		cmocka_unit_test(full_file_is_read),
		cmocka_unit_test(every_error_has_file_and_line_in_order),
		cmocka_unit_test(semantic_errors),
		cmocka_unit_test(choices_are_read_once_at_load),
		cmocka_unit_test(syntax_error_and_missing_file),
		cmocka_unit_test(included_file_errors_name_that_file),
		cmocka_unit_test(key_names_are_listed),
		cmocka_unit_test(ldap_group_is_optional_read_and_checked),
		cmocka_unit_test(ldap_cleartext_bind_is_refused),
		cmocka_unit_test(signer_map_grants_logins),
	};
	return cmocka_run_group_tests(tests, setup_dir, NULL);
}
