/* S/MIME: building and checking signed and encrypted MIME entities with
 * OpenSSL CMS and GMime. Protocol-free: nothing here knows libmilter.
 *
 * The calls follow the milter callbacks: a message is given header by
 * header, then the body in chunks (the first chunk ends the headers),
 * then the end of the message, when the result is produced. Nothing is held in
 * memory beyond the configured threshold per stage: larger content goes to
 * private unnamed files (see smx/spool.h).
 *
 * Signing a message:
 *
 *	signer = smime_signer_new(key, cert, chain, enc_cert, &opts, &err)
 *					once per key, shared by threads
 *	sign = smime_sign_begin(signer)	per message
 *	smime_sign_header(sign, name, value)	for every header, in order
 *	smime_sign_body(sign, data, len)	any number of times
 *	smime_sign_eom(sign, &err)
 *	  -> smime_sign_edit_count/smime_sign_edit: header edits to apply
 *	  -> smime_sign_result_body: the new body
 *	smime_sign_free(&sign)
 */
#ifndef SMX_SMIME_H
#define SMX_SMIME_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <smx/spool.h>
#include <smx/status.h>

/* Writes the versions of the cryptographic and MIME libraries in use
 * ("OpenSSL 3.0.x, GMime 3.2.x") into buf. Returns buf. */
const char *smime_library_versions(char *buf, size_t size);

/* Initializes GMime. Call once at start-up, before threads exist; the
 * other functions call it too (guarded by pthread_once), so forgetting it
 * is harmless. */
void smime_init(void);

/* Why an operation failed: one line for the log, naming the certificate
 * or the part of the message concerned. Empty after success. */
struct smime_error {
	char text[256];
};

/* --- the signed entity ------------------------------------------------ */

/* What smime_entity_finish() had to do (bits of smime_entity_flags()). */
#define SMIME_ENTITY_DEFAULT_TYPE 0x01u	/* no Content-Type: the RFC 2045
					 * default text/plain; charset=
					 * us-ascii was written */
#define SMIME_ENTITY_REENCODED	0x02u	/* at least one part was re-encoded
					 * (quoted-printable or base64) */
#define SMIME_ENTITY_8BIT_LEFT	0x04u	/* raw 8-bit bytes remain where no
					 * transfer encoding applies (MIME
					 * headers of the entity or of an
					 * attached message): the result is
					 * not 7-bit clean */

/* The MIME entity that gets signed (or encrypted): the message's
 * Content-* headers (MIME-Version is left out) and its body, in canonical
 * form. Every line ends in CRLF (a bare LF becomes CRLF); every leaf part
 * that is not valid 7-bit (8-bit or NUL bytes, a bare CR, a line over 998
 * octets, or labelled 8bit/binary) is re-encoded, quoted-printable for
 * text, base64 otherwise; multipart and message/rfc822 containers are
 * entered as deep as needed and relabelled 7bit. Content that is already
 * valid 7-bit is copied unchanged (only line ends are made CRLF). */
struct smime_entity;

/* Creates an empty entity builder. mem_threshold: bytes kept in memory
 * per stage before moving to a private file in dir (NULL: "/tmp"); 0
 * means 1 MiB. Returns NULL when out of memory. Free with
 * smime_entity_free(). */
struct smime_entity *smime_entity_new(size_t mem_threshold, const char *dir);

/* Records one header of the message as the milter sees it: value may
 * start with the space after the colon and may contain folding line
 * breaks. Only Content-* headers go into the entity; every header is
 * remembered so that the signer can list the MIME headers to remove from
 * the outer message (smime_sign_edit). Must come before any body.
 * Returns SMX_OK, SMX_PERMFAIL (after the body started) or SMX_TEMPFAIL
 * (out of memory). */
enum smx_status smime_entity_header(struct smime_entity *entity,
				    const char *name, const char *value);

/* Appends body bytes (as received, CRLF or LF line ends). Returns SMX_OK
 * or SMX_TEMPFAIL (out of memory, temporary file not writable). */
enum smx_status smime_entity_body(struct smime_entity *entity,
				  const void *data, size_t len);

/* Appends the whole content of a spool (read from its start). */
enum smx_status smime_entity_body_spool(struct smime_entity *entity,
					struct spool *body);

/* Builds the canonical entity from what was given. Returns SMX_OK,
 * SMX_TEMPFAIL (I/O, memory) or SMX_PERMFAIL (GMime could not parse the
 * structure), with the reason in err (may be NULL). Call once. */
enum smx_status smime_entity_finish(struct smime_entity *entity,
				    struct smime_error *err);

/* SMIME_ENTITY_* bits, valid after smime_entity_finish(). */
unsigned smime_entity_flags(const struct smime_entity *entity);

/* Size in bytes of the finished entity. */
size_t smime_entity_size(const struct smime_entity *entity);

/* Reads the finished entity: rewind, then read until 0. read returns the
 * count, 0 at the end, or -1 on an I/O error. */
int smime_entity_rewind(struct smime_entity *entity);
ssize_t smime_entity_read(struct smime_entity *entity, void *buf, size_t len);

/* Frees the builder and its temporary storage; sets *entity to NULL.
 * NULL-safe. */
void smime_entity_free(struct smime_entity **entity);

/* --- header edits ------------------------------------------------------ */

enum smime_edit_op {
	SMIME_EDIT_DELETE,	/* remove occurrence `index` of `name` */
	SMIME_EDIT_ADD,		/* append `name: value` */
};

/* One change to the outer headers. Deletions come first, and for one name
 * from the highest index down, so that applying them in order never
 * shifts an index still to be used (smfi_chgheader(ctx, name, index,
 * NULL)). index counts from 1 among the headers given with that name,
 * compared case-insensitively. value (ADD only) starts with a space, like
 * the values a milter receives with SMFIP_HDR_LEADSPC; it is one line. */
struct smime_header_edit {
	enum smime_edit_op op;
	const char *name;
	unsigned index;		/* DELETE only */
	const char *value;	/* ADD only */
};

/* --- signing ------------------------------------------------------------ */

enum smime_sign_format {
	SMIME_SIGN_CLEAR = 0,	/* multipart/signed + detached signature */
	SMIME_SIGN_OPAQUE,	/* application/pkcs7-mime signed-data */
};

enum smime_digest {
	SMIME_DIGEST_SHA256 = 0,
	SMIME_DIGEST_SHA384,
	SMIME_DIGEST_SHA512,
};

struct smime_sign_options {
	enum smime_sign_format format;
	enum smime_digest digest;
	size_t mem_threshold;	/* per message and stage; 0: 1 MiB */
	const char *spool_dir;	/* for bigger content; NULL: "/tmp" */
};

/* A signing identity: key, certificates and options. Immutable once made,
 * so one signer may serve any number of threads at once. */
struct smime_signer;

/* Makes a signer. key: the private key of cert (RSA of 2048 bits or more,
 * ECDSA on P-256, P-384 or P-521); chain: intermediate certificates to
 * send along (may be NULL; the signer certificate and duplicates are
 * skipped); enc_cert: the sender's encryption certificate when it is not
 * cert (may be NULL): it is named in SMIMEEncryptionKeyPreference and
 * added to the certificate set. Every object is referenced, not taken:
 * the caller still frees its own. A trial signature is made, so every
 * key that passes here can sign. Returns SMX_OK and *signer_r, or
 * SMX_PERMFAIL with the reason in err: key and certificate do not match,
 * key too weak or of an unsupported type; an Ed25519/Ed448 key when the
 * OpenSSL in use cannot sign CMS with it (OpenSSL 3.0 cannot); or
 * SMX_TEMPFAIL when out of memory. opts may be NULL (defaults). */
enum smx_status smime_signer_new(EVP_PKEY *key, X509 *cert,
				 STACK_OF(X509) *chain, X509 *enc_cert,
				 const struct smime_sign_options *opts,
				 struct smime_signer **signer_r,
				 struct smime_error *err);

/* The micalg parameter the signer writes ("sha-256", ...). */
const char *smime_signer_micalg(const struct smime_signer *signer);

/* Frees a signer; sets *signer to NULL. NULL-safe. No smime_sign made
 * from it may still be in use. */
void smime_signer_free(struct smime_signer **signer);

/* The signing of one message. */
struct smime_sign;

/* Starts signing a message. The signer must outlive the result. Returns
 * NULL when out of memory. */
struct smime_sign *smime_sign_begin(const struct smime_signer *signer);

/* Like smime_entity_header() / _body() / _body_spool(). */
enum smx_status smime_sign_header(struct smime_sign *sign, const char *name,
				  const char *value);
enum smx_status smime_sign_body(struct smime_sign *sign, const void *data,
				size_t len);
enum smx_status smime_sign_body_spool(struct smime_sign *sign,
				      struct spool *body);

/* Builds the entity and signs it. Returns SMX_OK, SMX_TEMPFAIL (memory,
 * I/O, a failure inside OpenSSL) or SMX_PERMFAIL (the message cannot be
 * parsed), with the reason in err (may be NULL). Call once. */
enum smx_status smime_sign_eom(struct smime_sign *sign,
			       struct smime_error *err);

/* After SMX_OK from smime_sign_eom(): the header edits, in the order to
 * apply them (the pointers live as long as sign). */
size_t smime_sign_edit_count(const struct smime_sign *sign);
const struct smime_header_edit *smime_sign_edit(const struct smime_sign *sign,
						size_t i);

/* After SMX_OK: the new body (CRLF line ends, 7-bit unless
 * SMIME_ENTITY_8BIT_LEFT), owned by sign; read it with spool_rewind() and
 * spool_read(). */
struct spool *smime_sign_result_body(struct smime_sign *sign);

/* After SMX_OK: the SMIME_ENTITY_* bits of the signed entity, for logs. */
unsigned smime_sign_entity_flags(const struct smime_sign *sign);

/* Frees everything of the message; sets *sign to NULL. NULL-safe. */
void smime_sign_free(struct smime_sign **sign);

#endif
