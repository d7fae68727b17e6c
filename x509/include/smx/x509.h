/* SPDX-License-Identifier: BSD-2-Clause */
/* Certificates and private keys as the whole program handles them: one
 * strict reading of DER (a buffer is exactly one object, or nothing), DER
 * output, the SHA-256 fingerprint certificates are known by, and the
 * issuer chain of a certificate within a pool, and the mail addresses a
 * certificate is for. */
#ifndef SMX_X509_H
#define SMX_X509_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* The largest certificate or key read (DER octets). */
#define SMX_X509_MAX_DER ((size_t)1024 * 1024)
/* A SHA-256 fingerprint: raw octets, and lower-case hex with its NUL. */
#define SMX_X509_FP_LEN 32
#define SMX_X509_FP_HEX 65

/* The certificate in der, which must be exactly one DER certificate: no
 * bytes after it, not empty, at most SMX_X509_MAX_DER octets. NULL
 * otherwise, with the reason in why (size bytes; why may be NULL). The
 * caller frees the result with X509_free. */
X509 *smx_x509_parse(const unsigned char *der, size_t len, char *why,
		     size_t size);

/* The DER of x in a malloc'd buffer *der_r (the caller frees it with
 * free()); returns its length, or 0 with *der_r NULL on failure. */
size_t smx_x509_to_der(X509 *x, unsigned char **der_r);

/* The SHA-256 fingerprint of a certificate's DER, as hex into out.
 * false (out "") when digesting failed. */
bool smx_x509_der_fingerprint(const unsigned char *der, size_t len,
			      char out[SMX_X509_FP_HEX]);

/* The SHA-256 fingerprint of x (of its DER encoding): raw octets, or
 * hex. false (hex out "") when digesting failed. */
bool smx_x509_fingerprint_raw(X509 *x, unsigned char md[SMX_X509_FP_LEN]);
bool smx_x509_fingerprint(X509 *x, char out[SMX_X509_FP_HEX]);

/* The private key in der (PKCS#8, or a traditional RSA/EC key), which
 * must be exactly one key, at most SMX_X509_MAX_DER octets. NULL
 * otherwise, with the reason in why (may be NULL). The caller frees the
 * result with EVP_PKEY_free. */
EVP_PKEY *smx_x509_key_parse(const unsigned char *der, size_t len,
			     char *why, size_t size);

/* The unencrypted PKCS#8 DER of key in a malloc'd buffer *der_r: a
 * secret, which the caller clears before freeing it (store_secret_free).
 * Returns its length, or 0 with *der_r NULL on failure. */
size_t smx_x509_key_to_der(EVP_PKEY *key, unsigned char **der_r);

/* Whether key is the private key of x's public key. */
bool smx_x509_key_matches(X509 *x, EVP_PKEY *key);

/* Appends the certificate in der (read by smx_x509_parse) to sk; what
 * does not parse is skipped. Returns -1 only when memory ran out. */
int smx_x509_stack_push_der(STACK_OF(X509) *sk, const unsigned char *der,
			    size_t len);

/* The certificate in pool, other than x itself, that issued x (names and
 * key identifiers match; the signature is not checked), or NULL. Points
 * into pool. */
X509 *smx_x509_issuer_in(X509 *x, STACK_OF(X509) *pool);

/* The issuers of leaf, nearest first, found in pool by
 * smx_x509_issuer_in up to a self-signed one (at most 8). Returns a new
 * stack holding its own references, maybe empty; NULL only when memory
 * ran out. Free with smx_x509_stack_free. */
STACK_OF(X509) *smx_x509_chain(X509 *leaf, STACK_OF(X509) *pool);

/* The mail addresses x is for, lower-cased, into out (at most max; free
 * them with smx_x509_mail_addresses_free): the rfc822Names of its
 * subjectAltName, or, only when that names no rfc822Name at all, the
 * emailAddress attributes of its subject (RFC 8550). A name that cannot
 * be an address (empty, over 254 octets, no '@', a control or
 * non-ASCII octet) gives nothing, yet still counts as the subjectAltName
 * naming someone: its subject is then not read; so do an RFC 8398
 * SmtpUTF8Mailbox (never matched here) and a subjectAltName that does
 * not decode or comes twice. Duplicates are dropped.
 * Returns how many, or -1 when memory ran out (out then holds none). */
#define SMX_X509_MAX_MAIL 32
int smx_x509_mail_addresses(X509 *x, char **out, size_t max);
void smx_x509_mail_addresses_free(char **list, size_t n);

/* Frees a stack and its certificates; sets *sk NULL. */
void smx_x509_stack_free(STACK_OF(X509) **sk);

#endif
