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

size_t outer_edits(const struct smime_entity *e,
		   const struct outer_header *want, size_t n_want,
		   struct smime_header_edit *out)
{
	size_t n = 0, n_hdrs = entity_header_count(e);
	bool present[OUTER_MAX_WANTED] = { false };
	/* Deletions, last first: what the container does not want, later
	 * occurrences of what it wants, and a first occurrence whose value
	 * does not fit where the rule is to keep or drop. */
	for (size_t i = n_hdrs; i-- > 0;) {
		bool mime;
		const char *name = entity_header_name(e, i, &mime);
		if (!mime)
			continue;
		unsigned index = occurrence(e, i);
		const struct outer_header *w = wanted(want, n_want, name);
		if (w != NULL && index == 1) {
			present[w - want] = true;
			if (w->rule == OUTER_SET ||
			    value_fits(name, entity_header_value(e, i),
				       w->value))
				continue;
		}
		put(out, &n, SMIME_EDIT_DELETE, name, index, NULL);
	}
	/* Changes in place of first occurrences whose value differs. */
	for (size_t i = 0; i < n_hdrs; i++) {
		bool mime;
		const char *name = entity_header_name(e, i, &mime);
		const struct outer_header *w = mime ? wanted(want, n_want, name)
						    : NULL;
		if (w != NULL && w->rule == OUTER_SET && occurrence(e, i) == 1 &&
		    !value_fits(name, entity_header_value(e, i), w->value))
			put(out, &n, SMIME_EDIT_CHANGE, name, 1, w->value);
	}
	for (size_t k = 0; k < n_want; k++)
		if (want[k].rule == OUTER_SET && !present[k])
			put(out, &n, SMIME_EDIT_ADD, want[k].name, 0,
			    want[k].value);
	return n;
}
