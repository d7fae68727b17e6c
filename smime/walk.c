/* SPDX-License-Identifier: BSD-2-Clause */
/* Finding the signatures of a message. GMime parses the structure; the
 * signed bytes of a multipart/signed are then cut from the stream as
 * received: GMime gives the offset of each part's headers and the
 * multipart's boundary, but no part's raw extent, so the two delimiter
 * lines that enclose the first body part (RFC 2046 5.1.1) are located
 * from the multipart's header offset, and the result is checked against
 * the offsets GMime gives for both parts. The bytes are never
 * re-serialized: only bare LF line ends become CRLF (RFC 8551 3.1.1).
 *
 * Not searched: message/rfc822 attachments (a forwarded message was
 * signed for its own From, not for this message) and encrypted content
 * (the gateway verifies before any decryption). */
#include "verify-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/objects.h>

/* --- reading lines of a stream ------------------------------------------- */

#define LINE_KEEP 200		/* a delimiter line is at most 2+70+2+WSP */

struct lines {
	GMimeStream *s;
	gint64 pos;		/* stream offset of buf[0] */
	size_t len, off;
	char buf[8192];
};

static void lines_init(struct lines *lr, GMimeStream *s, gint64 from)
{
	lr->s = s;
	lr->pos = from;
	lr->len = lr->off = 0;
}

/* The next byte, -1 at the end or on an error. */
static int lines_getc(struct lines *lr)
{
	if (lr->off == lr->len) {
		lr->pos += (gint64)lr->len;
		lr->len = lr->off = 0;
		if (g_mime_stream_seek(lr->s, lr->pos,
				       GMIME_STREAM_SEEK_SET) < 0)
			return -1;
		ssize_t n = g_mime_stream_read(lr->s, lr->buf,
					       sizeof(lr->buf));
		if (n <= 0)
			return -1;
		lr->len = (size_t)n;
	}
	return (unsigned char)lr->buf[lr->off++];
}

struct line {
	gint64 start;		/* offset of its first byte */
	char text[LINE_KEEP + 1];	/* its start, without the line end */
	size_t len;		/* its full length without the line end */
	unsigned eol;		/* 2 (CRLF), 1 (LF) or 0 (end of stream) */
};

/* Reads one line. Returns false at the end of the stream. */
static bool lines_next(struct lines *lr, struct line *ln)
{
	int c;
	bool cr = false;
	ln->start = lr->pos + (gint64)lr->off;
	ln->len = 0;
	ln->eol = 0;
	while ((c = lines_getc(lr)) >= 0) {
		if (c == '\n') {
			ln->eol = cr ? 2 : 1;
			if (cr)
				ln->len--;
			break;
		}
		cr = c == '\r';
		if (ln->len < LINE_KEEP)
			ln->text[ln->len] = (char)c;
		ln->len++;
	}
	ln->text[ln->len < LINE_KEEP ? ln->len : LINE_KEEP] = '\0';
	return ln->len > 0 || ln->eol > 0;
}

/* 1: "--boundary", 2: "--boundary--", 0: neither (trailing white space
 * is allowed, RFC 2046 transport padding). */
static int delimiter(const struct line *ln, const char *b, size_t blen)
{
	if (ln->len > LINE_KEEP || ln->len < blen + 2 ||
	    strncmp(ln->text, "--", 2) != 0 ||
	    strncmp(ln->text + 2, b, blen) != 0)
		return 0;
	const char *rest = ln->text + 2 + blen;
	int kind = 1;
	if (strncmp(rest, "--", 2) == 0) {
		kind = 2;
		rest += 2;
	}
	return rest[strspn(rest, " \t")] == '\0' ? kind : 0;
}

/* The extent of the first body part of a multipart whose headers start
 * at hdr: [*start, *end) and the offset *next just after the delimiter
 * that ends it. Reads at most max_scan bytes. Returns false when it is
 * not delimited within them. */
static bool first_part_range(GMimeStream *s, gint64 hdr, const char *b,
			     gint64 max_scan, gint64 *start, gint64 *end,
			     gint64 *next)
{
	struct lines *lr = malloc(sizeof(*lr));
	struct line ln;
	size_t blen = strlen(b);
	unsigned prev_eol = 0;
	int state = 0;		/* 0 headers, 1 preamble, 2 first part */
	bool found = false;
	if (lr == NULL)
		return false;
	lines_init(lr, s, hdr);
	while (!found && lines_next(lr, &ln) && ln.start - hdr <= max_scan) {
		if (state == 0) {
			if (ln.len == 0)
				state = 1;
		} else if (state == 1) {
			if (delimiter(&ln, b, blen) == 1) {
				*start = ln.start + (gint64)ln.len + ln.eol;
				state = 2;
			}
		} else if (delimiter(&ln, b, blen) != 0) {
			*end = ln.start - prev_eol;
			if (*end < *start)
				*end = *start;
			*next = ln.start + (gint64)ln.len + ln.eol;
			found = true;
		}
		prev_eol = ln.eol;
		if (ln.eol == 0)
			break;
	}
	free(lr);
	return found;
}

/* Copies [start, end) of s into out with bare LF made CRLF. Returns 0, 1
 * when more than max bytes would result, -1 on an error. */
static int copy_canonical(GMimeStream *s, gint64 start, gint64 end,
			  struct tmpstore *out, size_t max)
{
	char in[SMIME_CHUNK], buf[2 * SMIME_CHUNK];
	char prev = 0;
	size_t total = 0;
	if (g_mime_stream_seek(s, start, GMIME_STREAM_SEEK_SET) < 0)
		return -1;
	while (start < end) {
		size_t want = (size_t)(end - start) < sizeof(in) ?
			(size_t)(end - start) : sizeof(in);
		ssize_t n = g_mime_stream_read(s, in, want);
		if (n <= 0)
			return -1;
		size_t o = 0;
		for (ssize_t i = 0; i < n; i++) {
			if (in[i] == '\n' && prev != '\r')
				buf[o++] = '\r';
			buf[o++] = in[i];
			prev = in[i];
		}
		total += o;
		if (total > max)
			return 1;
		if (tmpstore_write(out, buf, o) != 0)
			return -1;
		start += n;
	}
	return 0;
}

/* The decoded content of a leaf (transfer encoding undone) in a new
 * buffer. Returns 0, 1 when there is none or it exceeds max, -1 on an
 * error. */
static int decode_part(GMimePart *part, size_t max, unsigned char **der_r,
		       size_t *len_r)
{
	GMimeDataWrapper *w = g_mime_part_get_content(part);
	if (w == NULL)
		return 1;
	gint64 enc_len = g_mime_stream_length(g_mime_data_wrapper_get_stream(w));
	if (enc_len <= 0 || (guint64)enc_len > max)
		return 1;
	GMimeStream *mem = g_mime_stream_mem_new();
	if (mem == NULL)
		return -1;
	int rc = -1;
	if (g_mime_data_wrapper_write_to_stream(w, mem) >= 0) {
		GByteArray *ba = g_mime_stream_mem_get_byte_array(
			GMIME_STREAM_MEM(mem));
		/* An empty result has no data pointer at all. */
		*der_r = malloc(ba->len ? ba->len : 1);
		if (*der_r != NULL) {
			if (ba->len > 0)
				memcpy(*der_r, ba->data, ba->len);
			*len_r = ba->len;
			rc = ba->len ? 0 : 1;
		}
	}
	g_object_unref(mem);
	if (rc == 1) {
		free(*der_r);
		*der_r = NULL;
	}
	return rc;
}

/* --- the walk -------------------------------------------------------------- */

struct walker {
	struct smime_verify *m;
	GMimeStream *stream;	/* the stream GMime's offsets refer to */
};

static int walk_object(struct walker *w, GMimeObject *obj, const char *path,
		       unsigned depth);
static int walk_entity(struct smime_verify *m, GMimeStream *s,
		       const char *path, unsigned depth);

int verify_limit(struct smime_verify *m, bool *hit, const char *path,
		 const char *what, unsigned n)
{
	if (*hit)
		return 0;
	*hit = true;
	struct sigrec *s = verify_add_sig(m, path, false);
	if (s == NULL)
		return -1;
	sig_set(s, SMIME_RESULT_PERMERROR, SMIME_REASON_LIMIT,
		"more than %u %s", n, what);
	return 0;
}

bool verify_charge(struct smime_verify *m, size_t bytes)
{
	if (bytes > m->work_budget - m->work_spent)
		return false;
	m->work_spent += bytes;
	return true;
}

void verify_over_budget(struct sigrec *rec)
{
	sig_set(rec, SMIME_RESULT_PERMERROR, SMIME_REASON_LIMIT,
		"verification work over %u times the message size",
		VERIFY_WORK_FACTOR);
}

/* The budget of a message of len bytes (see VERIFY_WORK_FACTOR). */
static void set_budget(struct smime_verify *m, gint64 len)
{
	size_t size = len > 0 ? (size_t)len : 0;
	m->work_spent = 0;
	m->work_budget = size > (SIZE_MAX - VERIFY_WORK_SLACK) /
				       VERIFY_WORK_FACTOR ?
		SIZE_MAX : size * VERIFY_WORK_FACTOR + VERIFY_WORK_SLACK;
}

/* A record for the next signature, or *rec_r NULL past the limit.
 * Returns -1 when out of memory. */
static int claim_sig(struct smime_verify *m, const char *path, bool opaque,
		     struct sigrec **rec_r)
{
	*rec_r = NULL;
	if (m->n_checked >= m->v->max_signatures)
		return verify_limit(m, &m->limit_sigs_hit, path, "signatures",
				    m->v->max_signatures);
	m->n_checked++;
	*rec_r = verify_add_sig(m, path, opaque);
	return *rec_r == NULL ? -1 : 0;
}

static bool type_is(GMimeObject *obj, const char *type, const char *sub)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	return ct != NULL && g_mime_content_type_is_type(ct, type, sub);
}

static bool is_signature_type(const char *t)
{
	return t != NULL && (strcasecmp(t, "application/pkcs7-signature") == 0 ||
			     strcasecmp(t, "application/x-pkcs7-signature") == 0);
}

static gint64 first_header_offset(GMimeObject *obj)
{
	GMimeHeaderList *l = g_mime_object_get_header_list(obj);
	if (l == NULL || g_mime_header_list_get_count(l) == 0)
		return -1;
	return g_mime_header_get_offset(g_mime_header_list_get_header_at(l, 0));
}

static int walk_children(struct walker *w, GMimeMultipart *mp,
			 const char *path, unsigned depth, int from)
{
	char child[VERIFY_MAX_PATH];
	int n = g_mime_multipart_get_count(mp);
	for (int i = from; i < n; i++) {
		if ((size_t)snprintf(child, sizeof(child), "%s.%d", path,
				     i + 1) >= sizeof(child))
			return verify_limit(w->m, &w->m->limit_depth_hit, path,
					    "levels of nesting",
					    w->m->v->max_depth);
		if (walk_object(w, g_mime_multipart_get_part(mp, i), child,
				depth + 1) != 0)
			return -1;
	}
	return 0;
}

/* Cuts the signed bytes of a well-formed multipart/signed into a new
 * store. Returns 0, 1 (malformed, rec says why) or -1 (resources). */
static int cut_signed(struct walker *w, GMimeMultipart *mp,
		      struct sigrec *rec, struct tmpstore **content_r)
{
	GMimeObject *c0 = g_mime_multipart_get_part(mp, 0);
	GMimeObject *c1 = g_mime_multipart_get_part(mp, 1);
	const char *b = g_mime_multipart_get_boundary(mp);
	gint64 hdr = first_header_offset(GMIME_OBJECT(mp));
	gint64 start = 0, end = 0, next = 0;
	/* the scan may use what is left of the budget, the copy as much */
	gint64 max_scan = (gint64)((w->m->work_budget - w->m->work_spent) / 2);
	if (b == NULL || hdr < 0 ||
	    !first_part_range(w->stream, hdr, b, max_scan, &start, &end,
			      &next)) {
		if (b != NULL && hdr >= 0 &&
		    g_mime_stream_length(w->stream) - hdr > max_scan)
			verify_over_budget(rec);
		else
			sig_set(rec, SMIME_RESULT_PERMERROR,
				SMIME_REASON_MALFORMED,
				"signed part not delimited");
		return 1;
	}
	gint64 h0 = first_header_offset(c0), h1 = first_header_offset(c1);
	if ((h0 >= 0 && h0 != start) || (h1 >= 0 && h1 != next)) {
		sig_set(rec, SMIME_RESULT_PERMERROR, SMIME_REASON_MALFORMED,
			"ambiguous MIME structure");
		return 1;
	}
	/* the lines read to find it and the bytes copied */
	if (!verify_charge(w->m, (size_t)(next - hdr) +
			   (size_t)(end - start))) {
		verify_over_budget(rec);
		return 1;
	}
	*content_r = tmpstore_new(w->m->v->threshold, w->m->v->dir);
	if (*content_r == NULL)
		return -1;
	int rc = copy_canonical(w->stream, start, end, *content_r,
				w->m->v->max_bytes);
	if (rc == 1)
		sig_set(rec, SMIME_RESULT_PERMERROR, SMIME_REASON_LIMIT,
			"signed content over %zu bytes", w->m->v->max_bytes);
	if (rc != 0)
		tmpstore_free(content_r);
	return rc;
}

static int check_signed(struct walker *w, GMimeMultipart *mp,
			struct sigrec *rec)
{
	struct tmpstore *content = NULL;
	unsigned char *der = NULL;
	size_t der_len = 0;
	int rc = 0;
	GMimeObject *c1 = g_mime_multipart_get_count(mp) == 2 ?
		g_mime_multipart_get_part(mp, 1) : NULL;
	if (c1 == NULL || !GMIME_IS_PART(c1) ||
	    !(type_is(c1, "application", "pkcs7-signature") ||
	      type_is(c1, "application", "x-pkcs7-signature"))) {
		sig_set(rec, SMIME_RESULT_PERMERROR, SMIME_REASON_MALFORMED,
			"multipart/signed without a signature part");
		return 0;
	}
	rc = cut_signed(w, mp, rec, &content);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	rc = decode_part(GMIME_PART(c1), w->m->v->max_bytes, &der, &der_len);
	if (rc == 0)
		rc = sigcheck(w->m, rec, der, der_len, content, NULL);
	else if (rc == 1)
		sig_set(rec, SMIME_RESULT_PERMERROR, SMIME_REASON_MALFORMED,
			"signature part empty or too large");
	free(der);
	tmpstore_free(&content);
	return rc < 0 ? -1 : 0;
}

static int walk_signed(struct walker *w, GMimeMultipart *mp, const char *path,
		       unsigned depth)
{
	GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(mp));
	const char *proto = g_mime_content_type_get_parameter(ct, "protocol");
	struct sigrec *rec = NULL;
	if (!is_signature_type(proto))
		return walk_children(w, mp, path, depth, 0);
	if (claim_sig(w->m, path, false, &rec) != 0)
		return -1;
	if (rec != NULL && check_signed(w, mp, rec) != 0)
		return -1;
	/* the signed content may hold signatures of its own */
	return g_mime_multipart_get_count(mp) > 0 ?
		walk_children(w, mp, path, depth, 0) : 0;
}

/* application/pkcs7-mime, its x- form, or a .p7m sent as octet-stream. */
static bool opaque_candidate(GMimeObject *obj, bool *declared_r)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	const char *st = g_mime_content_type_get_parameter(ct, "smime-type");
	*declared_r = false;
	if (st != NULL && strcasecmp(st, "signed-data") != 0)
		return false;	/* enveloped, compressed, certs-only */
	if (type_is(obj, "application", "pkcs7-mime") ||
	    type_is(obj, "application", "x-pkcs7-mime")) {
		*declared_r = true;
		return true;
	}
	const char *name = g_mime_part_get_filename(GMIME_PART(obj));
	size_t n = name ? strlen(name) : 0;
	return type_is(obj, "application", "octet-stream") && n >= 4 &&
	       strcasecmp(name + n - 4, ".p7m") == 0;
}

/* Charges the parse of an opaque signature's content. Past the budget,
 * the content is not searched and one record at path says so. Returns
 * 1 to search, 0 not to, -1 when out of memory. */
static int charge_inner(struct smime_verify *m, const char *path,
			size_t bytes)
{
	if (verify_charge(m, bytes))
		return 1;
	struct sigrec *s = verify_add_sig(m, path, true);
	if (s == NULL)
		return -1;
	verify_over_budget(s);
	return 0;
}

static int walk_leaf(struct walker *w, GMimePart *part, const char *path,
		     unsigned depth)
{
	bool declared, detached = false;
	unsigned char *der = NULL;
	size_t len = 0;
	struct sigrec *rec = NULL;
	struct tmpstore *content = NULL;
	char inner[VERIFY_MAX_PATH];
	if (!opaque_candidate(GMIME_OBJECT(part), &declared))
		return 0;
	int rc = decode_part(part, w->m->v->max_bytes, &der, &len);
	int nid = rc == 0 ? sigcheck_sniff(w->m, der, len, &detached) : NID_undef;
	if (rc < 0 || (nid == NID_undef && !declared) ||
	    (nid != NID_undef && (nid != NID_pkcs7_signed || detached)))
		goto done;	/* not a signature we can check */
	if (claim_sig(w->m, path, true, &rec) != 0) {
		rc = -1;
		goto done;
	}
	if (rec == NULL)
		goto done;
	if (nid == NID_undef) {
		sig_set(rec, SMIME_RESULT_PERMERROR, SMIME_REASON_MALFORMED,
			"%s", rc == 1 ? "signed-data part empty or too large" :
			"signed-data part is not a CMS object");
		rc = 0;
		goto done;
	}
	rc = sigcheck(w->m, rec, der, len, NULL, &content);
	if (rc == 0 && content != NULL &&
	    (size_t)snprintf(inner, sizeof(inner), "%s.1", path) <
		    sizeof(inner))
		rc = charge_inner(w->m, inner, tmpstore_size(content));
	if (rc == 1)
		rc = walk_entity(w->m, tmpstore_stream(content), inner,
				 depth + 1);
done:
	free(der);
	tmpstore_free(&content);
	return rc < 0 ? -1 : 0;
}

static int walk_object(struct walker *w, GMimeObject *obj, const char *path,
		       unsigned depth)
{
	struct smime_verify *m = w->m;
	if (obj == NULL)
		return 0;
	if (++m->parts_seen > m->v->max_parts)
		return verify_limit(m, &m->limit_parts_hit, path, "MIME parts",
				    m->v->max_parts);
	if (depth > m->v->max_depth)
		return verify_limit(m, &m->limit_depth_hit, path,
				    "levels of nesting", m->v->max_depth);
	if (GMIME_IS_MULTIPART(obj)) {
		if (type_is(obj, "multipart", "signed"))
			return walk_signed(w, GMIME_MULTIPART(obj), path, depth);
		return walk_children(w, GMIME_MULTIPART(obj), path, depth, 0);
	}
	if (GMIME_IS_PART(obj))
		return walk_leaf(w, GMIME_PART(obj), path, depth);
	return 0;	/* message/rfc822, message/partial: not searched */
}

/* The content of an opaque signature: a MIME entity of its own. */
static int walk_entity(struct smime_verify *m, GMimeStream *s,
		       const char *path, unsigned depth)
{
	struct walker w = { m, s };
	int scan = mime_scan(m, s, path);
	if (scan != 0)
		return scan < 0 ? -1 : 0;
	GMimeParser *p = g_mime_parser_new_with_stream(s);
	if (p == NULL)
		return -1;
	g_mime_parser_set_persist_stream(p, TRUE);
	GMimeObject *obj = g_mime_parser_construct_part(p, NULL);
	int rc = walk_object(&w, obj, path, depth);
	if (obj != NULL)
		g_object_unref(obj);
	g_object_unref(p);
	return rc;
}

int walk_message(struct smime_verify *m, GMimeStream *raw)
{
	struct walker w = { m, raw };
	set_budget(m, g_mime_stream_length(raw));
	int scan = mime_scan(m, raw, "1");
	if (scan != 0)
		return scan < 0 ? -1 : 0;
	GMimeParser *p = g_mime_parser_new_with_stream(raw);
	if (p == NULL)
		return -1;
	g_mime_parser_set_persist_stream(p, TRUE);
	GMimeMessage *msg = g_mime_parser_construct_message(p, NULL);
	int rc = 0;
	if (msg != NULL) {
		rc = walk_object(&w, g_mime_message_get_mime_part(msg), "1", 1);
		g_object_unref(msg);
	}
	g_object_unref(p);
	return rc;
}
