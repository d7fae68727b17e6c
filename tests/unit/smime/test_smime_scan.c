/* SPDX-License-Identifier: BSD-2-Clause */
/* Scanning entity text. The 7-bit scanner (smime/smime-util.c) against a
 * byte-at-a-time model of its rules, over crafted and random inputs cut
 * into random chunks: the fast path (memchr and word-at-a-time checks)
 * must agree with the rules everywhere, including CRs, NULs and 8-bit
 * bytes at word and chunk edges. The MIME boundary search (smime/sign.c)
 * finds a boundary only at a line start, also across its read chunks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smime-private.h"
#include "testhdrs.h"

/* The rules, written plainly. */
static struct scan model(const unsigned char *p, size_t n)
{
	struct scan sc = { 0 };
	for (size_t i = 0; i < n; i++) {
		if (sc.pending_cr && p[i] != '\n')
			sc.bare_cr = true;
		sc.pending_cr = false;
		if (p[i] == '\n') {
			if (sc.line > sc.maxline)
				sc.maxline = sc.line;
			sc.line = 0;
		} else if (p[i] == '\r') {
			sc.pending_cr = true;
		} else {
			sc.nul |= p[i] == 0;
			sc.eightbit |= (p[i] & 0x80) != 0;
			sc.line++;
		}
	}
	if (sc.pending_cr)
		sc.bare_cr = true;
	if (sc.line > sc.maxline)
		sc.maxline = sc.line;
	return sc;
}

static struct scan scanned(const unsigned char *p, size_t n, unsigned seed)
{
	struct scan sc = { 0 };
	size_t at = 0;
	srand(seed);
	while (at < n) {
		size_t chunk = 1 + (size_t)rand() % 40;
		if (chunk > n - at)
			chunk = n - at;
		scan_bytes(&sc, p + at, chunk);
		at += chunk;
	}
	scan_end(&sc);
	return sc;
}

static void assert_agrees(const unsigned char *p, size_t n, unsigned seed)
{
	struct scan want = model(p, n), got = scanned(p, n, seed);
	assert_int_equal(got.eightbit, want.eightbit);
	assert_int_equal(got.nul, want.nul);
	assert_int_equal(got.bare_cr, want.bare_cr);
	assert_int_equal(got.maxline, want.maxline);
	assert_int_equal(scan_clean(&got), scan_clean(&want));
}

static void text(const char *s, bool clean)
{
	const unsigned char *p = (const unsigned char *)s;
	for (unsigned seed = 1; seed < 20; seed++)
		assert_agrees(p, strlen(s), seed);
	struct scan sc = scanned(p, strlen(s), 7);
	assert_int_equal(scan_clean(&sc), clean);
}

static void crafted_inputs(void **state)
{
	(void)state;
	text("", true);
	text("plain line\r\nanother plain line of text\r\n", true);
	text("LF only\nlines\n", true);
	text("a bare CR\rin the middle of a long line\r\n", false);
	text("a CR at the very end\r", false);
	text("CR CR LF\r\r\n", false);
	text("12345678\r\n", true);	/* CRLF straddling a word edge */
	text("1234567\r\n", true);
	text("caf\xc3\xa9 in the ninth byte\r\n", false);
	text("\x80", false);
	char longline[1200];
	memset(longline, 'x', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	text(longline, false);
	longline[998] = '\0';
	text(longline, true);
	longline[998] = 'x';
	longline[999] = '\0';
	text(longline, false);
	unsigned char nul[] = "abcdefgh\0ijklmnop\r\n";
	assert_agrees(nul, sizeof(nul) - 1, 3);
	assert_true(model(nul, sizeof(nul) - 1).nul);
}

/* Mostly printable text with rare special bytes, so that both the fast
 * and the slow path run, at every alignment. */
static void random_inputs(void **state)
{
	(void)state;
	static const unsigned char special[] = { '\r', '\n', 0, 0x80, 0xff,
						 '\r', '\n', '\n' };
	unsigned char buf[3000];
	srand(12345);
	for (int round = 0; round < 2000; round++) {
		size_t n = (size_t)rand() % sizeof(buf);
		int rarity = 1 + rand() % 200;
		for (size_t i = 0; i < n; i++)
			buf[i] = rand() % rarity == 0
				 ? special[rand() % sizeof(special)]
				 : (unsigned char)(' ' + rand() % 95);
		assert_agrees(buf, n, (unsigned)round);
	}
}

static const char *test_dir(void)
{
	const char *d = getenv("SMX_TEST_DIR");
	return d != NULL ? d : "/tmp";
}

/* An entity with body body[0..len), then the search for boundary. */
static int occurs_in(const char *body, size_t len, const char *boundary)
{
	static const char *const type[] = { "Content-Type", " text/plain",
					     NULL };
	struct smime_entity *e = smime_entity_new(1 << 20, test_dir());
	struct smx_error err;
	struct hdrlist *headers = testhdrs_list(type);
	struct spool *spool = testhdrs_spool(body, len, 0);
	assert_non_null(e);
	assert_int_equal(smime_entity_finish(e, headers, spool, &err), SMX_OK);
	int r = smime_boundary_occurs(e, boundary);
	smime_entity_free(&e);
	hdrlist_free(&headers);
	spool_free(&spool);
	return r;
}

static void boundary_only_at_a_line_start(void **state)
{
	(void)state;
	const char *b = "=_smime_0123abcd";
	const char *yes = "text\r\n--=_smime_0123abcd\r\nmore\r\n";
	const char *closing = "text\r\n--=_smime_0123abcd--\r\n";
	const char *inside = "text --=_smime_0123abcd\r\n";
	const char *other = "text\r\n--=_smime_0123abce\r\n";
	const char *first = "--=_smime_0123abcd\r\nat the body's start\r\n";
	assert_int_equal(occurs_in(yes, strlen(yes), b), 1);
	assert_int_equal(occurs_in(closing, strlen(closing), b), 1);
	assert_int_equal(occurs_in(inside, strlen(inside), b), 0);
	assert_int_equal(occurs_in(other, strlen(other), b), 0);
	assert_int_equal(occurs_in(first, strlen(first), b), 1);
}

/* The entity is read in SMIME_CHUNK pieces: a boundary line placed at
 * every offset around the first edge (the headers shift it by less than
 * 200 bytes) is found each time. */
static void boundary_across_read_chunks(void **state)
{
	(void)state;
	const char *b = "=_smime_edge";
	size_t len = SMIME_CHUNK + 400;
	char *body = malloc(len);
	assert_non_null(body);
	for (size_t at = SMIME_CHUNK - 300; at < SMIME_CHUNK + 20; at++) {
		/* 7-bit lines of 70 bytes, the boundary line at `at` (a CR
		 * right before it would be bare: made an x) */
		for (size_t i = 0; i < len; i++)
			body[i] = i % 70 == 68 ? '\r' : i % 70 == 69 ? '\n' : 'x';
		if (body[at - 1] == '\r')
			body[at - 1] = 'x';
		memcpy(body + at, "\r\n--=_smime_edge\r\n", 18);
		if (body[at + 18] == '\n')
			body[at + 18] = 'x';
		if (occurs_in(body, len, b) != 1)
			fail_msg("boundary at body offset %zu not found", at);
	}
	memset(body, 'x', len);
	assert_int_equal(occurs_in(body, len, b), 0);
	free(body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(crafted_inputs),
		cmocka_unit_test(random_inputs),
		cmocka_unit_test(boundary_only_at_a_line_start),
		cmocka_unit_test(boundary_across_read_chunks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
