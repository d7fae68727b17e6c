/* SPDX-License-Identifier: BSD-2-Clause */
/* The header list (bounds, lookup, copies) and the splitting of a
 * message file into it and a spool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <smx/hdrlist.h>
#include <smx/msgfile.h>
#include <smx/spool.h>

static void keeps_order_and_finds_in_any_case(void **state)
{
	(void)state;
	struct hdrlist *l = hdrlist_new(0, 0);
	assert_non_null(l);
	assert_int_equal(hdrlist_append(l, "Received", " from a"), 0);
	assert_int_equal(hdrlist_append(l, "Subject", " hello"), 0);
	assert_int_equal(hdrlist_append(l, "received", " from b"), 0);
	assert_int_equal(hdrlist_append(l, "X-Empty", NULL), 0);
	assert_int_equal(hdrlist_count(l), 4);
	assert_string_equal(hdrlist_name(l, 2), "received");
	assert_string_equal(hdrlist_value(l, 2), " from b");
	assert_string_equal(hdrlist_value(l, 3), "");
	assert_int_equal(hdrlist_find(l, "RECEIVED", 0), 0);
	assert_int_equal(hdrlist_find(l, "Received", 1), 2);
	assert_int_equal(hdrlist_find(l, "Received", 3), 4);	/* none */
	assert_string_equal(hdrlist_get(l, "subject"), " hello");
	assert_null(hdrlist_get(l, "From"));
	assert_false(hdrlist_truncated(l));
	hdrlist_free(&l);
	assert_null(l);
	hdrlist_free(&l);	/* NULL-safe */
}

static void count_bound_drops_and_marks(void **state)
{
	(void)state;
	struct hdrlist *l = hdrlist_new(2, 0);
	assert_int_equal(hdrlist_append(l, "A", " 1"), 0);
	assert_int_equal(hdrlist_append(l, "B", " 2"), 0);
	assert_int_equal(hdrlist_append(l, "C", " 3"), 1);
	assert_int_equal(hdrlist_count(l), 2);
	assert_true(hdrlist_truncated(l));
	assert_null(hdrlist_get(l, "C"));
	hdrlist_free(&l);
}

/* Each field counts its name, value and 4 bytes. */
static void size_bound_drops_and_marks(void **state)
{
	(void)state;
	struct hdrlist *l = hdrlist_new(0, 20);
	assert_int_equal(hdrlist_append(l, "Ab", " 123456"), 0);	/* 13 */
	assert_int_equal(hdrlist_append(l, "C", " 1"), 0);	/* 20 */
	assert_int_equal(hdrlist_append(l, "D", ""), 1);	/* 25 */
	assert_true(hdrlist_truncated(l));
	assert_int_equal(hdrlist_count(l), 2);
	hdrlist_free(&l);
	/* one field larger than the whole bound */
	l = hdrlist_new(0, 10);
	char big[64];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(hdrlist_append(l, "X", big), 1);
	assert_int_equal(hdrlist_count(l), 0);
	hdrlist_free(&l);
}

static void many_fields_grow_within_the_default_bounds(void **state)
{
	(void)state;
	struct hdrlist *l = hdrlist_new(HDRLIST_MAX_COUNT, HDRLIST_MAX_BYTES);
	size_t kept = 0;
	while (hdrlist_append(l, "Received", " from somewhere") == 0)
		kept++;
	assert_int_equal(kept, HDRLIST_MAX_COUNT);
	assert_true(hdrlist_truncated(l));
	assert_string_equal(hdrlist_value(l, kept - 1), " from somewhere");
	hdrlist_free(&l);
}

/* A continuation line joins the last value after a line feed and
 * counts against the size bound; a list without fields has nothing to
 * fold into. */
static void fold_joins_the_last_value_within_the_bound(void **state)
{
	(void)state;
	struct hdrlist *l = hdrlist_new(0, 30);
	assert_int_equal(hdrlist_fold_last(l, " lost"), -1);
	assert_int_equal(hdrlist_append(l, "A", " 1"), 0);	/* 7 */
	assert_int_equal(hdrlist_append(l, "Subject", " one"), 0);	/* 22 */
	assert_int_equal(hdrlist_fold_last(l, "\ttwo"), 0);	/* 27 */
	assert_string_equal(hdrlist_value(l, 1), " one\n\ttwo");
	assert_string_equal(hdrlist_name(l, 1), "Subject");
	assert_string_equal(hdrlist_value(l, 0), " 1");
	assert_false(hdrlist_truncated(l));
	assert_int_equal(hdrlist_fold_last(l, " xyz"), 1);	/* 32 */
	assert_true(hdrlist_truncated(l));
	assert_string_equal(hdrlist_value(l, 1), " one\n\ttwo");
	assert_int_equal(hdrlist_fold_last(l, " x"), 0);	/* 30 */
	assert_string_equal(hdrlist_get(l, "subject"), " one\n\ttwo\n x");
	assert_int_equal(hdrlist_append(l, "B", ""), 1);
	struct hdrlist *c = hdrlist_copy(l);
	assert_non_null(c);
	assert_string_equal(hdrlist_value(c, 1), " one\n\ttwo\n x");
	hdrlist_free(&c);
	hdrlist_free(&l);
}

static void copy_is_independent(void **state)
{
	(void)state;
	struct hdrlist *l = hdrlist_new(1, 0);
	assert_int_equal(hdrlist_append(l, "From", " a@example.com"), 0);
	assert_int_equal(hdrlist_append(l, "To", " b@example.com"), 1);
	struct hdrlist *c = hdrlist_copy(l);
	hdrlist_free(&l);
	assert_non_null(c);
	assert_int_equal(hdrlist_count(c), 1);
	assert_string_equal(hdrlist_get(c, "from"), " a@example.com");
	assert_true(hdrlist_truncated(c));
	assert_int_equal(hdrlist_append(c, "To", " b@example.com"), 1);
	hdrlist_free(&c);
}

static char *spool_text(struct spool *s)
{
	size_t len = spool_size(s);
	char *t = calloc(1, len + 1);
	assert_non_null(t);
	assert_int_equal(spool_rewind(s), 0);
	assert_int_equal(spool_read(s, t, len), (ssize_t)len);
	return t;
}

/* As the milter receives a message: folding kept as LF, CRs gone, the
 * mbox line and lines without a colon skipped, the body as it is. */
static void message_file_splits_as_the_milter_sees_it(void **state)
{
	(void)state;
	static const char msg[] =
		"From sender@example.com Mon Dec  7 00:00:00 2026\n"
		"Subject: one\r\n"
		"\ttwo\r\n"
		"no colon here\r\n"
		"From: a@example.com\r\n"
		"\r\n"
		"body\r\nFrom: not a header\r\n";
	struct hdrlist *h = hdrlist_new(HDRLIST_MAX_COUNT, HDRLIST_MAX_BYTES);
	struct spool *body = spool_new(1024, NULL, 0);
	assert_int_equal(msgfile_split(msg, sizeof(msg) - 1, h, body), 0);
	assert_int_equal(hdrlist_count(h), 2);
	assert_string_equal(hdrlist_name(h, 0), "Subject");
	assert_string_equal(hdrlist_value(h, 0), " one\n\ttwo");
	assert_string_equal(hdrlist_get(h, "From"), " a@example.com");
	char *t = spool_text(body);
	assert_string_equal(t, "body\r\nFrom: not a header\r\n");
	free(t);
	hdrlist_free(&h);
	spool_free(&body);
}

static void message_without_body_or_headers(void **state)
{
	(void)state;
	struct hdrlist *h = hdrlist_new(0, 0);
	struct spool *body = spool_new(1024, NULL, 0);
	assert_int_equal(msgfile_split("Subject: x", 10, h, body), 0);
	assert_string_equal(hdrlist_get(h, "Subject"), " x");
	assert_int_equal(spool_size(body), 0);
	assert_int_equal(msgfile_split("\nonly body\n", 11, h, body), 0);
	assert_int_equal(hdrlist_count(h), 1);
	char *t = spool_text(body);
	assert_string_equal(t, "only body\n");
	free(t);
	hdrlist_free(&h);
	spool_free(&body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keeps_order_and_finds_in_any_case),
		cmocka_unit_test(count_bound_drops_and_marks),
		cmocka_unit_test(size_bound_drops_and_marks),
		cmocka_unit_test(many_fields_grow_within_the_default_bounds),
		cmocka_unit_test(fold_joins_the_last_value_within_the_bound),
		cmocka_unit_test(copy_is_independent),
		cmocka_unit_test(message_file_splits_as_the_milter_sees_it),
		cmocka_unit_test(message_without_body_or_headers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
