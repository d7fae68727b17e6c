/* SPDX-License-Identifier: BSD-2-Clause */
/* The SMIMECapabilities parser: flags for what our signer, Thunderbird
 * and Outlook advertise (lists made by OpenSSL, not by the code under
 * test), and refusals for malformed or oversized input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include <smx/smime-encrypt.h>

/* DER SMIMECapabilities of the given NIDs (with an RC2-style INTEGER
 * parameter when arg > 0), made by OpenSSL as a signer would. */
static size_t caps_der(const int *nids, size_t n, int arg,
		       unsigned char **der)
{
	STACK_OF(X509_ALGOR) *caps = sk_X509_ALGOR_new_null();
	for (size_t i = 0; i < n; i++)
		assert_int_equal(PKCS7_simple_smimecap(caps, nids[i], arg), 1);
	*der = NULL;
	int len = i2d_X509_ALGORS(caps, der);
	assert_true(len > 0);
	sk_X509_ALGOR_pop_free(caps, X509_ALGOR_free);
	return (size_t)len;
}

static void assert_caps(const unsigned char *der, size_t len,
			enum smx_status want_st, unsigned want, const char *what)
{
	unsigned caps = 0xffu;
	enum smx_status st = smime_caps_parse(der, len, &caps);
	if (st != want_st || caps != want)
		fail_msg("%s: got %s/0x%x, want %s/0x%x", what,
			 smx_status_name(st), caps, smx_status_name(want_st),
			 want);
}

static void capabilities_parse_to_flags(void **state)
{
	(void)state;
	static const int signer[] = { NID_aes_256_gcm, NID_aes_128_gcm,
		NID_aes_256_cbc, NID_aes_192_cbc, NID_aes_128_cbc };
	static const int oaep[] = { NID_aes_256_cbc, NID_rsaesOaep };
	static const int gcm_only[] = { NID_aes_256_gcm };
	static const int legacy[] = { NID_des_ede3_cbc, NID_rc2_cbc };
	unsigned char *der;
	size_t len;

	assert_caps(NULL, 0, SMX_OK, 0, "no capabilities");
	len = caps_der(signer, 5, 0, &der);
	assert_caps(der, len, SMX_OK, SMIME_CAP_KNOWN | SMIME_CAP_AES256_GCM |
		    SMIME_CAP_AES256_CBC, "our signer's list");
	assert_caps(der, len - 1, SMX_PERMFAIL, 0, "truncated");
	unsigned char *longer = malloc(len + 1);
	memcpy(longer, der, len);
	longer[len] = 0;
	assert_caps(longer, len + 1, SMX_PERMFAIL, 0, "trailing byte");
	free(longer);
	OPENSSL_free(der);
	len = caps_der(oaep, 2, 0, &der);
	assert_caps(der, len, SMX_OK, SMIME_CAP_KNOWN | SMIME_CAP_AES256_CBC |
		    SMIME_CAP_RSAES_OAEP, "CBC and OAEP");
	OPENSSL_free(der);
	len = caps_der(gcm_only, 1, 0, &der);
	assert_caps(der, len, SMX_OK, SMIME_CAP_KNOWN | SMIME_CAP_AES256_GCM,
		    "GCM only");
	OPENSSL_free(der);
	len = caps_der(legacy, 2, 128, &der);
	assert_caps(der, len, SMX_OK, SMIME_CAP_KNOWN,
		    "old algorithms with parameters");
	OPENSSL_free(der);

	static const unsigned char empty[] = { 0x30, 0x00 };
	static const unsigned char octets[] = { 0x04, 0x00 };
	static const unsigned char bad_inner[] = { 0x30, 0x03, 0x30, 0x01,
						   0x06 };
	static const unsigned char huge_len[] = { 0x30, 0x84, 0x7f, 0xff,
						  0xff, 0xff };
	assert_caps(empty, sizeof(empty), SMX_OK, SMIME_CAP_KNOWN, "empty");
	assert_caps(octets, sizeof(octets), SMX_PERMFAIL, 0, "not a SEQUENCE");
	assert_caps(bad_inner, sizeof(bad_inner), SMX_PERMFAIL, 0,
		    "broken entry");
	assert_caps(huge_len, sizeof(huge_len), SMX_PERMFAIL, 0,
		    "length beyond the input");
}

static void capabilities_are_bounded(void **state)
{
	(void)state;
	int nids[SMIME_CAPS_MAX_ENTRIES + 1];
	for (size_t i = 0; i <= SMIME_CAPS_MAX_ENTRIES; i++)
		nids[i] = i == 0 ? NID_aes_256_gcm : NID_aes_128_cbc;
	unsigned char *der;
	size_t len = caps_der(nids, SMIME_CAPS_MAX_ENTRIES, 0, &der);
	assert_caps(der, len, SMX_OK, SMIME_CAP_KNOWN | SMIME_CAP_AES256_GCM,
		    "the maximum of entries");
	OPENSSL_free(der);
	len = caps_der(nids, SMIME_CAPS_MAX_ENTRIES + 1, 0, &der);
	assert_caps(der, len, SMX_PERMFAIL, 0, "one entry too many");
	OPENSSL_free(der);

	/* a well-formed list longer than the byte bound */
	size_t big = SMIME_CAPS_MAX_LEN + 8;
	unsigned char *p = calloc(1, big);
	p[0] = 0x30;
	p[1] = 0x82;
	p[2] = (unsigned char)((big - 4) >> 8);
	p[3] = (unsigned char)(big - 4);
	for (size_t i = 4; i + 2 <= big; i += 2)
		p[i] = 0x05;	/* NULL, NULL, ...: not capabilities anyway */
	assert_caps(p, big, SMX_PERMFAIL, 0, "more than SMIME_CAPS_MAX_LEN");
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(capabilities_parse_to_flags),
		cmocka_unit_test(capabilities_are_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
