/* SPDX-License-Identifier: BSD-2-Clause */
/* Verifying one message: headers and body are collected as received
 * (headers, blank line, body) into temporary storage; at the end of the
 * message the structure is walked, every signature verified, the harvest
 * decided and the Authentication-Results header built. */
#include "verify-private.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include <smx/smime-fromaddr.h>

struct smime_verify *smime_verify_begin(const struct smime_verifier *v)
{
	smime_init();
	struct smime_verify *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	m->v = v;
	m->raw = tmpstore_new(v->threshold, v->dir);
	if (m->raw == NULL)
		smime_verify_free(&m);
	return m;
}

/* The message as received: headers, empty line, body. */
static int store_raw(struct smime_verify *m, struct spool *body)
{
	for (size_t i = 0; i < hdrlist_count(m->hdrs); i++)
		if (tmpstore_write_header(m->raw, hdrlist_name(m->hdrs, i),
					  hdrlist_value(m->hdrs, i)) != 0)
			return -1;
	return tmpstore_write(m->raw, "\r\n", 2) != 0 ||
	       tmpstore_write_spool(m->raw, body) != 0 ? -1 : 0;
}

/* --- records --------------------------------------------------------------- */

char *verify_clean_dup(const char *text)
{
	size_t n = 0;
	char *out = malloc(VERIFY_MAX_VALUE + 1);
	if (out == NULL)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)text;
	     *p != '\0' && n < VERIFY_MAX_VALUE; p++)
		if (*p >= 0x20 && *p < 0x7f)
			out[n++] = (char)*p;
	out[n] = '\0';
	return out;
}

struct sigrec *verify_add_sig(struct smime_verify *m, const char *part,
			      bool opaque)
{
	if (m->n_sigs == m->cap_sigs) {
		size_t cap = m->cap_sigs ? m->cap_sigs * 2 : 4;
		struct sigrec *s = realloc(m->sigs, cap * sizeof(*s));
		if (s == NULL)
			return NULL;
		m->sigs = s;
		m->cap_sigs = cap;
	}
	struct sigrec *s = &m->sigs[m->n_sigs++];
	memset(s, 0, sizeof(*s));
	snprintf(s->part, sizeof(s->part), "%s", part);
	s->pub.opaque = opaque;
	s->pub.result = SMIME_RESULT_PERMERROR;
	s->pub.reason = SMIME_REASON_MALFORMED;
	return s;
}

void sig_set(struct sigrec *s, enum smime_result result,
	     enum smime_reason reason, const char *fmt, ...)
{
	char buf[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	s->pub.result = result;
	s->pub.reason = reason;
	free(s->comment);
	s->comment = verify_clean_dup(buf);
}

static void sigrec_clear(struct sigrec *s)
{
	free(s->comment);
	free(s->identifier);
	free(s->serial);
	free(s->issuer);
	free(s->harvest_comment);
	free(s->caps);
	X509_free(s->signer);
	X509_free(s->pref);
	sk_X509_pop_free(s->certs, X509_free);
	sk_X509_CRL_pop_free(s->crls, X509_CRL_free);
	sk_X509_pop_free(s->path, X509_free);
}

/* Points the public view of every record at its strings (the array may
 * have moved while records were added). */
static void publish(struct smime_verify *m)
{
	for (size_t i = 0; i < m->n_sigs; i++) {
		struct sigrec *s = &m->sigs[i];
		s->pub.comment = s->comment;
		s->pub.part = s->part;
		s->pub.identifier = s->identifier;
		s->pub.serial = s->serial;
		s->pub.issuer = s->issuer;
		s->pub.fingerprint = s->fingerprint[0] ? s->fingerprint : NULL;
		s->pub.harvest_comment = s->harvest_comment;
	}
	for (size_t i = 0; i < m->n_hv; i++) {
		struct hvrec *h = &m->hv[i];
		h->pub.der = h->der;
		h->pub.issuers = h->issuers;
		h->pub.n_issuers = h->n_issuers;
		h->pub.email = h->email;
		h->pub.fingerprint = h->fingerprint;
	}
}

/* --- end of message ------------------------------------------------------ */

/* The single From address (lower case) and the Message-ID. */
static void read_identity(struct smime_verify *m)
{
	const char *from = NULL, *mid = NULL;
	int n_from = 0;
	for (size_t i = 0; i < hdrlist_count(m->hdrs); i++) {
		const char *name = hdrlist_name(m->hdrs, i);
		if (strcasecmp(name, "From") == 0) {
			from = hdrlist_value(m->hdrs, i);
			n_from++;
		} else if (strcasecmp(name, "Message-ID") == 0 &&
			   mid == NULL) {
			mid = hdrlist_value(m->hdrs, i);
		}
	}
	if (mid != NULL) {
		mid += strspn(mid, " \t\r\n<");
		char *c = verify_clean_dup(mid);
		if (c != NULL)
			c[strcspn(c, ">")] = '\0';
		m->message_id = c;
	}
	if (n_from != 1)
		return;
	/* The signing identity's rule: an address with a control or
	 * non-ASCII byte is refused (no From, so no signer matches it), never
	 * cleaned into one that a certificate for another address matches. */
	m->from = from_header_address(from);
}

/* dmarc=pass for the From domain from a trusted authserv-id, in a
 * header that the receiving MTA itself added: the MTA puts its Received
 * header on top of everything the sender wrote, so only the headers above
 * the first Received were added on this host after reception (by an
 * earlier milter or the MTA's own header checks). A result below it came
 * with the message, whatever authserv-id it names; without any Received
 * header nothing can be told apart and no result counts. */
static void read_dmarc(struct smime_verify *m)
{
	const char *at = m->from ? strrchr(m->from, '@') : NULL;
	char id[256];
	/* no Received at all: nothing is trusted */
	size_t received = hdrlist_find(m->hdrs, "Received", 0);
	if (at == NULL || received == hdrlist_count(m->hdrs))
		return;
	for (size_t i = 0; i < received && !m->dmarc_pass; i++) {
		const char *value = hdrlist_value(m->hdrs, i);
		if (strcasecmp(hdrlist_name(m->hdrs, i),
			       "Authentication-Results") != 0 ||
		    !ar_authserv_id(value, id, sizeof(id)))
			continue;
		for (size_t k = 0; k < m->v->n_dmarc_ids; k++)
			if (strcasecmp(id, m->v->dmarc_ids[k]) == 0 &&
			    ar_dmarc_pass(value, at + 1))
				m->dmarc_pass = true;
	}
}

enum smx_status smime_verify_eom(struct smime_verify *m,
				 const struct hdrlist *headers,
				 struct spool *body,
				 const struct smime_verify_msginfo *info,
				 struct smx_error *err)
{
	if (m->done) {
		smx_error_set(err, "smime_verify_eom called twice");
		return SMX_PERMFAIL;
	}
	m->done = true;
	m->outbound = info != NULL && info->outbound;
	m->now = m->v->verify_time ? m->v->verify_time : time(NULL);
	m->hdrs = headers;	/* the caller's, during this call only */
	if (store_raw(m, body) != 0) {
		m->hdrs = NULL;
		smx_error_set(err, "cannot store the message in %s",
			      m->v->dir);
		return SMX_TEMPFAIL;
	}
	read_identity(m);
	read_dmarc(m);
	bool resource = walk_message(m, tmpstore_stream(m->raw)) != 0;
	if (resource) {
		struct sigrec *s = verify_add_sig(m, "1", false);
		if (s != NULL)
			sig_set(s, SMIME_RESULT_TEMPERROR,
				SMIME_REASON_RESOURCE, "out of resources");
	}
	ERR_clear_error();
	int rc = harvest_decide(m) != 0 || ar_build(m) != 0 ? -1 : 0;
	m->hdrs = NULL;
	if (rc != 0) {
		smx_error_set(err, "out of memory building the result");
		return SMX_TEMPFAIL;
	}
	publish(m);
	return SMX_OK;
}

/* --- results --------------------------------------------------------------- */

size_t smime_verify_edit_count(const struct smime_verify *m)
{
	return m->n_edits;
}

const struct smime_header_edit *smime_verify_edit(
	const struct smime_verify *m, size_t i)
{
	return i < m->n_edits ? &m->edits[i] : NULL;
}

const char *smime_verify_ar_value(const struct smime_verify *m)
{
	return m->ar;
}

enum smime_result smime_verify_result(const struct smime_verify *m)
{
	return m->n_sigs > 0 ? m->sigs[0].pub.result : SMIME_RESULT_NONE;
}

size_t smime_verify_signature_count(const struct smime_verify *m)
{
	return m->n_sigs;
}

const struct smime_signature *smime_verify_signature(
	const struct smime_verify *m, size_t i)
{
	return i < m->n_sigs ? &m->sigs[i].pub : NULL;
}

size_t smime_verify_harvest_count(const struct smime_verify *m)
{
	return m->n_hv;
}

const struct smime_harvest_cert *smime_verify_harvest(
	const struct smime_verify *m, size_t i)
{
	return i < m->n_hv ? &m->hv[i].pub : NULL;
}

const char *smime_verify_message_id(const struct smime_verify *m)
{
	return m->message_id;
}

const char *smime_verify_from(const struct smime_verify *m)
{
	return m->from;
}

void smime_verify_free(struct smime_verify **mp)
{
	if (mp == NULL || *mp == NULL)
		return;
	struct smime_verify *m = *mp;
	for (size_t i = 0; i < m->n_sigs; i++)
		sigrec_clear(&m->sigs[i]);
	free(m->sigs);
	for (size_t i = 0; i < m->n_hv; i++) {
		free(m->hv[i].der);
		free(m->hv[i].email);
		for (size_t j = 0; j < m->hv[i].n_issuers; j++)
			free((void *)(uintptr_t)m->hv[i].issuers[j].der);
		free(m->hv[i].issuers);
	}
	free(m->hv);
	free(m->edits);		/* names and values point elsewhere */
	free(m->ar);
	free(m->from);
	free(m->message_id);
	tmpstore_free(&m->raw);
	free(m);
	*mp = NULL;
}
