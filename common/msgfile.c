/* SPDX-License-Identifier: BSD-2-Clause */
#include <smx/msgfile.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Ends of the field at pos: the line and its continuation lines. Returns
 * the position after it; *end_r is where its last line end starts. */
static size_t field_end(const char *msg, size_t len, size_t pos,
			size_t *end_r)
{
	do {
		const char *nl = memchr(msg + pos, '\n', len - pos);
		pos = nl != NULL ? (size_t)(nl - msg) : len;
		*end_r = pos;
		if (pos < len)
			pos++;
	} while (pos < len && (msg[pos] == ' ' || msg[pos] == '\t'));
	return pos;
}

/* Appends "name: value" from the field text (not NUL-terminated). */
static int add_field(struct hdrlist *headers, const char *text, size_t len)
{
	char *field = strndup(text, len);
	if (field == NULL)
		return -1;
	char *colon = strchr(field, ':');
	int rc = 0;
	if (colon != NULL && colon != field) {
		*colon = '\0';
		char *w = colon + 1;	/* drop CRs: the milter sees LF */
		for (char *r = colon + 1; *r != '\0'; r++)
			if (*r != '\r')
				*w++ = *r;
		*w = '\0';
		rc = hdrlist_append(headers, field, colon + 1) < 0 ? -1 : 0;
	}
	free(field);
	return rc;
}

int msgfile_split(const char *msg, size_t len, struct hdrlist *headers,
		  struct spool *body)
{
	size_t pos = 0;
	if (len >= 5 && memcmp(msg, "From ", 5) == 0) {
		const char *nl = memchr(msg, '\n', len);
		pos = nl != NULL ? (size_t)(nl - msg) + 1 : len;
	}
	while (pos < len && msg[pos] != '\r' && msg[pos] != '\n') {
		size_t start = pos, end;
		pos = field_end(msg, len, pos, &end);
		if (add_field(headers, msg + start, end - start) != 0) {
			errno = ENOMEM;
			return -1;
		}
	}
	if (pos < len && msg[pos] == '\r')
		pos++;
	if (pos < len && msg[pos] == '\n')
		pos++;
	return spool_append(body, msg + pos, len - pos);
}

int msgfile_read_body(FILE *in, struct spool *body)
{
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (spool_append(body, buf, n) != 0)
			return -1;
	if (ferror(in)) {
		errno = EIO;
		return -1;
	}
	return 0;
}
