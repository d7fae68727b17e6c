/* SPDX-License-Identifier: BSD-2-Clause */
/* The certificate and key plumbing (smx/x509.h): DER is read strictly
 * (one whole object or nothing, with a reason), fingerprints are the
 * SHA-256 of the DER, keys are matched to certificates and chains are
 * assembled from a pool, and a certificate's mail addresses are read by
 * one rule. Keys and certificates are made at test time,
 * except one fixed certificate whose fingerprint is known. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <smx/x509.h>

/* A self-signed Ed25519 certificate (CN=smx x509 test), made once with
 * the openssl command; its fingerprint as `openssl x509 -fingerprint
 * -sha256` prints it, lower-cased and without colons. */
static const char known_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBRjCB+aADAgECAhQHqMObLgmNrK1vrRj5Mb7PjqmE8TAFBgMrZXAwGDEWMBQG\n"
	"A1UEAwwNc214IHg1MDkgdGVzdDAgFw0yNjEyMDcwMjQwNTRaGA8yMTI2MTExMzAy\n"
	"NDA1NFowGDEWMBQGA1UEAwwNc214IHg1MDkgdGVzdDAqMAUGAytlcAMhAK8xvUJg\n"
	"riag5msrheoKPwjnW65vn01YLHiNlJuokwfIo1MwUTAdBgNVHQ4EFgQUx+o6N44f\n"
	"6WFZEzelW5NrfBaOMxYwHwYDVR0jBBgwFoAUx+o6N44f6WFZEzelW5NrfBaOMxYw\n"
	"DwYDVR0TAQH/BAUwAwEB/zAFBgMrZXADQQDjZkQ4u7+kqxUMD9pEyJw8SDIjTgL2\n"
	"YCUKrVv0OO3Us5vBW9Nx0ZWMmnpPnHLRsV+2cFCAYsPIfHBkP5uwcxYF\n"
	"-----END CERTIFICATE-----\n";
static const char known_fp[] =
	"b56ee7e66302d23a4b7012902b030615f6b1660bffa8b725c7d2b65135051c46";

struct ident {
	EVP_PKEY *key;
	X509 *cert;
};

static EVP_PKEY *new_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	assert_non_null(k);
	return k;
}

/* A certificate for key, issued by issuer (NULL: self-signed), a CA
 * when ca is set. */
static X509 *new_cert(const char *cn, EVP_PKEY *key,
		      const struct ident *issuer, bool ca)
{
	static long serial = 1;
	X509 *x = X509_new();
	assert_non_null(x);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509 *by = issuer != NULL ? issuer->cert : x;
	X509_set_issuer_name(x, X509_get_subject_name(by));
	X509_set_pubkey(x, key);
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, by, x, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(
		NULL, &ctx, NID_basic_constraints,
		ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	assert_non_null(ext);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, issuer != NULL ? issuer->key : key,
			      EVP_sha256()) > 0);
	return x;
}

static struct ident new_ident(const char *cn, const struct ident *issuer,
			      bool ca)
{
	struct ident id = { new_key(), NULL };
	id.cert = new_cert(cn, id.key, issuer, ca);
	return id;
}

static void ident_free(struct ident *id)
{
	X509_free(id->cert);
	EVP_PKEY_free(id->key);
}

static size_t der_of(X509 *x, unsigned char **der)
{
	size_t len = smx_x509_to_der(x, der);
	assert_true(len > 0);
	return len;
}

/* --- certificates ------------------------------------------------------- */

static void whole_certificate_parses_and_round_trips(void **state)
{
	(void)state;
	struct ident id = new_ident("alice", NULL, false);
	unsigned char *der = NULL, *again = NULL;
	size_t len = der_of(id.cert, &der);
	char why[64] = "unset";
	X509 *x = smx_x509_parse(der, len, why, sizeof(why));
	assert_non_null(x);
	assert_string_equal(why, "");
	assert_int_equal(X509_cmp(x, id.cert), 0);
	assert_int_equal(der_of(x, &again), len);
	assert_memory_equal(again, der, len);
	X509_free(x);
	free(again);
	free(der);
	ident_free(&id);
}

static void trailing_bytes_are_refused(void **state)
{
	(void)state;
	struct ident id = new_ident("alice", NULL, false);
	unsigned char *der = NULL;
	size_t len = der_of(id.cert, &der);
	unsigned char *longer = malloc(len + 2);
	assert_non_null(longer);
	memcpy(longer, der, len);
	longer[len] = 0x00;
	longer[len + 1] = 0x00;
	char why[64];
	for (size_t extra = 1; extra <= 2; extra++) {
		assert_null(smx_x509_parse(longer, len + extra, why,
					   sizeof(why)));
		assert_string_equal(why, "bytes after the certificate");
	}
	/* a second certificate after the first is trailing bytes too */
	unsigned char *two = malloc(2 * len);
	assert_non_null(two);
	memcpy(two, der, len);
	memcpy(two + len, der, len);
	assert_null(smx_x509_parse(two, 2 * len, NULL, 0));
	free(two);
	free(longer);
	free(der);
	ident_free(&id);
}

static void truncated_der_is_refused(void **state)
{
	(void)state;
	struct ident id = new_ident("alice", NULL, false);
	unsigned char *der = NULL;
	size_t len = der_of(id.cert, &der);
	char why[64];
	for (size_t cut = 1; cut < len; cut++) {
		assert_null(smx_x509_parse(der, cut, why, sizeof(why)));
		assert_string_equal(why, "not a DER certificate");
	}
	assert_null(smx_x509_parse(der, 0, why, sizeof(why)));
	assert_string_equal(why, "empty certificate");
	assert_null(smx_x509_parse(NULL, 10, NULL, 0));
	free(der);
	ident_free(&id);
}

static void oversized_input_is_refused_unread(void **state)
{
	(void)state;
	size_t len = SMX_X509_MAX_DER + 1;
	unsigned char *big = calloc(1, len);
	assert_non_null(big);
	char why[64];
	assert_null(smx_x509_parse(big, len, why, sizeof(why)));
	assert_string_equal(why, "certificate larger than 1 MiB");
	assert_null(smx_x509_key_parse(big, len, why, sizeof(why)));
	assert_string_equal(why, "private key larger than 1 MiB");
	free(big);
}

/* --- fingerprints ------------------------------------------------------- */

static X509 *known_cert(void)
{
	BIO *bio = BIO_new_mem_buf(known_pem, -1);
	X509 *x = bio != NULL ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	assert_non_null(x);
	return x;
}

static void fingerprint_of_a_known_certificate(void **state)
{
	(void)state;
	X509 *x = known_cert();
	char hex[SMX_X509_FP_HEX];
	assert_true(smx_x509_fingerprint(x, hex));
	assert_string_equal(hex, known_fp);
	unsigned char *der = NULL;
	size_t len = der_of(x, &der);
	char from_der[SMX_X509_FP_HEX];
	assert_true(smx_x509_der_fingerprint(der, len, from_der));
	assert_string_equal(from_der, known_fp);
	unsigned char raw[SMX_X509_FP_LEN];
	assert_true(smx_x509_fingerprint_raw(x, raw));
	char two[3];
	for (size_t i = 0; i < SMX_X509_FP_LEN; i++) {
		snprintf(two, sizeof(two), "%02x", raw[i]);
		assert_memory_equal(two, known_fp + 2 * i, 2);
	}
	assert_false(smx_x509_fingerprint(NULL, hex));
	assert_string_equal(hex, "");
	free(der);
	X509_free(x);
}

/* --- private keys ------------------------------------------------------- */

static void key_round_trips_and_matches_its_certificate(void **state)
{
	(void)state;
	struct ident alice = new_ident("alice", NULL, false);
	struct ident bob = new_ident("bob", NULL, false);
	unsigned char *p8 = NULL;
	size_t len = smx_x509_key_to_der(alice.key, &p8);
	assert_true(len > 0);
	char why[64] = "unset";
	EVP_PKEY *key = smx_x509_key_parse(p8, len, why, sizeof(why));
	assert_non_null(key);
	assert_string_equal(why, "");
	assert_true(EVP_PKEY_eq(key, alice.key) == 1);
	assert_true(smx_x509_key_matches(alice.cert, key));
	assert_false(smx_x509_key_matches(bob.cert, key));
	assert_false(smx_x509_key_matches(NULL, key));
	assert_false(smx_x509_key_matches(alice.cert, NULL));
	EVP_PKEY_free(key);
	free(p8);
	ident_free(&alice);
	ident_free(&bob);
}

static void key_with_trailing_or_missing_bytes_is_refused(void **state)
{
	(void)state;
	struct ident alice = new_ident("alice", NULL, false);
	unsigned char *p8 = NULL;
	size_t len = smx_x509_key_to_der(alice.key, &p8);
	assert_true(len > 0);
	unsigned char *longer = malloc(len + 1);
	assert_non_null(longer);
	memcpy(longer, p8, len);
	longer[len] = 0x00;
	char why[64];
	assert_null(smx_x509_key_parse(longer, len + 1, why, sizeof(why)));
	assert_string_equal(why, "bytes after the private key");
	for (size_t cut = 1; cut < len; cut++) {
		assert_null(smx_x509_key_parse(p8, cut, why, sizeof(why)));
		assert_string_equal(why, "not a DER private key");
	}
	assert_null(smx_x509_key_parse(p8, 0, why, sizeof(why)));
	assert_string_equal(why, "empty private key");
	free(longer);
	free(p8);
	ident_free(&alice);
}

/* --- chains ------------------------------------------------------------- */

static void chain_climbs_the_pool_to_the_root(void **state)
{
	(void)state;
	struct ident root = new_ident("root", NULL, true);
	struct ident inter = new_ident("inter", &root, true);
	struct ident leaf = new_ident("leaf", &inter, false);
	struct ident other = new_ident("other root", NULL, true);
	STACK_OF(X509) *pool = sk_X509_new_null();
	assert_non_null(pool);
	unsigned char *der = NULL;
	X509 *members[] = { other.cert, leaf.cert, root.cert, inter.cert };
	for (size_t i = 0; i < 4; i++) {
		size_t len = der_of(members[i], &der);
		assert_int_equal(smx_x509_stack_push_der(pool, der, len), 0);
		free(der);
	}
	/* what does not parse is skipped */
	assert_int_equal(smx_x509_stack_push_der(pool,
			 (const unsigned char *)"junk", 4), 0);
	assert_int_equal(sk_X509_num(pool), 4);
	assert_ptr_equal(smx_x509_issuer_in(leaf.cert, pool),
			 sk_X509_value(pool, 3));
	STACK_OF(X509) *chain = smx_x509_chain(leaf.cert, pool);
	assert_non_null(chain);
	assert_int_equal(sk_X509_num(chain), 2);
	assert_int_equal(X509_cmp(sk_X509_value(chain, 0), inter.cert), 0);
	assert_int_equal(X509_cmp(sk_X509_value(chain, 1), root.cert), 0);
	smx_x509_stack_free(&chain);
	assert_null(chain);
	/* a root has no chain; without the intermediate the chain stops */
	chain = smx_x509_chain(root.cert, pool);
	assert_int_equal(sk_X509_num(chain), 0);
	smx_x509_stack_free(&chain);
	X509_free(sk_X509_delete(pool, 3));
	chain = smx_x509_chain(leaf.cert, pool);
	assert_int_equal(sk_X509_num(chain), 0);
	smx_x509_stack_free(&chain);
	smx_x509_stack_free(&pool);
	ident_free(&root);
	ident_free(&inter);
	ident_free(&leaf);
	ident_free(&other);
}

/* --- the addresses a certificate is for ---------------------------------- */

/* A self-signed certificate with the subjectAltName san (an OpenSSL
 * extension value such as "email:a@b,DNS:c"; NULL: none) and the
 * subject emailAddress attributes subject[0], subject[1] (NULL ends). */
static X509 *mail_cert(EVP_PKEY *key, const char *san,
		       const char *const *subject)
{
	X509 *x = new_cert("mail", key, NULL, false);
	for (size_t i = 0; subject != NULL && subject[i] != NULL; i++)
		assert_int_equal(X509_NAME_add_entry_by_NID(
					 X509_get_subject_name(x),
					 NID_pkcs9_emailAddress, MBSTRING_ASC,
					 (const unsigned char *)subject[i],
					 -1, -1, 0), 1);
	if (san != NULL) {
		X509V3_CTX ctx;
		X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
		X509_EXTENSION *ext = X509V3_EXT_conf_nid(
			NULL, &ctx, NID_subject_alt_name, san);
		assert_non_null(ext);
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	return x;
}

/* The addresses of the certificate made from san and subject, joined
 * with spaces into out ("" for none). */
static void addresses_of(EVP_PKEY *key, const char *san,
			 const char *const *subject, char *out, size_t size)
{
	X509 *x = mail_cert(key, san, subject);
	char *list[SMX_X509_MAX_MAIL];
	int n = smx_x509_mail_addresses(x, list, SMX_X509_MAX_MAIL);
	assert_true(n >= 0);
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		size_t used = strlen(out);
		snprintf(out + used, size - used, "%s%s", i ? " " : "",
			 list[i]);
	}
	smx_x509_mail_addresses_free(list, (size_t)n);
	X509_free(x);
}

static void san_addresses_lower_cased_without_duplicates(void **state)
{
	(void)state;
	EVP_PKEY *key = new_key();
	char got[512];
	addresses_of(key, "email:Alice@Example.COM,DNS:example.com,"
		     "email:alice@example.com,email:al@b.example", NULL,
		     got, sizeof(got));
	assert_string_equal(got, "alice@example.com al@b.example");
	/* a name that is no address is skipped; the others stay */
	addresses_of(key, "email:nobody,email:bob@example.com", NULL, got,
		     sizeof(got));
	assert_string_equal(got, "bob@example.com");
	EVP_PKEY_free(key);
}

/* RFC 8550's older certificates: the subject's emailAddress, read only
 * when the SAN names no rfc822Name at all. */
static void subject_address_only_without_san_address(void **state)
{
	(void)state;
	EVP_PKEY *key = new_key();
	char got[512];
	const char *alice[] = { "Alice@example.com", NULL };
	addresses_of(key, NULL, alice, got, sizeof(got));
	assert_string_equal(got, "alice@example.com");
	addresses_of(key, "DNS:mail.example.com", alice, got, sizeof(got));
	assert_string_equal(got, "alice@example.com");
	addresses_of(key, "email:bob@example.com", alice, got, sizeof(got));
	assert_string_equal(got, "bob@example.com");
	EVP_PKEY_free(key);
}

/* A SAN address with a control or 8-bit byte is no address, and the
 * SAN still names somebody: the subject's address does not take its
 * place (else a certificate for one person would be read as another's). */
static void unreadable_san_address_hides_nothing_behind_it(void **state)
{
	(void)state;
	EVP_PKEY *key = new_key();
	char got[512];
	const char *ceo[] = { "ceo@example.com", NULL };
	addresses_of(key, "email:al\x01ice@example.com", ceo, got,
		     sizeof(got));
	assert_string_equal(got, "");
	addresses_of(key, "email:jos\xc3\xa9@example.com", ceo, got,
		     sizeof(got));
	assert_string_equal(got, "");
	addresses_of(key, "email:al\x7fice@example.com,email:x@example.com",
		     ceo, got, sizeof(got));
	assert_string_equal(got, "x@example.com");
	/* an internationalised mailbox (RFC 8398), never matched here,
	 * names somebody too; another otherName does not */
	addresses_of(key, "otherName:1.3.6.1.5.5.7.8.9;UTF8:jos\xc3\xa9@"
		     "example.com", ceo, got, sizeof(got));
	assert_string_equal(got, "");
	addresses_of(key, "otherName:1.2.3.4;UTF8:something", ceo, got,
		     sizeof(got));
	assert_string_equal(got, "ceo@example.com");
	/* the same bytes in the subject are no address either */
	const char *bad[] = { "ceo\x1b[2J@example.com", "ok@example.com",
			      NULL };
	addresses_of(key, NULL, bad, got, sizeof(got));
	assert_string_equal(got, "ok@example.com");
	EVP_PKEY_free(key);
}

/* Appends a subjectAltName extension holding the DER bytes der. */
static void add_raw_san(X509 *x, const unsigned char *der, int len)
{
	ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
	assert_non_null(v);
	assert_int_equal(ASN1_OCTET_STRING_set(v, der, len), 1);
	X509_EXTENSION *ext = X509_EXTENSION_create_by_NID(
		NULL, NID_subject_alt_name, 0, v);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(v);
}

/* A subjectAltName OpenSSL cannot give (it does not decode, or there are
 * two) may name anybody: the subject's address is not read instead. */
static void unreadable_san_extension_hides_the_subject(void **state)
{
	(void)state;
	EVP_PKEY *key = new_key();
	const char *alice[] = { "alice@example.com", NULL };
	char *list[SMX_X509_MAX_MAIL];
	/* the control: the certificate without the extension */
	X509 *x = mail_cert(key, NULL, alice);
	assert_int_equal(smx_x509_mail_addresses(x, list, SMX_X509_MAX_MAIL),
			 1);
	smx_x509_mail_addresses_free(list, 1);
	static const unsigned char garbage[] = { 0x30, 0x05, 0x81, 0x09, 'b' };
	add_raw_san(x, garbage, (int)sizeof(garbage));
	assert_int_equal(smx_x509_mail_addresses(x, list, SMX_X509_MAX_MAIL),
			 0);
	X509_free(x);
	/* two well-formed ones */
	static const unsigned char bob[] = { 0x30, 0x11, 0x81, 0x0f, 'b', 'o',
		'b', '@', 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o',
		'm' };
	x = mail_cert(key, NULL, alice);
	add_raw_san(x, bob, (int)sizeof(bob));
	assert_int_equal(smx_x509_mail_addresses(x, list, SMX_X509_MAX_MAIL),
			 1);
	assert_string_equal(list[0], "bob@example.com");
	smx_x509_mail_addresses_free(list, 1);
	add_raw_san(x, bob, (int)sizeof(bob));
	assert_int_equal(smx_x509_mail_addresses(x, list, SMX_X509_MAX_MAIL),
			 0);
	X509_free(x);
	EVP_PKEY_free(key);
}

static void addresses_stop_at_max(void **state)
{
	(void)state;
	EVP_PKEY *key = new_key();
	X509 *x = mail_cert(key, "email:a@x.example,email:b@x.example,"
			    "email:c@x.example", NULL);
	char *list[2];
	assert_int_equal(smx_x509_mail_addresses(x, list, 2), 2);
	assert_string_equal(list[1], "b@x.example");
	smx_x509_mail_addresses_free(list, 2);
	X509_free(x);
	EVP_PKEY_free(key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(whole_certificate_parses_and_round_trips),
		cmocka_unit_test(trailing_bytes_are_refused),
		cmocka_unit_test(truncated_der_is_refused),
		cmocka_unit_test(oversized_input_is_refused_unread),
		cmocka_unit_test(fingerprint_of_a_known_certificate),
		cmocka_unit_test(key_round_trips_and_matches_its_certificate),
		cmocka_unit_test(key_with_trailing_or_missing_bytes_is_refused),
		cmocka_unit_test(chain_climbs_the_pool_to_the_root),
		cmocka_unit_test(san_addresses_lower_cased_without_duplicates),
		cmocka_unit_test(subject_address_only_without_san_address),
		cmocka_unit_test(unreadable_san_address_hides_nothing_behind_it),
		cmocka_unit_test(unreadable_san_extension_hides_the_subject),
		cmocka_unit_test(addresses_stop_at_max),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
