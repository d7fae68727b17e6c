/* SPDX-License-Identifier: BSD-2-Clause */
/* Revocation of a verified signer's chain: the message's hook is asked
 * about each certificate below the anchor of the path the validation
 * kept. The hook (the milter's
 * revocation library) does the checking and keeps the deadline. */
#include "verify-private.h"

#include <openssl/x509.h>

void smime_verify_set_revocation(struct smime_verify *vfy,
				 smime_revocation_fn *fn, void *arg)
{
	vfy->revocation = fn;
	vfy->revocation_arg = arg;
}

/* The worst answer of the hook for the chain below the anchor. */
static enum smime_revocation chain_status(struct smime_verify *m,
					  STACK_OF(X509) *chain)
{
	enum smime_revocation worst = SMIME_REVOCATION_USABLE;
	for (int i = 0; i + 1 < sk_X509_num(chain); i++) {
		enum smime_revocation r = m->revocation(
			m->revocation_arg, sk_X509_value(chain, i),
			sk_X509_value(chain, i + 1));
		if (r == SMIME_REVOCATION_REVOKED)
			return r;
		if (r == SMIME_REVOCATION_UNKNOWN)
			worst = r;
	}
	return worst;
}

void sigcheck_revocation(struct smime_verify *m, struct sigrec *rec,
			 X509 *signer)
{
	if (m->revocation == NULL || !rec->pub.chain_trusted || signer == NULL ||
	    rec->path == NULL)
		return;
	/* the path the chain validation kept: the one that was trusted */
	enum smime_revocation r = chain_status(m, rec->path);
	if (r == SMIME_REVOCATION_REVOKED) {
		rec->revocation_refused = true;
		sig_set(rec, SMIME_RESULT_FAIL, SMIME_REASON_REVOKED,
			"certificate revoked");
	} else if (r == SMIME_REVOCATION_UNKNOWN) {
		rec->revocation_refused = true;
		sig_set(rec, SMIME_RESULT_POLICY,
			SMIME_REASON_REVOCATION_UNKNOWN,
			"revocation status unknown");
	}
}
