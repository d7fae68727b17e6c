/* SPDX-License-Identifier: BSD-2-Clause */
/* The legacy display element of header protection: the hidden Subject
 * repeated at the top of the main text, for clients that show only the
 * outer header. Decoded content is rebuilt in memory: only the main
 * text parts, which the sender typed, are touched. */
#include "hp-private.h"
#include "smime-private.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAIN_PART_DEPTH 8

/* The decoded content of part, NUL-terminated, in a new GByteArray. */
static GByteArray *decoded(GMimePart *part)
{
	GMimeDataWrapper *w = g_mime_part_get_content(part);
	GMimeStream *mem = g_mime_stream_mem_new();
	GByteArray *out = NULL;
	if (w == NULL || g_mime_data_wrapper_write_to_stream(w, mem) >= 0) {
		GByteArray *a = g_mime_stream_mem_get_byte_array(
			GMIME_STREAM_MEM(mem));
		out = g_byte_array_sized_new(a->len + 1);
		g_byte_array_append(out, a->data, a->len);
	}
	g_object_unref(mem);
	return out;
}

/* Replaces the content of part with head + old content (decoded), to be
 * encoded again with the part's own transfer encoding on output. */
static int prepend(GMimePart *part, GByteArray *old, size_t at,
		   const char *head)
{
	GMimeStream *mem = g_mime_stream_mem_new();
	if (g_mime_stream_write(mem, (const char *)old->data, at) < 0 ||
	    g_mime_stream_write_string(mem, head) < 0 ||
	    g_mime_stream_write(mem, (const char *)old->data + at,
				old->len - at) < 0) {
		g_object_unref(mem);
		return -1;
	}
	g_mime_stream_reset(mem);
	GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(
		mem, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(part, w);
	g_object_unref(w);
	g_object_unref(mem);
	g_mime_object_set_content_type_parameter(GMIME_OBJECT(part),
						 "hp-legacy-display", "1");
	return 1;
}

/* Whether text may go into a part of this charset as UTF-8; a us-ascii
 * (or unlabelled) part is relabelled UTF-8 for it. */
static bool takes_utf8(GMimePart *part)
{
	const char *cs = g_mime_object_get_content_type_parameter(
		GMIME_OBJECT(part), "charset");
	if (cs == NULL || strcasecmp(cs, "us-ascii") == 0) {
		g_mime_object_set_content_type_parameter(GMIME_OBJECT(part),
							 "charset", "utf-8");
		return true;
	}
	return strcasecmp(cs, "utf-8") == 0 || strcasecmp(cs, "utf8") == 0;
}

static char *html_escaped(const char *s)
{
	size_t n = 0;
	for (const char *p = s; *p != '\0'; p++)
		n += *p == '&' ? 5 : *p == '<' || *p == '>' ? 4
		     : *p == '"' ? 6 : 1;
	char *out = malloc(n + 1), *o = out;
	for (const char *p = s; out != NULL && *p != '\0'; p++) {
		const char *rep = *p == '&' ? "&amp;" : *p == '<' ? "&lt;"
				  : *p == '>' ? "&gt;" : *p == '"' ? "&quot;"
				  : NULL;
		if (rep != NULL) {
			strcpy(o, rep);
			o += strlen(rep);
		} else {
			*o++ = *p;
		}
	}
	if (out != NULL)
		*o = '\0';
	return out;
}

/* Just after the <body ...> tag, or 0. */
static size_t after_body_tag(const GByteArray *html)
{
	const char *s = (const char *)html->data;
	for (size_t i = 0; i + 5 <= html->len; i++) {
		if (s[i] != '<' || strncasecmp(s + i + 1, "body", 4) != 0 ||
		    (i + 5 < html->len && s[i + 5] != '>' && s[i + 5] != ' ' &&
		     s[i + 5] != '\t' && s[i + 5] != '\r' && s[i + 5] != '\n'))
			continue;
		const char *gt = memchr(s + i, '>', html->len - i);
		return gt != NULL ? (size_t)(gt - s) + 1 : 0;
	}
	return 0;
}

static int display_in_text(const struct smime_hp *hp, GMimePart *part,
			   bool html)
{
	char *lines = hp_legacy_lines(hp, !takes_utf8(part));
	GByteArray *old = lines != NULL ? decoded(part) : NULL;
	char *head = NULL;
	int rc = lines == NULL ? 0 : -1;
	if (old == NULL)
		goto out;
	if (html) {
		char *esc = html_escaped(lines);
		if (esc == NULL || asprintf(&head, "<div class=\"header-"
			     "protection-legacy-display\"><pre>%s</pre></div>"
			     "\r\n", esc) < 0)
			head = NULL;
		free(esc);
	} else if (asprintf(&head, "%s\r\n\r\n", lines) < 0) {
		head = NULL;
	}
	if (head != NULL)
		rc = prepend(part, old, html ? after_body_tag(old) : 0, head);
out:
	if (old != NULL)
		g_byte_array_free(old, TRUE);
	free(head);
	free(lines);
	return rc;
}

static int display_in(const struct smime_hp *hp, GMimeObject *obj, int depth)
{
	if (depth > MAIN_PART_DEPTH)
		return 0;
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	if (GMIME_IS_MULTIPART_SIGNED(obj) || GMIME_IS_MULTIPART_ENCRYPTED(obj))
		return 0;
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int n = g_mime_multipart_get_count(mp);
		if (!g_mime_content_type_is_type(ct, "multipart", "alternative"))
			return n > 0 ? display_in(hp, g_mime_multipart_get_part(
					mp, 0), depth + 1) : 0;
		int changed = 0;
		for (int i = 0; i < n; i++) {
			int r = display_in(hp, g_mime_multipart_get_part(mp, i),
					   depth + 1);
			if (r < 0)
				return -1;
			changed |= r;
		}
		return changed;
	}
	if (!GMIME_IS_PART(obj) || g_mime_part_is_attachment(GMIME_PART(obj)))
		return 0;
	if (g_mime_content_type_is_type(ct, "text", "plain"))
		return display_in_text(hp, GMIME_PART(obj), false);
	if (g_mime_content_type_is_type(ct, "text", "html"))
		return display_in_text(hp, GMIME_PART(obj), true);
	return 0;
}

int hp_legacy_display(const struct smime_hp *hp, GMimeObject *top)
{
	if (hp == NULL || smime_hp_mode(hp) != SMIME_HP_CIPHER)
		return 0;
	return display_in(hp, top, 0);
}
