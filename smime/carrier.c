/* SPDX-License-Identifier: BSD-2-Clause */
/* Whether a message's top-level Content-Type lets it hold anything that
 * the verifier or the inbound decryption reads. Both go by the type GMime
 * parses: the verifier looks into every multipart for multipart/signed
 * and into application/(x-)pkcs7-mime and octet-stream (a .p7m) leaves;
 * the decryption reads a top-level application/(x-)pkcs7-mime or
 * octet-stream. Any other leaf type is never read by either, whatever
 * its body holds. The test leans to "may carry": a message it cannot
 * judge from its headers alone is read whole. */
#include <smx/smime.h>

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

/* A header name is compared as GMime's parser would: any case, white
 * space before the colon ignored. */
static bool is_content_type(const char *name)
{
	static const char want[] = "Content-Type";
	size_t n = strlen(want);
	return strncasecmp(name, want, n) == 0 &&
	       strspn(name + n, " \t") == strlen(name + n);
}

static bool type_may_carry(const char *value)
{
	smime_init();
	GMimeContentType *ct = g_mime_content_type_parse(NULL, value);
	if (ct == NULL)
		return true;
	const char *type = g_mime_content_type_get_media_type(ct);
	const char *sub = g_mime_content_type_get_media_subtype(ct);
	bool carry = type == NULL || sub == NULL || *type == '\0' ||
		     *sub == '\0' ||
		     strcasecmp(type, "multipart") == 0 ||
		     strcasecmp(type, "message") == 0 ||
		     (strcasecmp(type, "application") == 0 &&
		      (strcasestr(sub, "pkcs7") != NULL ||
		       strcasecmp(sub, "octet-stream") == 0));
	g_object_unref(ct);
	return carry;
}

bool smime_headers_may_carry(const struct hdrlist *headers)
{
	if (headers == NULL || hdrlist_truncated(headers))
		return true;
	const char *value = NULL;
	size_t found = 0;
	for (size_t i = 0; i < hdrlist_count(headers); i++)
		if (is_content_type(hdrlist_name(headers, i))) {
			value = hdrlist_value(headers, i);
			found++;
		}
	if (found == 0)
		return false;	/* RFC 2045's default: text/plain */
	return found > 1 || type_may_carry(value);
}
