/* SPDX-License-Identifier: BSD-2-Clause */
/* The revocation library's judges: CRLs and OCSP responses made here
 * with OpenSSL, good and revoked, and every way one must not be
 * believed (wrong signer, a responder without OCSPSigning, a stale or
 * future answer, a nonce that is not ours, an answer about another
 * certificate). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <smx/cfg.h>
#include <smx/revocation.h>

struct party {
	EVP_PKEY *key;
	X509 *cert;
};

static struct party ca, other_ca, leaf, second_leaf, responder, rogue_responder;

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

/* A certificate for cn with a fresh P-256 key, issued by issuer (NULL:
 * self-signed), with the given extensions (NULL: none). */
static void make(struct party *p, const char *cn, const struct party *issuer,
		 long serial, const char *basic, const char *ku,
		 const char *eku)
{
	p->key = EVP_EC_gen("P-256");
	assert_non_null(p->key);
	X509 *x = X509_new();
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509 *signer_cert = issuer != NULL ? issuer->cert : x;
	EVP_PKEY *signer_key = issuer != NULL ? issuer->key : p->key;
	X509_set_issuer_name(x, X509_get_subject_name(signer_cert));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, p->key);
	if (basic != NULL)
		add_ext(x, signer_cert, NID_basic_constraints, basic);
	if (ku != NULL)
		add_ext(x, signer_cert, NID_key_usage, ku);
	if (eku != NULL)
		add_ext(x, signer_cert, NID_ext_key_usage, eku);
	assert_true(X509_sign(x, signer_key, EVP_sha256()) > 0);
	p->cert = x;
}

static int setup(void **state)
{
	(void)state;
	make(&ca, "Test CA", NULL, 1, "critical,CA:TRUE",
	     "critical,keyCertSign,cRLSign", NULL);
	/* another CA with the same name: its signatures must not count */
	make(&other_ca, "Test CA", NULL, 2, "critical,CA:TRUE",
	     "critical,keyCertSign,cRLSign", NULL);
	make(&leaf, "Bob", &ca, 0x1001, "CA:FALSE",
	     "digitalSignature,keyAgreement", "emailProtection");
	make(&second_leaf, "Carol", &ca, 0x1002, "CA:FALSE",
	     "digitalSignature,keyAgreement", "emailProtection");
	make(&responder, "Responder", &ca, 0x2001, "CA:FALSE",
	     "critical,digitalSignature", "OCSPSigning");
	make(&rogue_responder, "Rogue", &ca, 0x2002, "CA:FALSE",
	     "critical,digitalSignature", "emailProtection");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	struct party *all[] = { &ca, &other_ca, &leaf, &second_leaf,
				&responder, &rogue_responder };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		X509_free(all[i]->cert);
		EVP_PKEY_free(all[i]->key);
	}
	return 0;
}

/* --- CRLs ------------------------------------------------------------- */

/* A CRL named after ca, signed with key, listing serial (0: none), issued
 * at now + last, next update at now + next (no next update when
 * has_next is false). */
static X509_CRL *crl_of(EVP_PKEY *key, long serial, long last, long next,
			bool has_next)
{
	X509_CRL *crl = X509_CRL_new();
	assert_non_null(crl);
	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca.cert));
	ASN1_TIME *t = X509_gmtime_adj(NULL, last);
	X509_CRL_set1_lastUpdate(crl, t);
	ASN1_TIME_free(t);
	if (has_next) {
		t = X509_gmtime_adj(NULL, next);
		X509_CRL_set1_nextUpdate(crl, t);
		ASN1_TIME_free(t);
	}
	if (serial != 0) {
		X509_REVOKED *r = X509_REVOKED_new();
		ASN1_INTEGER *s = ASN1_INTEGER_new();
		ASN1_INTEGER_set(s, serial);
		X509_REVOKED_set_serialNumber(r, s);
		ASN1_INTEGER_free(s);
		t = X509_gmtime_adj(NULL, -60);
		X509_REVOKED_set_revocationDate(r, t);
		ASN1_TIME_free(t);
		X509_CRL_add0_revoked(crl, r);
	}
	X509_CRL_sort(crl);
	assert_true(X509_CRL_sign(crl, key, EVP_sha256()) > 0);
	return crl;
}

static void judge_crl(X509_CRL *crl, X509 *issuer,
		      enum store_revstatus_value want, const char *detail)
{
	struct store_revstatus s;
	memset(&s, 0, sizeof(s));
	revocation_judge_crl(leaf.cert, issuer, crl, time(NULL), &s);
	assert_int_equal(s.status, want);
	assert_string_equal(s.source, "crl");
	if (detail != NULL && strstr(s.detail, detail) == NULL)
		fail_msg("detail '%s' lacks '%s'", s.detail, detail);
	if (want != STORE_REVSTATUS_UNKNOWN)
		assert_true(s.next_update > (int64_t)time(NULL));
	X509_CRL_free(crl);
}

static void crl_good_and_revoked(void **state)
{
	(void)state;
	judge_crl(crl_of(ca.key, 0x1002, -60, 3600, true), ca.cert,
		  STORE_REVSTATUS_GOOD, "not on the CRL");
	judge_crl(crl_of(ca.key, 0x1001, -60, 3600, true), ca.cert,
		  STORE_REVSTATUS_REVOKED, "listed");
}

static void crl_not_believed(void **state)
{
	(void)state;
	judge_crl(crl_of(other_ca.key, 0x1001, -60, 3600, true), ca.cert,
		  STORE_REVSTATUS_UNKNOWN, "signature");
	judge_crl(crl_of(ca.key, 0x1001, -7200, -3600, true), ca.cert,
		  STORE_REVSTATUS_UNKNOWN, "out of date");
	judge_crl(crl_of(ca.key, 0x1001, 3600, 7200, true), ca.cert,
		  STORE_REVSTATUS_UNKNOWN, "future");
	judge_crl(crl_of(ca.key, 0x1001, -60, 0, false), ca.cert,
		  STORE_REVSTATUS_UNKNOWN, "nextUpdate");
	/* judged for an issuer of another name */
	judge_crl(crl_of(ca.key, 0x1001, -60, 3600, true), responder.cert,
		  STORE_REVSTATUS_UNKNOWN, "not issued");
	/* no issuer known */
	judge_crl(crl_of(ca.key, 0x1001, -60, 3600, true), NULL,
		  STORE_REVSTATUS_UNKNOWN, NULL);
}

/* --- OCSP ------------------------------------------------------------- */

struct ocsp_opts {
	int status;		/* V_OCSP_CERTSTATUS_* */
	const struct party *signer;
	const struct party *about;	/* the certificate answered for */
	long this_upd, next_upd;	/* offsets from now */
	bool has_next;
	int nonce;		/* 1 copy the request's, 0 none, -1 another */
	int resp_status;	/* OCSP_RESPONSE_STATUS_* */
};

static OCSP_REQUEST *request(void)
{
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_CERTID *id = OCSP_cert_to_id(NULL, leaf.cert, ca.cert);
	assert_non_null(OCSP_request_add0_id(req, id));
	assert_int_equal(OCSP_request_add1_nonce(req, NULL, -1), 1);
	return req;
}

static OCSP_RESPONSE *response(OCSP_REQUEST *req, const struct ocsp_opts *o)
{
	if (o->resp_status != OCSP_RESPONSE_STATUS_SUCCESSFUL)
		return OCSP_response_create(o->resp_status, NULL);
	OCSP_BASICRESP *bs = OCSP_BASICRESP_new();
	OCSP_CERTID *id = OCSP_cert_to_id(NULL, o->about->cert, ca.cert);
	ASN1_TIME *thisupd = X509_gmtime_adj(NULL, o->this_upd);
	ASN1_TIME *nextupd = o->has_next ? X509_gmtime_adj(NULL, o->next_upd)
					 : NULL;
	ASN1_TIME *revtime = X509_gmtime_adj(NULL, -600);
	assert_non_null(OCSP_basic_add1_status(
		bs, id, o->status,
		o->status == V_OCSP_CERTSTATUS_REVOKED
			? OCSP_REVOKED_STATUS_KEYCOMPROMISE : -1,
		o->status == V_OCSP_CERTSTATUS_REVOKED ? revtime : NULL,
		thisupd, nextupd));
	if (o->nonce > 0)
		assert_int_equal(OCSP_copy_nonce(bs, req), 1);
	else if (o->nonce < 0)
		assert_int_equal(OCSP_basic_add1_nonce(bs, NULL, -1), 1);
	STACK_OF(X509) *certs = sk_X509_new_null();
	sk_X509_push(certs, o->signer->cert);
	assert_int_equal(OCSP_basic_sign(bs, o->signer->cert, o->signer->key,
					 EVP_sha256(), certs, 0), 1);
	sk_X509_free(certs);
	OCSP_RESPONSE *resp =
		OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
	OCSP_BASICRESP_free(bs);
	OCSP_CERTID_free(id);
	ASN1_TIME_free(thisupd);
	ASN1_TIME_free(nextupd);
	ASN1_TIME_free(revtime);
	return resp;
}

static const struct ocsp_opts good = {
	V_OCSP_CERTSTATUS_GOOD, &ca, &leaf, -60, 3600, true, 1,
	OCSP_RESPONSE_STATUS_SUCCESSFUL,
};

static void judge_ocsp(const struct ocsp_opts *o,
		       enum store_revstatus_value want, const char *detail)
{
	OCSP_REQUEST *req = request();
	OCSP_RESPONSE *resp = response(req, o);
	struct store_revstatus s;
	memset(&s, 0, sizeof(s));
	revocation_judge_ocsp(resp, req, leaf.cert, ca.cert, time(NULL), &s);
	assert_int_equal(s.status, want);
	assert_string_equal(s.source, "ocsp");
	if (detail != NULL && strstr(s.detail, detail) == NULL)
		fail_msg("detail '%s' lacks '%s'", s.detail, detail);
	OCSP_RESPONSE_free(resp);
	OCSP_REQUEST_free(req);
}

static void ocsp_good_revoked_delegated(void **state)
{
	(void)state;
	judge_ocsp(&good, STORE_REVSTATUS_GOOD, "good");
	struct ocsp_opts o = good;
	o.status = V_OCSP_CERTSTATUS_REVOKED;
	judge_ocsp(&o, STORE_REVSTATUS_REVOKED, "keyCompromise");
	o = good;
	o.signer = &responder;	/* delegated with OCSPSigning */
	judge_ocsp(&o, STORE_REVSTATUS_GOOD, NULL);
	o = good;
	o.nonce = 0;	/* pre-produced: no nonce, thisUpdate is fresh */
	judge_ocsp(&o, STORE_REVSTATUS_GOOD, NULL);
	o = good;
	o.has_next = false;
	judge_ocsp(&o, STORE_REVSTATUS_GOOD, NULL);
	o.status = V_OCSP_CERTSTATUS_UNKNOWN;
	judge_ocsp(&o, STORE_REVSTATUS_UNKNOWN, "does not know");
}

static void ocsp_not_believed(void **state)
{
	(void)state;
	struct ocsp_opts o = good;
	o.signer = &rogue_responder;	/* issued by the CA, no OCSPSigning */
	o.status = V_OCSP_CERTSTATUS_REVOKED;
	judge_ocsp(&o, STORE_REVSTATUS_UNKNOWN, "not signed");
	o = good;
	o.signer = &other_ca;	/* same name, another key */
	judge_ocsp(&o, STORE_REVSTATUS_UNKNOWN, "not signed");
	o = good;
	o.nonce = -1;
	judge_ocsp(&o, STORE_REVSTATUS_UNKNOWN, "nonce");
	o = good;
	o.this_upd = -7200;
	o.next_upd = -3600;
	judge_ocsp(&o, STORE_REVSTATUS_UNKNOWN, "out of date");
	o = good;
	o.this_upd = 3600;
	judge_ocsp(&o, STORE_REVSTATUS_UNKNOWN, "future");
	o = good;
	o.about = &second_leaf;
	judge_ocsp(&o, STORE_REVSTATUS_UNKNOWN, "does not cover");
	o = good;
	o.resp_status = OCSP_RESPONSE_STATUS_TRYLATER;
	judge_ocsp(&o, STORE_REVSTATUS_UNKNOWN, "trylater");
	struct store_revstatus s;
	memset(&s, 0, sizeof(s));
	revocation_judge_ocsp(NULL, NULL, leaf.cert, ca.cert, time(NULL), &s);
	assert_int_equal(s.status, STORE_REVSTATUS_UNKNOWN);
}

static void modes_and_names(void **state)
{
	(void)state;
	struct cfg_revocation c = { 0 };
	assert_int_equal(revocation_mode_of(NULL), REVOCATION_MODE_SOFT);
	c.mode = REVOCATION_MODE_OFF;
	assert_int_equal(revocation_mode_of(&c), REVOCATION_MODE_OFF);
	c.mode = REVOCATION_MODE_HARD;
	assert_int_equal(revocation_mode_of(&c), REVOCATION_MODE_HARD);
	c.mode = REVOCATION_MODE_SOFT;
	assert_int_equal(revocation_mode_of(&c), REVOCATION_MODE_SOFT);
	assert_string_equal(revocation_status_name(STORE_REVSTATUS_GOOD), "good");
	assert_string_equal(revocation_status_name(STORE_REVSTATUS_REVOKED),
			    "revoked");
	assert_string_equal(revocation_status_name(STORE_REVSTATUS_UNKNOWN),
			    "unknown");
	/* a revoked status is never usable, whatever the mode; good always */
	struct store_revstatus s = { .status = STORE_REVSTATUS_REVOKED };
	c.mode = REVOCATION_MODE_OFF;
	assert_false(revocation_usable(NULL, &c, &s, "test"));
	s.status = STORE_REVSTATUS_GOOD;
	c.mode = REVOCATION_MODE_HARD;
	assert_true(revocation_usable(NULL, &c, &s, "test"));
	s.status = STORE_REVSTATUS_UNKNOWN;
	assert_false(revocation_usable(NULL, &c, &s, "test"));
	c.mode = REVOCATION_MODE_OFF;
	assert_true(revocation_usable(NULL, &c, &s, "test"));
}

/* One deadline per message: max_wait after its first check, whatever
 * the number of recipients checked later. */
static void message_deadline(void **state)
{
	(void)state;
	struct cfg_revocation c = { 0 };
	c.max_wait = 8;
	assert_int_equal(revocation_deadline(&c, 1000), 1008);
	c.max_wait = 0;
	assert_int_equal(revocation_deadline(&c, 1000), 1000);
	assert_int_equal(revocation_deadline(NULL, 1000), 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(crl_good_and_revoked),
		cmocka_unit_test(crl_not_believed),
		cmocka_unit_test(ocsp_good_revoked_delegated),
		cmocka_unit_test(ocsp_not_believed),
		cmocka_unit_test(modes_and_names),
		cmocka_unit_test(message_deadline),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
