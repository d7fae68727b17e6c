/* SPDX-License-Identifier: BSD-2-Clause */
/* Inbound: every S/MIME signature verified and reported in one
 * Authentication-Results header (forged ones with our authserv-id
 * removed), and the signers' certificates harvested into the store. */
#ifndef SMX_MILTER_INBOUND_H
#define SMX_MILTER_INBOUND_H

#include <libmilter/mfapi.h>
#include <stddef.h>

#include "msgctx.h"

/* Verifies the message of conn, applies the header edits through ctx
 * and harvests (never for outbound mail). Writes a summary for the log
 * line ("smime=pass ...") into summary. Inbound mail is never refused
 * for its S/MIME content: a failure leaves the message unchanged and
 * says so in the summary. Returns -1 only when an edit was refused by
 * the MTA after others were made (the caller then tempfails). */
int inbound_apply(SMFICTX *ctx, struct conn *conn, const char *qid,
		  char *summary, size_t size);

/* Removes every Authentication-Results header that came with the
 * message naming our authserv-id, and every SMIME_DECRYPTED_HEADER (as
 * counted by msg_track_auth_results, also past the header limit),
 * whatever the direction and whatever else happens to the message; call
 * it before any other edit. A message with
 * more of them than MSG_AR_OURS_MAX is refused (550 5.7.1). Returns
 * SMFIS_CONTINUE, or the answer to give (reply set, decision logged):
 * SMFIS_REJECT, or SMFIS_TEMPFAIL when the MTA refused a deletion. */
sfsistat inbound_strip_forged_results(SMFICTX *ctx, const struct conn *conn,
				      const char *qid, const char *direction);

/* Drops the cached verifier (after a reload: new anchors or limits). */
void inbound_cache_clear(void);

#endif
