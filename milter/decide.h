/* SPDX-License-Identifier: BSD-2-Clause */
/* What happens to a message: recipients at RCPT time, the message at end
 * of message, and the one log line that records each decision. */
#ifndef SMX_MILTER_DECIDE_H
#define SMX_MILTER_DECIDE_H

#include <stdbool.h>

#include <libmilter/mfapi.h>

#include "msgctx.h"

/* The modifications this filter may make: the signed body and its
 * headers, and quarantine (Postfix's hold queue) when policy says
 * "hold". */
#define MILTER_ACTIONS (SMFIF_CHGBODY | SMFIF_CHGHDRS | SMFIF_ADDHDRS | \
			SMFIF_QUARANTINE)

/* At the first body chunk: may the rest of the body go unread? Only
 * when the MTA can skip it (SMFIP_SKIP), the message is inbound, every
 * header was recorded, verify.authentication_results_none is off (the
 * verifier writes smime=none from what it finds in a body), and the
 * top-level Content-Type cannot hold anything that the verifier or the
 * decryption reads (smime_headers_may_carry). Nothing else done to
 * inbound mail reads its body. */
bool decide_body_skip(const struct conn *conn);

/* Notes at MAIL time whether the policy applies to this message's
 * recipients (internal sender, trusted client). */
void decide_sender(struct conn *conn);

/* Decides a recipient at RCPT time: accepts it (and records it), or
 * refuses it with 550 5.7.1 / 450 4.7.1 / 452 4.5.3 and a reply naming
 * the recipient. Returns the libmilter answer. */
sfsistat decide_recipient(SMFICTX *ctx, struct conn *conn, const char *qid,
			  const char *rcpt_path);

/* Classifies the message, applies what policy asks for, logs one line
 * (queue id, direction, sender, recipient count, action, reason) and
 * returns the libmilter answer. Does not free the message. */
sfsistat decide_message(SMFICTX *ctx, struct conn *conn, const char *qid);

#endif
