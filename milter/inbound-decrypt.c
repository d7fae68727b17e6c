/* SPDX-License-Identifier: BSD-2-Clause */
/* Inbound decryption (policy.decrypt_inbound). A message is decrypted
 * only when every envelope recipient is internal, the store holds a
 * private key for that recipient which the message names, and each of
 * those keys opens its own RecipientInfo to the same content: decrypting
 * for some recipients only, or with one recipient's key for all, would
 * hand the plaintext to the others without their key ever being used
 * (anyone can add a RecipientInfo naming any certificate). Anything else
 * leaves the message as it came; a failure never loses it. */
#include "decrypt.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <smx/error.h>
#include <smx/keyproc.h>
#include <smx/mailaddr.h>
#include <smx/metrics.h>
#include <smx/policy-engine.h>
#include <smx/store.h>
#include <smx/x509.h>

#include "edits.h"
#include "runtime.h"

/* A key of the store that the message names for one recipient. */
struct match {
	X509 *cert;
	char fingerprint[65];
	const char *rcpt;	/* the first recipient it is for */
};

/* Finds a certificate of rcpt with a private key that the message names.
 * Returns SMX_OK (found; m->cert is the caller's), SMX_NOTFOUND or
 * SMX_TEMPFAIL (the store did not answer). */
static enum smx_status find_key(struct store *store,
				const struct smime_decrypt *dec,
				const char *rcpt, struct match *m)
{
	struct store_cert **certs = NULL;
	size_t n = 0;
	enum smx_status st = store_cert_list(store, rcpt, &certs, &n);
	if (st != SMX_OK)
		return st;
	st = SMX_NOTFOUND;
	for (size_t i = 0; i < n && st == SMX_NOTFOUND; i++) {
		if (!certs[i]->has_key || certs[i]->revoked)
			continue;
		X509 *x = store_cert_x509(certs[i]);
		if (x != NULL && smime_decrypt_is_for(dec, x)) {
			m->cert = x;
			memcpy(m->fingerprint, certs[i]->fingerprint, 65);
			st = SMX_OK;
		} else {
			X509_free(x);
		}
	}
	store_cert_list_free(&certs, n);
	return st;
}

/* The key itself, or with the key process a handle to it. */
static EVP_PKEY *load_key(struct store *store, const char *fp, X509 *cert)
{
	if (keyproc_client_active())
		return keyproc_pkey_new(fp, cert);
	unsigned char *pkcs8 = NULL;
	size_t len = 0;
	if (store_key_get(store, fp, &pkcs8, &len) != SMX_OK)
		return NULL;
	EVP_PKEY *key = smx_x509_key_parse(pkcs8, len, NULL, 0);
	store_secret_free(&pkcs8, len);
	return key;
}

static void matches_free(struct match *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		X509_free(keys[i].cert);
	free(keys);
}

/* Adds found to keys unless a recipient before had the same key (which
 * is opened once). */
static void add_key(struct match *keys, size_t *n, struct match found)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(keys[i].fingerprint, found.fingerprint) == 0) {
			X509_free(found.cert);
			return;
		}
	keys[(*n)++] = found;
}

/* Every recipient must be internal and have a key the message names;
 * collects the distinct keys into *keys_r (the caller frees them with
 * matches_free). Says why not in why. */
static bool every_key_held(struct conn *c, struct store *store,
			   const struct smime_decrypt *dec,
			   struct match **keys_r, size_t *n_r,
			   struct smx_error *why)
{
	const struct msg *m = c->msg;
	const struct cfg_milter *mc = &c->cfg->milter;
	*keys_r = NULL;
	*n_r = 0;
	if (m->n_rcpts == 0) {
		smx_error_set(why, "no recipients");
		return false;
	}
	struct match *keys = calloc(m->n_rcpts, sizeof(*keys));
	size_t n = 0;
	if (keys == NULL) {
		smx_error_set(why, "out of memory");
		return false;
	}
	for (size_t i = 0; i < m->n_rcpts; i++) {
		const char *r = m->rcpts[i];
		struct match found = { NULL, "", r };
		if (!mailaddr_domain_in(mailaddr_domain(r), mc->internal_domains,
					mc->n_internal_domains)) {
			smx_error_set(why, "recipient %s is not internal", r);
			matches_free(keys, n);
			return false;
		}
		enum smx_status st = find_key(store, dec, r, &found);
		if (st != SMX_OK) {
			smx_error_set(why, st == SMX_NOTFOUND
				 ? "no key for %s" : "store unavailable (%s)", r);
			matches_free(keys, n);
			return false;
		}
		add_key(keys, &n, found);
	}
	*keys_r = keys;
	*n_r = n;
	return true;
}

/* " <authserv-id>; enveloped-data for a@x, b@x" (with the leading space
 * of a milter header value); recipients past the buffer are summarised. */
static void decrypted_note(const struct conn *c, const char *kind,
			   char *note, size_t size)
{
	const struct msg *m = c->msg;
	int n = snprintf(note, size, " %s; %s for ", c->cfg->milter.authserv_id,
			 kind);
	for (size_t i = 0; i < m->n_rcpts && n > 0 && (size_t)n < size; i++) {
		size_t left = size - (size_t)n;
		int w = snprintf(note + n, left, "%s%s", i ? ", " : "",
				 m->rcpts[i]);
		if (w < 0 || (size_t)w >= left) {
			snprintf(note + n, left, "%s%zu recipients",
				 i ? ", ..." : "", m->n_rcpts);
			break;
		}
		n += w;
	}
}

static struct smime_decrypt *start(struct conn *c)
{
	const struct cfg *cfg = c->cfg;
	struct smime_decrypt_options o = {
		.max_bytes = cfg->verify.max_bytes,
		.mem_threshold = cfg->milter.spool_threshold,
		.spool_dir = cfg->milter.spool_directory,
		.max_certificates = cfg->verify.max_certificates,
	};
	struct smime_decrypt *dec = NULL;
	return smime_decrypt_new(&o, &dec) == SMX_OK ? dec : NULL;
}

static const struct smime_header_edit *decrypt_edit(const void *dec,
						    size_t i)
{
	return smime_decrypt_edit(dec, i);
}

/* Opens dec with one recipient's key: its own RecipientInfo, the same
 * content as every key before. */
static enum smx_status open_with(struct store *store,
				 struct smime_decrypt *dec,
				 const struct match *k, struct smx_error *why)
{
	EVP_PKEY *key = load_key(store, k->fingerprint, k->cert);
	if (key == NULL) {
		smx_error_set(why, "key of %s unavailable", k->fingerprint);
		smx_metrics_failure(SMX_METRICS_FAIL_DECRYPT);
		return SMX_TEMPFAIL;
	}
	struct smx_error err = { "" };
	keyproc_take_failure();
	enum smx_status st = smime_decrypt_open(dec, k->cert, key, &err);
	EVP_PKEY_free(key);
	if (st != SMX_OK && keyproc_take_failure()) {
		smx_error_set(why, "key process unavailable for %s", k->rcpt);
		smx_metrics_failure(SMX_METRICS_FAIL_DECRYPT);
		return SMX_TEMPFAIL;
	}
	if (st == SMX_PERMFAIL && smime_decrypt_refusal(dec) != NULL) {
		smx_error_set(why, "refused for %s: %s", k->rcpt, err.text);
		smx_metrics_decryption_refused(smime_decrypt_refusal(dec));
	} else if (st != SMX_OK) {
		smx_error_set(why, "%s: %s", k->rcpt, err.text);
		smx_metrics_failure(SMX_METRICS_FAIL_DECRYPT);
	}
	return st;
}

/* Opens dec with every key, then builds the decrypted message; SMX_OK
 * when it is ready. */
static enum smx_status decrypt_with(struct conn *c, struct store *store,
				    struct smime_decrypt *dec,
				    const struct match *keys, size_t n,
				    struct smx_error *why)
{
	uint64_t start = smx_metrics_clock_us();
	for (size_t i = 0; i < n; i++) {
		enum smx_status st = open_with(store, dec, &keys[i], why);
		if (st != SMX_OK)
			return st;
	}
	char note[512];
	decrypted_note(c, smime_decrypt_kind(dec), note, sizeof(note));
	enum smx_status st = smime_decrypt_finish(dec, note, why);
	if (st != SMX_OK) {
		smx_metrics_failure(SMX_METRICS_FAIL_DECRYPT);
	} else {
		smx_metrics_decryption(smx_metrics_since_us(start));
	}
	return st;
}

/* The message's size limits, before the store or any key is used. */
static bool within_limits(struct smime_decrypt *dec, struct smx_error *why)
{
	struct smx_error err = { "" };
	if (smime_decrypt_check_limits(dec, &err) == SMX_OK)
		return true;
	smx_error_set(why, "refused: %s", err.text);
	smx_metrics_decryption_refused(smime_decrypt_refusal(dec));
	return false;
}

int inbound_decrypt(SMFICTX *ctx, struct conn *c, const char *qid,
		    struct smime_decrypt **dec_r, char *summary, size_t size)
{
	struct store *store = runtime_store();
	struct smx_error err = { "" };
	struct match *keys = NULL;
	size_t n_keys = 0;
	struct smx_error why = { "" };
	*dec_r = NULL;
	summary[0] = '\0';
	if (!policy_decrypt_inbound(c->cfg->policy))
		return 0;
	struct smime_decrypt *dec = start(c);
	/* forged SMIME_DECRYPTED_HEADER headers are left out (and removed:
	 * inbound_strip_forged_results) */
	enum smx_status st = dec ? smime_decrypt_parse(dec, c->msg->headers,
						       c->msg->body, &err)
				 : SMX_TEMPFAIL;
	if (st == SMX_NOTFOUND) {
		smime_decrypt_free(&dec);
		return 0;
	}
	if (st != SMX_OK) {
		smx_error_set(&why, "%s", dec ? err.text : "out of memory");
		/* refused before parsing (a limit): counted as such */
		if (dec != NULL && smime_decrypt_refusal(dec) != NULL)
			smx_metrics_decryption_refused(
				smime_decrypt_refusal(dec));
	} else if (store == NULL)
		smx_error_set(&why, "store unavailable");
	else if (within_limits(dec, &why) &&
		 every_key_held(c, store, dec, &keys, &n_keys, &why) &&
		 decrypt_with(c, store, dec, keys, n_keys, &why) == SMX_OK) {
		matches_free(keys, n_keys);
		if (edits_hand_over(ctx, smime_decrypt_edit_count(dec),
				    decrypt_edit, dec,
				    smime_decrypt_result_body(dec)) != 0) {
			smime_decrypt_free(&dec);
			return -1;
		}
		snprintf(summary, size, "decrypted %s%s", smime_decrypt_kind(dec),
			 smime_decrypt_protected_count(dec) > 0
				 ? " with protected headers" : "");
		*dec_r = dec;
		return 0;
	}
	matches_free(keys, n_keys);
	(void)qid;	/* the reason goes into the message's one log line */
	snprintf(summary, size, "not decrypted (%s)", why.text);
	smime_decrypt_free(&dec);
	return 0;
}
