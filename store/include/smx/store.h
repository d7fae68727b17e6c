/* SPDX-License-Identifier: BSD-2-Clause */
/* The shared certificate and key store: certificates (imported, harvested,
 * found in the directory, issued), the private keys of internal users
 * (encrypted at rest under the master key), trust anchors, each sender's
 * preferred encryption certificate, the directory cache, the harvest log
 * and counters. One API over two backends (SQLite, PostgreSQL), chosen by
 * the settings it is opened with (struct store_settings, which the
 * configuration's store and keys groups fill).
 *
 * Every function is thread-safe on one struct store: each call borrows a
 * connection from a small pool. Functions that fail return SMX_TEMPFAIL
 * when the database could not answer (busy past store.busy_timeout,
 * connection lost), SMX_NOTFOUND when the thing does not exist, and log
 * the details (with the file, address or fingerprint) through smx_log.
 * The header exposes no database types. Certificates go in and come out
 * as DER, private keys as unencrypted PKCS#8 DER; the one OpenSSL type
 * it names is X509 (store_cert_x509, which parses a record's certificate
 * once and shares it; other DER is read with smx_x509_parse of
 * <smx/x509.h>), hence <openssl/types.h>. */
#ifndef SMX_STORE_H
#define SMX_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/types.h>

#include <smx/status.h>

struct store;

/* The database a store lives in. */
enum store_backend {
	STORE_BACKEND_SQLITE = 0,
	STORE_BACKEND_POSTGRESQL,
};

/* What store_open needs to know: the database, its connection pool, and
 * the master key file. The strings are only read during store_open. */
struct store_settings {
	enum store_backend backend;
	const char *path;		/* SQLite: the database file */
	const char *conninfo;		/* PostgreSQL: a libpq connection
					 * string */
	unsigned busy_timeout;		/* milliseconds a statement waits for
					 * a lock, and a caller for a free
					 * connection */
	unsigned pool_size;		/* connections at most (0 counts as 1) */
	const char *master_key_file;	/* NULL: none, no private keys */
};

/* Where a certificate came from. */
enum store_source {
	STORE_SOURCE_IMPORTED = 0,	/* smimectl import-p12 / import-cert */
	STORE_SOURCE_HARVESTED,		/* from a verified inbound signature */
	STORE_SOURCE_DIRECTORY,		/* from the LDAP directory */
	STORE_SOURCE_ISSUED,		/* by the built-in CA */
};

/* How far a certificate is trusted. Only TRUSTED and PINNED certificates
 * are ever selected to encrypt to or to sign with. */
enum store_trust {
	STORE_TRUST_NONE = 0,	/* chain not verified ("unverified") */
	STORE_TRUST_CHAIN,	/* chain verified to a trust anchor */
	STORE_TRUST_PINNED,	/* an administrator vouched for it */
};

/* Extended key usage, as parsed from the certificate. */
#define STORE_EKU_ABSENT	0x01u	/* no extension: any use */
#define STORE_EKU_EMAIL		0x02u	/* id-kp-emailProtection */
#define STORE_EKU_ANY		0x04u	/* anyExtendedKeyUsage */
#define STORE_EKU_OTHER		0x08u	/* anything else */

/* Key usage bits (RFC 5280 order); key_usage is STORE_KU_ABSENT when
 * the certificate has no keyUsage extension. */
#define STORE_KU_DIGITAL_SIGNATURE	0x0001u
#define STORE_KU_NON_REPUDIATION	0x0002u
#define STORE_KU_KEY_ENCIPHERMENT	0x0004u
#define STORE_KU_DATA_ENCIPHERMENT	0x0008u
#define STORE_KU_KEY_AGREEMENT		0x0010u
#define STORE_KU_KEY_CERT_SIGN		0x0020u
#define STORE_KU_CRL_SIGN		0x0040u
#define STORE_KU_ABSENT			0x8000u

/* A certificate with the metadata parsed from it. A plain record: the
 * caller that receives one owns it and frees it with store_cert_free(). */
struct store_cert {
	char fingerprint[65];		/* SHA-256 of the DER, lower-case hex */
	unsigned char *der;
	size_t der_len;
	char *subject;			/* RFC 2253 one-line form */
	char *issuer;
	char *serial;			/* upper-case hex */
	int64_t not_before, not_after;	/* seconds since the epoch */
	char **emails;			/* lower-case; the SAN rfc822Names,
					 * or when there are none the
					 * subject emailAddress values */
	size_t n_emails;
	unsigned key_usage;		/* STORE_KU_* */
	unsigned eku;			/* STORE_EKU_* */
	char key_type[12];		/* "rsa", "ec", "ed25519", ... */
	bool is_ca;			/* basicConstraints cA */
	enum store_source source;
	enum store_trust trust;
	bool revoked;
	bool has_key;			/* a private key is held for it */
	bool key_in_token;		/* ... in a PKCS#11 token, not sealed
					 * in the store */
	int64_t first_seen, last_seen;
	unsigned char *smime_caps;	/* DER SMIMECapabilities, or NULL */
	size_t smime_caps_len;
};

/* Frees a certificate record and sets *cert to NULL. NULL-safe. */
void store_cert_free(struct store_cert **cert);

/* Frees an array of n records (from store_cert_list) and sets *certs to
 * NULL. NULL-safe. */
void store_cert_list_free(struct store_cert ***certs, size_t n);

/* Parses DER into a record without touching any store: fingerprint,
 * names, validity, emails, usages. source/trust are left zero. Returns
 * SMX_OK, or SMX_PERMFAIL when the bytes are not an X.509 certificate.
 * The caller frees *cert_r with store_cert_free(). */
enum smx_status store_cert_parse(const unsigned char *der, size_t len,
				 struct store_cert **cert_r);

/* The record's certificate as an OpenSSL object: a new reference the
 * caller releases with X509_free, or NULL when the DER does not parse.
 * Recently used certificates are parsed once and shared (read-only). */
X509 *store_cert_x509(const struct store_cert *cert);

/* Flags for store_open(). */
#define STORE_OPEN_CREATE_KEY	0x01u	/* create the master key file
					 * (mode 0600) when it is missing */
#define STORE_OPEN_NO_KEY	0x02u	/* never read the master key: the
					 * store yields no private key (the
					 * key process holds it instead) */

/* Opens the store that settings describe, runs the schema migrations
 * (creating the schema in an empty database), and loads the master key
 * from settings->master_key_file when that file exists. A missing key
 * file is not an error here (the store then holds certificates but yields
 * no private key, see store_key_status); a key file readable by group or
 * others, or of the wrong length, is SMX_CONFIG. A database whose schema
 * is newer than this program knows is SMX_CONFIG with a message saying
 * so; an unreachable database is SMX_TEMPFAIL. Returns the store (owned
 * by the caller, free with store_close) or NULL with *status_r set.
 * settings is only read during the call. */
struct store *store_open(const struct store_settings *settings,
			 unsigned flags, enum smx_status *status_r);

/* Closes every connection and frees the store; sets *store to NULL.
 * NULL-safe. No call may be running on the store. */
void store_close(struct store **store);

/* The schema version of the database and the newest one this program
 * knows. */
int store_schema_version(const struct store *store);
int store_schema_latest(void);

/* The backend name ("sqlite" or "postgresql"). */
const char *store_backend_name(const struct store *store);

/* Whether private keys can be used: SMX_OK (master key loaded and it
 * matches the store), SMX_NOTFOUND (no master key file), SMX_CONFIG (the
 * key file does not match the store: wrong key, detected by the AEAD tag
 * of the store's key-check record). */
enum smx_status store_key_status(const struct store *store);

/* --- certificates ------------------------------------------------------ */

/* Inserts a certificate, or updates the one with the same fingerprint
 * (idempotent), filed under each of its addresses (emails: the SAN
 * rfc822Names, or the subject emailAddress values of a certificate
 * without any; the addresses store_cert_list and store_select find it
 * by): the metadata is parsed from der; last_seen becomes now;
 * first_seen, an earlier source and the revoked flag are kept; trust
 * only ever rises (an unverified harvest never lowers a pinned cert);
 * smime_caps replaces the stored value when not NULL. fingerprint_r (65
 * bytes, may be NULL) receives the fingerprint. *created_r (may be NULL)
 * says whether the row is new. Returns SMX_OK, SMX_PERMFAIL (not a
 * certificate) or SMX_TEMPFAIL. */
enum smx_status store_cert_put(struct store *store, const unsigned char *der,
			       size_t len, enum store_source source,
			       enum store_trust trust,
			       const unsigned char *smime_caps, size_t caps_len,
			       char *fingerprint_r, bool *created_r);

/* Like store_cert_put, but files the certificate under one address
 * only: email, the address that was validated for it (the From address
 * its SAN matched, for a harvested certificate; the address looked up,
 * for one from the directory). A certificate is otherwise filed under
 * every one of its addresses (an administrator chose it). email must be
 * one of the certificate's addresses (emails, any case): otherwise
 * nothing is written and the answer is SMX_PERMFAIL (logged). */
enum smx_status store_cert_put_for(struct store *store, const char *email,
				   const unsigned char *der, size_t len,
				   enum store_source source,
				   enum store_trust trust,
				   const unsigned char *smime_caps,
				   size_t caps_len, char *fingerprint_r,
				   bool *created_r);

/* Records the SMIMECapabilities (DER) a signature made at signed_at
 * (Unix seconds; -1: unknown) announced for the certificate with that
 * fingerprint, only when they are newer than the recorded ones: signed
 * after them, or when none are recorded (unknown times only fill a gap).
 * A replayed old message cannot bring back older capabilities.
 * fingerprint as store_cert_put returns it. SMX_OK also when nothing
 * changed (or there is no such row), SMX_TEMPFAIL. */
enum smx_status store_cert_caps_seen(struct store *store,
				     const char *fingerprint,
				     const unsigned char *smime_caps,
				     size_t caps_len, int64_t signed_at);

/* Whether email (any case) is one of the certificate's addresses. */
bool store_cert_has_email(const struct store_cert *cert, const char *email);

/* Looks a certificate up by fingerprint (64 hex digits; colons and case
 * are ignored). Returns SMX_OK with *cert_r owned by the caller,
 * SMX_NOTFOUND or SMX_TEMPFAIL. */
enum smx_status store_cert_get(struct store *store, const char *fingerprint,
			       struct store_cert **cert_r);

/* Lists certificates for one address (email != NULL, any case), or all
 * of them, newest first. *certs_r is an array of *n_r records owned by
 * the caller (store_cert_list_free). An empty result is SMX_OK with
 * *n_r == 0. */
enum smx_status store_cert_list(struct store *store, const char *email,
				struct store_cert ***certs_r, size_t *n_r);

/* Lists the CA certificates (basicConstraints cA: chain certificates
 * imported with an identity or a certificate, the CAs of harvested
 * signers' paths), newest first, whatever their trust or revocation
 * flags: intermediates to build issuer chains from. Owned as with
 * store_cert_list; an empty result is SMX_OK with *n_r == 0. */
enum smx_status store_cert_list_ca(struct store *store,
				   struct store_cert ***certs_r, size_t *n_r);

/* Removes a certificate with its key, addresses and preferences.
 * Returns SMX_OK, SMX_NOTFOUND or SMX_TEMPFAIL. */
enum smx_status store_cert_remove(struct store *store,
				  const char *fingerprint);

/* Sets the trust level (an administrator pins or unpins). */
enum smx_status store_cert_set_trust(struct store *store,
				     const char *fingerprint,
				     enum store_trust trust);

/* Marks a certificate revoked (or not). A revoked certificate is never
 * selected. */
enum smx_status store_cert_set_revoked(struct store *store,
				       const char *fingerprint, bool revoked);

/* --- private keys ------------------------------------------------------ */

/* Stores the private key (PKCS#8 DER, unencrypted) of the certificate
 * with that fingerprint, encrypted under the master key. The key must
 * match the certificate (else SMX_PERMFAIL). Needs store_key_status() ==
 * SMX_OK (else that status). Replaces an existing key. */
enum smx_status store_key_put(struct store *store, const char *fingerprint,
			      const unsigned char *pkcs8, size_t len);

/* Decrypts the key of a certificate. *pkcs8_r (owned by the caller,
 * clear it with store_secret_free) receives PKCS#8 DER. Returns SMX_OK,
 * SMX_NOTFOUND (no key stored, or no master key file), SMX_CONFIG (the
 * master key does not open it: wrong key file or tampered row; logged),
 * SMX_TEMPFAIL. */
enum smx_status store_key_get(struct store *store, const char *fingerprint,
			      unsigned char **pkcs8_r, size_t *len_r);

/* Records that the private key of the certificate with that fingerprint
 * lives in a PKCS#11 token, named by token_uri ("pkcs11:..."): the row
 * holds no key material. Needs no master key. Returns SMX_OK,
 * SMX_NOTFOUND (no such certificate), SMX_PERMFAIL (not a pkcs11: URI),
 * SMX_TEMPFAIL. Replaces an existing key. */
enum smx_status store_key_put_token(struct store *store,
				    const char *fingerprint,
				    const char *token_uri);

/* Where the key of a certificate lives: SMX_OK with *token_uri_r the
 * PKCS#11 URI of a key in a token (owned by the caller, free()), or NULL
 * for a key sealed in the store; SMX_NOTFOUND when no key is held;
 * SMX_TEMPFAIL. Needs no master key. store_key_get yields SMX_NOTFOUND
 * for a key in a token. */
enum smx_status store_key_token_uri(struct store *store,
				    const char *fingerprint,
				    char **token_uri_r);

/* Deletes the key of a certificate; the certificate stays. */
enum smx_status store_key_remove(struct store *store,
				 const char *fingerprint);

/* Overwrites and frees a secret returned by the store; sets *p NULL. */
void store_secret_free(unsigned char **p, size_t len);

/* --- selection --------------------------------------------------------- */

enum store_purpose {
	STORE_PURPOSE_ENCRYPT,	/* a recipient's certificate */
	STORE_PURPOSE_SIGN,	/* a sender's certificate with its key */
};

/* Why a candidate was not selected. */
enum store_reject {
	STORE_USABLE = 0,
	STORE_REJECT_CA,		/* a CA certificate, not an end entity */
	STORE_REJECT_NOT_YET_VALID,
	STORE_REJECT_EXPIRED,
	STORE_REJECT_REVOKED,
	STORE_REJECT_UNTRUSTED,		/* neither chain-verified nor pinned */
	STORE_REJECT_KEY_USAGE,		/* keyUsage forbids the purpose */
	STORE_REJECT_EKU,		/* EKU present without emailProtection */
	STORE_REJECT_NO_KEY,		/* signing: no private key held */
	STORE_REJECT_ADDRESS,		/* the address is not one of its
					 * emails */
	STORE_REJECT_KEY,		/* encryption: a public key the
					 * encryptor refuses (smx/keyrule.h) */
	STORE_REJECT_REVOCATION_UNKNOWN,	/* revocation status unknown
						 * and revocation.mode hard
						 * (set by the lookup library,
						 * never by store_select) */
};

/* A short English reason ("expired", "key usage does not allow
 * encryption", ...) for logs and smimectl explain. */
const char *store_reject_text(enum store_reject reason,
			      enum store_purpose purpose);

struct store_candidate {
	struct store_cert *cert;
	enum store_reject reason;	/* STORE_USABLE for usable ones */
	bool preferred;		/* named by the latest
				 * SMIMEEncryptionKeyPreference */
};

/* Every certificate of an address, usable ones first in the order to
 * use them (the preferred one, then newest notBefore first), then the
 * rejected ones with their reasons. */
struct store_selection {
	struct store_candidate *items;
	size_t count;
	size_t n_usable;	/* items[0 .. n_usable-1] are usable */
};

/* The one certificate-selection rule for everyone: the
 * certificates filed under email (any case), usable for purpose at time
 * now: email one of its addresses (emails), an end entity, valid now, not
 * revoked, trusted or pinned, keyUsage absent or allowing the purpose
 * (encrypt: keyEncipherment for RSA, keyAgreement for EC; sign:
 * digitalSignature or nonRepudiation), EKU absent or emailProtection,
 * for encryption a public key the encryptor accepts (smx/keyrule.h),
 * and for signing a private key held. Returns SMX_OK
 * when at least one is usable (the best is items[0]), SMX_NOTFOUND when
 * none is (the selection still lists the rejected candidates, possibly
 * none), SMX_TEMPFAIL. *sel_r is owned by the caller in the first two
 * cases (store_selection_free). */
enum smx_status store_select(struct store *store, const char *email,
			     enum store_purpose purpose, time_t now,
			     struct store_selection **sel_r);

/* Frees a selection and sets *sel NULL. NULL-safe. */
void store_selection_free(struct store_selection **sel);

/* Records that sender's latest SMIMEEncryptionKeyPreference names the
 * certificate with that fingerprint (which should be in the store). */
enum smx_status store_preference_set(struct store *store, const char *email,
				     const char *fingerprint);

/* What a harvest records as sender's preference: like
 * store_preference_set, unless another certificate filed under email
 * with a later notBefore is usable to encrypt to at time now (the
 * selection rule of store_select). An old signed message, replayed, so
 * never brings back an older certificate in place of a newer one.
 * *set_r says whether the preference was recorded. SMX_OK also when it
 * was not; SMX_NOTFOUND (no such certificate), SMX_TEMPFAIL. */
enum smx_status store_preference_offer(struct store *store, const char *email,
				       const char *fingerprint, time_t now,
				       bool *set_r);

/* The fingerprint (65 bytes) preferred by email, or SMX_NOTFOUND. */
enum smx_status store_preference_get(struct store *store, const char *email,
				     char *fingerprint_r);

/* --- trust anchors ----------------------------------------------------- */

struct store_anchor {
	char fingerprint[65];
	char *subject;
	int64_t not_after;
	int64_t added;
	unsigned char *der;
	size_t der_len;
};

/* Adds a trust anchor (a CA certificate, DER). Idempotent. *created_r
 * (may be NULL) says whether it is new. SMX_PERMFAIL: not a certificate. */
enum smx_status store_anchor_add(struct store *store, const unsigned char *der,
				 size_t len, char *fingerprint_r,
				 bool *created_r);

/* Lists every anchor; the caller frees with store_anchor_list_free. */
enum smx_status store_anchor_list(struct store *store,
				  struct store_anchor **anchors_r, size_t *n_r);
void store_anchor_list_free(struct store_anchor **anchors, size_t n);

/* Removes an anchor: SMX_OK, SMX_NOTFOUND, SMX_TEMPFAIL. */
enum smx_status store_anchor_remove(struct store *store,
				    const char *fingerprint);

/* --- directory cache --------------------------------------------------- */

/* Records the answer of the directory for email until now + ttl:
 * found (its certificates were put with STORE_SOURCE_DIRECTORY) or not
 * (a negative entry). Replaces an older entry. */
enum smx_status store_dircache_put(struct store *store, const char *email,
				   bool found, time_t now, unsigned ttl);

/* Looks the cache up: SMX_OK with *found_r when an entry is still valid
 * at now, SMX_NOTFOUND when there is none or it has expired (the
 * directory must be asked), SMX_TEMPFAIL. */
enum smx_status store_dircache_get(struct store *store, const char *email,
				   time_t now, bool *found_r);

/* Deletes the entries that expired before now; *n_r (may be NULL) gets
 * the count. */
enum smx_status store_dircache_purge(struct store *store, time_t now,
				     size_t *n_r);

/* --- revocation statuses ---------------------------------------------- */

/* What is known of a certificate's revocation. */
enum store_revstatus_value {
	STORE_REVSTATUS_GOOD = 0,
	STORE_REVSTATUS_REVOKED,
	STORE_REVSTATUS_UNKNOWN,
};

/* One certificate's learned status (a plain record). */
struct store_revstatus {
	char fingerprint[65];
	enum store_revstatus_value status;
	char source[24];	/* "ocsp", "crl", "organization-ca", "none" */
	char detail[160];	/* the revocation reason, or why unknown */
	int64_t checked_at;	/* when it was learned */
	int64_t next_update;	/* the answer's nextUpdate; 0: none */
	int64_t valid_until;	/* reused until then */
	bool unknown_logged;	/* an unknown status was logged */
};

/* Records a status (replacing the one before). A revoked status also
 * marks the certificate revoked (store_cert_set_revoked), in the same
 * transaction, when the store holds it. A status that stays unknown
 * keeps its unknown_logged mark; any other clears it. Returns SMX_OK,
 * SMX_PERMFAIL (a bad fingerprint) or SMX_TEMPFAIL. */
enum smx_status store_revstatus_put(struct store *store,
				    const struct store_revstatus *s);

/* The status recorded for fingerprint, whatever its age (the caller
 * compares valid_until): SMX_OK, SMX_NOTFOUND, SMX_TEMPFAIL. */
enum smx_status store_revstatus_get(struct store *store,
				    const char *fingerprint,
				    struct store_revstatus *s_r);

/* Marks the unknown status of fingerprint as logged. *first_r says
 * whether this call marked it (exactly one caller among all processes
 * and hosts gets true for one spell of unknown). SMX_NOTFOUND when no
 * unknown status is recorded. */
enum smx_status store_revstatus_mark_logged(struct store *store,
					    const char *fingerprint,
					    bool *first_r);

/* The fingerprints (65 bytes each, one array the caller frees) of the
 * statuses that stop being valid before until, soonest first, at most
 * max, revoked ones left out (that never changes): what a background
 * refresh checks again. */
enum smx_status store_revstatus_expiring(struct store *store, int64_t until,
					 size_t max, char (**fps_r)[65],
					 size_t *n_r);

/* Deletes the statuses that stopped being valid before before (a
 * certificate found revoked stays marked in its own row); *n_r (may be
 * NULL) gets the count. Keeps the table from growing with every signer
 * ever seen. */
enum smx_status store_revstatus_purge(struct store *store, int64_t before,
				      size_t *n_r);

/* --- harvest log and counters ------------------------------------------ */

/* One harvested certificate, for the harvest log. */
struct store_harvest_entry {
	time_t when;
	const char *message_id;		/* may be NULL */
	const char *sender;		/* envelope sender */
	const char *header_from;	/* the From header address; may be NULL */
	const char *fingerprint;
	bool trusted;			/* the chain verified to an anchor */
	bool created;			/* the certificate was new to the store */
};

/* Appends one harvest record. Returns SMX_OK, SMX_PERMFAIL (a bad
 * fingerprint) or SMX_TEMPFAIL. */
enum smx_status store_harvest_log(struct store *store,
				  const struct store_harvest_entry *e);

/* Adds delta to the named counter (created at 0), atomically across
 * processes and hosts. Names are short identifiers ("signed",
 * "encrypted", ...). */
enum smx_status store_counter_add(struct store *store, const char *name,
				  int64_t delta);

struct store_stat {
	char *name;
	int64_t value;
};

/* Figures for smimectl stats: certificates (total, per source, with
 * keys), anchors, cache entries, harvest records, then every counter
 * ("counter.NAME"). The caller frees with store_stats_free. */
enum smx_status store_stats(struct store *store, time_t now,
			    struct store_stat **stats_r, size_t *n_r);
void store_stats_free(struct store_stat **stats, size_t n);

/* --- names and helpers ------------------------------------------------- */

const char *store_source_name(enum store_source source);
const char *store_trust_name(enum store_trust trust);

/* Normalizes a fingerprint (strips colons and spaces, lower-cases) into
 * out (65 bytes). Returns false unless it is 64 hex digits. */
bool store_fingerprint_normalize(const char *in, char *out);

/* Called, from whichever thread noticed, when the store's database server
 * stops answering (up false) and when it answers again (up true): once
 * per change, not per attempt. Only the PostgreSQL backend reports (a
 * SQLite file has no outages). Set before the store is opened; NULL
 * for none. */
typedef void store_health_fn(bool up);
void store_set_health_hook(store_health_fn *fn);

/* Writes the versions of the database client libraries linked in. */
const char *store_library_versions(char *buf, size_t size);

/* --- organization CA (store-ca.c) -------------------------------------- */

/* Records the certificate with that fingerprint (put in the store with
 * its key beforehand) as the organization CA, unless a CA is recorded
 * already: the first caller wins, also between processes. current_r (65
 * bytes, may be NULL) receives the recorded CA's fingerprint. Returns
 * SMX_OK when fingerprint is now the CA, SMX_PERMFAIL when another CA was
 * recorded before (current_r names it), SMX_TEMPFAIL. */
enum smx_status store_ca_set(struct store *store, const char *fingerprint,
			     char *current_r);

/* The fingerprint (65 bytes) of the organization CA: SMX_OK,
 * SMX_NOTFOUND (no CA yet) or SMX_TEMPFAIL. */
enum smx_status store_ca_get(struct store *store, char *fingerprint_r);

/* One entry of a CA's revocation list. */
struct store_revocation {
	char fingerprint[65];	/* of the revoked certificate */
	char *serial;		/* upper-case hex, as in struct store_cert */
	int64_t revoked_at;	/* seconds since the epoch */
	int reason;		/* RFC 5280 CRLReason code, 0..10 */
};

/* Revokes a certificate issued by the CA ca_fingerprint: in one
 * transaction, sets its revoked flag (it is never selected again) and
 * records serial, time and reason for the CRL. Revoking again keeps the
 * first record (*created_r false; may be NULL). The record survives
 * store_cert_remove. Returns SMX_OK, SMX_NOTFOUND (no such certificate),
 * SMX_PERMFAIL (malformed fingerprint, serial or reason), SMX_TEMPFAIL. */
enum smx_status store_revocation_add(struct store *store,
				     const char *fingerprint,
				     const char *ca_fingerprint,
				     const char *serial, int64_t revoked_at,
				     int reason, bool *created_r);

/* Every revocation recorded for the CA ca_fingerprint, by fingerprint.
 * An empty list is SMX_OK with *n_r == 0. The caller frees *list_r with
 * store_revocation_list_free. */
enum smx_status store_revocation_list(struct store *store,
				      const char *ca_fingerprint,
				      struct store_revocation **list_r,
				      size_t *n_r);
void store_revocation_list_free(struct store_revocation **list, size_t n);

/* Adds 1 to the named counter (created at 0) and returns the new value in
 * *value_r, atomically across processes and hosts: two callers never get
 * the same value. Used for CRL numbers; shown by store_stats. */
enum smx_status store_counter_next(struct store *store, const char *name,
				   int64_t *value_r);

/* A named lock held across threads, processes and (PostgreSQL) hosts
 * sharing the store: SQLite locks one byte of the file "<database>-lock"
 * (open file description locks); PostgreSQL takes a session advisory
 * lock on a connection borrowed from the pool for as long as the lock is
 * held (so store.pool_size must be at least 2). Different names may
 * share a lock; they then only wait for each other. */
struct store_lock;

/* Waits up to timeout_ms for the lock called name. Returns SMX_OK with
 * *lock_r owned by the caller (store_lock_release), SMX_TEMPFAIL when
 * the time ran out or the database did not answer (logged), SMX_CONFIG
 * when the SQLite database has no file. */
enum smx_status store_lock_acquire(struct store *store, const char *name,
				   unsigned timeout_ms,
				   struct store_lock **lock_r);

/* Releases the lock, frees it and sets *lock NULL. NULL-safe. A lock
 * also ends when its process exits. */
void store_lock_release(struct store_lock **lock);

#endif
