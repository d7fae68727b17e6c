/* SPDX-License-Identifier: BSD-2-Clause */
/* Finding a recipient's encryption certificates: the one
 * search used by the milter and by smimectl lookup. Order: the store;
 * when it holds nothing usable, the directory cache (kept in the store);
 * when the cache has no fresh entry, the LDAP directory, whose
 * certificates are put into the store (source directory, trust from chain
 * verification) and whose answer is cached, then the store is asked
 * again.
 *
 * Three answers, never confused: AVAILABLE (usable certificates, best
 * first), MISSING (every source answered and none is usable), UNKNOWN
 * (the store or the directory could not answer: a caller must fail
 * closed, never treat it as MISSING).
 *
 * Thread-safe: any number of threads may look up at once on one struct
 * store and one struct directory (both are thread-safe); the library
 * keeps no state of its own. The header exposes no OpenSSL types. */
#ifndef SMX_LOOKUP_H
#define SMX_LOOKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <smx/error.h>
#include <smx/store.h>

struct cfg_ldap;
struct cfg_revocation;
struct cfg_verify;
struct directory;

enum lookup_answer {
	LOOKUP_AVAILABLE = 0,	/* at least one usable certificate */
	LOOKUP_MISSING,		/* every source answered: none usable */
	LOOKUP_UNKNOWN,		/* a source could not answer: fail closed */
};

/* Where a candidate came from. */
enum lookup_origin {
	LOOKUP_FROM_STORE = 0,	/* imported, harvested or issued */
	LOOKUP_FROM_CACHE,	/* fetched from the directory earlier */
	LOOKUP_FROM_DIRECTORY,	/* fetched from the directory now */
};

struct lookup_candidate {
	struct store_cert *cert;	/* NULL only for a directory value
					 * that is not a certificate */
	enum lookup_origin origin;
	bool usable;
	bool preferred;		/* named by SMIMEEncryptionKeyPreference */
	enum store_reject reject;	/* the store's verdict; STORE_USABLE
					 * for usable ones and for values the
					 * directory refused (see reason) */
	char *reason;		/* why not usable ("expired", "not trusted
				 * (...)", "issued to x, not y"); NULL when
				 * usable */
	char *dn;		/* directory origin: the entry and the */
	char *attribute;	/* attribute that held it; else NULL */
};

/* Every candidate seen: items[0 .. n_usable-1] are the usable ones in the
 * order to use them (the store's rule: preferred, then newest), then the
 * rejected ones with their reasons, from every source asked. */
struct lookup_result {
	enum lookup_answer answer;
	struct lookup_candidate *items;
	size_t count;
	size_t n_usable;
	bool directory_asked;	/* the directory was queried by this call */
	size_t n_revocation_unknown;	/* candidates refused because their
					 * revocation status is unknown
					 * (revocation.mode hard) */
	struct smx_error error;	/* UNKNOWN: which source failed and why;
				 * else "" */
};

/* Finds the encryption certificates of email (an address, any case) at
 * time now. verify (may be NULL: the system bundle) names the trust
 * anchors that directory certificates are verified to, the same as
 * inbound verification's. dir is the directory to ask (NULL: no directory is
 * configured, so the store and its cache are every source); ldap gives
 * cache_ttl and negative_ttl (ignored, and may be NULL, when dir is
 * NULL). A directory answer is cached in the store for cache_ttl (found)
 * or negative_ttl (not found) seconds, and not at all when that is 0;
 * "unknown" is never cached. Each certificate the directory returns is
 * stored with STORE_SOURCE_DIRECTORY and STORE_TRUST_CHAIN when its chain
 * verifies to the trust anchors (lookup_verify_chain), else
 * STORE_TRUST_NONE (then rejected as not trusted); it is filed under
 * email alone, and only when it is issued to email (its SAN rfc822Names,
 * or the subject emailAddress of one without any; else it is not stored
 * and is listed as refused).
 * Returns the answer; *result_r (owned by the caller, lookup_result_free)
 * is set in every case, and is NULL only when memory ran out (then the
 * answer is LOOKUP_UNKNOWN). Logs the failures of sources at the level of
 * the store and directory libraries, nothing per lookup above LOG_DEBUG. */
enum lookup_answer lookup_encrypt_certs(struct store *store,
					const struct cfg_verify *verify,
					struct directory *dir,
					const struct cfg_ldap *ldap,
					const char *email, time_t now,
					struct lookup_result **result_r);

/* lookup_encrypt_certs with revocation checking (smx/revocation.h)
 * under revocation (NULL: none): each certificate the store found usable
 * is checked (the cached status, else the network, until deadline: the
 * message's revocation_deadline, or 0 for revocation->max_wait from
 * now); a revoked one is rejected as revoked, an
 * unknown one in hard mode as "revocation status unknown", and when that
 * leaves nothing usable the answer is UNKNOWN (the status may be learned
 * later), not MISSING. What the milter uses. */
enum lookup_answer lookup_encrypt_certs_checked(
	struct store *store, const struct cfg_verify *verify,
	const struct cfg_revocation *revocation, struct directory *dir,
	const struct cfg_ldap *ldap, const char *email, time_t now,
	time_t deadline, struct lookup_result **result_r);

/* store_select for encryption with the same revocation checking (no
 * directory; deadline as there): the certificate to encrypt to is items[0]. SMX_OK,
 * SMX_NOTFOUND (none usable; *sel_r still lists them), SMX_TEMPFAIL. */
enum smx_status lookup_select_encrypt(struct store *store,
				      const struct cfg_verify *verify,
				      const struct cfg_revocation *revocation,
				      const char *email, time_t now,
				      time_t deadline,
				      struct store_selection **sel_r);

/* Frees a result and sets *result NULL. NULL-safe. */
void lookup_result_free(struct lookup_result **result);

/* "available", "missing", "unknown". */
const char *lookup_answer_name(enum lookup_answer answer);

/* "store", "cache", "directory". */
const char *lookup_origin_name(enum lookup_origin origin);

/* A DER certificate (for lookup_verify_chain's extra intermediates). */
struct lookup_der {
	const unsigned char *der;
	size_t len;
};

/* Verifies the certificate der (DER) at the current time, for email
 * protection, to the trust anchors of inbound verification
 * (verify.ca_file, "none" meaning none, and verify.extra_ca_file; verify
 * NULL: the system bundle) plus the store's anchors, with extra (n_extra
 * certificates, may be 0) and every stored certificate as possible
 * intermediates. A chain whose leaf's extended key usage lacks
 * emailProtection, or with a CA unfit for S/MIME, does not verify.
 * Returns SMX_OK with *trust_r STORE_TRUST_CHAIN ("chain verified" in
 * why) or STORE_TRUST_NONE with the reason in why (OpenSSL's
 * verification error, or "not a certificate"); SMX_TEMPFAIL when the
 * store did not answer, a root file could not be read or memory ran out
 * (*trust_r STORE_TRUST_NONE, the reason in why). Used by smimectl
 * import-cert too, so that both judge certificates alike. Thread-safe. */
enum smx_status lookup_verify_chain(struct store *store,
				    const struct cfg_verify *verify,
				    const unsigned char *der, size_t len,
				    const struct lookup_der *extra,
				    size_t n_extra, enum store_trust *trust_r,
				    char *why, size_t size);

/* The certificate that issued the one in der, found as chain
 * verification finds it (the trust anchors of verify, the store's
 * anchors and certificates): a new reference the caller frees, or NULL
 * (not found, or the store did not answer). For revocation checks. */
X509 *lookup_issuer_of(struct store *store, const struct cfg_verify *verify,
		       const unsigned char *der, size_t len);

/* The same for n certificates at once (the anchors and the store's
 * certificates loaded once): issuers_r[i] (a new reference or NULL) for
 * certs[i]. SMX_OK, or SMX_TEMPFAIL when the store did not answer (then
 * every issuers_r[i] is NULL). */
enum smx_status lookup_issuers_of(struct store *store,
				  const struct cfg_verify *verify,
				  const struct lookup_der *certs, size_t n,
				  X509 **issuers_r);

/* Judges every stored certificate trusted by its chain
 * (STORE_TRUST_CHAIN, end entities) again against the current trust
 * anchors, as lookup_verify_chain does, and demotes each that no longer
 * verifies to STORE_TRUST_NONE (logged), so that removing an anchor
 * takes effect at once for selection. Pinned certificates are the
 * administrator's and stay. A certificate whose chain ran through an
 * intermediate the store does not hold (the harvest stores those of the
 * paths it validates) cannot be judged and is demoted too (fail
 * closed); its next verified signature trusts it again.
 * *demoted_r (may be NULL) counts the demoted. SMX_OK or SMX_TEMPFAIL. */
enum smx_status lookup_trust_recheck(struct store *store,
				     const struct cfg_verify *verify,
				     size_t *demoted_r);

#endif
