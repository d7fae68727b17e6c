/* SPDX-License-Identifier: BSD-2-Clause */
/* Header protection (policy header_protection) of the message being
 * signed or encrypted: prepared once from its headers, carried by the
 * signed or encrypted entity (outbound.c), its outer edits applied with
 * the others (edits.c). */
#ifndef SMX_MILTER_PROTECT_H
#define SMX_MILTER_PROTECT_H

#include <stdbool.h>

#include <smx/policy-engine.h>

#include "msgctx.h"

/* Sets c->msg->hp as decision d says (none when header protection is
 * off or nothing is signed or encrypted): hp="cipher" and the baseline
 * policy when d encrypts, hp="clear" when it only signs. The fields go
 * inside as the message will leave: the Subject without the subject tag
 * d strips, without the trigger header d removes. Returns 0, or -1 when
 * out of memory. */
int protect_headers_prepare(struct conn *c, const struct policy_decision *d);

/* Whether the outer Subject is replaced by header protection (then the
 * subject tag is not stripped from it: the protected copy has none). */
bool protect_headers_hide_subject(const struct msg *m);

#endif
