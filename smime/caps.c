/* SPDX-License-Identifier: BSD-2-Clause */
/* SMIMECapabilities (RFC 8551 section 2.5.2) to flags. The DER comes from
 * other people's signatures, so it is hostile: it is bounded in size and
 * entries, must be exactly one SEQUENCE OF SMIMECapability with nothing
 * after it, and is parsed by OpenSSL's ASN.1 decoder (an SMIMECapability
 * has the shape of an AlgorithmIdentifier: an OID and optional
 * parameters). */
#include <smx/smime-encrypt.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

static unsigned cap_bit(const X509_ALGOR *alg)
{
	const ASN1_OBJECT *oid;
	X509_ALGOR_get0(&oid, NULL, NULL, alg);
	switch (OBJ_obj2nid(oid)) {
	case NID_aes_256_gcm:
		return SMIME_CAP_AES256_GCM;
	case NID_aes_256_cbc:
		return SMIME_CAP_AES256_CBC;
	case NID_rsaesOaep:
		return SMIME_CAP_RSAES_OAEP;
	default:
		return 0;
	}
}

enum smx_status smime_caps_parse(const unsigned char *der, size_t len,
				 unsigned *caps_r)
{
	const unsigned char *p = der;
	X509_ALGORS *algs = NULL;
	enum smx_status st = SMX_PERMFAIL;
	unsigned caps = SMIME_CAP_KNOWN;
	*caps_r = 0;
	if (der == NULL || len == 0)
		return SMX_OK;
	if (len > SMIME_CAPS_MAX_LEN || der[0] != 0x30)
		goto out;
	algs = d2i_X509_ALGORS(NULL, &p, (long)len);
	if (algs == NULL || p != der + len ||
	    sk_X509_ALGOR_num(algs) > SMIME_CAPS_MAX_ENTRIES)
		goto out;
	for (int i = 0; i < sk_X509_ALGOR_num(algs); i++)
		caps |= cap_bit(sk_X509_ALGOR_value(algs, i));
	*caps_r = caps;
	st = SMX_OK;
out:
	sk_X509_ALGOR_pop_free(algs, X509_ALGOR_free);
	ERR_clear_error();
	return st;
}
