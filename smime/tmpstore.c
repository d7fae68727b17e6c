/* SPDX-License-Identifier: BSD-2-Clause */
/* Temporary storage for the stages of building an entity: memory up to a
 * threshold, then a private unnamed file made by the spool's rules
 * (spool_private_file). */
#include "smime-private.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tmpstore {
	GMimeStream *stream;
	size_t threshold;
	size_t size;		/* bytes written through tmpstore_write */
	bool on_disk;
	char *dir;
};

static GMimeStream *file_stream(const char *dir)
{
	int fd = spool_private_file(dir);
	if (fd < 0)
		return NULL;
	GMimeStream *s = g_mime_stream_fs_new(fd);
	if (s == NULL)
		close(fd);
	return s;
}

struct tmpstore *tmpstore_new(size_t threshold, const char *dir)
{
	struct tmpstore *ts = calloc(1, sizeof(*ts));
	if (ts == NULL)
		return NULL;
	ts->dir = strdup(dir != NULL ? dir : "/tmp");
	ts->stream = g_mime_stream_mem_new();
	if (ts->dir == NULL || ts->stream == NULL) {
		tmpstore_free(&ts);
		return NULL;
	}
	ts->threshold = threshold;
	return ts;
}

struct tmpstore *tmpstore_new_for(size_t threshold, const char *dir,
				  size_t expected)
{
	struct tmpstore *ts = tmpstore_new(threshold, dir);
	if (ts == NULL || expected <= threshold)
		return ts;
	GMimeStream *fs = file_stream(ts->dir);
	if (fs == NULL) {
		tmpstore_free(&ts);
		return NULL;
	}
	g_object_unref(ts->stream);
	ts->stream = fs;
	ts->on_disk = true;
	return ts;
}

static int write_all(GMimeStream *s, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = g_mime_stream_write(s, p, len);
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int move_to_disk(struct tmpstore *ts)
{
	GMimeStream *fs = file_stream(ts->dir);
	if (fs == NULL)
		return -1;
	GByteArray *mem = g_mime_stream_mem_get_byte_array(
		GMIME_STREAM_MEM(ts->stream));
	if (write_all(fs, mem->data, mem->len) != 0) {
		g_object_unref(fs);
		return -1;
	}
	g_object_unref(ts->stream);
	ts->stream = fs;
	ts->on_disk = true;
	return 0;
}

int tmpstore_write(struct tmpstore *ts, const void *data, size_t len)
{
	if (!ts->on_disk && ts->size + len > ts->threshold &&
	    move_to_disk(ts) != 0)
		return -1;
	if (write_all(ts->stream, data, len) != 0)
		return -1;
	ts->size += len;
	return 0;
}

int tmpstore_write_header(struct tmpstore *ts, const char *name,
			  const char *value)
{
	const char *v = value;
	if (tmpstore_write(ts, name, strlen(name)) != 0 ||
	    tmpstore_write(ts, ":", 1) != 0 ||
	    (*v != ' ' && *v != '\t' && tmpstore_write(ts, " ", 1) != 0))
		return -1;
	while (*v != '\0') {
		size_t n = strcspn(v, "\r\n");
		if (tmpstore_write(ts, v, n) != 0)
			return -1;
		v += n;
		if (*v == '\0')
			break;
		v += (v[0] == '\r' && v[1] == '\n') ? 2 : 1;
		if (tmpstore_write(ts, "\r\n", 2) != 0)
			return -1;
	}
	return tmpstore_write(ts, "\r\n", 2);
}

int tmpstore_write_spool(struct tmpstore *ts, struct spool *spool)
{
	char buf[SMIME_CHUNK];
	ssize_t n;
	if (spool_rewind(spool) != 0)
		return -1;
	while ((n = spool_read(spool, buf, sizeof(buf))) > 0)
		if (tmpstore_write(ts, buf, (size_t)n) != 0)
			return -1;
	return n < 0 ? -1 : 0;
}

GMimeStream *tmpstore_stream(struct tmpstore *ts)
{
	return ts->stream;
}

size_t tmpstore_size(struct tmpstore *ts)
{
	gint64 len = g_mime_stream_length(ts->stream);
	return len < 0 ? 0 : (size_t)len;
}

int tmpstore_rewind(struct tmpstore *ts)
{
	return g_mime_stream_seek(ts->stream, 0, GMIME_STREAM_SEEK_SET) < 0 ?
		-1 : 0;
}

ssize_t tmpstore_read(struct tmpstore *ts, void *buf, size_t len)
{
	ssize_t n = g_mime_stream_read(ts->stream, buf, len);
	/* GMime streams may answer -1 instead of 0 at their end. */
	return n < 0 && g_mime_stream_eos(ts->stream) ? 0 : n;
}

void tmpstore_free(struct tmpstore **ts)
{
	if (ts == NULL || *ts == NULL)
		return;
	if ((*ts)->stream != NULL)
		g_object_unref((*ts)->stream);
	free((*ts)->dir);
	free(*ts);
	*ts = NULL;
}
