/* SPDX-License-Identifier: BSD-2-Clause */
/* Concurrent writers: several threads of one process sharing a store, and
 * a second process with its own store on the same database, inserting
 * while others read. Nothing may be lost and no call may fail: waiting
 * for a lock is the store's business, not the caller's. */
#include "contract.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N_THREADS 4
#define PER_THREAD 25
#define PER_CHILD 40

struct worker {
	struct store *store;
	struct issued *certs;
	size_t n;
	int failures;
	pthread_t tid;
};

static void *writer(void *arg)
{
	struct worker *w = arg;
	for (size_t i = 0; i < w->n; i++) {
		struct store_cert **list = NULL;
		size_t n = 0;
		if (store_cert_put(w->store, w->certs[i].der,
				   w->certs[i].der_len, STORE_SOURCE_HARVESTED,
				   STORE_TRUST_CHAIN, NULL, 0, NULL,
				   NULL) != SMX_OK)
			w->failures++;
		struct store_harvest_entry e = {
			time(NULL), "<c@x>", "writer@example.net",
			"writer@example.net", w->certs[i].fp, true, true };
		if (store_harvest_log(w->store, &e) != SMX_OK)
			w->failures++;
		if (store_counter_add(w->store, "concurrent", 1) != SMX_OK)
			w->failures++;
		if (store_cert_list(w->store, "writer@example.net", &list,
				    &n) != SMX_OK)
			w->failures++;
		store_cert_list_free(&list, n);
	}
	return NULL;
}

static size_t count_certs(struct store *store, const char *email)
{
	struct store_cert **list = NULL;
	size_t n = 0;
	assert_int_equal(store_cert_list(store, email, &list, &n), SMX_OK);
	store_cert_list_free(&list, n);
	return n;
}

static void threads_insert_without_losing_rows(void **state)
{
	struct store *store = *state;
	struct worker w[N_THREADS];
	static struct issued certs[N_THREADS][PER_THREAD];
	for (int t = 0; t < N_THREADS; t++) {
		for (int i = 0; i < PER_THREAD; i++)
			contract_issue("writer@example.net", NULL,
				       &certs[t][i]);
		w[t] = (struct worker){ store, certs[t], PER_THREAD, 0, 0 };
	}
	for (int t = 0; t < N_THREADS; t++)
		assert_int_equal(pthread_create(&w[t].tid, NULL, writer, &w[t]),
				 0);
	for (int t = 0; t < N_THREADS; t++) {
		pthread_join(w[t].tid, NULL);
		assert_int_equal(w[t].failures, 0);
	}
	assert_int_equal(count_certs(store, "writer@example.net"),
			 N_THREADS * PER_THREAD);
	for (int t = 0; t < N_THREADS; t++)
		for (int i = 0; i < PER_THREAD; i++)
			contract_issued_free(&certs[t][i]);
}

/* The second process: its own store on the same database. Reports by
 * exit status only (cmocka is not fork-safe). */
static void child_writer(struct issued *certs, size_t n)
{
	struct cfg *cfg = harness_cfg(NULL, 2);
	enum smx_status st = SMX_TEMPFAIL;
	struct store *store = cfg ? store_open(&cfg->store_settings, 0,
						       &st)
					  : NULL;
	int failures = store == NULL;
	for (size_t i = 0; store != NULL && i < n; i++) {
		if (store_cert_put(store, certs[i].der, certs[i].der_len,
				   STORE_SOURCE_DIRECTORY, STORE_TRUST_CHAIN,
				   NULL, 0, NULL, NULL) != SMX_OK)
			failures++;
		if (store_counter_add(store, "concurrent", 1) != SMX_OK)
			failures++;
	}
	store_close(&store);
	cfg_unref(&cfg);
	_exit(failures == 0 ? 0 : 1);
}

static void second_process_writes_while_first_reads(void **state)
{
	struct store *store = *state;
	static struct issued mine[PER_CHILD], theirs[PER_CHILD];
	for (int i = 0; i < PER_CHILD; i++) {
		contract_issue("child@example.net", NULL, &theirs[i]);
		contract_issue("parent@example.net", NULL, &mine[i]);
	}
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child_writer(theirs, PER_CHILD);
	struct worker w = { store, mine, PER_CHILD, 0, 0 };
	int read_failures = 0;
	assert_int_equal(pthread_create(&w.tid, NULL, writer, &w), 0);
	for (int i = 0; i < 3 * PER_CHILD; i++) {
		struct store_cert **list = NULL;
		size_t n = 0;
		if (store_cert_list(store, "child@example.net", &list, &n) !=
		    SMX_OK)
			read_failures++;
		store_cert_list_free(&list, n);
	}
	pthread_join(w.tid, NULL);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(read_failures, 0);
	assert_int_equal(w.failures, 0);
	assert_int_equal(count_certs(store, "child@example.net"), PER_CHILD);
	struct store_stat *stats = NULL;
	size_t n = 0;
	assert_int_equal(store_stats(store, time(NULL), &stats, &n), SMX_OK);
	for (size_t i = 0; i < n; i++)
		if (strcmp(stats[i].name, "counter.concurrent") == 0)
			assert_int_equal(stats[i].value, 2 * PER_CHILD);
	store_stats_free(&stats, n);
	for (int i = 0; i < PER_CHILD; i++) {
		contract_issued_free(&mine[i]);
		contract_issued_free(&theirs[i]);
	}
}

int contract_run_concurrency(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, contract_setup, contract_teardown)
		T(threads_insert_without_losing_rows),
		T(second_process_writes_while_first_reads),
#undef T
	};
	return cmocka_run_group_tests_name("store concurrency", tests, NULL,
					   NULL);
}
