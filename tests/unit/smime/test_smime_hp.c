/* SPDX-License-Identifier: BSD-2-Clause */
/* Header protection: the outer edits of the baseline policy, the
 * protected block (fields inside, HP-Outer, no trace fields or Bcc),
 * hp="cipher" with the legacy display element in an encrypted entity
 * (text/plain, text/html, multipart/alternative), hp="clear" on a signed
 * one (the outside untouched), and the way back: decryption gives the header the protected
 * values, keeps the outer From when the inside names another mailbox,
 * and finds fields under an opaque or clear signature and in the older
 * protected-headers="v1" form. OpenSSL's CMS_decrypt is the oracle. */
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

#include <smx/smime-decrypt.h>
#include <smx/smime-encrypt.h>
#include <smx/smime-hp.h>

#include "testhdrs.h"
#include "testpki.h"

static struct testpki pki;
static struct testid rsa;

static const char *const HEADERS[] = {
	"Received", " from x by y",
	"From", " Alice <alice@example.com>",
	"To", " bob@partner.example",
	"Bcc", " hidden@example.com",
	"Comments", " first",
	"Subject", " Quarterly numbers",
	"Keywords", " finance",
	"Comments", " second",
	"MIME-Version", " 1.0",
	"Content-Type", " text/plain; charset=us-ascii",
	NULL };
static const char BODY[] = "The numbers.\r\n";

static const char *test_dir(void)
{
	const char *d = getenv("SMX_TEST_DIR");
	return d != NULL ? d : "/tmp";
}

static struct smime_hp *hp_of(enum smime_hp_mode mode,
			      const char *const *hdrs)
{
	struct smime_hp *hp = smime_hp_new(mode);
	assert_non_null(hp);
	for (size_t i = 0; hdrs[i] != NULL; i += 2)
		assert_int_equal(smime_hp_header(hp, hdrs[i], hdrs[i + 1]),
				 SMX_OK);
	return hp;
}

static void baseline_edits(void **state)
{
	(void)state;
	struct smime_hp *hp = hp_of(SMIME_HP_CIPHER, HEADERS);
	struct testhdrs *h = testhdrs_new(HEADERS);
	for (size_t i = 0; i < smime_hp_edit_count(hp); i++)
		testhdrs_apply(h, smime_hp_edit(hp, i));
	assert_string_equal(testhdrs_get(h, "Subject"), " [...]");
	assert_int_equal(testhdrs_count(h, "Comments"), 0);
	assert_int_equal(testhdrs_count(h, "Keywords"), 0);
	assert_string_equal(testhdrs_get(h, "From"),
			    " Alice <alice@example.com>");
	assert_string_equal(testhdrs_get(h, "To"), " bob@partner.example");
	testhdrs_free(&h);
	smime_hp_free(&hp);
	hp = hp_of(SMIME_HP_CLEAR, HEADERS);
	assert_int_equal(smime_hp_edit_count(hp), 0);
	smime_hp_free(&hp);
}

static void inner_block(void **state)
{
	(void)state;
	struct smime_hp *hp = hp_of(SMIME_HP_CIPHER, HEADERS);
	char *b = smime_hp_inner_block(hp);
	assert_non_null(b);
	assert_non_null(strstr(b, "Subject: Quarterly numbers\r\n"));
	assert_non_null(strstr(b, "From: Alice <alice@example.com>\r\n"));
	assert_non_null(strstr(b, "Comments: first\r\n"));
	assert_non_null(strstr(b, "Keywords: finance\r\n"));
	assert_non_null(strstr(b, "HP-Outer: Subject: [...]\r\n"));
	assert_non_null(strstr(b, "HP-Outer: From: Alice <alice@example.com>"
			       "\r\n"));
	assert_non_null(strstr(b, "HP-Outer: To: bob@partner.example\r\n"));
	assert_null(strstr(b, "HP-Outer: Comments"));
	assert_null(strstr(b, "HP-Outer: Keywords"));
	assert_null(strstr(b, "Received"));
	assert_null(strstr(b, "Bcc"));
	assert_null(strstr(b, "Content-"));
	assert_null(strstr(b, "MIME-Version"));
	free(b);
	smime_hp_free(&hp);
	hp = hp_of(SMIME_HP_CLEAR, HEADERS);
	b = smime_hp_inner_block(hp);
	assert_non_null(strstr(b, "Subject: Quarterly numbers\r\n"));
	assert_null(strstr(b, "HP-Outer"));
	free(b);
	smime_hp_free(&hp);
}

/* Encrypts hdrs + body with hp to rsa; the plaintext OpenSSL finds. */
static char *encrypted_entity(const char *const *hdrs, const char *body,
			      struct smime_hp *hp, struct smime_encrypt **enc_r)
{
	struct smime_recipient r = { rsa.cert, 0, false };
	struct smime_encrypt_options o = { 0, test_dir() };
	struct smx_error err;
	struct smime_encrypt *enc = NULL;
	assert_int_equal(smime_encrypt_new(&r, 1, &o, &enc, &err), SMX_OK);
	smime_encrypt_protect(enc, hp);
	struct hdrlist *headers = testhdrs_list(hdrs);
	struct spool *spool = testhdrs_spool(body, strlen(body), 0);
	if (smime_encrypt_eom(enc, headers, spool, &err) != SMX_OK)
		fail_msg("smime_encrypt_eom: %s", err.text);
	hdrlist_free(&headers);
	spool_free(&spool);
	struct testhdrs *h = testhdrs_new(hdrs);
	for (size_t i = 0; i < smime_encrypt_edit_count(enc); i++)
		testhdrs_apply(h, smime_encrypt_edit(enc, i));
	char *mime = testhdrs_mime(h);
	testhdrs_free(&h);
	struct spool *s = smime_encrypt_result_body(enc);
	size_t len = spool_size(s), mlen = strlen(mime);
	char *all = malloc(mlen + 2 + len + 1);
	memcpy(all, mime, mlen);
	memcpy(all + mlen, "\r\n", 2);
	assert_int_equal(spool_rewind(s), 0);
	assert_int_equal(spool_read(s, all + mlen + 2, len), (ssize_t)len);
	free(mime);
	BIO *in = BIO_new_mem_buf(all, (int)(mlen + 2 + len));
	CMS_ContentInfo *cms = SMIME_read_CMS(in, NULL);
	BIO *out = BIO_new(BIO_s_mem());
	assert_non_null(cms);
	assert_int_equal(CMS_decrypt(cms, rsa.key, rsa.cert, NULL, out,
				     CMS_BINARY), 1);
	char *p;
	long n = BIO_get_mem_data(out, &p);
	char *plain = strndup(p, (size_t)n);
	BIO_free(out);
	BIO_free(in);
	CMS_ContentInfo_free(cms);
	free(all);
	*enc_r = enc;
	return plain;
}

static void cipher_entity(void **state)
{
	(void)state;
	struct smime_hp *hp = hp_of(SMIME_HP_CIPHER, HEADERS);
	struct smime_encrypt *enc = NULL;
	char *plain = encrypted_entity(HEADERS, BODY, hp, &enc);
	assert_non_null(strstr(plain, "Subject: Quarterly numbers\r\n"));
	assert_non_null(strstr(plain, "HP-Outer: Subject: [...]\r\n"));
	/* GMime writes the parameter as a token when it rewrites the
	 * part (for the legacy display element) */
	assert_true(strstr(plain, "; hp=cipher") != NULL ||
		    strstr(plain, "; hp=\"cipher\"") != NULL);
	assert_non_null(strstr(plain, "hp-legacy-display"));
	assert_non_null(strstr(plain, "\r\n\r\nSubject: Quarterly numbers"
			       "\r\n\r\nThe numbers."));
	assert_null(strstr(plain, "Bcc"));
	/* the edits hide the Subject outside */
	bool subject_changed = false;
	for (size_t i = 0; i < smime_encrypt_edit_count(enc); i++) {
		const struct smime_header_edit *e = smime_encrypt_edit(enc, i);
		if (e->op == SMIME_EDIT_CHANGE &&
		    strcmp(e->name, "Subject") == 0)
			subject_changed = strcmp(e->value, " [...]") == 0;
	}
	assert_true(subject_changed);
	free(plain);
	smime_encrypt_free(&enc);
	smime_hp_free(&hp);
}

static void legacy_display_html_and_alternative(void **state)
{
	(void)state;
	static const char *const hdrs[] = {
		"From", " alice@example.com",
		"Subject", " a <b> & c",
		"Content-Type", " multipart/alternative; boundary=\"b\"",
		NULL };
	static const char body[] =
		"--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
		"--b\r\nContent-Type: text/html\r\n\r\n"
		"<html><body class=\"x\">html</body></html>\r\n--b--\r\n";
	struct smime_hp *hp = hp_of(SMIME_HP_CIPHER, hdrs);
	struct smime_encrypt *enc = NULL;
	char *plain = encrypted_entity(hdrs, body, hp, &enc);
	assert_non_null(strstr(plain, "Subject: a <b> & c\r\n\r\nplain"));
	assert_non_null(strstr(plain, "<body class=\"x\"><div class=\"header-"
			       "protection-legacy-display\"><pre>Subject: a "
			       "&lt;b&gt; &amp; c</pre></div>"));
	free(plain);
	smime_encrypt_free(&enc);
	smime_hp_free(&hp);
}

/* A Subject in RFC 2047 words is shown decoded where the part's charset
 * allows (us-ascii becomes utf-8), as written where it does not. */
static void legacy_display_charsets(void **state)
{
	(void)state;
	static const char *const utf8[] = {
		"Subject", " =?utf-8?q?Gr=C3=BC=C3=9Fe?=",
		"Content-Type", " text/plain; charset=us-ascii", NULL };
	static const char *const latin1[] = {
		"Subject", " =?utf-8?q?Gr=C3=BC=C3=9Fe?=",
		"Content-Type", " text/plain; charset=iso-8859-1", NULL };
	struct smime_hp *hp = hp_of(SMIME_HP_CIPHER, utf8);
	struct smime_encrypt *enc = NULL;
	char *plain = encrypted_entity(utf8, BODY, hp, &enc);
	assert_non_null(strstr(plain, "charset=utf-8"));
	/* quoted-printable, as the part is no longer 7-bit */
	assert_non_null(strstr(plain, "Subject: Gr=C3=BC=C3=9Fe"));
	free(plain);
	smime_encrypt_free(&enc);
	smime_hp_free(&hp);
	hp = hp_of(SMIME_HP_CIPHER, latin1);
	plain = encrypted_entity(latin1, BODY, hp, &enc);
	assert_non_null(strstr(plain, "\r\n\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?="));
	free(plain);
	smime_encrypt_free(&enc);
	smime_hp_free(&hp);
}

/* Signed only: the signed part carries the fields with hp="clear", the
 * outside keeps its Subject, and the signature covers them. */
static void clear_signed_entity(void **state)
{
	(void)state;
	struct smime_sign_options so = { SMIME_SIGN_CLEAR, SMIME_DIGEST_SHA256,
					 0, test_dir() };
	struct smime_signer *signer = NULL;
	struct smx_error err;
	assert_int_equal(smime_signer_new(rsa.key, rsa.cert, NULL, NULL, &so,
					  &signer, &err), SMX_OK);
	struct smime_hp *hp = hp_of(SMIME_HP_CLEAR, HEADERS);
	struct smime_sign *sign = smime_sign_begin(signer);
	smime_sign_protect(sign, hp);
	struct hdrlist *headers = testhdrs_list(HEADERS);
	struct spool *spool = testhdrs_spool(BODY, strlen(BODY), 0);
	assert_int_equal(smime_sign_eom(sign, headers, spool, &err), SMX_OK);
	hdrlist_free(&headers);
	spool_free(&spool);
	struct spool *s = smime_sign_result_body(sign);
	size_t len = spool_size(s);
	char *body = calloc(1, len + 1);
	assert_int_equal(spool_rewind(s), 0);
	assert_int_equal(spool_read(s, body, len), (ssize_t)len);
	assert_non_null(strstr(body, "\r\nSubject: Quarterly numbers\r\n"));
	assert_non_null(strstr(body, "; hp=\"clear\"\r\n"));
	assert_null(strstr(body, "HP-Outer"));
	assert_null(strstr(body, "hp-legacy-display"));
	for (size_t i = 0; i < smime_sign_edit_count(sign); i++)
		assert_string_not_equal(smime_sign_edit(sign, i)->name,
					"Subject");
	free(body);
	smime_sign_free(&sign);
	smime_hp_free(&hp);
	smime_signer_free(&signer);
}

/* The way back: what decryption delivers. */
static struct smime_decrypt *decrypt_msg(const char *const *hdrs,
					 const char *body,
					 struct smime_hp *hp)
{
	struct smime_encrypt *enc = NULL;
	char *plain = encrypted_entity(hdrs, body, hp, &enc);
	free(plain);
	struct testhdrs *h = testhdrs_new(hdrs);
	for (size_t i = 0; i < smime_encrypt_edit_count(enc); i++)
		testhdrs_apply(h, smime_encrypt_edit(enc, i));
	struct smime_decrypt *d = NULL;
	struct smx_error err = { "" };
	assert_int_equal(smime_decrypt_new(NULL, &d), SMX_OK);
	struct hdrlist *headers = testhdrs_to_list(h);
	assert_int_equal(smime_decrypt_parse(d, headers,
					     smime_encrypt_result_body(enc),
					     &err), SMX_OK);
	hdrlist_free(&headers);
	if (smime_decrypt_run(d, rsa.cert, rsa.key, " mx; enveloped-data",
			      &err) != SMX_OK)
		fail_msg("decrypt: %s", err.text);
	testhdrs_free(&h);
	smime_encrypt_free(&enc);
	return d;
}

static const char *result(struct smime_decrypt *d, const char *name)
{
	return hdrlist_get(smime_decrypt_result_headers(d), name);
}

static void decryption_restores(void **state)
{
	(void)state;
	struct smime_hp *hp = hp_of(SMIME_HP_CIPHER, HEADERS);
	struct smime_decrypt *d = decrypt_msg(HEADERS, BODY, hp);
	assert_string_equal(result(d, "Subject"), " Quarterly numbers");
	assert_string_equal(result(d, "Keywords"), " finance");
	assert_non_null(strstr(result(d, "X-SMIME-Decrypted"),
			       "; protected headers: From, To, Comments, "
			       "Subject, Keywords"));
	bool changed = false;
	for (size_t i = 0; i < smime_decrypt_edit_count(d); i++) {
		const struct smime_header_edit *e = smime_decrypt_edit(d, i);
		if (e->op == SMIME_EDIT_CHANGE && strcmp(e->name, "Subject") == 0)
			changed = strcmp(e->value, " Quarterly numbers") == 0;
	}
	assert_true(changed);
	smime_decrypt_free(&d);
	smime_hp_free(&hp);
}

/* Inside, anyone may write any From: the outer one stays when the
 * mailbox differs. */
static void foreign_from_is_not_restored(void **state)
{
	(void)state;
	static const char *const inside[] = {
		"From", " ceo@example.com", "Subject", " pay now", NULL };
	static const char *const outside[] = {
		"From", " mallory@evil.example", "Subject", " [...]",
		"Content-Type", " text/plain", NULL };
	struct smime_hp *hp = hp_of(SMIME_HP_CIPHER, inside);
	struct smime_decrypt *d = decrypt_msg(outside, BODY, hp);
	assert_string_equal(result(d, "From"), " mallory@evil.example");
	assert_string_equal(result(d, "Subject"), " pay now");
	smime_decrypt_free(&d);
	smime_hp_free(&hp);
}

static int find(const char *entity, struct smime_hp_found **f)
{
	return smime_hp_find(entity, strlen(entity), f);
}

static void find_forms(void **state)
{
	(void)state;
	struct smime_hp_found *f = NULL;
	/* the draft's protected-headers="v1" */
	int n = find("Subject: v1 subject\r\nReceived: x\r\nContent-Type: "
		     "text/plain; protected-headers=\"v1\"\r\n\r\nbody\r\n", &f);
	assert_int_equal(n, 1);
	assert_string_equal(f[0].name, "Subject");
	assert_string_equal(f[0].value, " v1 subject");
	smime_hp_found_free(f, (size_t)n);
	/* under a clear signature, folded */
	n = find("Content-Type: multipart/signed; protocol=\"application/"
		 "pkcs7-signature\"; boundary=\"s\"\r\n\r\n--s\r\n"
		 "Subject: long\r\n folded\r\nContent-Type: text/plain; "
		 "hp=\"clear\"\r\n\r\nx\r\n--s\r\nContent-Type: application/"
		 "pkcs7-signature\r\n\r\nAAAA\r\n--s--\r\n", &f);
	assert_int_equal(n, 1);
	assert_string_equal(f[0].value, " long\n folded");
	smime_hp_found_free(f, (size_t)n);
	/* not marked: nothing */
	n = find("Subject: s\r\nContent-Type: text/plain\r\n\r\nx\r\n", &f);
	assert_int_equal(n, 0);
	smime_hp_found_free(f, 0);
	/* garbage */
	n = find("\r\n\r\n--\x01\xff", &f);
	assert_int_equal(n, 0);
	smime_hp_found_free(f, 0);
	n = find("Content-Type: application/pkcs7-mime; smime-type=signed-"
		 "data\r\nContent-Transfer-Encoding: base64\r\n\r\nMIIB\r\n",
		 &f);
	assert_int_equal(n, 0);
	smime_hp_found_free(f, 0);
}

/* The list the reading takes fields from (the fuzz target checks what it
 * finds against it): what a reader sees, never a trace or security field. */
static void restorable_fields(void **state)
{
	(void)state;
	assert_true(smime_hp_restorable("Subject"));
	assert_true(smime_hp_restorable("message-id"));
	assert_true(smime_hp_restorable("Comments"));
	assert_false(smime_hp_restorable("Received"));
	assert_false(smime_hp_restorable("Authentication-Results"));
	assert_false(smime_hp_restorable("Content-Type"));
	assert_false(smime_hp_restorable("Bcc"));
	assert_false(smime_hp_restorable(""));
}

static int setup(void **state)
{
	(void)state;
	testpki_init(&pki);
	testpki_issue(&pki, TESTKEY_RSA2048, "bob@partner.example", &rsa);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	testid_free(&rsa);
	testpki_free(&pki);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(baseline_edits),
		cmocka_unit_test(inner_block),
		cmocka_unit_test(cipher_entity),
		cmocka_unit_test(legacy_display_html_and_alternative),
		cmocka_unit_test(legacy_display_charsets),
		cmocka_unit_test(clear_signed_entity),
		cmocka_unit_test(decryption_restores),
		cmocka_unit_test(foreign_from_is_not_restored),
		cmocka_unit_test(find_forms),
		cmocka_unit_test(restorable_fields),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
