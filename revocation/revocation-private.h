/* SPDX-License-Identifier: BSD-2-Clause */
/* Inside the revocation library: the network calls and shared helpers. */
#ifndef SMX_REVOCATION_PRIVATE_H
#define SMX_REVOCATION_PRIVATE_H

#include <stdint.h>

#include <openssl/safestack.h>

#include <smx/revocation.h>

/* Sets status, source and the formatted detail of out. */
void revocation_set(struct store_revstatus *out,
		    enum store_revstatus_value status, const char *source,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Seconds since the epoch of t; 0 when t is NULL or unreadable. */
int64_t revocation_asn1_time(const ASN1_TIME *t);

/* Asks the OCSP responder at url (http only) about cert, with a nonce;
 * at most max bytes read, timeout seconds. Fills *out (unknown with the
 * reason when anything fails). */
void revocation_fetch_ocsp(const char *url, X509 *cert, X509 *issuer,
			   size_t max, int timeout, time_t now,
			   struct store_revstatus *out);

/* Fetches the CRL at url (http only) and judges it for cert. */
void revocation_fetch_crl(const char *url, X509 *cert, X509 *issuer,
			  size_t max, int timeout, time_t now,
			  struct store_revstatus *out);

/* The http(s) URIs of cert's CRL distribution points (full names), a
 * stack the caller frees with X509_email_free. Never NULL unless memory
 * ran out. */
STACK_OF(OPENSSL_STRING) *revocation_crl_urls(X509 *cert);

#endif
