/* SPDX-License-Identifier: BSD-2-Clause */
/* Decryption opens a message for a recipient only with that recipient's
 * own RecipientInfo and key, and with several recipients only when all
 * their keys open the same content. RecipientInfos are not
 * authenticated, so the messages here are built the way an attacker
 * would: a ciphertext for one user with a RecipientInfo for another
 * spliced in from a second ciphertext (a different content key, key
 * transport and key agreement), a recipient's RecipientInfo repeated,
 * and more RecipientInfos than the limit; EnvelopedData (AES-CBC) and
 * AuthEnvelopedData (AES-GCM). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>

#include <smx/smime-decrypt.h>

#include "testhdrs.h"
#include "testpki.h"

static struct testpki pki;
static struct testid bob, mallory, ec;

static const char CONTENT[] = "Content-Type: text/plain\r\n\r\nfor bob only\r\n";

static const char *test_dir(void)
{
	const char *d = getenv("SMX_TEST_DIR");
	return d != NULL ? d : "/tmp";
}

/* CMS_encrypt of CONTENT to the certificates (NULL-terminated). */
static CMS_ContentInfo *encrypt_with(X509 *const *certs,
				     const EVP_CIPHER *cipher, unsigned flags)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	assert_non_null(sk);
	for (size_t i = 0; certs[i] != NULL; i++)
		assert_true(sk_X509_push(sk, certs[i]) > 0);
	BIO *in = BIO_new_mem_buf(CONTENT, (int)strlen(CONTENT));
	CMS_ContentInfo *cms = CMS_encrypt(sk, in, cipher, CMS_BINARY | flags);
	assert_non_null(cms);
	BIO_free(in);
	sk_X509_free(sk);
	return cms;
}

static CMS_ContentInfo *encrypt_flags(X509 *const *certs, unsigned flags)
{
	return encrypt_with(certs, EVP_aes_256_cbc(), flags);
}

static CMS_ContentInfo *encrypt_to(X509 *const *certs)
{
	return encrypt_flags(certs, 0);
}

/* Moves the first RecipientInfo of from into to (at its front or its
 * end): a RecipientInfo wrapping from's content key, not to's. */
static void splice(CMS_ContentInfo *from, CMS_ContentInfo *to, bool front)
{
	CMS_RecipientInfo *ri =
		sk_CMS_RecipientInfo_shift(CMS_get0_RecipientInfos(from));
	assert_non_null(ri);
	STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(to);
	assert_true(front ? sk_CMS_RecipientInfo_unshift(ris, ri) > 0
			  : sk_CMS_RecipientInfo_push(ris, ri) > 0);
}

/* The message as the milter sees it: binary DER in an
 * application/pkcs7-mime body. Frees cms. */
static struct smime_decrypt *parsed(CMS_ContentInfo *cms)
{
	unsigned char *der = NULL;
	int len = i2d_CMS_ContentInfo(cms, &der);
	assert_true(len > 0);
	CMS_ContentInfo_free(cms);
	struct spool *body = spool_new(1 << 20, test_dir(), 0);
	assert_non_null(body);
	assert_int_equal(spool_append(body, der, (size_t)len), 0);
	OPENSSL_free(der);
	struct smime_decrypt *d = NULL;
	struct smx_error err = { "" };
	static const char *const type[] = { "Content-Type",
		" application/pkcs7-mime; smime-type=enveloped-data", NULL };
	struct hdrlist *headers = testhdrs_list(type);
	assert_int_equal(smime_decrypt_new(NULL, &d), SMX_OK);
	if (smime_decrypt_parse(d, headers, body, &err) != SMX_OK)
		fail_msg("parse: %s", err.text);
	hdrlist_free(&headers);
	spool_free(&body);
	return d;
}

static void assert_open(struct smime_decrypt *d, const struct testid *id)
{
	struct smx_error err = { "" };
	if (smime_decrypt_open(d, id->cert, id->key, &err) != SMX_OK)
		fail_msg("open: %s", err.text);
}

static void assert_refused(struct smime_decrypt *d, const struct testid *id,
			   const char *reason)
{
	struct smx_error err = { "" };
	assert_int_equal(smime_decrypt_open(d, id->cert, id->key, &err),
			 SMX_PERMFAIL);
	assert_true(err.text[0] != '\0');
	assert_string_equal(smime_decrypt_refusal(d), reason);
}

/* A content key other than the real one: it usually fails to decrypt
 * the content (CBC padding: "unopened"), and when it happens to, the
 * plaintext differs ("mismatch"). */
static const char *assert_other_key_refused(struct smime_decrypt *d,
					    const struct testid *id)
{
	struct smx_error err = { "" };
	assert_int_equal(smime_decrypt_open(d, id->cert, id->key, &err),
			 SMX_PERMFAIL);
	const char *why = smime_decrypt_refusal(d);
	assert_non_null(why);
	assert_true(strcmp(why, "unopened") == 0 ||
		    strcmp(why, "mismatch") == 0);
	return why;
}

/* Refused messages yield nothing: no edits, no body, finish fails. */
static void assert_nothing_out(struct smime_decrypt *d)
{
	struct smx_error err = { "" };
	assert_int_equal(smime_decrypt_finish(d, " mx; for both", &err),
			 SMX_PERMFAIL);
	assert_null(smime_decrypt_result_body(d));
	assert_int_equal(smime_decrypt_edit_count(d), 0);
}

static void assert_decrypted(struct smime_decrypt *d)
{
	struct smx_error err = { "" };
	if (smime_decrypt_finish(d, " mx; for both", &err) != SMX_OK)
		fail_msg("finish: %s", err.text);
	struct spool *s = smime_decrypt_result_body(d);
	assert_non_null(s);
	char buf[64] = "";
	assert_int_equal(spool_rewind(s), 0);
	assert_true(spool_read(s, buf, sizeof(buf) - 1) > 0);
	assert_string_equal(buf, "for bob only\r\n");
}

/* Encrypted to both (key transport and key agreement): each key opens
 * its own RecipientInfo to the same content. */
static void encrypted_to_all_opens_for_all(void **state)
{
	(void)state;
	X509 *to[] = { bob.cert, mallory.cert, ec.cert, NULL };
	struct smime_decrypt *d = parsed(encrypt_to(to));
	assert_open(d, &bob);
	assert_open(d, &mallory);
	assert_open(d, &ec);
	assert_null(smime_decrypt_refusal(d));
	assert_decrypted(d);
	smime_decrypt_free(&d);
}

/* bob's ciphertext with a RecipientInfo for mallory that wraps another
 * content key: bob's key opens it, mallory's gives other content. */
static void spliced_transport_recipient_is_refused(void **state)
{
	(void)state;
	X509 *to_bob[] = { bob.cert, NULL }, *to_mallory[] = { mallory.cert, NULL };
	CMS_ContentInfo *theirs = encrypt_to(to_mallory);
	CMS_ContentInfo *forged = encrypt_to(to_bob);
	splice(theirs, forged, false);
	CMS_ContentInfo_free(theirs);
	struct smime_decrypt *d = parsed(forged);
	assert_true(smime_decrypt_is_for(d, mallory.cert));	/* named */
	assert_open(d, &bob);
	assert_other_key_refused(d, &mallory);
	assert_nothing_out(d);
	smime_decrypt_free(&d);
}

/* The same in the other order: mallory's key first. Her content key
 * does not decrypt bob's content (or, rarely, to other bytes). */
static void spliced_recipient_first_is_refused(void **state)
{
	(void)state;
	X509 *to_bob[] = { bob.cert, NULL }, *to_mallory[] = { mallory.cert, NULL };
	CMS_ContentInfo *theirs = encrypt_to(to_mallory);
	CMS_ContentInfo *forged = encrypt_to(to_bob);
	splice(theirs, forged, true);
	CMS_ContentInfo_free(theirs);
	struct smime_decrypt *d = parsed(forged);
	struct smx_error err = { "" };
	enum smx_status st = smime_decrypt_open(d, mallory.cert, mallory.key,
						&err);
	if (st == SMX_OK)
		assert_refused(d, &bob, "mismatch");
	else
		assert_string_equal(smime_decrypt_refusal(d), "unopened");
	assert_nothing_out(d);
	smime_decrypt_free(&d);
}

/* AuthEnvelopedData (AES-GCM): encrypted to both, it opens for both; a
 * spliced RecipientInfo's content key fails the authentication tag. */
static void auth_enveloped_keys(void **state)
{
	(void)state;
	X509 *to_both[] = { bob.cert, ec.cert, NULL };
	struct smime_decrypt *d = parsed(encrypt_with(to_both,
						      EVP_aes_256_gcm(), 0));
	assert_string_equal(smime_decrypt_kind(d), "authEnveloped-data");
	assert_open(d, &bob);
	assert_open(d, &ec);
	assert_decrypted(d);
	smime_decrypt_free(&d);

	X509 *to_bob[] = { bob.cert, NULL }, *to_mallory[] = { mallory.cert, NULL };
	CMS_ContentInfo *theirs = encrypt_with(to_mallory, EVP_aes_256_gcm(), 0);
	CMS_ContentInfo *forged = encrypt_with(to_bob, EVP_aes_256_gcm(), 0);
	splice(theirs, forged, false);
	CMS_ContentInfo_free(theirs);
	d = parsed(forged);
	assert_open(d, &bob);
	assert_refused(d, &mallory, "unopened");
	assert_nothing_out(d);
	smime_decrypt_free(&d);
}

/* The rare forged RecipientInfo whose content key does decrypt the
 * content (valid CBC padding, about one in 256): the keys disagree on
 * the plaintext. Forged until that happens (bounded). */
static void different_plaintext_is_a_mismatch(void **state)
{
	(void)state;
	X509 *to_bob[] = { bob.cert, NULL }, *to_mallory[] = { mallory.cert, NULL };
	const char *why = NULL;
	for (int i = 0; i < 5000 && (why == NULL || strcmp(why, "mismatch")); i++) {
		CMS_ContentInfo *theirs = encrypt_to(to_mallory);
		CMS_ContentInfo *forged = encrypt_to(to_bob);
		splice(theirs, forged, false);
		CMS_ContentInfo_free(theirs);
		struct smime_decrypt *d = parsed(forged);
		assert_open(d, &bob);
		why = assert_other_key_refused(d, &mallory);
		if (strcmp(why, "mismatch") == 0)
			assert_nothing_out(d);
		smime_decrypt_free(&d);
	}
	assert_string_equal(why, "mismatch");
}

/* A key agreement RecipientInfo for an EC user spliced into bob's
 * ciphertext. */
static void spliced_agreement_recipient_is_refused(void **state)
{
	(void)state;
	X509 *to_bob[] = { bob.cert, NULL }, *to_ec[] = { ec.cert, NULL };
	CMS_ContentInfo *theirs = encrypt_to(to_ec);
	CMS_ContentInfo *forged = encrypt_to(to_bob);
	splice(theirs, forged, false);
	CMS_ContentInfo_free(theirs);
	struct smime_decrypt *d = parsed(forged);
	assert_true(smime_decrypt_is_for(d, ec.cert));
	assert_open(d, &bob);
	assert_other_key_refused(d, &ec);
	assert_nothing_out(d);
	smime_decrypt_free(&d);
}

/* A key that is not the certificate's does not open its RecipientInfo;
 * a certificate the message does not name opens nothing. */
static void wrong_key_or_unnamed_is_unopened(void **state)
{
	(void)state;
	X509 *to_bob[] = { bob.cert, NULL };
	struct smime_decrypt *d = parsed(encrypt_to(to_bob));
	struct smx_error err = { "" };
	assert_int_equal(smime_decrypt_open(d, bob.cert, mallory.key, &err),
			 SMX_PERMFAIL);
	assert_string_equal(smime_decrypt_refusal(d), "unopened");
	assert_int_equal(smime_decrypt_open(d, bob.cert, bob.key, &err),
			 SMX_PERMFAIL);	/* refused once, refused for good */
	assert_nothing_out(d);
	smime_decrypt_free(&d);
	d = parsed(encrypt_to(to_bob));
	assert_refused(d, &mallory, "unopened");
	smime_decrypt_free(&d);
}

/* A forged RecipientInfo for bob before his real one (naming him by
 * subject key identifier: shorter, so DER's sorting of the SET keeps it
 * first): only the first one naming bob is tried (one private-key
 * operation per key), so the real one is never reached and bob's
 * plaintext never comes out. */
static void only_the_first_recipient_info_is_tried(void **state)
{
	(void)state;
	X509 *to_bob[] = { bob.cert, NULL };
	CMS_ContentInfo *other = encrypt_flags(to_bob, CMS_USE_KEYID);
	CMS_ContentInfo *forged = encrypt_to(to_bob);
	splice(other, forged, true);
	CMS_ContentInfo_free(other);
	struct smime_decrypt *d = parsed(forged);
	struct smx_error err = { "" };
	if (smime_decrypt_open(d, bob.cert, bob.key, &err) == SMX_OK &&
	    smime_decrypt_finish(d, NULL, &err) == SMX_OK) {
		/* the forged key happened to give valid padding */
		struct spool *s = smime_decrypt_result_body(d);
		char buf[64] = "";
		assert_int_equal(spool_rewind(s), 0);
		assert_true(spool_read(s, buf, sizeof(buf) - 1) >= 0);
		assert_null(strstr(buf, "for bob only"));
	} else {
		assert_non_null(err.text[0] ? err.text : NULL);
	}
	smime_decrypt_free(&d);
}

/* Over the limit of recipient entries: refused before any key is used;
 * at the limit: decrypted. */
static void recipient_entries_are_limited(void **state)
{
	(void)state;
	X509 *to[SMIME_DECRYPT_MAX_RECIPIENTS + 2];
	for (size_t i = 0; i < SMIME_DECRYPT_MAX_RECIPIENTS; i++)
		to[i] = mallory.cert;
	to[SMIME_DECRYPT_MAX_RECIPIENTS] = bob.cert;
	to[SMIME_DECRYPT_MAX_RECIPIENTS + 1] = NULL;
	struct smime_decrypt *d = parsed(encrypt_to(to));
	struct smx_error err = { "" };
	assert_int_equal(smime_decrypt_check_limits(d, &err), SMX_PERMFAIL);
	assert_non_null(strstr(err.text, "over the limit"));
	assert_string_equal(smime_decrypt_refusal(d), "limit");
	assert_int_equal(smime_decrypt_open(d, bob.cert, bob.key, &err),
			 SMX_PERMFAIL);
	assert_nothing_out(d);
	smime_decrypt_free(&d);

	to[SMIME_DECRYPT_MAX_RECIPIENTS - 1] = bob.cert;
	to[SMIME_DECRYPT_MAX_RECIPIENTS] = NULL;
	d = parsed(encrypt_to(to));
	assert_int_equal(smime_decrypt_check_limits(d, &err), SMX_OK);
	assert_open(d, &bob);
	assert_decrypted(d);
	smime_decrypt_free(&d);
}

static int setup(void **state)
{
	(void)state;
	testpki_init(&pki);
	testpki_issue(&pki, TESTKEY_RSA2048, "bob@example.com", &bob);
	testpki_issue(&pki, TESTKEY_RSA2048, "mallory@example.com", &mallory);
	testpki_issue(&pki, TESTKEY_P256, "ec@example.com", &ec);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	testid_free(&bob);
	testid_free(&mallory);
	testid_free(&ec);
	testpki_free(&pki);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(encrypted_to_all_opens_for_all),
		cmocka_unit_test(spliced_transport_recipient_is_refused),
		cmocka_unit_test(spliced_recipient_first_is_refused),
		cmocka_unit_test(spliced_agreement_recipient_is_refused),
		cmocka_unit_test(different_plaintext_is_a_mismatch),
		cmocka_unit_test(auth_enveloped_keys),
		cmocka_unit_test(wrong_key_or_unnamed_is_unopened),
		cmocka_unit_test(only_the_first_recipient_info_is_tried),
		cmocka_unit_test(recipient_entries_are_limited),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
