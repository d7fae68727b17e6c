/* SPDX-License-Identifier: BSD-2-Clause */
/* Private keys written into a PKCS#11 token (import-p12 --to-token). */
#ifndef SMX_CTL_TOKEN_H
#define SMX_CTL_TOKEN_H

#include <openssl/evp.h>

#include <smx/store.h>

#include "ctl.h"

/* Writes key (which matches c) into the token of keys.pkcs11_module,
 * with the PIN of keys.pkcs11_pin_file (or asked on the terminal), as a
 * sensitive, non-extractable object whose CKA_ID and label are c's
 * fingerprint, and records its URI in c's key row (no key material in
 * the store). token_label names the token (NULL: the module's first).
 * Prints what failed; returns SMX_OK or the failure's status. */
enum smx_status ctl_token_put_key(struct ctl *ctl, EVP_PKEY *key,
				  const struct store_cert *c,
				  const char *token_label);

#endif
