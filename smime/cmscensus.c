/* SPDX-License-Identifier: BSD-2-Clause */
/* Counting what a SignedData holds before OpenSSL parses it. OpenSSL's
 * parser decodes every certificate and CRL of the set (hashing each and
 * decoding its extensions): a set of ten thousand small ones costs many
 * times what the same bytes of content cost, so the counts are read from
 * the BER structure first, skipping over everything else. OpenSSL offers
 * no reader of digestAlgorithms, the field that decides how often the
 * content is hashed; it is read here as well. */
#include "verify-private.h"

#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#define CENSUS_MAX_NESTING 64	/* indefinite lengths inside one item */

/* Reads a BER header at *p (before end) and checks its tag. Returns the
 * end of its content (end itself for an indefinite length, which
 * *indefinite_r says when not NULL) and moves *p to the content, or
 * NULL. */
static const unsigned char *ber_enter(const unsigned char **p,
				      const unsigned char *end, int tag,
				      int cls, bool *indefinite_r)
{
	long len = 0;
	int t = 0, c = 0;
	int ret = ASN1_get_object(p, &len, &t, &c, end - *p);
	if ((ret & 0x80) != 0 || t != tag || c != cls)
		return NULL;
	if (indefinite_r != NULL)
		*indefinite_r = ret == 0x21;
	return ret == 0x21 ? end : *p + len;
}

static bool end_of_contents(const unsigned char *p, const unsigned char *end)
{
	return end - p >= 2 && p[0] == 0 && p[1] == 0;
}

/* Skips one whole item at *p, of definite or indefinite length. */
static bool ber_skip_any(const unsigned char **pp, const unsigned char *end)
{
	const unsigned char *p = *pp;
	unsigned open = 0;	/* indefinite lengths entered */
	do {
		if (open > 0 && end_of_contents(p, end)) {
			p += 2;
			open--;
			continue;
		}
		long len = 0;
		int tag = 0, cls = 0;
		int ret = ASN1_get_object(&p, &len, &tag, &cls, end - p);
		if ((ret & 0x80) != 0)
			return false;
		if (ret == 0x21) {
			if (++open > CENSUS_MAX_NESTING)
				return false;
			continue;
		}
		p += len;
	} while (open > 0);
	*pp = p;
	return true;
}

/* True when the next item at p (before end) has tag and cls. The tag is
 * decoded, not compared as one byte: OpenSSL's parser also reads a tag
 * number written in the long form (0xbf 0x00 for [0]), and a field
 * skipped here for its spelling would be parsed there uncounted. */
static bool next_is(const unsigned char *p, const unsigned char *end,
		    int tag, int cls)
{
	long len = 0;
	int t = 0, c = 0;
	if (p >= end || end_of_contents(p, end))
		return false;
	int ret = ASN1_get_object(&p, &len, &t, &c, end - p);
	return (ret & 0x80) == 0 && t == tag && c == cls;
}

/* Moves *p past the end of a SET whose items were all read: its end,
 * or the end-of-contents octets of an indefinite length. */
static bool leave_set(const unsigned char **p, const unsigned char *set,
		      bool indefinite)
{
	if (!indefinite)
		return *p == set;
	if (!end_of_contents(*p, set))
		return false;
	*p += 2;
	return true;
}

/* Counts the items of a SET (or [n] IMPLICIT SET) whose header is at *p,
 * up to limit + 1, and moves *p after it when all were counted. */
static bool count_set(const unsigned char **p, const unsigned char *end,
		      int tag, int cls, unsigned limit, unsigned *n_r)
{
	bool indefinite = false;
	const unsigned char *set = ber_enter(p, end, tag, cls, &indefinite);
	unsigned n = 0;
	if (set == NULL)
		return false;
	while (*p < set && !end_of_contents(*p, set) && n <= limit) {
		if (!ber_skip_any(p, set))
			return false;
		n++;
	}
	*n_r = n;
	return n > limit || leave_set(p, set, indefinite);
}

/* The digestAlgorithms: their number (up to limit + 1) and whether one
 * is listed twice. */
static bool read_digests(const unsigned char **p, const unsigned char *end,
			 struct cms_census *c)
{
	bool indefinite = false;
	const unsigned char *set = ber_enter(p, end, V_ASN1_SET,
					     V_ASN1_UNIVERSAL, &indefinite);
	ASN1_OBJECT *seen[VERIFY_MAX_DIGESTS + 1];
	unsigned n = 0;
	bool ok = set != NULL;
	while (ok && *p < set && !end_of_contents(*p, set) &&
	       n <= VERIFY_MAX_DIGESTS) {
		X509_ALGOR *alg = d2i_X509_ALGOR(NULL, p, set - *p);
		const ASN1_OBJECT *oid = NULL;
		if (alg != NULL)
			X509_ALGOR_get0(&oid, NULL, NULL, alg);
		for (unsigned i = 0; oid != NULL && i < n; i++)
			if (OBJ_cmp(seen[i], oid) == 0)
				c->digest_twice = true;
		seen[n] = oid != NULL ? OBJ_dup(oid) : NULL;
		X509_ALGOR_free(alg);
		ok = seen[n] != NULL;
		n += ok ? 1 : 0;
	}
	for (unsigned i = 0; i < n; i++)
		ASN1_OBJECT_free(seen[i]);
	c->n_digests = n;
	return ok && (n > VERIFY_MAX_DIGESTS || leave_set(p, set, indefinite));
}

/* encapContentInfo: whether it carries its content, then skipped. */
static bool read_encap(const unsigned char **p, const unsigned char *end,
		       struct cms_census *c)
{
	const unsigned char *q = *p;
	const unsigned char *e = ber_enter(&q, end, V_ASN1_SEQUENCE,
					   V_ASN1_UNIVERSAL, NULL);
	if (e == NULL || !ber_skip_any(&q, e))	/* eContentType */
		return false;
	c->detached = !next_is(q, e, 0, V_ASN1_CONTEXT_SPECIFIC);
	return ber_skip_any(p, end);
}

/* The optional [0] certificates and [1] CRLs at *p (of a SignedData or
 * an OriginatorInfo), counted up to limit + 1 each; false when they
 * cannot be read or a count is over limit. */
static bool count_certs_crls(const unsigned char **p, const unsigned char *end,
			     unsigned limit, struct cms_census *c)
{
	if (next_is(*p, end, 0, V_ASN1_CONTEXT_SPECIFIC) &&
	    (!count_set(p, end, 0, V_ASN1_CONTEXT_SPECIFIC, limit,
			&c->n_certs) || c->n_certs > limit))
		return false;
	if (next_is(*p, end, 1, V_ASN1_CONTEXT_SPECIFIC) &&
	    (!count_set(p, end, 1, V_ASN1_CONTEXT_SPECIFIC, limit,
			&c->n_crls) || c->n_crls > limit))
		return false;
	return true;
}

/* EnvelopedData, AuthEnvelopedData and AuthenticatedData start alike:
 * version, then an optional [0] IMPLICIT OriginatorInfo whose
 * certificates and CRLs OpenSSL parses like a SignedData's. Counts them
 * from *p (the content after the content type). */
static bool read_originator(const unsigned char *p, const unsigned char *end,
			    unsigned limit, struct cms_census *c)
{
	bool indefinite = false;
	const unsigned char *info;
	c->enveloped = true;
	if (ber_enter(&p, end, 0, V_ASN1_CONTEXT_SPECIFIC, NULL) == NULL ||
	    ber_enter(&p, end, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, NULL) ==
		    NULL ||
	    !ber_skip_any(&p, end))			/* version */
		return false;
	if (!next_is(p, end, 0, V_ASN1_CONTEXT_SPECIFIC))
		return true;
	info = ber_enter(&p, end, 0, V_ASN1_CONTEXT_SPECIFIC, &indefinite);
	return info != NULL && count_certs_crls(&p, info, limit, c);
}

/* The content type OID at p (before end) is oid (whole, with its tag). */
static bool type_is(const unsigned char *p, const unsigned char *end,
		    const unsigned char *oid, size_t oid_len)
{
	return (size_t)(end - p) >= oid_len && memcmp(p, oid, oid_len) == 0;
}

bool cms_census(const unsigned char *der, size_t len, unsigned limit,
		struct cms_census *c)
{
	static const unsigned char signed_data[] = {
		0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02
	};
	static const unsigned char enveloped_data[] = {
		0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03
	};
	static const unsigned char auth_enveloped_data[] = {	/* 9.16.1.23 */
		0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09,
		0x10, 0x01, 0x17
	};
	static const unsigned char authenticated_data[] = {	/* 9.16.1.2 */
		0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09,
		0x10, 0x01, 0x02
	};
	memset(c, 0, sizeof(*c));
	if (der == NULL || len == 0)
		return false;	/* nothing to read (and no pointer to add to) */
	const unsigned char *p = der, *end = der + len;
	bool ok = false;
	if (ber_enter(&p, end, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, NULL) ==
		    NULL || (size_t)(end - p) < sizeof(signed_data))
		goto done;
	if (type_is(p, end, enveloped_data, sizeof(enveloped_data)) ||
	    type_is(p, end, auth_enveloped_data, sizeof(auth_enveloped_data)) ||
	    type_is(p, end, authenticated_data, sizeof(authenticated_data))) {
		p += p[1] + 2;
		ok = read_originator(p, end, limit, c) ||
		     c->n_certs > limit || c->n_crls > limit;
		goto done;
	}
	if (memcmp(p, signed_data, sizeof(signed_data)) != 0) {
		ok = true;	/* another content type */
		goto done;
	}
	c->signed_data = true;
	p += sizeof(signed_data);
	if (ber_enter(&p, end, 0, V_ASN1_CONTEXT_SPECIFIC, NULL) == NULL ||
	    ber_enter(&p, end, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, NULL) ==
		    NULL ||
	    !ber_skip_any(&p, end) ||			/* version */
	    !read_digests(&p, end, c))
		goto done;
	if (c->n_digests > VERIFY_MAX_DIGESTS) {
		ok = true;
		goto done;
	}
	if (!read_encap(&p, end, c))
		goto done;
	if (!count_certs_crls(&p, end, limit, c)) {
		ok = c->n_certs > limit || c->n_crls > limit;
		goto done;
	}
	ok = count_set(&p, end, V_ASN1_SET, V_ASN1_UNIVERSAL, limit,
		       &c->n_signers);
done:
	ERR_clear_error();
	return ok;
}
