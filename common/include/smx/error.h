/* SPDX-License-Identifier: BSD-2-Clause */
/* Why an operation failed, as one line of text for a log, a reply or a
 * command's output, naming the thing concerned ("bind as cn=x: Invalid
 * credentials"). The text lives in the struct: nothing to allocate or
 * free, so a callee fills its caller's buffer and there is no question of
 * who owns it. What kind of failure it was is the smx_status the
 * function returns; the text only says why. */
#ifndef SMX_ERROR_H
#define SMX_ERROR_H

#include <stdarg.h>
#include <stdbool.h>

#include <smx/status.h>

/* Longer texts are cut, ending in "...". */
#define SMX_ERROR_SIZE 512

struct smx_error {
	char text[SMX_ERROR_SIZE];	/* "" while nothing went wrong */
};

/* Formats the text into err, cut to fit. A NULL err (the caller does not
 * want the text) is allowed. */
void smx_error_set(struct smx_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* smx_error_set with a va_list. */
void smx_error_vset(struct smx_error *err, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* smx_error_set, returning status: a failure path reads
 * `return smx_error_fail(err, SMX_TEMPFAIL, "...", ...);`. */
enum smx_status smx_error_fail(struct smx_error *err, enum smx_status status,
			       const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Puts "PREFIX: " (formatted) in front of the text already in err, cut to
 * fit. NULL-safe. */
void smx_error_prefix(struct smx_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Empties err. NULL-safe. */
void smx_error_clear(struct smx_error *err);

/* True when err holds a text. */
bool smx_error_is_set(const struct smx_error *err);

/* The text, or fallback when there is none (err NULL or empty). */
const char *smx_error_text(const struct smx_error *err, const char *fallback);

#endif
