/* SPDX-License-Identifier: BSD-2-Clause */
/* The verification configuration: options, bounds and trust anchors,
 * shared read-only by every message once made. */
#include "verify-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include <smx/x509.h>

const char *smime_result_name(enum smime_result result)
{
	switch (result) {
	case SMIME_RESULT_NONE: return "none";
	case SMIME_RESULT_PASS: return "pass";
	case SMIME_RESULT_FAIL: return "fail";
	case SMIME_RESULT_POLICY: return "policy";
	case SMIME_RESULT_NEUTRAL: return "neutral";
	case SMIME_RESULT_TEMPERROR: return "temperror";
	case SMIME_RESULT_PERMERROR: return "permerror";
	}
	return "permerror";
}

/* The authserv-id goes into the header unquoted, so it must be a plain
 * host-name-like token: letters, digits, '.', '-', '_'. */
static bool authserv_id_ok(const char *id)
{
	if (id == NULL || *id == '\0' || strlen(id) > 255)
		return false;
	for (const char *p = id; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' ||
		      *p == '_'))
			return false;
	return true;
}

/* Loads every certificate of a PEM file into the store. Returns the
 * count, or -1 when the file cannot be read. */
static int load_pem(X509_STORE *store, const char *path)
{
	BIO *in = BIO_new_file(path, "r");
	int n = 0;
	X509 *x;
	if (in == NULL)
		return -1;
	while ((x = PEM_read_bio_X509(in, NULL, NULL, NULL)) != NULL) {
		if (X509_STORE_add_cert(store, x) == 1)
			n++;
		X509_free(x);
	}
	ERR_clear_error();	/* the end of the file reads as an error */
	BIO_free(in);
	return n;
}

static enum smx_status load_files(struct smime_verifier *v,
				  const struct smime_verify_options *o,
				  struct smx_error *err)
{
	const char *ca = o->ca_file ? o->ca_file : SMIME_VERIFY_SYSTEM_CA_FILE;
	if (*ca != '\0') {
		int n = load_pem(v->anchors, ca);
		if (n <= 0 && o->ca_file != NULL) {
			smx_error_set(err, "%s: no certificate could be read",
				      ca);
			return SMX_CONFIG;
		}
	}
	if (o->extra_ca_file != NULL && *o->extra_ca_file != '\0' &&
	    load_pem(v->anchors, o->extra_ca_file) <= 0) {
		smx_error_set(err, "%s: no certificate could be read",
			      o->extra_ca_file);
		return SMX_CONFIG;
	}
	return SMX_OK;
}

static int copy_dmarc_ids(struct smime_verifier *v,
			  const struct smime_verify_options *o)
{
	if (o->n_dmarc_authserv_ids == 0)
		return 0;
	v->dmarc_ids = calloc(o->n_dmarc_authserv_ids, sizeof(char *));
	if (v->dmarc_ids == NULL)
		return -1;
	for (size_t i = 0; i < o->n_dmarc_authserv_ids; i++) {
		v->dmarc_ids[i] = strdup(o->dmarc_authserv_ids[i]);
		if (v->dmarc_ids[i] == NULL)
			return -1;
		v->n_dmarc_ids++;
	}
	return 0;
}

static void copy_bounds(struct smime_verifier *v,
			const struct smime_verify_options *o)
{
#define OR(x, d) ((x) ? (x) : (d))
	v->max_signatures = OR(o->max_signatures, SMIME_VERIFY_MAX_SIGNATURES);
	v->max_certificates = OR(o->max_certificates,
				 SMIME_VERIFY_MAX_CERTIFICATES);
	v->max_depth = OR(o->max_depth, SMIME_VERIFY_MAX_DEPTH);
	v->max_parts = OR(o->max_parts, SMIME_VERIFY_MAX_PARTS);
	v->max_bytes = OR(o->max_bytes, SMIME_VERIFY_MAX_BYTES);
	v->threshold = OR(o->mem_threshold, SMIME_DEFAULT_THRESHOLD);
#undef OR
	v->harvest_untrusted = o->harvest_untrusted;
	v->require_dmarc = o->harvest_require_dmarc;
	v->verify_time = o->verify_time;
}

enum smx_status smime_verifier_new(const struct smime_verify_options *o,
				   struct smime_verifier **verifier_r,
				   struct smx_error *err)
{
	enum smx_status st = SMX_TEMPFAIL;
	smime_init();
	*verifier_r = NULL;
	if (o == NULL || !authserv_id_ok(o->authserv_id)) {
		smx_error_set(err, "authserv_id missing or not a plain "
			      "host name");
		return SMX_CONFIG;
	}
	struct smime_verifier *v = calloc(1, sizeof(*v));
	if (v == NULL)
		goto fail;
	v->authserv_id = strdup(o->authserv_id);
	v->dir = strdup(o->spool_dir ? o->spool_dir : "/tmp");
	v->anchors = X509_STORE_new();
	if (v->authserv_id == NULL || v->dir == NULL || v->anchors == NULL ||
	    copy_dmarc_ids(v, o) != 0)
		goto fail;
	copy_bounds(v, o);
	st = load_files(v, o, err);
	if (st != SMX_OK)
		goto fail;
	*verifier_r = v;
	return SMX_OK;
fail:
	if (st == SMX_TEMPFAIL)
		smx_error_set(err, "out of memory");
	smime_verifier_free(&v);
	return st;
}

enum smx_status smime_verifier_add_anchor(struct smime_verifier *v,
					  const unsigned char *der,
					  size_t len, struct smx_error *err)
{
	char why[64];
	X509 *x = smx_x509_parse(der, len, why, sizeof(why));
	if (x == NULL) {
		smx_error_set(err, "trust anchor is not a certificate: %s",
			      why);
		return SMX_PERMFAIL;
	}
	int ok = X509_STORE_add_cert(v->anchors, x);
	X509_free(x);
	if (!ok) {
		/* adding one twice is not an error */
		unsigned long e = ERR_peek_last_error();
		ERR_clear_error();
		if (ERR_GET_REASON(e) != X509_R_CERT_ALREADY_IN_HASH_TABLE) {
			smx_error_set(err, "cannot add trust anchor");
			return SMX_TEMPFAIL;
		}
	}
	return SMX_OK;
}

X509_STORE *smime_trust_store_new(const char *ca_file,
				  const char *extra_ca_file,
				  struct smx_error *err)
{
	struct smime_verify_options o = { .ca_file = ca_file,
					  .extra_ca_file = extra_ca_file };
	struct smime_verifier tmp = { .anchors = X509_STORE_new() };
	if (tmp.anchors == NULL) {
		smx_error_set(err, "out of memory");
		return NULL;
	}
	if (load_files(&tmp, &o, err) != SMX_OK) {
		X509_STORE_free(tmp.anchors);
		return NULL;
	}
	return tmp.anchors;
}

void smime_verifier_free(struct smime_verifier **v)
{
	if (v == NULL || *v == NULL)
		return;
	for (size_t i = 0; i < (*v)->n_dmarc_ids; i++)
		free((*v)->dmarc_ids[i]);
	free((*v)->dmarc_ids);
	X509_STORE_free((*v)->anchors);
	free((*v)->authserv_id);
	free((*v)->dir);
	free(*v);
	*v = NULL;
}
