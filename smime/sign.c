/* SPDX-License-Identifier: BSD-2-Clause */
/* Signing one message: the entity goes through the CMS digest on its way
 * into the new body; the signature follows (clear-signed), or the whole
 * SignedData is written base64 (opaque). Nothing bigger than the
 * threshold is held in memory. */
#include "hp-private.h"
#include "smime-private.h"
#include "signer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/rand.h>


struct smime_sign {
	const struct smime_signer *signer;
	struct smime_entity *entity;
	struct spool *body;		/* the result */
	struct smime_header_edit *edits;
	size_t n_edits;
	struct outer_header container[OUTER_MAX_WANTED]; /* new MIME headers */
	size_t n_container;
	char *content_type;		/* value of the new Content-Type */
	char boundary[48];
	bool done;
};

struct smime_sign *smime_sign_begin(const struct smime_signer *signer)
{
	struct smime_sign *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	m->signer = signer;
	m->entity = smime_entity_new(signer->threshold, signer->dir);
	if (m->entity == NULL)
		smime_sign_free(&m);
	return m;
}

/* --- boundary ------------------------------------------------------------ */

/* Whether a line of the entity starts with "--" boundary: memmem finds
 * "\n--boundary" in each chunk, with the end of the previous chunk
 * carried over and a '\n' standing for the start of the entity. */
int smime_boundary_occurs(struct smime_entity *e, const char *boundary)
{
	char pat[SMIME_BOUNDARY_MAX + 4];
	if (strlen(boundary) > SMIME_BOUNDARY_MAX)
		return -1;
	size_t plen = (size_t)snprintf(pat, sizeof(pat), "\n--%s", boundary);
	char buf[SMIME_CHUNK + sizeof(pat)];
	size_t carry = 1;
	ssize_t n;
	buf[0] = '\n';
	if (smime_entity_rewind(e) != 0)
		return -1;
	while ((n = smime_entity_read(e, buf + carry, SMIME_CHUNK)) > 0) {
		size_t have = carry + (size_t)n;
		if (memmem(buf, have, pat, plen) != NULL)
			return 1;
		carry = have < plen - 1 ? have : plen - 1;
		memmove(buf, buf + have - carry, carry);
	}
	return n < 0 ? -1 : 0;
}

/* 120 random bits after "=_": "=_" cannot occur in quoted-printable or
 * base64, and the entity is checked for it anyway. */
static int choose_boundary(struct smime_sign *m)
{
	static const char hex[] = "0123456789abcdef";
	for (int attempt = 0; attempt < 8; attempt++) {
		unsigned char rnd[15];
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return -1;
		char *p = m->boundary;
		p += sprintf(p, "=_smime_");
		for (size_t i = 0; i < sizeof(rnd); i++) {
			*p++ = hex[rnd[i] >> 4];
			*p++ = hex[rnd[i] & 15];
		}
		*p = '\0';
		int r = smime_boundary_occurs(m->entity, m->boundary);
		if (r <= 0)
			return r;
	}
	return -1;
}

/* --- header edits -------------------------------------------------------- */

/* The outer headers of the signed message. A multipart/signed may keep
 * "Content-Transfer-Encoding: 7bit" (RFC 2045 allows 7bit, 8bit or
 * binary on a multipart, and what is signed is made 7-bit); other
 * encodings are dropped. */
static int make_edits(struct smime_sign *m)
{
	const struct outer_header clear[] = {
		{ "MIME-Version", " 1.0", OUTER_SET },
		{ "Content-Type", m->content_type, OUTER_SET },
		{ "Content-Transfer-Encoding", " 7bit", OUTER_KEEP_OR_DROP },
	};
	if (m->signer->format == SMIME_SIGN_OPAQUE) {
		m->n_container = outer_pkcs7_container(m->content_type,
						       m->container);
	} else {
		memcpy(m->container, clear, sizeof(clear));
		m->n_container = sizeof(clear) / sizeof(clear[0]);
	}
	m->edits = outer_edits(m->entity, m->container, m->n_container,
			       &m->n_edits);
	if (m->edits == NULL)
		return -1;
	return hp_append_edits(&m->edits, &m->n_edits, entity_hp(m->entity));
}

void smime_sign_protect(struct smime_sign *m, const struct smime_hp *hp)
{
	entity_set_hp(m->entity, hp);
}

const struct smime_entity *sign_entity(const struct smime_sign *m)
{
	return m->entity;
}

const struct outer_header *sign_container(const struct smime_sign *m,
					  size_t *n_r)
{
	*n_r = m->body != NULL ? m->n_container : 0;
	return m->container;
}

/* --- writing ------------------------------------------------------------- */

static int append_str(struct spool *s, const char *str)
{
	return spool_append(s, str, strlen(str));
}

/* Writes cms as base64 (64-character lines, CRLF) into the body. */
static int write_base64_der(struct smime_sign *m, CMS_ContentInfo *cms)
{
	BIO *sink = smime_bio_spool_sink(m->body, true);
	BIO *b64 = BIO_new(BIO_f_base64());
	int rc = -1;
	if (sink == NULL || b64 == NULL)
		goto out;
	BIO_push(b64, sink);
	sink = NULL;
	if (i2d_CMS_bio(b64, cms) == 1 && BIO_flush(b64) == 1)
		rc = 0;
out:
	BIO_free(sink);
	BIO_free_all(b64);
	return rc;
}

/* The entity goes into the body and through the digest at once. */
static int stream_entity(struct smime_sign *m, BIO *digest)
{
	char buf[SMIME_CHUNK];
	ssize_t n;
	if (smime_entity_rewind(m->entity) != 0)
		return -1;
	while ((n = smime_entity_read(m->entity, buf, sizeof(buf))) > 0)
		if (BIO_write(digest, buf, (int)n) != (int)n ||
		    spool_append(m->body, buf, (size_t)n) != 0)
			return -1;
	return n < 0 ? -1 : 0;
}

static enum smx_status sign_clear(struct smime_sign *m,
				  struct smx_error *err)
{
	char line[160];
	CMS_ContentInfo *cms = signer_cms_new(m->signer, true, err);
	BIO *digest = cms != NULL ? CMS_dataInit(cms, NULL) : NULL;
	enum smx_status st = SMX_TEMPFAIL;
	if (digest == NULL)
		goto out;
	snprintf(line, sizeof(line), "This is an S/MIME signed message.\r\n"
		 "\r\n--%s\r\n", m->boundary);
	if (append_str(m->body, line) != 0 || stream_entity(m, digest) != 0) {
		smx_error_set(err, "cannot write the signed message to %s",
			      m->signer->dir);
		goto out;
	}
	if (!CMS_dataFinal(cms, digest)) {
		smime_err_ssl(err, "signing failed");
		goto out;
	}
	snprintf(line, sizeof(line), "\r\n--%s\r\n", m->boundary);
	if (append_str(m->body, line) != 0 || append_str(m->body,
	    "Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "Content-Disposition: attachment; filename=\"smime.p7s\"\r\n"
	    "\r\n") != 0 || write_base64_der(m, cms) != 0) {
		smime_err_ssl(err, "cannot write the signature");
		goto out;
	}
	snprintf(line, sizeof(line), "--%s--\r\n", m->boundary);
	if (append_str(m->body, line) == 0)
		st = SMX_OK;
out:
	BIO_free_all(digest);
	CMS_ContentInfo_free(cms);
	return st;
}

/* i2d_CMS_bio_stream reads the entity, digests it and writes the
 * SignedData with the content inside as indefinite-length BER, through
 * base64 into the body: one pass, bounded memory. */
static enum smx_status sign_opaque(struct smime_sign *m,
				   struct smx_error *err)
{
	CMS_ContentInfo *cms = signer_cms_new(m->signer, false, err);
	BIO *in = smime_bio_entity_source(m->entity);
	BIO *sink = smime_bio_spool_sink(m->body, true);
	BIO *b64 = BIO_new(BIO_f_base64());
	enum smx_status st = SMX_TEMPFAIL;
	if (cms == NULL || in == NULL || sink == NULL || b64 == NULL)
		goto out;
	BIO_push(b64, sink);
	sink = NULL;
	if (i2d_CMS_bio_stream(b64, cms, in, CMS_STREAM | CMS_BINARY) != 1 ||
	    BIO_flush(b64) != 1) {
		smime_err_ssl(err, "signing failed");
		goto out;
	}
	st = SMX_OK;
out:
	if (st != SMX_OK && err != NULL && err->text[0] == '\0')
		smime_err_ssl(err, "cannot prepare the opaque signature");
	BIO_free_all(b64);
	BIO_free(sink);
	BIO_free(in);
	CMS_ContentInfo_free(cms);
	return st;
}

static enum smx_status prepare_output(struct smime_sign *m,
				      struct smx_error *err)
{
	const struct smime_signer *s = m->signer;
	int len;
	if (s->format == SMIME_SIGN_OPAQUE) {
		len = asprintf(&m->content_type, " application/pkcs7-mime; "
			       "smime-type=signed-data; name=\"smime.p7m\"");
	} else {
		if (choose_boundary(m) != 0) {
			smx_error_set(err, "cannot choose a MIME boundary");
			return SMX_TEMPFAIL;
		}
		len = asprintf(&m->content_type, " multipart/signed; "
			       "protocol=\"application/pkcs7-signature\"; "
			       "micalg=%s; boundary=\"%s\"", s->micalg,
			       m->boundary);
	}
	if (len < 0) {
		m->content_type = NULL;
		smx_error_set(err, "out of memory");
		return SMX_TEMPFAIL;
	}
	m->body = spool_new(s->threshold, s->dir, 0);
	if (m->body == NULL || make_edits(m) != 0) {
		smx_error_set(err, "out of memory");
		return SMX_TEMPFAIL;
	}
	return SMX_OK;
}

enum smx_status smime_sign_eom(struct smime_sign *m,
			       const struct hdrlist *headers,
			       struct spool *body, struct smx_error *err)
{
	smx_error_set(err, "%s", "");
	if (m->done) {
		smx_error_set(err, "smime_sign_eom called twice");
		return SMX_PERMFAIL;
	}
	m->done = true;
	enum smx_status st = smime_entity_finish(m->entity, headers, body, err);
	if (st == SMX_OK)
		st = prepare_output(m, err);
	if (st == SMX_OK)
		st = m->signer->format == SMIME_SIGN_OPAQUE ?
			sign_opaque(m, err) : sign_clear(m, err);
	if (st != SMX_OK) {
		spool_free(&m->body);
		m->n_edits = 0;
	}
	ERR_clear_error();
	return st;
}

size_t smime_sign_edit_count(const struct smime_sign *m)
{
	return m->body != NULL ? m->n_edits : 0;
}

const struct smime_header_edit *smime_sign_edit(const struct smime_sign *m,
						size_t i)
{
	return i < smime_sign_edit_count(m) ? &m->edits[i] : NULL;
}

struct spool *smime_sign_result_body(struct smime_sign *m)
{
	return m->body;
}

unsigned smime_sign_entity_flags(const struct smime_sign *m)
{
	return smime_entity_flags(m->entity);
}

void smime_sign_free(struct smime_sign **m)
{
	if (m == NULL || *m == NULL)
		return;
	smime_entity_free(&(*m)->entity);
	spool_free(&(*m)->body);
	free((*m)->edits);
	free((*m)->content_type);
	free(*m);
	*m = NULL;
}
