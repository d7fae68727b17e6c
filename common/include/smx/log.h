/* SPDX-License-Identifier: BSD-2-Clause */
/* Logging for the daemon and the tools: one sink per process (syslog, or
 * stderr for foreground runs and tools), printf-checked, thread-safe. */
#ifndef SMX_LOG_H
#define SMX_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <syslog.h>

enum smx_log_sink {
	SMX_LOG_STDERR,
	SMX_LOG_SYSLOG,
};

/* Chooses the sink. ident names the program in every line; facility is a
 * syslog facility (LOG_MAIL) and is ignored for stderr. Call once at
 * start-up before threads exist; may be called again to switch sinks. */
void smx_log_open(const char *ident, enum smx_log_sink sink, int facility);

/* Lines with a priority numerically above max_priority are dropped
 * (LOG_INFO by default; LOG_DEBUG shows debug lines). */
void smx_log_set_level(int max_priority);

/* Writes one line. The text must not contain secrets: it may reach a
 * shared syslog. A trailing newline is not needed. */
void smx_log(int priority, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void smx_vlog(int priority, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Replaces every control character of text[0..len) (line breaks, tabs,
 * NUL, DEL) with a space, so that a logged value never splits or forges
 * a log line; returns len. smx_log applies it to every line. */
size_t smx_log_flatten(char *text, size_t len);

#endif
