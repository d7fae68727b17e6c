/* SPDX-License-Identifier: BSD-2-Clause */
/* Auto-enrollment (ca.auto_enroll): the organization CA issues a
 * certificate to an internal sender that policy wants signed, and allows
 * to sign as its From: address, but that has none, or renews one that
 * expires within ca.renew_before. Who may sign as an address is the
 * policy's decision (policy.signers); enrollment never asks less. */
#ifndef SMX_MILTER_ENROLL_H
#define SMX_MILTER_ENROLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <smx/cfg.h>
#include <smx/error.h>
#include <smx/status.h>
#include <smx/store.h>

/* Issues the first identity of from, for a client that policy allows to
 * sign as from (login: its SASL login, NULL without one), within the
 * hourly limits ca.enroll_per_login and ca.enroll_per_domain and, with
 * ca.enroll_known_only, when the store or the directory knows from. ca_issue
 * serializes per address across threads, processes and hosts, so
 * concurrent first messages issue one certificate (and count once).
 * Returns SMX_OK (the store now holds a usable identity), or the failure
 * (SMX_PERMFAIL: a limit was reached or the address is unknown) with the
 * reason in why. */
enum smx_status enroll_sender(struct store *store, const struct cfg *cfg,
			      const char *qid, const char *login,
			      const char *from, struct smx_error *why);

/* Renews from's identity when its signing certificate, valid until
 * not_after, is due (enroll_renewal_due). Only for a message that policy
 * signs as from: the client may sign as that address. A failure is
 * logged; the current certificate stays. Returns true when a new
 * certificate was issued. */
bool enroll_renew_if_due(struct store *store, const struct cfg *cfg,
			 const char *qid, const char *from, int64_t not_after);

/* True when auto-enrollment should renew a signing certificate that is
 * valid until not_after. */
bool enroll_renewal_due(const struct cfg *cfg, int64_t not_after, time_t now);

#endif
