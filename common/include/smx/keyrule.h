/* SPDX-License-Identifier: BSD-2-Clause */
/* The one rule for which public keys mail can be encrypted to, shared by
 * certificate selection (smx/store.h) and the encryptor (smx/smime-
 * encrypt.h), so that a certificate the selection offers is never one the
 * encryptor then refuses: RSA keys of 2048 to 16384 bits, EC keys on
 * P-256, P-384 or P-521. */
#ifndef SMX_KEYRULE_H
#define SMX_KEYRULE_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/types.h>

#define SMX_KEYRULE_RSA_MIN_BITS 2048
#define SMX_KEYRULE_RSA_MAX_BITS 16384

/* Whether mail can be encrypted to pk. When it cannot, why (size bytes,
 * may be NULL) says so ("RSA key of 1024 bits (2048 to 16384
 * accepted)"). For an accepted EC key *ecdh_md_r (may be NULL) receives
 * the key-derivation digest that goes with its curve; else NULL. */
bool smx_keyrule_encryptable(EVP_PKEY *pk, const EVP_MD **ecdh_md_r,
			     char *why, size_t size);

#endif
