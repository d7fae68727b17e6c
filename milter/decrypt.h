/* SPDX-License-Identifier: BSD-2-Clause */
/* Inbound decryption (policy.decrypt_inbound): see inbound-decrypt.c. */
#ifndef SMX_MILTER_DECRYPT_H
#define SMX_MILTER_DECRYPT_H

#include <libmilter/mfapi.h>
#include <stddef.h>

#include <smx/smime-decrypt.h>

#include "msgctx.h"

/* With policy.decrypt_inbound (a SMIME_DECRYPTED_HEADER the message came
 * with is already gone: inbound_strip_forged_results), when the message
 * is encrypted, the store
 * holds every recipient's key and each of those keys opens its own
 * RecipientInfo to the same content, decrypts it and applies the result
 * through ctx (headers and body). *dec_r is then the decryption (the
 * caller verifies its result headers and body, and frees it); otherwise
 * NULL and the message is unchanged. summary receives "decrypted ...",
 * "not decrypted (why)" or "". Returns -1 only when the MTA refused an
 * edit after others were made (the caller tempfails); 0 otherwise. */
int inbound_decrypt(SMFICTX *ctx, struct conn *conn, const char *qid,
		    struct smime_decrypt **dec_r, char *summary, size_t size);

#endif
