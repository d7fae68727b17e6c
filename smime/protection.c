/* SPDX-License-Identifier: BSD-2-Clause */
/* Is a message already protected by its client? The Content-Type is
 * parsed (GMime), and the body is checked against the claim (for CMS
 * encryption: parsed whole), so that neither a stray "pkcs7-mime" in a
 * parameter nor a body that only pretends to be encrypted exempts a
 * message from encryption. */
#include <smx/smime-protection.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>
#include <openssl/cms.h>
#include <openssl/objects.h>

#include <smx/smime.h>

#include "smime-private.h"

/* Enough of the body for the outer DER header of a CMS ContentInfo. */
#define CMS_HEAD_ENCODED 4096
/* A body claiming client encryption is parsed whole; a larger one is not
 * believed (it is encrypted again, which is safe). */
#define CMS_WHOLE_MAX (64u << 20)
/* Certificates and CRLs in an OriginatorInfo, counted before parsing. */
#define CMS_ORIGINATOR_MAX 32
/* Enough of a PGP/MIME body for its first part and the second part's
 * headers: the first part is "Version: 1". */
#define PGP_HEAD 65536

static const unsigned char OID_SIGNED[] = {	/* 1.2.840.113549.1.7.2 */
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02 };
static const unsigned char OID_ENVELOPED[] = {	/* 1.2.840.113549.1.7.3 */
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03 };
static const unsigned char OID_AUTH_ENVELOPED[] = {	/* ...9.16.1.23 */
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x17 };

static bool param_is(GMimeContentType *ct, const char *name,
		     const char *value)
{
	const char *v = g_mime_content_type_get_parameter(ct, name);
	return v != NULL && strcasecmp(v, value) == 0;
}

static enum smime_claim claim_of(GMimeContentType *ct)
{
	if (g_mime_content_type_is_type(ct, "application", "pkcs7-mime") ||
	    g_mime_content_type_is_type(ct, "application", "x-pkcs7-mime")) {
		if (param_is(ct, "smime-type", "enveloped-data") ||
		    param_is(ct, "smime-type", "authEnveloped-data"))
			return SMIME_CLAIM_ENCRYPTED_CMS;
		if (param_is(ct, "smime-type", "signed-data"))
			return SMIME_CLAIM_SIGNED_CMS;
		return SMIME_CLAIM_NONE;	/* compressed-data, certs-only */
	}
	if (g_mime_content_type_is_type(ct, "multipart", "encrypted"))
		return param_is(ct, "protocol", "application/pgp-encrypted")
			? SMIME_CLAIM_ENCRYPTED_PGP : SMIME_CLAIM_NONE;
	if (g_mime_content_type_is_type(ct, "multipart", "signed") &&
	    (param_is(ct, "protocol", "application/pkcs7-signature") ||
	     param_is(ct, "protocol", "application/x-pkcs7-signature") ||
	     param_is(ct, "protocol", "application/pgp-signature")))
		return SMIME_CLAIM_SIGNED;
	return SMIME_CLAIM_NONE;
}

/* Parses content_type; NULL when there is none. Unref the result. */
static GMimeContentType *parse_type(const char *content_type)
{
	if (content_type == NULL)
		return NULL;
	smime_init();
	return g_mime_content_type_parse(NULL, content_type);
}

enum smime_claim smime_protection_claim(const char *content_type)
{
	GMimeContentType *ct = parse_type(content_type);
	if (ct == NULL)
		return SMIME_CLAIM_NONE;
	enum smime_claim claim = claim_of(ct);
	g_object_unref(ct);
	return claim;
}

bool smime_claim_encrypted(enum smime_claim claim)
{
	return claim == SMIME_CLAIM_ENCRYPTED_CMS ||
	       claim == SMIME_CLAIM_ENCRYPTED_PGP;
}

bool smime_claim_signed(enum smime_claim claim)
{
	return claim == SMIME_CLAIM_SIGNED || claim == SMIME_CLAIM_SIGNED_CMS;
}

/* Reads up to size bytes from the start of body; the count, or -1. */
static ssize_t read_head(struct spool *body, unsigned char *buf, size_t size)
{
	if (body == NULL || spool_rewind(body) != 0)
		return -1;
	size_t len = 0;
	ssize_t n;
	while (len < size && (n = spool_read(body, buf + len, size - len)) > 0)
		len += (size_t)n;
	if (spool_rewind(body) != 0)
		return -1;
	return (ssize_t)len;
}

static bool is_base64(const char *transfer_encoding)
{
	if (transfer_encoding == NULL)
		return false;
	while (*transfer_encoding == ' ' || *transfer_encoding == '\t')
		transfer_encoding++;
	return strncasecmp(transfer_encoding, "base64", 6) == 0 &&
	       strspn(transfer_encoding + 6, " \t\r\n") ==
		       strlen(transfer_encoding + 6);
}

/* Skips a DER/BER tag-length header at *pos expecting tag; false when it
 * is not there. Indefinite lengths (BER, streaming writers) are fine. */
static bool der_enter(const unsigned char *der, size_t len, size_t *pos,
		      unsigned char tag, size_t *content_len)
{
	size_t p = *pos;
	if (p + 2 > len || der[p] != tag)
		return false;
	unsigned char l = der[p + 1];
	p += 2;
	size_t value = 0;
	if (l == 0x80) {
		value = SIZE_MAX;		/* indefinite */
	} else if (l & 0x80) {
		size_t n = l & 0x7f;
		if (n == 0 || n > 4 || p + n > len)
			return false;
		for (size_t i = 0; i < n; i++)
			value = value << 8 | der[p + i];
		p += n;
	} else {
		value = l;
	}
	*pos = p;
	*content_len = value;
	return true;
}

/* Is the content type of the ContentInfo that der starts with one of
 * oids? ContentInfo ::= SEQUENCE { contentType OID, [0] EXPLICIT ... } */
static bool content_info_is(const unsigned char *der, size_t len,
			    enum smime_claim claim)
{
	size_t pos = 0, seq_len, oid_len;
	if (!der_enter(der, len, &pos, 0x30, &seq_len) ||
	    !der_enter(der, len, &pos, 0x06, &oid_len) || pos + oid_len > len)
		return false;
	const unsigned char *oid = der + pos;
	size_t after = pos + oid_len, content_len;
	if (!der_enter(der, len, &after, 0xa0, &content_len))
		return false;
	if (claim == SMIME_CLAIM_SIGNED_CMS)
		return oid_len == sizeof(OID_SIGNED) &&
		       memcmp(oid, OID_SIGNED, oid_len) == 0;
	return (oid_len == sizeof(OID_ENVELOPED) &&
		memcmp(oid, OID_ENVELOPED, oid_len) == 0) ||
	       (oid_len == sizeof(OID_AUTH_ENVELOPED) &&
		memcmp(oid, OID_AUTH_ENVELOPED, oid_len) == 0);
}

/* The whole body, decoded (base64 or as it is), in a new buffer; NULL
 * when it cannot be read or is over CMS_WHOLE_MAX. */
static unsigned char *read_whole(const char *transfer_encoding,
				 struct spool *body, size_t *len_r)
{
	size_t cap = 1 << 16, len = 0;
	unsigned char *raw = malloc(cap);
	ssize_t n = 0;
	if (raw == NULL || spool_rewind(body) != 0)
		goto fail;
	while ((n = spool_read(body, raw + len, cap - len)) > 0) {
		len += (size_t)n;
		if (len == cap) {
			if (cap >= CMS_WHOLE_MAX)
				goto fail;
			unsigned char *bigger = realloc(raw, cap * 2);
			if (bigger == NULL)
				goto fail;
			raw = bigger;
			cap *= 2;
		}
	}
	if (n < 0 || spool_rewind(body) != 0)
		goto fail;
	if (is_base64(transfer_encoding)) {
		int state = 0;
		guint32 save = 0;
		/* decoding in place: the output never outruns the input */
		len = g_mime_encoding_base64_decode_step(raw, len, raw, &state,
							 &save);
	}
	*len_r = len;
	return raw;
fail:
	free(raw);
	spool_rewind(body);
	return NULL;
}

/* What may follow the CMS object in a body: line ends, blanks, and the
 * zero bytes some writers pad with. */
static bool is_trailer(unsigned char c)
{
	return c == '\r' || c == '\n' || c == ' ' || c == '\t' || c == 0;
}

/* A real EnvelopedData or AuthEnvelopedData, all of the body: it parses
 * to its end (only line ends or padding after it), names at least one
 * recipient and carries encrypted content. A valid header in front of
 * plaintext is not encryption. */
static bool whole_body_is_envelope(const char *transfer_encoding,
				   struct spool *body)
{
	size_t len = 0;
	unsigned char *der = read_whole(transfer_encoding, body, &len);
	struct cms_census census;
	bool ok = false;
	if (der == NULL || len == 0 ||
	    !cms_census(der, len, CMS_ORIGINATOR_MAX, &census) ||
	    !census.enveloped || census.n_certs > CMS_ORIGINATOR_MAX ||
	    census.n_crls > CMS_ORIGINATOR_MAX) {
		free(der);
		return false;
	}
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	size_t rest = cms != NULL ? len - (size_t)(p - der) : 0;
	while (rest > 0 && is_trailer(der[len - rest]))
		rest--;
	if (cms != NULL && rest == 0) {
		int nid = OBJ_obj2nid(CMS_get0_type(cms));
		ASN1_OCTET_STRING **content = CMS_get0_content(cms);
		ok = (nid == NID_pkcs7_enveloped ||
		      nid == NID_id_smime_ct_authEnvelopedData) &&
		     sk_CMS_RecipientInfo_num(CMS_get0_RecipientInfos(cms)) > 0 &&
		     content != NULL && *content != NULL &&
		     ASN1_STRING_length(*content) > 0;
	}
	CMS_ContentInfo_free(cms);
	free(der);
	return ok;
}

static bool cms_body_matches(enum smime_claim claim,
			     const char *transfer_encoding, struct spool *body)
{
	unsigned char raw[CMS_HEAD_ENCODED];
	ssize_t got = read_head(body, raw, sizeof(raw));
	if (got <= 0)
		return false;
	if (!is_base64(transfer_encoding))
		return content_info_is(raw, (size_t)got, claim);
	unsigned char der[CMS_HEAD_ENCODED];
	int state = 0;
	guint32 save = 0;
	size_t len = g_mime_encoding_base64_decode_step(raw, (size_t)got, der,
							&state, &save);
	return content_info_is(der, len, claim);
}

/* The next line of text[*pos..len): its start and length without the
 * line end; false at the end of the text. */
static bool next_line(const char *text, size_t len, size_t *pos,
		      const char **line, size_t *line_len)
{
	if (*pos >= len)
		return false;
	const char *start = text + *pos;
	const char *nl = memchr(start, '\n', len - *pos);
	size_t n = nl != NULL ? (size_t)(nl - start) : len - *pos;
	*pos += n + (nl != NULL);
	if (n > 0 && start[n - 1] == '\r')
		n--;
	*line = start;
	*line_len = n;
	return true;
}

static bool is_delimiter(const char *line, size_t n, const char *boundary)
{
	size_t b = strlen(boundary);
	if (n < b + 2 || line[0] != '-' || line[1] != '-' ||
	    memcmp(line + 2, boundary, b) != 0)
		return false;
	for (size_t i = b + 2; i < n; i++)	/* transport padding */
		if (line[i] != ' ' && line[i] != '\t')
			return false;
	return true;
}

/* PGP/MIME: the second part's content starts with the message armor. */
static bool pgp_body_matches(const char *content_type, struct spool *body)
{
	GMimeContentType *ct = parse_type(content_type);
	const char *boundary = ct != NULL
		? g_mime_content_type_get_parameter(ct, "boundary") : NULL;
	char *buf = boundary != NULL && boundary[0] != '\0'
		? malloc(PGP_HEAD) : NULL;	/* not on a thread's stack */
	bool found = false;
	ssize_t got = buf != NULL
		? read_head(body, (unsigned char *)buf, PGP_HEAD) : -1;
	size_t pos = 0, n;
	const char *line;
	int delimiters = 0;
	bool in_headers = false;
	while (got > 0 && next_line(buf, (size_t)got, &pos, &line, &n)) {
		if (is_delimiter(line, n, boundary)) {
			if (++delimiters > 2)
				break;
			in_headers = delimiters == 2;
			continue;
		}
		if (delimiters < 2)
			continue;
		if (in_headers) {
			in_headers = n > 0;	/* a blank line ends them */
			continue;
		}
		if (n == 0)
			continue;
		static const char armor[] = "-----BEGIN PGP MESSAGE-----";
		found = n >= sizeof(armor) - 1 &&
			memcmp(line, armor, sizeof(armor) - 1) == 0;
		break;
	}
	free(buf);
	if (ct != NULL)
		g_object_unref(ct);
	return found;
}

bool smime_protection_body_matches(enum smime_claim claim,
				   const char *content_type,
				   const char *transfer_encoding,
				   struct spool *body)
{
	switch (claim) {
	case SMIME_CLAIM_SIGNED:
		return true;
	case SMIME_CLAIM_SIGNED_CMS:
		return cms_body_matches(claim, transfer_encoding, body);
	case SMIME_CLAIM_ENCRYPTED_CMS:
		return cms_body_matches(claim, transfer_encoding, body) &&
		       whole_body_is_envelope(transfer_encoding, body);
	case SMIME_CLAIM_ENCRYPTED_PGP:
		return pgp_body_matches(content_type, body);
	default:
		return false;
	}
}
