/* SPDX-License-Identifier: BSD-2-Clause */
/* Gathering the facts of a message without a store: the From identity,
 * client protection checked against the body, the triggers, and what is
 * looked up (nothing for inbound mail, "unknown" without a store). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <smx/cfg.h>
#include <smx/plan.h>
#include <smx/spool.h>

struct fields {
	const char *const *pairs;	/* name, value, ..., NULL */
};

static const char *header(const void *msg, const char *name, size_t *count_r)
{
	const struct fields *f = msg;
	const char *first = NULL;
	size_t n = 0;
	for (size_t i = 0; f->pairs[i] != NULL; i += 2)
		if (strcasecmp(f->pairs[i], name) == 0 && n++ == 0)
			first = f->pairs[i + 1];
	*count_r = n;
	return first;
}

static struct cfg *load(void)
{
	const char *dir = getenv("SMX_TEST_DIR");
	char path[1024];
	snprintf(path, sizeof(path), "%s/plan.conf", dir ? dir : ".");
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("milter: { internal_domains = [ \"example.com\" ]; };\n"
	      "policy: { triggers: { subject_tag = \"[secure]\";\n"
	      "                      header = \"X-Encrypt\"; }; };\n", f);
	fclose(f);
	struct cfg_errors errors = { 0 };
	struct cfg *cfg = cfg_load(path, &errors);
	cfg_errors_free(&errors);
	assert_non_null(cfg);
	return cfg;
}

static void gather(const struct cfg *cfg, enum policy_direction dir,
		   const char *const *pairs, struct spool *body,
		   struct plan *p)
{
	static char bob[] = "bob@partner.example";
	static char *rcpts[] = { bob };
	struct fields f = { pairs };
	struct plan_message m = {
		.direction = dir, .sender = "alice@example.com",
		.rcpts = rcpts, .n_rcpts = 1, .auth_login = "alice@example.com",
		.header = header, .msg = &f, .body = body,
	};
	assert_int_equal(plan_gather(cfg, NULL, &m, p), 0);
}

static void from_identity(void **state)
{
	(void)state;
	struct cfg *cfg = load();
	struct plan p;
	const char *one[] = { "From", "Carol <Carol@Example.com>", NULL };
	gather(cfg, POLICY_OUTBOUND, one, NULL, &p);
	assert_string_equal(p.from, "carol@example.com");
	assert_string_equal(p.in.from, "carol@example.com");
	assert_string_equal(p.in.sender, "alice@example.com");
	assert_int_equal(p.in.signing_key, POLICY_UNKNOWN);	/* no store */
	assert_int_equal(p.rcpts[0].cert, POLICY_UNKNOWN);
	plan_release(&p);
	const char *two[] = { "From", "a@example.com", "From", "b@example.com",
			      NULL };
	gather(cfg, POLICY_OUTBOUND, two, NULL, &p);
	assert_null(p.from);
	plan_release(&p);
	const char *group[] = { "From", "a@example.com, b@example.com", NULL };
	gather(cfg, POLICY_OUTBOUND, group, NULL, &p);
	assert_null(p.from);
	plan_release(&p);
	cfg_unref(&cfg);
}

static void inbound_looks_nothing_up(void **state)
{
	(void)state;
	struct cfg *cfg = load();
	struct plan p;
	const char *h[] = { "From", "x@remote.test", NULL };
	gather(cfg, POLICY_INBOUND, h, NULL, &p);
	assert_int_equal(p.in.signing_key, POLICY_MISSING);
	assert_int_equal(p.rcpts[0].cert, POLICY_MISSING);
	assert_null(p.signing);
	assert_null(p.rcpts[0].sel);
	plan_release(&p);
	cfg_unref(&cfg);
}

static void triggers_and_claims(void **state)
{
	(void)state;
	struct cfg *cfg = load();
	struct plan p;
	const char *h[] = {
		"From", "alice@example.com", "Subject", "[secure] offer",
		"X-Encrypt", "yes",
		"Content-Type", "application/pkcs7-mime; "
				"smime-type=enveloped-data",
		NULL };
	struct spool *body = spool_new(1024, NULL, 0);
	assert_non_null(body);
	assert_int_equal(spool_append(body, "not encrypted\r\n", 15), 0);
	gather(cfg, POLICY_OUTBOUND, h, body, &p);
	assert_string_equal(p.in.subject, "[secure] offer");
	assert_string_equal(p.in.trigger_header, "yes");
	/* The claim is not borne out by the body: not exempt. */
	assert_false(p.in.client_encrypted);
	assert_true(p.in.encryption_claim_false);
	plan_release(&p);
	/* Without a body a claim is not believed either. */
	gather(cfg, POLICY_OUTBOUND, h, NULL, &p);
	assert_false(p.in.client_encrypted);
	assert_true(p.in.encryption_claim_false);
	plan_release(&p);
	spool_free(&body);
	cfg_unref(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(from_identity),
		cmocka_unit_test(inbound_looks_nothing_up),
		cmocka_unit_test(triggers_and_claims),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
