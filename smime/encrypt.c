/* SPDX-License-Identifier: BSD-2-Clause */
/* Encrypting one message: the canonical entity (or the signed entity
 * from smime_sign) streams through OpenSSL's CMS encoder into base64 in
 * the result spool; nothing bigger than the threshold is held in memory.
 * The CMS object is indefinite-length BER, as every S/MIME reader
 * accepts. */
#include "encrypt-private.h"
#include "hp-private.h"
#include "smime-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>

struct smime_encrypt {
	struct enc_rcpt *rcpts;
	size_t n_rcpts;
	enum smime_enc_content content;
	size_t threshold;
	char *dir;
	struct smime_entity *entity;	/* unsigned input */
	bool done;			/* eom or signed called */
	struct spool *body;		/* the result */
	struct smime_header_edit *edits;
	size_t n_edits;
	char **names;			/* names of the deletions (owned) */
	size_t n_names;
	char *content_type;
};

enum smx_status smime_encrypt_new(const struct smime_recipient *rcpts,
				  size_t n,
				  const struct smime_encrypt_options *opts,
				  struct smime_encrypt **enc_r,
				  struct smx_error *err)
{
	struct smime_encrypt *m = calloc(1, sizeof(*m));
	enum smx_status st = SMX_TEMPFAIL;
	smx_error_set(err, "%s", "");
	*enc_r = NULL;
	if (m == NULL)
		goto oom;
	m->threshold = opts != NULL && opts->mem_threshold > 0 ?
		opts->mem_threshold : SMIME_DEFAULT_THRESHOLD;
	m->dir = strdup(opts != NULL && opts->spool_dir != NULL ?
			opts->spool_dir : "/tmp");
	if (m->dir == NULL)
		goto oom;
	st = enc_plan(rcpts, n, &m->rcpts, &m->n_rcpts, &m->content, err);
	if (st != SMX_OK)
		goto fail;
	m->entity = smime_entity_new(m->threshold, m->dir);
	if (m->entity == NULL)
		goto oom;
	*enc_r = m;
	return SMX_OK;
oom:
	st = SMX_TEMPFAIL;
	smx_error_set(err, "out of memory");
fail:
	smime_encrypt_free(&m);
	return st;
}

void smime_encrypt_protect(struct smime_encrypt *m,
			   const struct smime_hp *hp)
{
	entity_set_hp(m->entity, hp);
}

enum smime_enc_content smime_encrypt_content(const struct smime_encrypt *m)
{
	return m->content;
}

size_t smime_encrypt_recipient_count(const struct smime_encrypt *m)
{
	return m->n_rcpts;
}

X509 *smime_encrypt_recipient_cert(const struct smime_encrypt *m, size_t i)
{
	return i < m->n_rcpts ? m->rcpts[i].cert : NULL;
}

enum smime_key_mgmt smime_encrypt_key_mgmt(const struct smime_encrypt *m,
					   size_t i)
{
	return i < m->n_rcpts ? m->rcpts[i].km : SMIME_KM_RSA_PKCS1;
}

/* --- header edits ------------------------------------------------------------ */

/* The outer headers of the encrypted message, made from the original's
 * MIME headers (orig: this object's entity, or the signer's). Names are
 * copied: the signer's entity may go before the edits are used. */
static int make_edits(struct smime_encrypt *m, const struct smime_entity *orig)
{
	if (asprintf(&m->content_type, " application/pkcs7-mime; "
		     "smime-type=%s; name=\"smime.p7m\"",
		     smime_enc_content_name(m->content)) < 0) {
		m->content_type = NULL;
		return -1;
	}
	struct outer_header want[OUTER_MAX_WANTED];
	size_t n_want = outer_pkcs7_container(m->content_type, want);
	m->edits = outer_edits(orig, want, n_want, &m->n_edits);
	/* Header protection's edits (Subject, Comments, Keywords) touch
	 * no name of the container's, so their order does not matter. */
	if (m->edits == NULL ||
	    hp_append_edits(&m->edits, &m->n_edits, entity_hp(orig)) != 0)
		return -1;
	m->names = calloc(m->n_edits + 1, sizeof(*m->names));
	if (m->names == NULL)
		return -1;
	for (size_t i = 0; i < m->n_edits; i++) {
		if ((m->names[i] = strdup(m->edits[i].name)) == NULL)
			return -1;
		m->n_names = i + 1;
		m->edits[i].name = m->names[i];
	}
	return 0;
}

/* --- encrypting ------------------------------------------------------------- */

/* Streams src through a new CMS object into base64 in m->body. */
static enum smx_status encrypt_stream(struct smime_encrypt *m,
				      struct enc_source *src,
				      struct smx_error *err)
{
	struct enc_b64 b64 = { .out = m->body };
	CMS_ContentInfo *cms = enc_cms_new(m->content, m->rcpts, m->n_rcpts,
					   err);
	BIO *in = cms != NULL ? enc_source_bio(src) : NULL;
	BIO *out = in != NULL ? enc_b64_bio(&b64) : NULL;
	enum smx_status st = SMX_TEMPFAIL;
	if (out == NULL) {
		if (cms != NULL)
			smx_error_set(err, "out of memory");
		goto out;
	}
	if (i2d_CMS_bio_stream(out, cms, in, CMS_STREAM | CMS_BINARY) != 1 ||
	    b64.failed) {
		smime_err_ssl(err, b64.failed ? "cannot write the encrypted "
			      "message to %s" : "encryption failed", m->dir);
		goto out;
	}
	if (enc_b64_finish(&b64) != 0) {
		smx_error_set(err, "cannot write the encrypted message to %s",
			      m->dir);
		goto out;
	}
	st = SMX_OK;
out:
	BIO_free(out);
	BIO_free(in);
	CMS_ContentInfo_free(cms);
	return st;
}

/* Common start of eom and signed: once only, a fresh result spool. */
static enum smx_status begin_output(struct smime_encrypt *m,
				    struct smx_error *err)
{
	smx_error_set(err, "%s", "");
	if (m->done) {
		smx_error_set(err, "the message was already encrypted");
		return SMX_PERMFAIL;
	}
	m->done = true;
	m->body = spool_new(m->threshold, m->dir, 0);
	if (m->body == NULL) {
		smx_error_set(err, "out of memory");
		return SMX_TEMPFAIL;
	}
	return SMX_OK;
}

/* After a failure nothing is offered as a result. */
static enum smx_status end_output(struct smime_encrypt *m,
				  enum smx_status st)
{
	if (st != SMX_OK) {
		spool_free(&m->body);
		m->n_edits = 0;
	}
	ERR_clear_error();
	return st;
}

enum smx_status smime_encrypt_eom(struct smime_encrypt *m,
				  const struct hdrlist *headers,
				  struct spool *body, struct smx_error *err)
{
	struct enc_source src = { .entity = m->entity };
	enum smx_status st = begin_output(m, err);
	if (st != SMX_OK)
		return st;
	st = smime_entity_finish(m->entity, headers, body, err);
	if (st == SMX_OK && make_edits(m, m->entity) != 0) {
		smx_error_set(err, "out of memory");
		st = SMX_TEMPFAIL;
	}
	if (st == SMX_OK)
		st = encrypt_stream(m, &src, err);
	return end_output(m, st);
}

/* "Name: value\r\n" for every header of the signer's container but
 * MIME-Version, then the empty line: the MIME headers of the signed
 * entity. (A 7bit encoding the outer message may keep is the default.) */
static char *signed_prefix(struct smime_sign *s, size_t *len_r)
{
	char *buf = NULL;
	size_t len = 0, n = 0;
	const struct outer_header *hdrs = sign_container(s, &n);
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (hdrs[i].rule == OUTER_SET &&
		    strcasecmp(hdrs[i].name, "MIME-Version") != 0)
			fprintf(f, "%s:%s\r\n", hdrs[i].name, hdrs[i].value);
	fputs("\r\n", f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	*len_r = len;
	return buf;
}

enum smx_status smime_encrypt_signed(struct smime_encrypt *m,
				     struct smime_sign *sign,
				     struct smx_error *err)
{
	struct enc_source src = { 0 };
	char *prefix = NULL;
	enum smx_status st = begin_output(m, err);
	if (st != SMX_OK)
		return st;
	src.spool = sign != NULL ? smime_sign_result_body(sign) : NULL;
	if (src.spool == NULL) {
		smx_error_set(err, "the message was not signed");
		return end_output(m, SMX_PERMFAIL);
	}
	prefix = signed_prefix(sign, &src.prefix_len);
	src.prefix = prefix;
	if (prefix == NULL || make_edits(m, sign_entity(sign)) != 0) {
		smx_error_set(err, "out of memory");
		st = SMX_TEMPFAIL;
	}
	if (st == SMX_OK)
		st = encrypt_stream(m, &src, err);
	free(prefix);
	return end_output(m, st);
}

size_t smime_encrypt_edit_count(const struct smime_encrypt *m)
{
	return m->body != NULL ? m->n_edits : 0;
}

const struct smime_header_edit *smime_encrypt_edit(
	const struct smime_encrypt *m, size_t i)
{
	return i < smime_encrypt_edit_count(m) ? &m->edits[i] : NULL;
}

struct spool *smime_encrypt_result_body(struct smime_encrypt *m)
{
	return m->body;
}

void smime_encrypt_free(struct smime_encrypt **m)
{
	if (m == NULL || *m == NULL)
		return;
	struct smime_encrypt *e = *m;
	enc_rcpts_free(&e->rcpts, e->n_rcpts);
	smime_entity_free(&e->entity);
	spool_free(&e->body);
	for (size_t i = 0; i < e->n_names; i++)
		free(e->names[i]);
	free(e->names);
	free(e->edits);
	free(e->content_type);
	free(e->dir);
	free(e);
	*m = NULL;
}
