/* SPDX-License-Identifier: BSD-2-Clause */
#include "x509util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <smx/lookup.h>

#include "ctl.h"

STACK_OF(X509) *x509_from_store(struct store *store, bool anchors)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	int rc = sk ? 0 : -1;
	if (rc == 0 && anchors) {
		struct store_anchor *list = NULL;
		size_t n = 0;
		rc = store_anchor_list(store, &list, &n) == SMX_OK ? 0 : -1;
		for (size_t i = 0; rc == 0 && i < n; i++)
			rc = smx_x509_stack_push_der(sk, list[i].der,
						     list[i].der_len);
		store_anchor_list_free(&list, n);
	} else if (rc == 0) {
		struct store_cert **list = NULL;
		size_t n = 0;
		rc = store_cert_list_ca(store, &list, &n) == SMX_OK ? 0 : -1;
		for (size_t i = 0; rc == 0 && i < n; i++)
			rc = smx_x509_stack_push_der(sk, list[i]->der,
						     list[i]->der_len);
		store_cert_list_free(&list, n);
	}
	if (rc != 0)
		smx_x509_stack_free(&sk);
	return sk;
}

enum store_trust x509_verify(struct store *store,
			     const struct cfg_verify *verify, X509 *leaf,
			     STACK_OF(X509) *extra, char *why, size_t size)
{
	enum store_trust trust = STORE_TRUST_NONE;
	int n = extra != NULL ? sk_X509_num(extra) : 0;
	struct lookup_der *ders = calloc((size_t)n + 1, sizeof(*ders));
	unsigned char *der = NULL;
	size_t len = smx_x509_to_der(leaf, &der);
	int have = 0;
	snprintf(why, size, "out of memory");
	for (int i = 0; ders != NULL && i < n; i++) {
		unsigned char *one = NULL;
		size_t one_len = smx_x509_to_der(sk_X509_value(extra, i), &one);
		if (one_len > 0)
			ders[have++] = (struct lookup_der){ one, one_len };
	}
	if (ders != NULL && len > 0)
		(void)lookup_verify_chain(store, verify, der, len, ders, (size_t)have,
					  &trust, why, size);
	for (int i = 0; ders != NULL && i < have; i++)
		free((void *)(uintptr_t)ders[i].der);
	free(ders);
	free(der);
	return trust;
}

void x509_warn_unfiled(const char *file, X509 *x)
{
	unsigned char *der = NULL;
	size_t der_len = smx_x509_to_der(x, &der);
	struct store_cert *c = NULL;
	/* the store's own reading of the SAN decides what is filed */
	if (der_len == 0 || store_cert_parse(der, der_len, &c) != SMX_OK) {
		free(der);
		return;
	}
	X509_NAME *subj = X509_get_subject_name(x);
	for (int i = -1; (i = X509_NAME_get_index_by_NID(
				  subj, NID_pkcs9_emailAddress, i)) >= 0;) {
		const ASN1_STRING *s = X509_NAME_ENTRY_get_data(
			X509_NAME_get_entry(subj, i));
		int len = ASN1_STRING_length(s);
		const char *d = (const char *)ASN1_STRING_get0_data(s);
		char shown[256];
		size_t n = 0;
		/* printable ASCII only: the value comes from the file */
		for (int k = 0; k < len && n + 1 < sizeof(shown); k++)
			shown[n++] = d[k] > 0x20 && d[k] < 0x7f ? d[k] : '?';
		shown[n] = '\0';
		if (n == 0 || store_cert_has_email(c, shown))
			continue;
		ctl_error("%s: warning: the subject emailAddress %s is not in "
			  "the certificate's subjectAltName: not filed under "
			  "it, never used for it", file, shown);
	}
	store_cert_free(&c);
	free(der);
}
