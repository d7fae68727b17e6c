/* SPDX-License-Identifier: BSD-2-Clause */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <smx/mailaddr.h>

static void normalizes_paths(void **state)
{
	(void)state;
	static const struct { const char *in, *want; } cases[] = {
		{ "<User@Example.COM>", "user@example.com" },
		{ "user@example.com", "user@example.com" },
		{ "<>", "" },
		{ "", "" },
		{ "<a@b.example> SIZE=100", "a@b.example" },
		{ "a@b.example BODY=8BITMIME", "a@b.example" },
		{ "<@relay.example:joe@Site.Example>", "joe@site.example" },
		{ "<\"odd>name\"@example.com>", "\"odd>name\"@example.com" },
		{ "  <x@y.z>", "x@y.z" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = mailaddr_normalize(cases[i].in);
		assert_non_null(got);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("normalize(%s): got '%s', want '%s'",
				 cases[i].in, got, cases[i].want);
		free(got);
	}
}

static void refuses_control_characters_and_overlong(void **state)
{
	(void)state;
	assert_null(mailaddr_normalize("<a\001b@example.com>"));
	char big[1200];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_null(mailaddr_normalize(big));
}

static void finds_domain(void **state)
{
	(void)state;
	assert_string_equal(mailaddr_domain("a@b.example"), "b.example");
	assert_string_equal(mailaddr_domain("\"x@y\"@z.example"), "z.example");
	assert_null(mailaddr_domain("postmaster"));
	assert_null(mailaddr_domain("trailing@"));
	assert_null(mailaddr_domain(""));
}

static void matches_domains_case_insensitively(void **state)
{
	(void)state;
	char d1[] = "example.com", d2[] = ".corp.example";
	char *list[] = { d1, d2 };
	assert_true(mailaddr_domain_in("EXAMPLE.com", list, 2));
	assert_true(mailaddr_domain_in("mx.Corp.Example", list, 2));
	assert_false(mailaddr_domain_in("corp.example", list, 2));
	assert_false(mailaddr_domain_in("sub.example.com", list, 2));
	assert_false(mailaddr_domain_in("notexample.com", list, 2));
	assert_false(mailaddr_domain_in(NULL, list, 2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(normalizes_paths),
		cmocka_unit_test(refuses_control_characters_and_overlong),
		cmocka_unit_test(finds_domain),
		cmocka_unit_test(matches_domains_case_insensitively),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
