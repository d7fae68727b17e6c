/* SPDX-License-Identifier: BSD-2-Clause */
/* The organization's LDAP directory as a certificate source: lookups of
 * the certificates published for an address, and publishing the
 * certificates the gateway holds. One `struct directory` serves every
 * milter thread: it keeps a small pool of connections, each used by one
 * thread at a time, with network and operation timeouts.
 *
 * Results are three-way on purpose (smx/status.h): SMX_OK (certificates
 * found), SMX_NOTFOUND (the directory answered: no usable certificate),
 * SMX_TEMPFAIL (the directory is down, slow or refused us: nobody knows).
 * A caller must never treat TEMPFAIL as "no certificate". This library
 * has no cache; a cache (the store) goes in front of directory_lookup()
 * and keys its entries on the address, with ldap.cache_ttl for OK and
 * ldap.negative_ttl for NOTFOUND (never for TEMPFAIL). */
#ifndef SMX_DIRECTORY_H
#define SMX_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>

#include <smx/cfg.h>
#include <smx/error.h>
#include <smx/status.h>

struct directory;

/* Bounds on what one lookup accepts from the server (hostile input). */
#define DIRECTORY_MAX_ENTRIES 16	  /* entries per lookup */
#define DIRECTORY_MAX_VALUES 32		  /* values per attribute */
#define DIRECTORY_MAX_VALUE_BYTES 65536	  /* bytes per value */
#define DIRECTORY_MAX_PKCS7_CERTS 32	  /* certificates per PKCS#7 */

/* A certificate found for the address. */
struct directory_cert {
	unsigned char *der;	/* DER certificate */
	size_t der_len;
	char *attribute;	/* where it came from, as the server named it
				 * ("userCertificate;binary") */
	char *dn;		/* the entry that holds it */
};

/* A value that was read but is not usable for the address. */
struct directory_rejected {
	unsigned char *der;	/* the certificate, or NULL when the value
				 * was not one (or was too large) */
	size_t der_len;
	char *attribute;
	char *dn;
	char *reason;		/* for logs: "issued to x@example.org, not
				 * ...", "expired on ...", "not a DER
				 * certificate or PKCS#7 certs-only blob" */
};

/* What one lookup found. Certificates appear once each even when an
 * entry holds the same one in several attributes. */
struct directory_result {
	struct directory_cert *certs;
	size_t n_certs;
	struct directory_rejected *rejected;
	size_t n_rejected;
	size_t n_entries;	/* entries the filter matched (capped) */
	struct smx_error error;	/* why, for TEMPFAIL and PERMFAIL; else "" */
};

/* Creates a directory client for the `ldap` group of a configuration,
 * with pool_size connections (0: 4). No connection is made yet: the
 * first lookup connects, so a directory that is down at start-up does not
 * stop the milter. Returns SMX_OK and sets *dir_r, or SMX_CONFIG when the
 * group has no uri or a setting libldap refuses, with the reason in err
 * (may be NULL). The configuration is copied:
 * cfg may be released afterwards. Call before starting threads. */
enum smx_status directory_open(const struct cfg_ldap *cfg, unsigned pool_size,
			       struct directory **dir_r,
			       struct smx_error *err);

/* Closes every connection, frees the client and sets *dir to NULL.
 * NULL-safe. No lookup may be running. */
void directory_free(struct directory **dir);

/* Looks up the certificates published for email (an address as given;
 * the match is case-insensitive). Thread-safe; returns within about
 * ldap.timeout seconds whatever the server does.
 * Returns SMX_OK when at least one certificate matches the address,
 * SMX_NOTFOUND when no entry matched or no value was usable, SMX_TEMPFAIL
 * when the directory could not be asked (down, slow, bind or TLS
 * failure: logged once per outage, and once on recovery), SMX_PERMFAIL
 * when email is not an address. In every case *result_r is a new result
 * the caller frees with directory_result_free() (with the rejected values
 * for OK and NOTFOUND, and .error for the failures), or NULL only when
 * memory ran out (then TEMPFAIL). Only certificates naming the address (a
 * subjectAltName rfc822Name, or the subject's emailAddress when there is
 * none) and valid now are returned; key usage, trust and revocation are
 * the caller's checks. */
enum smx_status directory_lookup(struct directory *dir, const char *email,
				 struct directory_result **result_r);

/* Frees a result and sets *result to NULL. NULL-safe. */
void directory_result_free(struct directory_result **result);

/* Parses one attribute value the way directory_lookup() does, without a
 * server: a DER certificate, or a PKCS#7 certs-only SignedData (DER) from
 * which every certificate (up to DIRECTORY_MAX_PKCS7_CERTS) is taken.
 * Each certificate is appended to result->certs when it names email and
 * is valid at time now (seconds since the epoch), else to
 * result->rejected; a value that is neither form is one rejected entry.
 * attribute and dn are copied into the entries. Returns SMX_OK, or
 * SMX_TEMPFAIL when memory ran out. For tests and the fuzzer. */
enum smx_status directory_parse_value(const char *email, const void *value,
				      size_t size, const char *attribute,
				      const char *dn, long long now,
				      struct directory_result *result);

/* Writes filter into buf with every %s replaced by value escaped per RFC
 * 4515 (\2a \28 \29 \5c \00, and every byte outside printable ASCII) and
 * every %% by '%'. Returns the length, or -1 when the filter does not fit
 * in size bytes or holds another '%' sequence. */
int directory_filter_format(char *buf, size_t size, const char *filter,
			    const char *value);

/* A certificate to publish. */
struct directory_blob {
	const unsigned char *der;
	size_t len;
};

enum directory_change_op {
	DIRECTORY_CHANGE_ADD,		/* a value is added */
	DIRECTORY_CHANGE_REMOVE,	/* a value is removed */
};

struct directory_change {
	enum directory_change_op op;
	char *attribute;	/* "userCertificate;binary" or
				 * "userSMIMECertificate" */
	char *what;		/* "subject CN=..., serial 0A1B, expires
				 * 2026-05-01" or "PKCS#7 with 2 certificates" */
	char *reason;		/* "new", "expired", "replaced by a newer
				 * certificate", "certificate set changed" */
};

struct directory_changes {
	char *dn;			/* the entry written (or that would be) */
	struct directory_change *items;	/* empty: the entry was up to date */
	size_t count;
	struct smx_error error;		/* why, when not SMX_OK */
};

/* Publishes certs (DER, each naming email and valid now) to the one entry
 * the filter finds for email: userCertificate;binary becomes the given
 * certificates plus the unexpired ones already there that no given
 * certificate replaces (a given certificate replaces an older one with
 * the same issuer and subject); expired ones are removed; values that are
 * not certificates are kept. userSMIMECertificate becomes a PKCS#7
 * certs-only blob of that same set. Nothing is written when the entry is
 * already in that state (idempotent), nor with dry_run. Returns SMX_OK
 * with *changes_r listing what was (or with dry_run would be) changed;
 * SMX_NOTFOUND when no entry matches; SMX_PERMFAIL when several entries
 * match, a given certificate is unusable, or the server refuses the
 * change; SMX_CONFIG when ldap.publish is false and not dry_run;
 * SMX_TEMPFAIL when the directory is unavailable. *changes_r is set in
 * every case (NULL only when memory ran out) and freed by the caller with
 * directory_changes_free(). Thread-safe. */
enum smx_status directory_publish(struct directory *dir, const char *email,
				  const struct directory_blob *certs,
				  size_t n_certs, bool dry_run,
				  struct directory_changes **changes_r);

/* Frees a change list and sets *changes to NULL. NULL-safe. */
void directory_changes_free(struct directory_changes **changes);

/* Writes "<vendor> <version>" of the LDAP library into buf and returns
 * buf. */
const char *directory_library_version(char *buf, size_t size);

#endif
