/* SPDX-License-Identifier: BSD-2-Clause */
/* Revocation of a verified signer's chain: the chain to the anchor is
 * built again (as the verification built it) and the message's hook is
 * asked about each certificate below the anchor. The hook (the milter's
 * revocation library) does the checking and keeps the deadline. */
#include "verify-private.h"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

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
	if (m->revocation == NULL || !rec->pub.chain_trusted || signer == NULL)
		return;
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	if (ctx == NULL || X509_STORE_CTX_init(ctx, m->v->anchors, signer,
					       rec->certs) != 1)
		goto done;
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SMIME_SIGN);
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), m->now);
	if (X509_verify_cert(ctx) != 1)
		goto done;
	enum smime_revocation r = chain_status(m, X509_STORE_CTX_get0_chain(ctx));
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
done:
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
}
