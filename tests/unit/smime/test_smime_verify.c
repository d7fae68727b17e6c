/* SPDX-License-Identifier: BSD-2-Clause */
/* Verification: messages signed by our own signer (clear and opaque)
 * pass and harvest; tampering, a wrong From, an expired or emailless
 * signer, an untrusted chain each get their RFC 7281 result and no
 * harvest; nested signatures are found; forged Authentication-Results
 * are marked for deletion; malformed and hostile signatures end in
 * permerror quickly; nothing from a certificate can break the header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/cms.h>
#include <openssl/x509v3.h>

#include <smx/msgfile.h>
#include <smx/smime.h>

#include "testhdrs.h"
#include "testpki.h"

static struct testpki pki;
static struct testid alice;

static const char *test_dir(void)
{
	const char *d = getenv("SMX_TEST_DIR");
	return d != NULL ? d : "/tmp";
}

/* --- building messages ---------------------------------------------------- */

struct text {
	char *p;
	size_t len, cap;
};

static void put(struct text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		t->cap = 2 * (t->len + n + 1);
		t->p = realloc(t->p, t->cap);
	}
	assert_non_null(t->p);
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static void puts_(struct text *t, const char *s)
{
	put(t, s, strlen(s));
}

/* The certificate the next signatures name in
 * SMIMEEncryptionKeyPreference, or NULL. */
static X509 *enc_for_signing;

static struct smime_signer *signer_for(const struct testid *id,
				       enum smime_sign_format f)
{
	struct smime_sign_options o = { f, SMIME_DIGEST_SHA256, 0, test_dir() };
	STACK_OF(X509) *chain = sk_X509_new_null();
	sk_X509_push(chain, pki.inter);
	struct smime_signer *s = NULL;
	struct smx_error err;
	if (smime_signer_new(id->key, id->cert, chain, enc_for_signing, &o, &s,
			     &err) != SMX_OK)
		fail_msg("smime_signer_new: %s", err.text);
	sk_X509_free(chain);
	return s;
}

/* The MIME part of a signed message: the signer's new Content-* headers,
 * a blank line and the new body. */
static struct text sign_entity(const struct testid *id,
			       enum smime_sign_format f, const char *body)
{
	struct smime_signer *signer = signer_for(id, f);
	struct smime_sign *s = smime_sign_begin(signer);
	struct smx_error err;
	struct text t = { 0 };
	static const char *const hdrs[] = {
		"Content-Type", " text/plain; charset=us-ascii", NULL };
	struct hdrlist *headers = testhdrs_list(hdrs);
	struct spool *spool = testhdrs_spool(body, strlen(body), 0);
	if (smime_sign_eom(s, headers, spool, &err) != SMX_OK)
		fail_msg("sign: %s", err.text);
	hdrlist_free(&headers);
	spool_free(&spool);
	struct testhdrs *h = testhdrs_new(hdrs);
	for (size_t i = 0; i < smime_sign_edit_count(s); i++)
		testhdrs_apply(h, smime_sign_edit(s, i));
	char *mime = testhdrs_mime(h);
	puts_(&t, mime);
	free(mime);
	testhdrs_free(&h);
	puts_(&t, "\r\n");
	struct spool *out = smime_sign_result_body(s);
	char buf[4096];
	ssize_t n;
	spool_rewind(out);
	while ((n = spool_read(out, buf, sizeof(buf))) > 0)
		put(&t, buf, (size_t)n);
	smime_sign_free(&s);
	smime_signer_free(&signer);
	return t;
}

/* A whole message: headers the receiving MTA added above its Received
 * header, then that header, the sender's headers and extra ones
 * (CRLF-terminated lines), and the entity. */
static struct text message_above(const char *above, const char *from,
				 const char *extra, const struct text *entity)
{
	struct text t = { 0 };
	puts_(&t, above);
	puts_(&t, "Received: from a by b\r\nFrom: ");
	puts_(&t, from);
	puts_(&t, "\r\nTo: bob@example.org\r\nSubject: hi\r\n"
		  "Message-ID: <m1@example.com>\r\nMIME-Version: 1.0\r\n");
	puts_(&t, extra);
	put(&t, entity->p, entity->len);
	return t;
}

static struct text message(const char *from, const char *extra,
			   const struct text *entity)
{
	return message_above("", from, extra, entity);
}

/* --- verifying ------------------------------------------------------------ */

struct run {
	struct smime_verifier *v;
	struct smime_verify *vfy;
};

static void verifier(struct run *r, bool trust_root, time_t when,
		     bool untrusted, const char *dmarc_id)
{
	const char *ids[1] = { dmarc_id };
	struct smime_verify_options o = {
		.authserv_id = "mx.example.org", .ca_file = "",
		.spool_dir = test_dir(), .verify_time = when,
		.harvest_untrusted = untrusted,
		.harvest_require_dmarc = dmarc_id != NULL,
		.dmarc_authserv_ids = ids, .n_dmarc_authserv_ids = dmarc_id ? 1 : 0,
	};
	struct smx_error err;
	assert_int_equal(smime_verifier_new(&o, &r->v, &err), SMX_OK);
	if (trust_root) {
		unsigned char *der = NULL;
		int len = i2d_X509(pki.root, &der);
		assert_int_equal(smime_verifier_add_anchor(r->v, der,
							   (size_t)len, &err),
				 SMX_OK);
		OPENSSL_free(der);
	}
}

/* Gives a message as the milter would (headers split at the first blank
 * line, folding kept) to the end of message. */
static void verify_text(struct run *r, const struct text *msg, bool outbound)
{
	struct smx_error err;
	r->vfy = smime_verify_begin(r->v);
	assert_non_null(r->vfy);
	struct hdrlist *headers = hdrlist_new(0, 0);
	struct spool *body = testhdrs_spool("", 0, 0);
	assert_non_null(headers);
	assert_int_equal(msgfile_split(msg->p, msg->len, headers, body), 0);
	struct smime_verify_msginfo info = { "bounce@example.com", outbound };
	if (smime_verify_eom(r->vfy, headers, body, &info, &err) != SMX_OK)
		fail_msg("eom: %s", err.text);
	hdrlist_free(&headers);
	spool_free(&body);
}

static void run_free(struct run *r)
{
	smime_verify_free(&r->vfy);
	smime_verifier_free(&r->v);
}

static const struct smime_signature *sig0(struct run *r)
{
	assert_true(smime_verify_signature_count(r->vfy) >= 1);
	return smime_verify_signature(r->vfy, 0);
}

static void expect(struct run *r, enum smime_result res,
		   enum smime_reason why, size_t harvested)
{
	const struct smime_signature *s = sig0(r);
	if (s->result != res || s->reason != why ||
	    smime_verify_harvest_count(r->vfy) != harvested)
		fail_msg("got %s (%s, reason %d), %zu harvested; want %s "
			 "(reason %d), %zu\n%s", smime_result_name(s->result),
			 s->comment, s->reason,
			 smime_verify_harvest_count(r->vfy),
			 smime_result_name(res), why, harvested,
			 smime_verify_ar_value(r->vfy));
}

/* --- tests ------------------------------------------------------------------ */

/* A signingTime after the verification time is taken as that time: a
 * signer's clock cannot make its capabilities outrank later ones. */
static void signing_time_is_not_in_the_future(void **state)
{
	(void)state;
	struct text e = sign_entity(&alice, SMIME_SIGN_CLEAR, "Hello\r\n");
	struct text m = message("Alice <alice@example.com>", "", &e);
	struct run r = { 0 };
	time_t when = time(NULL) - 600;
	verifier(&r, true, when, false, NULL);
	verify_text(&r, &m, false);
	expect(&r, SMIME_RESULT_PASS, SMIME_REASON_OK, 1);
	assert_int_equal(smime_verify_harvest(r.vfy, 0)->caps_signed_at,
			 (int64_t)when);
	run_free(&r);
	free(e.p);
	free(m.p);
}

static void clear_signed_passes_and_harvests(void **state)
{
	(void)state;
	struct text e = sign_entity(&alice, SMIME_SIGN_CLEAR, "Hello\r\n");
	struct text m = message("Alice <alice@example.com>", "", &e);
	struct run r = { 0 };
	verifier(&r, true, 0, false, NULL);
	verify_text(&r, &m, false);
	expect(&r, SMIME_RESULT_PASS, SMIME_REASON_OK, 1);
	const struct smime_harvest_cert *h = smime_verify_harvest(r.vfy, 0);
	assert_true(h->trusted);
	assert_true(h->enc_preference);
	assert_non_null(h->smime_caps);
	/* the capabilities carry the signingTime, moments ago */
	assert_true(h->caps_signed_at > (int64_t)time(NULL) - 3600 &&
		    h->caps_signed_at <= (int64_t)time(NULL));
	assert_string_equal(h->email, "alice@example.com");
	assert_string_equal(sig0(&r)->part, "1");
	assert_string_equal(smime_verify_message_id(r.vfy), "m1@example.com");
	const char *ar = smime_verify_ar_value(r.vfy);
	assert_non_null(strstr(ar, " mx.example.org;\n\tsmime=pass ("));
	assert_non_null(strstr(ar, "body.smime-identifier=alice@example.com"));
	assert_non_null(strstr(ar, "body.smime-issuer=\"CN=Test Intermediate CA\""));
	assert_int_equal(smime_verify_edit_count(r.vfy), 1);
	assert_int_equal(smime_verify_edit(r.vfy, 0)->op, SMIME_EDIT_INSERT);
	run_free(&r);
	free(e.p);
	free(m.p);
}

static void opaque_signed_passes(void **state)
{
	(void)state;
	struct text e = sign_entity(&alice, SMIME_SIGN_OPAQUE, "Hello\r\n");
	struct text m = message("alice@EXAMPLE.com", "", &e);
	struct run r = { 0 };
	verifier(&r, true, 0, false, NULL);
	verify_text(&r, &m, false);
	expect(&r, SMIME_RESULT_PASS, SMIME_REASON_OK, 1);
	assert_true(sig0(&r)->opaque);
	run_free(&r);
	free(e.p);
	free(m.p);
}

static void tampered_body_fails(void **state)
{
	(void)state;
	struct text e = sign_entity(&alice, SMIME_SIGN_CLEAR, "Pay 10 EUR\r\n");
	char *p = strstr(e.p, "Pay 10");
	assert_non_null(p);
	p[4] = '9';
	struct text m = message("alice@example.com", "", &e);
	struct run r = { 0 };
	verifier(&r, true, 0, false, NULL);
	verify_text(&r, &m, false);
	expect(&r, SMIME_RESULT_FAIL, SMIME_REASON_BAD_SIGNATURE, 0);
	run_free(&r);
	free(e.p);
	free(m.p);
}

static void wrong_from_is_policy_without_harvest(void **state)
{
	(void)state;
	struct text e = sign_entity(&alice, SMIME_SIGN_CLEAR, "Hello\r\n");
	struct text m = message("mallory@example.com", "", &e);
	struct run r = { 0 };
	verifier(&r, true, 0, false, NULL);
	verify_text(&r, &m, false);
	expect(&r, SMIME_RESULT_POLICY, SMIME_REASON_FROM_MISMATCH, 0);
	run_free(&r);
	free(e.p);
	free(m.p);
}

/* A From address with a control or non-ASCII byte inside is refused by
 * the From rule, never cleaned: "al<CTRL>ice@example.com" must not
 * match alice's certificate, since mail clients show something else. */
static void from_with_control_or_8bit_byte_matches_no_signer(void **state)
{
	(void)state;
	static const char *const froms[] = {
		"al\x01ice@example.com",
		"Alice <al\x7fice@example.com>",
		"al\xc3\xa9ice@example.com",
		"alice@exam\x1bple.com",
		"alice@example.com\x01.example.net",
		("Ali\x01" "ce <alice@example.com>"),
	};
	struct text e = sign_entity(&alice, SMIME_SIGN_CLEAR, "Hello\r\n");
	for (size_t i = 0; i < sizeof(froms) / sizeof(froms[0]); i++) {
		struct text m = message(froms[i], "", &e);
		struct run r = { 0 };
		verifier(&r, true, 0, false, NULL);
		verify_text(&r, &m, false);
		expect(&r, SMIME_RESULT_POLICY, SMIME_REASON_FROM_MISMATCH, 0);
		if (smime_verify_from(r.vfy) != NULL)
			fail_msg("From %zu read as \"%s\"", i,
				 smime_verify_from(r.vfy));
		run_free(&r);
		free(m.p);
	}
	free(e.p);
}

static void expired_signer_is_policy(void **state)
{
	(void)state;
	struct text e = sign_entity(&alice, SMIME_SIGN_CLEAR, "Hello\r\n");
	struct text m = message("alice@example.com", "", &e);
	struct run r = { 0 };
	/* the test certificates are valid for one day */
	verifier(&r, true, time(NULL) + 3 * 86400, false, NULL);
	verify_text(&r, &m, false);
	expect(&r, SMIME_RESULT_POLICY, SMIME_REASON_EXPIRED, 0);
	run_free(&r);
	free(e.p);
	free(m.p);
}

static void untrusted_chain_harvested_only_when_allowed(void **state)
{
	(void)state;
	struct text e = sign_entity(&alice, SMIME_SIGN_CLEAR, "Hello\r\n");
	struct text m = message("alice@example.com", "", &e);
	struct run r = { 0 };
	verifier(&r, false, 0, false, NULL);
	verify_text(&r, &m, false);
	expect(&r, SMIME_RESULT_POLICY, SMIME_REASON_UNTRUSTED, 0);
	run_free(&r);
	verifier(&r, false, 0, true, NULL);
	verify_text(&r, &m, false);
	expect(&r, SMIME_RESULT_POLICY, SMIME_REASON_UNTRUSTED, 1);
	assert_false(smime_verify_harvest(r.vfy, 0)->trusted);
	run_free(&r);
	free(e.p);
	free(m.p);
}

static void outbound_is_never_harvested(void **state)
{
	(void)state;
	struct text e = sign_entity(&alice, SMIME_SIGN_CLEAR, "Hello\r\n");
	struct text m = message("alice@example.com", "", &e);
	struct run r = { 0 };
	verifier(&r, true, 0, false, NULL);
	verify_text(&r, &m, true);
	expect(&r, SMIME_RESULT_PASS, SMIME_REASON_OK, 0);
	assert_string_equal(sig0(&r)->harvest_comment, "outbound message");
	run_free(&r);
	free(e.p);
	free(m.p);
}

static void dmarc_pass_from_trusted_id_is_required_when_asked(void **state)
{
	(void)state;
	struct text e = sign_entity(&alice, SMIME_SIGN_CLEAR, "Hello\r\n");
	struct text m1 = message_above(
		"Authentication-Results: mx.upstream (comment; x=y);\r\n"
		"\tdkim=pass header.d=example.com;\r\n"
		"\tdmarc = pass (p=reject) header.from=Example.COM\r\n",
		"alice@example.com", "", &e);
	struct text m2 = message_above(
		"Authentication-Results: evil.example; dmarc=pass "
		"header.from=example.com\r\n"
		"Authentication-Results: mx.upstream.evil; dmarc=pass "
		"header.from=example.com\r\n"
		"Authentication-Results: mx.upstream; dmarc=fail "
		"header.from=example.com\r\n", "alice@example.com", "", &e);
	struct run r = { 0 };
	verifier(&r, true, 0, false, "mx.upstream");
	verify_text(&r, &m1, false);
	expect(&r, SMIME_RESULT_PASS, SMIME_REASON_OK, 1);
	smime_verify_free(&r.vfy);
	verify_text(&r, &m2, false);
	expect(&r, SMIME_RESULT_PASS, SMIME_REASON_OK, 0);
	run_free(&r);
	free(e.p);
	free(m1.p);
	free(m2.p);
}

/* The sender can write any Authentication-Results header, naming any
 * authserv-id: only what the receiving MTA put above its own Received
 * header counts. */
static void dmarc_pass_below_the_first_received_is_not_trusted(void **state)
{
	(void)state;
	const char *pass = "Authentication-Results: mx.upstream; dmarc=pass "
			   "header.from=example.com\r\n";
	struct text e = sign_entity(&alice, SMIME_SIGN_CLEAR, "Hello\r\n");
	struct text below = message("alice@example.com", pass, &e);
	struct text between = message_above(
		"Received: from c by d\r\n", "alice@example.com", "", &e);
	/* above a Received the sender wrote, below ours */
	struct text t = { 0 };
	puts_(&t, "Received: from mx by us\r\n");
	puts_(&t, pass);
	put(&t, between.p, between.len);
	struct text none = { 0 };	/* no Received at all */
	puts_(&none, pass);
	puts_(&none, strstr(below.p, "From: "));
	struct run r = { 0 };
	verifier(&r, true, 0, false, "mx.upstream");
	verify_text(&r, &below, false);
	expect(&r, SMIME_RESULT_PASS, SMIME_REASON_OK, 0);
	smime_verify_free(&r.vfy);
	verify_text(&r, &t, false);
	expect(&r, SMIME_RESULT_PASS, SMIME_REASON_OK, 0);
	smime_verify_free(&r.vfy);
	verify_text(&r, &none, false);
	expect(&r, SMIME_RESULT_PASS, SMIME_REASON_OK, 0);
	run_free(&r);
	free(e.p);
	free(below.p);
	free(between.p);
	free(t.p);
	free(none.p);
}

/* The authserv-id is the first token or quoted-string after comments
 * and white space, compared whole, in any case. */
static void authserv_id_is_compared_whole(void **state)
{
	(void)state;
	const char *id = "mx.example.org";
	assert_true(smime_ar_authserv_id_is(" mx.example.org; smime=pass", id));
	assert_true(smime_ar_authserv_id_is(" MX.Example.ORG;smime=pass", id));
	assert_true(smime_ar_authserv_id_is("mx.example.org", id));
	assert_true(smime_ar_authserv_id_is(" mx.example.org 1; none", id));
	assert_true(smime_ar_authserv_id_is(
		" (a (nested) comment)\r\n\t mx.example.org (x); dkim=pass", id));
	assert_true(smime_ar_authserv_id_is(" \"mx.example.org\"; x=y", id));
	assert_true(smime_ar_authserv_id_is(" \"mx.ex\\ample.org\"; x", id));
	assert_true(smime_ar_authserv_id_is(" (\\) still a comment) "
					    "mx.example.org;", id));
	assert_false(smime_ar_authserv_id_is(" mx.example.org.evil; x", id));
	assert_false(smime_ar_authserv_id_is(" mx.example.or; x", id));
	assert_false(smime_ar_authserv_id_is(" evil.mx.example.org; x", id));
	assert_false(smime_ar_authserv_id_is(" mx.example.org_; x", id));
	assert_false(smime_ar_authserv_id_is(" (mx.example.org) other; x", id));
	assert_false(smime_ar_authserv_id_is(" (unterminated mx.example.org", id));
	assert_true(smime_ar_authserv_id_is(" \"mx.example.org", id));
	assert_false(smime_ar_authserv_id_is("", id));
	assert_false(smime_ar_authserv_id_is(" ; mx.example.org", id));
	/* a comment longer than any bound in front of the id hides nothing */
	size_t n = 100000;
	char *big = malloc(n + 64);
	assert_non_null(big);
	big[0] = '(';
	memset(big + 1, 'c', n);
	strcpy(big + 1 + n, ") mx.example.org; smime=pass");
	assert_true(smime_ar_authserv_id_is(big, id));
	free(big);
}

/* A mailing list wraps the signed part and adds a footer. */
static void nested_signature_in_mixed_with_footer_passes(void **state)
{
	(void)state;
	struct text e = sign_entity(&alice, SMIME_SIGN_CLEAR, "Hello\r\n");
	struct text w = { 0 };
	puts_(&w, "Content-Type: multipart/mixed; boundary=\"list\"\r\n\r\n"
		  "--list\r\n");
	put(&w, e.p, e.len);
	puts_(&w, "\r\n--list\r\nContent-Type: text/plain\r\n\r\n"
		  "-- \r\nlist footer\r\n--list--\r\n");
	struct text m = message("alice@example.com", "", &w);
	struct run r = { 0 };
	verifier(&r, true, 0, false, NULL);
	verify_text(&r, &m, false);
	expect(&r, SMIME_RESULT_PASS, SMIME_REASON_OK, 1);
	assert_string_equal(sig0(&r)->part, "1.1");
	run_free(&r);
	free(e.p);
	free(w.p);
	free(m.p);
}

static void forged_ar_with_our_id_is_deleted(void **state)
{
	(void)state;
	struct text e = { 0 };
	puts_(&e, "Content-Type: text/plain\r\n\r\nno signature\r\n");
	struct text m = message("alice@example.com",
		"Authentication-Results: other.example; smime=pass\r\n"
		"Authentication-Results: MX.Example.ORG; smime=pass\r\n"
		"Authentication-Results: (c) mx.example.org;\r\n smime=pass\r\n"
		"Authentication-Results: mx.example.org.evil; smime=pass\r\n",
		&e);
	struct run r = { 0 };
	verifier(&r, true, 0, false, NULL);
	verify_text(&r, &m, false);
	assert_int_equal(smime_verify_signature_count(r.vfy), 0);
	assert_int_equal(smime_verify_result(r.vfy), SMIME_RESULT_NONE);
	assert_string_equal(smime_verify_ar_value(r.vfy),
			    " mx.example.org; smime=none");
	assert_int_equal(smime_verify_edit_count(r.vfy), 3);
	const struct smime_header_edit *d0 = smime_verify_edit(r.vfy, 0);
	const struct smime_header_edit *d1 = smime_verify_edit(r.vfy, 1);
	assert_int_equal(d0->op, SMIME_EDIT_DELETE);
	assert_int_equal(d0->index, 3);
	assert_int_equal(d1->index, 2);
	assert_int_equal(smime_verify_edit(r.vfy, 2)->op, SMIME_EDIT_INSERT);
	run_free(&r);
	free(e.p);
	free(m.p);
}

static void truncated_base64_signature_is_permerror(void **state)
{
	(void)state;
	struct text e = sign_entity(&alice, SMIME_SIGN_CLEAR, "Hello\r\n");
	/* cut the base64 signature in half, keep the closing delimiter */
	char *sig = strstr(e.p, "\r\nContent-Type: application/pkcs7-signature");
	assert_non_null(sig);
	char *b64 = strstr(sig, "\r\n\r\n") + 4;
	char *end = strstr(b64, "\r\n--");
	size_t keep = (size_t)(end - b64) / 2;
	memmove(b64 + keep, end, strlen(end) + 1);
	e.len = strlen(e.p);
	struct text m = message("alice@example.com", "", &e);
	struct run r = { 0 };
	verifier(&r, true, 0, false, NULL);
	verify_text(&r, &m, false);
	expect(&r, SMIME_RESULT_PERMERROR, SMIME_REASON_MALFORMED, 0);
	run_free(&r);
	free(e.p);
	free(m.p);
}

/* A certificate of our own making: issuer signs it; email may be NULL;
 * cn is put in verbatim (hostile names). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer,
		       EVP_PKEY *issuer_key, const char *email, long serial)
{
	X509 *x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
				   MBSTRING_ASC, (const unsigned char *)cn,
				   -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) :
			     X509_get_subject_name(x));
	X509_set_pubkey(x, key);
	if (email != NULL) {
		char san[200];
		snprintf(san, sizeof(san), "email:%s", email);
		X509V3_CTX ctx;
		X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
		X509_EXTENSION *ext = X509V3_EXT_conf_nid(
			NULL, &ctx, NID_subject_alt_name, san);
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	assert_true(X509_sign(x, issuer_key ? issuer_key : key,
			      EVP_sha256()) > 0);
	return x;
}

/* A message from alice@example.com signed by a certificate for email
 * (NULL: none), with subject_email as its subject's emailAddress (NULL:
 * none), has no signer address. */
static void expect_no_signer_address_subject(const char *email,
					     const char *subject_email,
					     long serial)
{
	struct testid id = { EVP_EC_gen("P-256"), NULL };
	id.cert = make_cert(id.key, "No Mail", pki.inter, pki.inter_key,
			    email, serial);
	if (subject_email != NULL) {
		assert_int_equal(X509_NAME_add_entry_by_NID(
					 X509_get_subject_name(id.cert),
					 NID_pkcs9_emailAddress, MBSTRING_ASC,
					 (const unsigned char *)subject_email,
					 -1, -1, 0), 1);
		assert_true(X509_sign(id.cert, pki.inter_key,
				      EVP_sha256()) > 0);
	}
	struct text e = sign_entity(&id, SMIME_SIGN_CLEAR, "Hello\r\n");
	struct text m = message("alice@example.com", "", &e);
	struct run r = { 0 };
	verifier(&r, true, 0, false, NULL);
	verify_text(&r, &m, false);
	expect(&r, SMIME_RESULT_POLICY, SMIME_REASON_NO_EMAIL, 0);
	run_free(&r);
	testid_free(&id);
	free(e.p);
	free(m.p);
}

static void expect_no_signer_address(const char *email, long serial)
{
	expect_no_signer_address_subject(email, NULL, serial);
}

static void signer_without_email_is_policy(void **state)
{
	(void)state;
	expect_no_signer_address(NULL, 4242);
}

/* The From rule on the certificate's side: an address with a control
 * byte is none, not the address without it. */
static void signer_address_with_control_byte_is_no_address(void **state)
{
	(void)state;
	expect_no_signer_address("al\x01ice@example.com", 4243);
}

/* A subjectAltName whose only address is unreadable (a control or 8-bit
 * byte) still names somebody: the subject's emailAddress is not read in
 * its place, or a certificate naming one person in its SAN would sign
 * as the person its subject names. */
static void unreadable_san_address_does_not_yield_to_subject(void **state)
{
	(void)state;
	expect_no_signer_address_subject("al\x01ice@example.com",
					 "alice@example.com", 4245);
	expect_no_signer_address_subject("al\xc3\xaf" "ce@example.com",
					 "alice@example.com", 4246);
}

/* The encryption certificate a signature names is harvested only when
 * it is issued to the From address: one whose subjectAltName names
 * another address is not, whatever its subject emailAddress says (and
 * the signer is then not preferred either, the signature having named
 * another). */
static void subject_email_preference_is_not_harvested(void **state)
{
	(void)state;
	struct testid enc = { EVP_EC_gen("P-256"), NULL };
	enc.cert = make_cert(enc.key, "Alice Encryption", pki.inter,
			     pki.inter_key, "mallory@example.net", 4344);
	assert_int_equal(X509_NAME_add_entry_by_NID(
				 X509_get_subject_name(enc.cert),
				 NID_pkcs9_emailAddress, MBSTRING_ASC,
				 (const unsigned char *)"alice@example.com",
				 -1, -1, 0), 1);
	assert_true(X509_sign(enc.cert, pki.inter_key, EVP_sha256()) > 0);
	enc_for_signing = enc.cert;
	struct text e = sign_entity(&alice, SMIME_SIGN_CLEAR, "Hello\r\n");
	enc_for_signing = NULL;
	struct text m = message("alice@example.com", "", &e);
	struct run r = { 0 };
	verifier(&r, true, 0, false, NULL);
	verify_text(&r, &m, false);
	expect(&r, SMIME_RESULT_PASS, SMIME_REASON_OK, 1);
	assert_int_equal(X509_cmp(enc.cert, alice.cert) != 0, 1);
	assert_false(smime_verify_harvest(r.vfy, 0)->enc_preference);
	run_free(&r);
	testid_free(&enc);
	free(e.p);
	free(m.p);
}

/* An issuer name built to break the header: quotes, backslashes, line
 * breaks and a header of its own. */
static void hostile_issuer_name_cannot_inject_headers(void **state)
{
	(void)state;
	EVP_PKEY *ca_key = EVP_EC_gen("P-256");
	X509 *ca = make_cert(ca_key, "Evil \"CA\" \\\r\nX-Injected: yes",
			     NULL, NULL, NULL, 1);
	struct testid id = { EVP_EC_gen("P-256"), NULL };
	id.cert = make_cert(id.key, "alice", ca, ca_key, "alice@example.com",
			    2);
	struct text e = sign_entity(&id, SMIME_SIGN_CLEAR, "Hello\r\n");
	struct text m = message("alice@example.com", "", &e);
	struct run r = { 0 };
	verifier(&r, true, 0, false, NULL);
	verify_text(&r, &m, false);
	expect(&r, SMIME_RESULT_POLICY, SMIME_REASON_UNTRUSTED, 0);
	const char *ar = smime_verify_ar_value(r.vfy);
	assert_null(strchr(ar, '\r'));
	for (const char *p = strchr(ar, '\n'); p; p = strchr(p + 1, '\n'))
		assert_int_equal(p[1], '\t');
	assert_null(strstr(ar, "\nX-Injected"));
	if (strstr(ar, "body.smime-issuer=\"CN=Evil \\\\\\\"CA") == NULL)
		fail_msg("issuer not quoted as expected:\n%s", ar);
	run_free(&r);
	testid_free(&id);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	free(e.p);
	free(m.p);
}

/* Re-encodes the signature of a clear-signed entity with n extra
 * certificates. */
static void add_bogus_certs(struct text *e, int n)
{
	char *sig = strstr(e->p, "\r\nContent-Type: application/pkcs7-signature");
	char *b64 = strstr(sig, "\r\n\r\n") + 4;
	char *end = strstr(b64, "\r\n--");
	BIO *in = BIO_push(BIO_new(BIO_f_base64()),
			   BIO_new_mem_buf(b64, (int)(end - b64)));
	CMS_ContentInfo *cms = d2i_CMS_bio(in, NULL);
	BIO_free_all(in);
	assert_non_null(cms);
	/* one signed template; the copies differ in their serial (patched
	 * in the DER), so their signatures are bogus, and signing 10 000
	 * certificates is not needed */
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *tmpl = make_cert(k, "bogus", NULL, NULL, NULL, 0x10000000);
	unsigned char *der = NULL;
	int der_len = i2d_X509(tmpl, &der);
	static const unsigned char mark[] = { 0x02, 0x04, 0x10, 0, 0, 0 };
	unsigned char *serial = memmem(der, (size_t)der_len, mark, sizeof(mark));
	assert_non_null(serial);
	for (int i = 0; i < n; i++) {
		serial[4] = (unsigned char)(i >> 8);
		serial[5] = (unsigned char)i;
		const unsigned char *p = der;
		X509 *x = d2i_X509(NULL, &p, der_len);
		assert_non_null(x);
		assert_int_equal(CMS_add0_cert(cms, x), 1);
	}
	OPENSSL_free(der);
	X509_free(tmpl);
	EVP_PKEY_free(k);
	BIO *mem = BIO_new(BIO_s_mem());
	BIO *b = BIO_push(BIO_new(BIO_f_base64()), mem);
	i2d_CMS_bio(b, cms);
	(void)BIO_flush(b);
	char *data;
	long len = BIO_get_mem_data(mem, &data);
	struct text t = { 0 };
	put(&t, e->p, (size_t)(b64 - e->p));
	for (long i = 0; i < len; i++)
		put(&t, data[i] == '\n' ? "\r\n" : &data[i],
		    data[i] == '\n' ? 2 : 1);
	puts_(&t, end + 2);
	BIO_free_all(b);
	CMS_ContentInfo_free(cms);
	free(e->p);
	*e = t;
}

static void ten_thousand_certificates_are_refused(void **state)
{
	(void)state;
	struct text e = sign_entity(&alice, SMIME_SIGN_CLEAR, "Hello\r\n");
	add_bogus_certs(&e, 10000);
	struct text m = message("alice@example.com", "", &e);
	struct run r = { 0 };
	verifier(&r, true, 0, false, NULL);
	/* The limit is checked before any certificate is verified: the
	 * result is the limit, not a verdict on the signature (no timing
	 * here; speed belongs to the benchmark). */
	verify_text(&r, &m, false);
	expect(&r, SMIME_RESULT_PERMERROR, SMIME_REASON_LIMIT, 0);
	run_free(&r);
	free(e.p);
	free(m.p);
}

static void signatures_beyond_the_limit_are_one_permerror(void **state)
{
	(void)state;
	struct text e = sign_entity(&alice, SMIME_SIGN_CLEAR, "Hello\r\n");
	struct text w = { 0 };
	puts_(&w, "Content-Type: multipart/mixed; boundary=\"x\"\r\n\r\n");
	for (int i = 0; i < SMIME_VERIFY_MAX_SIGNATURES + 5; i++) {
		puts_(&w, "--x\r\n");
		put(&w, e.p, e.len);
		puts_(&w, "\r\n");
	}
	puts_(&w, "--x--\r\n");
	struct text m = message("alice@example.com", "", &w);
	struct run r = { 0 };
	verifier(&r, true, 0, false, NULL);
	verify_text(&r, &m, false);
	size_t n = smime_verify_signature_count(r.vfy);
	assert_int_equal(n, SMIME_VERIFY_MAX_SIGNATURES + 1);
	assert_int_equal(smime_verify_signature(r.vfy, n - 1)->reason,
			 SMIME_REASON_LIMIT);
	assert_int_equal(smime_verify_harvest_count(r.vfy), 1);
	run_free(&r);
	free(e.p);
	free(w.p);
	free(m.p);
}

static int setup(void **state)
{
	(void)state;
	testpki_init(&pki);
	testpki_issue(&pki, TESTKEY_P256, "alice@example.com", &alice);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	testid_free(&alice);
	testpki_free(&pki);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(clear_signed_passes_and_harvests),
		cmocka_unit_test(signing_time_is_not_in_the_future),
		cmocka_unit_test(opaque_signed_passes),
		cmocka_unit_test(tampered_body_fails),
		cmocka_unit_test(wrong_from_is_policy_without_harvest),
		cmocka_unit_test(from_with_control_or_8bit_byte_matches_no_signer),
		cmocka_unit_test(expired_signer_is_policy),
		cmocka_unit_test(untrusted_chain_harvested_only_when_allowed),
		cmocka_unit_test(outbound_is_never_harvested),
		cmocka_unit_test(subject_email_preference_is_not_harvested),
		cmocka_unit_test(dmarc_pass_from_trusted_id_is_required_when_asked),
		cmocka_unit_test(dmarc_pass_below_the_first_received_is_not_trusted),
		cmocka_unit_test(authserv_id_is_compared_whole),
		cmocka_unit_test(nested_signature_in_mixed_with_footer_passes),
		cmocka_unit_test(forged_ar_with_our_id_is_deleted),
		cmocka_unit_test(truncated_base64_signature_is_permerror),
		cmocka_unit_test(signer_without_email_is_policy),
		cmocka_unit_test(signer_address_with_control_byte_is_no_address),
		cmocka_unit_test(unreadable_san_address_does_not_yield_to_subject),
		cmocka_unit_test(hostile_issuer_name_cannot_inject_headers),
		cmocka_unit_test(ten_thousand_certificates_are_refused),
		cmocka_unit_test(signatures_beyond_the_limit_are_one_permerror),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
