/* SPDX-License-Identifier: BSD-2-Clause */
#include "testhdrs.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

struct testhdrs {
	char **names, **values;
	size_t n;
};

static void insert_at(struct testhdrs *h, size_t at, const char *name,
		      const char *value)
{
	h->names = realloc(h->names, (h->n + 1) * sizeof(char *));
	h->values = realloc(h->values, (h->n + 1) * sizeof(char *));
	assert_non_null(h->names);
	assert_non_null(h->values);
	memmove(h->names + at + 1, h->names + at, (h->n - at) * sizeof(char *));
	memmove(h->values + at + 1, h->values + at,
		(h->n - at) * sizeof(char *));
	h->names[at] = strdup(name);
	h->values[at] = strdup(value);
	h->n++;
}

struct testhdrs *testhdrs_new(const char *const *pairs)
{
	struct testhdrs *h = calloc(1, sizeof(*h));
	assert_non_null(h);
	for (size_t i = 0; pairs[i] != NULL; i += 2)
		insert_at(h, h->n, pairs[i], pairs[i + 1]);
	return h;
}

/* Position of occurrence index (from 1) of name. */
static size_t find(const struct testhdrs *h, const char *name,
		   unsigned index)
{
	unsigned seen = 0;
	for (size_t i = 0; i < h->n; i++)
		if (strcasecmp(h->names[i], name) == 0 && ++seen == index)
			return i;
	fail_msg("no occurrence %u of %s to edit", index, name);
	return 0;
}

void testhdrs_apply(struct testhdrs *h, const struct smime_header_edit *e)
{
	size_t at;
	switch (e->op) {
	case SMIME_EDIT_DELETE:
		at = find(h, e->name, e->index);
		free(h->names[at]);
		free(h->values[at]);
		memmove(h->names + at, h->names + at + 1,
			(h->n - at - 1) * sizeof(char *));
		memmove(h->values + at, h->values + at + 1,
			(h->n - at - 1) * sizeof(char *));
		h->n--;
		break;
	case SMIME_EDIT_CHANGE:
		at = find(h, e->name, e->index);
		free(h->values[at]);
		h->values[at] = strdup(e->value);
		break;
	case SMIME_EDIT_ADD:
		insert_at(h, h->n, e->name, e->value);
		break;
	case SMIME_EDIT_INSERT:
		insert_at(h, e->index < h->n ? e->index : h->n, e->name,
			  e->value);
		break;
	}
}

const char *testhdrs_get(const struct testhdrs *h, const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcasecmp(h->names[i], name) == 0)
			return h->values[i];
	return NULL;
}

size_t testhdrs_count(const struct testhdrs *h, const char *name)
{
	size_t c = 0;
	for (size_t i = 0; i < h->n; i++)
		c += strcasecmp(h->names[i], name) == 0;
	return c;
}

size_t testhdrs_n(const struct testhdrs *h)
{
	return h->n;
}

const char *testhdrs_name(const struct testhdrs *h, size_t i)
{
	return h->names[i];
}

const char *testhdrs_value(const struct testhdrs *h, size_t i)
{
	return h->values[i];
}

char *testhdrs_mime(const struct testhdrs *h)
{
	size_t len = 0;
	for (size_t i = 0; i < h->n; i++)
		len += strlen(h->names[i]) + strlen(h->values[i]) + 3;
	char *out = calloc(1, len + 1), *p = out;
	assert_non_null(out);
	for (size_t i = 0; i < h->n; i++) {
		if (strncasecmp(h->names[i], "Content-", 8) != 0 &&
		    strcasecmp(h->names[i], "MIME-Version") != 0)
			continue;
		p += sprintf(p, "%s:%s\r\n", h->names[i], h->values[i]);
	}
	return out;
}

void testhdrs_free(struct testhdrs **h)
{
	if (h == NULL || *h == NULL)
		return;
	for (size_t i = 0; i < (*h)->n; i++) {
		free((*h)->names[i]);
		free((*h)->values[i]);
	}
	free((*h)->names);
	free((*h)->values);
	free(*h);
	*h = NULL;
}

struct hdrlist *testhdrs_list(const char *const *pairs)
{
	struct hdrlist *l = hdrlist_new(0, 0);
	assert_non_null(l);
	for (size_t i = 0; pairs[i] != NULL; i += 2)
		assert_int_equal(hdrlist_append(l, pairs[i], pairs[i + 1]), 0);
	return l;
}

struct hdrlist *testhdrs_to_list(const struct testhdrs *h)
{
	struct hdrlist *l = hdrlist_new(0, 0);
	assert_non_null(l);
	for (size_t i = 0; i < h->n; i++)
		assert_int_equal(hdrlist_append(l, h->names[i], h->values[i]),
				 0);
	return l;
}

struct spool *testhdrs_spool(const void *data, size_t len, size_t chunk)
{
	const char *dir = getenv("SMX_TEST_DIR");
	struct spool *s = spool_new(1024 * 1024, dir != NULL ? dir : "/tmp",
				    0);
	const char *p = data;
	assert_non_null(s);
	if (chunk == 0)
		chunk = len > 0 ? len : 1;
	for (size_t off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		assert_int_equal(spool_append(s, p + off, n), 0);
	}
	return s;
}
