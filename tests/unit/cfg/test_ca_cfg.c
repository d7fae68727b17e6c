/* SPDX-License-Identifier: BSD-2-Clause */
/* The `ca` configuration group: defaults, the "y" duration suffix, and
 * the checks that look at several keys together. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <smx/cfg.h>

#define DAY 86400u
#define YEAR (365u * DAY)

static const char head[] = "milter: { internal_domains = [ \"example.com\" ]; };\n";

/* Loads head + text; returns the configuration or NULL with errors. */
static struct cfg *load(const char *text, struct cfg_errors *errors)
{
	char path[1024];
	const char *dir = getenv("SMX_TEST_DIR");
	snprintf(path, sizeof(path), "%s/ca.conf", dir ? dir : ".");
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s%s", head, text);
	fclose(f);
	return cfg_load(path, errors);
}

/* One bad file: exactly one error, containing want. */
static void expect_error(const char *text, const char *want)
{
	struct cfg_errors errors = { 0 };
	struct cfg *cfg = load(text, &errors);
	assert_null(cfg);
	if (errors.count != 1 || strstr(errors.lines[0], want) == NULL) {
		for (size_t i = 0; i < errors.count; i++)
			fprintf(stderr, "got: %s\n", errors.lines[i]);
		fail_msg("want one error containing '%s' for: %s", want, text);
	}
	cfg_errors_free(&errors);
}

static void defaults_without_the_group(void **state)
{
	(void)state;
	struct cfg_errors errors = { 0 };
	struct cfg *cfg = load("", &errors);
	assert_non_null(cfg);
	assert_string_equal(cfg->ca.subject, "CN=smime-milter organization CA");
	assert_int_equal(cfg->ca.key_type, CA_KEY_RSA_3072);
	assert_int_equal(cfg->ca.ca_lifetime, 10 * YEAR);
	assert_int_equal(cfg->ca.cert_lifetime, 2 * YEAR);
	assert_int_equal(cfg->ca.renew_before, 30 * DAY);
	assert_int_equal(cfg->ca.crl_validity, 7 * DAY);
	assert_null(cfg->ca.crl_url);
	assert_false(cfg->ca.separate_encryption_cert);
	assert_false(cfg->ca.auto_enroll);
	assert_int_equal(cfg->ca.enroll_per_login, 10);
	assert_int_equal(cfg->ca.enroll_per_domain, 200);
	assert_false(cfg->ca.enroll_known_only);
	cfg_unref(&cfg);
}

static void every_key_is_read(void **state)
{
	(void)state;
	struct cfg_errors errors = { 0 };
	struct cfg *cfg = load(
		"ca: { subject = \"CN=Example CA,O=Example\\\\, Inc.\";\n"
		"  key_type = \"ec-p384\"; ca_lifetime = \"20y\";\n"
		"  cert_lifetime = \"400d\"; renew_before = \"2w\"; };\n",
		&errors);
	/* "w" is not a unit: one error, nothing loaded */
	assert_null(cfg);
	assert_int_equal(errors.count, 1);
	assert_non_null(strstr(errors.lines[0], "ca.renew_before"));
	cfg_errors_free(&errors);
	cfg = load("ca: { subject = \"CN=Example CA,O=Example\";\n"
		   "  key_type = \"ec-p384\"; ca_lifetime = \"20y\";\n"
		   "  cert_lifetime = \"400d\"; renew_before = 86400;\n"
		   "  crl_validity = \"36h\";\n"
		   "  crl_url = \"http://pki.example.com/ca.crl\";\n"
		   "  separate_encryption_cert = true; auto_enroll = true;\n"
		   "  enroll_per_login = 0; enroll_per_domain = 50;\n"
		   "  enroll_known_only = true; };\n",
		   &errors);
	assert_non_null(cfg);
	assert_string_equal(cfg->ca.subject, "CN=Example CA,O=Example");
	assert_int_equal(cfg->ca.key_type, CA_KEY_EC_P384);
	assert_int_equal(cfg->ca.ca_lifetime, 20 * YEAR);
	assert_int_equal(cfg->ca.cert_lifetime, 400 * DAY);
	assert_int_equal(cfg->ca.renew_before, DAY);
	assert_int_equal(cfg->ca.crl_validity, 36 * 3600);
	assert_string_equal(cfg->ca.crl_url, "http://pki.example.com/ca.crl");
	assert_true(cfg->ca.separate_encryption_cert);
	assert_true(cfg->ca.auto_enroll);
	assert_int_equal(cfg->ca.enroll_per_login, 0);
	assert_int_equal(cfg->ca.enroll_per_domain, 50);
	assert_true(cfg->ca.enroll_known_only);
	cfg_unref(&cfg);
}

/* The "y" suffix is 365 days, upper case too, bounded like the others. */
static void year_suffix(void **state)
{
	(void)state;
	static const struct { const char *text; unsigned want; } ok[] = {
		{ "\"1y\"", YEAR }, { "\"1Y\"", YEAR }, { "\"30y\"", 30 * YEAR },
		{ "\"365d\"", YEAR }, { "\"8760h\"", YEAR },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char text[128];
		struct cfg_errors errors = { 0 };
		snprintf(text, sizeof(text), "ca: { ca_lifetime = %s; "
			 "cert_lifetime = \"1d\"; renew_before = 0; };\n",
			 ok[i].text);
		struct cfg *cfg = load(text, &errors);
		assert_non_null(cfg);
		if (cfg->ca.ca_lifetime != ok[i].want)
			fail_msg("%s: got %u, want %u", ok[i].text,
				 cfg->ca.ca_lifetime, ok[i].want);
		cfg_unref(&cfg);
	}
	expect_error("ca: { ca_lifetime = \"31y\"; };\n", "out of range");
	expect_error("ca: { ca_lifetime = \"y\"; };\n", "ca.ca_lifetime");
	expect_error("ca: { ca_lifetime = \"1yy\"; };\n", "ca.ca_lifetime");
	expect_error("ca: { ca_lifetime = \"99999999999999y\"; };\n",
		     "ca.ca_lifetime");
	expect_error("ca: { renew_before = \"2y\"; };\n", "out of range");
}

static void checks_across_keys(void **state)
{
	(void)state;
	expect_error("ca: { key_type = \"dsa-1024\"; };\n", "ca.key_type");
	expect_error("ca: { subject = \"Example CA\"; };\n", "ca.subject");
	expect_error("ca: { subject = \"CN=\"; };\n", "ca.subject");
	expect_error("ca: { subject = \"CN=x,,O=y\"; };\n", "ca.subject");
	expect_error("ca: { crl_url = \"ftp://x/ca.crl\"; };\n", "ca.crl_url");
	expect_error("ca: { cert_lifetime = \"11y\"; ca_lifetime = \"12y\"; };\n",
		     "out of range");
	expect_error("ca: { cert_lifetime = \"5y\"; ca_lifetime = \"2y\"; };\n",
		     "longer than ca.ca_lifetime");
	expect_error("ca: { cert_lifetime = \"30d\"; renew_before = \"30d\"; };\n",
		     "ca.renew_before: must be shorter");
	expect_error("ca: { autoenroll = true; };\n", "ca.autoenroll");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_without_the_group),
		cmocka_unit_test(every_key_is_read),
		cmocka_unit_test(year_suffix),
		cmocka_unit_test(checks_across_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
