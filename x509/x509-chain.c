/* SPDX-License-Identifier: BSD-2-Clause */
/* The issuer chain of a certificate within a pool: see smx/x509.h. */
#include <smx/x509.h>

#include <openssl/x509v3.h>

/* Deep enough for any real hierarchy; bounds a pool that loops. */
#define MAX_CHAIN 8

int smx_x509_stack_push_der(STACK_OF(X509) *sk, const unsigned char *der,
			    size_t len)
{
	X509 *x = smx_x509_parse(der, len, NULL, 0);
	if (x == NULL)
		return 0;
	if (!sk_X509_push(sk, x)) {
		X509_free(x);
		return -1;
	}
	return 0;
}

X509 *smx_x509_issuer_in(X509 *x, STACK_OF(X509) *pool)
{
	for (int i = 0; i < sk_X509_num(pool); i++) {
		X509 *cand = sk_X509_value(pool, i);
		if (X509_cmp(cand, x) != 0 &&
		    X509_check_issued(cand, x) == X509_V_OK)
			return cand;
	}
	return NULL;
}

STACK_OF(X509) *smx_x509_chain(X509 *leaf, STACK_OF(X509) *pool)
{
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509 *cur = leaf;
	for (int depth = 0; chain != NULL && depth < MAX_CHAIN; depth++) {
		if (X509_check_issued(cur, cur) == X509_V_OK)
			break;	/* self-signed: the top */
		X509 *up = smx_x509_issuer_in(cur, pool);
		if (up == NULL || !X509_up_ref(up))
			break;
		if (!sk_X509_push(chain, up)) {
			X509_free(up);
			break;
		}
		cur = up;
	}
	return chain;
}
