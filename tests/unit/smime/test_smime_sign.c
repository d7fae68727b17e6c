/* SPDX-License-Identifier: BSD-2-Clause */
/* Signing: both formats verify with OpenSSL's own S/MIME reader against
 * the test root, the signed content is the canonical entity, the header
 * edits are right, the signed attributes and certificate set are what
 * RFC 8551 asks for, and unusable keys fail with a reason. */
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
#include <openssl/pkcs7.h>

#include <smx/smime.h>

#include "testhdrs.h"
#include "testpki.h"

static struct testpki pki;
static struct testid rsa, p256, enc;

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

struct signed_msg {
	char *mime;		/* new MIME headers + blank line + body */
	size_t len;
	char *content_type;
	struct smime_sign *sign;
};

static struct smime_signer *make_signer(const struct testid *id,
					X509 *enc_cert,
					enum smime_sign_format format,
					enum smime_digest digest,
					size_t threshold)
{
	struct smime_sign_options o = { format, digest, threshold, test_dir() };
	STACK_OF(X509) *chain = sk_X509_new_null();
	sk_X509_push(chain, pki.inter);
	sk_X509_push(chain, id->cert);	/* duplicates are skipped */
	struct smime_signer *s = NULL;
	struct smx_error err;
	enum smx_status st = smime_signer_new(id->key, id->cert, chain,
					      enc_cert, &o, &s, &err);
	sk_X509_free(chain);
	if (st != SMX_OK)
		fail_msg("smime_signer_new: %s", err.text);
	return s;
}

static void append(struct signed_msg *m, const void *p, size_t n)
{
	m->mime = realloc(m->mime, m->len + n + 1);
	memcpy(m->mime + m->len, p, n);
	m->len += n;
	m->mime[m->len] = '\0';
}

/* Signs headers+body; collects the added headers and the new body into
 * one MIME entity that OpenSSL's SMIME_read_CMS can read. */
static struct signed_msg sign_message(struct smime_signer *s,
				      const char *const *hdrs,
				      const char *body, size_t body_len)
{
	struct signed_msg m = { 0 };
	struct smx_error err;
	m.sign = smime_sign_begin(s);
	assert_non_null(m.sign);
	struct hdrlist *headers = testhdrs_list(hdrs);
	struct spool *spool = testhdrs_spool(body, body_len, 0);
	if (smime_sign_eom(m.sign, headers, spool, &err) != SMX_OK)
		fail_msg("smime_sign_eom: %s", err.text);
	/* the edits do not need the caller's message any more */
	hdrlist_free(&headers);
	spool_free(&spool);
	struct testhdrs *h = testhdrs_new(hdrs);
	for (size_t i = 0; i < smime_sign_edit_count(m.sign); i++)
		testhdrs_apply(h, smime_sign_edit(m.sign, i));
	assert_int_equal(testhdrs_count(h, "Content-Type"), 1);
	m.content_type = strdup(testhdrs_get(h, "Content-Type"));
	char *mime = testhdrs_mime(h);
	append(&m, mime, strlen(mime));
	free(mime);
	testhdrs_free(&h);
	append(&m, "\r\n", 2);
	struct spool *out = smime_sign_result_body(m.sign);
	char buf[65536];
	ssize_t n;
	assert_int_equal(spool_rewind(out), 0);
	while ((n = spool_read(out, buf, sizeof(buf))) > 0)
		append(&m, buf, (size_t)n);
	return m;
}

static void signed_msg_free(struct signed_msg *m)
{
	free(m->mime);
	free(m->content_type);
	smime_sign_free(&m->sign);
}

/* The canonical entity of the same input, built on its own. */
static char *entity_of(const char *const *hdrs, const char *body,
		       size_t body_len, size_t *len_r)
{
	struct smime_entity *e = smime_entity_new(0, test_dir());
	struct hdrlist *headers = testhdrs_list(hdrs);
	struct spool *spool = testhdrs_spool(body, body_len, 0);
	assert_int_equal(smime_entity_finish(e, headers, spool, NULL), SMX_OK);
	hdrlist_free(&headers);
	spool_free(&spool);
	size_t len = smime_entity_size(e);
	char *buf = malloc(len + 1);
	smime_entity_rewind(e);
	size_t off = 0;
	ssize_t n;
	while ((n = smime_entity_read(e, buf + off, len + 1 - off)) > 0)
		off += (size_t)n;
	assert_int_equal(off, len);
	smime_entity_free(&e);
	*len_r = len;
	return buf;
}

/* Verifies with OpenSSL's S/MIME reader and returns the signed content. */
static CMS_ContentInfo *verify(const struct signed_msg *m, char **content_r,
			       size_t *len_r)
{
	BIO *in = BIO_new_mem_buf(m->mime, (int)m->len);
	BIO *dcont = NULL, *out = BIO_new(BIO_s_mem());
	CMS_ContentInfo *cms = SMIME_read_CMS(in, &dcont);
	if (cms == NULL)
		fail_msg("SMIME_read_CMS failed");
	X509_STORE *store = testpki_store(&pki);
	if (CMS_verify(cms, NULL, store, dcont, out, CMS_BINARY) != 1) {
		ERR_print_errors_fp(stderr);
		fail_msg("CMS_verify failed");
	}
	char *p;
	long n = BIO_get_mem_data(out, &p);
	*content_r = malloc((size_t)n + 1);
	memcpy(*content_r, p, (size_t)n);
	*len_r = (size_t)n;
	X509_STORE_free(store);
	BIO_free(in);
	BIO_free(dcont);
	BIO_free(out);
	return cms;
}

static void assert_verifies_to_entity(const struct signed_msg *m,
				      const char *const *hdrs,
				      const char *body, size_t body_len)
{
	size_t want_len, got_len;
	char *want = entity_of(hdrs, body, body_len, &want_len);
	char *got;
	CMS_ContentInfo *cms = verify(m, &got, &got_len);
	assert_int_equal(got_len, want_len);
	assert_memory_equal(got, want, want_len);
	CMS_ContentInfo_free(cms);
	free(got);
	free(want);
}

static void rsa_clear_signed_verifies_over_the_entity(void **state)
{
	(void)state;
	struct smime_signer *s = make_signer(&rsa, NULL, SMIME_SIGN_CLEAR,
					     SMIME_DIGEST_SHA256, 0);
	struct signed_msg m = sign_message(s, HEADERS, BODY, strlen(BODY));
	assert_non_null(strstr(m.content_type, " multipart/signed; protocol="
			       "\"application/pkcs7-signature\"; micalg=sha-256;"
			       " boundary=\""));
	assert_verifies_to_entity(&m, HEADERS, BODY, strlen(BODY));
	assert_int_equal(smime_sign_entity_flags(m.sign),
			 SMIME_ENTITY_REENCODED);
	signed_msg_free(&m);
	smime_signer_free(&s);
	assert_null(s);
}

static void p256_opaque_sha384_verifies(void **state)
{
	(void)state;
	struct smime_signer *s = make_signer(&p256, NULL, SMIME_SIGN_OPAQUE,
					     SMIME_DIGEST_SHA384, 0);
	assert_string_equal(smime_signer_micalg(s), "sha-384");
	struct signed_msg m = sign_message(s, HEADERS, BODY, strlen(BODY));
	assert_string_equal(m.content_type, " application/pkcs7-mime; "
			    "smime-type=signed-data; name=\"smime.p7m\"");
	assert_non_null(strstr(m.mime, "Content-Transfer-Encoding: base64\r\n"));
	assert_verifies_to_entity(&m, HEADERS, BODY, strlen(BODY));
	signed_msg_free(&m);
	smime_signer_free(&s);
}

static void micalg_follows_the_digest(void **state)
{
	(void)state;
	struct smime_signer *s = make_signer(&p256, NULL, SMIME_SIGN_CLEAR,
					     SMIME_DIGEST_SHA512, 0);
	struct signed_msg m = sign_message(s, HEADERS, BODY, strlen(BODY));
	assert_non_null(strstr(m.content_type, "; micalg=sha-512;"));
	assert_verifies_to_entity(&m, HEADERS, BODY, strlen(BODY));
	signed_msg_free(&m);
	smime_signer_free(&s);
}

struct want_edit {
	enum smime_edit_op op;
	const char *name;
	unsigned index;
};

static void assert_edits(const char *const *hdrs,
			 const struct want_edit *want, size_t n)
{
	struct smime_signer *s = make_signer(&rsa, NULL, SMIME_SIGN_CLEAR,
					     SMIME_DIGEST_SHA256, 0);
	struct signed_msg m = sign_message(s, hdrs, "x\r\n", 3);
	assert_int_equal(smime_sign_edit_count(m.sign), n);
	for (size_t i = 0; i < n; i++) {
		const struct smime_header_edit *ed = smime_sign_edit(m.sign, i);
		assert_int_equal(ed->op, want[i].op);
		assert_string_equal(ed->name, want[i].name);
		assert_int_equal(ed->index, want[i].index);
		if (ed->op != SMIME_EDIT_DELETE)
			assert_non_null(ed->value);
	}
	assert_null(smime_sign_edit(m.sign, n));
	assert_non_null(strstr(m.content_type, "multipart/signed"));
	signed_msg_free(&m);
	smime_signer_free(&s);
}

/* Postfix rewrites queue-file records for every header edit: what fits
 * stays (MIME-Version: 1.0, a 7bit encoding), the Content-Type changes
 * in place, the rest is deleted, last first. */
static void edits_change_in_place_and_delete_the_rest(void **state)
{
	(void)state;
	static const char *const mixed[] = {
		"Content-Type", " text/plain",
		"X-Other", " 1",
		"content-type", " text/html",
		"MIME-Version", " 1.0 (made by hand)",
		"Content-ID", " <a@b>", NULL };
	static const struct want_edit mixed_want[] = {
		{ SMIME_EDIT_DELETE, "Content-ID", 1 },
		{ SMIME_EDIT_DELETE, "content-type", 2 },
		{ SMIME_EDIT_CHANGE, "Content-Type", 1 },
	};
	assert_edits(mixed, mixed_want, 3);
	static const char *const plain7[] = {
		"MIME-Version", " 1.0", "Content-Type", " text/plain",
		"Content-Transfer-Encoding", " 7BIT", NULL };
	static const struct want_edit plain7_want[] = {
		{ SMIME_EDIT_CHANGE, "Content-Type", 1 },
	};
	assert_edits(plain7, plain7_want, 1);
	static const char *const qp[] = {
		"MIME-Version", " 2.0", "Content-Type", " text/plain",
		"Content-Transfer-Encoding", " quoted-printable", NULL };
	static const struct want_edit qp_want[] = {
		{ SMIME_EDIT_DELETE, "Content-Transfer-Encoding", 1 },
		{ SMIME_EDIT_CHANGE, "MIME-Version", 1 },
		{ SMIME_EDIT_CHANGE, "Content-Type", 1 },
	};
	assert_edits(qp, qp_want, 3);
	static const char *const none[] = { "Subject", " hi", NULL };
	static const struct want_edit none_want[] = {
		{ SMIME_EDIT_ADD, "MIME-Version", 0 },
		{ SMIME_EDIT_ADD, "Content-Type", 0 },
	};
	assert_edits(none, none_want, 2);
}

/* The value of a signed attribute, as DER. */
static int signed_attr_der(CMS_SignerInfo *si, int nid, unsigned char **der)
{
	int loc = CMS_signed_get_attr_by_NID(si, nid, -1);
	if (loc < 0)
		return -1;
	X509_ATTRIBUTE *a = CMS_signed_get_attr(si, loc);
	ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(a, 0);
	return i2d_ASN1_TYPE(t, der);
}

static void assert_capabilities(CMS_SignerInfo *si)
{
	static const int want[] = { NID_aes_256_gcm, NID_aes_128_gcm,
		NID_aes_256_cbc, NID_aes_192_cbc, NID_aes_128_cbc };
	unsigned char *der = NULL;
	int len = signed_attr_der(si, NID_SMIMECapabilities, &der);
	assert_true(len > 0);
	const unsigned char *p = der;
	X509_ALGORS *caps = d2i_X509_ALGORS(NULL, &p, len);
	assert_non_null(caps);
	assert_int_equal(sk_X509_ALGOR_num(caps), 5);
	for (int i = 0; i < 5; i++) {
		const ASN1_OBJECT *obj;
		X509_ALGOR_get0(&obj, NULL, NULL, sk_X509_ALGOR_value(caps, i));
		assert_int_equal(OBJ_obj2nid(obj), want[i]);
	}
	sk_X509_ALGOR_pop_free(caps, X509_ALGOR_free);
	OPENSSL_free(der);
}

/* [0] IMPLICIT IssuerAndSerialNumber of the encryption certificate. */
static void assert_key_preference(CMS_SignerInfo *si, X509 *enc_cert)
{
	unsigned char *der = NULL, *name = NULL, *serial = NULL;
	int len = signed_attr_der(si, NID_id_smime_aa_encrypKeyPref, &der);
	int nlen = i2d_X509_NAME(X509_get_issuer_name(enc_cert), &name);
	int slen = i2d_ASN1_INTEGER(X509_get0_serialNumber(enc_cert), &serial);
	assert_true(len > 2);
	assert_int_equal(der[0], 0xa0);
	assert_true(der[1] < 0x80 || der[1] == 0x81);
	int hdr = der[1] < 0x80 ? 2 : 3;
	assert_int_equal(len, hdr + nlen + slen);
	assert_memory_equal(der + hdr, name, (size_t)nlen);
	assert_memory_equal(der + hdr + nlen, serial, (size_t)slen);
	OPENSSL_free(der);
	OPENSSL_free(name);
	OPENSSL_free(serial);
}

static bool has_cert(STACK_OF(X509) *certs, X509 *x)
{
	for (int i = 0; i < sk_X509_num(certs); i++)
		if (X509_cmp(sk_X509_value(certs, i), x) == 0)
			return true;
	return false;
}

static void signature_has_caps_key_preference_and_chain(void **state)
{
	(void)state;
	struct smime_signer *s = make_signer(&rsa, enc.cert, SMIME_SIGN_CLEAR,
					     SMIME_DIGEST_SHA256, 0);
	struct signed_msg m = sign_message(s, HEADERS, BODY, strlen(BODY));
	char *content;
	size_t len;
	CMS_ContentInfo *cms = verify(&m, &content, &len);
	CMS_SignerInfo *si = sk_CMS_SignerInfo_value(
		CMS_get0_SignerInfos(cms), 0);
	assert_true(CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime,
					       -1) >= 0);
	assert_true(CMS_signed_get_attr_by_NID(si, NID_pkcs9_messageDigest,
					       -1) >= 0);
	assert_capabilities(si);
	assert_key_preference(si, enc.cert);
	STACK_OF(X509) *certs = CMS_get1_certs(cms);
	assert_int_equal(sk_X509_num(certs), 3);
	assert_true(has_cert(certs, rsa.cert));
	assert_true(has_cert(certs, enc.cert));
	assert_true(has_cert(certs, pki.inter));
	assert_false(has_cert(certs, pki.root));
	sk_X509_pop_free(certs, X509_free);
	CMS_ContentInfo_free(cms);
	free(content);
	signed_msg_free(&m);
	smime_signer_free(&s);
}

static void no_key_preference_when_one_certificate(void **state)
{
	(void)state;
	struct smime_signer *s = make_signer(&p256, p256.cert,
					     SMIME_SIGN_OPAQUE,
					     SMIME_DIGEST_SHA256, 0);
	struct signed_msg m = sign_message(s, HEADERS, BODY, strlen(BODY));
	char *content;
	size_t len;
	CMS_ContentInfo *cms = verify(&m, &content, &len);
	CMS_SignerInfo *si = sk_CMS_SignerInfo_value(
		CMS_get0_SignerInfos(cms), 0);
	assert_true(CMS_signed_get_attr_by_NID(si,
		NID_id_smime_aa_encrypKeyPref, -1) < 0);
	assert_capabilities(si);
	CMS_ContentInfo_free(cms);
	free(content);
	signed_msg_free(&m);
	smime_signer_free(&s);
}

static void assert_refused(const struct testid *id, X509 *cert,
			   const char *reason_part)
{
	struct smime_signer *s = NULL;
	struct smx_error err;
	enum smx_status st = smime_signer_new(id->key, cert, NULL, NULL, NULL,
					      &s, &err);
	assert_int_equal(st, SMX_PERMFAIL);
	assert_null(s);
	if (strstr(err.text, reason_part) == NULL)
		fail_msg("reason \"%s\" lacks \"%s\"", err.text, reason_part);
}

static void ed25519_is_refused_with_a_reason(void **state)
{
	(void)state;
	struct testid ed;
	testpki_issue(&pki, TESTKEY_ED25519, "ed@example.com", &ed);
	/* Debian 12's OpenSSL 3.0 cannot sign CMS with Ed25519. Should a
	 * later OpenSSL manage, the signer must then really work. */
	struct smime_signer *s = NULL;
	struct smx_error err;
	enum smx_status st = smime_signer_new(ed.key, ed.cert, NULL, NULL,
					      NULL, &s, &err);
	if (OPENSSL_VERSION_NUMBER < 0x30100000L || st != SMX_OK)
		assert_refused(&ed, ed.cert, "cannot produce CMS signatures "
			       "with ED25519 keys (RFC 8419)");
	else
		assert_string_equal(smime_signer_micalg(s), "sha-512");
	smime_signer_free(&s);
	testid_free(&ed);
}

static void weak_or_mismatched_keys_are_refused(void **state)
{
	(void)state;
	struct testid weak;
	testpki_issue(&pki, TESTKEY_RSA1024, "weak@example.com", &weak);
	assert_refused(&weak, weak.cert, "has 1024 bits");
	testid_free(&weak);
	assert_refused(&rsa, p256.cert, "does not belong to the certificate");
}

static void large_message_streams_through_files(void **state)
{
	(void)state;
	size_t len = 5u << 20;
	char *body = malloc(len);
	for (size_t i = 0; i < len; i++)
		body[i] = (i % 100 == 99) ? '\n' : (char)(0x80 + i % 90);
	for (int format = 0; format < 2; format++) {
		struct smime_signer *s = make_signer(&p256, NULL,
			(enum smime_sign_format)format, SMIME_DIGEST_SHA256,
			64 * 1024);
		struct signed_msg m = sign_message(s, HEADERS, body, len);
		assert_true(spool_on_disk(smime_sign_result_body(m.sign)));
		assert_verifies_to_entity(&m, HEADERS, body, len);
		signed_msg_free(&m);
		smime_signer_free(&s);
	}
	free(body);
}

static void boundary_appears_only_as_delimiters(void **state)
{
	(void)state;
	struct smime_signer *s = make_signer(&rsa, NULL, SMIME_SIGN_CLEAR,
					     SMIME_DIGEST_SHA256, 0);
	struct signed_msg m = sign_message(s, HEADERS, BODY, strlen(BODY));
	const char *b = strstr(m.content_type, "boundary=\"") + 10;
	char delim[64] = "\r\n--";
	strncat(delim, b, strcspn(b, "\""));
	int count = 0;
	for (const char *p = m.mime; (p = strstr(p, delim)) != NULL; p++)
		count++;
	assert_int_equal(count, 3);	/* first, middle, closing */
	signed_msg_free(&m);
	smime_signer_free(&s);
}

static int setup(void **state)
{
	(void)state;
	smime_init();
	testpki_init(&pki);
	testpki_issue(&pki, TESTKEY_RSA2048, "alice@example.com", &rsa);
	testpki_issue(&pki, TESTKEY_P256, "carol@example.com", &p256);
	testpki_issue(&pki, TESTKEY_RSA2048, "alice@example.com", &enc);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	testid_free(&rsa);
	testid_free(&p256);
	testid_free(&enc);
	testpki_free(&pki);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rsa_clear_signed_verifies_over_the_entity),
		cmocka_unit_test(p256_opaque_sha384_verifies),
		cmocka_unit_test(micalg_follows_the_digest),
		cmocka_unit_test(edits_change_in_place_and_delete_the_rest),
		cmocka_unit_test(signature_has_caps_key_preference_and_chain),
		cmocka_unit_test(no_key_preference_when_one_certificate),
		cmocka_unit_test(ed25519_is_refused_with_a_reason),
		cmocka_unit_test(weak_or_mismatched_keys_are_refused),
		cmocka_unit_test(large_message_streams_through_files),
		cmocka_unit_test(boundary_appears_only_as_delimiters),
	};
	return cmocka_run_group_tests_name("smime_sign", tests, setup,
					   teardown);
}
