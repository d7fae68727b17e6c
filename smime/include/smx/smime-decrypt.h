/* SPDX-License-Identifier: BSD-2-Clause */
/* Decryption of inbound S/MIME messages: EnvelopedData and
 * AuthEnvelopedData (RFC 5652, RFC 5083) in an application/pkcs7-mime
 * body. Protocol-free like the rest of smx/smime.h; the milter decides
 * whose keys to use (every recipient's must be held and open the
 * message) and applies the result.
 *
 *	smime_decrypt_new(&opts, &dec)		per message
 *	smime_decrypt_parse(dec, headers, body, &err)	is it encrypted,
 *						to whom?
 *	smime_decrypt_check_limits(dec, &err)	before any private key
 *	smime_decrypt_is_for(dec, cert)		for each candidate key
 *	smime_decrypt_open(dec, cert, key, &err)	for each recipient's key
 *	smime_decrypt_finish(dec, note, &err)
 *	  (or smime_decrypt_run(dec, cert, key, note, &err) for one key)
 *	  -> smime_decrypt_edit_count/smime_decrypt_edit: header edits
 *	  -> smime_decrypt_result_headers: the headers after the edits
 *	     (to verify the inner signature)
 *	  -> smime_decrypt_result_body: the new body
 *	smime_decrypt_free(&dec)
 *
 * The decrypted entity's Content-* headers replace the outer ones; its
 * other headers are dropped (the outer ones stay authoritative); its body
 * becomes the message body with CRLF line ends. The whole CMS object is
 * held in memory while it is decrypted, so it is bounded by max_bytes;
 * the plaintext goes to a spool.
 */
#ifndef SMX_SMIME_DECRYPT_H
#define SMX_SMIME_DECRYPT_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <smx/smime.h>
#include <smx/spool.h>
#include <smx/status.h>

/* The header the milter adds to a message it decrypted. */
#define SMIME_DECRYPTED_HEADER "X-SMIME-Decrypted"

struct smime_decrypt_options {
	size_t max_bytes;	/* largest body accepted; 0: 64 MiB */
	size_t mem_threshold;	/* plaintext bytes kept in memory; 0: 1 MiB */
	const char *spool_dir;	/* for bigger plaintext; NULL: "/tmp" */
	unsigned max_certificates;	/* certificates, and CRLs, of its
					 * OriginatorInfo; 0: 32 */
};

struct smime_decrypt;

/* Starts one message. opts may be NULL. Returns SMX_OK and *dec_r (free
 * with smime_decrypt_free) or SMX_TEMPFAIL (memory). */
enum smx_status smime_decrypt_new(const struct smime_decrypt_options *opts,
				  struct smime_decrypt **dec_r);

/* Takes the message: its outer headers (values with their leading space,
 * as the milter receives them; copied, but an SMIME_DECRYPTED_HEADER
 * among them, which only the decrypting gateway writes) and its body,
 * read during the call only. Reads the body (base64 or binary DER) when
 * the headers say the message
 * is application/pkcs7-mime (or x-pkcs7-mime, or octet-stream named
 * *.p7m) and parses the CMS object. Returns SMX_OK when it is
 * EnvelopedData or AuthEnvelopedData; SMX_NOTFOUND when the message is
 * not encrypted S/MIME (signed-data, any other type: nothing to do);
 * SMX_PERMFAIL when it claims to be but cannot be parsed or is over
 * max_bytes (err says which), or is called twice; SMX_TEMPFAIL (memory,
 * I/O). */
enum smx_status smime_decrypt_parse(struct smime_decrypt *dec,
				    const struct hdrlist *headers,
				    struct spool *body,
				    struct smx_error *err);

/* After SMX_OK from parse: "enveloped-data" or "authEnveloped-data", and
 * the number of RecipientInfos. */
const char *smime_decrypt_kind(const struct smime_decrypt *dec);
size_t smime_decrypt_recipient_info_count(const struct smime_decrypt *dec);

/* Whether a RecipientInfo of the message names cert (issuer and serial
 * or subject key identifier; key transport or key agreement). */
bool smime_decrypt_is_for(const struct smime_decrypt *dec, X509 *cert);

/* The most recipient entries (RecipientInfos, counting each recipient
 * of a key agreement as one) a message may have to be decrypted. */
#define SMIME_DECRYPT_MAX_RECIPIENTS 64

/* After SMX_OK from parse, before any private-key operation: SMX_OK, or
 * SMX_PERMFAIL (refusal "limit") when the message has more than
 * SMIME_DECRYPT_MAX_RECIPIENTS recipient entries. */
enum smx_status smime_decrypt_check_limits(struct smime_decrypt *dec,
					   struct smx_error *err);

/* Opens the message for one recipient: the first RecipientInfo that
 * names cert (issuer and serial or subject key identifier; key
 * transport or key agreement; only that one is tried) is unwrapped with
 * key, the private key of cert, and the content decrypted with the
 * content key it holds. Call it once for each recipient's key; the
 * first key's plaintext is kept, and every later key must decrypt the
 * content to the same bytes (the same content key): RecipientInfos are
 * not authenticated, so one naming a certificate proves nothing until
 * its key opens it. Returns SMX_OK; SMX_PERMFAIL when the message is
 * refused (over the limits, no RecipientInfo for cert, the key does not
 * unwrap it, its content key does not decrypt the content or gives a
 * different plaintext; err says which, smime_decrypt_refusal() names
 * the kind, and every later call fails); SMX_TEMPFAIL (memory, spool). */
enum smx_status smime_decrypt_open(struct smime_decrypt *dec, X509 *cert,
				   EVP_PKEY *key, struct smx_error *err);

/* Why the message was refused: "limit" (too many recipient entries),
 * "unopened" (a key did not open its RecipientInfo or the content),
 * "mismatch" (keys opened different content keys); NULL when not. */
const char *smime_decrypt_refusal(const struct smime_decrypt *dec);

/* After SMX_OK from every open: builds the edits and the new body from
 * the plaintext. note (may be NULL) becomes the value of an
 * SMIME_DECRYPTED_HEADER header added to the message. Returns SMX_OK,
 * SMX_PERMFAIL (the content is not a MIME entity; err says why) or
 * SMX_TEMPFAIL. Call once. */
enum smx_status smime_decrypt_finish(struct smime_decrypt *dec,
				     const char *note,
				     struct smx_error *err);

/* smime_decrypt_open with one key, then smime_decrypt_finish. Call
 * once. */
enum smx_status smime_decrypt_run(struct smime_decrypt *dec, X509 *cert,
				  EVP_PKEY *key, const char *note,
				  struct smx_error *err);

/* After SMX_OK from finish (or run): the header edits (struct smime_header_edit):
 * every outer Content-* header deleted (highest index first), then the
 * inner Content-* headers and the note added. Pointers live as long as
 * dec. */
size_t smime_decrypt_edit_count(const struct smime_decrypt *dec);
const struct smime_header_edit *smime_decrypt_edit(
	const struct smime_decrypt *dec, size_t i);

/* After SMX_OK from finish (or run): the message's headers once the
 * edits are applied, in order (values with their leading space), owned
 * by dec; NULL before. */
const struct hdrlist *smime_decrypt_result_headers(
	const struct smime_decrypt *dec);

/* After SMX_OK from finish (or run): how many header fields the message
 * protected (header protection) that the delivered header now carries;
 * 0 when none. */
size_t smime_decrypt_protected_count(const struct smime_decrypt *dec);

/* After SMX_OK from finish (or run): the new body with CRLF line ends, owned by dec;
 * read it with spool_rewind() and spool_read(). */
struct spool *smime_decrypt_result_body(struct smime_decrypt *dec);

/* Frees everything; sets *dec to NULL. NULL-safe. */
void smime_decrypt_free(struct smime_decrypt **dec);

#endif
