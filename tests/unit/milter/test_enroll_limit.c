/* SPDX-License-Identifier: BSD-2-Clause */
/* The auto-enrollment limiter (milter/enroll-limit.c): new addresses per
 * login and per domain per hour, refusals reported once per window. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "enroll-limit.h"

#define T0 ((time_t)1700000000 - (time_t)1700000000 % ENROLL_LIMIT_WINDOW)

static int setup(void **state)
{
	*state = enroll_limit_new();
	return *state == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	struct enroll_limit *l = *state;
	enroll_limit_free(&l);
	return 0;
}

/* Checks, and records when allowed, as the milter does. */
static enum enroll_limit_verdict enroll(struct enroll_limit *l,
					const char *login, const char *domain,
					unsigned per_login, unsigned per_domain,
					time_t now, bool *first)
{
	enum enroll_limit_verdict v = enroll_limit_check(
		l, login, domain, per_login, per_domain, now, first);
	if (v == ENROLL_LIMIT_ALLOWED)
		enroll_limit_record(l, login, domain, now);
	return v;
}

static void login_limit_refuses_beyond_n_and_reports_once(void **state)
{
	struct enroll_limit *l = *state;
	bool first = true;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(enroll(l, "relay", "example.com", 3, 0, T0 + i,
					&first), ENROLL_LIMIT_ALLOWED);
		assert_false(first);
	}
	assert_int_equal(enroll(l, "relay", "example.com", 3, 0, T0 + 10,
				&first), ENROLL_LIMIT_LOGIN);
	assert_true(first);
	assert_int_equal(enroll(l, "RELAY", "example.com", 3, 0, T0 + 11,
				&first), ENROLL_LIMIT_LOGIN);
	assert_false(first);
	/* Another login is counted on its own. */
	assert_int_equal(enroll(l, "alice", "example.com", 3, 0, T0 + 12,
				&first), ENROLL_LIMIT_ALLOWED);
}

static void domain_limit_counts_every_login_and_none(void **state)
{
	struct enroll_limit *l = *state;
	bool first = false;
	assert_int_equal(enroll(l, "a", "example.com", 10, 2, T0, &first),
			 ENROLL_LIMIT_ALLOWED);
	assert_int_equal(enroll(l, NULL, "Example.COM", 10, 2, T0, &first),
			 ENROLL_LIMIT_ALLOWED);
	assert_int_equal(enroll(l, "b", "example.com", 10, 2, T0, &first),
			 ENROLL_LIMIT_DOMAIN);
	assert_true(first);
	assert_int_equal(enroll(l, "", "example.com", 10, 2, T0, &first),
			 ENROLL_LIMIT_DOMAIN);
	assert_false(first);
	assert_int_equal(enroll(l, "b", "example.org", 10, 2, T0, &first),
			 ENROLL_LIMIT_ALLOWED);
}

static void a_new_window_starts_from_zero(void **state)
{
	struct enroll_limit *l = *state;
	bool first = false;
	assert_int_equal(enroll(l, "relay", "example.com", 1, 0, T0, &first),
			 ENROLL_LIMIT_ALLOWED);
	assert_int_equal(enroll(l, "relay", "example.com", 1, 0,
				T0 + ENROLL_LIMIT_WINDOW - 1, &first),
			 ENROLL_LIMIT_LOGIN);
	assert_true(first);
	assert_int_equal(enroll(l, "relay", "example.com", 1, 0,
				T0 + ENROLL_LIMIT_WINDOW, &first),
			 ENROLL_LIMIT_ALLOWED);
	assert_int_equal(enroll(l, "relay", "example.com", 1, 0,
				T0 + ENROLL_LIMIT_WINDOW + 1, &first),
			 ENROLL_LIMIT_LOGIN);
	assert_true(first);	/* reported again: a new window */
}

static void zero_means_no_limit(void **state)
{
	struct enroll_limit *l = *state;
	for (int i = 0; i < 100; i++)
		assert_int_equal(enroll(l, "relay", "example.com", 0, 0, T0,
					NULL), ENROLL_LIMIT_ALLOWED);
}

/* Only what was recorded counts: checks alone (enrollments that issued
 * nothing, such as concurrent first messages of one address) do not. */
static void checks_without_records_do_not_count(void **state)
{
	struct enroll_limit *l = *state;
	for (int i = 0; i < 10; i++)
		assert_int_equal(enroll_limit_check(l, "relay", "example.com",
						    1, 1, T0, NULL),
				 ENROLL_LIMIT_ALLOWED);
	enroll_limit_record(l, "relay", "example.com", T0);
	assert_int_equal(enroll_limit_check(l, "relay", "example.com", 1, 1,
					    T0, NULL), ENROLL_LIMIT_LOGIN);
}

/* A bounded table: beyond ENROLL_LIMIT_MAX_KEYS logins and domains in one
 * window, new ones are refused (reported once), known ones still count. */
static void the_table_is_bounded(void **state)
{
	struct enroll_limit *l = *state;
	char login[32];
	bool first = false;
	size_t i = 0;
	for (; i + 1 < ENROLL_LIMIT_MAX_KEYS; i++) {
		snprintf(login, sizeof(login), "login%zu", i);
		assert_int_equal(enroll(l, login, "example.com", 5, 0, T0,
					&first), ENROLL_LIMIT_ALLOWED);
	}
	snprintf(login, sizeof(login), "login%zu", i);
	assert_int_equal(enroll(l, login, "example.com", 5, 0, T0, &first),
			 ENROLL_LIMIT_FULL);
	assert_true(first);
	assert_int_equal(enroll(l, "another", "example.com", 5, 0, T0, &first),
			 ENROLL_LIMIT_FULL);
	assert_false(first);
	assert_int_equal(enroll(l, "login0", "example.com", 5, 0, T0, &first),
			 ENROLL_LIMIT_ALLOWED);
	assert_int_equal(enroll(l, "another", "example.com", 5, 0,
				T0 + ENROLL_LIMIT_WINDOW, &first),
			 ENROLL_LIMIT_ALLOWED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			login_limit_refuses_beyond_n_and_reports_once, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			domain_limit_counts_every_login_and_none, setup,
			teardown),
		cmocka_unit_test_setup_teardown(a_new_window_starts_from_zero,
						setup, teardown),
		cmocka_unit_test_setup_teardown(zero_means_no_limit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			checks_without_records_do_not_count, setup, teardown),
		cmocka_unit_test_setup_teardown(the_table_is_bounded, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
