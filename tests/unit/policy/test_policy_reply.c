/* SPDX-License-Identifier: BSD-2-Clause */
/* The replies of decisions and of failures to carry them out: every
 * combination of sign, encrypt, on_sign_failure and kind of failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <smx/policy-engine.h>

static struct policy_decision decision(bool sign, bool encrypt,
				       enum policy_action on_sign_failure)
{
	struct policy_decision d;
	memset(&d, 0, sizeof(d));
	d.action = POLICY_ACTION_SEND;
	d.process = true;
	d.sign = sign;
	d.encrypt = encrypt;
	d.on_sign_failure.value = (int)on_sign_failure;
	d.on_sign_failure.layer = "default";
	return d;
}

static void failures_follow_the_configuration(void **state)
{
	(void)state;
	static const struct {
		bool sign, encrypt;
		enum policy_action on_sign;
		enum policy_failure failure;
		bool retry_unsigned;
		enum policy_action after;
	} cases[] = {
		/* signing only */
		{ true, false, POLICY_ACTION_SEND, POLICY_FAILURE_PERMANENT,
		  false, POLICY_ACTION_SEND },
		{ true, false, POLICY_ACTION_SEND, POLICY_FAILURE_TEMPORARY,
		  false, POLICY_ACTION_TEMPFAIL },
		{ true, false, POLICY_ACTION_REJECT, POLICY_FAILURE_PERMANENT,
		  false, POLICY_ACTION_REJECT },
		{ true, false, POLICY_ACTION_REJECT, POLICY_FAILURE_TEMPORARY,
		  false, POLICY_ACTION_TEMPFAIL },
		{ true, false, POLICY_ACTION_TEMPFAIL, POLICY_FAILURE_PERMANENT,
		  false, POLICY_ACTION_TEMPFAIL },
		{ true, false, POLICY_ACTION_HOLD, POLICY_FAILURE_PERMANENT,
		  false, POLICY_ACTION_TEMPFAIL },
		/* signing and encryption: never in clear */
		{ true, true, POLICY_ACTION_SEND, POLICY_FAILURE_PERMANENT,
		  true, POLICY_ACTION_TEMPFAIL },
		{ true, true, POLICY_ACTION_SEND, POLICY_FAILURE_TEMPORARY,
		  false, POLICY_ACTION_TEMPFAIL },
		{ true, true, POLICY_ACTION_REJECT, POLICY_FAILURE_PERMANENT,
		  false, POLICY_ACTION_TEMPFAIL },
		{ true, true, POLICY_ACTION_TEMPFAIL, POLICY_FAILURE_PERMANENT,
		  false, POLICY_ACTION_TEMPFAIL },
		/* encryption only */
		{ false, true, POLICY_ACTION_SEND, POLICY_FAILURE_PERMANENT,
		  false, POLICY_ACTION_TEMPFAIL },
		{ false, true, POLICY_ACTION_REJECT, POLICY_FAILURE_PERMANENT,
		  false, POLICY_ACTION_TEMPFAIL },
		{ false, true, POLICY_ACTION_SEND, POLICY_FAILURE_TEMPORARY,
		  false, POLICY_ACTION_TEMPFAIL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct policy_decision d = decision(cases[i].sign,
						    cases[i].encrypt,
						    cases[i].on_sign);
		assert_int_equal(policy_retry_unsigned(&d, cases[i].failure),
				 cases[i].retry_unsigned);
		policy_protection_failed(&d, cases[i].failure);
		if (d.action != cases[i].after)
			fail_msg("case %zu: action %s, want %s", i,
				 policy_action_name(d.action),
				 policy_action_name(cases[i].after));
		assert_false(d.sign);
		assert_false(d.encrypt);
	}
}

static void check(struct policy_reply r, const char *code, const char *xcode,
		  const char *action)
{
	if (code == NULL) {
		assert_null(r.code);
		assert_null(r.xcode);
	} else {
		assert_string_equal(r.code, code);
		assert_string_equal(r.xcode, xcode);
	}
	if (action == NULL)
		assert_null(r.action);
	else
		assert_string_equal(r.action, action);
}

static void message_replies(void **state)
{
	(void)state;
	struct policy_decision d = decision(true, true, POLICY_ACTION_SEND);
	check(policy_message_reply(&d), NULL, NULL, "sign+encrypt");
	d.sign = false;
	check(policy_message_reply(&d), NULL, NULL, "encrypt");
	d.sign = true;
	d.encrypt = false;
	check(policy_message_reply(&d), NULL, NULL, "sign");
	d.sign = false;
	check(policy_message_reply(&d), NULL, NULL, "pass");
	d.action = POLICY_ACTION_REJECT;
	check(policy_message_reply(&d), "550", "5.7.1", "reject");
	d.action = POLICY_ACTION_TEMPFAIL;
	check(policy_message_reply(&d), "451", "4.7.1", "tempfail");
	d.action = POLICY_ACTION_HOLD;
	check(policy_message_reply(&d), NULL, NULL, "hold");
}

static void rcpt_replies(void **state)
{
	(void)state;
	check(policy_rcpt_reply(POLICY_RCPT_ACCEPT), NULL, NULL, NULL);
	check(policy_rcpt_reply(POLICY_RCPT_REJECT), "550", "5.7.1", "reject");
	check(policy_rcpt_reply(POLICY_RCPT_TEMPFAIL), "450", "4.7.1",
	      "tempfail");
	check(policy_rcpt_reply(POLICY_RCPT_SPLIT), "452", "4.5.3", "defer");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(failures_follow_the_configuration),
		cmocka_unit_test(message_replies),
		cmocka_unit_test(rcpt_replies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
