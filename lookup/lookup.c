/* SPDX-License-Identifier: BSD-2-Clause */
/* The recipient certificate search: store, directory cache, directory.
 * Stateless: every call works on its own result, so
 * threads only share the (thread-safe) store and directory. */
#include "lookup-private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include <smx/cfg.h>
#include <smx/directory.h>
#include <smx/keyrule.h>
#include <smx/log.h>

const char *lookup_answer_name(enum lookup_answer answer)
{
	switch (answer) {
	case LOOKUP_AVAILABLE: return "available";
	case LOOKUP_MISSING: return "missing";
	case LOOKUP_UNKNOWN: return "unknown";
	}
	return "unknown";
}

const char *lookup_origin_name(enum lookup_origin origin)
{
	switch (origin) {
	case LOOKUP_FROM_STORE: return "store";
	case LOOKUP_FROM_CACHE: return "cache";
	case LOOKUP_FROM_DIRECTORY: return "directory";
	}
	return "store";
}

static void candidate_clear(struct lookup_candidate *c)
{
	store_cert_free(&c->cert);
	free(c->reason);
	free(c->dn);
	free(c->attribute);
	memset(c, 0, sizeof(*c));
}

void lookup_result_free(struct lookup_result **result)
{
	if (result == NULL || *result == NULL)
		return;
	for (size_t i = 0; i < (*result)->count; i++)
		candidate_clear(&(*result)->items[i]);
	free((*result)->items);
	free(*result);
	*result = NULL;
}

static char *dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* Appends a candidate; takes cert (freed on failure). Copies the strings.
 * Returns -1 when memory ran out. */
static int add(struct lookup_result *r, struct store_cert *cert,
	       enum lookup_origin origin, enum store_reject reject,
	       bool preferred, const char *reason, const char *dn,
	       const char *attribute)
{
	struct lookup_candidate *grown =
		realloc(r->items, (r->count + 1) * sizeof(*grown));
	if (grown == NULL) {
		store_cert_free(&cert);
		return -1;
	}
	r->items = grown;
	struct lookup_candidate *c = &r->items[r->count++];
	*c = (struct lookup_candidate){
		.cert = cert, .origin = origin, .reject = reject,
		.preferred = preferred, .usable = reason == NULL,
		.reason = dup_or_null(reason), .dn = dup_or_null(dn),
		.attribute = dup_or_null(attribute),
	};
	if ((reason != NULL && c->reason == NULL) ||
	    (dn != NULL && c->dn == NULL) ||
	    (attribute != NULL && c->attribute == NULL))
		return -1;
	if (c->usable)
		r->n_usable++;
	return 0;
}

/* Sets the UNKNOWN answer with a formatted error (keeps the first). */
__attribute__((format(printf, 2, 3)))
static enum lookup_answer unknown(struct lookup_result *r, const char *fmt,
				  ...)
{
	va_list ap;
	r->answer = LOOKUP_UNKNOWN;
	if (!smx_error_is_set(&r->error)) {
		va_start(ap, fmt);
		smx_error_vset(&r->error, fmt, ap);
		va_end(ap);
	}
	return LOOKUP_UNKNOWN;
}

/* What this call fetched from the directory, to label the candidates of
 * the selection that follows. */
struct fetched {
	const struct directory_result *dres;
	const char *email;		/* the address looked up */
	const struct cfg_verify *verify;	/* trust anchors */
	char (*fingerprints)[65];	/* of dres->certs[i], "" if not put */
	char (*why)[160];		/* chain verification of each */
};

static const struct directory_cert *fetched_cert(const struct fetched *f,
						 const char *fp, size_t *i_r)
{
	for (size_t i = 0; f != NULL && i < f->dres->n_certs; i++)
		if (strcmp(f->fingerprints[i], fp) == 0) {
			*i_r = i;
			return &f->dres->certs[i];
		}
	return NULL;
}

/* Why the encryptor refuses the key of cert, in its own words ("RSA key
 * of 1024 bits (2048 to 16384 accepted)"). */
static void key_refusal(const struct store_cert *cert, char *out, size_t size)
{
	char why[160] = "";
	X509 *x = store_cert_x509(cert);
	if (x != NULL)
		(void)smx_keyrule_encryptable(X509_get0_pubkey(x), NULL, why,
					      sizeof(why));
	X509_free(x);
	snprintf(out, size, "the encryptor refuses its key: %s",
		 why[0] != '\0' ? why : "unreadable");
}

/* Moves the candidates of a selection into r, usable ones first (the
 * selection's order). f (may be NULL) names what the directory just
 * returned. Returns -1 when memory ran out. */
static int take_selection(struct lookup_result *r, struct store_selection *sel,
			  const struct fetched *f)
{
	char reason[320];
	for (size_t pass = 0; pass < 2; pass++) {
		for (size_t i = 0; sel != NULL && i < sel->count; i++) {
			struct store_candidate *sc = &sel->items[i];
			bool usable = sc->reason == STORE_USABLE;
			if (sc->cert == NULL || usable != (pass == 0))
				continue;
			size_t k = 0;
			const struct directory_cert *dc =
				fetched_cert(f, sc->cert->fingerprint, &k);
			enum lookup_origin origin =
				dc != NULL ? LOOKUP_FROM_DIRECTORY
				: sc->cert->source == STORE_SOURCE_DIRECTORY
				? LOOKUP_FROM_CACHE : LOOKUP_FROM_STORE;
			const char *text = store_reject_text(
				sc->reason, STORE_PURPOSE_ENCRYPT);
			if (dc != NULL && sc->reason == STORE_REJECT_UNTRUSTED)
				snprintf(reason, sizeof(reason), "%s: %s", text,
					 f->why[k]);
			else if (sc->reason == STORE_REJECT_KEY)
				key_refusal(sc->cert, reason, sizeof(reason));
			else
				snprintf(reason, sizeof(reason), "%s", text);
			struct store_cert *cert = sc->cert;
			sc->cert = NULL;
			if (add(r, cert, origin, sc->reason, sc->preferred,
				usable ? NULL : reason, dc ? dc->dn : NULL,
				dc ? dc->attribute : NULL) != 0)
				return -1;
		}
	}
	return 0;
}

/* The values the directory refused (wrong address, expired, not a
 * certificate), which never reach the store. */
static int take_refused(struct lookup_result *r,
			const struct directory_result *dres)
{
	for (size_t i = 0; i < dres->n_rejected; i++) {
		const struct directory_rejected *v = &dres->rejected[i];
		struct store_cert *cert = NULL;
		if (v->der != NULL &&
		    store_cert_parse(v->der, v->der_len, &cert) != SMX_OK)
			cert = NULL;
		if (add(r, cert, LOOKUP_FROM_DIRECTORY, STORE_USABLE, false,
			v->reason ? v->reason : "refused", v->dn,
			v->attribute) != 0)
			return -1;
	}
	return 0;
}

/* The directory's certificates that were not filed because they are not
 * issued to the address looked up (store_cert_has_email). */
static int take_unfiled(struct lookup_result *r, const struct fetched *f)
{
	for (size_t i = 0; i < f->dres->n_certs; i++) {
		const struct directory_cert *dc = &f->dres->certs[i];
		struct store_cert *cert = NULL;
		if (f->fingerprints[i][0] != '\0' ||
		    store_cert_parse(dc->der, dc->der_len, &cert) != SMX_OK ||
		    store_cert_has_email(cert, f->email)) {
			store_cert_free(&cert);
			continue;
		}
		if (add(r, cert, LOOKUP_FROM_DIRECTORY, STORE_REJECT_ADDRESS,
			false, store_reject_text(STORE_REJECT_ADDRESS,
						 STORE_PURPOSE_ENCRYPT),
			dc->dn, dc->attribute) != 0)
			return -1;
	}
	return 0;
}

/* Every certificate of a directory answer: the found ones and the refused
 * ones that parse (a CA certificate in a PKCS#7 blob), as intermediates. */
static struct lookup_der *answer_ders(const struct directory_result *d,
				      size_t *n_r)
{
	struct lookup_der *all = calloc(d->n_certs + d->n_rejected + 1,
					sizeof(*all));
	size_t n = 0;
	for (size_t i = 0; all != NULL && i < d->n_certs; i++)
		all[n++] = (struct lookup_der){ d->certs[i].der,
						d->certs[i].der_len };
	for (size_t i = 0; all != NULL && i < d->n_rejected; i++)
		if (d->rejected[i].der != NULL)
			all[n++] = (struct lookup_der){ d->rejected[i].der,
							d->rejected[i].der_len };
	*n_r = n;
	return all;
}

/* Verifies each found certificate and puts it into the store with source
 * directory, filed under the address looked up alone (the directory
 * vouches for no other; one not issued to it is not stored). Returns SMX_OK (*n_put counts them), or SMX_TEMPFAIL with
 * the reason in r. */
static enum smx_status put_fetched(struct store *store, struct fetched *f,
				   struct lookup_result *r, size_t *n_put)
{
	const struct directory_result *d = f->dres;
	struct lookup_verifier *v = NULL;
	size_t n_all = 0;
	struct lookup_der *all = answer_ders(d, &n_all);
	enum smx_status st = all != NULL ? lookup_verifier_new(store, f->verify,
							       &v)
					 : SMX_TEMPFAIL;
	*n_put = 0;
	for (size_t i = 0; st == SMX_OK && i < d->n_certs; i++) {
		enum store_trust trust = STORE_TRUST_NONE;
		st = lookup_verifier_check(v, d->certs[i].der,
					   d->certs[i].der_len, all, n_all,
					   &trust, f->why[i], sizeof(f->why[i]));
		if (st != SMX_OK)
			break;
		enum smx_status put = store_cert_put_for(
			store, f->email, d->certs[i].der, d->certs[i].der_len,
			STORE_SOURCE_DIRECTORY, trust, NULL, 0,
			f->fingerprints[i], NULL);
		if (put == SMX_OK)
			(*n_put)++;
		else if (put == SMX_PERMFAIL)
			f->fingerprints[i][0] = '\0';	/* not stored */
		else
			st = put;
	}
	if (st != SMX_OK)
		unknown(r, "the store did not answer (or the trust anchors "
			   "could not be loaded) while caching the "
			   "directory's certificates");
	lookup_verifier_free(&v);
	free(all);
	return st;
}

/* The revocation checking of one lookup: cfg (NULL: none) and when
 * to stop waiting for statuses (0: cfg's max_wait from now). */
struct rev_check {
	const struct cfg_revocation *cfg;
	time_t deadline;
};

/* A selection's answer (st) after revocation checking: SMX_NOTFOUND
 * when it left nothing usable. Counts the refusals for an unknown
 * status in r. */
static enum smx_status checked(struct store *store,
			       const struct cfg_verify *verify,
			       const struct rev_check *rev,
			       const char *email, struct store_selection *sel,
			       time_t now, struct lookup_result *r,
			       enum smx_status st)
{
	if (st != SMX_OK)
		return st;
	r->n_revocation_unknown += lookup_revocation_apply(
		store, verify, rev->cfg, email, sel, now, rev->deadline);
	return sel->n_usable > 0 ? SMX_OK : SMX_NOTFOUND;
}

/* Asks the directory, caches the answer, selects again. sel (freed here)
 * is the store's selection before: the candidates reported when the
 * directory cannot answer. */
static enum lookup_answer ask_directory(struct store *store,
					const struct cfg_verify *verify,
					const struct rev_check *rev,
					struct directory *dir,
					const struct cfg_ldap *ldap,
					const char *email, time_t now,
					struct store_selection *sel,
					struct lookup_result *r)
{
	struct directory_result *dres = NULL;
	struct fetched f = { 0 };
	enum lookup_answer answer = LOOKUP_UNKNOWN;
	size_t n_put = 0;
	r->directory_asked = true;
	enum smx_status st = directory_lookup(dir, email, &dres);
	if (dres == NULL || st == SMX_TEMPFAIL || st == SMX_CONFIG) {
		answer = unknown(r, "the directory did not answer: %s",
				 dres != NULL ? smx_error_text(&dres->error,
							       "error")
					      : "error");
		(void)take_selection(r, sel, NULL);
		goto done;
	}
	if (st == SMX_PERMFAIL) {	/* not an address: nothing to find */
		answer = take_selection(r, sel, NULL) == 0 ? LOOKUP_MISSING
			 : unknown(r, "out of memory");
		goto done;
	}
	store_selection_free(&sel);
	f.dres = dres;
	f.email = email;
	f.verify = verify;
	f.fingerprints = calloc(dres->n_certs + 1, sizeof(*f.fingerprints));
	f.why = calloc(dres->n_certs + 1, sizeof(*f.why));
	if (f.fingerprints == NULL || f.why == NULL) {
		answer = unknown(r, "out of memory");
		goto done;
	}
	if (put_fetched(store, &f, r, &n_put) != SMX_OK)
		goto done;
	bool found = st == SMX_OK && n_put > 0;
	unsigned ttl = ldap == NULL ? 0 : found ? ldap->cache_ttl
						 : ldap->negative_ttl;
	/* a cache that cannot be written only costs another query later */
	if (ttl > 0)
		(void)store_dircache_put(store, email, found, now, ttl);
	st = store_select(store, email, STORE_PURPOSE_ENCRYPT, now, &sel);
	if (st == SMX_TEMPFAIL) {
		answer = unknown(r, "the store did not answer");
		goto done;
	}
	st = checked(store, verify, rev, email, sel, now, r, st);
	if (take_selection(r, sel, &f) != 0 || take_unfiled(r, &f) != 0 ||
	    take_refused(r, dres) != 0) {
		answer = unknown(r, "out of memory");
		goto done;
	}
	answer = st == SMX_OK ? LOOKUP_AVAILABLE : LOOKUP_MISSING;
done:
	store_selection_free(&sel);
	free(f.fingerprints);
	free(f.why);
	directory_result_free(&dres);
	return answer;
}

static enum lookup_answer search(struct store *store,
				 const struct cfg_verify *verify,
				 const struct rev_check *rev,
				 struct directory *dir,
				 const struct cfg_ldap *ldap, const char *email,
				 time_t now, struct lookup_result *r)
{
	struct store_selection *sel = NULL;
	enum lookup_answer answer = LOOKUP_MISSING;
	bool found = false;
	enum smx_status st = store_select(store, email, STORE_PURPOSE_ENCRYPT,
					  now, &sel);
	if (st == SMX_TEMPFAIL)
		return unknown(r, "the store did not answer");
	st = checked(store, verify, rev, email, sel, now, r, st);
	if (st == SMX_OK) {
		answer = LOOKUP_AVAILABLE;
		goto take;
	}
	st = store_dircache_get(store, email, now, &found);
	if (st == SMX_TEMPFAIL) {
		answer = unknown(r, "the store did not answer (directory "
				    "cache)");
		goto take;
	}
	if (st == SMX_OK || dir == NULL)
		goto take;	/* a fresh cached answer, or no directory */
	return ask_directory(store, verify, rev, dir, ldap, email, now, sel,
			     r);
take:
	if (take_selection(r, sel, NULL) != 0)
		answer = unknown(r, "out of memory");
	store_selection_free(&sel);
	return answer;
}

enum lookup_answer lookup_encrypt_certs(struct store *store,
					const struct cfg_verify *verify,
					struct directory *dir,
					const struct cfg_ldap *ldap,
					const char *email, time_t now,
					struct lookup_result **result_r)
{
	return lookup_encrypt_certs_checked(store, verify, NULL, dir, ldap,
					    email, now, 0, result_r);
}

enum lookup_answer lookup_encrypt_certs_checked(
	struct store *store, const struct cfg_verify *verify,
	const struct cfg_revocation *revocation, struct directory *dir,
	const struct cfg_ldap *ldap, const char *email, time_t now,
	time_t deadline, struct lookup_result **result_r)
{
	struct lookup_result *r = calloc(1, sizeof(*r));
	*result_r = r;
	if (r == NULL)
		return LOOKUP_UNKNOWN;
	struct rev_check rev = { revocation, deadline };
	r->answer = search(store, verify, &rev, dir, ldap, email, now, r);
	if (r->answer == LOOKUP_UNKNOWN && !smx_error_is_set(&r->error))
		unknown(r, "out of memory");
	/* n_usable counts only when the answer is AVAILABLE */
	if (r->answer != LOOKUP_AVAILABLE && r->n_usable > 0) {
		r->answer = LOOKUP_UNKNOWN;
		unknown(r, "inconsistent store answer");
	}
	/* hard mode: a certificate whose status may be learned later is
	 * not "no certificate" */
	if (r->answer == LOOKUP_MISSING && r->n_revocation_unknown > 0)
		unknown(r, "the revocation status of its certificate is "
			   "unknown (revocation.mode hard)");
	smx_log(LOG_DEBUG, "lookup: %s: %s, %zu usable of %zu candidates%s%s",
		email, lookup_answer_name(r->answer), r->n_usable, r->count,
		smx_error_is_set(&r->error) ? ": " : "", r->error.text);
	return r->answer;
}

enum smx_status lookup_select_encrypt(struct store *store,
				      const struct cfg_verify *verify,
				      const struct cfg_revocation *revocation,
				      const char *email, time_t now,
				      time_t deadline,
				      struct store_selection **sel_r)
{
	enum smx_status st = store_select(store, email, STORE_PURPOSE_ENCRYPT,
					  now, sel_r);
	if (st != SMX_OK)
		return st;
	(void)lookup_revocation_apply(store, verify, revocation, email,
				      *sel_r, now, deadline);
	return (*sel_r)->n_usable > 0 ? SMX_OK : SMX_NOTFOUND;
}
