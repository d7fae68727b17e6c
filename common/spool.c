/* SPDX-License-Identifier: BSD-2-Clause */
#include <smx/spool.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct spool {
	size_t threshold;
	size_t max_size;
	char *dir;
	unsigned char *mem;	/* content while in memory */
	size_t mem_cap;
	size_t size;		/* bytes appended */
	size_t read_pos;	/* for reading from memory */
	int fd;			/* -1 while in memory */
};

struct spool *spool_new(size_t mem_threshold, const char *dir,
			size_t max_size)
{
	struct spool *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->dir = strdup(dir != NULL ? dir : "/tmp");
	if (s->dir == NULL) {
		free(s);
		return NULL;
	}
	s->threshold = mem_threshold;
	s->max_size = max_size;
	s->fd = -1;
	return s;
}

static int write_all(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* O_TMPFILE gives a file that never has a name; where the file system
 * lacks it, mkstemp + unlink leaves a name for a few microseconds only,
 * under mode 0600 either way. */
int spool_private_file(const char *dir)
{
	if (dir == NULL)
		dir = "/tmp";
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR &&
			errno != EINVAL))
		return fd;
	char path[4096];
	if (snprintf(path, sizeof(path), "%s/smime-spool.XXXXXX", dir) >=
	    (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	return fd;
}

static int move_to_disk(struct spool *s)
{
	int fd = spool_private_file(s->dir);
	if (fd < 0)
		return -1;
	if (write_all(fd, s->mem, s->size) != 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	if (lseek(fd, (off_t)s->read_pos, SEEK_SET) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	s->fd = fd;
	free(s->mem);
	s->mem = NULL;
	s->mem_cap = 0;
	return 0;
}

static int grow_memory(struct spool *s, size_t need)
{
	if (need <= s->mem_cap)
		return 0;
	size_t cap = s->mem_cap ? s->mem_cap : 8192;
	while (cap < need)
		cap *= 2;
	if (cap > s->threshold)
		cap = s->threshold;
	unsigned char *m = realloc(s->mem, cap);
	if (m == NULL)
		return -1;
	s->mem = m;
	s->mem_cap = cap;
	return 0;
}

/* Appends at the end of the file, whatever the read position is. */
static int append_to_file(struct spool *s, const void *data, size_t len)
{
	off_t here = lseek(s->fd, 0, SEEK_CUR);
	if (here < 0 || lseek(s->fd, (off_t)s->size, SEEK_SET) < 0)
		return -1;
	if (write_all(s->fd, data, len) != 0)
		return -1;
	return lseek(s->fd, here, SEEK_SET) < 0 ? -1 : 0;
}

int spool_append(struct spool *s, const void *data, size_t len)
{
	if (len > SIZE_MAX - s->size ||
	    (s->max_size != 0 && s->size + len > s->max_size)) {
		errno = EFBIG;
		return -1;
	}
	if (s->fd < 0 && s->size + len > s->threshold &&
	    move_to_disk(s) != 0)
		return -1;
	if (s->fd >= 0) {
		if (append_to_file(s, data, len) != 0)
			return -1;
	} else {
		if (grow_memory(s, s->size + len) != 0)
			return -1;
		if (len > 0)
			memcpy(s->mem + s->size, data, len);
	}
	s->size += len;
	return 0;
}

size_t spool_size(const struct spool *s)
{
	return s->size;
}

bool spool_on_disk(const struct spool *s)
{
	return s->fd >= 0;
}

int spool_rewind(struct spool *s)
{
	s->read_pos = 0;
	if (s->fd >= 0 && lseek(s->fd, 0, SEEK_SET) < 0)
		return -1;
	return 0;
}

ssize_t spool_read(struct spool *s, void *buf, size_t len)
{
	if (s->fd >= 0) {
		ssize_t n;
		do
			n = read(s->fd, buf, len);
		while (n < 0 && errno == EINTR);
		return n;
	}
	size_t left = s->size - s->read_pos;
	if (len > left)
		len = left;
	if (len > 0)
		memcpy(buf, s->mem + s->read_pos, len);
	s->read_pos += len;
	return (ssize_t)len;
}

void spool_free(struct spool **sp)
{
	struct spool *s = *sp;
	if (s == NULL)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s->mem);
	free(s->dir);
	free(s);
	*sp = NULL;
}
