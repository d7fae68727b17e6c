/* SPDX-License-Identifier: BSD-2-Clause */
/* Handing a library's header edits and new body to the MTA. */
#ifndef SMX_MILTER_EDITS_H
#define SMX_MILTER_EDITS_H

#include <libmilter/mfapi.h>
#include <stddef.h>

#include <smx/smime.h>
#include <smx/spool.h>

/* The i-th edit of obj (smime_sign_edit, smime_encrypt_edit, ...). */
typedef const struct smime_header_edit *(*edit_at_fn)(const void *obj,
						      size_t i);

/* Applies one edit (delete, insert or add). Returns 0 or -1. */
int edit_apply(SMFICTX *ctx, const struct smime_header_edit *e);

/* Applies the n edits of obj in order, then replaces the body with body
 * (in chunks of the protocol's limit). Any failure leaves the MTA's copy
 * half changed: the caller must tempfail the message. Returns 0 or -1. */
int edits_hand_over(SMFICTX *ctx, size_t n, edit_at_fn edit, const void *obj,
		    struct spool *body);

#endif
