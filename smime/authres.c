/* SPDX-License-Identifier: BSD-2-Clause */
/* Authentication-Results (RFC 8601, method smime of RFC 7281): reading
 * the authserv-id and dmarc results of existing headers, and writing
 * ours. Everything read is bounded (AR_MAX_READ) and every value written
 * is either a token or a quoted-string built from cleaned text, so
 * nothing from a certificate can break the header. */
#include "verify-private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AR_MAX_READ 8192	/* bytes of an existing header looked at */
#define AR_ID_MAX 255		/* longest authserv-id compared */
#define QSEMI '\x01'		/* ';' inside a quoted-string */
#define QSPACE '\x02'		/* white space inside a quoted-string */

/* --- reading ----------------------------------------------------------------- */

/* A copy of value without comments, with quoted-strings unquoted and
 * their ';' and white space replaced by QSEMI/QSPACE, white space around
 * '=' and '/' removed, folding made plain spaces. NULL: memory. */
static char *ar_clean(const char *value)
{
	size_t n = strnlen(value, AR_MAX_READ);
	char *out = malloc(n + 1), *o = out;
	int depth = 0;
	bool quoted = false;
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char c = value[i];
		if (c == '\\' && (quoted || depth > 0) && i + 1 < n) {
			c = value[++i];
			if (depth == 0)
				*o++ = c == ';' ? QSEMI : c;
			continue;
		}
		if (quoted) {
			if (c == '"')
				quoted = false;
			else
				*o++ = c == ';' ? QSEMI :
				       (c == ' ' || c == '\t') ? QSPACE : c;
		} else if (c == '(') {
			depth++;
		} else if (c == ')' && depth > 0) {
			if (--depth == 0)
				*o++ = ' ';
		} else if (depth == 0) {
			if (c == '"')
				quoted = true;
			else
				*o++ = (c == '\r' || c == '\n' || c == '\t') ?
					' ' : c;
		}
	}
	*o = '\0';
	/* "a = b" -> "a=b", "dmarc / 1" -> "dmarc/1" */
	char *w = out;
	for (char *r = out; *r != '\0'; r++) {
		if (*r == ' ' && w > out && (w[-1] == '=' || w[-1] == '/'))
			continue;
		if ((*r == '=' || *r == '/') && w > out)
			while (w > out && w[-1] == ' ')
				w--;
		*w++ = *r;
	}
	*w = '\0';
	return out;
}

/* Skips CFWS: white space, line breaks and (nested) comments. */
static const char *skip_cfws(const char *p)
{
	int depth = 0;
	for (; *p != '\0'; p++) {
		if (depth > 0) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')')
				depth--;
		} else if (*p == '(') {
			depth = 1;
		} else if (*p != ' ' && *p != '\t' && *p != '\r' &&
			   *p != '\n') {
			break;
		}
	}
	return p;
}

static bool token_char(char c);

/* The authserv-id is the first element of the value: a token or a
 * quoted-string after optional CFWS, read whole (not cut at AR_MAX_READ:
 * a long comment in front must not hide it). */
bool ar_authserv_id(const char *value, char *out, size_t size)
{
	const char *p = skip_cfws(value);
	size_t n = 0;
	if (*p == '"') {
		/* unterminated: the id runs to the end, as a lenient reader
		 * would take it */
		for (p++; *p != '"' && *p != '\0'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			if (n + 1 >= size)
				return false;	/* too long to be the one */
			out[n++] = *p;
		}
	} else {
		for (; token_char(*p); p++) {
			if (n + 1 >= size)
				return false;
			out[n++] = *p;
		}
	}
	if (n == 0)
		return false;
	out[n] = '\0';
	for (char *c = out; *c != '\0'; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	return true;
}

bool smime_ar_authserv_id_is(const char *value, const char *authserv_id)
{
	char id[AR_ID_MAX + 2];	/* one more than the longest: longer fails */
	return ar_authserv_id(value, id, sizeof(id)) &&
	       strcasecmp(id, authserv_id) == 0;
}

/* Whether one resinfo ("dmarc=pass header.from=example.com ...") is a
 * pass for domain. */
static bool resinfo_dmarc_pass(char *ri, const char *domain)
{
	bool is_pass = false, from_ok = false;
	char *save = NULL;
	for (char *t = strtok_r(ri, " ", &save); t != NULL;
	     t = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(t, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		char *slash = strchr(t, '/');
		if (slash != NULL && slash < eq)
			*slash = '\0';	/* method version */
		if (strcasecmp(t, "dmarc") == 0)
			is_pass = strcasecmp(eq + 1, "pass") == 0;
		else if (strcasecmp(t, "header.from") == 0)
			from_ok = strcasecmp(eq + 1, domain) == 0;
	}
	return is_pass && from_ok;
}

bool ar_dmarc_pass(const char *value, const char *domain)
{
	char *c = ar_clean(value);
	bool pass = false;
	char *save = NULL;
	if (c == NULL)
		return false;
	/* the first element is the authserv-id */
	char *ri = strtok_r(c, ";", &save);
	while (!pass && (ri = strtok_r(NULL, ";", &save)) != NULL)
		pass = resinfo_dmarc_pass(ri, domain);
	free(c);
	return pass;
}

/* --- writing ----------------------------------------------------------------- */

struct sb {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct sb *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->cap ? b->cap * 2 : 256) + n;
		char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_str(struct sb *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* RFC 2045 token characters. */
static bool token_char(char c)
{
	return c > ' ' && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static bool all_token(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!token_char(s[i]))
			return false;
	return true;
}

/* A pvalue: a token, an address local@domain of token characters, or a
 * quoted-string. */
static void sb_pvalue(struct sb *b, const char *v)
{
	const char *at = strchr(v, '@');
	size_t n = strlen(v);
	if (all_token(v, n) ||
	    (at != NULL && strchr(at + 1, '@') == NULL &&
	     all_token(v, (size_t)(at - v)) && all_token(at + 1, strlen(at + 1)))) {
		sb_add(b, v, n);
		return;
	}
	sb_str(b, "\"");
	for (; *v != '\0'; v++) {
		if (*v == '"' || *v == '\\')
			sb_str(b, "\\");
		sb_add(b, v, 1);
	}
	sb_str(b, "\"");
}

static void sb_comment(struct sb *b, const char *c)
{
	sb_str(b, " (");
	for (; c != NULL && *c != '\0'; c++) {
		if (*c == '(' || *c == ')' || *c == '\\')
			sb_str(b, "\\");
		sb_add(b, c, 1);
	}
	sb_str(b, ")");
}

static void sb_prop(struct sb *b, const char *name, const char *value)
{
	if (value == NULL || *value == '\0')
		return;
	sb_str(b, "\n\tbody.smime-");
	sb_str(b, name);
	sb_str(b, "=");
	sb_pvalue(b, value);
}

static void ar_one(struct sb *b, const struct sigrec *s)
{
	sb_str(b, "\n\tsmime=");
	sb_str(b, smime_result_name(s->pub.result));
	sb_comment(b, s->comment);
	sb_prop(b, "identifier", s->identifier);
	sb_prop(b, "part", s->part);
	if (s->serial != NULL && s->issuer != NULL) {
		sb_prop(b, "serial", s->serial);
		sb_prop(b, "issuer", s->issuer);
	}
}

/* Every existing Authentication-Results with our authserv-id, highest
 * index first, then ours on top. */
static int make_edits(struct smime_verify *m)
{
	unsigned idx = 0;
	char id[256];
	size_t n = hdrlist_count(m->hdrs);
	m->edits = calloc(n + 1, sizeof(*m->edits));
	if (m->edits == NULL)
		return -1;
	for (size_t i = hdrlist_find(m->hdrs, "Authentication-Results", 0);
	     i < n; i = hdrlist_find(m->hdrs, "Authentication-Results", i + 1)) {
		idx++;
		if (ar_authserv_id(hdrlist_value(m->hdrs, i), id, sizeof(id)) &&
		    strcasecmp(id, m->v->authserv_id) == 0)
			m->edits[m->n_edits++] = (struct smime_header_edit){
				SMIME_EDIT_DELETE, "Authentication-Results",
				idx, NULL };
	}
	for (size_t i = 0; i < m->n_edits / 2; i++) {
		struct smime_header_edit t = m->edits[i];
		m->edits[i] = m->edits[m->n_edits - 1 - i];
		m->edits[m->n_edits - 1 - i] = t;
	}
	m->edits[m->n_edits++] = (struct smime_header_edit){
		SMIME_EDIT_INSERT, "Authentication-Results", 0, m->ar };
	return 0;
}

int ar_build(struct smime_verify *m)
{
	struct sb b = { 0 };
	sb_str(&b, " ");
	sb_str(&b, m->v->authserv_id);
	sb_str(&b, ";");
	if (m->n_sigs == 0)
		sb_str(&b, " smime=none");
	for (size_t i = 0; i < m->n_sigs; i++) {
		if (i > 0)
			sb_str(&b, ";");
		ar_one(&b, &m->sigs[i]);
	}
	if (b.oom) {
		free(b.p);
		return -1;
	}
	m->ar = b.p;
	return make_edits(m);
}
