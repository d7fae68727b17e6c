/* SPDX-License-Identifier: BSD-2-Clause */
/* Is a message already protected by its client? The Content-Type is
 * parsed (GMime), and the body is checked against the claim (for CMS
 * encryption: parsed whole; multiparts: parsed by GMime, the signature
 * or the armored OpenPGP message checked), so that neither a stray
 * "pkcs7-mime" in a parameter nor a body that only pretends to be
 * encrypted or signed exempts a message from encryption or signing. */
#include <smx/smime-protection.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>
#include <openssl/cms.h>
#include <openssl/objects.h>

#include <smx/smime.h>

#include "smime-private.h"
#include "verify-private.h"

/* Enough of the body for the outer DER header of a CMS ContentInfo. */
#define CMS_HEAD_ENCODED 4096
/* A body claiming client encryption is parsed whole; a larger one is not
 * believed (it is encrypted again, which is safe). */
#define CMS_WHOLE_MAX (64u << 20)
/* Certificates and CRLs in an OriginatorInfo, counted before parsing. */
#define CMS_ORIGINATOR_MAX 32

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
	if (body == NULL)	/* no body at all */
		return NULL;
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
	while (n > 0 && (start[n - 1] == '\r' || start[n - 1] == ' ' ||
			 start[n - 1] == '\t'))
		n--;
	*line = start;
	*line_len = n;
	return true;
}

static bool line_is(const char *line, size_t n, const char *text)
{
	return n == strlen(text) && memcmp(line, text, n) == 0;
}

static bool is_base64_text(const char *line, size_t n)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "abcdefghijklmnopqrstuvwxyz0123456789+/=";
	for (size_t i = 0; i < n; i++)
		if (line[i] == '\0' || strchr(alphabet, line[i]) == NULL)
			return false;
	return n > 0;
}

/* Is text, all of it, one complete OpenPGP armored block of the given
 * kind ("MESSAGE", "SIGNATURE") with blank lines around: the BEGIN line,
 * armor headers ("Key: value"), a blank line, base64 lines, an optional
 * "=XXXX" checksum, the END line. The first decoded octet goes to
 * *first (the block holds at least one). */
static bool armored_block(const char *text, size_t len, const char *kind,
			  unsigned char *first)
{
	char begin[64], end[64];
	snprintf(begin, sizeof(begin), "-----BEGIN PGP %s-----", kind);
	snprintf(end, sizeof(end), "-----END PGP %s-----", kind);
	enum { BEFORE, HEADERS, DATA, CHECKSUM, AFTER } at = BEFORE;
	size_t pos = 0, n;
	const char *line;
	unsigned char head[8];
	size_t decoded = 0;
	int state = 0;
	guint32 save = 0;
	while (next_line(text, len, &pos, &line, &n)) {
		switch (at) {
		case BEFORE:
			if (n == 0)
				continue;
			if (!line_is(line, n, begin))
				return false;
			at = HEADERS;
			continue;
		case HEADERS:
			if (n == 0)
				at = DATA;
			else if (memchr(line, ':', n) == NULL)
				return false;
			continue;
		case DATA:
			if (line_is(line, n, end)) {
				at = AFTER;
				continue;
			}
			if (n == 5 && line[0] == '=' &&
			    is_base64_text(line + 1, 4)) {
				at = CHECKSUM;
				continue;
			}
			if (!is_base64_text(line, n))
				return false;
			if (decoded < sizeof(head)) {
				/* a line of up to 76 characters decodes
				 * to at most 57 octets */
				unsigned char out[64];
				size_t take = n < 76 ? n : 76;
				size_t got = g_mime_encoding_base64_decode_step(
					(const unsigned char *)line, take, out,
					&state, &save);
				for (size_t i = 0; i < got &&
				     decoded < sizeof(head); i++)
					head[decoded++] = out[i];
			}
			continue;
		case CHECKSUM:
			if (!line_is(line, n, end))
				return false;
			at = AFTER;
			continue;
		case AFTER:
			if (n != 0)
				return false;
			continue;
		}
	}
	if (at != AFTER || decoded == 0)
		return false;
	*first = head[0];
	return true;
}

/* The packet tag of an OpenPGP packet header octet, old or new format;
 * -1 when the octet is no packet header. */
static int pgp_packet_tag(unsigned char octet)
{
	if (!(octet & 0x80))
		return -1;
	return octet & 0x40 ? octet & 0x3f : (octet >> 2) & 0x0f;
}

/* Would GMime's cost on stream be out of proportion? The pre-scan the
 * verifier uses, with its default limits: a body nesting deeper or with
 * more delimiter lines is not believed (it is signed or encrypted by us,
 * which is safe). */
static bool structure_too_costly(GMimeStream *stream)
{
	struct smime_verifier v = { .max_depth = SMIME_VERIFY_MAX_DEPTH,
				    .max_parts = SMIME_VERIFY_MAX_PARTS };
	struct smime_verify m = { .v = &v };
	int rc = mime_scan(&m, stream, "1");
	for (size_t i = 0; i < m.n_sigs; i++)
		free(m.sigs[i].comment);
	free(m.sigs);
	return rc != 0;
}

/* The body, under a Content-Type header, parsed by GMime (not more
 * than CMS_WHOLE_MAX of it, not when the pre-scan finds it too costly);
 * NULL when it cannot be. Unref the result. */
static GMimeObject *parse_body(const char *content_type, struct spool *body)
{
	size_t len = 0;
	unsigned char *raw = content_type != NULL && body != NULL
		? read_whole(NULL, body, &len) : NULL;
	if (raw == NULL)
		return NULL;
	smime_init();
	GByteArray *text = g_byte_array_sized_new(
		(guint)(len + strlen(content_type) + 20));
	g_byte_array_append(text, (const guint8 *)"Content-Type: ", 14);
	g_byte_array_append(text, (const guint8 *)content_type,
			    (guint)strlen(content_type));
	g_byte_array_append(text, (const guint8 *)"\r\n\r\n", 4);
	g_byte_array_append(text, raw, (guint)len);
	free(raw);
	GMimeStream *stream = g_mime_stream_mem_new_with_byte_array(text);
	if (structure_too_costly(stream)) {
		g_object_unref(stream);
		return NULL;
	}
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_persist_stream(parser, TRUE);
	GMimeObject *obj = g_mime_parser_construct_part(parser, NULL);
	g_object_unref(parser);
	g_object_unref(stream);
	return obj;
}

/* The decoded content of a leaf part, NUL-terminated, in a new buffer;
 * NULL when obj is no leaf part or has no content. */
static char *part_content(GMimeObject *obj, size_t *len_r)
{
	if (obj == NULL || !GMIME_IS_PART(obj))
		return NULL;
	GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(obj));
	if (w == NULL)
		return NULL;
	GMimeStream *mem = g_mime_stream_mem_new();
	char *out = NULL;
	if (g_mime_data_wrapper_write_to_stream(w, mem) >= 0) {
		GByteArray *ba = g_mime_stream_mem_get_byte_array(
			GMIME_STREAM_MEM(mem));
		out = malloc(ba->len + 1);
		if (out != NULL) {
			memcpy(out, ba->data, ba->len);
			out[ba->len] = '\0';
			*len_r = ba->len;
		}
	}
	g_object_unref(mem);
	return out;
}

/* The two parts of a multipart/signed or multipart/encrypted, exactly
 * two, the second a leaf part; false otherwise. */
static bool two_parts(GMimeObject *obj, GMimeObject **first,
		      GMimeObject **second)
{
	if (obj == NULL || !GMIME_IS_MULTIPART(obj) ||
	    g_mime_multipart_get_count(GMIME_MULTIPART(obj)) != 2)
		return false;
	*first = g_mime_multipart_get_part(GMIME_MULTIPART(obj), 0);
	*second = g_mime_multipart_get_part(GMIME_MULTIPART(obj), 1);
	return *first != NULL && *second != NULL && GMIME_IS_PART(*second);
}

/* The signature part's content type is the protocol parameter. */
static bool type_is_protocol(GMimeObject *part, const char *protocol)
{
	GMimeContentType *ct = g_mime_object_get_content_type(part);
	const char *slash = strchr(protocol, '/');
	if (ct == NULL || slash == NULL)
		return false;
	const char *type = g_mime_content_type_get_media_type(ct);
	const char *sub = g_mime_content_type_get_media_subtype(ct);
	size_t tlen = (size_t)(slash - protocol);
	return type != NULL && sub != NULL && strlen(type) == tlen &&
	       strncasecmp(type, protocol, tlen) == 0 &&
	       strcasecmp(sub, slash + 1) == 0;
}

/* multipart/signed: a signed part and a signature part of the type its
 * protocol names, holding a CMS SignedData or an armored OpenPGP
 * signature. A plain text only labelled signed is not signed. */
static bool signed_body_matches(const char *content_type, struct spool *body)
{
	GMimeObject *obj = parse_body(content_type, body);
	GMimeObject *first, *second;
	bool ok = false;
	if (obj != NULL && GMIME_IS_MULTIPART_SIGNED(obj) &&
	    two_parts(obj, &first, &second)) {
		const char *protocol = g_mime_content_type_get_parameter(
			g_mime_object_get_content_type(obj), "protocol");
		size_t len = 0;
		char *sig = protocol != NULL &&
			type_is_protocol(second, protocol)
			? part_content(second, &len) : NULL;
		unsigned char octet;
		if (sig != NULL && strcasecmp(protocol,
					      "application/pgp-signature") == 0)
			ok = armored_block(sig, len, "SIGNATURE", &octet);
		else if (sig != NULL)
			ok = content_info_is((const unsigned char *)sig, len,
					     SMIME_CLAIM_SIGNED_CMS);
		free(sig);
	}
	if (obj != NULL)
		g_object_unref(obj);
	if (body != NULL)
		spool_rewind(body);
	return ok;
}

/* PGP/MIME: the second part is, apart from blank lines, one complete
 * armored OpenPGP message whose first packet is an encrypted session key
 * (public-key, tag 1, or symmetric-key, tag 3). The armor line in front
 * of plaintext is not encryption. */
static bool pgp_body_matches(const char *content_type, struct spool *body)
{
	GMimeObject *obj = parse_body(content_type, body);
	GMimeObject *first, *second;
	bool ok = false;
	if (obj != NULL && GMIME_IS_MULTIPART_ENCRYPTED(obj) &&
	    two_parts(obj, &first, &second)) {
		size_t len = 0;
		char *text = part_content(second, &len);
		unsigned char octet;
		int tag = text != NULL &&
			armored_block(text, len, "MESSAGE", &octet)
			? pgp_packet_tag(octet) : -1;
		ok = tag == 1 || tag == 3;
		free(text);
	}
	if (obj != NULL)
		g_object_unref(obj);
	if (body != NULL)
		spool_rewind(body);
	return ok;
}

bool smime_protection_body_matches(enum smime_claim claim,
				   const char *content_type,
				   const char *transfer_encoding,
				   struct spool *body)
{
	switch (claim) {
	case SMIME_CLAIM_SIGNED:
		return signed_body_matches(content_type, body);
	case SMIME_CLAIM_SIGNED_CMS:
		return cms_body_matches(claim, transfer_encoding, body);
	case SMIME_CLAIM_ENCRYPTED_CMS:
		/* parsed whole: the census and the parse check the type */
		return whole_body_is_envelope(transfer_encoding, body);
	case SMIME_CLAIM_ENCRYPTED_PGP:
		return pgp_body_matches(content_type, body);
	default:
		return false;
	}
}
