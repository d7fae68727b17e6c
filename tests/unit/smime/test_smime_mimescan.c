/* SPDX-License-Identifier: BSD-2-Clause */
/* The look at MIME structure before GMime parses: boundaries nested
 * deeper than twice max_depth (however the boundary parameter is
 * written: plain, folded, RFC 2231) and more than twice max_parts
 * possible delimiter lines are refused with one permerror record; honest
 * structure (closed siblings, "-- " signature lines, rulers below the
 * bound, comments with spaces) passes. And the hostile messages kept
 * as fuzz regression inputs (repeated digest algorithms and signer
 * infos, CRLs, a 9000-bit RSA key in the set, deep nesting, many parts)
 * get the result that names their limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "testhdrs.h"
#include "verify-private.h"

#include <smx/msgfile.h>

#define MAX_DEPTH 16
#define MAX_PARTS 1000

struct buf {
	char *p;
	size_t len;
};

static void add(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	b->p = realloc(b->p, b->len + (size_t)n + 1);
	assert_non_null(b->p);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Runs mime_scan over b; returns its answer, *comment_r the record's
 * comment (or "" without one). */
static int scan(struct buf *b, char *comment, size_t size)
{
	struct smime_verifier v = { .max_depth = MAX_DEPTH,
				    .max_parts = MAX_PARTS };
	struct smime_verify m = { .v = &v };
	GMimeStream *s = g_mime_stream_mem_new_with_buffer(b->p, b->len);
	assert_non_null(s);
	int rc = mime_scan(&m, s, "1");
	g_object_unref(s);
	assert_true(m.n_sigs <= 1);
	assert_int_equal(m.n_sigs, rc == 1 ? 1 : 0);
	snprintf(comment, size, "%s", m.n_sigs ? m.sigs[0].comment : "");
	if (m.n_sigs)
		assert_int_equal(m.sigs[0].pub.result, SMIME_RESULT_PERMERROR);
	for (size_t i = 0; i < m.n_sigs; i++)
		free(m.sigs[i].comment);
	free(m.sigs);
	free(b->p);
	b->p = NULL;
	b->len = 0;
	return rc;
}

/* The boundary declarations below are formats taken from a table of
 * test data, not literals. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

/* depth multiparts, each boundary declared as decl (a format with two
 * %d: the level), around one text line. */
static void nest(struct buf *b, const char *decl, const char *delim,
		 int depth)
{
	add(b, "From: a@example.net\r\nMIME-Version: 1.0\r\n");
	for (int i = 0; i < depth; i++) {
		add(b, decl, i, i);
		add(b, "\r\n\r\n");
		add(b, delim, i, i);
		add(b, "\r\n");
	}
	add(b, "Content-Type: text/plain\r\n\r\ntext\r\n");
	for (int i = depth - 1; i >= 0; i--) {
		add(b, delim, i, i);
		add(b, "--\r\n");
	}
}

static void nesting_deeper_than_twice_max_depth_is_refused(void **state)
{
	(void)state;
	static const char *const decls[][2] = {
		{ "Content-Type: multipart/mixed; boundary=\"b%d-%d\"",
		  "--b%d-%d" },
		{ "Content-Type: multipart/mixed; BOUNDARY=b%d-%d", "--b%d-%d" },
		{ "Content-Type: multipart/mixed;\r\n boundary\r\n\t=\r\n "
		  "\"f%d-%d\"", "--f%d-%d" },
		{ "Content-Type: multipart/mixed; boundary*0=\"s p%d\"; "
		  "boundary*1=\"-%d\"", "--s p%d-%d" },
		/* comments around the name and the '=' (GMime skips them) */
		{ "Content-Type: multipart/mixed; boundary(c)=\"c%d-%d\"",
		  "--c%d-%d" },
		{ "Content-Type: multipart/mixed; boundary (a (b \\) c) d) = "
		  "(e\\() \"n%d-%d\"", "--n%d-%d" },
		{ "Content-Type: multipart/mixed; boundary (x)\r\n\t(y)= "
		  "\"g%d-%d\"", "--g%d-%d" },
	};
	char comment[200];
	for (size_t i = 0; i < sizeof(decls) / sizeof(decls[0]); i++) {
		/* GMime reads the boundary the delimiters use */
		struct buf decl = { NULL, 0 }, delim = { NULL, 0 };
		add(&decl, decls[i][0], 7, 7);
		add(&delim, decls[i][1], 7, 7);
		GMimeContentType *ct = g_mime_content_type_parse(
			NULL, decl.p + strlen("Content-Type: "));
		const char *bnd = g_mime_content_type_get_parameter(ct,
								   "boundary");
		if (bnd == NULL || strcmp(bnd, delim.p + 2) != 0)
			fail_msg("declaration %zu: GMime reads boundary %s", i,
				 bnd ? bnd : "(none)");
		g_object_unref(ct);
		free(decl.p);
		free(delim.p);
		struct buf b = { NULL, 0 };
		nest(&b, decls[i][0], decls[i][1], 2 * MAX_DEPTH + 1);
		if (scan(&b, comment, sizeof(comment)) != 1)
			fail_msg("declaration %zu: not refused", i);
		assert_string_equal(comment, "more than 16 levels of nesting");
	}
	struct buf b = { NULL, 0 };
	nest(&b, decls[0][0], decls[0][1], 2 * MAX_DEPTH - 2);
	assert_int_equal(scan(&b, comment, sizeof(comment)), 0);
}

#pragma GCC diagnostic pop

/* A boundary quoted with a quoted pair inside ("b0\"z", which GMime
 * reads as b0"z), and before each level's first delimiter a line that
 * would close the boundary read only up to that inner quote. */
static void quoted_pairs_in_boundaries_are_undone(void **state)
{
	(void)state;
	struct buf b = { NULL, 0 };
	char comment[200];
	add(&b, "From: a@example.net\r\nMIME-Version: 1.0\r\n");
	for (int i = 0; i < 2 * MAX_DEPTH + 1; i++)
		add(&b, "Content-Type: multipart/mixed; boundary=\"b%d\\\"z\""
		    "\r\n\r\n--b%d\\--\r\n--b%d\"z\r\n", i, i, i);
	add(&b, "Content-Type: text/plain\r\n\r\ntext\r\n");
	assert_int_equal(scan(&b, comment, sizeof(comment)), 1);
	assert_string_equal(comment, "more than 16 levels of nesting");

	/* closed by its unquoted value, it nests no deeper */
	for (int i = 0; i < 2 * MAX_DEPTH + 1; i++)
		add(&b, "--top\r\nContent-Type: multipart/mixed; "
		    "boundary=\"q\\\"%d\"\r\n\r\n--q\"%d\r\n\r\nx\r\n"
		    "--q\"%d--\r\n", i, i, i);
	assert_int_equal(scan(&b, comment, sizeof(comment)), 0);
}

static void closed_siblings_do_not_add_up(void **state)
{
	(void)state;
	struct buf b = { NULL, 0 };
	char comment[200];
	add(&b, "Content-Type: multipart/mixed; boundary=\"top\"\r\n\r\n");
	for (int i = 0; i < 200; i++)
		add(&b, "--top\r\nContent-Type: multipart/alternative; "
		    "boundary=\"alt%d\"\r\n\r\n--alt%d\r\n\r\nplain\r\n"
		    "--alt%d\r\nContent-Type: text/html\r\n\r\n<p>html\r\n"
		    "--alt%d--\r\n", i, i, i, i);
	add(&b, "--top--\r\n");
	assert_int_equal(scan(&b, comment, sizeof(comment)), 0);
}

static void delimiter_lines_over_twice_max_parts_are_refused(void **state)
{
	(void)state;
	struct buf b = { NULL, 0 };
	char comment[200];
	add(&b, "Content-Type: multipart/mixed; boundary=\"p\"\r\n\r\n");
	for (int i = 0; i < 2 * MAX_PARTS + 1; i++)
		add(&b, "--p\r\n\r\nx\r\n");
	assert_int_equal(scan(&b, comment, sizeof(comment)), 1);
	assert_string_equal(comment, "more than 1000 MIME parts");

	/* a boundary with a space makes every "--" line count */
	add(&b, "Content-Type: multipart/mixed; boundary=\"a b\"\r\n\r\n");
	for (int i = 0; i < 2 * MAX_PARTS + 1; i++)
		add(&b, "--a b\r\n\r\nx\r\n");
	assert_int_equal(scan(&b, comment, sizeof(comment)), 1);
}

static void honest_dash_lines_pass(void **state)
{
	(void)state;
	struct buf b = { NULL, 0 };
	char comment[200];
	add(&b, "Content-Type: text/plain\r\n\r\n");
	for (int i = 0; i < 10 * MAX_PARTS; i++)
		add(&b, "-- comment %d\r\nSELECT 1;\r\n-- \r\n--\r\n", i);
	for (int i = 0; i < MAX_PARTS; i++)
		add(&b, "----------\r\n");
	assert_int_equal(scan(&b, comment, sizeof(comment)), 0);
}

/* The hostile inputs kept for the fuzzer, through the whole verifier. */
static void regress_inputs_name_their_limit(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{ "budget-repeated-digest-algorithms",
		  "more than 4 digest algorithms" },
		{ "budget-duplicate-digest-algorithm",
		  "a digest algorithm listed twice" },
		{ "budget-repeated-signer-infos", "more than 4 signers" },
		{ "budget-many-crls", "more than 32 certificates or CRLs" },
		{ "budget-deep-nesting", "more than 16 levels of nesting" },
		{ "budget-deep-nesting-folded",
		  "more than 16 levels of nesting" },
		{ "budget-deep-nesting-rfc2231",
		  "more than 16 levels of nesting" },
		{ "budget-many-parts", "more than 1000 MIME parts" },
		{ "budget-huge-key", "a key over 8192 bits" },
	};
	const char *src = getenv("SMX_SOURCE_DIR");
	if (src == NULL)
		skip();
	struct smime_verify_options o = {
		.authserv_id = "mx.example.org", .ca_file = "",
		.spool_dir = getenv("SMX_TEST_DIR"),
	};
	struct smime_verifier *v = NULL;
	assert_int_equal(smime_verifier_new(&o, &v, NULL), SMX_OK);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[1024];
		snprintf(path, sizeof(path),
			 "%s/tests/fuzz/regress/fuzz_smime_verify/%s", src,
			 cases[i][0]);
		FILE *f = fopen(path, "rb");
		assert_non_null(f);
		static char data[1 << 20];
		size_t n = fread(data, 1, sizeof(data) - 1, f);
		fclose(f);
		data[n] = '\0';
		struct smime_verify *vfy = smime_verify_begin(v);
		assert_non_null(vfy);
		/* headers as the milter gives them */
		struct hdrlist *headers = hdrlist_new(0, 0);
		struct spool *body = testhdrs_spool("", 0, 0);
		assert_non_null(headers);
		assert_int_equal(msgfile_split(data, n, headers, body), 0);
		struct smime_verify_msginfo info = { "bob@partner.example",
						     false };
		assert_int_equal(smime_verify_eom(vfy, headers, body, &info,
						  NULL), SMX_OK);
		hdrlist_free(&headers);
		spool_free(&body);
		const char *ar = smime_verify_ar_value(vfy);
		if (ar == NULL || strstr(ar, cases[i][1]) == NULL)
			fail_msg("%s: want [%s] in %s", cases[i][0],
				 cases[i][1], ar ? ar : "(none)");
		smime_verify_free(&vfy);
	}
	smime_verifier_free(&v);
}

int main(void)
{
	g_mime_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nesting_deeper_than_twice_max_depth_is_refused),
		cmocka_unit_test(quoted_pairs_in_boundaries_are_undone),
		cmocka_unit_test(closed_siblings_do_not_add_up),
		cmocka_unit_test(delimiter_lines_over_twice_max_parts_are_refused),
		cmocka_unit_test(honest_dash_lines_pass),
		cmocka_unit_test(regress_inputs_name_their_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
