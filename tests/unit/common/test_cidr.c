/* SPDX-License-Identifier: BSD-2-Clause */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include <smx/cidr.h>

/* Builds a socket address from text, IPv4 or IPv6. */
static const struct sockaddr *sa_of(const char *text,
				    struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, text, &in->sin_addr) == 1)
		in->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1)
		in6->sin6_family = AF_INET6;
	else
		fail_msg("bad test address %s", text);
	return (const struct sockaddr *)ss;
}

static void parses_valid_networks(void **state)
{
	(void)state;
	static const struct { const char *text; int family; unsigned prefix; }
	cases[] = {
		{ "192.0.2.0/24", AF_INET, 24 },
		{ "10.0.0.0/8", AF_INET, 8 },
		{ "127.0.0.1", AF_INET, 32 },
		{ "0.0.0.0/0", AF_INET, 0 },
		{ "2001:db8::/32", AF_INET6, 32 },
		{ "::1", AF_INET6, 128 },
		{ "fe80::/10", AF_INET6, 10 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cidr c;
		if (!cidr_parse(cases[i].text, &c))
			fail_msg("cidr_parse(%s) refused", cases[i].text);
		assert_int_equal(c.family, cases[i].family);
		assert_int_equal(c.prefix, cases[i].prefix);
	}
}

static void refuses_invalid_networks(void **state)
{
	(void)state;
	static const char *bad[] = {
		"", "/8", "10.0.0.1/8", "192.0.2.0/33", "::1/129", "10.0.0.0/",
		"10.0.0.0/-1", "10.0.0.0/8x", "example.com", "2001:db8::1/32",
		"1.2.3.4.5", "10.0.0.0/ 8",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cidr c;
		if (cidr_parse(bad[i], &c))
			fail_msg("cidr_parse(%s) accepted", bad[i]);
	}
}

static void matches_ipv4_and_ipv6(void **state)
{
	(void)state;
	static const struct { const char *net, *addr; bool want; } cases[] = {
		{ "192.0.2.0/24", "192.0.2.77", true },
		{ "192.0.2.0/24", "192.0.3.1", false },
		{ "192.0.2.128/25", "192.0.2.127", false },
		{ "192.0.2.128/25", "192.0.2.255", true },
		{ "0.0.0.0/0", "203.0.113.9", true },
		{ "2001:db8::/32", "2001:db8:1234::5", true },
		{ "2001:db8::/32", "2001:db9::5", false },
		{ "fe80::/10", "febf::1", true },
		{ "fe80::/10", "fec0::1", false },
		{ "::1", "::1", true },
		/* v4-mapped addresses are IPv4 clients of a dual-stack MTA */
		{ "127.0.0.0/8", "::ffff:127.0.0.1", true },
		{ "127.0.0.0/8", "::ffff:128.0.0.1", false },
		/* families never mix otherwise */
		{ "::/0", "192.0.2.1", false },
		{ "0.0.0.0/0", "2001:db8::1", false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cidr c;
		struct sockaddr_storage ss;
		assert_true(cidr_parse(cases[i].net, &c));
		bool got = cidr_contains(&c, sa_of(cases[i].addr, &ss));
		if (got != cases[i].want)
			fail_msg("%s in %s: got %d, want %d", cases[i].addr,
				 cases[i].net, got, cases[i].want);
	}
}

static void list_and_null_client(void **state)
{
	(void)state;
	struct cidr nets[2];
	struct sockaddr_storage ss;
	assert_true(cidr_parse("10.0.0.0/8", &nets[0]));
	assert_true(cidr_parse("2001:db8::/32", &nets[1]));
	assert_true(cidr_list_contains(nets, 2, sa_of("2001:db8::9", &ss)));
	assert_false(cidr_list_contains(nets, 2, sa_of("11.0.0.1", &ss)));
	assert_false(cidr_list_contains(nets, 0, sa_of("10.0.0.1", &ss)));
	assert_false(cidr_contains(&nets[0], NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_valid_networks),
		cmocka_unit_test(refuses_invalid_networks),
		cmocka_unit_test(matches_ipv4_and_ipv6),
		cmocka_unit_test(list_and_null_client),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
