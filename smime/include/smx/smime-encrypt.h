/* SPDX-License-Identifier: BSD-2-Clause */
/* S/MIME encryption of outbound messages: one EnvelopedData (AES-256-CBC)
 * or AuthEnvelopedData (AES-256-GCM) for every recipient certificate.
 * Protocol-free like the rest of smx/smime.h; the message is given at
 * its end.
 *
 * Encrypting a message as it is (no signature):
 *
 *	smime_encrypt_new(rcpts, n, &opts, &enc, &err)	per message
 *	smime_encrypt_eom(enc, headers, body, &err)
 *	  -> smime_encrypt_edit_count/smime_encrypt_edit: header edits
 *	  -> smime_encrypt_result_body: the new body
 *	smime_encrypt_free(&enc)
 *
 * Signing, then encrypting (RFC 8551 section 3.7): sign with smime_sign_*
 * as usual, then, instead of applying the signer's edits and body:
 *
 *	smime_encrypt_new(rcpts, n, &opts, &enc, &err)
 *	smime_encrypt_signed(enc, sign, &err)	the signed entity (the
 *					multipart/signed or signed-data with
 *					its MIME headers) is what is encrypted;
 *					the message is not given again
 *	  -> the edits and body of enc replace those of sign
 *
 * The algorithms (see docs/smime-encrypt.md for the reasons):
 *   content  AES-256-GCM AuthEnvelopedData only when every recipient's
 *            SMIMECapabilities are known and list id-aes256-GCM and no
 *            recipient is legacy_interop; otherwise AES-256-CBC
 *            EnvelopedData.
 *   RSA      RSAES-OAEP (SHA-256, MGF1-SHA-256) when the recipient lists
 *            rsaesOAEP and no recipient is legacy_interop; otherwise
 *            PKCS#1 v1.5.
 *   EC       ECDH ephemeral-static (RFC 5753) on P-256, P-384, P-521:
 *            dhSinglePass-stdDH-sha256kdf (P-256), -sha384kdf (P-384),
 *            -sha512kdf (P-521), key wrap id-aes256-wrap.
 *   ids      issuerAndSerialNumber for every recipient, always:
 *            gpgsm 2.2 cannot find its key from a subjectKeyIdentifier.
 */
#ifndef SMX_SMIME_ENCRYPT_H
#define SMX_SMIME_ENCRYPT_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#include <smx/smime.h>
#include <smx/spool.h>
#include <smx/status.h>

/* --- SMIMECapabilities ---------------------------------------------------- */

/* Bits of a recipient's capabilities (smime_caps_parse). */
#define SMIME_CAP_KNOWN		0x01u	/* capabilities were present and
					 * parsed: the other bits mean what
					 * they say */
#define SMIME_CAP_AES256_GCM	0x02u	/* id-aes256-GCM, 2.16.840.1.101.3.4.1.46 */
#define SMIME_CAP_AES256_CBC	0x04u	/* id-aes256-CBC, 2.16.840.1.101.3.4.1.42 */
#define SMIME_CAP_RSAES_OAEP	0x08u	/* id-RSAES-OAEP, 1.2.840.113549.1.1.7 */

/* Bounds of what smime_caps_parse() accepts. */
#define SMIME_CAPS_MAX_LEN	4096
#define SMIME_CAPS_MAX_ENTRIES	64

/* Turns the DER value of an SMIMECapabilities attribute (SEQUENCE OF
 * SMIMECapability, as harvested into the store: struct
 * smime_harvest_cert.smime_caps) into SMIME_CAP_* bits in *caps_r.
 * der NULL or len 0: SMX_OK with *caps_r = 0 (unknown). Returns SMX_OK, or
 * SMX_PERMFAIL with *caps_r = 0 when the bytes are not exactly one
 * well-formed SMIMECapabilities, are longer than SMIME_CAPS_MAX_LEN or
 * hold more than SMIME_CAPS_MAX_ENTRIES entries: the caller treats the
 * recipient as "capabilities unknown". Unknown algorithms are ignored.
 * Reads at most len bytes; safe on hostile input; thread-safe. */
enum smx_status smime_caps_parse(const unsigned char *der, size_t len,
				 unsigned *caps_r);

/* --- recipients ------------------------------------------------------------- */

/* One certificate to encrypt to: a recipient, the sender's copy or the
 * archive certificate (the caller adds those two). */
struct smime_recipient {
	X509 *cert;		/* referenced while the encryption lives
				 * (smime_encrypt_new takes a reference;
				 * the caller keeps its own) */
	unsigned caps;		/* SMIME_CAP_* from smime_caps_parse(); 0
				 * when the store holds no capabilities */
	bool legacy_interop;	/* the recipient's domain asks for the old
				 * forms: PKCS#1 v1.5 and AES-CBC (for the
				 * whole message, since it is one object) */
};

/* Bound on the certificates of one message (after duplicates are
 * dropped). */
#define SMIME_ENCRYPT_MAX_RECIPIENTS 1000

/* Checks that a certificate can be encrypted to: an RSA key of 2048 to
 * 16384 bits, or an EC key on P-256, P-384 or P-521 (the rule of
 * smx/keyrule.h, which the store's selection applies too, so that a
 * selected certificate is never refused here). Key usage, extended
 * key usage, validity and revocation are the certificate choice's
 * business (the store), not checked here. Returns SMX_OK, SMX_PERMFAIL
 * with err naming the certificate ("recipient certificate <subject>
 * serial <hex>: ...") or SMX_TEMPFAIL (memory). err may be NULL. */
enum smx_status smime_recipient_check(X509 *cert, struct smx_error *err);

/* The content encryption chosen for a message. */
enum smime_enc_content {
	SMIME_ENC_ENVELOPED = 0,	/* AES-256-CBC EnvelopedData,
					 * smime-type=enveloped-data */
	SMIME_ENC_AUTH_ENVELOPED,	/* AES-256-GCM AuthEnvelopedData,
					 * smime-type=authEnveloped-data */
};

/* How the content key reaches one recipient. */
enum smime_key_mgmt {
	SMIME_KM_RSA_PKCS1 = 0,		/* RSA, PKCS#1 v1.5 */
	SMIME_KM_RSA_OAEP,		/* RSAES-OAEP, SHA-256 */
	SMIME_KM_ECDH,			/* ECDH ephemeral-static */
};

/* "enveloped-data", "authEnveloped-data" (the smime-type values). */
const char *smime_enc_content_name(enum smime_enc_content content);

/* "rsa-pkcs1v15", "rsaes-oaep", "ecdh" (for logs and smimectl explain). */
const char *smime_key_mgmt_name(enum smime_key_mgmt km);

/* --- encrypting one message -------------------------------------------------- */

struct smime_encrypt_options {
	size_t mem_threshold;	/* bytes in memory per stage; 0: 1 MiB */
	const char *spool_dir;	/* for bigger content; NULL: "/tmp" */
};

struct smime_encrypt;

/* Starts the encryption of one message to n recipients. Every
 * certificate is checked (smime_recipient_check); a certificate given
 * twice (same DER) is used once; the algorithms are chosen here (see the
 * top of this file), so smime_encrypt_content() and
 * smime_encrypt_key_mgmt() answer at once. opts may be NULL. Returns
 * SMX_OK and *enc_r; SMX_PERMFAIL with err naming the first unusable
 * certificate, or for no recipients, or more than
 * SMIME_ENCRYPT_MAX_RECIPIENTS; SMX_TEMPFAIL (memory). Free with
 * smime_encrypt_free(). */
enum smx_status smime_encrypt_new(const struct smime_recipient *rcpts,
				  size_t n,
				  const struct smime_encrypt_options *opts,
				  struct smime_encrypt **enc_r,
				  struct smx_error *err);

/* The content encryption chosen. */
enum smime_enc_content smime_encrypt_content(const struct smime_encrypt *enc);

/* Certificates that will get a RecipientInfo (duplicates dropped), and
 * for the i-th of them (in the order given) its certificate and key
 * management. i out of range: NULL / SMIME_KM_RSA_PKCS1. */
size_t smime_encrypt_recipient_count(const struct smime_encrypt *enc);
X509 *smime_encrypt_recipient_cert(const struct smime_encrypt *enc, size_t i);
enum smime_key_mgmt smime_encrypt_key_mgmt(const struct smime_encrypt *enc,
					   size_t i);

/* Builds the canonical entity of the message when it is not signed
 * (headers and body as for smime_entity_finish(); as smime_sign does:
 * CRLF, 8-bit content re-encoded, Content-* headers inside) and encrypts
 * it. Returns SMX_OK, SMX_TEMPFAIL (memory, I/O, a failure inside
 * OpenSSL) or SMX_PERMFAIL (the message cannot be parsed; called twice,
 * or after smime_encrypt_signed), with the reason in err (may be NULL).
 * Call once, and not with smime_encrypt_signed(). */
enum smx_status smime_encrypt_eom(struct smime_encrypt *enc,
				  const struct hdrlist *headers,
				  struct spool *body,
				  struct smx_error *err);

/* Encrypts the result of a signing that returned SMX_OK from
 * smime_sign_eom(): the MIME headers the signer adds (all but
 * MIME-Version) and its result body form the entity that is encrypted;
 * the signer's deletions of the original Content-* and MIME-Version
 * headers become this encryption's. sign is only read here and may be
 * freed afterwards. Returns like smime_encrypt_eom(). Call once, and not
 * with smime_encrypt_eom(). */
enum smx_status smime_encrypt_signed(struct smime_encrypt *enc,
				     struct smime_sign *sign,
				     struct smx_error *err);

/* After SMX_OK: the header edits in the order to apply them (struct
 * smime_header_edit of smx/smime.h): every Content-* and MIME-Version
 * header deleted (highest index first), then MIME-Version: 1.0,
 * Content-Type: application/pkcs7-mime; smime-type=enveloped-data (or
 * authEnveloped-data); name="smime.p7m", Content-Transfer-Encoding:
 * base64, Content-Disposition: attachment; filename="smime.p7m" added.
 * The pointers live as long as enc. */
size_t smime_encrypt_edit_count(const struct smime_encrypt *enc);
const struct smime_header_edit *smime_encrypt_edit(
	const struct smime_encrypt *enc, size_t i);

/* After SMX_OK: the new body, the CMS object in base64 (76-character
 * lines, CRLF), owned by enc; read it with spool_rewind() and
 * spool_read(). NULL before SMX_OK. */
struct spool *smime_encrypt_result_body(struct smime_encrypt *enc);

/* Frees everything of the message; sets *enc to NULL. NULL-safe. */
void smime_encrypt_free(struct smime_encrypt **enc);

#endif
