/* SPDX-License-Identifier: BSD-2-Clause */
/* A message body that stays in memory up to a threshold and moves to a
 * private temporary file beyond it, so memory never grows with message
 * size. The file is created 0600 and unlinked at once: nothing is left on
 * disk after a crash, and no other user can open it. */
#ifndef SMX_SPOOL_H
#define SMX_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct spool;

/* Creates an empty spool. mem_threshold: bytes kept in memory before
 * moving to a file in dir; max_size: total bytes accepted (0 = no limit).
 * Returns NULL when out of memory. The caller owns the result. */
struct spool *spool_new(size_t mem_threshold, const char *dir,
			size_t max_size);

/* Appends len bytes. Returns 0, or -1 with errno set: EFBIG when max_size
 * would be exceeded (nothing is appended then), or the error of creating
 * or writing the file. After an error the spool keeps what it had. */
int spool_append(struct spool *spool, const void *data, size_t len);

/* Bytes appended so far. */
size_t spool_size(const struct spool *spool);

/* True once the content has moved to a file. */
bool spool_on_disk(const struct spool *spool);

/* Starts reading from the beginning. Returns 0 or -1 with errno. */
int spool_rewind(struct spool *spool);

/* Reads up to len bytes at the read position. Returns the count (0 at
 * the end) or -1 with errno. Appending after reading is allowed. */
ssize_t spool_read(struct spool *spool, void *buf, size_t len);

/* Opens a private temporary file in dir (NULL: "/tmp") the way a spool
 * makes its own: mode 0600, without a name (or unlinked at once where the
 * file system cannot make a file without one), close-on-exec. For other
 * temporary storage that must follow the same rules. Returns the file
 * descriptor, owned by the caller, or -1 with errno. */
int spool_private_file(const char *dir);

/* Frees the spool and closes its file; sets *spool to NULL. NULL-safe. */
void spool_free(struct spool **spool);

#endif
