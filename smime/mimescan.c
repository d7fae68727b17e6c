/* SPDX-License-Identifier: BSD-2-Clause */
/* A look at the MIME structure of a message before GMime parses it.
 * GMime builds an object for every part it finds and compares every line
 * with every boundary of the multiparts it is inside (up to 1024 deep):
 * forty thousand empty parts, or multiparts nested a thousand deep around
 * a body of short lines, cost it hundreds of times what an honest message
 * of the same size costs, before the walker's own limits can apply. One
 * linear pass counts, conservatively, what GMime would build:
 *
 * - delimiter lines: lines that start with "--" followed by a token
 *   without white space inside (any token at all once a boundary with
 *   white space, an empty one or an RFC 2231 encoded one was declared);
 * - nesting: every boundary parameter found on any line (folded header
 *   lines followed, comments around its name and '=' skipped) is pushed, and popped by its close delimiter only
 *   when it is the innermost one.
 *
 * Both over-count: a false alarm needs thousands of such lines in
 * unencoded text, or boundaries declared in a body. */
#include "verify-private.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SCAN_TOKEN 256		/* longest token kept (RFC 2046: 70) */
#define SCAN_MAX_STACK 256	/* deeper is refused whatever the limit */

struct mscan {
	unsigned max_depth, max_delims;
	unsigned delims;
	bool any_token;		/* white space in boundaries is possible */
	bool over_depth, over_delims;
	char *stack[SCAN_MAX_STACK];
	unsigned depth;
	char line[SCAN_TOKEN];	/* the first bytes of the current line */
	size_t len;		/* bytes of it seen */
	bool want_value;	/* "boundary =" seen, its value not yet */
	bool want_equals;	/* "boundary" ended a line (folded header) */
};

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static void push_boundary(struct mscan *s, const char *v, size_t n)
{
	if (n == 0 || memchr(v, ' ', n) != NULL || memchr(v, '\t', n) != NULL)
		s->any_token = true;
	if (s->depth >= s->max_depth || s->depth >= SCAN_MAX_STACK) {
		s->over_depth = true;
		return;
	}
	s->stack[s->depth] = strndup(v, n);
	if (s->stack[s->depth] == NULL)
		s->over_depth = true;	/* out of memory: do not parse */
	else
		s->depth++;
}

/* Skips white space and RFC 822 comments (nested, with quoted pairs),
 * which GMime allows around a parameter's name and its '='. */
static const char *skip_cfws(const char *p, const char *end)
{
	while (p < end) {
		if (is_wsp(*p)) {
			p++;
			continue;
		}
		if (*p != '(')
			break;
		unsigned depth = 0;
		do {
			if (*p == '\\' && p + 1 < end)
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')')
				depth--;
			p++;
		} while (p < end && depth > 0);
	}
	return p;
}

/* Backwards from q (exclusive) over white space and comments; start
 * when a comment is not opened on this piece of the line. */
static const char *skip_cfws_back(const char *start, const char *q)
{
	while (q > start) {
		if (is_wsp(q[-1])) {
			q--;
			continue;
		}
		if (q[-1] != ')')
			break;
		unsigned depth = 0;
		do {
			char c = *--q;
			if (q > start && q[-1] == '\\')
				q--;		/* a quoted pair */
			else if (c == ')')
				depth++;
			else if (c == '(')
				depth--;
		} while (q > start && depth > 0);
	}
	return q;
}

/* The value of a boundary parameter at p (white space and comments
 * skipped). */
static void read_value(struct mscan *s, const char *p, const char *end)
{
	p = skip_cfws(p, end);
	s->want_value = p == end;	/* folded before the value */
	if (p == end)
		return;
	const char *v = p;
	if (*p == '"') {
		/* a quoted-string, its quoted pairs undone as GMime does:
		 * taken to the first quote, "b\"z" would be closed by a
		 * line "--b\--" that GMime reads as text, nesting unseen */
		char value[SCAN_TOKEN];
		size_t n = 0;
		for (p++; p < end && *p != '"'; p++) {
			if (*p == '\\' && p + 1 < end)
				p++;
			if (n < sizeof(value))
				value[n++] = *p;
		}
		push_boundary(s, value, n);
		return;
	} else {
		while (p < end && *p != ';' && !is_wsp(*p))
			p++;
	}
	push_boundary(s, v, (size_t)(p - v));
}

/* True when the eight bytes before p spell "boundary" (any case). */
static bool names_boundary(const char *start, const char *p)
{
	return p - start >= 8 && strncasecmp(p - 8, "boundary", 8) == 0;
}

/* Looks for "boundary[*n][*] =" in one piece of a line. The name and
 * its '=' may be split by a folded header line; a piece split by the
 * read buffer is looked at in two halves (a miss costs the sender one
 * level of nesting per 64 KiB). */
static void find_parameters(struct mscan *s, const char *p, const char *end)
{
	const char *start = p;
	if (s->want_value) {
		read_value(s, p, end);
		return;
	}
	if (s->want_equals) {
		s->want_equals = false;
		p = skip_cfws(p, end);
		if (p < end && *p == '=') {
			read_value(s, p + 1, end);
			return;
		}
	}
	const char *eq;
	while ((eq = memchr(p, '=', (size_t)(end - p))) != NULL) {
		const char *q = skip_cfws_back(start, eq);
		bool encoded = false;
		while (q > start && (q[-1] == '*' ||
				     (q[-1] >= '0' && q[-1] <= '9'))) {
			encoded = encoded || q[-1] == '*';
			q = skip_cfws_back(start, q - 1);
		}
		if (names_boundary(start, q)) {
			s->any_token = s->any_token || encoded;
			read_value(s, eq + 1, end);
		}
		p = eq + 1;
	}
	s->want_equals = names_boundary(start, skip_cfws_back(start, end));
}

/* The current line ended; s->line holds its first bytes. */
static void end_line(struct mscan *s)
{
	size_t n = s->len < SCAN_TOKEN ? s->len : SCAN_TOKEN;
	if (n < 2 || s->line[0] != '-' || s->line[1] != '-')
		return;
	while (n > 2 && is_wsp(s->line[n - 1]))
		n--;
	const char *tok = s->line + 2;
	size_t tlen = n - 2;
	if (tlen == 0)
		return;
	if (s->any_token || s->len > SCAN_TOKEN ||
	    (memchr(tok, ' ', tlen) == NULL && memchr(tok, '\t', tlen) == NULL))
		if (++s->delims > s->max_delims)
			s->over_delims = true;
	if (s->depth > 0 && tlen > 2 && tok[tlen - 1] == '-' &&
	    tok[tlen - 2] == '-') {
		const char *top = s->stack[s->depth - 1];
		if (strlen(top) == tlen - 2 && memcmp(top, tok, tlen - 2) == 0)
			free(s->stack[--s->depth]);
	}
}

/* A piece of the current line: [p, end), no line feed inside. */
static void line_piece(struct mscan *s, const char *p, const char *end)
{
	size_t n = (size_t)(end - p);
	if (s->len < SCAN_TOKEN)
		memcpy(s->line + s->len, p,
		       n < SCAN_TOKEN - s->len ? n : SCAN_TOKEN - s->len);
	if (s->len == 0 && (n == 0 || (*p != ' ' && *p != '\t')))
		s->want_value = s->want_equals = false;	/* no continuation */
	s->len += n;
	find_parameters(s, p, end);
}

static void scan_chunk(struct mscan *s, const char *p, const char *end)
{
	while (p < end && !s->over_depth && !s->over_delims) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		line_piece(s, p, nl != NULL ? nl : end);
		if (nl == NULL)
			return;
		end_line(s);
		s->len = 0;
		p = nl + 1;
	}
}

int mime_scan(struct smime_verify *m, GMimeStream *s, const char *path)
{
	struct mscan *sc = calloc(1, sizeof(*sc));
	char buf[SMIME_CHUNK];
	ssize_t n;
	int rc = 0;
	if (sc == NULL || g_mime_stream_seek(s, 0, GMIME_STREAM_SEEK_SET) < 0) {
		free(sc);
		return -1;
	}
	sc->max_depth = 2 * m->v->max_depth;
	sc->max_delims = 2 * m->v->max_parts;
	while (!sc->over_depth && !sc->over_delims &&
	       (n = g_mime_stream_read(s, buf, sizeof(buf))) > 0)
		scan_chunk(sc, buf, buf + n);
	if (!sc->over_depth && !sc->over_delims)
		end_line(sc);
	if (sc->over_depth)
		rc = verify_limit(m, &m->limit_depth_hit, path,
				  "levels of nesting", m->v->max_depth);
	else if (sc->over_delims)
		rc = verify_limit(m, &m->limit_parts_hit, path, "MIME parts",
				  m->v->max_parts);
	rc = rc < 0 ? -1 : (sc->over_depth || sc->over_delims) ? 1 : 0;
	while (sc->depth > 0)
		free(sc->stack[--sc->depth]);
	free(sc);
	if (g_mime_stream_seek(s, 0, GMIME_STREAM_SEEK_SET) < 0)
		return -1;
	return rc;
}
