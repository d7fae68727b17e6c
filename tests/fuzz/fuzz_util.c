/* SPDX-License-Identifier: BSD-2-Clause */
#include "fuzz_util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

size_t fuzz_split_headers(const char *p, size_t n, fuzz_header_fn *fn,
			  void *ctx)
{
	size_t pos = 0;
	while (pos < n && p[pos] != '\n' && p[pos] != '\r') {
		size_t start = pos;
		do {
			while (pos < n && p[pos] != '\n')
				pos++;
			if (pos < n)
				pos++;
		} while (pos < n && (p[pos] == ' ' || p[pos] == '\t'));
		/* libmilter strips the final line end of a field */
		size_t end = pos;
		if (end > start && p[end - 1] == '\n')
			end--;
		if (end > start && p[end - 1] == '\r')
			end--;
		char *field = strndup(p + start, end - start);
		char *colon = field ? strchr(field, ':') : NULL;
		if (colon != NULL && colon != field) {
			*colon = '\0';
			fn(ctx, field, colon + 1);
		}
		free(field);
	}
	if (pos < n && p[pos] == '\r')
		pos++;
	if (pos < n && p[pos] == '\n')
		pos++;
	return pos;
}

static char scratch[4096];

static void remove_scratch(void)
{
	DIR *d = opendir(scratch);
	if (d == NULL)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char path[sizeof(scratch) + 256];
		snprintf(path, sizeof(path), "%s/%s", scratch, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(scratch);
}

const char *fuzz_scratch_dir(void)
{
	if (scratch[0] != '\0')
		return scratch;
	const char *tmp = getenv("TMPDIR");
	snprintf(scratch, sizeof(scratch), "%s/smx-fuzz-XXXXXX",
		 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(scratch) == NULL) {
		perror("fuzz scratch directory");
		abort();
	}
	atexit(remove_scratch);
	return scratch;
}

char *fuzz_strndup(const void *data, size_t size)
{
	return strndup(data, size);
}
