/* SPDX-License-Identifier: BSD-2-Clause */
/* Inbound verification's settings, one definition for the milter and
 * smimectl verify. */
#include <smx/inbound-verify.h>

#include <string.h>

#include <smx/cfg.h>
#include <smx/policy-engine.h>
#include <smx/revocation.h>
#include <smx/smime.h>

void inbound_verify_options(const struct cfg *cfg,
			    struct smime_verify_options *o)
{
	size_t n_ids = 0;
	char *const *ids = policy_dmarc_authserv_ids(cfg->policy, &n_ids);
	*o = (struct smime_verify_options){
		.authserv_id = cfg->milter.authserv_id,
		.ca_file = strcmp(cfg->verify.ca_file, "none") == 0
				   ? "" : cfg->verify.ca_file,
		.extra_ca_file = cfg->verify.extra_ca_file,
		.max_signatures = cfg->verify.max_signatures,
		.max_certificates = cfg->verify.max_certificates,
		.max_depth = cfg->verify.max_depth,
		.max_parts = cfg->verify.max_parts,
		.max_bytes = cfg->verify.max_bytes,
		.mem_threshold = cfg->milter.spool_threshold,
		.spool_dir = cfg->milter.spool_directory,
		.harvest_untrusted = policy_harvest_untrusted(cfg->policy),
		.harvest_require_dmarc = policy_harvest_require_dmarc(cfg->policy),
		.dmarc_authserv_ids = (const char *const *)ids,
		.n_dmarc_authserv_ids = n_ids,
	};
}

static enum smime_revocation signer_status(void *arg, X509 *cert,
					   X509 *issuer)
{
	struct inbound_revocation *r = arg;
	struct store_revstatus s;
	(void)revocation_check(r->store, r->cfg, cert, issuer, time(NULL),
			       r->deadline, 0, &s, NULL);
	if (revocation_usable(r->store, r->cfg, &s, "a signature"))
		return SMIME_REVOCATION_USABLE;
	return s.status == STORE_REVSTATUS_REVOKED ? SMIME_REVOCATION_REVOKED
						   : SMIME_REVOCATION_UNKNOWN;
}

void inbound_verify_revocation(struct smime_verify *vfy, struct store *store,
			       const struct cfg *cfg, time_t now,
			       struct inbound_revocation *r)
{
	*r = (struct inbound_revocation){
		store, &cfg->revocation,
		revocation_deadline(&cfg->revocation, now)
	};
	if (vfy != NULL && store != NULL &&
	    revocation_mode_of(r->cfg) != REVOCATION_MODE_OFF)
		smime_verify_set_revocation(vfy, signer_status, r);
}
