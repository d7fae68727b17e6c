/* SPDX-License-Identifier: BSD-2-Clause */
/* Revocation applied to the certificates a selection found usable to
 * encrypt to: a revoked one is never used, an unknown one only as the
 * mode says. The issuer each check needs is found by the chain to the
 * trust anchors, built only when a status is not cached. */
#include "lookup-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include <smx/cfg.h>
#include <smx/revocation.h>

/* The status of one candidate: cached, or learned with its issuer. */
static void status_of(struct store *store, const struct cfg_verify *verify,
		      const struct cfg_revocation *rev,
		      struct lookup_verifier **v, const struct store_cert *c,
		      time_t now, time_t deadline, struct store_revstatus *s)
{
	X509 *x = store_cert_x509(c);
	if (revocation_check(store, rev, x, NULL, now, deadline,
			     REVOCATION_CACHED_ONLY, s, NULL) != SMX_NOTFOUND)
		goto done;
	if (*v == NULL && lookup_verifier_new(store, verify, v) != SMX_OK) {
		*v = NULL;
		snprintf(s->source, sizeof(s->source), "none");
		snprintf(s->detail, sizeof(s->detail), "the store did not "
			 "answer (or the trust anchors could not be loaded)");
		s->status = STORE_REVSTATUS_UNKNOWN;
		goto done;
	}
	X509 *issuer = lookup_verifier_issuer(*v, c->der, c->der_len);
	if (issuer == NULL && c->trust == STORE_TRUST_PINNED) {
		/* an administrator vouched for it and no issuer is known
		 * (self-signed, or its CA not at hand): nobody to ask, and
		 * hard mode must not undo the pin */
		s->status = STORE_REVSTATUS_GOOD;
		snprintf(s->source, sizeof(s->source), "none");
		snprintf(s->detail, sizeof(s->detail), "pinned; no issuer "
			 "known to ask");
		goto done;
	}
	(void)revocation_check(store, rev, x, issuer, now, deadline, 0, s,
			       NULL);
	X509_free(issuer);
done:
	X509_free(x);
}

size_t lookup_revocation_apply(struct store *store,
			       const struct cfg_verify *verify,
			       const struct cfg_revocation *rev,
			       const char *email, struct store_selection *sel,
			       time_t now, time_t deadline)
{
	size_t refused_unknown = 0;
	if (rev == NULL || sel == NULL ||
	    revocation_mode_of(rev) == REVOCATION_MODE_OFF)
		return 0;
	if (deadline == 0)
		deadline = revocation_deadline(rev, now);
	struct lookup_verifier *v = NULL;
	char what[320];
	snprintf(what, sizeof(what), "encryption to <%s>", email);
	for (size_t i = 0; i < sel->n_usable; i++) {
		struct store_candidate *cand = &sel->items[i];
		struct store_revstatus s;
		status_of(store, verify, rev, &v, cand->cert, now, deadline, &s);
		if (revocation_usable(store, rev, &s, what))
			continue;
		if (s.status == STORE_REVSTATUS_REVOKED) {
			cand->reason = STORE_REJECT_REVOKED;
			cand->cert->revoked = true;
		} else {
			cand->reason = STORE_REJECT_REVOCATION_UNKNOWN;
			refused_unknown++;
		}
	}
	lookup_verifier_free(&v);
	/* the usable ones first again, each group in its order */
	size_t n_usable = 0;
	for (size_t i = 0; i < sel->n_usable; i++) {
		if (sel->items[i].reason != STORE_USABLE)
			continue;
		struct store_candidate keep = sel->items[i];
		memmove(&sel->items[n_usable + 1], &sel->items[n_usable],
			(i - n_usable) * sizeof(keep));
		sel->items[n_usable++] = keep;
	}
	sel->n_usable = n_usable;
	return refused_unknown;
}
