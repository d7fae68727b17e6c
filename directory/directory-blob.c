/* SPDX-License-Identifier: BSD-2-Clause */
/* What directories hold, parsed as hostile input: DER certificates
 * (userCertificate;binary) and PKCS#7 certs-only SignedData
 * (userSMIMECertificate, as Outlook publishes it); which certificates
 * name the address; and the result lists. */
#include "directory-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/pkcs7.h>
#include <openssl/x509v3.h>

#include <smx/x509.h>

STACK_OF(X509) *directory_value_certs(const void *value, size_t size,
				      bool *truncated_r)
{
	*truncated_r = false;
	if (size == 0 || size > DIRECTORY_MAX_VALUE_BYTES)
		return NULL;
	STACK_OF(X509) *out = sk_X509_new_null();
	const unsigned char *p = value, *end = p + size;
	X509 *x = smx_x509_parse(value, size, NULL, 0);
	if (x != NULL) {
		if (out == NULL || !sk_X509_push(out, x))
			goto fail;
		return out;
	}
	PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)size);
	if (out == NULL || p7 == NULL || p != end || !PKCS7_type_is_signed(p7) ||
	    p7->d.sign == NULL || p7->d.sign->cert == NULL)
		goto fail_p7;
	STACK_OF(X509) *certs = p7->d.sign->cert;
	for (int i = 0; i < sk_X509_num(certs); i++) {
		if (i == DIRECTORY_MAX_PKCS7_CERTS) {
			*truncated_r = true;
			break;
		}
		x = X509_dup(sk_X509_value(certs, i));
		if (x == NULL || !sk_X509_push(out, x))
			goto fail_p7;
		x = NULL;
	}
	PKCS7_free(p7);
	return out;
fail_p7:
	PKCS7_free(p7);
fail:
	X509_free(x);
	sk_X509_pop_free(out, X509_free);
	return NULL;
}

unsigned char *directory_cert_der(X509 *x, size_t *len_r)
{
	unsigned char *der = NULL;
	*len_r = smx_x509_to_der(x, &der);
	return der;
}

/* Appends ", name" to the list of names seen (for the reason). */
static void note_name(char *names, size_t size, const char *name)
{
	size_t used = strlen(names);
	if (used + strlen(name) + 3 < size)
		snprintf(names + used, size - used, "%s%s", used ? ", " : "",
			 name);
}

/* Whether x is for email, by the rule the store files it with
 * (smx_x509_mail_addresses); the addresses it is for go to names.
 * -1 when memory ran out. */
static int cert_names(X509 *x, const char *email, char *names, size_t size)
{
	char *list[SMX_X509_MAX_MAIL];
	int n = smx_x509_mail_addresses(x, list, SMX_X509_MAX_MAIL);
	bool match = false;
	for (int i = 0; i < n; i++) {
		match = match || strcasecmp(list[i], email) == 0;
		note_name(names, size, list[i]);
	}
	if (n > 0)
		smx_x509_mail_addresses_free(list, (size_t)n);
	return n < 0 ? -1 : match;
}

/* "2026-05-01" for an ASN1_TIME. */
static void time_text(const ASN1_TIME *t, char *buf, size_t size)
{
	struct tm tm;
	if (t == NULL || !ASN1_TIME_to_tm(t, &tm) ||
	    strftime(buf, size, "%Y-%m-%d", &tm) == 0)
		snprintf(buf, size, "(unreadable date)");
}

char *directory_cert_problem(X509 *x, const char *email, time_t now,
			     bool *oom_r)
{
	char names[512] = "", when[32];
	char *reason = NULL;
	*oom_r = false;
	int named = cert_names(x, email, names, sizeof(names));
	if (named < 0) {
		*oom_r = true;
		return NULL;
	}
	if (named == 0) {
		reason = names[0] != '\0'
				 ? directory_strdupf("issued to %s, not %s", names,
						     email)
				 : directory_strdupf("names no email address");
	} else if (X509_cmp_time(X509_get0_notAfter(x), &now) <= 0) {
		time_text(X509_get0_notAfter(x), when, sizeof(when));
		reason = directory_strdupf("expired on %s", when);
	} else if (X509_cmp_time(X509_get0_notBefore(x), &now) >= 0) {
		time_text(X509_get0_notBefore(x), when, sizeof(when));
		reason = directory_strdupf("not valid before %s", when);
	} else {
		return NULL;
	}
	*oom_r = reason == NULL;
	return reason;
}

char *directory_cert_describe(X509 *x)
{
	char subject[256] = "", serial[80] = "?", when[32];
	BIO *b = BIO_new(BIO_s_mem());
	if (b != NULL &&
	    X509_NAME_print_ex(b, X509_get_subject_name(x), 0,
			       XN_FLAG_RFC2253) >= 0) {
		int n = BIO_read(b, subject, sizeof(subject) - 1);
		subject[n > 0 ? n : 0] = '\0';
	}
	BIO_free(b);
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
	if (hex != NULL)
		snprintf(serial, sizeof(serial), "%s", hex);
	OPENSSL_free(hex);
	BN_free(bn);
	time_text(X509_get0_notAfter(x), when, sizeof(when));
	return directory_strdupf("subject %s, serial %s, expires %s",
				 subject[0] ? subject : "(empty)", serial, when);
}

/* --- result lists ---------------------------------------------------- */

static int grow(void **items, size_t count, size_t item_size)
{
	if (count != 0 && (count & (count - 1)) != 0)
		return 0;	/* capacity: count rounded up to a power of 2 */
	size_t cap = count == 0 ? 1 : count * 2;
	void *grown = realloc(*items, cap * item_size);
	if (grown == NULL)
		return -1;
	*items = grown;
	return 0;
}

static unsigned char *dup_bytes(const unsigned char *p, size_t len)
{
	unsigned char *copy = malloc(len ? len : 1);
	if (copy != NULL && len != 0)
		memcpy(copy, p, len);
	return copy;
}

int directory_result_add_cert(struct directory_result *r,
			      const unsigned char *der, size_t len,
			      const char *attribute, const char *dn)
{
	for (size_t i = 0; i < r->n_certs; i++)
		if (r->certs[i].der_len == len &&
		    memcmp(r->certs[i].der, der, len) == 0)
			return 0;
	if (grow((void **)&r->certs, r->n_certs, sizeof(*r->certs)) != 0)
		return -1;
	struct directory_cert *c = &r->certs[r->n_certs];
	c->der = dup_bytes(der, len);
	c->der_len = len;
	c->attribute = strdup(attribute ? attribute : "");
	c->dn = strdup(dn ? dn : "");
	r->n_certs++;
	return (c->der && c->attribute && c->dn) ? 0 : -1;
}

int directory_result_add_rejected(struct directory_result *r,
				  const unsigned char *der, size_t len,
				  const char *attribute, const char *dn,
				  const char *reason)
{
	for (size_t i = 0; der != NULL && i < r->n_rejected; i++)
		if (r->rejected[i].der_len == len && r->rejected[i].der &&
		    memcmp(r->rejected[i].der, der, len) == 0)
			return 0;
	if (grow((void **)&r->rejected, r->n_rejected, sizeof(*r->rejected)))
		return -1;
	struct directory_rejected *j = &r->rejected[r->n_rejected];
	j->der = der != NULL ? dup_bytes(der, len) : NULL;
	j->der_len = der != NULL ? len : 0;
	j->attribute = strdup(attribute ? attribute : "");
	j->dn = strdup(dn ? dn : "");
	j->reason = strdup(reason);
	r->n_rejected++;
	return ((der == NULL || j->der) && j->attribute && j->dn && j->reason)
		       ? 0 : -1;
}

/* --- one value ------------------------------------------------------- */

static int add_one_cert(struct directory_result *r, X509 *x, const char *email,
			const char *attribute, const char *dn, time_t now)
{
	size_t len = 0;
	unsigned char *der = directory_cert_der(x, &len);
	bool oom = false;
	char *problem = der != NULL ? directory_cert_problem(x, email, now, &oom)
				    : NULL;
	int rc = -1;
	if (der == NULL || oom)
		goto out;
	if (problem == NULL)
		rc = directory_result_add_cert(r, der, len, attribute, dn);
	else
		rc = directory_result_add_rejected(r, der, len, attribute, dn,
						   problem);
out:
	free(problem);
	free(der);
	return rc;
}

enum smx_status directory_parse_value(const char *email, const void *value,
				      size_t size, const char *attribute,
				      const char *dn, long long now,
				      struct directory_result *result)
{
	char reason[96];
	bool truncated = false;
	if (size > DIRECTORY_MAX_VALUE_BYTES) {
		snprintf(reason, sizeof(reason), "value of %zu bytes is over the "
			 "limit of %d", size, DIRECTORY_MAX_VALUE_BYTES);
		return directory_result_add_rejected(result, NULL, 0, attribute,
						     dn, reason) == 0
			       ? SMX_OK : SMX_TEMPFAIL;
	}
	STACK_OF(X509) *certs = directory_value_certs(value, size, &truncated);
	if (certs == NULL)
		return directory_result_add_rejected(
			       result, NULL, 0, attribute, dn,
			       "not a DER certificate or PKCS#7 certs-only "
			       "blob") == 0 ? SMX_OK : SMX_TEMPFAIL;
	int rc = 0;
	for (int i = 0; rc == 0 && i < sk_X509_num(certs); i++)
		rc = add_one_cert(result, sk_X509_value(certs, i), email,
				  attribute, dn, (time_t)now);
	sk_X509_pop_free(certs, X509_free);
	if (rc == 0 && truncated) {
		snprintf(reason, sizeof(reason), "PKCS#7 holds more than %d "
			 "certificates; the others were ignored",
			 DIRECTORY_MAX_PKCS7_CERTS);
		rc = directory_result_add_rejected(result, NULL, 0, attribute,
						   dn, reason);
	}
	return rc == 0 ? SMX_OK : SMX_TEMPFAIL;
}

/* --- the filter ------------------------------------------------------ */

int directory_filter_format(char *buf, size_t size, const char *filter,
			    const char *value)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;
	for (const char *p = filter; *p != '\0'; p++) {
		if (*p == '%' && p[1] == '%') {
			if (n + 1 >= size)
				return -1;
			buf[n++] = '%';
			p++;
		} else if (*p == '%' && p[1] == 's') {
			for (const unsigned char *v = (const unsigned char *)value;
			     *v != '\0'; v++) {
				bool plain = *v > 0x20 && *v < 0x7f &&
					     strchr("*()\\", *v) == NULL;
				if (n + (plain ? 1 : 3) >= size)
					return -1;
				if (plain) {
					buf[n++] = (char)*v;
					continue;
				}
				buf[n++] = '\\';
				buf[n++] = hex[*v >> 4];
				buf[n++] = hex[*v & 15];
			}
			p++;
		} else if (*p == '%') {
			return -1;
		} else {
			if (n + 1 >= size)
				return -1;
			buf[n++] = *p;
		}
	}
	if (n >= size)
		return -1;
	buf[n] = '\0';
	return (int)n;
}
