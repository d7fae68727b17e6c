#include "enroll.h"

#include <stdio.h>

#include <smx/ca.h>
#include <smx/log.h>

enum smx_status enroll_sender(struct store *store, const struct cfg *cfg,
			      const char *qid, const char *from, char *why,
			      size_t size)
{
	struct ca *ca = NULL;
	struct ca_issued out;
	enum smx_status st = store != NULL ? ca_open(store, cfg, &ca)
					   : SMX_TEMPFAIL;
	if (st != SMX_OK) {
		snprintf(why, size, "auto-enrollment: organization CA "
			 "unavailable (%s)", smx_status_name(st));
		return st;
	}
	st = ca_issue(ca, from, 0, time(NULL), &out);
	ca_free(&ca);
	if (st != SMX_OK) {
		snprintf(why, size, "auto-enrollment of <%s> failed (%s)", from,
			 smx_status_name(st));
		return st;
	}
	if (out.created)
		smx_log(LOG_INFO, "%s: enrolled <%s>: %s certificate %s", qid,
			from, out.renewed ? "renewed" : "issued",
			out.sign_fingerprint);
	snprintf(why, size, "%s", "");
	return SMX_OK;
}

bool enroll_renewal_due(const struct cfg *cfg, int64_t not_after, time_t now)
{
	return cfg->ca.auto_enroll &&
	       not_after - (int64_t)now < (int64_t)cfg->ca.renew_before;
}
