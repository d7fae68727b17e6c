/* SPDX-License-Identifier: BSD-2-Clause */
/* The user's triggers: a tag in the Subject and a header that ask for
 * encryption. Both are matched on the decoded header text: mail clients
 * send any non-ASCII subject as RFC 2047 encoded words (B or Q, any
 * charset, possibly split across several words and folded lines), and a
 * tag hidden in an encoded word must trigger all the same. GMime does the
 * decoding and, when the tag is removed, the encoding of what remains. */
#include "policy-private.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

/* GMime counts its initializations; the charset tables the decoder uses
 * exist only after one. */
static void gmime_init_once(void)
{
	g_mime_init();
}

/* Copies a GLib string into malloc'd memory, so that callers free it
 * with free() like everything else the policy returns. */
static char *from_glib(char *text)
{
	char *copy = text != NULL ? strdup(text) : NULL;
	g_free(text);
	return copy;
}

char *policy_header_text(const char *raw)
{
	if (raw == NULL)
		return NULL;
	pthread_once(&gmime_once, gmime_init_once);
	char *unfolded = g_mime_utils_header_unfold(raw);
	if (unfolded == NULL)
		return NULL;
	/* Leading white space is the separator after the colon, not text. */
	const char *start = unfolded;
	while (*start == ' ' || *start == '\t')
		start++;
	char *decoded = g_mime_utils_header_decode_text(NULL, start);
	g_free(unfolded);
	return from_glib(decoded);
}

bool policy_subject_has_tag(const struct policy *p, const char *subject)
{
	if (p->subject_tag == NULL || p->subject_tag[0] == '\0' ||
	    subject == NULL)
		return false;
	char *text = policy_header_text(subject);
	/* Out of memory while decoding: the raw text still counts. */
	bool found = strcasestr(text != NULL ? text : subject,
				p->subject_tag) != NULL;
	free(text);
	return found;
}

/* A trigger header counts unless its value plainly says no. */
bool policy_header_triggers(const struct policy *p, const char *value)
{
	if (p->trigger_header == NULL || value == NULL)
		return false;
	char *text = policy_header_text(value);
	const char *v = text != NULL ? text : value;
	while (*v == ' ' || *v == '\t')
		v++;
	static const char *const no[] = { "no", "false", "0", "off" };
	bool triggers = true;
	for (size_t i = 0; i < 4 && triggers; i++) {
		size_t len = strlen(no[i]);
		if (strncasecmp(v, no[i], len) == 0 &&
		    strspn(v + len, " \t\r\n") == strlen(v + len))
			triggers = false;
	}
	free(text);
	return triggers;
}

/* The decoded text with the first occurrence of tag (and one adjacent
 * space) removed, newly allocated; NULL when tag is not there. */
static char *without_tag(const char *text, const char *tag)
{
	const char *at = strcasestr(text, tag);
	if (at == NULL)
		return NULL;
	const char *after = at + strlen(tag);
	size_t before_len = (size_t)(at - text);
	if (*after == ' ')
		after++;
	else if (before_len > 0 && text[before_len - 1] == ' ')
		before_len--;
	size_t after_len = strlen(after);
	char *out = malloc(before_len + after_len + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, text, before_len);
	memcpy(out + before_len, after, after_len + 1);
	return out;
}

/* Encodes text as an unstructured header value (RFC 2047 encoded words
 * where it is not plain ASCII) and folds it for a Subject header; the
 * result has no leading space and uses "\n" + white space to fold, as
 * the milter protocol wants multi-line values. */
static char *encoded_subject(const char *text)
{
	char *encoded = g_mime_utils_header_encode_text(NULL, text, NULL);
	if (encoded == NULL)
		return NULL;
	char *line = g_strconcat("Subject: ", encoded, NULL);
	g_free(encoded);
	char *folded = line != NULL
		? g_mime_utils_unstructured_header_fold(NULL, NULL, line) : NULL;
	g_free(line);
	if (folded == NULL)
		return NULL;
	const char *value = folded + strlen("Subject:");
	while (*value == ' ')
		value++;
	size_t len = strlen(value);
	while (len > 0 && (value[len - 1] == '\n' || value[len - 1] == '\r'))
		len--;
	char *out = strndup(value, len);
	g_free(folded);
	return out;
}

char *policy_strip_subject_tag(const struct policy *p, const char *subject)
{
	if (!policy_subject_has_tag(p, subject))
		return NULL;
	char *text = policy_header_text(subject);
	char *stripped = text != NULL ? without_tag(text, p->subject_tag)
				      : NULL;
	free(text);
	char *out = stripped != NULL ? encoded_subject(stripped) : NULL;
	free(stripped);
	return out;
}
