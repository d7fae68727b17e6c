/* SPDX-License-Identifier: BSD-2-Clause */
/* The MIME entity to sign: the message's Content-* headers and body in
 * canonical form (CRLF, 7-bit). GMime parses the structure and writes
 * re-encoded parts; this file only decides which parts need it. */
#include "hp-private.h"
#include "smime-private.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DEPTH 64		/* deeper nesting is copied as it is */

struct smime_entity {
	size_t threshold;
	char *dir;
	struct hdrlist *hdrs;	/* a copy of the message's, once finished */
	bool finished;
	struct tmpstore *raw;	/* entity headers, blank line, body as given */
	struct tmpstore *out;	/* the canonical entity */
	unsigned flags;
	const struct smime_hp *hp;	/* header protection, or NULL */
};

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

static void gmime_init_once(void)
{
	g_mime_init();
}

void smime_init(void)
{
	pthread_once(&gmime_once, gmime_init_once);
}

struct smime_entity *smime_entity_new(size_t mem_threshold, const char *dir)
{
	smime_init();
	struct smime_entity *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	e->threshold = mem_threshold ? mem_threshold : SMIME_DEFAULT_THRESHOLD;
	e->dir = strdup(dir != NULL ? dir : "/tmp");
	e->raw = tmpstore_new(e->threshold, e->dir);
	if (e->dir == NULL || e->raw == NULL)
		smime_entity_free(&e);
	return e;
}

static bool is_mime_header(const char *name)
{
	return strncasecmp(name, "Content-", 8) == 0 ||
	       strcasecmp(name, "MIME-Version") == 0;
}

/* Writes "name: value" with every line break in value made CRLF. */
static int write_header(struct smime_entity *e, const char *name,
			const char *value)
{
	for (const char *v = value; *v != '\0'; v++)
		if ((unsigned char)*v & 0x80)
			e->flags |= SMIME_ENTITY_8BIT_LEFT;
	return tmpstore_write_header(e->raw, name, value);
}

void entity_set_hp(struct smime_entity *e, const struct smime_hp *hp)
{
	e->hp = hp;
}

const struct smime_hp *entity_hp(const struct smime_entity *e)
{
	return e->hp;
}

/* With header protection: the protected fields and HP-Outer first. */
static int write_protected(struct smime_entity *e)
{
	if (e->hp == NULL)
		return 0;
	char *block = smime_hp_inner_block(e->hp);
	int rc = block != NULL ? tmpstore_write(e->raw, block, strlen(block))
			       : -1;
	for (const char *v = block; v != NULL && *v != '\0'; v++)
		if ((unsigned char)*v & 0x80)
			e->flags |= SMIME_ENTITY_8BIT_LEFT;
	free(block);
	return rc;
}

/* A Content-Type with the hp parameter of header protection added. */
static int write_protected_type(struct smime_entity *e, const char *value)
{
	size_t len = strlen(value);
	while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t' ||
			   value[len - 1] == '\r' || value[len - 1] == '\n' ||
			   value[len - 1] == ';'))
		len--;
	char *typed = NULL;
	if (asprintf(&typed, "%.*s; %s", (int)len, value,
		     hp_content_type_param(e->hp)) < 0)
		return -1;
	int rc = write_header(e, "Content-Type", typed);
	free(typed);
	return rc;
}

/* The header block of the entity: the Content-* headers in their order,
 * or the RFC 2045 default type when there is no Content-Type. */
static int write_headers(struct smime_entity *e)
{
	bool has_type = hdrlist_get(e->hdrs, "Content-Type") != NULL;
	if (write_protected(e) != 0)
		return -1;
	if (!has_type) {
		static const char deflt[] =
			"Content-Type: text/plain; charset=us-ascii";
		if (e->hp != NULL ? write_protected_type(
			    e, deflt + strlen("Content-Type:")) != 0
		    : (tmpstore_write(e->raw, deflt, sizeof(deflt) - 1) != 0 ||
		       tmpstore_write(e->raw, "\r\n", 2) != 0))
			return -1;
		e->flags |= SMIME_ENTITY_DEFAULT_TYPE;
	}
	bool typed = false;
	for (size_t i = 0; i < hdrlist_count(e->hdrs); i++) {
		const char *name = hdrlist_name(e->hdrs, i);
		const char *value = hdrlist_value(e->hdrs, i);
		if (!is_mime_header(name) ||
		    strcasecmp(name, "MIME-Version") == 0)
			continue;
		bool type = strcasecmp(name, "Content-Type") == 0;
		if (e->hp != NULL && type && !typed) {
			typed = true;
			if (write_protected_type(e, value) != 0)
				return -1;
		} else if (write_header(e, name, value) != 0) {
			return -1;
		}
	}
	return tmpstore_write(e->raw, "\r\n", 2);
}

/* --- deciding what to re-encode ------------------------------------------ */

static int plan_object(struct smime_entity *e, GMimeObject *obj, int depth);

static bool has_8bit(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if ((unsigned char)*s & 0x80)
			return true;
	return false;
}

/* A container labelled 8bit or binary gets the label removed (7bit is the
 * default) since everything inside it is made 7-bit. Returns 1 when the
 * label was removed. */
static int relabel_container(GMimeObject *obj)
{
	const char *cte = g_mime_object_get_header(obj,
						   "Content-Transfer-Encoding");
	if (cte == NULL)
		return 0;
	GMimeContentEncoding enc = g_mime_content_encoding_from_string(cte);
	if (enc != GMIME_CONTENT_ENCODING_8BIT &&
	    enc != GMIME_CONTENT_ENCODING_BINARY)
		return 0;
	g_mime_object_remove_header(obj, "Content-Transfer-Encoding");
	return 1;
}

/* Reads a leaf's content as it is encoded now and scans it. */
static int scan_leaf(GMimeDataWrapper *content, struct scan *sc)
{
	GMimeStream *s = g_mime_data_wrapper_get_stream(content);
	char buf[SMIME_CHUNK];
	ssize_t n;
	if (s == NULL)
		return 0;
	if (g_mime_stream_reset(s) != 0)
		return -1;
	/* A bounded GMimeStreamFs answers -1 at its end: eos tells. */
	while ((n = g_mime_stream_read(s, buf, sizeof(buf))) > 0)
		scan_bytes(sc, buf, (size_t)n);
	bool failed = n < 0 && !g_mime_stream_eos(s);
	scan_end(sc);
	g_mime_stream_reset(s);
	return failed ? -1 : 0;
}

static int plan_leaf(struct smime_entity *e, GMimePart *part)
{
	GMimeDataWrapper *content = g_mime_part_get_content(part);
	GMimeContentEncoding enc = g_mime_part_get_content_encoding(part);
	struct scan sc = { 0 };
	if (content != NULL && scan_leaf(content, &sc) != 0)
		return -1;
	if (scan_clean(&sc) && enc != GMIME_CONTENT_ENCODING_8BIT &&
	    enc != GMIME_CONTENT_ENCODING_BINARY)
		return 0;
	GMimeContentType *ct = g_mime_object_get_content_type(
		GMIME_OBJECT(part));
	bool text = ct == NULL || g_mime_content_type_is_type(ct, "text", "*");
	g_mime_part_set_content_encoding(part, text ?
		GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE :
		GMIME_CONTENT_ENCODING_BASE64);
	e->flags |= SMIME_ENTITY_REENCODED;
	return 1;
}

static int plan_multipart(struct smime_entity *e, GMimeMultipart *mp,
			  int depth)
{
	int changed = relabel_container(GMIME_OBJECT(mp));
	/* Parts of an existing signature or encryption must stay as they
	 * are: re-encoding them would break what they protect. */
	if (GMIME_IS_MULTIPART_SIGNED(mp) || GMIME_IS_MULTIPART_ENCRYPTED(mp))
		return changed;
	int n = g_mime_multipart_get_count(mp);
	for (int i = 0; i < n; i++) {
		int r = plan_object(e, g_mime_multipart_get_part(mp, i),
				    depth + 1);
		if (r < 0)
			return -1;
		changed |= r;
	}
	/* Nobody reads the prologue and epilogue; 8-bit there goes. */
	if (has_8bit(g_mime_multipart_get_prologue(mp))) {
		g_mime_multipart_set_prologue(mp, NULL);
		changed = 1;
	}
	if (has_8bit(g_mime_multipart_get_epilogue(mp))) {
		g_mime_multipart_set_epilogue(mp, NULL);
		changed = 1;
	}
	return changed;
}

/* message/rfc822 may not be base64 or quoted-printable (RFC 2046
 * 5.2.1): its own parts are re-encoded instead. Raw 8-bit in its headers
 * cannot be fixed without changing the attached message. */
static int plan_message_part(struct smime_entity *e, GMimeMessagePart *mpart,
			     int depth)
{
	int changed = relabel_container(GMIME_OBJECT(mpart));
	GMimeMessage *msg = g_mime_message_part_get_message(mpart);
	if (msg == NULL)
		return changed;
	GMimeHeaderList *list = g_mime_object_get_header_list(
		GMIME_OBJECT(msg));
	int n = g_mime_header_list_get_count(list);
	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(list, i);
		if (has_8bit(g_mime_header_get_raw_value(h)))
			e->flags |= SMIME_ENTITY_8BIT_LEFT;
	}
	GMimeObject *body = g_mime_message_get_mime_part(msg);
	if (body == NULL)
		return changed;
	int r = plan_object(e, body, depth + 1);
	return r < 0 ? -1 : (changed | r);
}

static int plan_object(struct smime_entity *e, GMimeObject *obj, int depth)
{
	if (depth > MAX_DEPTH)
		return 0;
	if (GMIME_IS_MULTIPART(obj))
		return plan_multipart(e, GMIME_MULTIPART(obj), depth);
	if (GMIME_IS_MESSAGE_PART(obj))
		return plan_message_part(e, GMIME_MESSAGE_PART(obj), depth);
	if (GMIME_IS_PART(obj))
		return plan_leaf(e, GMIME_PART(obj));
	return 0;
}

/* --- writing the canonical entity ---------------------------------------- */

/* A stream writing into out with every bare LF made CRLF (GMime leaves a
 * few, e.g. after an epilogue; the body may have them). */
static GMimeStream *crlf_stream(struct tmpstore *out)
{
	GMimeStream *fs = g_mime_stream_filter_new(tmpstore_stream(out));
	GMimeFilter *f = g_mime_filter_unix2dos_new(FALSE);
	g_mime_stream_filter_add(GMIME_STREAM_FILTER(fs), f);
	g_object_unref(f);
	return fs;
}

static int copy_raw(struct tmpstore *raw, GMimeStream *dst)
{
	char buf[SMIME_CHUNK];
	ssize_t n;
	if (tmpstore_rewind(raw) != 0)
		return -1;
	while ((n = tmpstore_read(raw, buf, sizeof(buf))) > 0)
		if (g_mime_stream_write(dst, buf, (size_t)n) != n)
			return -1;
	return n < 0 ? -1 : 0;
}

static int write_object(GMimeObject *top, GMimeStream *dst)
{
	GMimeFormatOptions *fo = g_mime_format_options_new();
	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	ssize_t n = g_mime_object_write_to_stream(top, fo, dst);
	g_mime_format_options_free(fo);
	return n < 0 ? -1 : 0;
}

static GMimeObject *parse_raw(struct tmpstore *raw)
{
	GMimeStream *s = tmpstore_stream(raw);
	if (g_mime_stream_seek(s, 0, GMIME_STREAM_SEEK_SET) != 0)
		return NULL;
	GMimeParser *parser = g_mime_parser_new_with_stream(s);
	/* Leaves stay references into the stream, not copies in memory. */
	g_mime_parser_set_persist_stream(parser, TRUE);
	GMimeObject *top = g_mime_parser_construct_part(parser, NULL);
	g_object_unref(parser);
	return top;
}

static enum smx_status build_out(struct smime_entity *e, GMimeObject *top,
				 bool changed, struct smx_error *err)
{
	size_t raw_size = tmpstore_size(e->raw);
	/* Worst cases: LF -> CRLF doubles, quoted-printable triples. */
	e->out = tmpstore_new_for(e->threshold, e->dir,
				  raw_size * (changed ? 3 : 2));
	if (e->out == NULL) {
		smx_error_set(err, "cannot create a temporary file in %s",
			      e->dir);
		return SMX_TEMPFAIL;
	}
	GMimeStream *dst = crlf_stream(e->out);
	int rc = changed ? write_object(top, dst) : copy_raw(e->raw, dst);
	if (rc == 0 && g_mime_stream_flush(dst) != 0)
		rc = -1;
	g_object_unref(dst);
	if (rc != 0) {
		smx_error_set(err, "cannot write the signed entity to %s",
			      e->dir);
		return SMX_TEMPFAIL;
	}
	return SMX_OK;
}

enum smx_status smime_entity_finish(struct smime_entity *e,
				    const struct hdrlist *headers,
				    struct spool *body,
				    struct smx_error *err)
{
	smx_error_set(err, "%s", "");
	if (e->finished) {
		smx_error_set(err, "the entity is already finished");
		return SMX_PERMFAIL;
	}
	e->finished = true;
	e->hdrs = hdrlist_copy(headers);
	if (e->hdrs == NULL) {
		smx_error_set(err, "out of memory");
		return SMX_TEMPFAIL;
	}
	/* the raw entity: its header block, then the body as given */
	if (write_headers(e) != 0 || tmpstore_write_spool(e->raw, body) != 0) {
		smx_error_set(err, "cannot store the message in %s", e->dir);
		return SMX_TEMPFAIL;
	}
	GMimeObject *top = parse_raw(e->raw);
	if (top == NULL) {
		smx_error_set(err, "GMime cannot parse the MIME structure");
		return SMX_PERMFAIL;
	}
	int shown = hp_legacy_display(e->hp, top);
	int changed = shown < 0 ? -1 : plan_object(e, top, 0);
	if (changed >= 0)
		changed |= shown;
	enum smx_status st = SMX_TEMPFAIL;
	if (changed < 0)
		smx_error_set(err, "cannot read the stored message");
	else
		st = build_out(e, top, changed > 0, err);
	g_object_unref(top);
	tmpstore_free(&e->raw);	/* the parts referred to it until now */
	return st;
}

unsigned smime_entity_flags(const struct smime_entity *e)
{
	return e->flags;
}

size_t smime_entity_size(const struct smime_entity *e)
{
	return e->out != NULL ? tmpstore_size(e->out) : 0;
}

int smime_entity_rewind(struct smime_entity *e)
{
	return e->out != NULL ? tmpstore_rewind(e->out) : -1;
}

ssize_t smime_entity_read(struct smime_entity *e, void *buf, size_t len)
{
	return e->out != NULL ? tmpstore_read(e->out, buf, len) : -1;
}

size_t entity_header_count(const struct smime_entity *e)
{
	return e->hdrs != NULL ? hdrlist_count(e->hdrs) : 0;
}

const char *entity_header_value(const struct smime_entity *e, size_t i)
{
	return hdrlist_value(e->hdrs, i);
}

const char *entity_header_name(const struct smime_entity *e, size_t i,
			       bool *mime_r)
{
	const char *name = hdrlist_name(e->hdrs, i);
	*mime_r = is_mime_header(name);
	return name;
}

void smime_entity_free(struct smime_entity **e)
{
	if (e == NULL || *e == NULL)
		return;
	hdrlist_free(&(*e)->hdrs);
	tmpstore_free(&(*e)->raw);
	tmpstore_free(&(*e)->out);
	free((*e)->dir);
	free(*e);
	*e = NULL;
}
