/* SPDX-License-Identifier: BSD-2-Clause */
#include <smx/error.h>

#include <stdio.h>
#include <string.h>

/* Marks a text that had to be cut, so that nobody takes the end of the
 * buffer for the end of the message. */
static void mark_cut(struct smx_error *err, int wanted)
{
	if (wanted >= (int)sizeof(err->text))
		memcpy(err->text + sizeof(err->text) - 4, "...", 4);
}

void smx_error_vset(struct smx_error *err, const char *fmt, va_list ap)
{
	if (err == NULL)
		return;
	int n = vsnprintf(err->text, sizeof(err->text), fmt, ap);
	if (n < 0)
		snprintf(err->text, sizeof(err->text), "%s", fmt);
	else
		mark_cut(err, n);
}

void smx_error_set(struct smx_error *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	smx_error_vset(err, fmt, ap);
	va_end(ap);
}

enum smx_status smx_error_fail(struct smx_error *err, enum smx_status status,
			       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	smx_error_vset(err, fmt, ap);
	va_end(ap);
	return status;
}

void smx_error_prefix(struct smx_error *err, const char *fmt, ...)
{
	if (err == NULL)
		return;
	struct smx_error prefix;
	va_list ap;
	va_start(ap, fmt);
	smx_error_vset(&prefix, fmt, ap);
	va_end(ap);
	char rest[sizeof(err->text)];
	memcpy(rest, err->text, sizeof(rest));
	int n = snprintf(err->text, sizeof(err->text), "%s: %s", prefix.text,
			 rest);
	mark_cut(err, n);
}

void smx_error_clear(struct smx_error *err)
{
	if (err != NULL)
		err->text[0] = '\0';
}

bool smx_error_is_set(const struct smx_error *err)
{
	return err != NULL && err->text[0] != '\0';
}

const char *smx_error_text(const struct smx_error *err, const char *fallback)
{
	return smx_error_is_set(err) ? err->text : fallback;
}
