/* SPDX-License-Identifier: BSD-2-Clause */
/* Which public keys can be encrypted to: see smx/keyrule.h. */
#include <smx/keyrule.h>

#include <stdio.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

/* The KDF digest for an EC key on a supported curve, else NULL. */
static const EVP_MD *ec_kdf_md(EVP_PKEY *pk)
{
	char group[64];
	if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME,
					   group, sizeof(group), NULL) != 1)
		return NULL;
	switch (OBJ_txt2nid(group)) {
	case NID_X9_62_prime256v1:
		return EVP_sha256();
	case NID_secp384r1:
		return EVP_sha384();
	case NID_secp521r1:
		return EVP_sha512();
	default:
		return NULL;
	}
}

bool smx_keyrule_encryptable(EVP_PKEY *pk, const EVP_MD **ecdh_md_r,
			     char *why, size_t size)
{
	char scratch[8];
	bool ok = false;
	if (why == NULL) {
		why = scratch;
		size = sizeof(scratch);
	}
	if (ecdh_md_r != NULL)
		*ecdh_md_r = NULL;
	snprintf(why, size, "%s", "");
	if (pk == NULL) {
		snprintf(why, size, "public key unreadable");
	} else if (EVP_PKEY_is_a(pk, "RSA")) {
		int bits = EVP_PKEY_get_bits(pk);
		ok = bits >= SMX_KEYRULE_RSA_MIN_BITS &&
		     bits <= SMX_KEYRULE_RSA_MAX_BITS;
		if (!ok)
			snprintf(why, size, "RSA key of %d bits (%d to %d "
				 "accepted)", bits, SMX_KEYRULE_RSA_MIN_BITS,
				 SMX_KEYRULE_RSA_MAX_BITS);
	} else if (EVP_PKEY_is_a(pk, "EC")) {
		const EVP_MD *md = ec_kdf_md(pk);
		ok = md != NULL;
		if (ecdh_md_r != NULL)
			*ecdh_md_r = md;
		if (!ok)
			snprintf(why, size, "EC key on a curve other than "
				 "P-256, P-384 or P-521");
	} else {
		snprintf(why, size, "%s keys cannot be encrypted to (RSA or "
			 "EC only)", EVP_PKEY_get0_type_name(pk));
	}
	ERR_clear_error();
	return ok;
}
