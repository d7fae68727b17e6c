/* SPDX-License-Identifier: BSD-2-Clause */
/* A message read from a file (RFC 5322, LF or CRLF line ends) split the
 * way a milter receives it: header fields, then the body. For the tools
 * that verify a message file as the milter would. */
#ifndef SMX_MSGFILE_H
#define SMX_MSGFILE_H

#include <stddef.h>
#include <stdio.h>

#include <smx/hdrlist.h>
#include <smx/spool.h>

/* Appends the header fields of the len bytes at msg to headers (name
 * without the colon; value after it with its continuation lines, folded
 * with LF as a milter receives it, CRs dropped) and the bytes after the
 * empty line to body. A leading mbox "From " line is skipped, and so is
 * a header line without a colon. Fields past the bounds of headers are
 * not kept (hdrlist_truncated). Returns 0, or -1 with errno (out of
 * memory; the spool's error, EFBIG past its max_size). */
int msgfile_split(const char *msg, size_t len, struct hdrlist *headers,
		  struct spool *body);

/* Appends what is left to read of in (the body, after the headers were
 * read) to body. Returns 0, or -1 with errno (a read error; the spool's
 * error). */
int msgfile_read_body(FILE *in, struct spool *body);

#endif
