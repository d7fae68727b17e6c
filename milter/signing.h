/* SPDX-License-Identifier: BSD-2-Clause */
/* Outbound signing in the milter: the sender's identity from the store,
 * a cache of ready signers, and the result applied through libmilter. */
#ifndef SMX_MILTER_SIGNING_H
#define SMX_MILTER_SIGNING_H

#include <libmilter/mfapi.h>
#include <stdbool.h>
#include <stddef.h>

#include <smx/policy-engine.h>
#include <smx/status.h>
#include <smx/store.h>

#include "msgctx.h"

/* Whether `from` has a usable signing certificate with its key:
 * AVAILABLE (then *not_after_r, which may be NULL, gets its expiry),
 * MISSING, or UNKNOWN when the store cannot answer (or there is no
 * store). */
enum policy_availability signing_key_state(struct store *store,
					   const char *from,
					   int64_t *not_after_r);

struct smime_recipient;

/* Signs the message of conn as `from` (when sign), then encrypts it to
 * the n recipients (when n > 0: the signed entity, or the message), and
 * hands the header edits and the new body to the MTA. Returns SMX_OK;
 * SMX_TEMPFAIL when the store or the system failed; SMX_PERMFAIL when
 * this message, key or certificate cannot be used. why receives the
 * reason (no secrets). Nothing is changed in the MTA's copy unless
 * SMX_OK is returned or an edit itself failed (then SMX_TEMPFAIL): the
 * caller must never let a message that had to be encrypted through
 * after a failure. */
enum smx_status outbound_apply(SMFICTX *ctx, struct store *store,
			       struct conn *conn, const char *from, bool sign,
			       const struct smime_recipient *rcpts, size_t n,
			       char *why, size_t size);

/* Drops every cached signer (after a reload). */
void signing_cache_clear(void);

/* Forgets the signing identity signing_key_state() found on this thread
 * (called when a new message is decided). */
void signing_selection_forget(void);

#endif
