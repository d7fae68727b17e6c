/* SPDX-License-Identifier: BSD-2-Clause */
/* Internals of the encryption files (encrypt-recipients.c, encrypt.c,
 * encrypt-io.c). Not installed. */
#ifndef SMX_ENCRYPT_PRIVATE_H
#define SMX_ENCRYPT_PRIVATE_H

#include <stddef.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/evp.h>

#include <smx/smime-encrypt.h>

/* One certificate of the message, with the key management chosen. */
struct enc_rcpt {
	X509 *cert;		/* a reference of our own */
	enum smime_key_mgmt km;
	const EVP_MD *kdf_md;	/* ECDH: the KDF digest, else NULL */
};

/* Checks every certificate, drops duplicates and chooses the content
 * encryption and each key management (smx/smime-encrypt.h). Returns
 * SMX_OK with *rcpts_r (free with enc_rcpts_free) and *n_r, or
 * SMX_PERMFAIL / SMX_TEMPFAIL with err. */
enum smx_status enc_plan(const struct smime_recipient *in, size_t n,
			 struct enc_rcpt **rcpts_r, size_t *n_r,
			 enum smime_enc_content *content_r,
			 struct smx_error *err);

/* Frees n planned recipients and sets *rcpts to NULL. NULL-safe. */
void enc_rcpts_free(struct enc_rcpt **rcpts, size_t n);

/* A new EnvelopedData or AuthEnvelopedData with a RecipientInfo for
 * every planned recipient, ready for streaming (i2d_CMS_bio_stream).
 * Returns NULL with err on failure. */
CMS_ContentInfo *enc_cms_new(enum smime_enc_content content,
			     const struct enc_rcpt *rcpts, size_t n,
			     struct smx_error *err);

/* --- BIO adapters (encrypt-io.c) ------------------------------------------ */

struct smime_entity;

/* What the source BIO reads: prefix first, then the spool (from its
 * start) or else the finished entity. The caller keeps everything alive
 * while the BIO is used. */
struct enc_source {
	const char *prefix;
	size_t prefix_len, prefix_pos;
	struct spool *spool;
	struct smime_entity *entity;
};

/* A read-only BIO over src (rewinds the spool or entity). NULL on
 * failure. BIO_free() leaves src to the caller. */
BIO *enc_source_bio(struct enc_source *src);

/* Base64 with 76-character lines ending in CRLF, appended to a spool:
 * 57 input bytes per line, the last line padded by enc_b64_finish(). */
struct enc_b64 {
	struct spool *out;
	unsigned char carry[57];
	size_t n_carry;
	int failed;		/* a spool_append failed */
};

/* A write-only BIO feeding b64 (kept by the caller; BIO_free() leaves it
 * alone). Flushing the BIO writes nothing: only enc_b64_finish() ends the
 * last line, so a flush in the middle never adds padding. */
BIO *enc_b64_bio(struct enc_b64 *b64);

/* Writes the last (partial) line. Returns 0, or -1 when any write to the
 * spool failed. */
int enc_b64_finish(struct enc_b64 *b64);

#endif
