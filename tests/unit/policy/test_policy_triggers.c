/* SPDX-License-Identifier: BSD-2-Clause */
/* The triggers on real header values: RFC 2047 encoded subjects (B and
 * Q, UTF-8 and ISO-8859-1, split and folded, malformed), the Subject
 * written back without the tag, and internal mail that a required
 * recipient or a trigger makes the policy's business. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include <smx/cfg.h>
#include <smx/policy-engine.h>

static const char test_policy[] =
	"milter: { internal_domains = [ \"example.com\" ]; };\n"
	"policy: {\n"
	"  addresses: ( { address = \"lawyer@example.com\";\n"
	"                 encrypt = \"required\"; } );\n"
	"  triggers: { subject_tag = \"[secure]\"; header = \"X-Encrypt\"; };\n"
	"};\n";

static struct cfg *load(const char *name, const char *text)
{
	const char *dir = getenv("SMX_TEST_DIR");
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir != NULL ? dir : ".", name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	struct cfg_errors errors = { 0 };
	struct cfg *cfg = cfg_load(path, &errors);
	for (size_t i = 0; i < errors.count; i++)
		print_error("%s\n", errors.lines[i]);
	cfg_errors_free(&errors);
	assert_non_null(cfg);
	return cfg;
}

static int setup(void **state)
{
	g_mime_init();
	*state = load("triggers.conf", test_policy);
	return 0;
}

static int teardown(void **state)
{
	struct cfg *cfg = *state;
	cfg_unref(&cfg);
	return 0;
}

static const struct policy *P(void **state)
{
	return ((struct cfg *)*state)->policy;
}

/* An outbound message to one recipient without certificate: the tag
 * turns it into a refusal, its absence lets it go. */
static bool tag_triggers(const struct policy *p, const char *subject)
{
	struct policy_rcpt_input r[] = { { "x@one.example", POLICY_MISSING } };
	struct policy_message_input in = {
		.direction = POLICY_OUTBOUND, .sender = "alice@example.com",
		.from = "alice@example.com", .auth_login = "alice@example.com",
		.subject = subject, .rcpts = r, .n_rcpts = 1,
		.signing_key = POLICY_AVAILABLE, .can_sign = true,
	};
	struct policy_decision d;
	assert_int_equal(policy_decide(p, &in, &d), 0);
	bool triggered = d.strip_subject_tag;
	assert_int_equal(d.action, triggered ? POLICY_ACTION_REJECT
					     : POLICY_ACTION_SEND);
	policy_decision_release(&d);
	return triggered;
}

/* What a reader sees of a header value: unfolded and decoded. */
static char *reader_text(const char *value)
{
	char *unfolded = g_mime_utils_header_unfold(value);
	char *text = g_mime_utils_header_decode_text(NULL, unfolded);
	g_free(unfolded);
	return text;
}

/* The stripped Subject: 7-bit, lines within limits, and decoding back
 * to want. */
static void assert_stripped(const struct policy *p, const char *subject,
			    const char *want)
{
	char *got = policy_strip_subject_tag(p, subject);
	assert_non_null(got);
	size_t line = strlen("Subject: ");
	for (const unsigned char *c = (const unsigned char *)got; *c; c++) {
		assert_true(*c < 0x80);
		line = *c == '\n' ? 0 : line + 1;
		assert_true(line <= 998);
		if (*c == '\n')
			assert_true(c[1] == ' ' || c[1] == '\t');
	}
	char *text = reader_text(got);
	assert_string_equal(text, want);
	g_free(text);
	free(got);
}

static void encoded_subjects_trigger(void **state)
{
	static const char *const tagged[] = {
		/* "[secure] Bankverbindung ändern", B, UTF-8 */
		"=?UTF-8?B?W3NlY3VyZV0gQmFua3ZlcmJpbmR1bmcgw6RuZGVybg==?=",
		/* Q with underscores, ISO-8859-1 */
		"=?ISO-8859-1?Q?[secure]_Kontost=E4nde?=",
		/* the tag split across two encoded words */
		"=?UTF-8?Q?=5Bsec?= =?UTF-8?Q?ure=5D_Gr=C3=BC=C3=9Fe?=",
		/* ... and across a folded line */
		"=?UTF-8?Q?Re:_[sec?=\r\n =?UTF-8?Q?ure]_Gr=C3=BC=C3=9Fe?=",
		/* plain text folded */
		"Re: a long subject\r\n\t[secure] after the fold",
		/* case does not matter */
		"=?utf-8?q?[SeCuRe]_B=C3=A4nk?=",
		/* a malformed word: what decodes still counts */
		"=?UTF-8?B?!!!not-base64?= [secure] rest",
		"=?UTF-8?X?abc?= =?[secure]",
		"=?no-such-charset?Q?[secure]_x?=",
	};
	for (size_t i = 0; i < sizeof(tagged) / sizeof(*tagged); i++) {
		if (!tag_triggers(P(state), tagged[i]))
			fail_msg("not triggered: %s", tagged[i]);
	}
	static const char *const untagged[] = {
		"=?UTF-8?B?QmFuayBkZXRhaWxzIMOk?=",	/* "Bank details ä" */
		"=?UTF-8?Q?[secu?= re]",
		"=?UTF-8?B?", "=?", "?=", "", "=?UTF-8?Q?=?=",
		"=?UTF-8?B?W3Nl?=\r\n",
	};
	for (size_t i = 0; i < sizeof(untagged) / sizeof(*untagged); i++)
		if (tag_triggers(P(state), untagged[i]))
			fail_msg("triggered: %s", untagged[i]);
}

static void stripped_subject_is_encoded_again(void **state)
{
	const struct policy *p = P(state);
	assert_stripped(p, "=?UTF-8?B?W3NlY3VyZV0gQmFua3ZlcmJpbmR1bmcgw6RuZGVybg==?=",
			"Bankverbindung \xc3\xa4ndern");
	assert_stripped(p, "=?ISO-8859-1?Q?[secure]_Kontost=E4nde?=",
			"Kontost\xc3\xa4nde");
	assert_stripped(p, "=?UTF-8?Q?=5Bsec?= =?UTF-8?Q?ure=5D_Gr=C3=BC=C3=9Fe?=",
			"Gr\xc3\xbc\xc3\x9f" "e");
	assert_stripped(p, "=?UTF-8?Q?Re:_[sec?=\r\n =?UTF-8?Q?ure]_Gr=C3=BC=C3=9Fe?=",
			"Re: Gr\xc3\xbc\xc3\x9f" "e");
	assert_stripped(p, "[secure] Quarterly numbers", "Quarterly numbers");
	assert_stripped(p, "Re: [SECURE] plan", "Re: plan");
	assert_stripped(p, "numbers [secure]", "numbers");
	/* ASCII stays readable as it was */
	char *plain = policy_strip_subject_tag(p, "[secure] Quarterly numbers");
	assert_string_equal(plain, "Quarterly numbers");
	free(plain);
	/* a long non-ASCII subject is folded, not one endless line */
	char long_subject[2048] = "[secure] ";
	for (int i = 0; i < 60; i++)
		strcat(long_subject, i ? " \xc3\xa4rger" : "\xc3\xa4rger");
	char want[2048];
	snprintf(want, sizeof(want), "%s", long_subject + strlen("[secure] "));
	assert_stripped(p, long_subject, want);
	assert_null(policy_strip_subject_tag(p, "=?UTF-8?B?QmFuayBkZXRhaWxzIMOk?="));
}

static void encoded_trigger_header(void **state)
{
	static const struct { const char *value; bool triggers; } cases[] = {
		{ " =?UTF-8?Q?no?=", false },
		{ " =?UTF-8?B?RkFMU0U=?=", false },	/* "FALSE" */
		{ " no\r\n ", false },
		{ " =?UTF-8?B?eWVz?=", true },		/* "yes" */
		{ " =?UTF-8?Q?n?= =?UTF-8?Q?o_thanks?=", true },
		{ " =?UTF-8?B?!!?=", true },
	};
	struct policy_rcpt_input r[] = { { "x@one.example", POLICY_MISSING } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct policy_message_input in = {
			.direction = POLICY_OUTBOUND,
			.sender = "alice@example.com",
			.from = "alice@example.com",
			.auth_login = "alice@example.com",
			.trigger_header = cases[i].value, .rcpts = r,
			.n_rcpts = 1, .signing_key = POLICY_AVAILABLE,
			.can_sign = true,
		};
		struct policy_decision d;
		assert_int_equal(policy_decide(P(state), &in, &d), 0);
		if ((d.action == POLICY_ACTION_REJECT) != cases[i].triggers)
			fail_msg("header '%s': action %s", cases[i].value,
				 policy_action_name(d.action));
		policy_decision_release(&d);
	}
}

/* internal_mail = pass (the default here) and "sign": a required
 * recipient or a trigger still gets encryption or a refusal. */
static void internal_mail_cannot_bypass_required(void **state)
{
	struct cfg *sign_cfg = load("internal-sign.conf",
		"milter: { internal_domains = [ \"example.com\" ]; };\n"
		"policy: { internal_mail = \"sign\";\n"
		"  addresses: ( { address = \"lawyer@example.com\";\n"
		"                 encrypt = \"required\"; } );\n"
		"  triggers: { subject_tag = \"[secure]\"; }; };\n");
	const struct policy *policies[] = { P(state), sign_cfg->policy };
	for (size_t k = 0; k < 2; k++) {
		const struct policy *p = policies[k];
		struct policy_rcpt_input r[] = {
			{ "lawyer@example.com", POLICY_MISSING } };
		struct policy_message_input in = {
			.direction = POLICY_INTERNAL,
			.sender = "alice@example.com",
			.from = "alice@example.com",
			.auth_login = "alice@example.com", .subject = "hello",
			.rcpts = r, .n_rcpts = 1,
			.signing_key = POLICY_AVAILABLE, .can_sign = true,
		};
		struct policy_decision d;
		assert_int_equal(policy_decide(p, &in, &d), 0);
		assert_true(d.process);
		assert_int_equal(d.action, POLICY_ACTION_REJECT);
		assert_false(d.encrypt);
		policy_decision_release(&d);

		r[0].cert = POLICY_AVAILABLE;
		assert_int_equal(policy_decide(p, &in, &d), 0);
		assert_int_equal(d.action, POLICY_ACTION_SEND);
		assert_true(d.process && d.encrypt && d.rcpts[0].encrypt_to);
		policy_decision_release(&d);

		r[0] = (struct policy_rcpt_input){ "bob@example.com",
						   POLICY_MISSING };
		in.subject = "=?UTF-8?Q?[secure]_B=C3=A4nk?=";
		assert_int_equal(policy_decide(p, &in, &d), 0);
		assert_true(d.process && d.strip_subject_tag);
		assert_int_equal(d.action, POLICY_ACTION_REJECT);
		policy_decision_release(&d);

		r[0].cert = POLICY_AVAILABLE;
		assert_int_equal(policy_decide(p, &in, &d), 0);
		assert_true(d.encrypt);
		assert_int_equal(d.action, POLICY_ACTION_SEND);
		policy_decision_release(&d);

		/* nothing required, no trigger: internal_mail applies */
		r[0].cert = POLICY_MISSING;
		in.subject = "hello";
		assert_int_equal(policy_decide(p, &in, &d), 0);
		assert_int_equal(d.action, POLICY_ACTION_SEND);
		assert_false(d.encrypt);
		assert_int_equal(d.process, k == 1);	/* pass vs sign */
		/* the recipient is named even when nothing is processed */
		assert_non_null(d.rcpts[0].address);
		assert_string_equal(d.rcpts[0].address, "bob@example.com");
		policy_decision_release(&d);
	}
	cfg_unref(&sign_cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(encoded_subjects_trigger),
		cmocka_unit_test(stripped_subject_is_encoded_again),
		cmocka_unit_test(encoded_trigger_header),
		cmocka_unit_test(internal_mail_cannot_bypass_required),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
