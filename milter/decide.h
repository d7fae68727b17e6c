/* What happens to a message at end of message, and the one log line
 * that records it. */
#ifndef SMX_MILTER_DECIDE_H
#define SMX_MILTER_DECIDE_H

#include <libmilter/mfapi.h>

#include "msgctx.h"

/* The modifications this filter may make (none yet: every message
 * passes unchanged). Later capabilities add SMFIF_* flags here. */
#define MILTER_ACTIONS 0UL

/* Classifies the message, applies what policy asks for, logs one line
 * (queue id, direction, sender, recipient count, action, reason) and
 * returns the libmilter answer. Does not free the message. */
sfsistat decide_message(SMFICTX *ctx, struct conn *conn, const char *qid);

#endif
