/* SPDX-License-Identifier: BSD-2-Clause */
/* Encryption certificates: what the policy needs to know about each
 * recipient, and the list of certificates a message is encrypted to. */
#ifndef SMX_MILTER_RCPT_CERTS_H
#define SMX_MILTER_RCPT_CERTS_H

#include <stddef.h>
#include <time.h>

#include <smx/cfg.h>
#include <smx/error.h>
#include <smx/plan.h>
#include <smx/policy-engine.h>
#include <smx/smime-encrypt.h>
#include <smx/store.h>

struct directory;

/* Whether rcpt has a usable encryption certificate, looked up in the
 * store, the directory cache, then the directory (dir may be NULL):
 * AVAILABLE, MISSING (every source answered), or UNKNOWN (a source could
 * not answer, or there is no store): unknown is never reported as
 * missing. Certificates found in the directory land in the store.
 * Revocation statuses are waited for until deadline (the message's). */
enum policy_availability recipient_cert_state(struct store *store,
					      struct directory *dir,
					      const struct cfg *cfg,
					      const char *rcpt,
					      time_t deadline);

struct enc_recipients {
	struct smime_recipient *items;	/* certificates owned here */
	size_t n;
};

/* The certificates to encrypt to: every recipient the decision marks
 * encrypt_to (the best certificate the plan found, its
 * SMIMECapabilities, legacy_interop),
 * the sender's own encryption certificate when policy encrypt_to_sender
 * says so and one exists, and the archive certificate when configured.
 * Returns SMX_OK; SMX_TEMPFAIL or SMX_PERMFAIL (a certificate vanished,
 * the archive certificate file cannot be read) with the reason in why.
 * The caller frees out with recipients_release, whatever the result. */
enum smx_status recipients_collect(struct store *store, const struct cfg *cfg,
				   const struct plan *plan,
				   const struct policy_decision *d,
				   struct enc_recipients *out,
				   struct smx_error *why);

void recipients_release(struct enc_recipients *r);

#endif
