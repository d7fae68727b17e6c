/* SPDX-License-Identifier: BSD-2-Clause */
/* The store's cache of parsed certificates (store-parse-cache.c): a
 * certificate read again is not parsed again, the copy handed out is the
 * caller's own and equal to a fresh parse, per-row columns never come
 * from the cache, evictions never mix certificates up, and threads may
 * share it. */
#include "contract.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MANY 300	/* more than the cache's slots: evictions happen */

static void assert_same_record(const struct store_cert *a,
			       const struct store_cert *b)
{
	assert_string_equal(a->fingerprint, b->fingerprint);
	assert_int_equal(a->der_len, b->der_len);
	assert_memory_equal(a->der, b->der, a->der_len);
	assert_string_equal(a->subject, b->subject);
	assert_string_equal(a->issuer, b->issuer);
	assert_string_equal(a->serial, b->serial);
	assert_int_equal(a->not_before, b->not_before);
	assert_int_equal(a->not_after, b->not_after);
	assert_int_equal(a->n_emails, b->n_emails);
	for (size_t i = 0; i < a->n_emails; i++)
		assert_string_equal(a->emails[i], b->emails[i]);
	assert_int_equal(a->key_usage, b->key_usage);
	assert_int_equal(a->eku, b->eku);
	assert_string_equal(a->key_type, b->key_type);
	assert_int_equal(a->is_ca, b->is_ca);
}

static void reparse_gives_an_equal_independent_copy(void **state)
{
	(void)state;
	struct issued c;
	contract_issue("cache@example.com", NULL, &c);
	struct store_cert *first = NULL, *second = NULL;
	assert_int_equal(store_cert_parse(c.der, c.der_len, &first), SMX_OK);
	assert_int_equal(store_cert_parse(c.der, c.der_len, &second), SMX_OK);
	assert_ptr_not_equal(first, second);
	assert_ptr_not_equal(first->der, second->der);
	assert_ptr_not_equal(first->subject, second->subject);
	assert_same_record(first, second);
	assert_string_equal(second->fingerprint, c.fp);
	/* Each copy is its caller's: freeing one leaves the other whole
	 * (ASan would see a use after free). */
	store_cert_free(&first);
	assert_string_equal(second->emails[0], "cache@example.com");
	store_cert_free(&second);
	contract_issued_free(&c);
}

/* The OpenSSL object of a certificate read twice is one object: the
 * second read did not parse. */
static void x509_is_parsed_once_and_shared(void **state)
{
	(void)state;
	struct issued c;
	contract_issue("shared@example.com", NULL, &c);
	struct store_cert *rec = NULL;
	assert_int_equal(store_cert_parse(c.der, c.der_len, &rec), SMX_OK);
	X509 *a = store_cert_x509(rec);
	X509 *b = store_cert_x509(rec);
	assert_non_null(a);
	assert_ptr_equal(a, b);
	unsigned char *der = NULL;
	int len = i2d_X509(a, &der);
	assert_int_equal(len, (int)c.der_len);
	assert_memory_equal(der, c.der, c.der_len);
	OPENSSL_free(der);
	X509_free(a);
	X509_free(b);
	store_cert_free(&rec);
	contract_issued_free(&c);
}

/* trust, source, revoked... belong to the row: a certificate stored as
 * harvested and read back, then parsed from its bytes, carries none of
 * them into the parse. */
static void row_columns_never_come_from_the_cache(void **state)
{
	struct store *store = *state;
	struct issued c;
	contract_issue("row@example.com", NULL, &c);
	assert_int_equal(store_cert_put(store, c.der, c.der_len,
					STORE_SOURCE_HARVESTED,
					STORE_TRUST_CHAIN, NULL, 0, NULL, NULL),
			 SMX_OK);
	struct store_cert *stored = NULL, *parsed = NULL;
	assert_int_equal(store_cert_get(store, c.fp, &stored), SMX_OK);
	assert_int_equal(stored->source, STORE_SOURCE_HARVESTED);
	assert_int_equal(stored->trust, STORE_TRUST_CHAIN);
	assert_int_equal(store_cert_parse(c.der, c.der_len, &parsed), SMX_OK);
	assert_int_equal(parsed->source, 0);
	assert_int_equal(parsed->trust, 0);
	assert_false(parsed->has_key);
	assert_int_equal(parsed->last_seen, 0);
	assert_same_record(stored, parsed);
	store_cert_free(&stored);
	store_cert_free(&parsed);
	contract_issued_free(&c);
}

static void issue_many(struct issued *certs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char email[64];
		snprintf(email, sizeof(email), "many%zu@example.com", i);
		contract_issue(email, NULL, &certs[i]);
	}
}

/* Parses every certificate and checks that the record and the OpenSSL
 * object are those of its own bytes. Returns the number of mismatches. */
static int check_all(const struct issued *certs, size_t n)
{
	int bad = 0;
	for (size_t i = 0; i < n; i++) {
		struct store_cert *rec = NULL;
		if (store_cert_parse(certs[i].der, certs[i].der_len, &rec) !=
		    SMX_OK || strcmp(rec->fingerprint, certs[i].fp) != 0) {
			bad++;
			store_cert_free(&rec);
			continue;
		}
		X509 *x = store_cert_x509(rec);
		unsigned char md[32];
		unsigned int md_len = 0;
		if (x == NULL || X509_digest(x, EVP_sha256(), md, &md_len) != 1)
			bad++;
		else {
			char hex[65];
			for (unsigned j = 0; j < md_len; j++)
				snprintf(hex + 2 * j, 3, "%02x", md[j]);
			if (strcmp(hex, certs[i].fp) != 0)
				bad++;
		}
		X509_free(x);
		store_cert_free(&rec);
	}
	return bad;
}

static void evictions_never_mix_certificates(void **state)
{
	(void)state;
	struct issued *certs = calloc(MANY, sizeof(*certs));
	assert_non_null(certs);
	issue_many(certs, MANY);
	assert_int_equal(check_all(certs, MANY), 0);
	assert_int_equal(check_all(certs, MANY), 0);	/* now partly cached */
	for (size_t i = 0; i < MANY; i++)
		contract_issued_free(&certs[i]);
	free(certs);
}

struct reader {
	const struct issued *certs;
	size_t n;
	int bad;
	pthread_t tid;
};

static void *read_loop(void *arg)
{
	struct reader *r = arg;
	for (int round = 0; round < 20; round++)
		r->bad += check_all(r->certs, r->n);
	return NULL;
}

static void threads_share_the_cache(void **state)
{
	(void)state;
	enum { N = 12, THREADS = 4 };
	struct issued certs[N];
	issue_many(certs, N);
	struct reader readers[THREADS];
	for (int t = 0; t < THREADS; t++) {
		readers[t] = (struct reader){ certs, N, 0, 0 };
		assert_int_equal(pthread_create(&readers[t].tid, NULL,
						read_loop, &readers[t]), 0);
	}
	int bad = 0;
	for (int t = 0; t < THREADS; t++) {
		pthread_join(readers[t].tid, NULL);
		bad += readers[t].bad;
	}
	assert_int_equal(bad, 0);
	for (size_t i = 0; i < N; i++)
		contract_issued_free(&certs[i]);
}

int contract_run_parse_cache(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, contract_setup, contract_teardown)
	const struct CMUnitTest tests[] = {
		T(reparse_gives_an_equal_independent_copy),
		T(x509_is_parsed_once_and_shared),
		T(row_columns_never_come_from_the_cache),
		T(evictions_never_mix_certificates),
		T(threads_share_the_cache),
	};
#undef T
	return cmocka_run_group_tests_name("store parse cache", tests, NULL,
					   NULL);
}
