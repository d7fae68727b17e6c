/* SPDX-License-Identifier: BSD-2-Clause */
/* Internals shared by the files of smx_smime. Not installed. */
#ifndef SMX_SMIME_PRIVATE_H
#define SMX_SMIME_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <gmime/gmime.h>
#include <openssl/bio.h>

#include <smx/smime.h>
#include <smx/spool.h>

#define SMIME_DEFAULT_THRESHOLD (1024u * 1024u)
#define SMIME_CHUNK 65536

/* --- temporary storage -------------------------------------------------
 * Bytes in a GMimeStreamMem up to a threshold, then in an unnamed 0600
 * file (GMimeStreamFs), so GMime can parse and write them and the size in
 * memory stays bounded. */
struct tmpstore;

/* An empty store that starts in memory and moves to a file in dir once
 * more than threshold bytes were written with tmpstore_write(). */
struct tmpstore *tmpstore_new(size_t threshold, const char *dir);

/* An empty store that GMime writes into directly: in memory when
 * expected bytes fit under the threshold, in a file otherwise. */
struct tmpstore *tmpstore_new_for(size_t threshold, const char *dir,
				  size_t expected);

/* Appends bytes. Returns 0 or -1 (memory, file creation or write). */
int tmpstore_write(struct tmpstore *ts, const void *data, size_t len);

/* Appends "name: value" and CRLF, with every line break in value (a
 * value as the milter receives it) made CRLF. Returns like
 * tmpstore_write. */
int tmpstore_write_header(struct tmpstore *ts, const char *name,
			  const char *value);

/* Appends the whole content of a spool (read from its start). Returns 0
 * or -1 (a read or write error). */
int tmpstore_write_spool(struct tmpstore *ts, struct spool *spool);

/* The underlying stream (owned by the store), positioned wherever the
 * last operation left it. */
GMimeStream *tmpstore_stream(struct tmpstore *ts);

/* Bytes held. */
size_t tmpstore_size(struct tmpstore *ts);

/* Reading from the start: returns 0 or -1; count, 0 at the end, -1. */
int tmpstore_rewind(struct tmpstore *ts);
ssize_t tmpstore_read(struct tmpstore *ts, void *buf, size_t len);

/* Frees the store (the file goes away); sets *ts to NULL. NULL-safe. */
void tmpstore_free(struct tmpstore **ts);

/* --- 7-bit scanner -----------------------------------------------------
 * Tells whether content may travel as 7bit unchanged: no byte above 127,
 * no NUL, no CR outside CRLF, no line longer than 998 octets (CR and LF
 * not counted). Feed it in chunks; call scan_end() after the last. */
struct scan {
	bool eightbit, nul, bare_cr, pending_cr;
	size_t line, maxline;
};

void scan_bytes(struct scan *sc, const void *data, size_t len);
void scan_end(struct scan *sc);
bool scan_clean(const struct scan *sc);

/* Whether a line of the entity starts with "--" boundary (at most
 * SMIME_BOUNDARY_MAX characters): 1 yes, 0 no, -1 read error. */
#define SMIME_BOUNDARY_MAX 70
int smime_boundary_occurs(struct smime_entity *e, const char *boundary);

/* --- entity internals for the signer ------------------------------------ */

/* The headers given to the entity, in order; *mime_r says whether the
 * header is Content-* or MIME-Version. */
size_t entity_header_count(const struct smime_entity *entity);
const char *entity_header_value(const struct smime_entity *entity, size_t i);
const char *entity_header_name(const struct smime_entity *entity, size_t i,
			       bool *mime_r);

/* --- errors ------------------------------------------------------------ */

/* Formats into err (smx_error_set) and appends the first OpenSSL error of this thread
 * (then clears the queue). */
void smime_err_ssl(struct smx_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* --- BIO adapters ------------------------------------------------------ */

/* A write-only BIO appending to spool; with lf_to_crlf every LF is
 * written as CRLF (for OpenSSL's base64 output). The spool stays the
 * caller's. */
BIO *smime_bio_spool_sink(struct spool *spool, bool lf_to_crlf);

/* A read-only BIO reading the entity from its start. */
BIO *smime_bio_entity_source(struct smime_entity *entity);

/* --- outer header edits (outer.c) ------------------------------------------ */

/* OUTER_SET: the outer message must carry name: value (changed in place
 * or added). OUTER_KEEP_OR_DROP: an original header with this name is
 * kept when its value fits, deleted otherwise, never added. */
enum outer_rule { OUTER_SET, OUTER_KEEP_OR_DROP };

struct outer_header {
	const char *name;
	const char *value;	/* with its leading space */
	enum outer_rule rule;
};

#define OUTER_MAX_WANTED 8

/* The fewest edits that turn the entity's MIME headers into want
 * (n_want at most OUTER_MAX_WANTED): deletions last first, then the
 * changes and additions in want's order; names point into e and want. A new array of *n_r
 * edits (free() it), NULL when out of memory. */
struct smime_header_edit *outer_edits(const struct smime_entity *e,
				      const struct outer_header *want,
				      size_t n_want, size_t *n_r);

/* The headers of an application/pkcs7-mime container (MIME-Version,
 * content_type, base64, the smime.p7m disposition) into out (room for
 * OUTER_MAX_WANTED); returns their number. */
size_t outer_pkcs7_container(const char *content_type,
			     struct outer_header *out);

/* The signer's entity (the original's headers) and the MIME headers of
 * its container (after smime_sign_eom; *n_r is 0 before), for
 * encrypting a signed message. */
const struct smime_entity *sign_entity(const struct smime_sign *m);
const struct outer_header *sign_container(const struct smime_sign *m,
					  size_t *n_r);

/* --- cmscensus.c ----------------------------------------------------------- */

/* What a CMS object holds, read from its BER structure without parsing
 * the certificates, CRLs and signer infos. Counts stop at limit + 1 (the
 * digest algorithms at VERIFY_MAX_DIGESTS + 1, verify-private.h), and the fields after a
 * count over its limit are not read. Used before any CMS object from
 * mail is parsed: verification and decryption. */
struct cms_census {
	bool signed_data;	/* a SignedData at all */
	bool enveloped;		/* Enveloped, AuthEnveloped or Authenticated
				 * data: the counts are its OriginatorInfo's */
	bool detached;		/* without its content */
	unsigned n_digests, n_certs, n_crls, n_signers;
	bool digest_twice;	/* one digest algorithm listed twice */
};

/* Fills c from der. Returns false when the structure cannot be read. */
bool cms_census(const unsigned char *der, size_t len, unsigned limit,
		struct cms_census *c);

#endif
