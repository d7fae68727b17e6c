/* The selection rule (SPEC section 5) against each backend: one
 * candidate per rule it breaks, the reason reported for each. */
#include "contract.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct case_cert {
	const char *name;
	struct certgen_opts opts;
	enum store_trust trust;
	bool revoke;
	bool with_key;
	enum store_reject want_enc, want_sign;
};

#define OK_ STORE_USABLE
static const struct case_cert cases[] = {
	{ "good-ec", { .key_usage = "default", .eku = "emailProtection",
		       .from_days = -10, .to_days = 100 },
	  STORE_TRUST_CHAIN, false, true, OK_, OK_ },
	{ "good-rsa-no-exts", { .rsa = true, .from_days = -1, .to_days = 50 },
	  STORE_TRUST_PINNED, false, false, OK_, STORE_REJECT_NO_KEY },
	{ "expired", { .key_usage = "default", .eku = "emailProtection",
		       .from_days = -30, .to_days = -1 },
	  STORE_TRUST_CHAIN, false, true, STORE_REJECT_EXPIRED,
	  STORE_REJECT_EXPIRED },
	{ "future", { .key_usage = "default", .from_days = 5, .to_days = 50 },
	  STORE_TRUST_CHAIN, false, true, STORE_REJECT_NOT_YET_VALID,
	  STORE_REJECT_NOT_YET_VALID },
	{ "sign-only", { .key_usage = "critical,digitalSignature",
			 .from_days = -1, .to_days = 300 },
	  STORE_TRUST_CHAIN, false, true, STORE_REJECT_KEY_USAGE, OK_ },
	{ "encrypt-only-rsa", { .rsa = true, .key_usage = "keyEncipherment",
				.from_days = -1, .to_days = 20 },
	  STORE_TRUST_CHAIN, false, true, OK_, STORE_REJECT_KEY_USAGE },
	{ "server-eku", { .key_usage = "default", .eku = "serverAuth",
			  .from_days = -1, .to_days = 200 },
	  STORE_TRUST_CHAIN, false, true, STORE_REJECT_EKU, STORE_REJECT_EKU },
	{ "revoked", { .key_usage = "default", .from_days = -1, .to_days = 90 },
	  STORE_TRUST_CHAIN, true, true, STORE_REJECT_REVOKED,
	  STORE_REJECT_REVOKED },
	{ "untrusted", { .key_usage = "default", .from_days = -1,
			 .to_days = 80 },
	  STORE_TRUST_NONE, false, true, STORE_REJECT_UNTRUSTED,
	  STORE_REJECT_UNTRUSTED },
};
#define N_CASES (sizeof(cases) / sizeof(cases[0]))

static void load_cases(struct store *store, const char *email,
		       struct issued *out)
{
	for (size_t i = 0; i < N_CASES; i++) {
		contract_issue(email, &cases[i].opts, &out[i]);
		assert_int_equal(store_cert_put(store, out[i].der,
						out[i].der_len,
						STORE_SOURCE_HARVESTED,
						cases[i].trust, NULL, 0, NULL,
						NULL), SMX_OK);
		if (cases[i].revoke)
			assert_int_equal(store_cert_set_revoked(
				store, out[i].fp, true), SMX_OK);
		if (cases[i].with_key)
			assert_int_equal(store_key_put(store, out[i].fp,
						       out[i].key,
						       out[i].key_len), SMX_OK);
	}
}

static const struct store_candidate *find(const struct store_selection *s,
					  const char *fp)
{
	for (size_t i = 0; i < s->count; i++)
		if (strcmp(s->items[i].cert->fingerprint, fp) == 0)
			return &s->items[i];
	return NULL;
}

static void check_purpose(struct store *store, const struct issued *certs,
			  enum store_purpose purpose)
{
	struct store_selection *sel = NULL;
	assert_int_equal(store_select(store, "Mallory@Example.net", purpose,
				      time(NULL), &sel), SMX_OK);
	assert_int_equal(sel->count, N_CASES);
	size_t usable = 0;
	for (size_t i = 0; i < N_CASES; i++) {
		const struct store_candidate *c = find(sel, certs[i].fp);
		enum store_reject want = purpose == STORE_PURPOSE_ENCRYPT
						 ? cases[i].want_enc
						 : cases[i].want_sign;
		assert_non_null(c);
		if (c->reason != want)
			fail_msg("%s for %s: got '%s', want '%s'", cases[i].name,
				 purpose == STORE_PURPOSE_ENCRYPT ? "encrypt"
								  : "sign",
				 store_reject_text(c->reason, purpose),
				 store_reject_text(want, purpose));
		usable += want == STORE_USABLE;
	}
	assert_int_equal(sel->n_usable, usable);
	for (size_t i = 0; i < sel->count; i++)
		assert_true((i < sel->n_usable) ==
			    (sel->items[i].reason == STORE_USABLE));
	store_selection_free(&sel);
	assert_null(sel);
}

static void every_rule_rejects_with_its_reason(void **state)
{
	struct store *store = *state;
	struct issued certs[N_CASES];
	load_cases(store, "mallory@example.net", certs);
	check_purpose(store, certs, STORE_PURPOSE_ENCRYPT);
	check_purpose(store, certs, STORE_PURPOSE_SIGN);
	for (size_t i = 0; i < N_CASES; i++)
		contract_issued_free(&certs[i]);
}

static void ca_certificate_is_not_a_recipient(void **state)
{
	struct store *store = *state;
	size_t len = 0;
	const unsigned char *der = certgen_ca_der(contract_ca, &len);
	struct store_selection *sel = NULL;
	assert_int_equal(store_cert_put(store, der, len, 0, 2, NULL, 0, NULL,
					NULL), SMX_OK);
	/* the CA has no address: nothing to select */
	assert_int_equal(store_select(store, "ca@example.net",
				      STORE_PURPOSE_ENCRYPT, time(NULL), &sel),
			 SMX_NOTFOUND);
	assert_int_equal(sel->count, 0);
	store_selection_free(&sel);
}

static void newest_first_then_preference_wins(void **state)
{
	struct store *store = *state;
	struct issued older, newer;
	struct certgen_opts o1 = { .key_usage = "default", .from_days = -20,
				   .to_days = 100 };
	struct certgen_opts o2 = { .key_usage = "default", .from_days = -2,
				   .to_days = 100 };
	contract_issue("pat@example.net", &o1, &older);
	contract_issue("pat@example.net", &o2, &newer);
	assert_int_equal(store_cert_put(store, older.der, older.der_len, 1, 1,
					NULL, 0, NULL, NULL), SMX_OK);
	assert_int_equal(store_cert_put(store, newer.der, newer.der_len, 1, 1,
					NULL, 0, NULL, NULL), SMX_OK);
	struct store_selection *sel = NULL;
	assert_int_equal(store_select(store, "pat@example.net",
				      STORE_PURPOSE_ENCRYPT, time(NULL), &sel),
			 SMX_OK);
	assert_int_equal(sel->n_usable, 2);
	assert_string_equal(sel->items[0].cert->fingerprint, newer.fp);
	assert_false(sel->items[0].preferred);
	store_selection_free(&sel);
	assert_int_equal(store_preference_set(store, "PAT@example.net",
					      older.fp), SMX_OK);
	char fp[65];
	assert_int_equal(store_preference_get(store, "pat@example.net", fp),
			 SMX_OK);
	assert_string_equal(fp, older.fp);
	assert_int_equal(store_select(store, "pat@example.net",
				      STORE_PURPOSE_ENCRYPT, time(NULL), &sel),
			 SMX_OK);
	assert_string_equal(sel->items[0].cert->fingerprint, older.fp);
	assert_true(sel->items[0].preferred);
	store_selection_free(&sel);
	/* a preferred certificate that is unusable does not win */
	assert_int_equal(store_cert_set_revoked(store, older.fp, true), SMX_OK);
	assert_int_equal(store_select(store, "pat@example.net",
				      STORE_PURPOSE_ENCRYPT, time(NULL), &sel),
			 SMX_OK);
	assert_string_equal(sel->items[0].cert->fingerprint, newer.fp);
	assert_int_equal(sel->items[1].reason, STORE_REJECT_REVOKED);
	store_selection_free(&sel);
	contract_issued_free(&older);
	contract_issued_free(&newer);
}

static void expiry_is_judged_at_the_given_time(void **state)
{
	struct store *store = *state;
	struct issued a;
	struct certgen_opts o = { .key_usage = "default", .from_days = -1,
				  .to_days = 10 };
	contract_issue("quinn@example.net", &o, &a);
	assert_int_equal(store_cert_put(store, a.der, a.der_len, 1, 1, NULL, 0,
					NULL, NULL), SMX_OK);
	struct store_selection *sel = NULL;
	assert_int_equal(store_select(store, "quinn@example.net",
				      STORE_PURPOSE_ENCRYPT,
				      time(NULL) + 11 * 86400, &sel),
			 SMX_NOTFOUND);
	assert_int_equal(sel->count, 1);
	assert_int_equal(sel->items[0].reason, STORE_REJECT_EXPIRED);
	assert_string_equal(store_reject_text(sel->items[0].reason,
					      STORE_PURPOSE_ENCRYPT), "expired");
	store_selection_free(&sel);
	assert_int_equal(store_select(store, "nobody@example.net",
				      STORE_PURPOSE_ENCRYPT, time(NULL), &sel),
			 SMX_NOTFOUND);
	assert_int_equal(sel->count, 0);
	store_selection_free(&sel);
	contract_issued_free(&a);
}

int contract_run_select(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, contract_setup, contract_teardown)
		T(every_rule_rejects_with_its_reason),
		T(ca_certificate_is_not_a_recipient),
		T(newest_first_then_preference_wins),
		T(expiry_is_judged_at_the_given_time),
#undef T
	};
	return cmocka_run_group_tests_name("store selection", tests, NULL, NULL);
}
