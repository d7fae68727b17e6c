/* SPDX-License-Identifier: BSD-2-Clause */
/* The harvest rules: which certificates of the verified
 * signatures go into the store, and with which trust. A pure decision
 * over what verification found; smime-harvest.c writes it to the store. */
#include "verify-private.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include <smx/x509.h>

/* --- certificate facts --------------------------------------------------- */

char **cert_emails(X509 *x, size_t *n_r)
{
	*n_r = 0;
	char **list = calloc(SMX_X509_MAX_MAIL, sizeof(char *));
	if (list == NULL)
		return NULL;
	/* the store's rule: a signer matches From by the addresses it is
	 * filed under, and by no other */
	int n = smx_x509_mail_addresses(x, list, SMX_X509_MAX_MAIL);
	if (n <= 0) {
		free(list);
		return NULL;
	}
	*n_r = (size_t)n;
	return list;
}

void cert_emails_free(char **emails, size_t n)
{
	smx_x509_mail_addresses_free(emails, n);
	free(emails);
}

bool cert_usage_ok(X509 *x, unsigned ku_any)
{
	uint32_t ku = X509_get_key_usage(x);
	uint32_t xku = X509_get_extended_key_usage(x);
	return (ku == UINT32_MAX || (ku & ku_any) != 0) &&
	       (xku == UINT32_MAX || (xku & XKU_SMIME) != 0);
}

bool cert_time_ok(X509 *x, time_t t)
{
	return X509_cmp_time(X509_get0_notBefore(x), &t) < 0 &&
	       X509_cmp_time(X509_get0_notAfter(x), &t) > 0;
}

/* --- the decision ------------------------------------------------------------ */

static bool has_email(X509 *x, const char *email)
{
	size_t n = 0;
	char **list = cert_emails(x, &n);
	bool hit = false;
	for (size_t i = 0; i < n; i++)
		hit = hit || strcmp(list[i], email) == 0;
	cert_emails_free(list, n);
	return hit;
}

/* The CA certificates of s's validated path (all but the leaf), as
 * DER, into h. Returns -1 when memory ran out. */
static int add_issuers(struct hvrec *h, const struct sigrec *s)
{
	int n = sk_X509_num(s->path);
	if (n <= 1)
		return 0;
	h->issuers = calloc((size_t)n - 1, sizeof(*h->issuers));
	if (h->issuers == NULL)
		return -1;
	for (int i = 1; i < n; i++) {
		unsigned char *der = NULL;
		size_t len = smx_x509_to_der(sk_X509_value(s->path, i), &der);
		if (len == 0)
			return -1;
		h->issuers[h->n_issuers++] = (struct smime_der){ der, len };
	}
	return 0;
}

/* Adds x to the harvest unless it is there already. */
static int add_cert(struct smime_verify *m, size_t sig, X509 *x,
		    bool trusted, bool pref)
{
	const struct sigrec *s = &m->sigs[sig];
	char fp[65];
	(void)smx_x509_fingerprint(x, fp);
	for (size_t i = 0; i < m->n_hv; i++)
		if (strcmp(m->hv[i].fingerprint, fp) == 0) {
			m->hv[i].pub.enc_preference |= pref;
			return 0;
		}
	if (m->n_hv == m->cap_hv) {
		size_t cap = m->cap_hv ? m->cap_hv * 2 : 4;
		struct hvrec *h = realloc(m->hv, cap * sizeof(*h));
		if (h == NULL)
			return -1;
		m->hv = h;
		m->cap_hv = cap;
	}
	struct hvrec *h = &m->hv[m->n_hv];
	memset(h, 0, sizeof(*h));
	size_t len = smx_x509_to_der(x, &h->der);
	h->email = strdup(m->from);
	if (len == 0 || h->email == NULL) {
		free(h->der);
		free(h->email);
		return -1;
	}
	if (trusted && add_issuers(h, s) != 0) {
		for (size_t i = 0; i < h->n_issuers; i++)
			free((void *)(uintptr_t)h->issuers[i].der);
		free(h->issuers);
		free(h->der);
		free(h->email);
		return -1;
	}
	h->pub.issuers = h->issuers;
	h->pub.n_issuers = h->n_issuers;
	memcpy(h->fingerprint, fp, sizeof(fp));
	h->pub.der_len = len;
	h->pub.trusted = trusted;
	h->pub.enc_preference = pref;
	h->pub.smime_caps = s->caps;
	h->pub.caps_len = s->caps_len;
	h->pub.caps_signed_at = s->signed_at;
	h->pub.signature = sig;
	m->n_hv++;
	return 0;
}

/* Why the signer of s may not be harvested, or NULL; *trusted_r says
 * with which trust it may. */
static const char *signer_refusal(const struct smime_verify *m,
				  const struct sigrec *s, bool *trusted_r)
{
	*trusted_r = s->pub.chain_trusted;
	if (m->outbound)
		return "outbound message";
	if (!s->pub.signature_valid || s->signer == NULL)
		return "signature not valid";
	if (s->revocation_refused)
		return s->pub.reason == SMIME_REASON_REVOKED
			       ? "certificate revoked"
			       : "revocation status unknown";
	if (!s->pub.from_match)
		return "signer is not the From address";
	if (!s->leaf_time_ok)
		return "certificate not valid now";
	if (!s->leaf_usage_ok)
		return "certificate not for email signing";
	if (!s->pub.chain_trusted &&
	    !(m->v->harvest_untrusted && s->chain_untrusted_only))
		return "certificate chain not acceptable";
	if (m->v->require_dmarc && !m->dmarc_pass)
		return "no trusted dmarc=pass for the From domain";
	return NULL;
}

/* The certificate named by SMIMEEncryptionKeyPreference, when it is for
 * the same address (it is then filed under that address alone, like the
 * signer's) and usable to encrypt. */
static int harvest_pref(struct smime_verify *m, size_t i)
{
	struct sigrec *s = &m->sigs[i];
	X509 *p = s->pref;
	if (p == NULL || X509_cmp(p, s->signer) == 0 ||
	    !has_email(p, m->from) || !cert_time_ok(p, m->now) ||
	    !cert_usage_ok(p, KU_KEY_ENCIPHERMENT | KU_KEY_AGREEMENT))
		return 0;
	int err = sigcheck_chain(m, p, s, X509_PURPOSE_ANY, NULL);
	if (err == X509_V_OK)
		return add_cert(m, i, p, true, true);
	if (m->v->harvest_untrusted && sigcheck_untrusted_only(err))
		return add_cert(m, i, p, false, true);
	return 0;
}

int harvest_decide(struct smime_verify *m)
{
	for (size_t i = 0; i < m->n_sigs; i++) {
		struct sigrec *s = &m->sigs[i];
		bool trusted;
		const char *why = signer_refusal(m, s, &trusted);
		if (why != NULL) {
			s->harvest_comment = strdup(why);
			if (s->harvest_comment == NULL)
				return -1;
			continue;
		}
		/* the signer is the preferred encryption certificate when
		 * the signature names no other one */
		bool pref = (!s->pref_named ||
			     (s->pref != NULL && X509_cmp(s->pref,
							  s->signer) == 0)) &&
			    cert_usage_ok(s->signer, KU_KEY_ENCIPHERMENT |
					  KU_KEY_AGREEMENT);
		if (add_cert(m, i, s->signer, trusted, pref) != 0 ||
		    harvest_pref(m, i) != 0)
			return -1;
	}
	return 0;
}
