/* SPDX-License-Identifier: BSD-2-Clause */
/* Helpers shared by the newer fuzz targets: splitting an input into the
 * header fields the milter would hand over and the body, and a private
 * scratch directory that disappears when the fuzzer exits normally. */
#ifndef SMX_FUZZ_UTIL_H
#define SMX_FUZZ_UTIL_H

#include <stddef.h>

/* Called for each header field: name without the colon, value with its
 * leading space and continuation lines, as libmilter gives them. */
typedef void fuzz_header_fn(void *ctx, const char *name, const char *value);

/* Gives each header field of p (up to the first empty line) to fn and
 * returns the offset of the body. A line without a colon is skipped, as
 * an MTA would not pass it on as a header. */
size_t fuzz_split_headers(const char *p, size_t n, fuzz_header_fn *fn,
			  void *ctx);

/* A directory made once per process under $TMPDIR (or /tmp), removed
 * with its files at exit. Aborts when it cannot be made: a target
 * without it would test nothing. */
const char *fuzz_scratch_dir(void);

/* A NUL-terminated copy of data (an embedded NUL ends the string early,
 * as it would in a C string from the MTA), or NULL without memory. */
char *fuzz_strndup(const void *data, size_t size);

#endif
