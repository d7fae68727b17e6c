/* SPDX-License-Identifier: BSD-2-Clause */
/* The directory client without a server: RFC 4515 escaping of the
 * address into the filter template, hostile attribute values, and the
 * contract of directory_open/directory_lookup on bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <smx/directory.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void filter_escapes_every_special_character(void **state)
{
	(void)state;
	static const struct {
		const char *filter, *value, *want;
	} cases[] = {
		{ "(mail=%s)", "alice@example.com", "(mail=alice@example.com)" },
		{ "(|(mail=%s)(proxyAddresses=smtp:%s))", "a@b.c",
		  "(|(mail=a@b.c)(proxyAddresses=smtp:a@b.c))" },
		{ "(mail=%s)", "*)(mail=*", "(mail=\\2a\\29\\28mail=\\2a)" },
		{ "(mail=%s)", "a\\b@c", "(mail=a\\5cb@c)" },
		{ "(mail=%s)", "a b\x7f\x01@c", "(mail=a\\20b\\7f\\01@c)" },
		{ "(mail=%s)", "j\xc3\xb6rg@c", "(mail=j\\c3\\b6rg@c)" },
		{ "(&(mail=%s)(x=100%%))", "a@b", "(&(mail=a@b)(x=100%))" },
		{ "(mail=%s)", "", "(mail=)" },
	};
	for (size_t i = 0; i < N(cases); i++) {
		char buf[256];
		int n = directory_filter_format(buf, sizeof(buf), cases[i].filter,
						cases[i].value);
		if (n < 0 || strcmp(buf, cases[i].want) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i,
				 n < 0 ? "(error)" : buf, cases[i].want);
		assert_int_equal((size_t)n, strlen(cases[i].want));
	}
}

static void filter_refuses_what_does_not_fit(void **state)
{
	(void)state;
	char buf[16];
	assert_int_equal(directory_filter_format(buf, sizeof(buf),
						 "(mail=%s)", "abcdefgh"), 15);
	assert_int_equal(directory_filter_format(buf, sizeof(buf),
						 "(mail=%s)", "abcdefghi"), -1);
	/* an escape never gets cut in half */
	assert_int_equal(directory_filter_format(buf, sizeof(buf),
						 "(mail=%s)", "abcdef*"), -1);
	assert_int_equal(directory_filter_format(buf, sizeof(buf),
						 "(mail=%d)", "a"), -1);
	assert_int_equal(directory_filter_format(buf, sizeof(buf),
						 "(mail=%", "a"), -1);
}

static void hostile_values_are_rejected(void **state)
{
	(void)state;
	static const unsigned char empty_seq[] = { 0x30, 0x00 };
	static const unsigned char truncated[] = { 0x30, 0x82, 0x01, 0x00, 0x30 };
	static const unsigned char huge_len[] = { 0x30, 0x84, 0x7f, 0xff, 0xff,
						  0xff };
	/* ContentInfo signedData with no content */
	static const unsigned char p7_empty[] = {
		0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
		0x01, 0x07, 0x02 };
	static const struct {
		const unsigned char *v;
		size_t len;
	} values[] = {
		{ empty_seq, sizeof(empty_seq) }, { truncated, sizeof(truncated) },
		{ huge_len, sizeof(huge_len) }, { p7_empty, sizeof(p7_empty) },
		{ (const unsigned char *)"", 0 },
	};
	struct directory_result r = { 0 };
	for (size_t i = 0; i < N(values); i++)
		assert_int_equal(directory_parse_value("a@b.c", values[i].v,
						       values[i].len, "attr",
						       "dn", 0, &r), SMX_OK);
	assert_int_equal(r.n_certs, 0);
	assert_int_equal(r.n_rejected, N(values));
	for (size_t i = 0; i < r.n_rejected; i++) {
		assert_null(r.rejected[i].der);
		assert_string_equal(r.rejected[i].reason, "not a DER certificate "
				    "or PKCS#7 certs-only blob");
		assert_string_equal(r.rejected[i].attribute, "attr");
	}
	/* over the size limit: not even parsed */
	unsigned char *big = calloc(1, DIRECTORY_MAX_VALUE_BYTES + 1);
	assert_non_null(big);
	assert_int_equal(directory_parse_value("a@b.c", big,
					       DIRECTORY_MAX_VALUE_BYTES + 1,
					       "attr", "dn", 0, &r), SMX_OK);
	free(big);
	assert_non_null(strstr(r.rejected[r.n_rejected - 1].reason,
			       "over the limit"));
	struct directory_result *rp = calloc(1, sizeof(*rp));
	assert_non_null(rp);
	*rp = r;
	directory_result_free(&rp);
	assert_null(rp);
}

static void open_needs_a_uri_and_lookup_an_address(void **state)
{
	(void)state;
	struct cfg_ldap c = { 0 };
	struct directory *dir = NULL;
	struct smx_error error = { "" };
	assert_int_equal(directory_open(&c, 0, &dir, &error), SMX_CONFIG);
	assert_null(dir);
	assert_true(smx_error_is_set(&error));
	/* the callers say "ldap: " before it */
	assert_string_equal(smx_error_text(&error, ""), "no uri, base, filter, "
			    "attributes or timeout configured");

	char *uris[] = { (char *)(uintptr_t)"ldap://127.0.0.1:1" };
	char *attrs[] = { (char *)(uintptr_t)"userCertificate;binary" };
	c.uri = uris;
	c.n_uri = 1;
	c.base = (char *)(uintptr_t)"dc=example,dc=com";
	c.filter = (char *)(uintptr_t)"(mail=%s)";
	c.attributes = attrs;
	c.n_attributes = 1;
	c.timeout = 1;
	assert_int_equal(directory_open(&c, 2, &dir, &error), SMX_OK);
	assert_false(smx_error_is_set(&error));
	struct directory_result *r = NULL;
	assert_int_equal(directory_lookup(dir, "no-at-sign", &r), SMX_PERMFAIL);
	assert_true(smx_error_is_set(&r->error));
	directory_result_free(&r);
	/* nothing listens on port 1: unknown, never "no certificate" */
	assert_int_equal(directory_lookup(dir, "a@example.com", &r),
			 SMX_TEMPFAIL);
	assert_int_equal(r->n_certs, 0);
	assert_true(smx_error_is_set(&r->error));
	directory_result_free(&r);
	directory_free(&dir);
	assert_null(dir);
	directory_free(&dir);	/* NULL-safe */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(filter_escapes_every_special_character),
		cmocka_unit_test(filter_refuses_what_does_not_fit),
		cmocka_unit_test(hostile_values_are_rejected),
		cmocka_unit_test(open_needs_a_uri_and_lookup_an_address),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
