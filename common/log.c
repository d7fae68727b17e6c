/* SPDX-License-Identifier: BSD-2-Clause */
#include <smx/log.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static enum smx_log_sink log_sink = SMX_LOG_STDERR;
static int log_max_priority = LOG_INFO;
static char log_ident[64] = "smime";

void smx_log_open(const char *ident, enum smx_log_sink sink, int facility)
{
	snprintf(log_ident, sizeof(log_ident), "%s", ident);
	log_sink = sink;
	if (sink == SMX_LOG_SYSLOG)
		openlog(log_ident, LOG_PID | LOG_NDELAY, facility);
}

void smx_log_set_level(int max_priority)
{
	log_max_priority = max_priority;
}

static const char *priority_name(int priority)
{
	switch (priority) {
	case LOG_EMERG: case LOG_ALERT: case LOG_CRIT: return "fatal";
	case LOG_ERR: return "error";
	case LOG_WARNING: return "warning";
	case LOG_NOTICE: case LOG_INFO: return "info";
	default: return "debug";
	}
}

size_t smx_log_flatten(char *text, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)text[i];
		if (ch < 0x20 || ch == 0x7f)
			text[i] = ' ';
	}
	return len;
}

void smx_vlog(int priority, const char *fmt, va_list ap)
{
	if (priority > log_max_priority)
		return;
	/* One formatted buffer and one write, so lines from several
	 * threads never interleave; and one line, whatever the values in it
	 * (an address, a server's error text) hold: a line break there
	 * would start a line the reader takes for the milter's own. */
	char line[4096];
	int n = 0;
	if (log_sink != SMX_LOG_SYSLOG) {
		n = snprintf(line, sizeof(line), "%s[%ld]: %s: ", log_ident,
			     (long)getpid(), priority_name(priority));
		if (n < 0 || (size_t)n >= sizeof(line))
			n = 0;
	}
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len >= sizeof(line) - 1)
		len = sizeof(line) - 2;
	smx_log_flatten(line + n, len - (size_t)n);
	if (log_sink == SMX_LOG_SYSLOG) {
		line[len] = '\0';
		syslog(priority, "%s", line);
		return;
	}
	line[len++] = '\n';
	fwrite(line, 1, len, stderr);
	fflush(stderr);
}

void smx_log(int priority, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	smx_vlog(priority, fmt, ap);
	va_end(ap);
}
