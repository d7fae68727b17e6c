/* SPDX-License-Identifier: BSD-2-Clause */
/* The selection rule against each backend: one
 * candidate per rule it breaks, the reason reported for each. */
#include "contract.h"

#include <stdio.h>
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
	/* the encryptor refuses RSA below 2048 bits: so does selection */
	{ "weak-rsa", { .rsa = true, .rsa_bits = 1024, .key_usage = "default",
			.from_days = -1, .to_days = 60 },
	  STORE_TRUST_CHAIN, false, true, STORE_REJECT_KEY, OK_ },
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

/* An administrator's import files a certificate under its SAN addresses
 * only: a subject emailAddress the SAN does not name never finds it. */
static void subject_email_outside_san_is_never_filed(void **state)
{
	struct store *store = *state;
	struct certgen_opts o = { .key_usage = "default",
				  .eku = "emailProtection", .from_days = -1,
				  .to_days = 30,
				  .subject_email = "bob@partner.example" };
	struct issued m;
	contract_issue("mallory@evil.example", &o, &m);
	assert_int_equal(store_cert_put(store, m.der, m.der_len,
					STORE_SOURCE_IMPORTED,
					STORE_TRUST_PINNED, NULL, 0, NULL,
					NULL), SMX_OK);
	struct store_cert **certs = NULL;
	size_t n = 9;
	assert_int_equal(store_cert_list(store, "bob@partner.example", &certs,
					 &n), SMX_OK);
	assert_int_equal(n, 0);
	store_cert_list_free(&certs, n);
	struct store_selection *sel = NULL;
	assert_int_equal(store_select(store, "bob@partner.example",
				      STORE_PURPOSE_ENCRYPT, time(NULL), &sel),
			 SMX_NOTFOUND);
	store_selection_free(&sel);
	assert_int_equal(store_select(store, "mallory@evil.example",
				      STORE_PURPOSE_ENCRYPT, time(NULL), &sel),
			 SMX_OK);
	store_selection_free(&sel);
	/* a harvest may not file it under the subject address either */
	assert_int_equal(store_cert_put_for(store, "bob@partner.example",
					    m.der, m.der_len,
					    STORE_SOURCE_HARVESTED,
					    STORE_TRUST_CHAIN, NULL, 0, NULL,
					    NULL), SMX_PERMFAIL);
	assert_int_equal(store_cert_list(store, "bob@partner.example", &certs,
					 &n), SMX_OK);
	assert_int_equal(n, 0);
	store_cert_list_free(&certs, n);
	contract_issued_free(&m);
}

/* A SAN address with a control or 8-bit byte is no address, yet the SAN
 * still names somebody: the subject emailAddress is not filed in its
 * place (outbound mail to that address would be encrypted to it). */
static void unreadable_san_address_files_no_subject_email(void **state)
{
	struct store *store = *state;
	const char *unreadable[] = { "b\x01ob@partner.example",
				     "b\xc3\xb6" "b@partner.example" };
	for (size_t i = 0; i < 2; i++) {
		struct certgen_opts o = { .key_usage = "default",
					  .eku = "emailProtection",
					  .from_days = -1, .to_days = 30,
					  .subject_email = "bob@partner.example" };
		struct issued m;
		contract_issue(unreadable[i], &o, &m);
		/* kept (as a certificate of nobody), filed under nothing */
		assert_int_equal(store_cert_put(store, m.der, m.der_len,
						STORE_SOURCE_IMPORTED,
						STORE_TRUST_PINNED, NULL, 0,
						NULL, NULL), SMX_OK);
		struct store_cert *c = NULL;
		assert_int_equal(store_cert_parse(m.der, m.der_len, &c),
				 SMX_OK);
		assert_int_equal(c->n_emails, 0);
		store_cert_free(&c);
		struct store_cert **certs = NULL;
		size_t n = 9;
		assert_int_equal(store_cert_list(store, "bob@partner.example",
						 &certs, &n), SMX_OK);
		assert_int_equal(n, 0);
		store_cert_list_free(&certs, n);
		struct store_selection *sel = NULL;
		assert_int_equal(store_select(store, "bob@partner.example",
					      STORE_PURPOSE_ENCRYPT,
					      time(NULL), &sel),
				 SMX_NOTFOUND);
		store_selection_free(&sel);
		contract_issued_free(&m);
	}
}

/* An older certificate without any SAN address is issued to its subject
 * emailAddress: filed and selected under it. */
static void legacy_subject_email_is_the_address(void **state)
{
	struct store *store = *state;
	struct certgen_opts o = { .key_usage = "default",
				  .eku = "emailProtection", .from_days = -1,
				  .to_days = 30, .no_san = true,
				  .subject_email = "Legacy@Partner.example" };
	struct issued l;
	contract_issue("legacy@partner.example", &o, &l);
	assert_int_equal(store_cert_put_for(store, "legacy@partner.example",
					    l.der, l.der_len,
					    STORE_SOURCE_HARVESTED,
					    STORE_TRUST_CHAIN, NULL, 0, NULL,
					    NULL), SMX_OK);
	struct store_selection *sel = NULL;
	assert_int_equal(store_select(store, "legacy@partner.example",
				      STORE_PURPOSE_ENCRYPT, time(NULL), &sel),
			 SMX_OK);
	store_selection_free(&sel);
	contract_issued_free(&l);
}

/* A certificate learned from mail or the directory is filed under the
 * one address that was validated, never under its other SAN addresses;
 * an address its SAN does not name files nothing at all. */
static void put_for_files_under_the_validated_address_only(void **state)
{
	struct store *store = *state;
	struct certgen_opts o = { .key_usage = "default",
				  .eku = "emailProtection", .from_days = -1,
				  .to_days = 30, .email2 = "carol@partner.example" };
	struct issued b;
	contract_issue("bob@partner.example", &o, &b);
	char fp[65] = "";
	bool created = true;
	assert_int_equal(store_cert_put_for(store, "nobody@partner.example",
					    b.der, b.der_len,
					    STORE_SOURCE_DIRECTORY,
					    STORE_TRUST_CHAIN, NULL, 0, fp,
					    &created), SMX_PERMFAIL);
	assert_false(created);
	struct store_cert *got = NULL;
	assert_int_equal(store_cert_get(store, b.fp, &got), SMX_NOTFOUND);
	assert_int_equal(store_cert_put_for(store, "Bob@Partner.example",
					    b.der, b.der_len,
					    STORE_SOURCE_HARVESTED,
					    STORE_TRUST_CHAIN, NULL, 0, fp,
					    &created), SMX_OK);
	assert_true(created);
	assert_string_equal(fp, b.fp);
	struct store_selection *sel = NULL;
	assert_int_equal(store_select(store, "bob@partner.example",
				      STORE_PURPOSE_ENCRYPT, time(NULL), &sel),
			 SMX_OK);
	store_selection_free(&sel);
	assert_int_equal(store_select(store, "carol@partner.example",
				      STORE_PURPOSE_ENCRYPT, time(NULL), &sel),
			 SMX_NOTFOUND);
	assert_int_equal(sel->count, 0);
	store_selection_free(&sel);
	contract_issued_free(&b);
}

/* A row that files a certificate under an address its SAN does not name
 * (written by an older version) is listed but never usable. */
static void filing_outside_the_san_is_rejected_at_selection(void **state)
{
	struct store *store = *state;
	struct certgen_opts o = { .key_usage = "default",
				  .eku = "emailProtection", .from_days = -1,
				  .to_days = 30,
				  .subject_email = "bob@partner.example" };
	struct issued m;
	char sql[256];
	contract_issue("mallory@evil.example", &o, &m);
	assert_int_equal(store_cert_put(store, m.der, m.der_len,
					STORE_SOURCE_HARVESTED,
					STORE_TRUST_CHAIN, NULL, 0, NULL,
					NULL), SMX_OK);
	snprintf(sql, sizeof(sql), "INSERT INTO cert_emails (email, "
		 "fingerprint) VALUES ('bob@partner.example', '%s')", m.fp);
	assert_int_equal(harness_sql(sql), 0);
	for (int p = 0; p < 2; p++) {
		struct store_selection *sel = NULL;
		assert_int_equal(store_select(store, "bob@partner.example",
					      (enum store_purpose)p,
					      time(NULL), &sel), SMX_NOTFOUND);
		assert_int_equal(sel->count, 1);
		assert_int_equal(sel->items[0].reason, STORE_REJECT_ADDRESS);
		store_selection_free(&sel);
	}
	contract_issued_free(&m);
}

/* A harvest offers an older certificate as the preference (an old
 * signed message replayed): a newer usable one keeps its place; once
 * that one is unusable the older may be preferred again. */
static void older_preference_offer_does_not_roll_back(void **state)
{
	struct store *store = *state;
	struct issued c1, c2;
	struct certgen_opts o1 = { .key_usage = "default", .from_days = -20,
				   .to_days = 100 };
	struct certgen_opts o2 = { .key_usage = "default", .from_days = -2,
				   .to_days = 100 };
	contract_issue("bob@example.net", &o1, &c1);
	contract_issue("bob@example.net", &o2, &c2);
	bool set = false;
	char fp[65];
	for (int i = 0; i < 2; i++) {
		const struct issued *c = i == 0 ? &c1 : &c2;
		assert_int_equal(store_cert_put_for(store, "bob@example.net",
						    c->der, c->der_len,
						    STORE_SOURCE_HARVESTED,
						    STORE_TRUST_CHAIN, NULL, 0,
						    NULL, NULL), SMX_OK);
		assert_int_equal(store_preference_offer(store,
							"bob@example.net",
							c->fp, time(NULL),
							&set), SMX_OK);
		assert_true(set);
	}
	/* the replay of c1's message */
	assert_int_equal(store_cert_put_for(store, "bob@example.net", c1.der,
					    c1.der_len, STORE_SOURCE_HARVESTED,
					    STORE_TRUST_CHAIN, NULL, 0, NULL,
					    NULL), SMX_OK);
	assert_int_equal(store_preference_offer(store, "BOB@example.net",
						c1.fp, time(NULL), &set),
			 SMX_OK);
	assert_false(set);
	assert_int_equal(store_preference_get(store, "bob@example.net", fp),
			 SMX_OK);
	assert_string_equal(fp, c2.fp);
	struct store_selection *sel = NULL;
	assert_int_equal(store_select(store, "bob@example.net",
				      STORE_PURPOSE_ENCRYPT, time(NULL), &sel),
			 SMX_OK);
	assert_string_equal(sel->items[0].cert->fingerprint, c2.fp);
	store_selection_free(&sel);
	/* the newer one revoked: the older may be preferred again */
	assert_int_equal(store_cert_set_revoked(store, c2.fp, true), SMX_OK);
	assert_int_equal(store_preference_offer(store, "bob@example.net",
						c1.fp, time(NULL), &set),
			 SMX_OK);
	assert_true(set);
	assert_int_equal(store_preference_offer(store, "bob@example.net",
						"00", time(NULL), &set),
			 SMX_NOTFOUND);
	assert_false(set);
	contract_issued_free(&c1);
	contract_issued_free(&c2);
}

int contract_run_select(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, contract_setup, contract_teardown)
		T(every_rule_rejects_with_its_reason),
		T(ca_certificate_is_not_a_recipient),
		T(newest_first_then_preference_wins),
		T(older_preference_offer_does_not_roll_back),
		T(expiry_is_judged_at_the_given_time),
		T(subject_email_outside_san_is_never_filed),
		T(legacy_subject_email_is_the_address),
		T(unreadable_san_address_files_no_subject_email),
		T(put_for_files_under_the_validated_address_only),
		T(filing_outside_the_san_is_rejected_at_selection),
#undef T
	};
	return cmocka_run_group_tests_name("store selection", tests, NULL, NULL);
}
