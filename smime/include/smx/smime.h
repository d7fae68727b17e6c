/* SPDX-License-Identifier: BSD-2-Clause */
/* S/MIME: building and checking signed and encrypted MIME entities with
 * OpenSSL CMS and GMime. Protocol-free: nothing here knows libmilter.
 *
 * A message is given at its end, when the result is produced, as the
 * milter holds it: its header fields (smx/hdrlist.h, values as received)
 * and its body (smx/spool.h). Both stay the caller's and are only read
 * during the call. Nothing is held in memory beyond the configured
 * threshold per stage: larger content goes to private unnamed files.
 *
 * Signing a message:
 *
 *	signer = smime_signer_new(key, cert, chain, enc_cert, &opts, &err)
 *					once per key, shared by threads
 *	sign = smime_sign_begin(signer)	per message
 *	smime_sign_eom(sign, headers, body, &err)
 *	  -> smime_sign_edit_count/smime_sign_edit: header edits to apply
 *	  -> smime_sign_result_body: the new body
 *	smime_sign_free(&sign)
 *
 * Verifying an inbound message (see "verifying" below):
 *
 *	smime_verifier_new(&opts, &verifier, &err)	once per
 *					configuration, shared by threads
 *	smime_verifier_add_anchor(verifier, der, len, &err)	before sharing
 *	vfy = smime_verify_begin(verifier)		per message
 *	smime_verify_eom(vfy, headers, body, &info, &err)
 *	  -> smime_verify_edit_count/smime_verify_edit: forged
 *	     Authentication-Results to delete, ours to insert
 *	  -> smime_verify_signature_count/_signature: one result each
 *	  -> smime_verify_harvest_count/_harvest: certificates to store
 *	     (smx/smime-harvest.h writes them to the store)
 *	smime_verify_free(&vfy)
 */
#ifndef SMX_SMIME_H
#define SMX_SMIME_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <smx/hdrlist.h>
#include <smx/error.h>	/* why an operation failed: names the certificate
			 * or the part of the message concerned */
#include <smx/spool.h>
#include <smx/status.h>

/* Writes the versions of the cryptographic and MIME libraries in use
 * ("OpenSSL 3.0.x, GMime 3.2.x") into buf. Returns buf. */
const char *smime_library_versions(char *buf, size_t size);

/* Initializes GMime. Call once at start-up, before threads exist; the
 * other functions call it too (guarded by pthread_once), so forgetting it
 * is harmless. */
void smime_init(void);

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

/* Builds the canonical entity of a message: headers as the milter sees
 * them (a value may start with the space after the colon and may contain
 * folding line breaks), body as received (CRLF or LF line ends, read from
 * its start). Only Content-* headers go into the entity; every header is
 * remembered (copied) so that the signer can list the MIME headers to
 * remove from the outer message (smime_sign_edit). Returns SMX_OK,
 * SMX_TEMPFAIL (I/O, memory, temporary file not writable) or
 * SMX_PERMFAIL (GMime could not parse the structure; called twice), with
 * the reason in err (may be NULL). Call once. */
enum smx_status smime_entity_finish(struct smime_entity *entity,
				    const struct hdrlist *headers,
				    struct spool *body,
				    struct smx_error *err);

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
	SMIME_EDIT_INSERT,	/* insert `name: value` at position `index`
				 * (0: above every other header; the
				 * smfi_insheader(ctx, index, ...) meaning) */
	SMIME_EDIT_CHANGE,	/* give occurrence `index` of `name` the
				 * value `value`, in place */
};

/* One change to the outer headers. Deletions come first, and for one name
 * from the highest index down, so that applying them in order never
 * shifts an index still to be used (smfi_chgheader(ctx, name, index,
 * NULL)); changes (smfi_chgheader with a value) and additions follow.
 * index counts from 1 among the headers given with that name, compared
 * case-insensitively. value (ADD, INSERT, CHANGE) starts with a space,
 * like the values a milter receives with SMFIP_HDR_LEADSPC; it is one line
 * for signing, and may be folded with LF + TAB (as libmilter expects) for
 * the Authentication-Results header of verification. */
struct smime_header_edit {
	enum smime_edit_op op;
	const char *name;
	unsigned index;		/* DELETE, INSERT, CHANGE */
	const char *value;	/* ADD, INSERT, CHANGE */
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
				 struct smx_error *err);

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

/* Builds the entity of the message (headers and body as for
 * smime_entity_finish) and signs it. Returns SMX_OK, SMX_TEMPFAIL
 * (memory, I/O, a failure inside OpenSSL) or SMX_PERMFAIL (the message
 * cannot be parsed), with the reason in err (may be NULL). Call once. */
enum smx_status smime_sign_eom(struct smime_sign *sign,
			       const struct hdrlist *headers,
			       struct spool *body, struct smx_error *err);

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


/* --- verifying ------------------------------------------------------------ */

/* The result of one signature, with the RFC 7281 / RFC 8601 names
 * (smime_result_name). The meaning this implementation gives them:
 *   none       the message carries no S/MIME signature
 *   pass       the signature is valid over the exact bytes received, the
 *              signer certificate chains to a trust anchor for S/MIME
 *              signing at the verification time, and its email address
 *              is the From address
 *   fail       the signature does not match the content (altered in
 *              transit, or forged)
 *   policy     the signature is mathematically valid, but the signer is
 *              not acceptable: chain untrusted, certificate expired or
 *              not yet valid, key usage or EKU forbids email signing, no
 *              email address, or the address is not the From address
 *   neutral    the signature cannot be judged here: signer certificate
 *              absent from the message, or an algorithm this OpenSSL does
 *              not support
 *   temperror  a local problem (memory, I/O): another try may succeed
 *   permerror  the S/MIME structure is malformed, or a verification
 *              limit was reached (hostile or broken input) */
enum smime_result {
	SMIME_RESULT_NONE = 0,
	SMIME_RESULT_PASS,
	SMIME_RESULT_FAIL,
	SMIME_RESULT_POLICY,
	SMIME_RESULT_NEUTRAL,
	SMIME_RESULT_TEMPERROR,
	SMIME_RESULT_PERMERROR,
};

/* "none", "pass", "fail", "policy", "neutral", "temperror", "permerror". */
const char *smime_result_name(enum smime_result result);

/* Why a signature got its result (the first reason found). */
enum smime_reason {
	SMIME_REASON_OK = 0,		/* pass */
	SMIME_REASON_BAD_SIGNATURE,	/* fail: digest or signature wrong */
	SMIME_REASON_EMBEDDED_CONTENT,	/* fail: a detached signature that
					 * carries content of its own */
	SMIME_REASON_NO_SIGNER_CERT,	/* neutral */
	SMIME_REASON_UNSUPPORTED,	/* neutral: algorithm not available */
	SMIME_REASON_UNTRUSTED,		/* policy: no chain to an anchor */
	SMIME_REASON_EXPIRED,		/* policy: a certificate expired */
	SMIME_REASON_NOT_YET_VALID,	/* policy */
	SMIME_REASON_USAGE,		/* policy: keyUsage/EKU/purpose */
	SMIME_REASON_CHAIN,		/* policy: another chain error */
	SMIME_REASON_NO_EMAIL,		/* policy: certificate has no email */
	SMIME_REASON_FROM_MISMATCH,	/* policy: not the (single) From */
	SMIME_REASON_MALFORMED,		/* permerror */
	SMIME_REASON_LIMIT,		/* permerror: a bound was reached */
	SMIME_REASON_RESOURCE,		/* temperror */
	SMIME_REASON_REVOKED,		/* fail: the signer or a CA above
					 * it is revoked */
	SMIME_REASON_REVOCATION_UNKNOWN,	/* policy: a revocation
						 * status unknown, and the
						 * mode refuses that */
};

/* Defaults of the bounds in struct smime_verify_options. */
#define SMIME_VERIFY_MAX_SIGNATURES	8
#define SMIME_VERIFY_MAX_CERTIFICATES	32
#define SMIME_VERIFY_MAX_DEPTH		16
#define SMIME_VERIFY_MAX_PARTS		1000
#define SMIME_VERIFY_MAX_BYTES		(64u * 1024u * 1024u)
#define SMIME_VERIFY_SYSTEM_CA_FILE	"/etc/ssl/certs/ca-certificates.crt"

struct smime_verify_options {
	/* Our authserv-id (milter.authserv_id): names the header we add
	 * and the forged ones we remove. Required; printable ASCII without
	 * space, ';', '(' or '"'. */
	const char *authserv_id;
	/* PEM bundle of trusted roots: NULL means the system bundle
	 * (SMIME_VERIFY_SYSTEM_CA_FILE), "" means none. A missing file is
	 * an error unless it is the default. */
	const char *ca_file;
	/* An extra PEM file of trusted roots (NULL: none); more anchors
	 * come from the store through smime_verifier_add_anchor(). */
	const char *extra_ca_file;
	/* Bounds; 0 means the SMIME_VERIFY_* default. */
	unsigned max_signatures;	/* signatures verified per message */
	unsigned max_certificates;	/* certificates in one signature */
	unsigned max_depth;		/* MIME nesting searched */
	unsigned max_parts;		/* MIME parts in the message */
	size_t max_bytes;		/* one signed content, or one CMS
					 * object, decoded */
	size_t mem_threshold;		/* per message; 0: 1 MiB */
	const char *spool_dir;		/* NULL: "/tmp" */
	/* Harvest rules: also harvest certificates whose
	 * chain does not verify, as unverified; only harvest when an
	 * Authentication-Results header from one of dmarc_authserv_ids
	 * says dmarc=pass for the From domain. */
	bool harvest_untrusted;
	bool harvest_require_dmarc;
	const char *const *dmarc_authserv_ids;
	size_t n_dmarc_authserv_ids;
	/* Verification time; 0 means the current time of each message.
	 * For tests that replay old messages. */
	time_t verify_time;
};

/* A verification configuration: options and the trust anchors. Built
 * once, then shared read-only by any number of threads. */
struct smime_verifier;

/* Makes a verifier: copies opts, loads ca_file and extra_ca_file.
 * Returns SMX_OK and *verifier_r, SMX_CONFIG (no authserv_id, a bad
 * authserv_id, an unreadable or empty CA file: err names it) or
 * SMX_TEMPFAIL (memory). */
enum smx_status smime_verifier_new(const struct smime_verify_options *opts,
				   struct smime_verifier **verifier_r,
				   struct smx_error *err);

/* Adds a trust anchor (DER certificate, e.g. from store_anchor_list()).
 * Only before the verifier is shared with other threads. Returns SMX_OK,
 * SMX_PERMFAIL (not a certificate) or SMX_TEMPFAIL. */
enum smx_status smime_verifier_add_anchor(struct smime_verifier *verifier,
					  const unsigned char *der,
					  size_t len, struct smx_error *err);

/* The trust anchors of ca_file and extra_ca_file (as in struct
 * smime_verify_options: NULL the system bundle, "" none), loaded exactly
 * as smime_verifier_new loads them, as a new OpenSSL store the caller
 * frees with X509_STORE_free: for judging certificates outside a message
 * (the directory's, imported ones) by the same trust as inbound mail.
 * NULL with err set when a file cannot be read or memory ran out. */
X509_STORE *smime_trust_store_new(const char *ca_file,
				  const char *extra_ca_file,
				  struct smx_error *err);

/* Frees a verifier; sets *verifier to NULL. NULL-safe. No smime_verify
 * made from it may still be in use. */
void smime_verifier_free(struct smime_verifier **verifier);

/* The verification of one message. */
struct smime_verify;

/* Starts verifying a message. The verifier must outlive the result.
 * Returns NULL when out of memory. */
struct smime_verify *smime_verify_begin(const struct smime_verifier *verifier);

/* What the caller knows about the message beyond its content. */
struct smime_verify_msginfo {
	const char *envelope_sender;	/* for the harvest log; may be NULL */
	bool outbound;			/* classified outbound: results are
					 * reported, nothing is harvested */
};

/* Finds and verifies every signature of the message, decides what to
 * harvest, and builds the Authentication-Results header. headers: every
 * header as the milter sees it (a value may start with the space after
 * the colon and may contain folding), in order: they are counted per
 * name (any case) from 1, so that the DELETE edits name the right one;
 * body: exactly as received, read from its start. Hostile or malformed
 * content is a result (permerror), never an error: the return is SMX_OK
 * whenever a header could be built, even a "temperror" one. Returns
 * SMX_TEMPFAIL only when the message could not be stored (memory,
 * temporary file) or not even that was possible (memory), with the
 * reason in err (may be NULL); the caller then delivers the message
 * unchanged. info may be NULL (inbound, no sender). Call once. */
enum smx_status smime_verify_eom(struct smime_verify *vfy,
				 const struct hdrlist *headers,
				 struct spool *body,
				 const struct smime_verify_msginfo *info,
				 struct smx_error *err);

/* Could a message with these headers hold anything that
 * smime_verify_eom() or the inbound decryption (smime-decrypt.h) reads,
 * whatever its body? True when its one top-level Content-Type (as GMime
 * parses it) is a multipart or message type, application/octet-stream or
 * an application type naming pkcs7 (pkcs7-mime, pkcs7-signature, their
 * x- forms); also when it has more than one Content-Type, one GMime
 * cannot parse, or the header list is truncated. False for any other
 * type, and without a Content-Type (text/plain): the body of such a
 * message is never read by either. */
bool smime_headers_may_carry(const struct hdrlist *headers);

/* Revocation of a signer's chain: after a signer's chain verified to a
 * trust anchor, the hook is asked about the signer and about each CA
 * certificate above it (cert, issued by issuer), up to the anchor. A
 * revoked one makes the signature fail ("certificate revoked"); an
 * unknown one the caller refuses makes it policy ("revocation status
 * unknown"); neither signer is harvested. The hook decides how long it
 * waits. */
enum smime_revocation {
	SMIME_REVOCATION_USABLE = 0,	/* good, or unknown and accepted */
	SMIME_REVOCATION_REVOKED,
	SMIME_REVOCATION_UNKNOWN,	/* unknown, and refused */
};
typedef enum smime_revocation smime_revocation_fn(void *arg, X509 *cert,
						  X509 *issuer);

/* Sets the revocation hook of one message (before smime_verify_eom; fn
 * NULL: no revocation checking). arg is passed to fn as is. */
void smime_verify_set_revocation(struct smime_verify *vfy,
				 smime_revocation_fn *fn, void *arg);

/* After smime_verify_eom(): the header edits in the order to apply them:
 * every existing Authentication-Results header whose authserv-id is ours
 * is deleted (highest index first), then ours is inserted at the top.
 * The pointers live as long as vfy. */
size_t smime_verify_edit_count(const struct smime_verify *vfy);
const struct smime_header_edit *smime_verify_edit(
	const struct smime_verify *vfy, size_t i);

/* True when an Authentication-Results header value names authserv_id
 * as its authserv-id: the first token or quoted-string after any
 * comments and white space, compared whole and in any case
 * ("example.com.evil" and "example.co" are not "example.com"). */
bool smime_ar_authserv_id_is(const char *value, const char *authserv_id);

/* The value of our Authentication-Results header (with its leading
 * space, folded with LF + TAB), e.g.
 *   " mx.example.org; smime=pass (signature verified)
 *	body.smime-identifier=alice@example.com body.smime-part=1
 *	body.smime-serial=1E body.smime-issuer=\"CN=CA,O=Example\""
 * Every text taken from the message is stripped of control characters
 * and quoted as RFC 8601 requires. */
const char *smime_verify_ar_value(const struct smime_verify *vfy);

/* The overall result for logs: the result of the first signature, or
 * none. */
enum smime_result smime_verify_result(const struct smime_verify *vfy);

/* One signature found in the message (strings are NULL when unknown;
 * they live as long as vfy and hold no control characters). */
struct smime_signature {
	enum smime_result result;
	enum smime_reason reason;
	const char *comment;	/* short reason, for the header and logs */
	const char *part;	/* "1" = the body, "1.2" = its 2nd part, a
				 * part inside opaque content adds ".1" */
	bool opaque;		/* application/pkcs7-mime signed-data */
	bool signature_valid;	/* the CMS signature matched the content */
	bool chain_trusted;	/* the signer chained to an anchor */
	const char *chain_reason;	/* why not (OpenSSL's words for the
					 * first path validation error), or
					 * "ok"; NULL when the path was not
					 * validated (the signature failed) */
	bool from_match;	/* a certificate address is the From */
	const char *identifier;	/* the matching (else first) address of
				 * the signer certificate */
	const char *serial;	/* upper-case hex */
	const char *issuer;	/* RFC 2253 one-line form */
	const char *fingerprint;	/* SHA-256 of the signer cert, hex */
	const char *harvest_comment;	/* why nothing was harvested, or
					 * NULL when something was */
};

size_t smime_verify_signature_count(const struct smime_verify *vfy);
const struct smime_signature *smime_verify_signature(
	const struct smime_verify *vfy, size_t i);

/* A certificate the harvest rules accepted. */
/* One DER certificate. */
struct smime_der {
	const unsigned char *der;
	size_t len;
};

struct smime_harvest_cert {
	const unsigned char *der;
	size_t der_len;
	/* the CA certificates of the signer's validated path (the anchor
	 * included), so that the store can build the path again when the
	 * anchors change; none for an unverified certificate */
	const struct smime_der *issuers;
	size_t n_issuers;
	bool trusted;		/* chain verified (else: unverified, only
				 * with harvest_untrusted) */
	bool enc_preference;	/* named by SMIMEEncryptionKeyPreference
				 * (or the signer itself when the
				 * signature names no other) */
	const unsigned char *smime_caps;	/* DER SMIMECapabilities of
						 * the signature, or NULL */
	size_t caps_len;
	int64_t caps_signed_at;	/* the signature's signingTime (Unix
				 * seconds, never after the verification
				 * time), -1 without one */
	const char *email;	/* the From address, lower case */
	const char *fingerprint;	/* SHA-256, lower-case hex */
	size_t signature;	/* index into the signatures */
};

size_t smime_verify_harvest_count(const struct smime_verify *vfy);
const struct smime_harvest_cert *smime_verify_harvest(
	const struct smime_verify *vfy, size_t i);

/* The Message-ID (without angle brackets) and the From address (lower
 * case) as found in the headers, NULL when absent or not exactly one;
 * the From address as from_header_address reads it (smx/smime-fromaddr.h:
 * NULL when it holds a control character or a non-ASCII byte). */
const char *smime_verify_message_id(const struct smime_verify *vfy);
const char *smime_verify_from(const struct smime_verify *vfy);

/* Frees everything of the message; sets *vfy to NULL. NULL-safe. */
void smime_verify_free(struct smime_verify **vfy);

#endif
