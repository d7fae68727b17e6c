/* SPDX-License-Identifier: BSD-2-Clause */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <smx/policy.h>

struct direction_case {
	const char *name;
	const char *sender;
	const char *rcpts[3];
	const char *auth;
	const char *client;	/* NULL: locally injected */
	enum policy_direction want;
};

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

/* The oracle is the direction rule of smime-milter(8), written out case
 * by case. */
static const struct direction_case cases[] = {
	{ "sasl login, internal sender, external rcpt", "alice@example.com",
	  { "bob@partner.example" }, "alice", "203.0.113.5", POLICY_OUTBOUND },
	{ "trusted v4 network, no login", "alice@example.com",
	  { "bob@partner.example" }, NULL, "10.1.2.3", POLICY_OUTBOUND },
	{ "trusted v6 network, no login", "alice@example.com",
	  { "bob@partner.example" }, NULL, "2001:db8:5::1", POLICY_OUTBOUND },
	{ "v4-mapped client in trusted v4 network", "alice@example.com",
	  { "bob@partner.example" }, NULL, "::ffff:10.9.9.9", POLICY_OUTBOUND },
	{ "local submission (no client address)", "alice@example.com",
	  { "bob@partner.example" }, NULL, NULL, POLICY_OUTBOUND },
	{ "mixed-case internal sender domain", "Alice@EXAMPLE.Com",
	  { "bob@partner.example" }, "alice", "203.0.113.5", POLICY_OUTBOUND },
	{ "internal sender, untrusted v6 client", "alice@example.com",
	  { "carol@example.com" }, NULL, "2001:db9::1", POLICY_INBOUND },
	{ "internal sender, untrusted v4, external rcpt", "alice@example.com",
	  { "bob@partner.example" }, NULL, "198.51.100.1", POLICY_TRANSIT },
	{ "external sender to internal rcpt", "bob@partner.example",
	  { "alice@example.com" }, NULL, "198.51.100.1", POLICY_INBOUND },
	{ "external sender, mixed-case internal rcpt", "bob@partner.example",
	  { "Alice@Example.COM" }, NULL, "198.51.100.1", POLICY_INBOUND },
	{ "external sender from trusted network to internal rcpt",
	  "bob@partner.example", { "alice@example.com" }, NULL, "10.0.0.1",
	  POLICY_INBOUND },
	{ "external sender with login (not internal domain)",
	  "bob@partner.example", { "x@elsewhere.example" }, "bob",
	  "198.51.100.1", POLICY_TRANSIT },
	{ "null sender bounce to internal rcpt", "", { "alice@example.com" },
	  NULL, "198.51.100.1", POLICY_INBOUND },
	{ "all recipients internal, trusted", "alice@example.com",
	  { "carol@example.com", "dave@mx.sub.example.net" }, "alice",
	  "203.0.113.5", POLICY_INTERNAL },
	{ "some recipients internal, trusted", "alice@example.com",
	  { "carol@example.com", "bob@partner.example" }, "alice",
	  "203.0.113.5", POLICY_OUTBOUND },
	{ "subdomain entry matches subdomain sender", "x@mail.sub.example.net",
	  { "bob@partner.example" }, "x", "203.0.113.5", POLICY_OUTBOUND },
	{ "subdomain entry does not match its parent", "x@sub.example.net",
	  { "bob@partner.example" }, "x", "203.0.113.5", POLICY_TRANSIT },
	{ "empty login is no login", "alice@example.com",
	  { "bob@partner.example" }, "", "198.51.100.1", POLICY_TRANSIT },
	{ "lookalike domain is external", "alice@example.com.evil.example",
	  { "alice@example.com" }, "mallory", "198.51.100.1", POLICY_INBOUND },
};

static void classifies_by_spec_section_4(void **state)
{
	(void)state;
	char d1[] = "example.com", d2[] = ".sub.example.net";
	char *domains[] = { d1, d2 };
	struct cidr nets[2];
	assert_true(cidr_parse("10.0.0.0/8", &nets[0]));
	assert_true(cidr_parse("2001:db8::/32", &nets[1]));
	struct policy_site site = { domains, 2, nets, 2 };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct direction_case *c = &cases[i];
		char copies[3][64], *rcpts[3];
		size_t n = 0;
		while (n < 3 && c->rcpts[n] != NULL) {
			snprintf(copies[n], sizeof(copies[n]), "%s", c->rcpts[n]);
			rcpts[n] = copies[n];
			n++;
		}
		struct sockaddr_storage ss;
		struct policy_envelope env = {
			.sender = c->sender, .recipients = rcpts,
			.n_recipients = n, .auth_authen = c->auth,
			.client = c->client ? sa_of(c->client, &ss) : NULL,
		};
		char reason[128];
		enum policy_direction got =
			policy_classify(&env, &site, reason, sizeof(reason));
		if (got != c->want)
			fail_msg("%s: got %s (%s), want %s", c->name,
				 policy_direction_name(got), reason,
				 policy_direction_name(c->want));
		assert_true(strlen(reason) > 0);
	}
}

static void reason_is_truncated_safely(void **state)
{
	(void)state;
	char d1[] = "example.com", r1[] = "bob@partner.example";
	char *domains[] = { d1 };
	char *rcpts[] = { r1 };
	struct policy_site site = { domains, 1, NULL, 0 };
	struct policy_envelope env = { "alice@example.com", rcpts, 1, "alice",
				       NULL };
	char reason[8];
	memset(reason, 'X', sizeof(reason));
	assert_int_equal(policy_classify(&env, &site, reason, sizeof(reason)),
			 POLICY_OUTBOUND);
	assert_int_equal(strlen(reason), sizeof(reason) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(classifies_by_spec_section_4),
		cmocka_unit_test(reason_is_truncated_safely),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
