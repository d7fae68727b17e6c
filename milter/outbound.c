/* SPDX-License-Identifier: BSD-2-Clause */
/* Carrying out an outbound decision at the end of a message: signing
 * with the identity the plan found, encrypting to the certificates it
 * found, removing the triggers, and handing the result to the MTA; a
 * failure becomes what the configuration says (policy_protection_failed).
 *
 * Keys are decrypted and signers built once per identity and
 * configuration snapshot, then kept for SIGNER_TTL seconds, so that a
 * busy gateway does not unseal a key per message while a re-imported or
 * revoked identity still takes effect within minutes. A signer carries the snapshot's sign_format and sign_digest:
 * one built for an older snapshot (by a message that began before a
 * reload) is never used for a message of a newer one. */
#include "outbound.h"

#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <smx/error.h>
#include <smx/keyproc.h>
#include <smx/log.h>
#include <smx/metrics.h>
#include <smx/smime-encrypt.h>
#include <smx/smime-hp.h>
#include <smx/smime.h>
#include <smx/x509.h>

#include "edits.h"
#include "protect.h"
#include "rcpt-certs.h"
#include "runtime.h"

#define SIGNER_TTL 300
#define SIGNER_CACHE_SIZE 64

struct cached_signer {
	char fingerprint[65];
	unsigned long generation;	/* of the snapshot it was built from */
	struct smime_signer *signer;
	time_t loaded;
	unsigned refs;		/* the cache's own reference counts one */
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;	/* make_signer */
static struct cached_signer *cache[SIGNER_CACHE_SIZE];

static void cached_release(struct cached_signer *c)
{
	pthread_mutex_lock(&cache_lock);
	bool last = --c->refs == 0;
	pthread_mutex_unlock(&cache_lock);
	if (last) {
		smime_signer_free(&c->signer);
		free(c);
	}
}

void signing_cache_clear(void)
{
	for (size_t i = 0; i < SIGNER_CACHE_SIZE; i++) {
		pthread_mutex_lock(&cache_lock);
		struct cached_signer *c = cache[i];
		cache[i] = NULL;
		pthread_mutex_unlock(&cache_lock);
		if (c != NULL)
			cached_release(c);
	}
}

/* Finds a fresh signer for fingerprint built from the snapshot of
 * generation and takes a reference, or NULL. */
static struct cached_signer *cache_find(const char *fingerprint,
					unsigned long generation, time_t now)
{
	struct cached_signer *hit = NULL;
	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < SIGNER_CACHE_SIZE && hit == NULL; i++)
		if (cache[i] != NULL &&
		    strcmp(cache[i]->fingerprint, fingerprint) == 0 &&
		    cache[i]->generation == generation &&
		    now - cache[i]->loaded < SIGNER_TTL) {
			hit = cache[i];
			hit->refs++;
		}
	pthread_mutex_unlock(&cache_lock);
	return hit;
}

/* Puts c in the cache (replacing the same identity or the oldest); a
 * signer of an older snapshot never replaces one of a newer. */
static void cache_insert(struct cached_signer *c)
{
	struct cached_signer *evicted = NULL;
	pthread_mutex_lock(&cache_lock);
	size_t slot = 0;
	for (size_t i = 0; i < SIGNER_CACHE_SIZE; i++) {
		if (cache[i] != NULL &&
		    strcmp(cache[i]->fingerprint, c->fingerprint) == 0 &&
		    cache[i]->generation > c->generation) {
			pthread_mutex_unlock(&cache_lock);
			return;
		}
		if (cache[i] == NULL || strcmp(cache[i]->fingerprint,
					       c->fingerprint) == 0) {
			slot = i;
			break;
		}
		if (cache[i]->loaded < cache[slot]->loaded)
			slot = i;
	}
	evicted = cache[slot];
	cache[slot] = c;
	c->refs++;
	pthread_mutex_unlock(&cache_lock);
	if (evicted != NULL)
		cached_release(evicted);
}

/* The issuers of cert, nearest first, up to its root: the path built
 * from the store's trust anchors and the CA certificates it holds (those
 * imported with identities, the CAs of harvested paths). They go into
 * every signature so that a recipient who trusts only the root can
 * build the path: commercial S/MIME certificates come from an
 * intermediate CA that recipients do not hold. Anchors come first in
 * the pool, so the walk prefers them over a stored copy. SMX_TEMPFAIL
 * when the store cannot say; a signer without its intermediates would
 * be cached and sent for minutes. */
static enum smx_status chain_for(struct store *store, X509 *cert,
				 STACK_OF(X509) **chain_r)
{
	STACK_OF(X509) *pool = sk_X509_new_null();
	struct store_anchor *anchors = NULL;
	struct store_cert **cas = NULL;
	size_t n_anchors = 0, n_cas = 0;
	int rc = pool != NULL ? 0 : -1;
	*chain_r = NULL;
	if (rc == 0 && (store_anchor_list(store, &anchors, &n_anchors) != SMX_OK ||
			store_cert_list_ca(store, &cas, &n_cas) != SMX_OK))
		rc = -1;
	for (size_t i = 0; rc == 0 && i < n_anchors; i++)
		rc = smx_x509_stack_push_der(pool, anchors[i].der,
					     anchors[i].der_len);
	for (size_t i = 0; rc == 0 && i < n_cas; i++)
		rc = smx_x509_stack_push_der(pool, cas[i]->der, cas[i]->der_len);
	if (rc == 0)
		*chain_r = smx_x509_chain(cert, pool);
	store_anchor_list_free(&anchors, n_anchors);
	store_cert_list_free(&cas, n_cas);
	smx_x509_stack_free(&pool);
	return *chain_r != NULL ? SMX_OK : SMX_TEMPFAIL;
}

/* The sender's encryption certificate when it differs from the signing
 * one (named in SMIMEEncryptionKeyPreference), or NULL. */
static X509 *encryption_cert(struct store *store, const char *from,
			     const char *signing_fp)
{
	struct store_selection *sel = NULL;
	X509 *x = NULL;
	if (store_select(store, from, STORE_PURPOSE_ENCRYPT, time(NULL),
			 &sel) == SMX_OK &&
	    strcmp(sel->items[0].cert->fingerprint, signing_fp) != 0)
		x = store_cert_x509(sel->items[0].cert);
	store_selection_free(&sel);
	return x;
}

/* The key itself, or with the key process a handle to it. */
static EVP_PKEY *load_key(struct store *store, const char *fp, X509 *cert,
			  enum smx_status *st)
{
	if (keyproc_client_active()) {
		EVP_PKEY *handle = keyproc_pkey_new(fp, cert);
		*st = handle != NULL ? SMX_OK : SMX_TEMPFAIL;
		return handle;
	}
	unsigned char *pkcs8 = NULL;
	size_t len = 0;
	*st = store_key_get(store, fp, &pkcs8, &len);
	if (*st != SMX_OK)
		return NULL;
	EVP_PKEY *key = smx_x509_key_parse(pkcs8, len, NULL, 0);
	store_secret_free(&pkcs8, len);
	if (key == NULL)
		*st = SMX_PERMFAIL;
	return key;
}

static enum smime_sign_format sign_format_of(enum cfg_sign_format f)
{
	switch (f) {
	case CFG_SIGN_OPAQUE: return SMIME_SIGN_OPAQUE;
	case CFG_SIGN_CLEAR: break;
	}
	return SMIME_SIGN_CLEAR;
}

static enum smime_digest sign_digest_of(enum cfg_sign_digest d)
{
	switch (d) {
	case CFG_DIGEST_SHA384: return SMIME_DIGEST_SHA384;
	case CFG_DIGEST_SHA512: return SMIME_DIGEST_SHA512;
	case CFG_DIGEST_SHA256: break;
	}
	return SMIME_DIGEST_SHA256;
}

static enum smx_status make_signer(struct store *store, const struct cfg *cfg,
				   const struct store_cert *sc, const char *from,
				   struct cached_signer **out,
				   struct smx_error *err)
{
	enum smx_status st = SMX_TEMPFAIL;
	X509 *cert = smx_x509_parse(sc->der, sc->der_len, NULL, 0);
	EVP_PKEY *key = cert ? load_key(store, sc->fingerprint, cert, &st) : NULL;
	STACK_OF(X509) *chain = NULL;
	X509 *enc = NULL;
	struct cached_signer *c = NULL;
	if (key == NULL) {
		smx_error_set(err, "cannot load the key of %s (%s)",
			      sc->fingerprint, smx_status_name(st));
		goto done;
	}
	st = chain_for(store, cert, &chain);
	if (st != SMX_OK) {
		smx_error_set(err, "cannot read the CA certificates for the "
			      "chain of %s (%s)", sc->fingerprint,
			      smx_status_name(st));
		goto done;
	}
	enc = encryption_cert(store, from, sc->fingerprint);
	struct smime_sign_options opts = {
		.format = sign_format_of(cfg->milter.sign_format),
		.digest = sign_digest_of(cfg->milter.sign_digest),
		.mem_threshold = cfg->milter.spool_threshold,
		.spool_dir = cfg->milter.spool_directory,
	};
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		st = SMX_TEMPFAIL;
		goto done;
	}
	st = smime_signer_new(key, cert, chain, enc, &opts, &c->signer, err);
	if (st != SMX_OK) {
		free(c);
		c = NULL;
		goto done;
	}
	memcpy(c->fingerprint, sc->fingerprint, sizeof(c->fingerprint));
	c->generation = cfg->generation;
	c->loaded = time(NULL);
	c->refs = 1;	/* the caller's */
	cache_insert(c);
done:
	X509_free(cert);
	X509_free(enc);
	EVP_PKEY_free(key);
	sk_X509_pop_free(chain, X509_free);
	*out = c;
	return st;
}

/* A signer for the signing certificate sc of from, with a reference for
 * the caller (release with cached_release). */
static enum smx_status get_signer(struct store *store, const struct cfg *cfg,
				  const struct store_cert *sc, const char *from,
				  struct cached_signer **out,
				  struct smx_error *err)
{
	enum smx_status st = SMX_OK;
	if (sc == NULL) {
		smx_error_set(err, "no usable signing identity for <%s> (%s)",
			      from ? from : "", smx_status_name(SMX_NOTFOUND));
		return SMX_PERMFAIL;
	}
	*out = cache_find(sc->fingerprint, cfg->generation, time(NULL));
	if (*out == NULL) {
		/* One loader at a time: when a burst of first messages from
		 * one sender arrives, the others find its signer cached
		 * instead of each decrypting the key again. */
		pthread_mutex_lock(&load_lock);
		*out = cache_find(sc->fingerprint, cfg->generation,
				  time(NULL));
		if (*out == NULL)
			st = make_signer(store, cfg, sc, from, out, err);
		pthread_mutex_unlock(&load_lock);
	}
	return st;
}

static const struct smime_header_edit *sign_edit(const void *s, size_t i)
{
	return smime_sign_edit(s, i);
}

static const struct smime_header_edit *encrypt_edit(const void *e, size_t i)
{
	return smime_encrypt_edit(e, i);
}

/* Encrypts (the signed entity when s is not NULL) to rcpts and hands
 * the result over. */
static enum smx_status encrypt_and_hand_over(SMFICTX *ctx, struct conn *conn,
					     struct smime_sign *s,
					     const struct smime_recipient *rcpts,
					     size_t n, struct smx_error *err)
{
	struct smime_encrypt_options opts = {
		.mem_threshold = conn->cfg->milter.spool_threshold,
		.spool_dir = conn->cfg->milter.spool_directory,
	};
	struct smime_encrypt *e = NULL;
	uint64_t started = smx_metrics_clock_us();
	enum smx_status st = smime_encrypt_new(rcpts, n, &opts, &e, err);
	if (st == SMX_OK && s == NULL && conn->msg->hp != NULL)
		smime_encrypt_protect(e, conn->msg->hp);	/* header protection */
	if (st == SMX_OK)
		st = s != NULL ? smime_encrypt_signed(e, s, err)
			       : smime_encrypt_eom(e, conn->msg->headers,
						   conn->msg->body, err);
	if (st == SMX_OK)
		smx_metrics_encryption(smx_metrics_since_us(started));
	if (st == SMX_OK &&
	    edits_hand_over(ctx, smime_encrypt_edit_count(e), encrypt_edit, e,
		      smime_encrypt_result_body(e)) != 0) {
		smx_error_set(err, "the MTA refused the changes");
		st = SMX_TEMPFAIL;
	}
	smime_encrypt_free(&e);
	return st;
}

/* Signs the message as the plan's From identity (when sign), then
 * encrypts it to the n recipients (when n > 0: the signed entity, or the
 * message), and hands the header edits and the new body to the MTA.
 * Returns SMX_OK; SMX_TEMPFAIL when the store or the system failed;
 * SMX_PERMFAIL when this message, key or certificate cannot be used.
 * why receives the reason (no secrets). Nothing is changed in the MTA's
 * copy unless SMX_OK is returned or an edit itself failed (then
 * SMX_TEMPFAIL). */
static enum smx_status protect(SMFICTX *ctx, struct store *store,
			       struct conn *conn, const struct plan *plan,
			       bool sign, const struct smime_recipient *rcpts,
			       size_t n, struct smx_error *why)
{
	struct cached_signer *cs = NULL;
	struct smime_sign *s = NULL;
	struct msg *m = conn->msg;
	enum smx_status st = SMX_PERMFAIL;
	keyproc_take_failure();
	smx_error_clear(why);
	if (m->body_too_large || hdrlist_truncated(m->headers)) {
		smx_error_set(why, "message over the size limits: cannot "
			      "sign");
		goto done;
	}
	if (sign) {
		uint64_t started = smx_metrics_clock_us();
		st = get_signer(store, conn->cfg, plan_signing_cert(plan),
				plan->from, &cs, why);
		if (st != SMX_OK)
			goto done;
		s = smime_sign_begin(cs->signer);
		if (s != NULL && m->hp != NULL)
			smime_sign_protect(s, m->hp);	/* header protection */
		st = s == NULL ? SMX_TEMPFAIL
			       : smime_sign_eom(s, m->headers, m->body, why);
		if (st != SMX_OK)
			goto done;
		smx_metrics_signature_made(smx_metrics_since_us(started));
	}
	if (n > 0)
		st = encrypt_and_hand_over(ctx, conn, s, rcpts, n, why);
	else if (edits_hand_over(ctx, smime_sign_edit_count(s), sign_edit, s,
			   smime_sign_result_body(s)) != 0) {
		smx_error_set(why, "the MTA refused the changes");
		st = SMX_TEMPFAIL;
	}
done:
	if (st != SMX_OK && keyproc_take_failure()) {
		/* the key process died or could not answer: try again later */
		st = SMX_TEMPFAIL;
		smx_error_set(why, "the key process did not sign "
			      "(unavailable)");
	}
	if (st == SMX_OK)
		smx_error_clear(why);
	smime_sign_free(&s);
	if (cs != NULL)
		cached_release(cs);
	return st;
}

static void add_reason_text(struct policy_decision *d, const char *what,
			    const char *why)
{
	size_t used = strlen(d->reason);
	snprintf(d->reason + used, sizeof(d->reason) - used, "; %s%s", what,
		 why);
}

/* Removes the subject tag and the trigger header that asked for
 * encryption: they are the user's instruction to the gateway, not part of
 * the message. Returns -1 when the MTA refused a change. */
static int strip_triggers(SMFICTX *ctx, const struct conn *c,
			  const struct policy_decision *d)
{
	char subject_name[] = "Subject";
	if (d->strip_subject_tag && !protect_headers_hide_subject(c->msg)) {
		char *stripped = policy_strip_subject_tag(
			c->cfg->policy, msg_header(c->msg, "Subject"));
		if (stripped == NULL)
			return -1;
		char *value = malloc(strlen(stripped) + 2);
		int rc = MI_FAILURE;
		if (value != NULL) {
			value[0] = ' ';	/* SMFIP_HDR_LEADSPC: we add the space */
			strcpy(value + 1, stripped);
			rc = smfi_chgheader(ctx, subject_name, 1, value);
		}
		free(value);
		free(stripped);
		if (rc != MI_SUCCESS)
			return -1;
	}
	const char *trigger = policy_trigger_header(c->cfg->policy);
	if (d->strip_trigger_header && trigger != NULL) {
		char *name = strdup(trigger);
		int rc = name ? smfi_chgheader(ctx, name, 1, NULL) : MI_FAILURE;
		free(name);
		if (rc != MI_SUCCESS)
			return -1;
	}
	return 0;
}

static enum policy_failure failure_of(enum smx_status st)
{
	return st == SMX_TEMPFAIL ? POLICY_FAILURE_TEMPORARY
				  : POLICY_FAILURE_PERMANENT;
}

enum policy_action outbound_carry_out(SMFICTX *ctx, struct conn *c,
				      const struct plan *plan,
				      struct policy_decision *d)
{
	if (d->action != POLICY_ACTION_SEND || (!d->sign && !d->encrypt))
		return d->action;
	struct store *store = runtime_store();
	struct smx_error why = { "" };
	struct enc_recipients rc = { NULL, 0 };
	enum smx_status st = SMX_OK;
	if (d->encrypt)
		st = recipients_collect(store, c->cfg, plan, d, &rc, &why);
	if (st == SMX_OK && protect_headers_prepare(c, d) != 0)
		st = smx_error_fail(&why, SMX_TEMPFAIL, "out of memory");
	if (st == SMX_OK)
		st = protect(ctx, store, c, plan, d->sign, rc.items, rc.n,
			     &why);
	if (st == SMX_PERMFAIL &&
	    policy_retry_unsigned(d, POLICY_FAILURE_PERMANENT)) {
		add_reason_text(d, "signing failed: ", why.text);
		smx_metrics_failure(SMX_METRICS_FAIL_SIGN);
		d->sign = false;
		st = protect(ctx, store, c, plan, false, rc.items, rc.n, &why);
	}
	recipients_release(&rc);
	if (st == SMX_OK && strip_triggers(ctx, c, d) != 0) {
		add_reason_text(d, "cannot remove the trigger", "");
		st = SMX_TEMPFAIL;
	}
	if (st == SMX_OK)
		return d->action;
	add_reason_text(d, d->encrypt ? "encryption failed: "
				      : "signing failed: ", why.text);
	smx_metrics_failure(d->encrypt ? SMX_METRICS_FAIL_ENCRYPT
				       : SMX_METRICS_FAIL_SIGN);
	policy_protection_failed(d, failure_of(st));
	return d->action;
}
