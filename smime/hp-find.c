/* SPDX-License-Identifier: BSD-2-Clause */
/* Reading header protection on a decrypted message: the protected
 * fields of its cryptographic payload's root part. Parsed with GMime;
 * an opaque signature inside is opened with OpenSSL after its census,
 * as every CMS object from mail is. The signature is not judged here
 * (verification comes after decryption and reports it). */
#include "hp-private.h"
#include "smime-private.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/cms.h>
#include <openssl/objects.h>

#define FIND_DEPTH 3		/* decrypted > signed > signed content */
#define FIND_MAX_FIELDS 64	/* protected fields taken */
#define FIND_MAX_CERTS 32	/* certificates in a signature inside */

/* The fields a reader sees or threads by: no trace, transport or
 * security field can be set from inside an encrypted message. */
bool smime_hp_restorable(const char *name)
{
	static const char *const names[] = {
		"Subject", "From", "To", "Cc", "Reply-To", "Date",
		"Message-ID", "In-Reply-To", "References", "Keywords",
		"Comments",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(name, names[i]) == 0)
			return true;
	return false;
}

static bool marked_protected(GMimeObject *obj)
{
	const char *hp = g_mime_object_get_content_type_parameter(obj, "hp");
	const char *v1 = g_mime_object_get_content_type_parameter(
		obj, "protected-headers");
	return (hp != NULL && (strcasecmp(hp, "cipher") == 0 ||
			       strcasecmp(hp, "clear") == 0)) ||
	       (v1 != NULL && strcasecmp(v1, "v1") == 0);
}

/* value with a leading space, CRLF made LF, no line end at its end. */
static char *milter_value(const char *raw)
{
	size_t len = strlen(raw);
	char *v = malloc(len + 2), *o = v;
	if (v == NULL)
		return NULL;
	if (*raw != ' ' && *raw != '\t')
		*o++ = ' ';
	for (const char *p = raw; *p != '\0'; p++)
		if (*p != '\r')
			*o++ = *p;
	while (o > v + 1 && o[-1] == '\n')
		o--;
	*o = '\0';
	return v;
}

static int take_fields(GMimeObject *obj, struct smime_hp_found **found_r)
{
	GMimeHeaderList *list = g_mime_object_get_header_list(obj);
	int count = list != NULL ? g_mime_header_list_get_count(list) : 0;
	struct smime_hp_found *found = calloc(FIND_MAX_FIELDS, sizeof(*found));
	int n = 0;
	if (found == NULL)
		return -1;
	for (int i = 0; i < count && n < FIND_MAX_FIELDS; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(list, i);
		const char *name = g_mime_header_get_name(h);
		const char *raw = g_mime_header_get_raw_value(h);
		if (name == NULL || raw == NULL || !smime_hp_restorable(name))
			continue;
		found[n].name = strdup(name);
		found[n].value = milter_value(raw);
		if (found[n].name == NULL || found[n++].value == NULL) {
			smime_hp_found_free(found, (size_t)n);
			return -1;
		}
	}
	*found_r = found;
	return n;
}

static int find_in(const void *data, size_t len, int depth,
		   struct smime_hp_found **found_r);

/* The content of an opaque signed-data part. */
static int find_in_signed_data(GMimePart *part, int depth,
			       struct smime_hp_found **found_r)
{
	GMimeDataWrapper *w = g_mime_part_get_content(part);
	GMimeStream *mem = g_mime_stream_mem_new();
	int n = 0;
	if (w == NULL || g_mime_data_wrapper_write_to_stream(w, mem) < 0)
		goto out;
	GByteArray *der = g_mime_stream_mem_get_byte_array(
		GMIME_STREAM_MEM(mem));
	struct cms_census c;
	if (der->len == 0 ||	/* then der->data may be NULL */
	    !cms_census(der->data, der->len, FIND_MAX_CERTS, &c) ||
	    !c.signed_data || c.detached || c.n_certs > FIND_MAX_CERTS ||
	    c.n_crls > FIND_MAX_CERTS || c.n_signers > FIND_MAX_CERTS)
		goto out;
	const unsigned char *p = der->data;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)der->len);
	ASN1_OCTET_STRING **content = cms != NULL &&
		OBJ_obj2nid(CMS_get0_type(cms)) == NID_pkcs7_signed
		? CMS_get0_content(cms) : NULL;
	if (content != NULL && *content != NULL)
		n = find_in(ASN1_STRING_get0_data(*content),
			    (size_t)ASN1_STRING_length(*content), depth + 1,
			    found_r);
	CMS_ContentInfo_free(cms);
out:
	g_object_unref(mem);
	return n;
}

static int find_in_object(GMimeObject *obj, int depth,
			  struct smime_hp_found **found_r)
{
	if (marked_protected(obj))
		return take_fields(obj, found_r);
	if (depth >= FIND_DEPTH)
		return 0;
	if (GMIME_IS_MULTIPART_SIGNED(obj)) {
		GMimeObject *signed_part = g_mime_multipart_get_part(
			GMIME_MULTIPART(obj), GMIME_MULTIPART_SIGNED_CONTENT);
		return signed_part != NULL
			       ? find_in_object(signed_part, depth + 1, found_r)
			       : 0;
	}
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	const char *st = g_mime_object_get_content_type_parameter(obj,
								  "smime-type");
	if (GMIME_IS_PART(obj) && ct != NULL && st != NULL &&
	    strcasecmp(st, "signed-data") == 0 &&
	    (g_mime_content_type_is_type(ct, "application", "pkcs7-mime") ||
	     g_mime_content_type_is_type(ct, "application", "x-pkcs7-mime")))
		return find_in_signed_data(GMIME_PART(obj), depth, found_r);
	return 0;
}

static int find_in(const void *data, size_t len, int depth,
		   struct smime_hp_found **found_r)
{
	smime_init();
	GMimeStream *s = g_mime_stream_mem_new_with_buffer(data, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(s);
	GMimeObject *top = g_mime_parser_construct_part(parser, NULL);
	int n = top != NULL ? find_in_object(top, depth, found_r) : 0;
	if (top != NULL)
		g_object_unref(top);
	g_object_unref(parser);
	g_object_unref(s);
	return n;
}

/* The addresses of a list, lower case, each followed by '\n'. */
static char *addr_specs(const char *value)
{
	InternetAddressList *l = internet_address_list_parse(NULL, value);
	GString *out = g_string_new(NULL);
	int n = l != NULL ? internet_address_list_length(l) : 0;
	for (int i = 0; i < n; i++) {
		InternetAddress *a = internet_address_list_get_address(l, i);
		if (!INTERNET_ADDRESS_IS_MAILBOX(a)) {
			g_string_append(out, "(group)\n");
			continue;
		}
		const char *spec = internet_address_mailbox_get_idn_addr(
			INTERNET_ADDRESS_MAILBOX(a));
		char *lower = g_ascii_strdown(spec != NULL ? spec : "", -1);
		g_string_append(out, lower);
		g_string_append_c(out, '\n');
		g_free(lower);
	}
	if (l != NULL)
		g_object_unref(l);
	char *r = strdup(out->str);
	g_string_free(out, TRUE);
	return r;
}

bool hp_same_mailboxes(const char *a, const char *b)
{
	smime_init();
	char *x = addr_specs(a), *y = addr_specs(b);
	bool same = x != NULL && y != NULL && x[0] != '\0' &&
		    strcmp(x, y) == 0;
	free(x);
	free(y);
	return same;
}

int smime_hp_find(const void *entity, size_t len,
		  struct smime_hp_found **found_r)
{
	*found_r = NULL;
	return find_in(entity, len, 0, found_r);
}

void smime_hp_found_free(struct smime_hp_found *found, size_t n)
{
	for (size_t i = 0; found != NULL && i < n; i++) {
		free(found[i].name);
		free(found[i].value);
	}
	free(found);
}
