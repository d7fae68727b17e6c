#include "enroll.h"

#include <stdio.h>

#include <smx/ca.h>
#include <smx/directory.h>
#include <smx/log.h>

#include "runtime.h"

/* With ldap.publish, the new encryption certificate goes to the user's
 * directory entry so that every client of the directory finds it. A
 * failure is logged, not fatal: the message is signed all the same. */
static void publish_issued(const struct cfg *cfg, struct store *store,
			   const char *qid, const char *from,
			   const char *fingerprint)
{
	struct directory *dir = runtime_directory();
	struct store_cert *cert = NULL;
	struct directory_changes *changes = NULL;
	if (!cfg->ldap.publish || dir == NULL ||
	    store_cert_get(store, fingerprint, &cert) != SMX_OK)
		return;
	struct directory_blob blob = { cert->der, cert->der_len };
	enum smx_status st = directory_publish(dir, from, &blob, 1, false,
					       &changes);
	if (st == SMX_OK)
		smx_log(LOG_INFO, "%s: published %s for <%s> to the directory "
			"(%zu change%s)", qid, fingerprint, from,
			changes ? changes->count : 0,
			changes && changes->count == 1 ? "" : "s");
	else
		smx_log(LOG_WARNING, "%s: publishing %s for <%s> failed: %s",
			qid, fingerprint, from,
			changes && changes->error ? changes->error
						  : smx_status_name(st));
	directory_changes_free(&changes);
	store_cert_free(&cert);
}

/* Asks the organization CA for from's identity (new or renewed). */
static enum smx_status issue(struct store *store, const struct cfg *cfg,
			     const char *qid, const char *from,
			     struct ca_issued *out, char *why, size_t size)
{
	struct ca *ca = NULL;
	enum smx_status st = store != NULL ? ca_open(store, cfg, &ca)
					   : SMX_TEMPFAIL;
	if (st != SMX_OK) {
		snprintf(why, size, "auto-enrollment: organization CA "
			 "unavailable (%s)", smx_status_name(st));
		return st;
	}
	st = ca_issue(ca, from, 0, time(NULL), out);
	ca_free(&ca);
	if (st != SMX_OK) {
		snprintf(why, size, "auto-enrollment of <%s> failed (%s)", from,
			 smx_status_name(st));
		return st;
	}
	if (out->created) {
		smx_log(LOG_INFO, "%s: enrolled <%s>: %s certificate %s", qid,
			from, out->renewed ? "renewed" : "issued",
			out->sign_fingerprint);
		publish_issued(cfg, store, qid, from, out->enc_fingerprint);
	}
	snprintf(why, size, "%s", "");
	return SMX_OK;
}

enum smx_status enroll_sender(struct store *store, const struct cfg *cfg,
			      const char *qid, const char *from, char *why,
			      size_t size)
{
	struct ca_issued out;
	return issue(store, cfg, qid, from, &out, why, size);
}

bool enroll_renew_if_due(struct store *store, const struct cfg *cfg,
			 const char *qid, const char *from, int64_t not_after)
{
	if (!enroll_renewal_due(cfg, not_after, time(NULL)))
		return false;
	struct ca_issued out;
	char why[200];
	if (issue(store, cfg, qid, from, &out, why, sizeof(why)) != SMX_OK) {
		smx_log(LOG_WARNING, "%s: %s", qid, why);
		return false;
	}
	return out.created;
}

bool enroll_renewal_due(const struct cfg *cfg, int64_t not_after, time_t now)
{
	return cfg->ca.auto_enroll &&
	       not_after - (int64_t)now < (int64_t)cfg->ca.renew_before;
}
