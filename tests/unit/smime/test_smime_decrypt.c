/* SPDX-License-Identifier: BSD-2-Clause */
/* Decryption: messages encrypted by smime_encrypt (EnvelopedData with
 * RSA PKCS#1 v1.5 and ECDH, AuthEnvelopedData with RSA-OAEP) and by
 * OpenSSL's CMS_encrypt (bare LF content) decrypt to the original
 * entity; the edits swap the Content-* headers; recipient matching; and
 * the refusals: not encrypted, not CMS, the wrong key, over the limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <smx/smime-decrypt.h>
#include <smx/smime-encrypt.h>

#include "testhdrs.h"
#include "testpki.h"

static struct testpki pki;
static struct testid rsa, p256, other;

static const char *const HEADERS[] = {
	"Received", " from x by y",
	"From", " alice@example.com",
	"MIME-Version", " 1.0",
	"Content-Type", " text/plain; charset=utf-8",
	"Subject", " test",
	"Content-Transfer-Encoding", " 8bit",
	NULL };
static const char BODY[] = "Gr\xc3\xbc\xc3\x9f\xc3\xa9\r\nline two\r\n";

static const unsigned CAPS_ALL = SMIME_CAP_KNOWN | SMIME_CAP_AES256_GCM |
	SMIME_CAP_AES256_CBC | SMIME_CAP_RSAES_OAEP;

static const char *test_dir(void)
{
	const char *d = getenv("SMX_TEST_DIR");
	return d != NULL ? d : "/tmp";
}

/* An encrypted message as the milter would see it: the original headers
 * after the encryption's edits; the body. */
struct msg {
	const char *names[32];
	const char *values[32];
	size_t n;
	struct spool *body;
	struct smime_encrypt *enc;
	char text[4096];	/* the headers' names and values */
};

/* Copies the edited headers into m. */
static void take_headers(struct msg *m, const struct testhdrs *h)
{
	size_t used = 0;
	for (size_t i = 0; i < testhdrs_n(h) && m->n < 32; i++) {
		const char *nv[2] = { testhdrs_name(h, i),
				      testhdrs_value(h, i) };
		const char **to[2] = { &m->names[m->n], &m->values[m->n] };
		for (int k = 0; k < 2; k++) {
			size_t len = strlen(nv[k]) + 1;
			assert_true(used + len <= sizeof(m->text));
			memcpy(m->text + used, nv[k], len);
			*to[k] = m->text + used;
			used += len;
		}
		m->n++;
	}
}

static void encrypt_to(struct msg *m, const struct smime_recipient *r,
		       size_t n)
{
	struct smx_error err;
	struct smime_encrypt_options o = { 0, test_dir() };
	assert_int_equal(smime_encrypt_new(r, n, &o, &m->enc, &err), SMX_OK);
	struct hdrlist *headers = testhdrs_list(HEADERS);
	struct spool *body = testhdrs_spool(BODY, strlen(BODY), 0);
	if (smime_encrypt_eom(m->enc, headers, body, &err) != SMX_OK)
		fail_msg("smime_encrypt_eom: %s", err.text);
	hdrlist_free(&headers);
	spool_free(&body);
	struct testhdrs *h = testhdrs_new(HEADERS);
	for (size_t i = 0; i < smime_encrypt_edit_count(m->enc); i++)
		testhdrs_apply(h, smime_encrypt_edit(m->enc, i));
	take_headers(m, h);
	testhdrs_free(&h);
	m->body = smime_encrypt_result_body(m->enc);
}

static struct smime_decrypt *parse(const struct msg *m, size_t max_bytes,
				   enum smx_status want)
{
	struct smime_decrypt_options o = { max_bytes, 0, test_dir(), 0 };
	struct smime_decrypt *d = NULL;
	struct smx_error err = { "" };
	assert_int_equal(smime_decrypt_new(&o, &d), SMX_OK);
	struct hdrlist *headers = hdrlist_new(0, 0);
	assert_non_null(headers);
	for (size_t i = 0; i < m->n; i++)
		assert_int_equal(hdrlist_append(headers, m->names[i],
						m->values[i]), 0);
	enum smx_status st = smime_decrypt_parse(d, headers, m->body, &err);
	hdrlist_free(&headers);	/* copied */
	if (st != want)
		fail_msg("parse: %d, wanted %d (%s)", st, want, err.text);
	return d;
}

static char *body_text(struct smime_decrypt *d)
{
	struct spool *s = smime_decrypt_result_body(d);
	assert_non_null(s);
	size_t len = spool_size(s);
	char *t = calloc(1, len + 1);
	assert_non_null(t);
	assert_int_equal(spool_rewind(s), 0);
	assert_int_equal(spool_read(s, t, len), (ssize_t)len);
	return t;
}

static const char *result_header(struct smime_decrypt *d, const char *name)
{
	const struct hdrlist *h = smime_decrypt_result_headers(d);
	assert_non_null(h);
	for (size_t i = 0; i < hdrlist_count(h); i++)
		if (strcmp(hdrlist_name(h, i), name) == 0)
			return hdrlist_value(h, i);
	return NULL;
}

static void assert_roundtrip(const struct smime_recipient *r,
			     const struct testid *id, const char *kind)
{
	struct msg m = { 0 };
	encrypt_to(&m, r, 1);
	struct smime_decrypt *d = parse(&m, 0, SMX_OK);
	struct smx_error err = { "" };
	assert_string_equal(smime_decrypt_kind(d), kind);
	assert_int_equal(smime_decrypt_recipient_info_count(d), 1);
	assert_true(smime_decrypt_is_for(d, id->cert));
	assert_false(smime_decrypt_is_for(d, other.cert));
	if (smime_decrypt_run(d, id->cert, id->key, " mx; test", &err) != SMX_OK)
		fail_msg("run: %s", err.text);
	/* Outer Content-Type, -Transfer-Encoding and -Disposition go (the
	 * highest index first), the inner ones and the note come. */
	size_t n = smime_decrypt_edit_count(d), deletes = 0;
	for (size_t i = 0; i < n; i++) {
		const struct smime_header_edit *e = smime_decrypt_edit(d, i);
		if (e->op == SMIME_EDIT_DELETE) {
			assert_int_equal(deletes, i);	/* deletions first */
			assert_int_equal(e->index, 1);
			deletes++;
		}
	}
	assert_int_equal(deletes, 3);
	assert_string_equal(result_header(d, "Content-Type"),
			    " text/plain; charset=utf-8");
	assert_string_equal(result_header(d, "Content-Transfer-Encoding"),
			    " quoted-printable");
	assert_string_equal(result_header(d, "Subject"), " test");
	assert_string_equal(result_header(d, SMIME_DECRYPTED_HEADER),
			    " mx; test");
	assert_null(result_header(d, "Content-Disposition"));
	char *body = body_text(d);
	assert_string_equal(body, "Gr=C3=BC=C3=9F=C3=A9\r\nline two\r\n");
	free(body);
	smime_decrypt_free(&d);
	assert_null(d);
	smime_encrypt_free(&m.enc);
}

/* Only the decrypting gateway writes the decryption header: one that came
 * with the message is not among the headers the result has. */
static void forged_decrypted_header_is_left_out(void **state)
{
	(void)state;
	struct smime_recipient r = { rsa.cert, 0, false };
	struct msg m = { 0 };
	encrypt_to(&m, &r, 1);
	m.names[m.n] = "x-smime-decrypted";
	m.values[m.n++] = " mx; forged";
	struct smime_decrypt *d = parse(&m, 0, SMX_OK);
	struct smx_error err = { "" };
	if (smime_decrypt_run(d, rsa.cert, rsa.key, " mx; test", &err) !=
	    SMX_OK)
		fail_msg("run: %s", err.text);
	const struct hdrlist *h = smime_decrypt_result_headers(d);
	size_t first = hdrlist_find(h, SMIME_DECRYPTED_HEADER, 0);
	assert_true(first < hdrlist_count(h));
	assert_string_equal(hdrlist_value(h, first), " mx; test");
	assert_int_equal(hdrlist_find(h, SMIME_DECRYPTED_HEADER, first + 1),
			 hdrlist_count(h));
	smime_decrypt_free(&d);
	smime_encrypt_free(&m.enc);
}

static void rsa_enveloped(void **state)
{
	(void)state;
	struct smime_recipient r = { rsa.cert, 0, false };
	assert_roundtrip(&r, &rsa, "enveloped-data");
}

static void rsa_oaep_auth_enveloped(void **state)
{
	(void)state;
	struct smime_recipient r = { rsa.cert, CAPS_ALL, false };
	assert_roundtrip(&r, &rsa, "authEnveloped-data");
}

static void ecdh_enveloped(void **state)
{
	(void)state;
	struct smime_recipient r = { p256.cert, 0, false };
	assert_roundtrip(&r, &p256, "enveloped-data");
}

static void several_recipients_each_matched(void **state)
{
	(void)state;
	struct smime_recipient r[] = { { rsa.cert, 0, false },
				       { p256.cert, 0, false } };
	struct msg m = { 0 };
	encrypt_to(&m, r, 2);
	struct smime_decrypt *d = parse(&m, 0, SMX_OK);
	assert_int_equal(smime_decrypt_recipient_info_count(d), 2);
	assert_true(smime_decrypt_is_for(d, rsa.cert));
	assert_true(smime_decrypt_is_for(d, p256.cert));
	assert_false(smime_decrypt_is_for(d, other.cert));
	smime_decrypt_free(&d);
	smime_encrypt_free(&m.enc);
}

static void wrong_key_is_refused(void **state)
{
	(void)state;
	struct smime_recipient r = { rsa.cert, 0, false };
	struct msg m = { 0 };
	encrypt_to(&m, &r, 1);
	struct smime_decrypt *d = parse(&m, 0, SMX_OK);
	struct smx_error err = { "" };
	assert_int_equal(smime_decrypt_run(d, other.cert, other.key, NULL, &err),
			 SMX_PERMFAIL);
	assert_string_equal(smime_decrypt_refusal(d), "unopened");
	assert_null(smime_decrypt_result_body(d));
	assert_int_equal(smime_decrypt_edit_count(d), 0);
	smime_decrypt_free(&d);
	smime_encrypt_free(&m.enc);
}

static void over_the_limit_is_refused(void **state)
{
	(void)state;
	struct smime_recipient r = { rsa.cert, 0, false };
	struct msg m = { 0 };
	encrypt_to(&m, &r, 1);
	struct smime_decrypt *d = parse(&m, 100, SMX_PERMFAIL);
	smime_decrypt_free(&d);
	smime_encrypt_free(&m.enc);
}

static struct spool *spool_of(const char *text)
{
	struct spool *s = spool_new(4096, test_dir(), 0);
	assert_non_null(s);
	assert_int_equal(spool_append(s, text, strlen(text)), 0);
	return s;
}

static void plain_and_signed_are_not_ours(void **state)
{
	(void)state;
	struct msg plain = { { "Content-Type" }, { " text/plain" }, 1,
			     spool_of("hello\r\n"), NULL, "" };
	struct smime_decrypt *d = parse(&plain, 0, SMX_NOTFOUND);
	smime_decrypt_free(&d);
	spool_free(&plain.body);
	struct msg sig = { { "Content-Type" },
			   { " application/pkcs7-mime; smime-type=signed-data" },
			   1, spool_of("MIIB\r\n"), NULL, "" };
	d = parse(&sig, 0, SMX_NOTFOUND);
	smime_decrypt_free(&d);
	spool_free(&sig.body);
}

static void garbage_is_permfail(void **state)
{
	(void)state;
	struct msg m = { { "Content-Type", "Content-Transfer-Encoding" },
			 { " application/pkcs7-mime; smime-type=enveloped-data",
			   " base64" },
			 2, spool_of("bm90IGEgQ01TIG9iamVjdA==\r\n"), NULL, "" };
	struct smime_decrypt *d = parse(&m, 0, SMX_PERMFAIL);
	smime_decrypt_free(&d);
	spool_free(&m.body);
}

/* OpenSSL's CMS_encrypt of an entity with bare LF line ends and a
 * folded header, announced as application/octet-stream "smime.p7m" (as
 * old clients do): the body comes out with CRLF, the fold is kept, the
 * non-Content header of the inner entity is dropped. */
static void openssl_lf_entity(void **state)
{
	(void)state;
	static const char inner[] =
		"Content-Type: text/plain;\n\tcharset=us-ascii\n"
		"X-Inner: dropped\n\nline one\nline two\n";
	BIO *in = BIO_new_mem_buf(inner, (int)strlen(inner));
	STACK_OF(X509) *certs = sk_X509_new_null();
	sk_X509_push(certs, rsa.cert);
	CMS_ContentInfo *cms = CMS_encrypt(certs, in, EVP_aes_256_cbc(),
					   CMS_BINARY);
	assert_non_null(cms);
	BIO *mem = BIO_new(BIO_s_mem());
	BIO *b64 = BIO_push(BIO_new(BIO_f_base64()), mem);
	assert_int_equal(i2d_CMS_bio(b64, cms), 1);
	assert_int_equal(BIO_flush(b64), 1);
	assert_int_equal(BIO_write(mem, "", 1), 1);	/* NUL */
	char *start = NULL;
	BIO_get_mem_data(mem, &start);
	struct msg m = { { "Content-Type", "Content-Transfer-Encoding" },
			 { " application/octet-stream; name=\"smime.p7m\"",
			   " base64" },
			 2, spool_of(start), NULL, "" };
	struct smime_decrypt *d = parse(&m, 0, SMX_OK);
	struct smx_error err = { "" };
	if (smime_decrypt_run(d, rsa.cert, rsa.key, NULL, &err) != SMX_OK)
		fail_msg("run: %s", err.text);
	assert_string_equal(result_header(d, "Content-Type"),
			    " text/plain;\n\tcharset=us-ascii");
	assert_null(result_header(d, "X-Inner"));
	assert_null(result_header(d, SMIME_DECRYPTED_HEADER));
	char *body = body_text(d);
	assert_string_equal(body, "line one\r\nline two\r\n");
	free(body);
	smime_decrypt_free(&d);
	spool_free(&m.body);
	BIO_free_all(b64);
	CMS_ContentInfo_free(cms);
	sk_X509_free(certs);
	BIO_free(in);
}

static int setup(void **state)
{
	(void)state;
	testpki_init(&pki);
	testpki_issue(&pki, TESTKEY_RSA2048, "rsa@example.com", &rsa);
	testpki_issue(&pki, TESTKEY_P256, "ec@example.com", &p256);
	testpki_issue(&pki, TESTKEY_RSA2048, "other@example.com", &other);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	testid_free(&rsa);
	testid_free(&p256);
	testid_free(&other);
	testpki_free(&pki);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rsa_enveloped),
		cmocka_unit_test(forged_decrypted_header_is_left_out),
		cmocka_unit_test(rsa_oaep_auth_enveloped),
		cmocka_unit_test(ecdh_enveloped),
		cmocka_unit_test(several_recipients_each_matched),
		cmocka_unit_test(wrong_key_is_refused),
		cmocka_unit_test(over_the_limit_is_refused),
		cmocka_unit_test(plain_and_signed_are_not_ours),
		cmocka_unit_test(garbage_is_permfail),
		cmocka_unit_test(openssl_lf_entity),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
