/* SPDX-License-Identifier: BSD-2-Clause */
/* Protection a mail client applied itself: S/MIME or OpenPGP encryption
 * or signature. A message the client encrypted is left as it is, so the
 * test is strict: the parsed Content-Type must name an encrypted or
 * signed type and the body must really be one (CMS EnvelopedData or
 * AuthEnvelopedData, an OpenPGP message, a multipart/signed with its
 * signature). A parameter or a comment that
 * merely mentions "pkcs7-mime" counts for nothing. */
#ifndef SMX_SMIME_PROTECTION_H
#define SMX_SMIME_PROTECTION_H

#include <stdbool.h>

#include <smx/spool.h>

enum smime_claim {
	SMIME_CLAIM_NONE,
	SMIME_CLAIM_SIGNED,		/* multipart/signed with an S/MIME
					 * or OpenPGP signature protocol */
	SMIME_CLAIM_SIGNED_CMS,		/* application/(x-)pkcs7-mime;
					 * smime-type=signed-data */
	SMIME_CLAIM_ENCRYPTED_CMS,	/* application/(x-)pkcs7-mime;
					 * smime-type=enveloped-data or
					 * authEnveloped-data */
	SMIME_CLAIM_ENCRYPTED_PGP,	/* multipart/encrypted;
					 * protocol=application/pgp-encrypted */
};

/* What the Content-Type header value (NULL: none) says, parsed with
 * GMime: type, subtype and parameters, never a substring. Anything else,
 * compressed-data included, is SMIME_CLAIM_NONE. */
enum smime_claim smime_protection_claim(const char *content_type);

/* Does the body bear out the claim? Reads the body (from its beginning;
 * the read position is left at the start again), decoded as
 * transfer_encoding says (NULL: none; "base64" is decoded): for CMS the
 * outer ContentInfo's content type must be EnvelopedData or
 * AuthEnvelopedData (SignedData for SIGNED_CMS), an envelope parsed
 * whole. The multipart kinds are parsed by GMime (bodies up to 64 MiB
 * that pass the MIME pre-scan with the verifier's default limits):
 * exactly two parts, the second for SIGNED of the type the protocol
 * parameter names and holding a CMS SignedData or a complete armored
 * OpenPGP signature, for ENCRYPTED_PGP nothing but a complete armored
 * OpenPGP message starting with an encrypted session key packet. False
 * for SMIME_CLAIM_NONE and when the body cannot be read. */
bool smime_protection_body_matches(enum smime_claim claim,
				   const char *content_type,
				   const char *transfer_encoding,
				   struct spool *body);

/* Is the claim one of the encrypted kinds? Of the signed kinds? */
bool smime_claim_encrypted(enum smime_claim claim);
bool smime_claim_signed(enum smime_claim claim);

#endif
