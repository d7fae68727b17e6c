/* SPDX-License-Identifier: BSD-2-Clause */
/* Outbound mail at the end of the message: the decision on the plan
 * carried out (signed, encrypted, triggers removed) through libmilter,
 * with a cache of ready signers. */
#ifndef SMX_MILTER_OUTBOUND_H
#define SMX_MILTER_OUTBOUND_H

#include <libmilter/mfapi.h>

#include <smx/plan.h>
#include <smx/policy-engine.h>

#include "msgctx.h"

/* Carries out d, the decision on plan, for the message of conn: signs
 * and encrypts as it says and removes the triggers that asked for
 * encryption. A failure is noted in d's reason and turns d into what
 * the configuration says (policy_retry_unsigned,
 * policy_protection_failed): a message that must be encrypted never
 * leaves in clear. Returns d's action afterwards. Nothing is done unless
 * d sends the message signed or encrypted. */
enum policy_action outbound_carry_out(SMFICTX *ctx, struct conn *conn,
				      const struct plan *plan,
				      struct policy_decision *d);

/* Drops every cached signer (after a reload). */
void signing_cache_clear(void);

#endif
