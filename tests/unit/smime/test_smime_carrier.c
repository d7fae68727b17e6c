/* SPDX-License-Identifier: BSD-2-Clause */
/* Which top-level Content-Types may hold S/MIME: the milter stops
 * reading the body of an inbound message only when this says no, so
 * every doubt must answer yes. The verifier is asked too: for each type
 * said not to carry S/MIME, a body holding a multipart/signed and an
 * opaque signed part finds no signature; the same body under the
 * carrying types is read (it finds one, a broken one). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <smx/smime.h>

#include "testhdrs.h"

static bool may_carry(const char *const *pairs)
{
	struct hdrlist *h = testhdrs_list(pairs);
	bool carry = smime_headers_may_carry(h);
	hdrlist_free(&h);
	return carry;
}

static bool type_may_carry(const char *value)
{
	const char *pairs[] = { "Subject", " t", "Content-Type", value, NULL };
	return may_carry(pairs);
}

/* Leaf types neither the verifier nor the decryption reads. */
static const char *const plain_types[] = {
	" text/plain",
	" text/plain; charset=utf-8",
	" TEXT/HTML",
	" text/plain; name=\"smime.p7m\"",
	" text/plain; x-note=\"multipart/signed\"",
	" image/png; name=\"x.p7s\"",
	" application/pdf",
	" application/zip; name=\"smime.p7m\"",
	" audio/ogg",
};

/* Types that may hold S/MIME, and values with doubt in them. */
static const char *const carrying_types[] = {
	(" multipart/signed; protocol=\"application/pkcs7-signature\"; "
	 "boundary=b"),
	" multipart/mixed; boundary=b",
	" Multipart/Alternative; boundary=b",
	" multipart/whatever; boundary=b",
	" message/rfc822",
	" message/partial; id=x; number=1",
	" application/pkcs7-mime; smime-type=enveloped-data",
	" application/x-pkcs7-mime; smime-type=signed-data",
	" application/pkcs7-signature",
	" application/x-pkcs7-signature",
	" application/pkcs7-mime",
	" application/octet-stream; name=\"smime.p7m\"",
	" application/octet-stream",
	"",
	" ",
	" ;;;===\"",
	" text",
	" /plain",
};

static void leaf_types_carry_nothing(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(plain_types) / sizeof(*plain_types);
	     i++)
		if (type_may_carry(plain_types[i]))
			fail_msg("'%s' said to carry S/MIME", plain_types[i]);
	const char *none[] = { "Subject", " no Content-Type", NULL };
	assert_false(may_carry(none));
}

static void multiparts_and_pkcs7_may_carry(void **state)
{
	(void)state;
	for (size_t i = 0;
	     i < sizeof(carrying_types) / sizeof(*carrying_types); i++)
		if (!type_may_carry(carrying_types[i]))
			fail_msg("'%s' said not to carry S/MIME",
				 carrying_types[i]);
}

static void doubtful_headers_may_carry(void **state)
{
	(void)state;
	const char *two[] = { "Content-Type", " text/plain",
			      "content-type", " text/html", NULL };
	assert_true(may_carry(two));
	/* GMime reads "Content-Type :" as Content-Type */
	const char *spaced[] = { "Content-Type", " text/plain",
				 "Content-Type ", " multipart/signed; "
				 "boundary=b", NULL };
	assert_true(may_carry(spaced));
	const char *alone[] = { "Content-Type\t", " multipart/mixed; "
				"boundary=b", NULL };
	assert_true(may_carry(alone));
	const char *other[] = { "Content-Typo", " multipart/mixed", NULL };
	assert_false(may_carry(other));
	assert_true(smime_headers_may_carry(NULL));

	/* not every header kept: the one that matters may be missing */
	struct hdrlist *h = hdrlist_new(2, 0);
	assert_non_null(h);
	assert_true(hdrlist_append(h, "Content-Type", " text/plain") >= 0);
	assert_true(hdrlist_append(h, "Subject", " a") >= 0);
	assert_true(hdrlist_append(h, "Content-Type", " multipart/mixed")
		    >= 0);
	assert_true(hdrlist_truncated(h));
	assert_true(smime_headers_may_carry(h));
	hdrlist_free(&h);
}

/* A body that holds, read as MIME, a multipart/signed and an opaque
 * signed part: the verifier finds a signature in it when it reads it. */
static const char BODY[] =
	"--b\r\n"
	"Content-Type: multipart/signed; "
	"protocol=\"application/pkcs7-signature\"; boundary=s\r\n"
	"\r\n"
	"--s\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"signed text\r\n"
	"--s\r\n"
	"Content-Type: application/pkcs7-signature\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"MIIBAAYJKoZIhvcNAQcCoA==\r\n"
	"--s--\r\n"
	"--b\r\n"
	"Content-Type: application/pkcs7-mime; smime-type=signed-data\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"MIIBAAYJKoZIhvcNAQcCoA==\r\n"
	"--b--\r\n";

static size_t signatures_found(const struct smime_verifier *v,
			       const char *content_type)
{
	const char *pairs[] = { "From", " <a@example.com>",
				"Content-Type", content_type, NULL };
	struct hdrlist *h = testhdrs_list(pairs);
	struct spool *body = testhdrs_spool(BODY, sizeof(BODY) - 1, 0);
	struct smime_verify *vfy = smime_verify_begin(v);
	struct smx_error err;
	assert_non_null(vfy);
	if (smime_verify_eom(vfy, h, body, NULL, &err) != SMX_OK)
		fail_msg("eom: %s", err.text);
	size_t n = smime_verify_signature_count(vfy);
	smime_verify_free(&vfy);
	spool_free(&body);
	hdrlist_free(&h);
	return n;
}

static void the_verifier_agrees(void **state)
{
	(void)state;
	const char *d = getenv("SMX_TEST_DIR");
	struct smime_verify_options o = {
		.authserv_id = "mx.example.org", .ca_file = "",
		.spool_dir = d != NULL ? d : "/tmp",
	};
	struct smime_verifier *v = NULL;
	struct smx_error err;
	assert_int_equal(smime_verifier_new(&o, &v, &err), SMX_OK);
	for (size_t i = 0; i < sizeof(plain_types) / sizeof(*plain_types);
	     i++)
		if (signatures_found(v, plain_types[i]) != 0)
			fail_msg("the verifier read the body under '%s'",
				 plain_types[i]);
	assert_int_equal(signatures_found(v, " multipart/mixed; boundary=b"),
			 2);
	assert_true(signatures_found(v, " application/pkcs7-mime; "
				     "smime-type=signed-data") > 0);
	smime_verifier_free(&v);
}

int main(void)
{
	smime_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(leaf_types_carry_nothing),
		cmocka_unit_test(multiparts_and_pkcs7_may_carry),
		cmocka_unit_test(doubtful_headers_may_carry),
		cmocka_unit_test(the_verifier_agrees),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
