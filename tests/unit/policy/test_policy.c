/* SPDX-License-Identifier: BSD-2-Clause */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <smx/cfg.h>
#include <smx/policy-engine.h>

/* The policy every test uses unless it loads its own. */
static const char base_policy[] =
	"milter: { internal_domains = [ \"example.com\" ]; };\n"
	"policy: {\n"
	"  default: { sign = \"always\"; encrypt = \"opportunistic\";\n"
	"             on_missing_certificate = \"reject\";\n"
	"             on_sign_failure = \"tempfail\"; };\n"
	"  domains: (\n"
	"    { domain = \"partner.example\"; encrypt = \"required\"; },\n"
	"    { domain = \".gov.example\"; encrypt = \"required\";\n"
	"      on_missing_certificate = \"tempfail\"; },\n"
	"    { domain = \"open.gov.example\"; encrypt = \"never\"; },\n"
	"    { domain = \"hold.example\"; encrypt = \"required\";\n"
	"      on_missing_certificate = \"hold\"; },\n"
	"    { domain = \"legacy.example\"; legacy_interop = true; },\n"
	"    { domain = \"plain.example\"; encrypt = \"never\"; }\n"
	"  );\n"
	"  addresses: (\n"
	"    { address = \"ceo@example.com\"; sign = \"never\"; },\n"
	"    { address = \"lawyer@example.com\"; encrypt = \"required\"; },\n"
	"    { address = \"shy@example.com\"; sign = \"on-request\"; },\n"
	"    { address = \"nokey@example.com\"; on_sign_failure = \"send\"; },\n"
	"    { address = \"Boss@Partner.Example\"; encrypt = \"opportunistic\"; }\n"
	"  );\n"
	"  triggers: { subject_tag = \"[secure]\"; header = \"X-Encrypt\"; };\n"
	"  signers: { allow_unauthenticated = [ \"noreply@example.com\" ];\n"
	"             logins = ( { login = \"alice\";\n"
	"                          addresses = [ \"alice@example.com\",\n"
	"                                        \"sales@example.com\" ]; } ); };\n"
	"  mixed_recipients = \"all-or-nothing\";\n"
	"};\n";

static const char *test_dir(void)
{
	const char *d = getenv("SMX_TEST_DIR");
	return d != NULL ? d : ".";
}

static struct cfg *load_text(const char *name, const char *text,
			     struct cfg_errors *errors)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", test_dir(), name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return cfg_load(path, errors);
}

static int load_base(void **state)
{
	struct cfg_errors errors = { 0 };
	struct cfg *cfg = load_text("base.conf", base_policy, &errors);
	for (size_t i = 0; i < errors.count; i++)
		print_error("%s\n", errors.lines[i]);
	cfg_errors_free(&errors);
	*state = cfg;
	return cfg != NULL ? 0 : -1;
}

static int unload(void **state)
{
	struct cfg *cfg = *state;
	cfg_unref(&cfg);
	return 0;
}

static const struct policy *P(void **state)
{
	return ((struct cfg *)*state)->policy;
}

static void layers_most_specific_wins(void **state)
{
	static const struct {
		const char *sender, *rcpt;
		enum policy_encrypt want;
		const char *layer;
	} cases[] = {
		{ "bob@example.com", "x@elsewhere.example",
		  POLICY_ENCRYPT_OPPORTUNISTIC, "default" },
		{ "bob@example.com", "x@partner.example",
		  POLICY_ENCRYPT_REQUIRED, "domain partner.example" },
		{ "bob@example.com", "boss@partner.example",
		  POLICY_ENCRYPT_OPPORTUNISTIC, "address boss@partner.example" },
		{ "bob@example.com", "x@tax.gov.example",
		  POLICY_ENCRYPT_REQUIRED, "domain .gov.example" },
		{ "bob@example.com", "x@open.gov.example",
		  POLICY_ENCRYPT_NEVER, "domain open.gov.example" },
		{ "bob@example.com", "x@gov.example",
		  POLICY_ENCRYPT_OPPORTUNISTIC, "default" },
		/* the sender's own layers raise, never lower */
		{ "lawyer@example.com", "x@elsewhere.example",
		  POLICY_ENCRYPT_REQUIRED, "address lawyer@example.com" },
		{ "lawyer@example.com", "x@plain.example",
		  POLICY_ENCRYPT_REQUIRED, "address lawyer@example.com" },
		{ "x@plain.example", "bob@partner.example",
		  POLICY_ENCRYPT_REQUIRED, "domain partner.example" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct policy_rcpt_level lv;
		policy_rcpt_level(P(state), cases[i].sender, cases[i].rcpt, &lv);
		if (lv.encrypt.value != (int)cases[i].want ||
		    strcmp(lv.encrypt.layer, cases[i].layer) != 0)
			fail_msg("%s -> %s: got %s (%s), want %s (%s)",
				 cases[i].sender, cases[i].rcpt,
				 policy_encrypt_name(lv.encrypt.value),
				 lv.encrypt.layer,
				 policy_encrypt_name(cases[i].want),
				 cases[i].layer);
	}
}

static void rcpt_time_verdicts(void **state)
{
	static const struct {
		const char *rcpt;
		enum policy_availability cert;
		enum policy_group first;
		enum policy_rcpt_verdict want;
	} cases[] = {
		{ "x@partner.example", POLICY_MISSING, POLICY_GROUP_NONE,
		  POLICY_RCPT_REJECT },
		{ "x@partner.example", POLICY_UNKNOWN, POLICY_GROUP_NONE,
		  POLICY_RCPT_TEMPFAIL },
		{ "x@partner.example", POLICY_AVAILABLE, POLICY_GROUP_NONE,
		  POLICY_RCPT_ACCEPT },
		{ "x@tax.gov.example", POLICY_MISSING, POLICY_GROUP_NONE,
		  POLICY_RCPT_TEMPFAIL },
		{ "x@hold.example", POLICY_MISSING, POLICY_GROUP_NONE,
		  POLICY_RCPT_ACCEPT },
		{ "x@hold.example", POLICY_UNKNOWN, POLICY_GROUP_NONE,
		  POLICY_RCPT_TEMPFAIL },
		{ "x@elsewhere.example", POLICY_MISSING, POLICY_GROUP_NONE,
		  POLICY_RCPT_ACCEPT },
		{ "x@elsewhere.example", POLICY_UNKNOWN, POLICY_GROUP_ENCRYPTED,
		  POLICY_RCPT_ACCEPT },	/* all-or-nothing: no split */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum policy_group g;
		char reason[256];
		enum policy_rcpt_verdict v = policy_rcpt_decide(
			P(state), "bob@example.com", cases[i].rcpt, cases[i].cert,
			cases[i].first, &g, reason, sizeof(reason));
		if (v != cases[i].want)
			fail_msg("%s cert=%d: got verdict %d (%s), want %d",
				 cases[i].rcpt, cases[i].cert, v, reason,
				 cases[i].want);
		if (v == POLICY_RCPT_REJECT || v == POLICY_RCPT_TEMPFAIL)
			assert_non_null(strstr(reason, cases[i].rcpt));
	}
}

static void split_mode_defers_the_other_group(void **state)
{
	(void)state;
	struct cfg_errors errors = { 0 };
	struct cfg *cfg = load_text("split.conf",
		"milter: { internal_domains = [ \"example.com\" ]; };\n"
		"policy: { mixed_recipients = \"split\"; };\n", &errors);
	assert_non_null(cfg);
	enum policy_group g1, g2;
	char reason[256];
	assert_int_equal(policy_rcpt_decide(cfg->policy, "a@example.com",
			 "x@one.example", POLICY_AVAILABLE, POLICY_GROUP_NONE,
			 &g1, reason, sizeof(reason)), POLICY_RCPT_ACCEPT);
	assert_int_equal(g1, POLICY_GROUP_ENCRYPTED);
	assert_int_equal(policy_rcpt_decide(cfg->policy, "a@example.com",
			 "y@two.example", POLICY_MISSING, g1, &g2, reason,
			 sizeof(reason)), POLICY_RCPT_SPLIT);
	assert_int_equal(g2, POLICY_GROUP_PLAIN);
	assert_non_null(strstr(reason, "y@two.example"));
	assert_int_equal(policy_rcpt_decide(cfg->policy, "a@example.com",
			 "z@three.example", POLICY_AVAILABLE, g1, &g2, reason,
			 sizeof(reason)), POLICY_RCPT_ACCEPT);
	assert_int_equal(policy_mixed_recipients(cfg->policy),
			 POLICY_MIXED_SPLIT);
	cfg_unref(&cfg);
}

/* Runs policy_decide for an outbound message. */
static void decide(const struct policy *p, const char *from, const char *login,
		   const char *subject, const char *header,
		   const struct policy_rcpt_input *rcpts, size_t n,
		   enum policy_availability key, struct policy_decision *d)
{
	struct policy_message_input in = {
		.direction = POLICY_OUTBOUND, .sender = from, .from = from,
		.auth_login = login, .subject = subject,
		.trigger_header = header, .rcpts = rcpts, .n_rcpts = n,
		.signing_key = key, .can_sign = true,
	};
	assert_int_equal(policy_decide(p, &in, d), 0);
}

static void opportunistic_encrypts_only_when_all_have_certificates(void **state)
{
	struct policy_decision d;
	struct policy_rcpt_input both[] = {
		{ "x@one.example", POLICY_AVAILABLE },
		{ "y@two.example", POLICY_AVAILABLE } };
	decide(P(state), "alice@example.com", "alice@example.com", "hi", NULL,
	       both, 2, POLICY_AVAILABLE, &d);
	assert_int_equal(d.action, POLICY_ACTION_SEND);
	assert_true(d.process && d.sign && d.encrypt);
	assert_true(d.rcpts[0].encrypt_to && d.rcpts[1].encrypt_to);
	policy_decision_release(&d);

	struct policy_rcpt_input one[] = {
		{ "x@one.example", POLICY_AVAILABLE },
		{ "y@two.example", POLICY_MISSING } };
	decide(P(state), "alice@example.com", "alice@example.com", "hi", NULL,
	       one, 2, POLICY_AVAILABLE, &d);
	assert_int_equal(d.action, POLICY_ACTION_SEND);
	assert_true(d.sign);
	assert_false(d.encrypt);
	policy_decision_release(&d);

	struct policy_rcpt_input never[] = {
		{ "x@one.example", POLICY_AVAILABLE },
		{ "y@plain.example", POLICY_AVAILABLE } };
	decide(P(state), "alice@example.com", "alice@example.com", "hi", NULL,
	       never, 2, POLICY_AVAILABLE, &d);
	assert_false(d.encrypt);
	assert_int_equal(d.action, POLICY_ACTION_SEND);
	policy_decision_release(&d);
}

static void required_never_goes_in_clear(void **state)
{
	struct policy_decision d;
	struct policy_rcpt_input mixed[] = {
		{ "x@partner.example", POLICY_AVAILABLE },
		{ "y@two.example", POLICY_MISSING } };
	decide(P(state), "alice@example.com", "alice@example.com", "hi", NULL,
	       mixed, 2, POLICY_AVAILABLE, &d);
	assert_int_equal(d.action, POLICY_ACTION_REJECT);
	assert_false(d.encrypt);
	assert_non_null(strstr(d.reason, "y@two.example"));
	policy_decision_release(&d);

	struct policy_rcpt_input unknown[] = {
		{ "x@partner.example", POLICY_UNKNOWN } };
	decide(P(state), "alice@example.com", "alice@example.com", "hi", NULL,
	       unknown, 1, POLICY_AVAILABLE, &d);
	assert_int_equal(d.action, POLICY_ACTION_TEMPFAIL);
	policy_decision_release(&d);

	struct policy_rcpt_input held[] = {
		{ "x@hold.example", POLICY_MISSING } };
	decide(P(state), "alice@example.com", "alice@example.com", "hi", NULL,
	       held, 1, POLICY_AVAILABLE, &d);
	assert_int_equal(d.action, POLICY_ACTION_HOLD);
	policy_decision_release(&d);
}

static void triggers_raise_and_are_stripped(void **state)
{
	struct policy_decision d;
	struct policy_rcpt_input r[] = { { "x@one.example", POLICY_MISSING } };
	decide(P(state), "alice@example.com", "alice@example.com",
	       "[SECURE] Quarterly numbers", NULL, r, 1, POLICY_AVAILABLE, &d);
	assert_int_equal(d.action, POLICY_ACTION_REJECT);
	assert_true(d.strip_subject_tag);
	assert_string_equal(d.rcpts[0].level.encrypt.layer, "trigger subject tag");
	policy_decision_release(&d);

	r[0].cert = POLICY_AVAILABLE;
	decide(P(state), "alice@example.com", "alice@example.com", "hi", " yes",
	       r, 1, POLICY_AVAILABLE, &d);
	assert_true(d.encrypt);
	assert_true(d.strip_trigger_header);
	assert_int_equal(d.rcpts[0].level.encrypt.value, POLICY_ENCRYPT_REQUIRED);
	policy_decision_release(&d);

	r[0].cert = POLICY_MISSING;
	decide(P(state), "alice@example.com", "alice@example.com", "hi", " No ",
	       r, 1, POLICY_AVAILABLE, &d);
	assert_int_equal(d.action, POLICY_ACTION_SEND);	/* "no" is no */
	assert_true(d.strip_trigger_header);
	policy_decision_release(&d);

	static const struct { const char *in, *want; } subjects[] = {
		{ "[secure] Quarterly numbers", "Quarterly numbers" },
		{ "Re: [SECURE] plan", "Re: plan" },
		{ "numbers [secure]", "numbers" },
		{ "[secure]", "" },
	};
	for (size_t i = 0; i < 4; i++) {
		char *got = policy_strip_subject_tag(P(state), subjects[i].in);
		assert_non_null(got);
		assert_string_equal(got, subjects[i].want);
		free(got);
	}
	assert_null(policy_strip_subject_tag(P(state), "no tag here"));
}

static void signing_identity_and_failures(void **state)
{
	static const struct {
		const char *from, *login, *subject;
		enum policy_availability key;
		bool sign;
		enum policy_action action;
	} cases[] = {
		{ "alice@example.com", "alice@example.com", "x", POLICY_AVAILABLE,
		  true, POLICY_ACTION_SEND },
		{ "sales@example.com", "alice", "x", POLICY_AVAILABLE, true,
		  POLICY_ACTION_SEND },			/* mapped login */
		{ "bob@example.com", "alice", "x", POLICY_AVAILABLE, false,
		  POLICY_ACTION_SEND },			/* not an oracle */
		{ "bob@example.com", NULL, "x", POLICY_AVAILABLE, false,
		  POLICY_ACTION_SEND },			/* no login */
		{ "noreply@example.com", NULL, "x", POLICY_AVAILABLE, true,
		  POLICY_ACTION_SEND },			/* allow-listed */
		{ "ceo@example.com", "ceo@example.com", "x", POLICY_AVAILABLE,
		  false, POLICY_ACTION_SEND },		/* sign never */
		{ "shy@example.com", "shy@example.com", "x", POLICY_AVAILABLE,
		  false, POLICY_ACTION_SEND },		/* on-request */
		{ "shy@example.com", "shy@example.com", "[secure] x",
		  POLICY_AVAILABLE, true, POLICY_ACTION_SEND },
		{ "alice@example.com", "alice@example.com", "x", POLICY_MISSING,
		  false, POLICY_ACTION_TEMPFAIL },	/* on_sign_failure */
		{ "alice@example.com", "alice@example.com", "x", POLICY_UNKNOWN,
		  false, POLICY_ACTION_TEMPFAIL },
		{ "nokey@example.com", "nokey@example.com", "x", POLICY_MISSING,
		  false, POLICY_ACTION_SEND },		/* send unsigned */
	};
	struct policy_rcpt_input r[] = { { "x@one.example", POLICY_AVAILABLE } };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct policy_decision d;
		decide(P(state), cases[i].from, cases[i].login, cases[i].subject,
		       NULL, r, 1, cases[i].key, &d);
		/* enrolment is offered exactly when signing was wanted,
		 * allowed, and only the key was missing */
		bool want_key = cases[i].key != POLICY_AVAILABLE &&
				strcmp(cases[i].from, "ceo@example.com") != 0 &&
				strcmp(cases[i].from, "shy@example.com") != 0;
		if (d.needs_key != want_key)
			fail_msg("case %zu (%s): needs_key=%d, want %d", i,
				 cases[i].from, d.needs_key, want_key);
		if (d.sign != cases[i].sign || d.action != cases[i].action)
			fail_msg("case %zu (%s as %s): sign=%d action=%s (%s)", i,
				 cases[i].login ? cases[i].login : "-",
				 cases[i].from, d.sign,
				 policy_action_name(d.action), d.reason);
		policy_decision_release(&d);
	}
}

static void no_signing_capability_never_claims_a_signature(void **state)
{
	struct policy_rcpt_input r[] = { { "x@one.example", POLICY_MISSING } };
	struct policy_message_input in = {
		.direction = POLICY_OUTBOUND, .sender = "alice@example.com",
		.from = "alice@example.com", .auth_login = "alice@example.com",
		.rcpts = r, .n_rcpts = 1, .signing_key = POLICY_MISSING,
		.can_sign = false,
	};
	struct policy_decision d;
	assert_int_equal(policy_decide(P(state), &in, &d), 0);
	assert_false(d.sign);
	assert_int_equal(d.action, POLICY_ACTION_SEND);
	assert_non_null(strstr(d.reason, "signing is not available"));
	policy_decision_release(&d);
}

static void client_protected_messages_are_left_alone(void **state)
{
	struct policy_rcpt_input r[] = { { "x@partner.example", POLICY_MISSING } };
	struct policy_message_input in = {
		.direction = POLICY_OUTBOUND, .sender = "alice@example.com",
		.from = "alice@example.com", .auth_login = "alice@example.com",
		.rcpts = r, .n_rcpts = 1, .signing_key = POLICY_AVAILABLE,
		.can_sign = true, .client_encrypted = true,
	};
	struct policy_decision d;
	assert_int_equal(policy_decide(P(state), &in, &d), 0);
	assert_false(d.process || d.sign || d.encrypt);
	assert_int_equal(d.action, POLICY_ACTION_SEND);
	policy_decision_release(&d);

	in.client_encrypted = false;
	in.client_signed = true;	/* signed but not encrypted: required */
	assert_int_equal(policy_decide(P(state), &in, &d), 0);
	assert_false(d.sign);
	assert_int_equal(d.action, POLICY_ACTION_REJECT);
	assert_non_null(strstr(d.reason, "already signed by the client"));
	policy_decision_release(&d);
}

static void directions_and_internal_mail(void **state)
{
	struct policy_rcpt_input r[] = { { "carol@example.com", POLICY_MISSING } };
	struct policy_message_input in = {
		.direction = POLICY_INBOUND, .sender = "x@partner.example",
		.from = "x@partner.example", .rcpts = r, .n_rcpts = 1,
		.signing_key = POLICY_MISSING, .can_sign = true,
	};
	struct policy_decision d;
	assert_int_equal(policy_decide(P(state), &in, &d), 0);
	assert_false(d.process);
	assert_int_equal(d.action, POLICY_ACTION_SEND);
	policy_decision_release(&d);

	in.direction = POLICY_INTERNAL;	/* internal_mail = pass (default) */
	in.sender = in.from = in.auth_login = "alice@example.com";
	assert_int_equal(policy_decide(P(state), &in, &d), 0);
	assert_false(d.process);
	policy_decision_release(&d);

	struct cfg_errors errors = { 0 };
	struct cfg *cfg = load_text("internal.conf",
		"milter: { internal_domains = [ \"example.com\" ]; };\n"
		"policy: { internal_mail = \"sign\"; };\n", &errors);
	assert_non_null(cfg);
	in.signing_key = POLICY_AVAILABLE;
	assert_int_equal(policy_decide(cfg->policy, &in, &d), 0);
	assert_true(d.process && d.sign);
	assert_false(d.encrypt);
	policy_decision_release(&d);
	cfg_unref(&cfg);
}

static void legacy_interop_follows_recipient_domain(void **state)
{
	struct policy_decision d;
	struct policy_rcpt_input r[] = {
		{ "x@legacy.example", POLICY_AVAILABLE },
		{ "y@one.example", POLICY_AVAILABLE } };
	decide(P(state), "alice@example.com", "alice@example.com", "x", NULL, r,
	       2, POLICY_AVAILABLE, &d);
	assert_true(d.encrypt && d.legacy_interop);
	policy_decision_release(&d);
	decide(P(state), "alice@example.com", "alice@example.com", "x", NULL,
	       r + 1, 1, POLICY_AVAILABLE, &d);
	assert_true(d.encrypt);
	assert_false(d.legacy_interop);
	policy_decision_release(&d);
}

/* Header protection: off by default; a recipient's layer turns it on
 * for the whole message (the stricter wins, one header for all); the
 * sender's own layer raises it; not for mail the client signed; nothing
 * signed or encrypted, nothing to protect. */
static void header_protection_stricter_wins(void **state)
{
	(void)state;
	struct cfg_errors errors = { 0 };
	struct cfg *cfg = load_text("hp.conf",
		"milter: { internal_domains = [ \"example.com\" ]; };\n"
		"policy: { domains: (\n"
		"  { domain = \"hp.example\"; header_protection = \"baseline\"; },\n"
		"  { domain = \"off.example\"; header_protection = \"off\"; },\n"
		"  { domain = \"plain.example\"; encrypt = \"never\"; sign = \"never\"; } );\n"
		"  addresses: ( { address = \"hider@example.com\";\n"
		"                 header_protection = \"baseline\"; } ); };\n",
		&errors);
	assert_non_null(cfg);
	struct policy_decision d;
	struct policy_rcpt_input r[] = {
		{ "x@off.example", POLICY_AVAILABLE },
		{ "y@hp.example", POLICY_AVAILABLE } };
	decide(cfg->policy, "alice@example.com", "alice@example.com", "s",
	       NULL, r, 1, POLICY_AVAILABLE, &d);
	assert_int_equal(d.header_protection, POLICY_HP_OFF);
	assert_string_equal(d.hp_source.layer, "domain off.example");
	policy_decision_release(&d);
	decide(cfg->policy, "alice@example.com", "alice@example.com", "s",
	       NULL, r, 2, POLICY_AVAILABLE, &d);
	assert_true(d.encrypt);
	assert_int_equal(d.header_protection, POLICY_HP_BASELINE);
	assert_string_equal(d.hp_source.layer, "domain hp.example");
	assert_non_null(strstr(d.reason, "header protection baseline "
			       "(domain hp.example)"));
	policy_decision_release(&d);
	decide(cfg->policy, "hider@example.com", NULL, "s", NULL, r, 1,
	       POLICY_AVAILABLE, &d);
	assert_int_equal(d.header_protection, POLICY_HP_BASELINE);
	assert_string_equal(d.hp_source.layer, "address hider@example.com");
	policy_decision_release(&d);
	struct policy_message_input in = {
		.direction = POLICY_OUTBOUND, .sender = "alice@example.com",
		.from = "alice@example.com", .auth_login = "alice@example.com",
		.rcpts = r + 1, .n_rcpts = 1, .signing_key = POLICY_AVAILABLE,
		.can_sign = true, .client_signed = true,
	};
	assert_int_equal(policy_decide(cfg->policy, &in, &d), 0);
	assert_true(d.encrypt && !d.sign);
	assert_int_equal(d.header_protection, POLICY_HP_OFF);
	assert_non_null(strstr(d.reason, "no header protection: signed by "
			       "the client"));
	policy_decision_release(&d);
	struct policy_rcpt_input plain[] = { { "z@plain.example",
					       POLICY_AVAILABLE } };
	decide(cfg->policy, "hider@example.com", NULL, "s", NULL, plain, 1,
	       POLICY_AVAILABLE, &d);
	assert_false(d.sign || d.encrypt);
	assert_int_equal(d.header_protection, POLICY_HP_OFF);
	policy_decision_release(&d);
	cfg_unref(&cfg);
}

/* Every combination of three recipients' levels, certificate states,
 * triggers and key states: the message never goes out in clear while
 * any recipient's level is required, and encryption always covers every
 * recipient. */
static void fail_closed_for_every_combination(void **state)
{
	static const char *const rcpt_by_level[] = {
		"a@plain.example", "b@one.example", "c@partner.example",
		"d@tax.gov.example", "e@hold.example",
	};
	static const enum policy_availability certs[] = {
		POLICY_AVAILABLE, POLICY_MISSING, POLICY_UNKNOWN };
	static const char *const subjects[] = { "plain", "[secure] x" };
	size_t checked = 0;
	for (unsigned mask = 0; mask < 5 * 5 * 5 * 27 * 2 * 3; mask++) {
		unsigned m = mask;
		struct policy_rcpt_input r[3];
		for (int i = 0; i < 3; i++) {
			r[i].address = rcpt_by_level[m % 5];
			m /= 5;
		}
		for (int i = 0; i < 3; i++) {
			r[i].cert = certs[m % 3];
			m /= 3;
		}
		const char *subject = subjects[m % 2];
		m /= 2;
		enum policy_availability key = certs[m % 3];
		struct policy_decision d;
		decide(P(state), "alice@example.com", "alice@example.com",
		       subject, NULL, r, 3, key, &d);
		bool required = false, all_certs = true;
		for (int i = 0; i < 3; i++) {
			required |= d.rcpts[i].level.encrypt.value ==
				    POLICY_ENCRYPT_REQUIRED;
			all_certs &= r[i].cert == POLICY_AVAILABLE;
		}
		if (d.action == POLICY_ACTION_SEND && required && !d.encrypt)
			fail_msg("plaintext with required encryption: %s",
				 d.reason);
		if (d.encrypt && !all_certs)
			fail_msg("encrypted without every certificate: %s",
				 d.reason);
		for (int i = 0; d.encrypt && i < 3; i++)
			assert_true(d.rcpts[i].encrypt_to);
		policy_decision_release(&d);
		checked++;
	}
	assert_true(checked > 10000);
}

static void policy_errors_have_lines(void **state)
{
	(void)state;
	struct cfg_errors errors = { 0 };
	const char *text =
		"milter: { internal_domains = [ \"example.com\" ]; };\n"	/* 1 */
		"policy: {\n"							/* 2 */
		"  default: { sign = \"sometimes\"; };\n"			/* 3 */
		"  domains: ( { encrypt = \"required\"; } );\n"		/* 4 */
		"  addresses: ( { address = \"nobody\"; } );\n"		/* 5 */
		"  mixed_recipients = \"some\";\n"				/* 6 */
		"  colour = \"blue\";\n"					/* 7 */
		"  decrypt_inbound = \"yes\";\n"				/* 8 */
		"  triggers: { subject = \"[s]\"; };\n"			/* 9 */
		"};\n";
	assert_null(load_text("badpolicy.conf", text, &errors));
	static const char *const want[] = {
		":3: policy: sign: expected one of always, never, on-request",
		":4: policy: domains: every entry needs 'domain'",
		":5: policy: addresses: 'address' is not valid",
		(":6: policy: mixed_recipients: expected one of all-or-nothing, "
		 "split"),
		":7: policy: unknown setting 'colour'",
		":8: policy: decrypt_inbound: expected true or false",
		":9: policy: triggers: unknown setting 'subject'",
	};
	size_t n = sizeof(want) / sizeof(want[0]);
	for (size_t i = 0; i < errors.count; i++)
		print_message("  %s\n", errors.lines[i]);
	assert_int_equal(errors.count, n);
	for (size_t i = 0; i < n; i++)
		if (strstr(errors.lines[i], want[i]) == NULL)
			fail_msg("error %zu: got %s, want ...%s", i,
				 errors.lines[i], want[i]);
	cfg_errors_free(&errors);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(layers_most_specific_wins),
		cmocka_unit_test(rcpt_time_verdicts),
		cmocka_unit_test(split_mode_defers_the_other_group),
		cmocka_unit_test(opportunistic_encrypts_only_when_all_have_certificates),
		cmocka_unit_test(required_never_goes_in_clear),
		cmocka_unit_test(triggers_raise_and_are_stripped),
		cmocka_unit_test(signing_identity_and_failures),
		cmocka_unit_test(no_signing_capability_never_claims_a_signature),
		cmocka_unit_test(client_protected_messages_are_left_alone),
		cmocka_unit_test(directions_and_internal_mail),
		cmocka_unit_test(legacy_interop_follows_recipient_domain),
		cmocka_unit_test(header_protection_stricter_wins),
		cmocka_unit_test(fail_closed_for_every_combination),
		cmocka_unit_test(policy_errors_have_lines),
	};
	return cmocka_run_group_tests(tests, load_base, unload);
}
