/* SPDX-License-Identifier: BSD-2-Clause */
/* The header fields of a message as a milter receives them: in order,
 * each a name and a value (the value as received: it may start with the
 * space after the colon and may contain folding line breaks). The list
 * copies what it is given and owns the copies; it grows up to a bound on
 * the number of fields and on their total size, so that a hostile
 * message cannot make it exhaust memory. */
#ifndef SMX_HDRLIST_H
#define SMX_HDRLIST_H

#include <stdbool.h>
#include <stddef.h>

/* Bounds for headers of mail. Postfix refuses headers beyond 100 KB by
 * default (header_size_limit); ten times that is kept. */
#define HDRLIST_MAX_COUNT 10000u
#define HDRLIST_MAX_BYTES (1024u * 1024u)

struct hdrlist;

/* An empty list that keeps at most max_count fields of at most max_bytes
 * together (each field counts its name, value and 4 bytes); 0 means no
 * bound. Returns NULL when out of memory. The caller owns the result. */
struct hdrlist *hdrlist_new(size_t max_count, size_t max_bytes);

/* Appends copies of name and value (NULL: ""). Returns 0 when kept; 1
 * when a bound would be passed: the field is not kept and the list is
 * marked truncated; -1 when out of memory (the list is unchanged). */
int hdrlist_append(struct hdrlist *list, const char *name,
		   const char *value);

/* Folds line into the value of the last field: appends a line feed and
 * line to it, as a continuation line arrives folded. Counts against the
 * size bound like append. Returns 0 when kept; 1 when the size bound
 * would be passed: the value is unchanged and the list is marked
 * truncated; -1 when out of memory (the list is unchanged) or, with
 * errno EINVAL, when the list has no field to fold into. */
int hdrlist_fold_last(struct hdrlist *list, const char *line);

/* True once a field was not kept because of a bound. */
bool hdrlist_truncated(const struct hdrlist *list);

/* The number of fields kept, and the name and value of field i (i below
 * the count). The strings live until the list is freed. */
size_t hdrlist_count(const struct hdrlist *list);
const char *hdrlist_name(const struct hdrlist *list, size_t i);
const char *hdrlist_value(const struct hdrlist *list, size_t i);

/* The index of the first field at or after from whose name is name in
 * any case, or hdrlist_count() when there is none. */
size_t hdrlist_find(const struct hdrlist *list, const char *name,
		    size_t from);

/* The value of the first field called name (any case), or NULL. */
const char *hdrlist_get(const struct hdrlist *list, const char *name);

/* A copy of list, with its bounds and truncation mark; NULL when out of
 * memory. */
struct hdrlist *hdrlist_copy(const struct hdrlist *list);

/* Frees the list and its strings; sets *list to NULL. NULL-safe. */
void hdrlist_free(struct hdrlist **list);

#endif
