/* SPDX-License-Identifier: BSD-2-Clause */
/* The outer header edits of a signed or encrypted message.
 *
 * The original's MIME headers (MIME-Version and every Content-* header)
 * move into the protected entity; the outer message gets the headers of
 * the new container. What already fits is kept (MIME-Version: 1.0, a CTE
 * the container allows), a header the container needs is changed in
 * place where the original has it, and only what is left over is deleted
 * or added: fewer milter replies and queue-file updates in the MTA, and
 * the headers stay where the sender's client put them. (Measured through
 * Postfix, one edit or five make no difference beyond the benchmark's
 * noise, bench/run -m null-edit,null-edit5; replacing the body is what
 * costs.) */
#include "smime-private.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* s without leading and trailing white space, as [*start, *start+len). */
static size_t trimmed(const char *s, const char **start)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	*start = s;
	return len;
}

/* Whether the value a header has already says what want says.
 * "MIME-Version: 1.0 (produced by X)" says 1.0. */
static bool value_fits(const char *name, const char *have, const char *want)
{
	const char *h, *w;
	size_t hl = trimmed(have != NULL ? have : "", &h);
	size_t wl = trimmed(want, &w);
	if (hl == wl && strncasecmp(h, w, wl) == 0)
		return true;
	if (strcasecmp(name, "MIME-Version") != 0 || hl < wl ||
	    strncmp(h, w, wl) != 0)
		return false;
	const char *rest;
	trimmed(h + wl, &rest);
	return *rest == '(';
}

static const struct outer_header *wanted(const struct outer_header *want,
					 size_t n_want, const char *name)
{
	for (size_t i = 0; i < n_want; i++)
		if (strcasecmp(want[i].name, name) == 0)
			return &want[i];
	return NULL;
}

/* 1 + the number of headers before i with the same name. */
static unsigned occurrence(const struct smime_entity *e, size_t i)
{
	const char *name = entity_header_name(e, i, &(bool){ false });
	unsigned index = 1;
	for (size_t j = 0; j < i; j++)
		if (strcasecmp(entity_header_name(e, j, &(bool){ false }),
			       name) == 0)
			index++;
	return index;
}

static void put(struct smime_header_edit *out, size_t *n,
		enum smime_edit_op op, const char *name, unsigned index,
		const char *value)
{
	out[(*n)++] = (struct smime_header_edit){ op, name, index, value };
}

/* Deletions, last first: what the container does not want, later
 * occurrences of what it wants, and a first occurrence whose value does
 * not fit where the rule is to keep or drop. first[k] is set to the
 * position of want[k]'s first occurrence, or n_hdrs when it has none. */
static void deletions(const struct smime_entity *e,
		      const struct outer_header *want, size_t n_want,
		      size_t *first, struct smime_header_edit *out, size_t *n)
{
	size_t n_hdrs = entity_header_count(e);
	for (size_t k = 0; k < n_want; k++)
		first[k] = n_hdrs;
	for (size_t i = n_hdrs; i-- > 0;) {
		bool mime;
		const char *name = entity_header_name(e, i, &mime);
		if (!mime)
			continue;
		unsigned index = occurrence(e, i);
		const struct outer_header *w = wanted(want, n_want, name);
		if (w != NULL && index == 1) {
			first[w - want] = i;
			if (w->rule == OUTER_SET ||
			    value_fits(name, entity_header_value(e, i),
				       w->value))
				continue;
		}
		put(out, n, SMIME_EDIT_DELETE, name, index, NULL);
	}
}

struct smime_header_edit *outer_edits(const struct smime_entity *e,
				      const struct outer_header *want,
				      size_t n_want, size_t *n_r)
{
	size_t n = 0, n_hdrs = entity_header_count(e);
	size_t first[OUTER_MAX_WANTED];
	struct smime_header_edit *out = calloc(n_hdrs + n_want, sizeof(*out));
	*n_r = 0;
	if (out == NULL || n_want > OUTER_MAX_WANTED) {
		free(out);
		return NULL;
	}
	deletions(e, want, n_want, first, out, &n);
	/* Then what the container must carry: changed in place where the
	 * original has it with another value, added where it has not. */
	for (size_t k = 0; k < n_want; k++) {
		if (want[k].rule != OUTER_SET)
			continue;
		if (first[k] == n_hdrs)
			put(out, &n, SMIME_EDIT_ADD, want[k].name, 0,
			    want[k].value);
		else if (!value_fits(want[k].name,
				     entity_header_value(e, first[k]),
				     want[k].value))
			put(out, &n, SMIME_EDIT_CHANGE,
			    entity_header_name(e, first[k], &(bool){ false }),
			    1, want[k].value);
	}
	*n_r = n;
	return out;
}

size_t outer_pkcs7_container(const char *content_type,
			     struct outer_header *out)
{
	const struct outer_header hdrs[] = {
		{ "MIME-Version", " 1.0", OUTER_SET },
		{ "Content-Type", content_type, OUTER_SET },
		{ "Content-Transfer-Encoding", " base64", OUTER_SET },
		{ "Content-Disposition", " attachment; filename=\"smime.p7m\"",
		  OUTER_SET },
	};
	memcpy(out, hdrs, sizeof(hdrs));
	return sizeof(hdrs) / sizeof(hdrs[0]);
}
