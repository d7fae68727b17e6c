/* SPDX-License-Identifier: BSD-2-Clause */
/* Which mail addresses a certificate is for: the one reading that the
 * store files certificates by, verification matches From against and the
 * directory checks LDAP answers with. */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <smx/x509.h>

/* RFC 5321's longest path (256) less its angle brackets. */
#define MAIL_MAX_LEN 254

/* The name as a lower-cased address, or NULL when it cannot be one (see
 * smx_x509_mail_addresses) or memory ran out (*oom set). */
static char *mail_text(const ASN1_STRING *s, bool *oom)
{
	int len = ASN1_STRING_length(s);
	const unsigned char *d = ASN1_STRING_get0_data(s);
	if (len <= 0 || len > MAIL_MAX_LEN || memchr(d, '@', (size_t)len) ==
							  NULL)
		return NULL;
	for (int i = 0; i < len; i++)
		if (d[i] < 0x20 || d[i] >= 0x7f)
			return NULL;
	char *e = malloc((size_t)len + 1);
	if (e == NULL) {
		*oom = true;
		return NULL;
	}
	for (int i = 0; i < len; i++)
		e[i] = (char)(d[i] >= 'A' && d[i] <= 'Z' ? d[i] - 'A' + 'a'
							 : d[i]);
	e[len] = '\0';
	return e;
}

/* Adds the name to out unless it is no address or already there. */
static void add(const ASN1_STRING *s, char **out, size_t max, size_t *n,
		bool *oom)
{
	if (*n >= max)
		return;
	char *e = mail_text(s, oom);
	if (e == NULL)
		return;
	for (size_t i = 0; i < *n; i++) {
		if (strcmp(out[i], e) == 0) {
			free(e);
			return;
		}
	}
	out[(*n)++] = e;
}

/* Whether g names a mailbox: an rfc822Name, or an internationalised
 * one (RFC 8398 SmtpUTF8Mailbox), which this program cannot match but
 * which names somebody all the same. */
static bool names_mailbox(const GENERAL_NAME *g)
{
	return g->type == GEN_EMAIL ||
	       (g->type == GEN_OTHERNAME &&
		OBJ_obj2nid(g->d.otherName->type_id) ==
			NID_id_on_SmtpUTF8Mailbox);
}

/* Whether the last OpenSSL failure was running out of memory. */
static bool out_of_memory(void)
{
	return ERR_GET_REASON(ERR_peek_last_error()) == ERR_R_MALLOC_FAILURE;
}

int smx_x509_mail_addresses(X509 *x, char **out, size_t max)
{
	size_t n = 0;
	bool oom = false, san_names_someone = false;
	GENERAL_NAMES *san = X509_get_ext_d2i(x, NID_subject_alt_name, NULL,
					      NULL);
	/* a SAN that does not decode, or comes twice (OpenSSL then gives
	 * none), may name anybody: nobody is read from the subject */
	if (san == NULL && X509_get_ext_by_NID(x, NID_subject_alt_name, -1) >= 0)
		return out_of_memory() ? -1 : 0;
	for (int i = 0; i < sk_GENERAL_NAME_num(san); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(san, i);
		if (names_mailbox(g))
			san_names_someone = true;
		if (g->type == GEN_EMAIL)
			add(g->d.rfc822Name, out, max, &n, &oom);
	}
	GENERAL_NAMES_free(san);
	/* RFC 8550 lets older certificates name their address in the
	 * subject; one whose SAN names anybody, even unreadably, is not
	 * such a certificate, and its subject must not name a second. */
	X509_NAME *subj = X509_get_subject_name(x);
	for (int i = -1; !san_names_someone &&
	     (i = X509_NAME_get_index_by_NID(subj, NID_pkcs9_emailAddress,
					     i)) >= 0;)
		add(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i)),
		    out, max, &n, &oom);
	if (oom) {
		smx_x509_mail_addresses_free(out, n);
		return -1;
	}
	return (int)n;
}

void smx_x509_mail_addresses_free(char **list, size_t n)
{
	for (size_t i = 0; list != NULL && i < n; i++) {
		free(list[i]);
		list[i] = NULL;
	}
}
