/* SPDX-License-Identifier: BSD-2-Clause */
/* Internals of verification, shared by verifier.c, verify.c, walk.c,
 * sigcheck.c, authres.c and harvest.c. Not installed. */
#ifndef SMX_SMIME_VERIFY_PRIVATE_H
#define SMX_SMIME_VERIFY_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <gmime/gmime.h>
#include <openssl/x509.h>

#include "smime-private.h"

#define VERIFY_MAX_VALUE 256	/* longest property value in the header */
#define VERIFY_MAX_PATH 96	/* longest part path ("1.2.1...") */

/* Fixed bounds on what one SignedData may ask for, checked before any
 * hashing or public-key operation. OpenSSL hashes the whole content once
 * per digestAlgorithms entry (duplicates included) and makes one or two
 * public-key operations per signer info; honest senders list one digest
 * per signer and rarely sign twice. */
#define VERIFY_MAX_DIGESTS 4	/* digestAlgorithms entries, all distinct */
#define VERIFY_MAX_SIGNERS 4	/* signer infos */
#define VERIFY_MAX_KEY_BITS 8192	/* RSA and DSA keys in the set */

/* The work budget of one message: the bytes hashed, cut out, copied and
 * parsed again for all its signatures together may reach this many times
 * the message size plus VERIFY_WORK_SLACK. Nested signatures (each one
 * hashes everything inside it) are what an honest message pays more
 * than once for; a signature past the budget is not checked. */
#define VERIFY_WORK_FACTOR 4
#define VERIFY_WORK_SLACK (256u * 1024u)

struct smime_verifier {
	char *authserv_id;
	X509_STORE *anchors;
	unsigned max_signatures, max_certificates, max_depth, max_parts;
	size_t max_bytes, threshold;
	char *dir;
	bool harvest_untrusted, require_dmarc;
	char **dmarc_ids;
	size_t n_dmarc_ids;
	time_t verify_time;
};

/* One signature and everything learnt about it. */
struct sigrec {
	struct smime_signature pub;	/* its strings point into this */
	char part[VERIFY_MAX_PATH];
	char fingerprint[65];
	char *comment, *identifier, *serial, *issuer;
	char *harvest_comment;
	X509 *signer;			/* referenced; NULL when unknown */
	STACK_OF(X509) *certs;		/* the signature's certificate set */
	STACK_OF(X509_CRL) *crls;	/* and its CRLs */
	STACK_OF(X509) *path;		/* the signer's validated path, leaf
					 * first; NULL when not valid */
	unsigned char *caps;		/* DER SMIMECapabilities or NULL */
	size_t caps_len;
	int64_t signed_at;		/* signingTime (Unix seconds), not
					 * after the verification time; -1
					 * without one */
	X509 *pref;			/* named by SMIMEEncryptionKeyPreference
					 * and present in certs; referenced */
	bool pref_named;		/* the attribute is there at all */
	bool chain_untrusted_only;	/* the chain error says "no anchor" */
	bool leaf_time_ok, leaf_usage_ok;
	bool revocation_refused;	/* revoked, or unknown and refused */
};

/* A certificate chosen by the harvest rules. */
struct hvrec {
	struct smime_harvest_cert pub;
	struct smime_der *issuers;	/* DER owned (free) */
	size_t n_issuers;
	unsigned char *der;		/* owned (free) */
	char *email;
	char fingerprint[65];
};

struct smime_verify {
	const struct smime_verifier *v;
	const struct hdrlist *hdrs;	/* the caller's, during eom only */
	struct tmpstore *raw;		/* headers, CRLF, body as received */
	bool done;
	time_t now;
	char *from, *message_id;
	bool dmarc_pass;
	bool outbound;
	struct sigrec *sigs;
	size_t n_sigs, cap_sigs;
	unsigned n_checked;		/* signatures verified */
	bool limit_sigs_hit, limit_parts_hit, limit_depth_hit;
	unsigned parts_seen;
	size_t work_budget, work_spent;	/* bytes, see VERIFY_WORK_FACTOR */
	struct hvrec *hv;
	size_t n_hv, cap_hv;
	struct smime_header_edit *edits;
	size_t n_edits;
	char *ar;
	smime_revocation_fn *revocation;	/* NULL: not checked */
	void *revocation_arg;
};

/* --- verify.c ------------------------------------------------------------ */

/* Appends a signature record (zeroed, part copied). NULL when out of
 * memory. */
struct sigrec *verify_add_sig(struct smime_verify *m, const char *part,
			      bool opaque);

/* Sets the result, reason and comment of a record. */
void sig_set(struct sigrec *s, enum smime_result result,
	     enum smime_reason reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* A copy of text without control characters or bytes above 126, cut at
 * VERIFY_MAX_VALUE bytes. NULL when out of memory. */
char *verify_clean_dup(const char *text);

/* --- sigrevoke.c --------------------------------------------------------- */

/* Asks the message's revocation hook about the chain of a signer whose
 * chain verified (rec->pub.chain_trusted); a refusal sets the result
 * (fail or policy) and rec->revocation_refused. */
void sigcheck_revocation(struct smime_verify *m, struct sigrec *rec,
			 X509 *signer);

/* --- walk.c -------------------------------------------------------------- */

/* Parses the message in raw (headers from offset 0, body from
 * body_offset) and verifies every signature found. Returns 0, or -1 when
 * out of memory (the records made so far stay). */
int walk_message(struct smime_verify *m, GMimeStream *raw);

/* Adds the one permerror record of a limit (*hit says whether it was
 * made already): "more than n what". Returns 0, or -1 when out of
 * memory. */
int verify_limit(struct smime_verify *m, bool *hit, const char *path,
		 const char *what, unsigned n);

/* Charges bytes of work to the message. False, with nothing charged,
 * when that would go over its budget. */
bool verify_charge(struct smime_verify *m, size_t bytes);

/* Marks rec as not checked because the budget is spent. */
void verify_over_budget(struct sigrec *rec);

/* --- mimescan.c ----------------------------------------------------------- */

/* Looks at the structure of the MIME entity in s before GMime may parse
 * it: more than 2 * max_parts lines that may be boundary delimiters, or
 * boundaries nested more than 2 * max_depth deep, and it must not be
 * parsed (one permerror record at path says why). Returns 0 (parse it),
 * 1 (do not) or -1 (out of memory or unreadable); s is rewound. */
int mime_scan(struct smime_verify *m, GMimeStream *s, const char *path);

/* --- sigcheck.c ---------------------------------------------------------- */

/* Verifies one CMS SignedData (der) found at rec->part. content: the
 * canonical signed bytes of a detached signature (NULL for opaque);
 * content_r (opaque only, may be NULL): receives the signed content in a
 * new temporary store (owned by the caller) when the signature could be
 * checked at all. Fills rec; returns 0, or -1 when out of memory. */
int sigcheck(struct smime_verify *m, struct sigrec *rec,
	     const unsigned char *der, size_t der_len,
	     struct tmpstore *content, struct tmpstore **content_r);

/* Validates the path from x up to an anchor (RFC 5280) for purpose
 * (X509_PURPOSE_*) at the verification time, with the certificates and
 * CRLs of the SignedData rec (may be NULL) as intermediates and as a
 * revocation source. Returns the X509_V_ERR code: X509_V_OK when it
 * chains, and then the path in *path_r (may be NULL; the caller frees
 * it with sk_X509_pop_free). */
int sigcheck_chain(struct smime_verify *m, X509 *x, const struct sigrec *rec,
		   int purpose, STACK_OF(X509) **path_r);

/* True when a chain error only says "no path to an anchor". */
bool sigcheck_untrusted_only(int err);

/* The CMS content type of der: NID_pkcs7_signed for a SignedData with at
 * least one signer (*detached_r says whether it lacks its content),
 * NID_undef when der is not CMS, another NID else (NID_pkcs7_data for
 * certs-only and unknown types). A SignedData that holds more than the
 * bounds allow is not parsed: it is NID_pkcs7_signed, and sigcheck says
 * which bound it passes. */
int sigcheck_sniff(struct smime_verify *m, const unsigned char *der,
		   size_t len, bool *detached_r);

/* A read-only BIO over a GMime stream from its current position. */
BIO *verify_bio_gstream(GMimeStream *stream);

/* --- authres.c ----------------------------------------------------------- */

/* Copies the authserv-id of an Authentication-Results value into out
 * (lower case). Returns false when none can be read. */
bool ar_authserv_id(const char *value, char *out, size_t size);

/* True when value (an Authentication-Results header) has a dmarc=pass
 * result whose header.from is domain (any case). */
bool ar_dmarc_pass(const char *value, const char *domain);

/* Builds the header value and the edits. Returns 0 or -1 (memory). */
int ar_build(struct smime_verify *m);

/* --- harvest.c ----------------------------------------------------------- */

/* Applies the harvest rules to every signature record. Returns 0 or -1
 * (memory). */
int harvest_decide(struct smime_verify *m);

/* The addresses a certificate is for (smx_x509_mail_addresses: SAN
 * rfc822Names, else the subject's emailAddress), lower case, at most
 * SMX_X509_MAX_MAIL. The caller frees with
 * cert_emails_free. NULL with *n_r 0 when there is none. */
char **cert_emails(X509 *cert, size_t *n_r);
void cert_emails_free(char **emails, size_t n);

/* True when x carries no keyUsage or one of the bits in ku_any, and no
 * EKU or emailProtection among its EKU. */
bool cert_usage_ok(X509 *x, unsigned ku_any);

/* True when t lies inside the certificate's validity. */
bool cert_time_ok(X509 *x, time_t t);

#endif
