/* SPDX-License-Identifier: BSD-2-Clause */
/* The store functions the organization CA relies on (store-ca.c), run
 * the same way against each backend (store_ca_contract_sqlite and
 * store_ca_contract_pgsql): the CA marker (first writer wins), revocation
 * records, counters that hand out values, and named locks that exclude
 * other threads and other processes. On PostgreSQL the suite uses its own
 * database (smx_store_ca), so it may run next to store_contract_pgsql. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <smx/cfg.h>
#include <smx/log.h>
#include <smx/revocation.h>
#include <smx/store.h>
#include <smx/x509.h>

#include "certgen.h"
#include "harness.h"

static struct certgen_ca *test_ca;

struct cert {
	unsigned char *der, *key;
	size_t der_len, key_len;
	char fp[65];
};

static void make_cert(const char *email, long serial, struct cert *out)
{
	struct certgen_opts o = { .email = email, .key_usage = "default",
				  .eku = "emailProtection", .from_days = -1,
				  .to_days = 365, .serial = serial };
	memset(out, 0, sizeof(*out));
	assert_int_equal(certgen_issue(test_ca, &o, &out->der, &out->der_len,
				       &out->key, &out->key_len), 0);
	certgen_fingerprint(out->der, out->der_len, out->fp);
}

static void put_cert(struct store *store, struct cert *c)
{
	assert_int_equal(store_cert_put(store, c->der, c->der_len,
					STORE_SOURCE_ISSUED, STORE_TRUST_CHAIN,
					NULL, 0, NULL, NULL), SMX_OK);
	assert_int_equal(store_key_put(store, c->fp, c->key, c->key_len),
			 SMX_OK);
}

static void free_cert(struct cert *c)
{
	free(c->der);
	free(c->key);
	memset(c, 0, sizeof(*c));
}

static int setup(void **state)
{
	harness_reset();
	*state = harness_open();
	return *state != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	struct store *store = *state;
	store_close(&store);
	return 0;
}

static void ca_marker_first_writer_wins(void **state)
{
	struct store *store = *state;
	struct cert a, b;
	char fp[65] = "";
	make_cert("ca-a@example.com", 11, &a);
	make_cert("ca-b@example.com", 12, &b);
	put_cert(store, &a);
	put_cert(store, &b);
	assert_int_equal(store_ca_get(store, fp), SMX_NOTFOUND);
	assert_int_equal(store_ca_set(store, a.fp, fp), SMX_OK);
	assert_string_equal(fp, a.fp);
	assert_int_equal(store_ca_set(store, b.fp, fp), SMX_PERMFAIL);
	assert_string_equal(fp, a.fp);
	assert_int_equal(store_ca_set(store, a.fp, NULL), SMX_OK);
	assert_int_equal(store_ca_get(store, fp), SMX_OK);
	assert_string_equal(fp, a.fp);
	assert_int_equal(store_ca_set(store, "not hex", fp), SMX_PERMFAIL);
	free_cert(&a);
	free_cert(&b);
}

static void revocation_is_recorded_once_and_outlives_the_row(void **state)
{
	struct store *store = *state;
	struct cert c;
	struct store_cert *got = NULL;
	struct store_revocation *list = NULL;
	size_t n = 0;
	bool created = false;
	const char *ca_fp = "ab" "00000000000000000000000000000000000000000000"
			    "000000000000000000";
	make_cert("revoked@example.com", 77, &c);
	put_cert(store, &c);
	assert_int_equal(store_revocation_add(store, c.fp, ca_fp, "4D", 1000,
					      1, &created), SMX_OK);
	assert_true(created);
	assert_int_equal(store_cert_get(store, c.fp, &got), SMX_OK);
	assert_true(got->revoked);
	store_cert_free(&got);
	/* again: the first record stays */
	assert_int_equal(store_revocation_add(store, c.fp, ca_fp, "4D", 2000,
					      4, &created), SMX_OK);
	assert_false(created);
	assert_int_equal(store_cert_remove(store, c.fp), SMX_OK);
	assert_int_equal(store_revocation_list(store, ca_fp, &list, &n), SMX_OK);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].fingerprint, c.fp);
	assert_string_equal(list[0].serial, "4D");
	assert_int_equal(list[0].revoked_at, 1000);
	assert_int_equal(list[0].reason, 1);
	store_revocation_list_free(&list, n);
	assert_null(list);
	/* another CA's list is empty */
	assert_int_equal(store_revocation_list(store, c.fp, &list, &n), SMX_OK);
	assert_int_equal(n, 0);
	store_revocation_list_free(&list, n);
	/* unknown certificate, malformed input */
	assert_int_equal(store_revocation_add(store, c.fp, ca_fp, "4D", 1, 1,
					      NULL), SMX_NOTFOUND);
	assert_int_equal(store_revocation_add(store, ca_fp, ca_fp, "4d; --", 1,
					      1, NULL), SMX_PERMFAIL);
	free_cert(&c);
}

static void revoked_certificate_is_never_selected(void **state)
{
	struct store *store = *state;
	struct cert c;
	struct store_selection *sel = NULL;
	make_cert("sel@example.com", 78, &c);
	put_cert(store, &c);
	assert_int_equal(store_select(store, "sel@example.com",
				      STORE_PURPOSE_SIGN, time(NULL), &sel),
			 SMX_OK);
	store_selection_free(&sel);
	assert_int_equal(store_revocation_add(store, c.fp, c.fp, "4E",
					      time(NULL), 0, NULL), SMX_OK);
	for (int p = 0; p < 2; p++) {
		assert_int_equal(store_select(store, "sel@example.com",
					      (enum store_purpose)p, time(NULL),
					      &sel), SMX_NOTFOUND);
		assert_int_equal(sel->count, 1);
		assert_int_equal(sel->items[0].reason, STORE_REJECT_REVOKED);
		store_selection_free(&sel);
	}
	free_cert(&c);
}

struct counter_worker {
	struct store *store;
	int64_t values[25];
	int failures;
	pthread_t tid;
};

static void *count_up(void *arg)
{
	struct counter_worker *w = arg;
	for (size_t i = 0; i < 25; i++)
		if (store_counter_next(w->store, "ca.test", &w->values[i]) !=
		    SMX_OK)
			w->failures++;
	return NULL;
}

static void counter_next_never_repeats(void **state)
{
	struct store *store = *state;
	struct counter_worker w[4];
	bool seen[101] = { false };
	for (int t = 0; t < 4; t++) {
		w[t] = (struct counter_worker){ .store = store };
		assert_int_equal(pthread_create(&w[t].tid, NULL, count_up,
						&w[t]), 0);
	}
	for (int t = 0; t < 4; t++) {
		pthread_join(w[t].tid, NULL);
		assert_int_equal(w[t].failures, 0);
		for (int i = 0; i < 25; i++) {
			int64_t v = w[t].values[i];
			assert_true(v >= 1 && v <= 100);
			assert_false(seen[v]);
			seen[v] = true;
		}
	}
	int64_t v = 0;
	assert_int_equal(store_counter_next(store, "ca.test", &v), SMX_OK);
	assert_int_equal(v, 101);
}

/* A second process tries the lock; exit 0 when the outcome is want. */
static int child_try_lock(const char *name, enum smx_status want)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		struct cfg *cfg = harness_cfg(NULL, 2);
		enum smx_status st = SMX_TEMPFAIL;
		struct store *store = cfg ? store_open(&cfg->store_settings, 0,
							       &st)
						  : NULL;
		struct store_lock *lock = NULL;
		if (store != NULL)
			st = store_lock_acquire(store, name, 300, &lock);
		int rc = store != NULL && st == want ? 0 : 1;
		if (rc != 0)
			fprintf(stderr, "child: lock '%s': status %d, want %d\n",
				name, (int)st, (int)want);
		store_lock_release(&lock);
		store_close(&store);
		cfg_unref(&cfg);
		_exit(rc);
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct lock_try {
	struct store *store;
	enum smx_status st;
};

static void *thread_try_lock(void *arg)
{
	struct lock_try *t = arg;
	struct store_lock *lock = NULL;
	t->st = store_lock_acquire(t->store, "ca-issue:a@example.com", 200,
				   &lock);
	store_lock_release(&lock);
	return NULL;
}

static void lock_excludes_threads_and_processes(void **state)
{
	struct store *store = *state;
	struct store_lock *lock = NULL, *other = NULL;
	pthread_t tid;
	struct lock_try t = { store, SMX_OK };
	assert_int_equal(store_lock_acquire(store, "ca-issue:a@example.com",
					    1000, &lock), SMX_OK);
	/* another thread of this process, another process: wait, give up */
	assert_int_equal(pthread_create(&tid, NULL, thread_try_lock, &t), 0);
	pthread_join(tid, NULL);
	assert_int_equal(t.st, SMX_TEMPFAIL);
	assert_int_equal(child_try_lock("ca-issue:a@example.com",
					SMX_TEMPFAIL), 0);
	/* another name is free */
	assert_int_equal(store_lock_acquire(store, "ca-issue:b@example.com",
					    1000, &other), SMX_OK);
	store_lock_release(&other);
	store_lock_release(&lock);
	assert_null(lock);
	store_lock_release(&lock);	/* NULL-safe */
	assert_int_equal(child_try_lock("ca-issue:a@example.com", SMX_OK), 0);
	assert_int_equal(pthread_create(&tid, NULL, thread_try_lock, &t), 0);
	pthread_join(tid, NULL);
	assert_int_equal(t.st, SMX_OK);
}

/* PostgreSQL: a database of our own next to the fixture's. */
/* The organization CA's certificates are judged by its own revocation
 * records, without the network; the status is cached in the store for
 * revocation.max_age, forced checks bypass the cache; another CA's
 * certificate with the network off is unknown, cached for unknown_ttl. */
static void revocation_status_from_the_organization_ca(void **state)
{
	struct store *store = *state;
	struct cfg_revocation rc = { .mode = REVOCATION_MODE_SOFT,
				     .network = false,
				     .fetch_timeout = 1, .max_wait = 1,
				     .max_age = 3600, .unknown_ttl = 60 };
	size_t ca_len = 0;
	const unsigned char *ca_der = certgen_ca_der(test_ca, &ca_len);
	char ca_fp[65];
	assert_int_equal(store_cert_put(store, ca_der, ca_len,
					STORE_SOURCE_IMPORTED,
					STORE_TRUST_PINNED, NULL, 0, ca_fp,
					NULL), SMX_OK);
	assert_int_equal(store_ca_set(store, ca_fp, NULL), SMX_OK);
	struct cert c;
	make_cert("kate@example.com", 91, &c);
	put_cert(store, &c);
	X509 *x = smx_x509_parse(c.der, c.der_len, NULL, 0);
	assert_non_null(x);
	time_t now = time(NULL);
	struct store_revstatus s;
	bool cached = true;
	assert_int_equal(revocation_check(store, &rc, x, NULL, now, now + 1, 0,
					  &s, &cached), SMX_OK);
	assert_int_equal(s.status, STORE_REVSTATUS_GOOD);
	assert_string_equal(s.source, "organization-ca");
	assert_false(cached);
	assert_int_equal(s.valid_until, (int64_t)now + 3600);
	assert_int_equal(revocation_check(store, &rc, x, NULL, now + 10,
					  now + 11, 0, &s, &cached), SMX_OK);
	assert_true(cached);
	assert_int_equal(store_revocation_add(store, c.fp, ca_fp, "5B", 1000,
					      1, NULL), SMX_OK);
	/* cached until it expires, or until a forced check */
	assert_int_equal(revocation_check(store, &rc, x, NULL, now + 20,
					  now + 21, 0, &s, &cached), SMX_OK);
	assert_int_equal(s.status, STORE_REVSTATUS_GOOD);
	assert_int_equal(revocation_check(store, &rc, x, NULL, now + 3601,
					  now + 3602, 0, &s, &cached), SMX_OK);
	assert_int_equal(s.status, STORE_REVSTATUS_REVOKED);
	assert_false(cached);
	assert_int_equal(revocation_check(store, &rc, x, NULL, now + 30,
					  now + 31, REVOCATION_FORCE, &s,
					  &cached), SMX_OK);
	assert_int_equal(s.status, STORE_REVSTATUS_REVOKED);
	X509_free(x);
	/* a certificate of another CA, the network off */
	struct certgen_ca *other = certgen_ca_new("Another CA");
	assert_non_null(other);
	struct certgen_opts o = { .email = "x@partner.example",
				  .key_usage = "default",
				  .eku = "emailProtection", .from_days = -1,
				  .to_days = 365, .serial = 5 };
	struct cert d = { 0 };
	assert_int_equal(certgen_issue(other, &o, &d.der, &d.der_len, &d.key,
				       &d.key_len), 0);
	x = smx_x509_parse(d.der, d.der_len, NULL, 0);
	assert_int_equal(revocation_check(store, &rc, x, NULL, now, now + 1, 0,
					  &s, &cached), SMX_OK);
	assert_int_equal(s.status, STORE_REVSTATUS_UNKNOWN);
	assert_int_equal(s.valid_until, (int64_t)now + 60);
	X509_free(x);
	free_cert(&d);
	free_cert(&c);
	certgen_ca_free(&other);
}

/* An unknown status that nobody was asked for (the message's max_wait
 * was used up before the certificate's turn) is not cached: otherwise
 * hard mode would refuse the certificate for unknown_ttl without ever
 * having asked its responder. */
static void unknown_without_a_request_is_not_cached(void **state)
{
	struct store *store = *state;
	struct cfg_revocation rc = { .mode = REVOCATION_MODE_HARD,
				     .network = true,
				     .fetch_timeout = 1, .max_wait = 1,
				     .max_age = 3600, .unknown_ttl = 300 };
	struct certgen_ca *other = certgen_ca_new("Responder CA");
	assert_non_null(other);
	struct certgen_opts o = { .email = "late@partner.example",
				  .key_usage = "default",
				  .eku = "emailProtection", .from_days = -1,
				  .to_days = 365, .serial = 7 };
	struct cert d = { 0 };
	assert_int_equal(certgen_issue(other, &o, &d.der, &d.der_len, &d.key,
				       &d.key_len), 0);
	X509 *x = smx_x509_parse(d.der, d.der_len, NULL, 0);
	assert_non_null(x);
	/* a responder to ask; nothing listens there, and it must not be
	 * asked at all */
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509_EXTENSION *aia = X509V3_EXT_conf_nid(
		NULL, &ctx, NID_info_access,
		"OCSP;URI:http://127.0.0.1:9/ocsp");
	assert_non_null(aia);
	assert_int_equal(X509_add_ext(x, aia, -1), 1);
	X509_EXTENSION_free(aia);
	size_t ca_len = 0;
	const unsigned char *ca_der = certgen_ca_der(other, &ca_len);
	X509 *issuer = smx_x509_parse(ca_der, ca_len, NULL, 0);
	assert_non_null(issuer);
	time_t now = time(NULL);
	struct store_revstatus s;
	/* the deadline has passed: the status is unknown for this message */
	assert_int_equal(revocation_check(store, &rc, x, issuer, now, now - 1,
					  0, &s, NULL), SMX_OK);
	assert_int_equal(s.status, STORE_REVSTATUS_UNKNOWN);
	assert_non_null(strstr(s.detail, "max_wait"));
	assert_false(revocation_usable(store, &rc, &s, "a test"));
	/* and not stored: the next message asks */
	assert_int_equal(revocation_check(store, &rc, x, issuer, now + 1,
					  now + 2, REVOCATION_CACHED_ONLY, &s,
					  NULL), SMX_NOTFOUND);
	assert_int_equal(store_revstatus_get(store, s.fingerprint, &s),
			 SMX_NOTFOUND);
	X509_free(issuer);
	X509_free(x);
	free_cert(&d);
	certgen_ca_free(&other);
}

static void use_own_pg_database(void)
{
	const char *file = getenv("SMX_PG_CONNINFO_FILE");
	char line[1024], own[1200];
	FILE *f = file ? fopen(file, "r") : NULL;
	if (f == NULL)
		return;	/* harness_init skips or fails */
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	PGconn *pg = PQconnectdb(line);
	PQclear(PQexec(pg, "CREATE DATABASE smx_store_ca"));	/* may exist */
	PQfinish(pg);
	snprintf(own, sizeof(own), "%s/conninfo-ca",
		 getenv("SMX_TEST_DIR") ? getenv("SMX_TEST_DIR") : ".");
	f = fopen(own, "w");
	if (f == NULL)
		return;
	fprintf(f, "%s dbname=smx_store_ca\n", line);
	fclose(f);
	setenv("SMX_PG_CONNINFO_FILE", own, 1);
}

int main(void)
{
	const char *backend = getenv("SMX_STORE_BACKEND");
	if (backend != NULL && strcmp(backend, "postgresql") == 0)
		use_own_pg_database();
	harness_init();
	smx_log_open("store-ca-contract", SMX_LOG_STDERR, 0);
	smx_log_set_level(LOG_ERR);
	test_ca = certgen_ca_new("Store CA test");
	if (test_ca == NULL)
		return 1;
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(ca_marker_first_writer_wins),
		T(revocation_is_recorded_once_and_outlives_the_row),
		T(revoked_certificate_is_never_selected),
		T(revocation_status_from_the_organization_ca),
		T(unknown_without_a_request_is_not_cached),
		T(counter_next_never_repeats),
		T(lock_excludes_threads_and_processes),
#undef T
	};
	int failed = cmocka_run_group_tests_name("store ca", tests, NULL, NULL);
	certgen_ca_free(&test_ca);
	return failed == 0 ? 0 : 1;
}
