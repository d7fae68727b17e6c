/* SPDX-License-Identifier: BSD-2-Clause */
/* Writing the harvest that smime_verify_eom() decided into the
 * certificate store. A separate library (smx_smime_harvest) so that
 * smx_smime itself stays free of the store and its databases. */
#ifndef SMX_SMIME_HARVEST_H
#define SMX_SMIME_HARVEST_H

#include <stddef.h>
#include <time.h>

#include <smx/smime.h>
#include <smx/status.h>
#include <smx/store.h>

/* For every certificate of smime_verify_harvest(): store_cert_put() with
 * STORE_SOURCE_HARVESTED, STORE_TRUST_CHAIN (or STORE_TRUST_NONE when
 * its chain was not verified) and the signature's SMIMECapabilities (a
 * known certificate only gets its last-seen time and capabilities
 * updated), and of the CA certificates of its path (unfiled, untrusted:
 * intermediates for judging it again when the anchors change);
 * store_preference_offer() for the From address when it is the
 * preferred encryption certificate (not recorded over a newer usable
 * one); store_harvest_log() with now, the
 * Message-ID, the envelope sender (the From address when info has none)
 * and the fingerprint; one log line with the From address and the trust;
 * the counter "harvested" (new certificates). *created_r (may be NULL)
 * receives the number of new certificates. Returns SMX_OK (also when
 * there is nothing to harvest) or the first failure of the store
 * (SMX_TEMPFAIL: the caller logs it and still delivers the message). */
enum smx_status smime_harvest_store(struct store *store,
				    const struct smime_verify *vfy,
				    const struct smime_verify_msginfo *info,
				    time_t now, size_t *created_r);

#endif
