/* SPDX-License-Identifier: BSD-2-Clause */
/* Client protection: the parsed Content-Type's claim, and the body's
 * start that must bear it out (real CMS made with OpenSSL, and bodies
 * that only pretend). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/evp.h>

#include <smx/smime-protection.h>
#include <smx/smime.h>
#include <smx/spool.h>

#include "testpki.h"

static const char ENVELOPED[] =
	"application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m";

static void claims_come_from_the_parsed_type(void **state)
{
	(void)state;
	static const struct { const char *ct; enum smime_claim want; } cases[] = {
		{ NULL, SMIME_CLAIM_NONE },
		{ "text/plain; x-comment=\"not pkcs7-mime\"", SMIME_CLAIM_NONE },
		{ "text/plain; x-note=\"smime-type=enveloped-data\"",
		  SMIME_CLAIM_NONE },
		{ "text/plain; name=\"multipart/encrypted\"", SMIME_CLAIM_NONE },
		{ "text/plain (application/pkcs7-mime; smime-type=enveloped-data)",
		  SMIME_CLAIM_NONE },
		{ "multipart/mixed; boundary=\"multipart/signed\"",
		  SMIME_CLAIM_NONE },
		{ ENVELOPED, SMIME_CLAIM_ENCRYPTED_CMS },
		{ "Application/X-PKCS7-MIME;\r\n\tsmime-type=\"authEnveloped-data\"",
		  SMIME_CLAIM_ENCRYPTED_CMS },
		{ "application/pkcs7-mime; smime-type=compressed-data",
		  SMIME_CLAIM_NONE },
		{ "application/pkcs7-mime; smime-type=certs-only",
		  SMIME_CLAIM_NONE },
		{ "application/pkcs7-mime", SMIME_CLAIM_NONE },
		{ "application/pkcs7-mime; smime-type=signed-data",
		  SMIME_CLAIM_SIGNED_CMS },
		{ "multipart/encrypted; protocol=\"application/pgp-encrypted\"; "
		  "boundary=b", SMIME_CLAIM_ENCRYPTED_PGP },
		{ "multipart/encrypted; boundary=b", SMIME_CLAIM_NONE },
		{ "multipart/signed; protocol=\"application/pkcs7-signature\"; "
		  "micalg=sha-256; boundary=b", SMIME_CLAIM_SIGNED },
		{ "multipart/signed; boundary=b", SMIME_CLAIM_NONE },
		{ "", SMIME_CLAIM_NONE },
		{ ";;;===\"", SMIME_CLAIM_NONE },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		if (smime_protection_claim(cases[i].ct) != cases[i].want)
			fail_msg("Content-Type '%s': claim %d, want %d",
				 cases[i].ct ? cases[i].ct : "(none)",
				 smime_protection_claim(cases[i].ct),
				 cases[i].want);
}

static struct spool *spool_of(const void *data, size_t len)
{
	struct spool *s = spool_new(0, NULL, 0);
	assert_non_null(s);
	assert_int_equal(spool_append(s, data, len), 0);
	return s;
}

/* base64 of der in lines of 64, as a mail client writes it. */
static char *base64_lines(const unsigned char *der, size_t len)
{
	BIO *b64 = BIO_new(BIO_f_base64()), *mem = BIO_new(BIO_s_mem());
	BIO_push(b64, mem);
	assert_int_equal(BIO_write(b64, der, (int)len), (int)len);
	assert_int_equal(BIO_flush(b64), 1);
	char *data;
	long n = BIO_get_mem_data(mem, &data);
	char *out = strndup(data, (size_t)n);
	BIO_free_all(b64);
	return out;
}

static enum smime_claim check(const char *ct, const char *cte,
			      const void *body, size_t len)
{
	struct spool *s = spool_of(body, len);
	enum smime_claim got = smime_protection_claim(ct);
	if (!smime_protection_body_matches(got, ct, cte, s))
		got = SMIME_CLAIM_NONE;
	/* the body is left readable from its start */
	char first;
	if (len > 0) {
		assert_int_equal(spool_read(s, &first, 1), 1);
		assert_int_equal(first, ((const char *)body)[0]);
	}
	spool_free(&s);
	return got;
}

static void cms_bodies_must_be_cms(void **state)
{
	(void)state;
	struct testpki pki;
	struct testid bob;
	testpki_init(&pki);
	testpki_issue(&pki, TESTKEY_RSA2048, "bob@example.com", &bob);
	STACK_OF(X509) *to = sk_X509_new_null();
	sk_X509_push(to, bob.cert);
	BIO *in = BIO_new_mem_buf("secret\r\n", -1);
	CMS_ContentInfo *env = CMS_encrypt(to, in, EVP_aes_256_cbc(),
					   CMS_BINARY);
	assert_non_null(env);
	unsigned char *der = NULL;
	int der_len = i2d_CMS_ContentInfo(env, &der);
	assert_true(der_len > 0);
	char *b64 = base64_lines(der, (size_t)der_len);

	assert_int_equal(check(ENVELOPED, "base64", b64, strlen(b64)),
			 SMIME_CLAIM_ENCRYPTED_CMS);
	assert_int_equal(check(ENVELOPED, " BASE64 \r\n", b64, strlen(b64)),
			 SMIME_CLAIM_ENCRYPTED_CMS);
	assert_int_equal(check(ENVELOPED, "binary", der, (size_t)der_len),
			 SMIME_CLAIM_ENCRYPTED_CMS);
	/* base64 text taken as binary is not DER */
	assert_int_equal(check(ENVELOPED, NULL, b64, strlen(b64)),
			 SMIME_CLAIM_NONE);

	/* SignedData is no encryption, and EnvelopedData no signature */
	BIO *in2 = BIO_new_mem_buf("signed\r\n", -1);
	CMS_ContentInfo *sig = CMS_sign(bob.cert, bob.key, NULL, in2,
					CMS_BINARY);
	assert_non_null(sig);
	unsigned char *sder = NULL;
	int sder_len = i2d_CMS_ContentInfo(sig, &sder);
	char *sb64 = base64_lines(sder, (size_t)sder_len);
	assert_int_equal(check(ENVELOPED, "base64", sb64, strlen(sb64)),
			 SMIME_CLAIM_NONE);
	const char *signed_ct = "application/pkcs7-mime; smime-type=signed-data";
	assert_int_equal(check(signed_ct, "base64", sb64, strlen(sb64)),
			 SMIME_CLAIM_SIGNED_CMS);
	assert_int_equal(check(signed_ct, "base64", b64, strlen(b64)),
			 SMIME_CLAIM_NONE);

	/* compressed-data and plain data under an enveloped label */
	static const unsigned char compressed[] = {
		0x30, 0x80, 0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
		0x01, 0x09, 0x10, 0x01, 0x09, 0xa0, 0x80, 0x30, 0x00 };
	static const unsigned char data[] = {
		0x30, 0x0f, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
		0x01, 0x07, 0x01, 0xa0, 0x02, 0x04, 0x00 };
	/* only the OID: no [0] content follows */
	static const unsigned char bare_oid[] = {
		0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
		0x01, 0x07, 0x03 };
	/* indefinite lengths, as streaming writers produce */
	static const unsigned char streamed[] = {
		0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
		0x01, 0x07, 0x03, 0xa0, 0x80, 0x30, 0x80 };
	static const unsigned char auth[] = {
		0x30, 0x82, 0x01, 0x00, 0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86,
		0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x17, 0xa0, 0x81, 0xf0 };
	assert_int_equal(check(ENVELOPED, "binary", compressed,
			       sizeof(compressed)), SMIME_CLAIM_NONE);
	assert_int_equal(check(ENVELOPED, "binary", data, sizeof(data)),
			 SMIME_CLAIM_NONE);
	assert_int_equal(check(ENVELOPED, "binary", bare_oid,
			       sizeof(bare_oid)), SMIME_CLAIM_NONE);
	/* A valid envelope's first bytes in front of plaintext are not
	 * encryption: the body is parsed whole. */
	assert_int_equal(check(ENVELOPED, "binary", streamed,
			       sizeof(streamed)), SMIME_CLAIM_NONE);
	assert_int_equal(check(ENVELOPED, "binary", auth, sizeof(auth)),
			 SMIME_CLAIM_NONE);
	size_t head_len = sizeof(streamed) + 40;
	unsigned char *head_then_text = malloc(head_len);
	assert_non_null(head_then_text);
	memcpy(head_then_text, streamed, sizeof(streamed));
	memcpy(head_then_text + sizeof(streamed),
	       "Account 12345678, PIN 4321, in clear....", 40);
	assert_int_equal(check(ENVELOPED, "binary", head_then_text, head_len),
			 SMIME_CLAIM_NONE);
	free(head_then_text);
	/* a real envelope with plaintext after it */
	size_t tail_len = (size_t)der_len + 20;
	unsigned char *tail = malloc(tail_len);
	assert_non_null(tail);
	memcpy(tail, der, (size_t)der_len);
	memcpy(tail + der_len, "and the secret too\r\n", 20);
	assert_int_equal(check(ENVELOPED, "binary", tail, tail_len),
			 SMIME_CLAIM_NONE);
	/* line ends after it are fine */
	memcpy(tail + der_len, "\r\n\r\n", 4);
	assert_int_equal(check(ENVELOPED, "binary", tail, (size_t)der_len + 4),
			 SMIME_CLAIM_ENCRYPTED_CMS);
	free(tail);
	/* streamed (indefinite lengths) and AuthEnvelopedData, made whole */
	BIO *in3 = BIO_new_mem_buf("streamed secret\r\n", -1);
	CMS_ContentInfo *senv = CMS_encrypt(to, in3, EVP_aes_256_cbc(),
					    CMS_BINARY | CMS_STREAM);
	assert_non_null(senv);
	BIO *sout = BIO_new(BIO_s_mem());
	assert_int_equal(i2d_CMS_bio_stream(sout, senv, in3,
					    CMS_BINARY | CMS_STREAM), 1);
	char *sbytes = NULL;
	long slen = BIO_get_mem_data(sout, &sbytes);
	assert_true(slen > 0 && (unsigned char)sbytes[1] == 0x80);
	assert_int_equal(check(ENVELOPED, "binary", sbytes, (size_t)slen),
			 SMIME_CLAIM_ENCRYPTED_CMS);
	BIO *in4 = BIO_new_mem_buf("gcm secret\r\n", -1);
	CMS_ContentInfo *aenv = CMS_encrypt(to, in4, EVP_aes_256_gcm(),
					    CMS_BINARY);
	assert_non_null(aenv);
	unsigned char *ader = NULL;
	int ader_len = i2d_CMS_ContentInfo(aenv, &ader);
	assert_true(ader_len > 0);
	const char *auth_ct = "application/pkcs7-mime; "
			      "smime-type=authEnveloped-data";
	assert_int_equal(check(auth_ct, "binary", ader, (size_t)ader_len),
			 SMIME_CLAIM_ENCRYPTED_CMS);
	OPENSSL_free(ader);
	CMS_ContentInfo_free(aenv);
	BIO_free(in4);
	BIO_free(sout);
	CMS_ContentInfo_free(senv);
	BIO_free(in3);
	/* text and garbage that claim to be encrypted */
	static const char *const fakes[] = {
		"This is not encrypted at all.\r\n", "MAoGCCqGSIb3DQEHAw==\r\n",
		"====\r\n", "\x30", "\x30\x84\xff\xff\xff\xff\x06",
		"\x30\x85\x01\x02\x03\x04\x05\x06",
	};
	for (size_t i = 0; i < sizeof(fakes) / sizeof(*fakes); i++) {
		assert_int_equal(check(ENVELOPED, "base64", fakes[i],
				       strlen(fakes[i])), SMIME_CLAIM_NONE);
		assert_int_equal(check(ENVELOPED, "binary", fakes[i],
				       strlen(fakes[i])), SMIME_CLAIM_NONE);
	}
	assert_int_equal(check(ENVELOPED, "base64", "", 0), SMIME_CLAIM_NONE);
	assert_false(smime_protection_body_matches(SMIME_CLAIM_ENCRYPTED_CMS,
						   ENVELOPED, "base64", NULL));

	free(b64);
	free(sb64);
	OPENSSL_free(der);
	OPENSSL_free(sder);
	CMS_ContentInfo_free(env);
	CMS_ContentInfo_free(sig);
	BIO_free(in);
	BIO_free(in2);
	sk_X509_free(to);
	testid_free(&bob);
	testpki_free(&pki);
}

/* A PGP/MIME body with armor as its second part (in a static buffer). */
static const char *pgp_mime(const char *armor)
{
	static char body[4096];
	snprintf(body, sizeof(body),
		 "--=-b1\r\nContent-Type: application/pgp-encrypted\r\n\r\n"
		 "Version: 1\r\n\r\n"
		 "--=-b1\r\nContent-Type: application/octet-stream\r\n\r\n"
		 "%s\r\n--=-b1--\r\n", armor);
	return body;
}

static void pgp_bodies_must_hold_a_pgp_message(void **state)
{
	(void)state;
	const char *ct = "multipart/encrypted; "
			 "protocol=\"application/pgp-encrypted\"; "
			 "boundary=\"=-b1\"";
	const char *real =
		"This is an OpenPGP/MIME encrypted message.\r\n"
		"--=-b1\r\nContent-Type: application/pgp-encrypted\r\n\r\n"
		"Version: 1\r\n\r\n"
		"--=-b1\r\nContent-Type: application/octet-stream\r\n"
		"Content-Disposition: inline; filename=\"msg.asc\"\r\n\r\n"
		"-----BEGIN PGP MESSAGE-----\r\n\r\nhQEMAw==\r\n"
		"-----END PGP MESSAGE-----\r\n--=-b1--\r\n";
	assert_int_equal(check(ct, NULL, real, strlen(real)),
			 SMIME_CLAIM_ENCRYPTED_PGP);
	/* complete armored messages: armor headers, a checksum, blank
	 * lines around; the first packet an encrypted session key, old or
	 * new packet format (1: public-key, 3: symmetric-key) */
	static const char *const armors[] = {
		"-----BEGIN PGP MESSAGE-----\r\nVersion: GnuPG v2\r\n"
		"Comment: x\r\n\r\nhQEMAw==\r\n=njUN\r\n"
		"-----END PGP MESSAGE-----\r\n",
		"\r\n\n-----BEGIN PGP MESSAGE-----\n\nwQwD\n"
		"-----END PGP MESSAGE-----\n\n",
		"-----BEGIN PGP MESSAGE-----\r\n\r\njA0E\r\n"
		"-----END PGP MESSAGE-----\r\n",
		"-----BEGIN PGP MESSAGE-----\r\n\r\nww0E\r\n"
		"-----END PGP MESSAGE-----",
	};
	for (size_t i = 0; i < sizeof(armors) / sizeof(*armors); i++)
		if (check(ct, NULL, pgp_mime(armors[i]),
			  strlen(pgp_mime(armors[i]))) !=
		    SMIME_CLAIM_ENCRYPTED_PGP)
			fail_msg("real PGP armor %zu refused", i);
	/* the armor line, or parts of the block, then plaintext */
	static const char *const bad_armors[] = {
		"-----BEGIN PGP MESSAGE-----\r\n\r\nDear Bob, the PIN "
		"is 4321.\r\n",
		"-----BEGIN PGP MESSAGE-----\r\nDear Bob, the PIN is 4321."
		"\r\n\r\nhQEMAw==\r\n-----END PGP MESSAGE-----\r\n",
		"-----BEGIN PGP MESSAGE-----\r\n\r\nhQEMAw==\r\n"
		"Dear Bob, the PIN is 4321.\r\n"
		"-----END PGP MESSAGE-----\r\n",
		"-----BEGIN PGP MESSAGE-----\r\n\r\nhQEMAw==\r\n",
		"-----BEGIN PGP MESSAGE-----\r\n\r\nhQEMAw==\r\n"
		"-----END PGP MESSAGE-----\r\nDear Bob, the PIN is 4321.\r\n",
		"Dear Bob\r\n-----BEGIN PGP MESSAGE-----\r\n\r\nhQEMAw==\r\n"
		"-----END PGP MESSAGE-----\r\n",
		"-----BEGIN PGP MESSAGE-----\r\n\r\nhQEMAw==\r\n=njUN\r\n"
		"more\r\n-----END PGP MESSAGE-----\r\n",
		/* no data, or a literal data packet (plaintext) first */
		"-----BEGIN PGP MESSAGE-----\r\n\r\n"
		"-----END PGP MESSAGE-----\r\n",
		"-----BEGIN PGP MESSAGE-----\r\n\r\nrAVi\r\n"
		"-----END PGP MESSAGE-----\r\n",
		/* a signature is no message */
		"-----BEGIN PGP SIGNATURE-----\r\n\r\nhQEMAw==\r\n"
		"-----END PGP SIGNATURE-----\r\n",
	};
	for (size_t i = 0; i < sizeof(bad_armors) / sizeof(*bad_armors); i++)
		if (check(ct, NULL, pgp_mime(bad_armors[i]),
			  strlen(pgp_mime(bad_armors[i]))) != SMIME_CLAIM_NONE)
			fail_msg("PGP armor %zu passed as encrypted", i);
	static const char *const fakes[] = {
		/* the armor in the first part only */
		"--=-b1\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n--=-b1\r\n\r\n"
		"plain text\r\n--=-b1--\r\n",
		/* the armor in a header of the second part */
		"--=-b1\r\n\r\nVersion: 1\r\n--=-b1\r\nX-A: -----BEGIN PGP "
		"MESSAGE-----\r\n\r\nplain\r\n--=-b1--\r\n",
		/* plain text in the second part */
		"--=-b1\r\n\r\nVersion: 1\r\n--=-b1\r\n\r\nplain text "
		"-----BEGIN PGP MESSAGE-----\r\n--=-b1--\r\n",
		/* another boundary */
		"--other\r\n\r\nVersion: 1\r\n--other\r\n\r\n"
		"-----BEGIN PGP MESSAGE-----\r\n--other--\r\n",
		"", "--=-b1", "--=-b1\r\n--=-b1\r\n",
	};
	for (size_t i = 0; i < sizeof(fakes) / sizeof(*fakes); i++)
		if (check(ct, NULL, fakes[i], strlen(fakes[i])) !=
		    SMIME_CLAIM_NONE)
			fail_msg("fake PGP body %zu passed", i);
	/* no boundary parameter: nothing to find */
	assert_int_equal(check("multipart/encrypted; "
			       "protocol=\"application/pgp-encrypted\"",
			       NULL, real, strlen(real)), SMIME_CLAIM_NONE);
}

/* multipart/signed: the body must have the claimed structure. */
static enum smime_claim check_signed(const char *protocol,
				     const char *sig_type, const char *sig_cte,
				     const char *sig)
{
	char ct[256];
	snprintf(ct, sizeof(ct), "multipart/signed; protocol=\"%s\"; "
		 "micalg=sha-256; boundary=\"=-s1\"", protocol);
	size_t cap = strlen(sig) + 1024;
	char *body = malloc(cap);
	assert_non_null(body);
	snprintf(body, cap,
		 "This is a signed message.\r\n"
		 "--=-s1\r\nContent-Type: text/plain\r\n\r\nHello.\r\n"
		 "--=-s1\r\nContent-Type: %s\r\n"
		 "Content-Transfer-Encoding: %s\r\n\r\n%s\r\n--=-s1--\r\n",
		 sig_type, sig_cte, sig);
	enum smime_claim got = check(ct, NULL, body, strlen(body));
	free(body);
	return got;
}

static void signed_bodies_must_hold_a_signature(void **state)
{
	(void)state;
	struct testpki pki;
	struct testid alice;
	testpki_init(&pki);
	testpki_issue(&pki, TESTKEY_RSA2048, "alice@example.com", &alice);
	BIO *in = BIO_new_mem_buf("Content-Type: text/plain\r\n\r\n"
				  "Hello.\r\n", -1);
	CMS_ContentInfo *sig = CMS_sign(alice.cert, alice.key, NULL, in,
					CMS_BINARY | CMS_DETACHED);
	assert_non_null(sig);
	unsigned char *der = NULL;
	int der_len = i2d_CMS_ContentInfo(sig, &der);
	assert_true(der_len > 0);
	char *b64 = base64_lines(der, (size_t)der_len);
	const char *p7s = "application/pkcs7-signature";
	const char *xp7s = "application/x-pkcs7-signature";
	const char *pgps = "application/pgp-signature";
	const char *pgp_sig = "-----BEGIN PGP SIGNATURE-----\r\n\r\n"
			      "iQEzBA==\r\n=abcd\r\n"
			      "-----END PGP SIGNATURE-----\r\n";

	assert_int_equal(check_signed(p7s, p7s, "base64", b64),
			 SMIME_CLAIM_SIGNED);
	assert_int_equal(check_signed(xp7s, "Application/X-PKCS7-Signature",
				      "base64", b64), SMIME_CLAIM_SIGNED);
	assert_int_equal(check_signed(pgps, pgps, "7bit", pgp_sig),
			 SMIME_CLAIM_SIGNED);

	/* a signature part of another type than the protocol says */
	assert_int_equal(check_signed(p7s, "text/plain", "base64", b64),
			 SMIME_CLAIM_NONE);
	assert_int_equal(check_signed(p7s, pgps, "7bit", pgp_sig),
			 SMIME_CLAIM_NONE);
	/* text, a PGP block or an envelope where the CMS signature goes */
	assert_int_equal(check_signed(p7s, p7s, "7bit", "not a signature"),
			 SMIME_CLAIM_NONE);
	assert_int_equal(check_signed(p7s, p7s, "base64", "bm90IGNtcw=="),
			 SMIME_CLAIM_NONE);
	assert_int_equal(check_signed(p7s, p7s, "7bit", pgp_sig),
			 SMIME_CLAIM_NONE);
	static const unsigned char env[] = {
		0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
		0x01, 0x07, 0x03, 0xa0, 0x80, 0x30, 0x80 };
	char *env64 = base64_lines(env, sizeof(env));
	assert_int_equal(check_signed(p7s, p7s, "base64", env64),
			 SMIME_CLAIM_NONE);
	free(env64);
	/* an armor line alone, or with text after the block */
	assert_int_equal(check_signed(pgps, pgps, "7bit",
				      "-----BEGIN PGP SIGNATURE-----\r\n"
				      "just text\r\n"), SMIME_CLAIM_NONE);
	assert_int_equal(check_signed(pgps, pgps, "7bit",
				      "-----BEGIN PGP SIGNATURE-----\r\n\r\n"
				      "iQEzBA==\r\n-----END PGP SIGNATURE-----"
				      "\r\nmore text\r\n"), SMIME_CLAIM_NONE);
	assert_int_equal(check_signed(pgps, pgps, "7bit", "plain"),
			 SMIME_CLAIM_NONE);

	/* plain text, one part, three parts, another boundary */
	static const char *const fakes[] = {
		"Hello, this is not signed at all.\r\n",
		"--=-s1\r\nContent-Type: text/plain\r\n\r\nHello.\r\n"
		"--=-s1--\r\n",
		"--other\r\nContent-Type: text/plain\r\n\r\nHello.\r\n"
		"--other\r\nContent-Type: application/pgp-signature\r\n\r\n"
		"-----BEGIN PGP SIGNATURE-----\r\n\r\niQEzBA==\r\n"
		"-----END PGP SIGNATURE-----\r\n--other--\r\n",
		"--=-s1\r\nContent-Type: text/plain\r\n\r\nHello.\r\n"
		"--=-s1\r\nContent-Type: application/pgp-signature\r\n\r\n"
		"-----BEGIN PGP SIGNATURE-----\r\n\r\niQEzBA==\r\n"
		"-----END PGP SIGNATURE-----\r\n"
		"--=-s1\r\nContent-Type: text/plain\r\n\r\nmore\r\n"
		"--=-s1--\r\n",
		"", "--=-s1\r\n--=-s1--\r\n",
	};
	const char *pgp_ct = "multipart/signed; "
			     "protocol=\"application/pgp-signature\"; "
			     "boundary=\"=-s1\"";
	for (size_t i = 0; i < sizeof(fakes) / sizeof(*fakes); i++)
		if (check(pgp_ct, NULL, fakes[i], strlen(fakes[i])) !=
		    SMIME_CLAIM_NONE)
			fail_msg("fake signed body %zu passed", i);
	assert_false(smime_protection_body_matches(SMIME_CLAIM_SIGNED, pgp_ct,
						   NULL, NULL));

	/* a signed part nested 40 deep (GMime's cost on it is out of
	 * proportion) is not believed; 3 deep is */
	for (int depth = 3; depth <= 40; depth += 37) {
		size_t cap = 200 * 41 + 1024, len = 0;
		char *body = malloc(cap);
		assert_non_null(body);
		len += (size_t)snprintf(body + len, cap - len,
					"--=-s1\r\n");
		for (int i = 0; i < depth; i++)
			len += (size_t)snprintf(body + len, cap - len,
				"Content-Type: multipart/mixed; boundary=n%d\r\n"
				"\r\n--n%d\r\n", i, i);
		len += (size_t)snprintf(body + len, cap - len,
					"Content-Type: text/plain\r\n\r\nHi\r\n");
		for (int i = depth - 1; i >= 0; i--)
			len += (size_t)snprintf(body + len, cap - len,
						"--n%d--\r\n", i);
		len += (size_t)snprintf(body + len, cap - len,
			"--=-s1\r\nContent-Type: application/pgp-signature\r\n"
			"\r\n%s--=-s1--\r\n", pgp_sig);
		assert_int_equal(check(pgp_ct, NULL, body, len),
				 depth == 3 ? SMIME_CLAIM_SIGNED
					    : SMIME_CLAIM_NONE);
		free(body);
	}

	free(b64);
	OPENSSL_free(der);
	CMS_ContentInfo_free(sig);
	BIO_free(in);
	testid_free(&alice);
	testpki_free(&pki);
}

int main(void)
{
	smime_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(claims_come_from_the_parsed_type),
		cmocka_unit_test(cms_bodies_must_be_cms),
		cmocka_unit_test(pgp_bodies_must_hold_a_pgp_message),
		cmocka_unit_test(signed_bodies_must_hold_a_signature),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
