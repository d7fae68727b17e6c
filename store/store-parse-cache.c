/* SPDX-License-Identifier: BSD-2-Clause */
/* The records of recently parsed certificates, keyed by their DER.
 *
 * With OpenSSL 3.0, d2i_X509 costs close to a million instructions
 * (the public key goes through the provider decoder machinery), and
 * every outbound message reads its sender's and its recipients'
 * certificates from the store: parsing was a sixth of the milter's
 * work per signed message. What store_cert_parse derives from a DER
 * depends on nothing else, so a copy of a recent result is as good as
 * a new parse. Rows' own columns (trust, revoked, ...) are never
 * cached: they are filled in from every query's answer. The OpenSSL
 * object is kept too (store_cert_x509), shared by reference: callers
 * only read it, which OpenSSL allows from several threads.
 *
 * Direct-mapped and bounded: PARSE_CACHE_SLOTS entries of at most
 * PARSE_CACHE_MAX_DER bytes each, a colliding entry replaces the old
 * one. One mutex; the critical sections are a memcmp and a copy. */
#include "store-private.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include <smx/x509.h>

#define PARSE_CACHE_SLOTS 256
#define PARSE_CACHE_MAX_DER (16 * 1024)

struct parsed {
	struct store_cert *rec;	/* derived fields only */
	X509 *x509;		/* or NULL when not made yet */
};

static struct parsed parse_cache[PARSE_CACHE_SLOTS];
static pthread_mutex_t parse_cache_lock = PTHREAD_MUTEX_INITIALIZER;

/* FNV-1a: the key is the whole DER, the hash only picks the slot. */
static size_t slot_of(const unsigned char *der, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++) {
		h ^= der[i];
		h *= 0x100000001b3ULL;
	}
	return (size_t)(h % PARSE_CACHE_SLOTS);
}

static char *dup_or_null(const char *s, bool *failed)
{
	char *out = s != NULL ? strdup(s) : NULL;
	if (s != NULL && out == NULL)
		*failed = true;
	return out;
}

/* A deep copy of what store_cert_parse derives from the DER. */
static struct store_cert *derived_copy(const struct store_cert *src)
{
	struct store_cert *c = calloc(1, sizeof(*c));
	bool failed = c == NULL;
	if (failed)
		return NULL;
	memcpy(c->fingerprint, src->fingerprint, sizeof(c->fingerprint));
	c->not_before = src->not_before;
	c->not_after = src->not_after;
	c->key_usage = src->key_usage;
	c->eku = src->eku;
	c->is_ca = src->is_ca;
	memcpy(c->key_type, src->key_type, sizeof(c->key_type));
	c->subject = dup_or_null(src->subject, &failed);
	c->issuer = dup_or_null(src->issuer, &failed);
	c->serial = dup_or_null(src->serial, &failed);
	if ((c->der = malloc(src->der_len)) != NULL) {
		memcpy(c->der, src->der, src->der_len);
		c->der_len = src->der_len;
	} else {
		failed = true;
	}
	if (src->n_emails > 0 &&
	    (c->emails = calloc(src->n_emails, sizeof(char *))) == NULL)
		failed = true;
	for (size_t i = 0; !failed && i < src->n_emails; i++) {
		c->emails[i] = dup_or_null(src->emails[i], &failed);
		c->n_emails = i + 1;
	}
	if (failed)
		store_cert_free(&c);
	return c;
}

static bool cacheable(size_t len)
{
	return len > 0 && len <= PARSE_CACHE_MAX_DER;
}

/* The slot's entry when it holds this DER; under the lock. */
static struct parsed *entry_of(size_t slot, const unsigned char *der,
			       size_t len)
{
	struct parsed *e = &parse_cache[slot];
	if (e->rec == NULL || e->rec->der_len != len ||
	    memcmp(e->rec->der, der, len) != 0)
		return NULL;
	return e;
}

struct store_cert *store_parse_cache_get(const unsigned char *der,
					 size_t len)
{
	if (!cacheable(len))
		return NULL;
	size_t slot = slot_of(der, len);
	struct store_cert *copy = NULL;
	pthread_mutex_lock(&parse_cache_lock);
	struct parsed *e = entry_of(slot, der, len);
	if (e != NULL)
		copy = derived_copy(e->rec);
	pthread_mutex_unlock(&parse_cache_lock);
	return copy;
}

/* Stores rec (a copy) and x509 (a new reference, may be NULL) in their
 * slot, replacing what was there. */
static void put_entry(const struct store_cert *rec, X509 *x509)
{
	struct parsed fresh = { derived_copy(rec), x509 };
	if (fresh.rec == NULL || (x509 != NULL && X509_up_ref(x509) != 1)) {
		store_cert_free(&fresh.rec);
		return;
	}
	size_t slot = slot_of(rec->der, rec->der_len);
	pthread_mutex_lock(&parse_cache_lock);
	struct parsed old = parse_cache[slot];
	parse_cache[slot] = fresh;
	pthread_mutex_unlock(&parse_cache_lock);
	store_cert_free(&old.rec);
	X509_free(old.x509);
}

void store_parse_cache_put(const struct store_cert *parsed, X509 *x509)
{
	if (cacheable(parsed->der_len))
		put_entry(parsed, x509);
}

X509 *store_cert_x509(const struct store_cert *cert)
{
	if (cert == NULL || cert->der == NULL)
		return NULL;
	X509 *x = NULL;
	if (cacheable(cert->der_len)) {
		size_t slot = slot_of(cert->der, cert->der_len);
		pthread_mutex_lock(&parse_cache_lock);
		struct parsed *e = entry_of(slot, cert->der, cert->der_len);
		if (e != NULL && e->x509 != NULL && X509_up_ref(e->x509) == 1)
			x = e->x509;
		pthread_mutex_unlock(&parse_cache_lock);
	}
	if (x != NULL)
		return x;
	x = smx_x509_parse(cert->der, cert->der_len, NULL, 0);
	if (x != NULL && cacheable(cert->der_len))
		put_entry(cert, x);
	return x;
}

void store_parse_cache_clear(void)
{
	pthread_mutex_lock(&parse_cache_lock);
	for (size_t i = 0; i < PARSE_CACHE_SLOTS; i++) {
		store_cert_free(&parse_cache[i].rec);
		X509_free(parse_cache[i].x509);
		parse_cache[i].x509 = NULL;
	}
	pthread_mutex_unlock(&parse_cache_lock);
}
