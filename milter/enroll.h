/* Auto-enrollment (ca.auto_enroll): the organization CA issues a
 * certificate to an internal sender that policy wants signed but that has
 * none, or renews one that expires within ca.renew_before. */
#ifndef SMX_MILTER_ENROLL_H
#define SMX_MILTER_ENROLL_H

#include <stddef.h>
#include <time.h>

#include <smx/cfg.h>
#include <smx/status.h>
#include <smx/store.h>

/* Issues (or renews) the identity of from. ca_issue serializes per
 * address across threads, processes and hosts, so concurrent first
 * messages issue one certificate. Returns SMX_OK (the store now holds a
 * usable identity), or the failure with the reason in why. */
enum smx_status enroll_sender(struct store *store, const struct cfg *cfg,
			      const char *qid, const char *from, char *why,
			      size_t size);

/* True when auto-enrollment should renew a signing certificate that is
 * valid until not_after. */
bool enroll_renewal_due(const struct cfg *cfg, int64_t not_after, time_t now);

#endif
