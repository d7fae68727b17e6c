/* SPDX-License-Identifier: BSD-2-Clause */
/* Encryption: the algorithm choices (GCM only when every recipient
 * advertises it, OAEP only where advertised, legacy_interop forcing
 * PKCS#1 v1.5 + CBC + issuerAndSerialNumber), decryption by OpenSSL with
 * every recipient's key (RSA, P-256, P-384) for 1, 5 and 50 recipients,
 * sign-then-encrypt whose inner signature verifies, 8-bit content
 * re-encoded inside, 20 MB through files, refused certificates.
 * OpenSSL's own S/MIME reader and CMS_decrypt are the oracle (the
 * SMIMECapabilities parser: test_smime_caps.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <openssl/cms.h>
#include <openssl/err.h>

#include <smx/smime-encrypt.h>

#include "testhdrs.h"
#include "testpki.h"

#define N_MANY 50

static struct testpki pki;
static struct testid rsa, rsa2, p256, p384;
static struct testid many[N_MANY];

static const char *test_dir(void)
{
	const char *d = getenv("SMX_TEST_DIR");
	return d != NULL ? d : "/tmp";
}

static const char *const HEADERS[] = {
	"Received", " from x by y",
	"From", " alice@example.com",
	"MIME-Version", " 1.0",
	"Content-Type", " text/plain; charset=utf-8",
	"Subject", " test",
	"Content-Transfer-Encoding", " 8bit",
	NULL };
static const char BODY[] = "Gr\xc3\xbc\xc3\x9f\xc3\xa9\r\nFrom here\n";
static const char ASCII_BODY[] = "Plain text.\r\nSecond line.\r\n";

static const unsigned CAPS_ALL = SMIME_CAP_KNOWN | SMIME_CAP_AES256_GCM |
	SMIME_CAP_AES256_CBC | SMIME_CAP_RSAES_OAEP;
static const unsigned CAPS_CBC = SMIME_CAP_KNOWN | SMIME_CAP_AES256_CBC;

struct buf {
	char *p;
	size_t len;
};

static void buf_add(struct buf *b, const void *p, size_t n)
{
	b->p = realloc(b->p, b->len + n + 1);
	assert_non_null(b->p);
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void spool_to(struct buf *b, struct spool *s)
{
	char chunk[65536];
	ssize_t n;
	assert_int_equal(spool_rewind(s), 0);
	while ((n = spool_read(s, chunk, sizeof(chunk))) > 0)
		buf_add(b, chunk, (size_t)n);
	assert_int_equal(n, 0);
}

/* HEADERS (what every message here starts with) after the edits. */
static struct testhdrs *outer_headers(struct smime_encrypt *enc)
{
	struct testhdrs *h = testhdrs_new(HEADERS);
	for (size_t i = 0; i < smime_encrypt_edit_count(enc); i++)
		testhdrs_apply(h, smime_encrypt_edit(enc, i));
	return h;
}

/* The outer MIME headers after the edits, a blank line and the body:
 * what SMIME_read_CMS reads. */
static struct buf mime_of(struct smime_encrypt *enc)
{
	struct buf b = { 0 };
	struct testhdrs *h = outer_headers(enc);
	char *mime = testhdrs_mime(h);
	buf_add(&b, mime, strlen(mime));
	free(mime);
	testhdrs_free(&h);
	buf_add(&b, "\r\n", 2);
	spool_to(&b, smime_encrypt_result_body(enc));
	return b;
}

static struct smime_encrypt *start(const struct smime_recipient *r, size_t n,
				   size_t threshold)
{
	struct smime_encrypt_options o = { threshold, test_dir() };
	struct smime_encrypt *enc = NULL;
	struct smx_error err;
	if (smime_encrypt_new(r, n, &o, &enc, &err) != SMX_OK)
		fail_msg("smime_encrypt_new: %s", err.text);
	return enc;
}

static void feed(struct smime_encrypt *enc, const char *const *hdrs,
		 const char *body, size_t len)
{
	struct smx_error err;
	struct hdrlist *headers = testhdrs_list(hdrs);
	struct spool *spool = testhdrs_spool(body, len, 0);
	if (smime_encrypt_eom(enc, headers, spool, &err) != SMX_OK)
		fail_msg("smime_encrypt_eom: %s", err.text);
	hdrlist_free(&headers);
	spool_free(&spool);
}

static struct smime_encrypt *encrypt_msg(const struct smime_recipient *r,
					 size_t n, const char *body)
{
	struct smime_encrypt *enc = start(r, n, 0);
	feed(enc, HEADERS, body, strlen(body));
	return enc;
}

static CMS_ContentInfo *read_cms(const struct buf *mime)
{
	BIO *in = BIO_new_mem_buf(mime->p, (int)mime->len);
	CMS_ContentInfo *cms = SMIME_read_CMS(in, NULL);
	BIO_free(in);
	if (cms == NULL) {
		ERR_print_errors_fp(stderr);
		fail_msg("SMIME_read_CMS failed");
	}
	return cms;
}

/* Decrypts with one recipient's key and certificate. */
static struct buf decrypt_as(const struct buf *mime, const struct testid *id)
{
	CMS_ContentInfo *cms = read_cms(mime);
	BIO *out = BIO_new(BIO_s_mem());
	struct buf b = { 0 };
	if (CMS_decrypt(cms, id->key, id->cert, NULL, out, CMS_BINARY) != 1) {
		ERR_print_errors_fp(stderr);
		fail_msg("CMS_decrypt failed");
	}
	char *p;
	long n = BIO_get_mem_data(out, &p);
	buf_add(&b, p, (size_t)n);
	BIO_free(out);
	CMS_ContentInfo_free(cms);
	return b;
}

/* The canonical entity smime_entity builds from the same input. */
static struct buf entity_of(const char *const *hdrs, const char *body,
			    size_t len)
{
	struct smime_entity *e = smime_entity_new(0, test_dir());
	struct buf b = { 0 };
	char chunk[65536];
	ssize_t n;
	struct hdrlist *headers = testhdrs_list(hdrs);
	struct spool *spool = testhdrs_spool(body, len, 0);
	assert_int_equal(smime_entity_finish(e, headers, spool, NULL), SMX_OK);
	hdrlist_free(&headers);
	spool_free(&spool);
	smime_entity_rewind(e);
	while ((n = smime_entity_read(e, chunk, sizeof(chunk))) > 0)
		buf_add(&b, chunk, (size_t)n);
	smime_entity_free(&e);
	return b;
}

static void assert_decrypts_to(const struct buf *mime,
			       const struct testid *id, const struct buf *want)
{
	struct buf got = decrypt_as(mime, id);
	assert_int_equal(got.len, want->len);
	assert_memory_equal(got.p, want->p, want->len);
	free(got.p);
}

/* OpenSSL's printout of the structure, to look for algorithm names. */
static char *print_cms(const struct buf *mime)
{
	CMS_ContentInfo *cms = read_cms(mime);
	BIO *out = BIO_new(BIO_s_mem());
	assert_int_equal(CMS_ContentInfo_print_ctx(out, cms, 0, NULL), 1);
	char *p;
	long n = BIO_get_mem_data(out, &p);
	char *s = strndup(p, (size_t)n);
	BIO_free(out);
	CMS_ContentInfo_free(cms);
	return s;
}

static size_t count(const char *hay, const char *needle)
{
	size_t c = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		c++;
	return c;
}

/* The value name has after the edits (static: valid until the next call). */
static const char *edit_value(struct smime_encrypt *enc, const char *name)
{
	static char value[512];
	struct testhdrs *h = outer_headers(enc);
	const char *v = testhdrs_get(h, name);
	snprintf(value, sizeof(value), "%s", v != NULL ? v : "");
	testhdrs_free(&h);
	return v != NULL ? value : NULL;
}

/* Every RecipientInfo names its certificate by issuer and serial. */
static void assert_issuer_serial_rids(const struct buf *mime, size_t want)
{
	CMS_ContentInfo *cms = read_cms(mime);
	STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(cms);
	size_t seen = 0;
	for (int i = 0; i < sk_CMS_RecipientInfo_num(ris); i++) {
		CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(ris, i);
		ASN1_OCTET_STRING *keyid = NULL;
		X509_NAME *issuer = NULL;
		ASN1_INTEGER *sno = NULL;
		if (CMS_RecipientInfo_type(ri) == CMS_RECIPINFO_TRANS) {
			assert_int_equal(CMS_RecipientInfo_ktri_get0_signer_id(
				ri, &keyid, &issuer, &sno), 1);
		} else {
			assert_int_equal(CMS_RecipientInfo_type(ri),
					 CMS_RECIPINFO_AGREE);
			STACK_OF(CMS_RecipientEncryptedKey) *reks =
				CMS_RecipientInfo_kari_get0_reks(ri);
			assert_int_equal(sk_CMS_RecipientEncryptedKey_num(reks), 1);
			assert_int_equal(CMS_RecipientEncryptedKey_get0_id(
				sk_CMS_RecipientEncryptedKey_value(reks, 0),
				&keyid, NULL, NULL, &issuer, &sno), 1);
		}
		assert_null(keyid);
		assert_non_null(issuer);
		assert_non_null(sno);
		seen++;
	}
	assert_int_equal(seen, want);
	CMS_ContentInfo_free(cms);
}

static void gcm_only_when_every_recipient_advertises_it(void **state)
{
	(void)state;
	struct {
		unsigned caps_a, caps_b;
		bool legacy_b;
		enum smime_enc_content want;
		const char *why;
	} cases[] = {
		{ CAPS_ALL, CAPS_ALL, false, SMIME_ENC_AUTH_ENVELOPED,
		  "both advertise GCM" },
		{ CAPS_ALL, 0, false, SMIME_ENC_ENVELOPED,
		  "second has no known capabilities" },
		{ CAPS_ALL, CAPS_CBC, false, SMIME_ENC_ENVELOPED,
		  "second lists only CBC" },
		{ CAPS_ALL, SMIME_CAP_AES256_GCM, false, SMIME_ENC_ENVELOPED,
		  "GCM bit without KNOWN is not trusted" },
		{ CAPS_ALL, CAPS_ALL, true, SMIME_ENC_ENVELOPED,
		  "second is legacy_interop" },
	};
	struct buf want = entity_of(HEADERS, BODY, strlen(BODY));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct smime_recipient r[] = {
			{ rsa.cert, cases[i].caps_a, false },
			{ p256.cert, cases[i].caps_b, cases[i].legacy_b },
		};
		struct smime_encrypt *enc = encrypt_msg(r, 2, BODY);
		if (smime_encrypt_content(enc) != cases[i].want)
			fail_msg("case %zu (%s): got %s", i, cases[i].why,
				 smime_enc_content_name(
					 smime_encrypt_content(enc)));
		struct buf mime = mime_of(enc);
		char *printed = print_cms(&mime);
		bool gcm = cases[i].want == SMIME_ENC_AUTH_ENVELOPED;
		assert_non_null(strstr(printed, gcm ? "aes-256-gcm" :
				       "aes-256-cbc"));
		assert_non_null(strstr(edit_value(enc, "Content-Type"), gcm ?
			"smime-type=authEnveloped-data;" :
			"smime-type=enveloped-data;"));
		assert_decrypts_to(&mime, &rsa, &want);
		assert_decrypts_to(&mime, &p256, &want);
		free(printed);
		free(mime.p);
		smime_encrypt_free(&enc);
		assert_null(enc);
	}
	free(want.p);
}

static void oaep_only_when_advertised_pkcs1_otherwise(void **state)
{
	(void)state;
	const unsigned oaep = SMIME_CAP_KNOWN | SMIME_CAP_RSAES_OAEP;
	struct smime_recipient r[] = {
		{ rsa.cert, oaep, false },
		{ rsa2.cert, CAPS_CBC, false },
		{ p256.cert, CAPS_ALL, false },
	};
	struct smime_encrypt *enc = encrypt_msg(r, 3, BODY);
	assert_int_equal(smime_encrypt_key_mgmt(enc, 0), SMIME_KM_RSA_OAEP);
	assert_int_equal(smime_encrypt_key_mgmt(enc, 1), SMIME_KM_RSA_PKCS1);
	assert_int_equal(smime_encrypt_key_mgmt(enc, 2), SMIME_KM_ECDH);
	struct buf mime = mime_of(enc);
	char *printed = print_cms(&mime);
	assert_int_equal(count(printed, "rsaesOaep"), 1);
	assert_int_equal(count(printed, "algorithm: rsaEncryption"), 1);
	assert_non_null(strstr(printed, "sha256"));	/* OAEP hash */
	assert_non_null(strstr(printed, "dhSinglePass-stdDH-sha256kdf-scheme"));
	assert_non_null(strstr(printed, "id-aes256-wrap"));
	struct buf want = entity_of(HEADERS, BODY, strlen(BODY));
	assert_decrypts_to(&mime, &rsa, &want);
	assert_decrypts_to(&mime, &rsa2, &want);
	assert_decrypts_to(&mime, &p256, &want);
	assert_issuer_serial_rids(&mime, 3);
	free(want.p);
	free(printed);
	free(mime.p);
	smime_encrypt_free(&enc);
}

static void legacy_forces_pkcs1_cbc_and_issuer_serial(void **state)
{
	(void)state;
	struct smime_recipient r[] = {
		{ rsa.cert, CAPS_ALL, false },
		{ rsa2.cert, CAPS_ALL, true },
		{ p384.cert, CAPS_ALL, false },
	};
	struct smime_encrypt *enc = encrypt_msg(r, 3, BODY);
	assert_int_equal(smime_encrypt_content(enc), SMIME_ENC_ENVELOPED);
	assert_int_equal(smime_encrypt_key_mgmt(enc, 0), SMIME_KM_RSA_PKCS1);
	assert_int_equal(smime_encrypt_key_mgmt(enc, 1), SMIME_KM_RSA_PKCS1);
	struct buf mime = mime_of(enc);
	char *printed = print_cms(&mime);
	assert_null(strstr(printed, "rsaesOaep"));
	assert_null(strstr(printed, "gcm"));
	assert_non_null(strstr(printed, "aes-256-cbc"));
	assert_non_null(strstr(printed, "dhSinglePass-stdDH-sha384kdf-scheme"));
	assert_issuer_serial_rids(&mime, 3);
	struct buf want = entity_of(HEADERS, BODY, strlen(BODY));
	assert_decrypts_to(&mime, &rsa2, &want);
	assert_decrypts_to(&mime, &p384, &want);
	free(want.p);
	free(printed);
	free(mime.p);
	smime_encrypt_free(&enc);
}

/* 1, 5 and 50 recipients (RSA and EC mixed, some with GCM); each key
 * decrypts; the base64 has 76-character CRLF lines. */
static void every_recipient_decrypts(void **state)
{
	(void)state;
	static const size_t sizes[] = { 1, 5, N_MANY };
	struct buf want = entity_of(HEADERS, ASCII_BODY, strlen(ASCII_BODY));
	struct smime_recipient r[N_MANY];
	for (size_t i = 0; i < N_MANY; i++)
		r[i] = (struct smime_recipient){ many[i].cert,
						 i % 2 ? CAPS_ALL : 0, false };
	for (size_t k = 0; k < 3; k++) {
		struct smime_encrypt *enc = encrypt_msg(r, sizes[k], ASCII_BODY);
		assert_int_equal(smime_encrypt_recipient_count(enc), sizes[k]);
		assert_int_equal(smime_encrypt_content(enc),
				 SMIME_ENC_ENVELOPED);	/* many[0]: no caps */
		struct buf body = { 0 };
		spool_to(&body, smime_encrypt_result_body(enc));
		for (const char *p = body.p; *p != '\0';) {
			size_t line = strcspn(p, "\r\n");
			assert_true(line <= 76 && p[line] == '\r' &&
				    p[line + 1] == '\n');
			p += line + 2;
			assert_true(line == 76 || *p == '\0');
		}
		struct buf mime = mime_of(enc);
		for (size_t i = 0; i < sizes[k]; i++)
			assert_decrypts_to(&mime, &many[i], &want);
		assert_issuer_serial_rids(&mime, sizes[k]);
		free(body.p);
		free(mime.p);
		smime_encrypt_free(&enc);
	}
	free(want.p);
}

static void gcm_with_many_recipients_decrypts(void **state)
{
	(void)state;
	struct smime_recipient r[N_MANY];
	for (size_t i = 0; i < N_MANY; i++)
		r[i] = (struct smime_recipient){ many[i].cert, CAPS_ALL,
						 false };
	struct smime_encrypt *enc = encrypt_msg(r, N_MANY, BODY);
	assert_int_equal(smime_encrypt_content(enc), SMIME_ENC_AUTH_ENVELOPED);
	struct buf mime = mime_of(enc);
	struct buf want = entity_of(HEADERS, BODY, strlen(BODY));
	assert_decrypts_to(&mime, &many[0], &want);
	assert_decrypts_to(&mime, &many[N_MANY - 1], &want);
	free(want.p);
	free(mime.p);
	smime_encrypt_free(&enc);
}

/* HEADERS has MIME-Version 1.0, a Content-Type and an 8bit CTE: the
 * version stays, the type and encoding change in place, the disposition
 * is added; three edits where deleting and adding would take seven. */
static void edits_change_mime_headers_in_place(void **state)
{
	(void)state;
	struct smime_recipient r = { rsa.cert, 0, false };
	struct smime_encrypt *enc = encrypt_msg(&r, 1, BODY);
	static const struct {
		enum smime_edit_op op;
		const char *name;
		unsigned index;
		const char *value;
	} want[] = {
		{ SMIME_EDIT_CHANGE, "Content-Type", 1, " application/pkcs7-mime; "
		  "smime-type=enveloped-data; name=\"smime.p7m\"" },
		{ SMIME_EDIT_CHANGE, "Content-Transfer-Encoding", 1, " base64" },
		{ SMIME_EDIT_ADD, "Content-Disposition", 0,
		  " attachment; filename=\"smime.p7m\"" },
	};
	assert_int_equal(smime_encrypt_edit_count(enc), 3);
	for (size_t i = 0; i < 3; i++) {
		const struct smime_header_edit *ed = smime_encrypt_edit(enc, i);
		assert_int_equal(ed->op, want[i].op);
		assert_string_equal(ed->name, want[i].name);
		assert_int_equal(ed->index, want[i].index);
		assert_string_equal(ed->value, want[i].value);
	}
	assert_null(smime_encrypt_edit(enc, 3));
	struct testhdrs *h = outer_headers(enc);
	assert_int_equal(testhdrs_count(h, "Content-Type"), 1);
	assert_int_equal(testhdrs_count(h, "MIME-Version"), 1);
	assert_string_equal(testhdrs_get(h, "Content-Transfer-Encoding"),
			    " base64");
	testhdrs_free(&h);
	smime_encrypt_free(&enc);
}

/* Without MIME headers every container header is added; a second
 * Content-Type and a stray Content-ID are deleted. */
static void edits_add_or_delete_what_does_not_fit(void **state)
{
	(void)state;
	struct smime_recipient r = { rsa.cert, 0, false };
	static const char *const bare[] = { "From", " a@example.com", NULL };
	static const char *const messy[] = {
		"Content-Type", " text/plain", "Content-ID", " <x@y>",
		"content-type", " text/html", "MIME-Version", " 2.0", NULL };
	struct smime_encrypt *enc = start(&r, 1, 0);
	feed(enc, bare, BODY, strlen(BODY));
	assert_int_equal(smime_encrypt_edit_count(enc), 4);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(smime_encrypt_edit(enc, i)->op, SMIME_EDIT_ADD);
	smime_encrypt_free(&enc);

	enc = start(&r, 1, 0);
	feed(enc, messy, BODY, strlen(BODY));
	struct testhdrs *h = testhdrs_new(messy);
	for (size_t i = 0; i < smime_encrypt_edit_count(enc); i++)
		testhdrs_apply(h, smime_encrypt_edit(enc, i));
	assert_int_equal(testhdrs_count(h, "Content-Type"), 1);
	assert_int_equal(testhdrs_count(h, "Content-ID"), 0);
	assert_string_equal(testhdrs_get(h, "MIME-Version"), " 1.0");
	assert_non_null(strstr(testhdrs_get(h, "Content-Type"),
			       "application/pkcs7-mime"));
	testhdrs_free(&h);
	smime_encrypt_free(&enc);
}

static struct smime_sign *sign_msg(struct smime_signer *signer)
{
	struct smime_sign *sign = smime_sign_begin(signer);
	struct smx_error err;
	struct hdrlist *headers = testhdrs_list(HEADERS);
	struct spool *spool = testhdrs_spool(BODY, strlen(BODY), 0);
	if (smime_sign_eom(sign, headers, spool, &err) != SMX_OK)
		fail_msg("smime_sign_eom: %s", err.text);
	hdrlist_free(&headers);
	spool_free(&spool);
	return sign;
}

/* The decrypted entity is a complete S/MIME signed message whose
 * signature verifies to the canonical entity of the original. */
static void assert_inner_signature_verifies(const struct buf *inner)
{
	BIO *in = BIO_new_mem_buf(inner->p, (int)inner->len);
	BIO *dcont = NULL, *out = BIO_new(BIO_s_mem());
	CMS_ContentInfo *cms = SMIME_read_CMS(in, &dcont);
	assert_non_null(cms);
	X509_STORE *store = testpki_store(&pki);
	if (CMS_verify(cms, NULL, store, dcont, out, CMS_BINARY) != 1) {
		ERR_print_errors_fp(stderr);
		fail_msg("inner signature does not verify");
	}
	char *p;
	long n = BIO_get_mem_data(out, &p);
	struct buf want = entity_of(HEADERS, BODY, strlen(BODY));
	assert_int_equal((size_t)n, want.len);
	assert_memory_equal(p, want.p, want.len);
	free(want.p);
	X509_STORE_free(store);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	BIO_free(dcont);
	BIO_free(out);
}

static void sign_then_encrypt_inner_signature_verifies(void **state)
{
	(void)state;
	for (int format = 0; format < 2; format++) {
		struct smime_sign_options so = {
			(enum smime_sign_format)format, SMIME_DIGEST_SHA256,
			0, test_dir() };
		struct smime_signer *signer = NULL;
		struct smx_error err;
		STACK_OF(X509) *chain = sk_X509_new_null();
		sk_X509_push(chain, pki.inter);
		assert_int_equal(smime_signer_new(p256.key, p256.cert, chain,
						  NULL, &so, &signer, &err),
				 SMX_OK);
		sk_X509_free(chain);
		struct smime_sign *sign = sign_msg(signer);
		struct smime_recipient r[] = {
			{ rsa.cert, 0, false }, { p256.cert, 0, false } };
		struct smime_encrypt *enc = start(r, 2, 0);
		if (smime_encrypt_signed(enc, sign, &err) != SMX_OK)
			fail_msg("smime_encrypt_signed: %s", err.text);
		/* made from the original's headers, not the signer's */
		assert_int_equal(smime_encrypt_edit_count(enc), 3);
		assert_int_equal(smime_encrypt_edit(enc, 0)->op,
				 SMIME_EDIT_CHANGE);
		smime_sign_free(&sign);	/* enc does not need it any more */
		struct buf mime = mime_of(enc);
		struct buf inner = decrypt_as(&mime, &rsa);
		assert_true(strncmp(inner.p, "Content-Type: ", 14) == 0);
		assert_null(strstr(inner.p, "MIME-Version"));
		assert_non_null(strstr(inner.p, format == 0 ?
				       "multipart/signed" : "signed-data"));
		assert_inner_signature_verifies(&inner);
		free(inner.p);
		free(mime.p);
		smime_encrypt_free(&enc);
		smime_signer_free(&signer);
	}
}

static void eight_bit_content_is_reencoded_inside(void **state)
{
	(void)state;
	struct smime_recipient r = { p256.cert, 0, false };
	struct smime_encrypt *enc = encrypt_msg(&r, 1, BODY);
	struct buf mime = mime_of(enc);
	struct buf inner = decrypt_as(&mime, &p256);
	assert_non_null(strstr(inner.p, "Content-Transfer-Encoding: "
			       "quoted-printable\r\n"));
	for (size_t i = 0; i < inner.len; i++)
		assert_true((unsigned char)inner.p[i] < 0x80);
	assert_non_null(strstr(inner.p, "Gr=C3=BC=C3=9F=C3=A9"));
	free(inner.p);
	free(mime.p);
	smime_encrypt_free(&enc);
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static long peak_rss_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* 20 MB given in 64 KiB chunks with a 64 KiB threshold: the result is in
 * a file, the peak memory grows by far less than the message (not
 * measured under ASan, whose quarantine keeps freed memory), and it
 * decrypts to the canonical entity. Runs first, while the peak is low. */
static void twenty_megabytes_stay_out_of_memory(void **state)
{
	(void)state;
	const size_t total = 20u << 20, chunk = 65536;
	char *piece = malloc(chunk);
	for (size_t i = 0; i < chunk; i++)
		piece[i] = (i % 64 == 63) ? '\n' : (char)('a' + i % 26);
	struct smime_recipient r[] = {
		{ rsa.cert, 0, false }, { p256.cert, 0, false } };
	long before = peak_rss_kib();
	struct smime_encrypt *enc = start(r, 2, chunk);
	struct smx_error err;
	struct hdrlist *headers = testhdrs_list(HEADERS);
	struct spool *body = testhdrs_spool("", 0, 0);	/* to a file */
	for (size_t done = 0; done < total; done += chunk)
		assert_int_equal(spool_append(body, piece, chunk), 0);
	if (smime_encrypt_eom(enc, headers, body, &err) != SMX_OK)
		fail_msg("smime_encrypt_eom: %s", err.text);
	long grown_kib = peak_rss_kib() - before;
	print_message("20 MB: peak RSS grew by %ld KiB\n", grown_kib);
#ifndef UNDER_ASAN
	assert_true(grown_kib < 8 * 1024);
#endif
	assert_true(spool_on_disk(smime_encrypt_result_body(enc)));
	assert_true(spool_size(smime_encrypt_result_body(enc)) > total / 3 * 4);

	struct buf mime = mime_of(enc);
	struct smime_entity *e = smime_entity_new(chunk, test_dir());
	assert_int_equal(smime_entity_finish(e, headers, body, NULL), SMX_OK);
	hdrlist_free(&headers);
	spool_free(&body);
	struct buf got = decrypt_as(&mime, &p256);
	assert_int_equal(got.len, smime_entity_size(e));
	char cmp[65536];
	size_t off = 0;
	ssize_t n;
	smime_entity_rewind(e);
	while ((n = smime_entity_read(e, cmp, sizeof(cmp))) > 0) {
		assert_memory_equal(got.p + off, cmp, (size_t)n);
		off += (size_t)n;
	}
	assert_int_equal(off, got.len);
	smime_entity_free(&e);
	free(got.p);
	free(mime.p);
	free(piece);
	smime_encrypt_free(&enc);
}

static void assert_refused(X509 *cert, const char *reason)
{
	struct smime_recipient r[] = {
		{ rsa.cert, 0, false }, { cert, 0, false } };
	struct smime_encrypt *enc = (struct smime_encrypt *)&r;
	struct smx_error err;
	assert_int_equal(smime_encrypt_new(r, 2, NULL, &enc, &err),
			 SMX_PERMFAIL);
	assert_null(enc);
	if (strstr(err.text, reason) == NULL ||
	    strstr(err.text, "recipient certificate CN=") == NULL ||
	    strstr(err.text, " serial ") == NULL)
		fail_msg("reason '%s' lacks '%s' or the certificate", err.text,
			 reason);
	assert_int_equal(smime_recipient_check(cert, &err), SMX_PERMFAIL);
	assert_non_null(strstr(err.text, reason));
}

static void unusable_certificates_are_refused_by_name(void **state)
{
	(void)state;
	struct testid weak, ed;
	testpki_issue(&pki, TESTKEY_RSA1024, "weak@example.com", &weak);
	testpki_issue(&pki, TESTKEY_ED25519, "ed@example.com", &ed);
	assert_refused(weak.cert, "RSA key of 1024 bits (2048 to 16384");
	assert_refused(ed.cert, "ED25519 keys cannot be encrypted to");
	testid_free(&weak);
	testid_free(&ed);

	struct smx_error err;
	struct smime_encrypt *enc = NULL;
	assert_int_equal(smime_encrypt_new(NULL, 0, NULL, &enc, &err),
			 SMX_PERMFAIL);
	assert_non_null(strstr(err.text, "0 recipient certificates"));
	struct smime_recipient none = { NULL, 0, false };
	assert_int_equal(smime_encrypt_new(&none, 1, NULL, &enc, &err),
			 SMX_PERMFAIL);
	assert_int_equal(smime_recipient_check(rsa.cert, &err), SMX_OK);
	assert_int_equal(smime_recipient_check(p384.cert, &err), SMX_OK);
	assert_string_equal(err.text, "");
}

static void duplicate_certificates_get_one_recipient_info(void **state)
{
	(void)state;
	struct smime_recipient r[] = {
		{ rsa.cert, 0, false }, { p256.cert, 0, false },
		{ rsa.cert, 0, false } };
	struct smime_encrypt *enc = encrypt_msg(r, 3, BODY);
	assert_int_equal(smime_encrypt_recipient_count(enc), 2);
	assert_ptr_equal(smime_encrypt_recipient_cert(enc, 1), p256.cert);
	assert_null(smime_encrypt_recipient_cert(enc, 2));
	struct buf mime = mime_of(enc);
	assert_issuer_serial_rids(&mime, 2);
	free(mime.p);
	smime_encrypt_free(&enc);
}

static void misuse_is_refused(void **state)
{
	(void)state;
	struct smime_recipient r = { rsa.cert, 0, false };
	struct smx_error err;
	struct smime_encrypt *enc = encrypt_msg(&r, 1, BODY);
	size_t size = spool_size(smime_encrypt_result_body(enc));
	struct hdrlist *headers = testhdrs_list(HEADERS);
	struct spool *body = testhdrs_spool("x", 1, 0);
	assert_int_equal(smime_encrypt_eom(enc, headers, body, &err),
			 SMX_PERMFAIL);
	assert_int_equal(smime_encrypt_signed(enc, NULL, &err), SMX_PERMFAIL);
	/* the first result is still there */
	assert_int_equal(spool_size(smime_encrypt_result_body(enc)), size);
	assert_int_equal(smime_encrypt_edit_count(enc), 3);
	smime_encrypt_free(&enc);
	hdrlist_free(&headers);
	spool_free(&body);
	enc = start(&r, 1, 0);
	assert_int_equal(smime_encrypt_signed(enc, NULL, &err), SMX_PERMFAIL);
	assert_string_equal(err.text, "the message was not signed");
	assert_int_equal(smime_encrypt_edit_count(enc), 0);
	smime_encrypt_free(&enc);
	smime_encrypt_free(&enc);	/* NULL-safe */
	smime_encrypt_free(NULL);
}

static int setup(void **state)
{
	(void)state;
	smime_init();
	testpki_init(&pki);
	testpki_issue(&pki, TESTKEY_RSA2048, "bob@example.net", &rsa);
	testpki_issue(&pki, TESTKEY_RSA2048, "dave@example.net", &rsa2);
	testpki_issue(&pki, TESTKEY_P256, "carol@example.net", &p256);
	testpki_issue(&pki, TESTKEY_P384, "erin@example.net", &p384);
	for (size_t i = 0; i < N_MANY; i++) {
		char email[64];
		snprintf(email, sizeof(email), "r%zu@example.org", i);
		testpki_issue(&pki, i % 5 == 0 ? TESTKEY_RSA2048 :
			      i % 7 == 3 ? TESTKEY_P384 : TESTKEY_P256, email,
			      &many[i]);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	testid_free(&rsa);
	testid_free(&rsa2);
	testid_free(&p256);
	testid_free(&p384);
	for (size_t i = 0; i < N_MANY; i++)
		testid_free(&many[i]);
	testpki_free(&pki);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(twenty_megabytes_stay_out_of_memory),
		cmocka_unit_test(gcm_only_when_every_recipient_advertises_it),
		cmocka_unit_test(oaep_only_when_advertised_pkcs1_otherwise),
		cmocka_unit_test(legacy_forces_pkcs1_cbc_and_issuer_serial),
		cmocka_unit_test(every_recipient_decrypts),
		cmocka_unit_test(gcm_with_many_recipients_decrypts),
		cmocka_unit_test(edits_change_mime_headers_in_place),
		cmocka_unit_test(edits_add_or_delete_what_does_not_fit),
		cmocka_unit_test(sign_then_encrypt_inner_signature_verifies),
		cmocka_unit_test(eight_bit_content_is_reencoded_inside),
		cmocka_unit_test(unusable_certificates_are_refused_by_name),
		cmocka_unit_test(duplicate_certificates_get_one_recipient_info),
		cmocka_unit_test(misuse_is_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
