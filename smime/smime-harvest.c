/* SPDX-License-Identifier: BSD-2-Clause */
/* The store side of the harvest: see smx/smime-harvest.h. */
#include <smx/smime-harvest.h>

#include <stdbool.h>
#include <syslog.h>

#include <smx/log.h>

/* The CA certificates that h's path ran through, stored unfiled and
 * untrusted: intermediates for judging h again when the anchors change
 * (smimectl trust remove). */
static enum smx_status put_issuers(struct store *store,
				   const struct smime_harvest_cert *h)
{
	enum smx_status st = SMX_OK;
	for (size_t i = 0; st == SMX_OK && i < h->n_issuers; i++)
		st = store_cert_put(store, h->issuers[i].der, h->issuers[i].len,
				    STORE_SOURCE_HARVESTED, STORE_TRUST_NONE,
				    NULL, 0, NULL, NULL);
	return st == SMX_PERMFAIL ? SMX_OK : st;
}

static enum smx_status put_one(struct store *store,
			       const struct smime_verify *vfy,
			       const struct smime_harvest_cert *h,
			       const char *sender, time_t now, bool *created_r)
{
	char fp[65] = "";
	const char *mid = smime_verify_message_id(vfy);
	enum smx_status st = put_issuers(store, h);
	/* filed only under the From address it matched: the other
	 * addresses it may name were never proven by this sender */
	if (st == SMX_OK)
		st = store_cert_put_for(store, h->email, h->der, h->der_len,
					STORE_SOURCE_HARVESTED,
					h->trusted ? STORE_TRUST_CHAIN
						   : STORE_TRUST_NONE,
					NULL, 0, fp, created_r);
	/* the capabilities only when newer than those recorded */
	if (st == SMX_OK)
		st = store_cert_caps_seen(store, fp, h->smime_caps,
					  h->caps_len, h->caps_signed_at);
	/* never in place of a newer usable one: a replayed old message
	 * must not bring an older certificate back into use */
	bool preferred = false;
	if (st == SMX_OK && h->enc_preference)
		st = store_preference_offer(store, h->email, fp, now,
					    &preferred);
	if (st == SMX_OK) {
		struct store_harvest_entry e = { now, mid, sender, h->email, fp,
						 h->trusted, *created_r };
		st = store_harvest_log(store, &e);
	}
	smx_log(st == SMX_OK ? LOG_INFO : LOG_WARNING,
		"harvest: message-id=<%s> sender=<%s> from=<%s> "
		"fingerprint=%s trust=%s%s%s: %s",
		mid ? mid : "", sender, h->email, fp,
		h->trusted ? "chain" : "unverified",
		*created_r ? " new" : " known",
		!h->enc_preference ? "" : preferred ? " preferred"
		: " not preferred (a newer certificate is in use)",
		smx_status_name(st));
	/* a certificate the store will not file under that address is
	 * skipped (logged above); the others are still harvested */
	return st == SMX_PERMFAIL ? SMX_OK : st;
}

enum smx_status smime_harvest_store(struct store *store,
				    const struct smime_verify *vfy,
				    const struct smime_verify_msginfo *info,
				    time_t now, size_t *created_r)
{
	size_t created = 0;
	enum smx_status st = SMX_OK;
	const char *sender = info != NULL && info->envelope_sender != NULL ?
		info->envelope_sender : smime_verify_from(vfy);
	for (size_t i = 0; st == SMX_OK && i < smime_verify_harvest_count(vfy);
	     i++) {
		bool is_new = false;
		st = put_one(store, vfy, smime_verify_harvest(vfy, i),
			     sender ? sender : "", now, &is_new);
		created += is_new;
	}
	if (st == SMX_OK && created > 0)
		st = store_counter_add(store, "harvested", (int64_t)created);
	if (created_r != NULL)
		*created_r = created;
	return st;
}
