/* SPDX-License-Identifier: BSD-2-Clause */
/* The organization CA: creates (or imports) a CA, issues S/MIME
 * certificates to internal addresses (RFC 8550/8551 profile), revokes
 * them and writes CRLs.
 *
 * Everything lives in the store: the CA certificate is a pinned
 * certificate and a trust anchor there, its private key is sealed under
 * the master key like every user's key, and store_ca_set() records which
 * certificate is the CA. So smimectl and the milter — any number of
 * threads, processes and, with PostgreSQL, hosts — can issue with it at
 * the same time; ca_issue() serializes per address with a store lock.
 *
 * Errors are logged through smx_log naming the address or fingerprint;
 * functions return SMX_OK, SMX_NOTFOUND, SMX_TEMPFAIL (the store did not
 * answer; retry), SMX_PERMFAIL (refused input) or SMX_CONFIG (no CA, no
 * master key, unusable configuration). */
#ifndef SMX_CA_H
#define SMX_CA_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <smx/cfg.h>	/* enum ca_key_type */
#include <smx/status.h>

struct cfg;
struct store;
struct ca;

/* What a new CA looks like. */
struct ca_params {
	const char *subject;	/* RFC 4514 order: "CN=Example CA,O=Example" */
	enum ca_key_type key_type;
	unsigned lifetime;	/* seconds from now */
};

/* Reads a key type's name ("rsa-2048", "rsa-3072", "rsa-4096",
 * "ec-p256", "ec-p384") into *type_r; false when it is none of them. */
bool ca_key_type_parse(const char *name, enum ca_key_type *type_r);

/* The name of a key type ("?" for a value that is none). */
const char *ca_key_type_name(enum ca_key_type type);

/* Creates the organization CA in store: a fresh key, a self-signed
 * certificate (basicConstraints critical CA:TRUE, pathlen 0; keyUsage
 * critical keyCertSign, cRLSign; subject and authority key identifiers;
 * a random 159-bit serial; valid from now - 5 minutes to now +
 * lifetime), stored pinned with its sealed key, added as a trust anchor
 * and recorded as the CA. fingerprint_r (65 bytes) receives its SHA-256
 * fingerprint. Returns SMX_OK; SMX_PERMFAIL when a CA exists already (its
 * fingerprint in fingerprint_r) or the subject does not parse;
 * SMX_CONFIG without a usable master key; SMX_TEMPFAIL. */
enum smx_status ca_create(struct store *store, const struct ca_params *params,
			  time_t now, char *fingerprint_r);

/* Makes an existing CA the organization CA: cert (DER) must be a CA
 * certificate (basicConstraints CA:TRUE; keyUsage, if present, with
 * keyCertSign) and pkcs8 (unencrypted PKCS#8 DER) its key. Stored like
 * ca_create's. Returns as ca_create, and SMX_PERMFAIL for a certificate
 * that is no CA or a key that does not match. */
enum smx_status ca_import(struct store *store, const unsigned char *cert,
			  size_t cert_len, const unsigned char *pkcs8,
			  size_t key_len, char *fingerprint_r);

/* Loads the organization CA from store, with the settings it issues by
 * (cfg->ca: key type, lifetimes, renewal, CRL URL and validity, separate
 * encryption certificates; cfg->milter.internal_domains), copied: cfg is
 * only read during the call. The private key is loaded when the master
 * key is usable; without it the CA still yields its certificate, and
 * ca_issue/ca_crl return SMX_CONFIG. Returns SMX_OK with *ca_r owned by
 * the caller (ca_free), SMX_NOTFOUND (no CA: smimectl ca init),
 * SMX_CONFIG (the recorded CA or its key is missing or broken),
 * SMX_TEMPFAIL. A struct ca is immutable: threads may share one. */
enum smx_status ca_open(struct store *store, const struct cfg *cfg,
			struct ca **ca_r);

/* Frees the CA (clearing its key) and sets *ca NULL. NULL-safe. */
void ca_free(struct ca **ca);

/* The CA certificate (DER, owned by ca) and its fingerprint. */
const unsigned char *ca_cert_der(const struct ca *ca, size_t *len_r);
const char *ca_fingerprint(const struct ca *ca);

/* Flags for ca_issue. */
#define CA_ISSUE_FORCE		0x01u	/* issue even when a usable one exists */
#define CA_ISSUE_SEPARATE	0x02u	/* separate signing and encryption
					 * certificates, whatever
					 * ca.separate_encryption_cert says */

struct ca_issued {
	char sign_fingerprint[65];	/* the signing (or only) certificate */
	char enc_fingerprint[65];	/* the encryption certificate; equal
					 * to sign_fingerprint when one
					 * certificate does both */
	bool created;		/* false: an existing one was returned */
	bool renewed;		/* created because the existing one was
				 * within ca.renew_before of expiry */
};

/* Lock wait of ca_issue, in milliseconds. */
#define CA_ISSUE_LOCK_TIMEOUT_MS 60000u

/* Ensures email (an address in milter.internal_domains) has a usable
 * certificate issued by this CA, with its private key held. Idempotent:
 * when one exists that is usable for signing and not within
 * ca.renew_before of its end, it is returned (created false) unless
 * CA_ISSUE_FORCE. Otherwise issues, with fresh keys of ca.key_type:
 *   - one certificate: keyUsage digitalSignature + keyEncipherment (RSA)
 *     or digitalSignature + keyAgreement (EC); or, separately, a signing
 *     certificate (digitalSignature) and an encryption certificate
 *     (keyEncipherment for RSA, keyAgreement for EC);
 *   - subject CN=<email> (when it fits in 64 characters),
 *     emailAddress=<email>; SAN rfc822Name <email>; EKU emailProtection;
 *     basicConstraints CA:FALSE; SKI and AKI; the CRL distribution point
 *     when ca.crl_url is set; a random 159-bit serial; valid from now - 5
 *     minutes for ca.cert_lifetime, never beyond the CA's own end;
 * stores them (source issued, trust chain: the CA is a trust anchor) with
 * their sealed keys, and records the encryption certificate as email's
 * encryption preference (what SMIMEEncryptionKeyPreference names).
 * Concurrent calls for one address, in any process on the same store,
 * issue once: the others wait (up to CA_ISSUE_LOCK_TIMEOUT_MS) and
 * return that certificate. now is the current time. Returns SMX_OK with
 * *out filled, SMX_PERMFAIL (not an internal or not an ASCII address),
 * SMX_CONFIG (no CA key or master key), SMX_TEMPFAIL. Thread-safe. */
enum smx_status ca_issue(struct ca *ca, const char *email, unsigned flags,
			 time_t now, struct ca_issued *out);

/* RFC 5280 CRLReason codes smimectl accepts by name. */
#define CA_REASON_UNSPECIFIED		0
#define CA_REASON_KEY_COMPROMISE	1
#define CA_REASON_AFFILIATION_CHANGED	3
#define CA_REASON_SUPERSEDED		4
#define CA_REASON_CESSATION		5
#define CA_REASON_PRIVILEGE_WITHDRAWN	9

/* The code of a reason name ("keyCompromise", "superseded", ...; case
 * is ignored, '-' and '_' may separate words). False when unknown. */
bool ca_reason_parse(const char *name, int *code_r);

/* The RFC 5280 name of a code ("keyCompromise"), "unknown" otherwise. */
const char *ca_reason_name(int code);

/* Revokes the certificate with that fingerprint (full, colons allowed),
 * which this CA must have issued: it is never selected again and is
 * listed by the next CRL with time now and reason. Revoking twice keeps
 * the first record (*already_r true; may be NULL). Returns SMX_OK,
 * SMX_NOTFOUND (no such certificate), SMX_PERMFAIL (not issued by this
 * CA, or the CA itself), SMX_TEMPFAIL. */
enum smx_status ca_revoke(struct ca *ca, const char *fingerprint, int reason,
			  time_t now, bool *already_r);

/* A CRL (version 2, DER) of every certificate this CA revoked, with
 * revocation dates and reason codes, thisUpdate now, nextUpdate now +
 * ca.crl_validity, an authority key identifier and a CRL number that
 * grows with every call, signed by the CA. *der_r is owned by the caller
 * (free()); *n_r (may be NULL) gets the number of entries. Returns
 * SMX_OK, SMX_CONFIG (no CA key), SMX_TEMPFAIL. */
enum smx_status ca_crl(struct ca *ca, time_t now, unsigned char **der_r,
		       size_t *len_r, size_t *n_r);

#endif
