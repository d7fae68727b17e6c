/* SPDX-License-Identifier: BSD-2-Clause */
#include <smx/hdrlist.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct field {
	char *name;	/* name and value share one allocation */
	const char *value;
};

struct hdrlist {
	struct field *fields;
	size_t n, cap;
	size_t bytes;
	size_t max_count, max_bytes;
	bool truncated;
};

struct hdrlist *hdrlist_new(size_t max_count, size_t max_bytes)
{
	struct hdrlist *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	l->max_count = max_count;
	l->max_bytes = max_bytes;
	return l;
}

static bool over_bounds(const struct hdrlist *l, size_t bytes)
{
	return (l->max_count != 0 && l->n >= l->max_count) ||
	       (l->max_bytes != 0 && (bytes > l->max_bytes ||
				      l->bytes > l->max_bytes - bytes));
}

static int reserve_one(struct hdrlist *l)
{
	if (l->n < l->cap)
		return 0;
	size_t cap = l->cap ? l->cap * 2 : 16;
	if (cap > SIZE_MAX / sizeof(*l->fields)) {
		errno = ENOMEM;
		return -1;
	}
	struct field *grown = realloc(l->fields, cap * sizeof(*grown));
	if (grown == NULL)
		return -1;
	l->fields = grown;
	l->cap = cap;
	return 0;
}

int hdrlist_append(struct hdrlist *l, const char *name, const char *value)
{
	if (value == NULL)
		value = "";
	size_t name_len = strlen(name), value_len = strlen(value);
	size_t bytes = name_len + value_len + 4;
	if (bytes < name_len || over_bounds(l, bytes)) {
		l->truncated = true;
		return 1;
	}
	if (reserve_one(l) != 0)
		return -1;
	char *copy = malloc(name_len + value_len + 2);
	if (copy == NULL)
		return -1;
	memcpy(copy, name, name_len + 1);
	memcpy(copy + name_len + 1, value, value_len + 1);
	l->fields[l->n++] = (struct field){ copy, copy + name_len + 1 };
	l->bytes += bytes;
	return 0;
}

int hdrlist_fold_last(struct hdrlist *l, const char *line)
{
	if (l->n == 0) {
		errno = EINVAL;
		return -1;
	}
	struct field *f = &l->fields[l->n - 1];
	size_t name_len = strlen(f->name), value_len = strlen(f->value);
	size_t line_len = strlen(line), bytes = line_len + 1;
	if (bytes < line_len ||
	    (l->max_bytes != 0 && (bytes > l->max_bytes ||
				   l->bytes > l->max_bytes - bytes))) {
		l->truncated = true;
		return 1;
	}
	char *grown = realloc(f->name, name_len + value_len + bytes + 2);
	if (grown == NULL)
		return -1;
	char *value = grown + name_len + 1;
	value[value_len] = '\n';
	memcpy(value + value_len + 1, line, line_len + 1);
	*f = (struct field){ grown, value };
	l->bytes += bytes;
	return 0;
}

bool hdrlist_truncated(const struct hdrlist *l)
{
	return l->truncated;
}

size_t hdrlist_count(const struct hdrlist *l)
{
	return l->n;
}

const char *hdrlist_name(const struct hdrlist *l, size_t i)
{
	return l->fields[i].name;
}

const char *hdrlist_value(const struct hdrlist *l, size_t i)
{
	return l->fields[i].value;
}

size_t hdrlist_find(const struct hdrlist *l, const char *name, size_t from)
{
	for (size_t i = from; i < l->n; i++)
		if (strcasecmp(l->fields[i].name, name) == 0)
			return i;
	return l->n;
}

const char *hdrlist_get(const struct hdrlist *l, const char *name)
{
	size_t i = hdrlist_find(l, name, 0);
	return i < l->n ? l->fields[i].value : NULL;
}

struct hdrlist *hdrlist_copy(const struct hdrlist *l)
{
	struct hdrlist *c = hdrlist_new(l->max_count, l->max_bytes);
	for (size_t i = 0; c != NULL && i < l->n; i++)
		if (hdrlist_append(c, l->fields[i].name,
				   l->fields[i].value) != 0)
			hdrlist_free(&c);
	if (c != NULL)
		c->truncated = l->truncated;
	return c;
}

void hdrlist_free(struct hdrlist **lp)
{
	struct hdrlist *l = *lp;
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->fields[i].name);
	free(l->fields);
	free(l);
	*lp = NULL;
}
