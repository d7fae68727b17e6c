/* SPDX-License-Identifier: BSD-2-Clause */
/* The signed entity: canonical form and re-encoding edge cases. The
 * oracles are hand-written expectations and a quoted-printable and base64
 * decoder that do not come from GMime. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <smx/smime.h>

#include "testhdrs.h"

struct built {
	char *data;
	size_t len;
	unsigned flags;
};

static const char *test_dir(void)
{
	const char *d = getenv("SMX_TEST_DIR");
	return d != NULL ? d : "/tmp";
}

/* Builds the entity from name/value pairs (NULL-terminated) and a body
 * given in chunks of `chunk` bytes (to cross chunk boundaries). */
static struct built build(const char *const *hdrs, const char *body,
			  size_t body_len, size_t threshold, size_t chunk)
{
	struct smime_entity *e = smime_entity_new(threshold, test_dir());
	struct smx_error err;
	struct hdrlist *headers = testhdrs_list(hdrs);
	struct spool *spool = testhdrs_spool(body, body_len, chunk);
	assert_non_null(e);
	enum smx_status st = smime_entity_finish(e, headers, spool, &err);
	if (st != SMX_OK)
		fail_msg("finish: %s", err.text);
	hdrlist_free(&headers);
	spool_free(&spool);
	struct built b = { malloc(smime_entity_size(e) + 1),
			   smime_entity_size(e), smime_entity_flags(e) };
	assert_non_null(b.data);
	assert_int_equal(smime_entity_rewind(e), 0);
	size_t off = 0;
	ssize_t n;
	while ((n = smime_entity_read(e, b.data + off, 4096)) > 0)
		off += (size_t)n;
	assert_int_equal(off, b.len);
	b.data[b.len] = '\0';
	smime_entity_free(&e);
	assert_null(e);
	return b;
}

static void assert_canonical_7bit(const struct built *b)
{
	size_t line = 0;
	for (size_t i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->data[i];
		if (c == '\n')
			fail_msg("bare LF at %zu", i);
		if (c == '\r') {
			if (i + 1 >= b->len || b->data[i + 1] != '\n')
				fail_msg("bare CR at %zu", i);
			i++;
			line = 0;
			continue;
		}
		if (c == 0 || c > 127)
			fail_msg("byte 0x%02x at %zu", c, i);
		if (++line > 998)
			fail_msg("line over 998 octets at %zu", i);
	}
}

/* The body of a single-part entity. */
static const char *body_of(const struct built *b)
{
	const char *p = strstr(b->data, "\r\n\r\n");
	assert_non_null(p);
	return p + 4;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 2045 6.7 decoding: soft breaks vanish, hard breaks stay CRLF. */
static size_t qp_decode(const char *in, size_t len, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (in[i] != '=') {
			out[o++] = in[i];
			continue;
		}
		if (i + 2 < len && in[i + 1] == '\r' && in[i + 2] == '\n') {
			i += 2;
			continue;
		}
		assert_true(i + 2 < len);
		int hi = hexval(in[i + 1]), lo = hexval(in[i + 2]);
		assert_true(hi >= 0 && lo >= 0);
		out[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	return o;
}

static size_t b64_decode(const char *in, size_t len, unsigned char *out)
{
	char *clean = malloc(len + 1);
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		if (in[i] != '\r' && in[i] != '\n')
			clean[n++] = in[i];
	int r = EVP_DecodeBlock(out, (unsigned char *)clean, (int)n);
	assert_true(r >= 0);
	size_t pad = 0;
	while (n > 0 && clean[n - 1] == '=') {
		pad++;
		n--;
	}
	free(clean);
	return (size_t)r - pad;
}

static void assert_entity(const char *const *hdrs, const char *body,
			  const char *want, unsigned want_flags)
{
	struct built b = build(hdrs, body, strlen(body), 0, 7);
	assert_string_equal(b.data, want);
	assert_int_equal(b.flags, want_flags);
	assert_canonical_7bit(&b);
	free(b.data);
}

static const char *const TEXT_ASCII[] = {
	"From", " a@example.com",
	"MIME-Version", " 1.0",
	"Content-Type", " text/plain; charset=us-ascii",
	"Subject", " hi", NULL };
static const char *const TEXT_UTF8[] = {
	"MIME-Version", " 1.0",
	"Content-Type", " text/plain; charset=utf-8",
	"Content-Transfer-Encoding", " 8bit", NULL };
static const char *const NO_MIME[] = { "Subject", " plain", NULL };

static void seven_bit_text_is_copied_unchanged(void **state)
{
	(void)state;
	assert_entity(TEXT_ASCII, "Hello\r\n\r\nWorld.\r\n",
		      "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
		      "Hello\r\n\r\nWorld.\r\n", 0);
}

static void missing_content_type_gets_rfc2045_default(void **state)
{
	(void)state;
	assert_entity(NO_MIME, "x\r\n",
		      "Content-Type: text/plain; charset=us-ascii\r\n\r\nx\r\n",
		      SMIME_ENTITY_DEFAULT_TYPE);
}

static void empty_body_gives_headers_only(void **state)
{
	(void)state;
	assert_entity(NO_MIME, "",
		      "Content-Type: text/plain; charset=us-ascii\r\n\r\n",
		      SMIME_ENTITY_DEFAULT_TYPE);
	assert_entity(TEXT_ASCII, "",
		      "Content-Type: text/plain; charset=us-ascii\r\n\r\n", 0);
}

static void bare_lf_becomes_crlf(void **state)
{
	(void)state;
	assert_entity(TEXT_ASCII, "a\nb\r\nc\n",
		      "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
		      "a\r\nb\r\nc\r\n", 0);
}

static void bare_cr_is_kept_as_encoded_octet(void **state)
{
	(void)state;
	assert_entity(TEXT_ASCII, "a\rb\r\n",
		      "Content-Type: text/plain; charset=us-ascii\r\n"
		      "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
		      "a=0Db\r\n", SMIME_ENTITY_REENCODED);
}

static void trailing_whitespace_kept_in_7bit_encoded_in_qp(void **state)
{
	(void)state;
	assert_entity(TEXT_ASCII, "a  \r\nb\t\r\n",
		      "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
		      "a  \r\nb\t\r\n", 0);
	assert_entity(TEXT_UTF8, "\xc3\xa9  \r\nb\t\r\n",
		      "Content-Type: text/plain; charset=utf-8\r\n"
		      "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
		      "=C3=A9 =20\r\nb=09\r\n", SMIME_ENTITY_REENCODED);
}

static void from_lines_are_not_altered(void **state)
{
	(void)state;
	assert_entity(TEXT_ASCII, "From me\r\n>From you\r\n",
		      "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
		      "From me\r\n>From you\r\n", 0);
	struct built b = build(TEXT_UTF8, "From \xc3\xa9\r\n", 9, 0, 3);
	char out[64];
	const char *body = body_of(&b);
	size_t n = qp_decode(body, strlen(body), out);
	assert_int_equal(n, 9);
	assert_memory_equal(out, "From \xc3\xa9\r\n", 9);
	free(b.data);
}

static void no_final_newline_is_kept(void **state)
{
	(void)state;
	assert_entity(TEXT_ASCII, "abc",
		      "Content-Type: text/plain; charset=us-ascii\r\n\r\nabc", 0);
	struct built b = build(TEXT_UTF8, "ab\xc3\xa9", 4, 0, 1);
	assert_canonical_7bit(&b);
	char out[16];
	const char *body = body_of(&b);
	size_t n = qp_decode(body, strlen(body), out);
	assert_int_equal(n, 4);
	assert_memory_equal(out, "ab\xc3\xa9", 4);
	free(b.data);
}

static void long_line_is_quoted_printable(void **state)
{
	(void)state;
	size_t len = 5000;
	char *body = malloc(len + 3);
	for (size_t i = 0; i < len; i++)
		body[i] = (char)('a' + i % 26);
	memcpy(body + len, "\r\n", 3);
	struct built b = build(TEXT_ASCII, body, len + 2, 0, 1000);
	assert_canonical_7bit(&b);
	assert_int_equal(b.flags, SMIME_ENTITY_REENCODED);
	assert_non_null(strstr(b.data, "quoted-printable"));
	const char *enc = body_of(&b);
	char *out = malloc(strlen(enc) + 1);
	size_t n = qp_decode(enc, strlen(enc), out);
	assert_int_equal(n, len + 2);
	assert_memory_equal(out, body, len + 2);
	free(out);
	free(body);
	free(b.data);
}

static void binary_is_base64_and_byte_exact(void **state)
{
	(void)state;
	static const char *const hdrs[] = {
		"Content-Type", " application/octet-stream",
		"Content-Transfer-Encoding", " binary", NULL };
	char body[1024];
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (char)(i * 7 + (i >> 8));
	struct built b = build(hdrs, body, sizeof(body), 100, 100);
	assert_canonical_7bit(&b);
	assert_int_equal(b.flags, SMIME_ENTITY_REENCODED);
	assert_non_null(strstr(b.data, "Content-Transfer-Encoding: base64\r\n"));
	assert_null(strstr(b.data, "binary"));
	const char *enc = body_of(&b);
	unsigned char out[2048];
	assert_int_equal(b64_decode(enc, strlen(enc), out), sizeof(body));
	assert_memory_equal(out, body, sizeof(body));
	free(b.data);
}

static void folded_header_gets_crlf(void **state)
{
	(void)state;
	static const char *const hdrs[] = {
		"Content-Type", " text/plain;\n\tcharset=us-ascii",
		"Content-Disposition", "inline", NULL };
	assert_entity(hdrs, "x\r\n",
		      "Content-Type: text/plain;\r\n\tcharset=us-ascii\r\n"
		      "Content-Disposition: inline\r\n\r\nx\r\n", 0);
}

static const char MULTI_7BIT_PART[] =
	"--b1\r\n"
	"Content-Type: text/plain; charset=us-ascii\r\n"
	"\r\n"
	"Seven bit part, From line\r\nand trailing space \r\n";

static void multipart_with_8bit_part_reencodes_only_that_part(void **state)
{
	(void)state;
	static const char *const hdrs[] = {
		"Content-Type", " multipart/mixed; boundary=\"b1\"",
		"Content-Transfer-Encoding", " 8bit", NULL };
	char body[1024];
	snprintf(body, sizeof(body), "preamble\r\n%s"
		 "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n"
		 "Content-Transfer-Encoding: 8bit\r\n\r\n"
		 "gr\xc3\xbc\xc3\x9f dich\r\n"
		 "--b1\r\nContent-Type: image/png\r\n"
		 "Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n"
		 "--b1--\r\n", MULTI_7BIT_PART);
	struct built b = build(hdrs, body, strlen(body), 0, 5);
	assert_canonical_7bit(&b);
	assert_int_equal(b.flags, SMIME_ENTITY_REENCODED);
	/* the container's 8bit label went, the 7-bit parts are intact */
	assert_null(strstr(b.data, "8bit"));
	assert_non_null(strstr(b.data, MULTI_7BIT_PART));
	assert_non_null(strstr(b.data, "iVBORw0KGgo=\r\n--b1--"));
	assert_non_null(strstr(b.data,
		"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
		"gr=C3=BC=C3=9F dich\r\n--b1\r\n"));
	free(b.data);
}

static void seven_bit_multipart_is_copied_unchanged(void **state)
{
	(void)state;
	static const char *const hdrs[] = {
		"Content-Type", " multipart/alternative; boundary=\"b1\"", NULL };
	char body[1024], want[1200];
	snprintf(body, sizeof(body), "%s--b1\r\nContent-Type: text/html\r\n"
		 "\r\n<p>hi</p>\r\n--b1--\r\nepilogue\n", MULTI_7BIT_PART);
	snprintf(want, sizeof(want), "Content-Type: multipart/alternative; "
		 "boundary=\"b1\"\r\n\r\n%s--b1\r\nContent-Type: text/html\r\n"
		 "\r\n<p>hi</p>\r\n--b1--\r\nepilogue\r\n", MULTI_7BIT_PART);
	assert_entity(hdrs, body, want, 0);
}

static void attached_message_with_8bit_body_is_entered(void **state)
{
	(void)state;
	static const char *const hdrs[] = {
		"Content-Type", " multipart/mixed; boundary=\"b1\"", NULL };
	static const char body[] =
		"--b1\r\nContent-Type: message/rfc822\r\n"
		"Content-Transfer-Encoding: 8bit\r\n\r\n"
		"Subject: inner\r\nContent-Type: text/plain; charset=utf-8\r\n"
		"Content-Transfer-Encoding: 8bit\r\n\r\n\xc3\xa9t\xc3\xa9\r\n"
		"--b1--\r\n";
	struct built b = build(hdrs, body, strlen(body), 0, 64);
	assert_canonical_7bit(&b);
	assert_int_equal(b.flags, SMIME_ENTITY_REENCODED);
	assert_non_null(strstr(b.data, "Content-Type: message/rfc822\r\n\r\n"
				       "Subject: inner\r\n"));
	assert_non_null(strstr(b.data, "=C3=A9t=C3=A9\r\n"));
	free(b.data);
}

static void eight_bit_mime_header_is_reported(void **state)
{
	(void)state;
	static const char *const hdrs[] = {
		"Content-Type", " text/plain; name=\"\xc3\xa9.txt\"", NULL };
	struct built b = build(hdrs, "x\r\n", 3, 0, 3);
	assert_true(b.flags & SMIME_ENTITY_8BIT_LEFT);
	free(b.data);
}

static void large_body_spills_to_disk_and_stays_exact(void **state)
{
	(void)state;
	size_t len = 3u << 20;
	char *body = malloc(len);
	for (size_t i = 0; i < len; i++)
		body[i] = (i % 80 == 79) ? '\n' : (char)(0xa0 + i % 50);
	struct built b = build(TEXT_UTF8, body, len, 64 * 1024, 65536);
	assert_canonical_7bit(&b);
	const char *enc = body_of(&b);
	size_t enc_len = b.len - (size_t)(enc - b.data);
	char *out = malloc(enc_len);
	size_t n = qp_decode(enc, enc_len, out);
	/* every LF became CRLF in the text */
	size_t want_len = len + len / 80;
	assert_int_equal(n, want_len);
	for (size_t i = 0, j = 0; i < len; i++, j++) {
		if (body[i] == '\n')
			assert_int_equal(out[j++], '\r');
		assert_int_equal(out[j], body[i]);
	}
	free(out);
	free(body);
	free(b.data);
}

static void second_finish_is_refused(void **state)
{
	(void)state;
	static const char *const type[] = { "Content-Type", " text/plain",
					     NULL };
	struct smime_entity *e = smime_entity_new(0, test_dir());
	struct hdrlist *headers = testhdrs_list(type);
	struct spool *body = testhdrs_spool("x", 1, 0);
	assert_int_equal(smime_entity_finish(e, headers, body, NULL), SMX_OK);
	assert_int_equal(smime_entity_finish(e, headers, body, NULL),
			 SMX_PERMFAIL);
	smime_entity_free(&e);
	smime_entity_free(&e);	/* NULL-safe */
	hdrlist_free(&headers);
	spool_free(&body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(seven_bit_text_is_copied_unchanged),
		cmocka_unit_test(missing_content_type_gets_rfc2045_default),
		cmocka_unit_test(empty_body_gives_headers_only),
		cmocka_unit_test(bare_lf_becomes_crlf),
		cmocka_unit_test(bare_cr_is_kept_as_encoded_octet),
		cmocka_unit_test(trailing_whitespace_kept_in_7bit_encoded_in_qp),
		cmocka_unit_test(from_lines_are_not_altered),
		cmocka_unit_test(no_final_newline_is_kept),
		cmocka_unit_test(long_line_is_quoted_printable),
		cmocka_unit_test(binary_is_base64_and_byte_exact),
		cmocka_unit_test(folded_header_gets_crlf),
		cmocka_unit_test(multipart_with_8bit_part_reencodes_only_that_part),
		cmocka_unit_test(seven_bit_multipart_is_copied_unchanged),
		cmocka_unit_test(attached_message_with_8bit_body_is_entered),
		cmocka_unit_test(eight_bit_mime_header_is_reported),
		cmocka_unit_test(large_body_spills_to_disk_and_stays_exact),
		cmocka_unit_test(second_finish_is_refused),
	};
	smime_init();
	return cmocka_run_group_tests_name("smime_entity", tests, NULL, NULL);
}
