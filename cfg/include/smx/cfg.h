/* SPDX-License-Identifier: BSD-2-Clause */
/* The configuration file (libconfig syntax) loaded into an immutable,
 * reference-counted snapshot. A reload builds a new snapshot; messages in
 * flight keep the one they started with. Every key has a type, a default
 * and bounds in one table (cfg-settings.c); unknown keys are errors. */
#ifndef SMX_CFG_H
#define SMX_CFG_H

#include <stdbool.h>
#include <stddef.h>

#include <smx/cidr.h>
#include <smx/store.h>

/* Settings whose value is one of a fixed set of words are read into
 * these once, when the file is loaded; an unknown word fails the load. */

enum cfg_sign_format {
	CFG_SIGN_CLEAR = 0,		/* "clear": multipart/signed */
	CFG_SIGN_OPAQUE,		/* "opaque": application/pkcs7-mime */
};

enum cfg_sign_digest {
	CFG_DIGEST_SHA256 = 0,		/* "sha256" */
	CFG_DIGEST_SHA384,		/* "sha384" */
	CFG_DIGEST_SHA512,		/* "sha512" */
};

/* ca.key_type: the key of a new CA and of the certificates it issues. */
enum ca_key_type {
	CA_KEY_RSA_2048 = 0,		/* "rsa-2048" */
	CA_KEY_RSA_3072,		/* "rsa-3072" */
	CA_KEY_RSA_4096,		/* "rsa-4096" */
	CA_KEY_EC_P256,			/* "ec-p256" */
	CA_KEY_EC_P384,			/* "ec-p384" */
};

/* revocation.mode: what an unknown revocation status means. */
enum revocation_mode {
	REVOCATION_MODE_OFF = 0,	/* "off": no checking */
	REVOCATION_MODE_SOFT,		/* "soft": unknown is usable */
	REVOCATION_MODE_HARD,		/* "hard": unknown is refused */
};

struct cfg_milter {
	char *socket;			/* "inet:8891@127.0.0.1", "unix:/p" */
	char *authserv_id;		/* defaults to the host name */
	char **internal_domains;
	size_t n_internal_domains;
	struct cidr *trusted_networks;
	size_t n_trusted_networks;
	char *user;			/* NULL: do not change user */
	char *pidfile;			/* NULL: write none */
	char *signer_map;		/* "ADDRESS LOGIN..." file; NULL: none */
	size_t spool_threshold;		/* bytes kept in memory per message */
	char *spool_directory;
	size_t max_message_size;	/* bytes processed; 0 = no limit */
	unsigned shutdown_timeout;	/* seconds to finish messages */
	unsigned milter_timeout;	/* seconds libmilter waits on the MTA */
	unsigned max_connections;	/* MTA connections served at once */
	int syslog_facility;		/* LOG_MAIL, LOG_DAEMON, LOG_LOCAL0 ... */
	int log_level;			/* LOG_INFO ("info") or LOG_DEBUG */
	enum cfg_sign_format sign_format;
	enum cfg_sign_digest sign_digest;
	char *metrics_listen;		/* "PORT", "ADDR:PORT"; NULL: none */
	bool metrics_allow_remote;	/* allow a non-loopback address */
};

struct cfg_store {
	char *path;			/* sqlite database file */
	char *conninfo;			/* libpq connection string */
	unsigned busy_timeout;		/* milliseconds */
	unsigned pool_size;		/* connections */
};

struct cfg_keys {
	char *master_key_file;
	bool process;			/* private keys in the key process */
	unsigned process_rate;		/* its operations a second */
	char *pkcs11_module;		/* PKCS#11 module; NULL: no token */
	char *pkcs11_pin_file;		/* the token's user PIN; read by the
					 * key process only */
};

/* The optional `ldap` group: the organization's directory. No uri (the
 * group left out): no directory is used. */
struct cfg_ldap {
	char **uri;			/* ldap://, ldaps://, ldapi://; failover */
	size_t n_uri;
	char *bind_dn;			/* NULL: anonymous */
	char *bind_password_file;	/* read at each connect; not o+r */
	bool starttls;
	bool allow_cleartext_bind;	/* bind password over plain ldap:// */
	char *ca_file;			/* PEM trust anchors for TLS */
	char *base;
	char *filter;			/* every %s is the escaped address */
	char **attributes;
	size_t n_attributes;
	unsigned timeout;		/* seconds: network and operation */
	unsigned cache_ttl;		/* seconds a found result is reused */
	unsigned negative_ttl;		/* seconds a miss is reused */
	bool publish;			/* allow writing certificates */
};

/* The optional `ca` group: the organization CA (smimectl ca ...).
 * Durations are in seconds. */
struct cfg_ca {
	char *subject;			/* DN of a new CA, RFC 4514 order */
	enum ca_key_type key_type;
	unsigned ca_lifetime;		/* validity of a new CA certificate */
	unsigned cert_lifetime;		/* validity of issued certificates */
	unsigned renew_before;		/* reissue this long before expiry */
	unsigned crl_validity;		/* nextUpdate = thisUpdate + this */
	char *crl_url;			/* CRL distribution point, or NULL */
	bool separate_encryption_cert;	/* a signing and an encryption cert */
	bool auto_enroll;		/* milter issues on first signed mail */
	unsigned enroll_per_login;	/* new addresses per login per hour */
	unsigned enroll_per_domain;	/* new addresses per domain per hour */
	bool enroll_known_only;		/* only addresses directory/store know */
};

/* Inbound verification bounds and trust (the `verify` group). */
struct cfg_verify {
	char *ca_file;			/* PEM roots; "" means none */
	char *extra_ca_file;		/* more roots, or NULL */
	unsigned max_signatures;
	unsigned max_certificates;
	unsigned max_depth;
	unsigned max_parts;
	size_t max_bytes;
	bool authentication_results_none;	/* add smime=none too */
};

/* Revocation checking of certificates from outside (the `revocation`
 * group). Durations are in seconds. */
struct cfg_revocation {
	enum revocation_mode mode;
	bool network;			/* may fetch OCSP and CRLs */
	unsigned fetch_timeout;		/* one OCSP or CRL request */
	unsigned max_wait;		/* all checks of one message */
	unsigned max_age;		/* longest a status is reused */
	unsigned unknown_ttl;		/* an unknown status is reused */
	size_t max_response_size;	/* one OCSP response or CRL */
	unsigned refresh_interval;	/* background refresh; 0: none */
};

struct policy;

/* A loaded configuration. Read-only once loaded: share it between
 * threads with cfg_ref()/cfg_unref(), never modify it. */
struct cfg {
	char *file;			/* path it was loaded from */
	struct cfg_milter milter;
	struct cfg_store store;
	struct cfg_keys keys;
	struct store_settings store_settings;	/* store_open's, from the
						 * store and keys groups
						 * (strings point into
						 * them) */
	struct cfg_ldap ldap;
	struct cfg_ca ca;		/* the `ca` group */
	struct cfg_verify verify;	/* the `verify` group */
	struct cfg_revocation revocation;	/* the `revocation` group */
	struct policy *policy;		/* the `policy` group (policy-engine.h) */
	unsigned long generation;	/* distinct for every snapshot loaded by
					 * this process: caches of things built
					 * from a snapshot are keyed by it (an
					 * address can be reused once freed) */
	int refs;			/* private: use cfg_ref/cfg_unref */
};

/* Error lines of a failed load, each "FILE:LINE: message" (or
 * "FILE: message" where no line applies), in file order. */
struct cfg_errors {
	char **lines;
	unsigned *line_numbers;	/* line of each entry, 0 where none */
	size_t count;
};

/* Loads and validates path. Returns a snapshot with one reference owned
 * by the caller, or NULL when the file cannot be read or any key is
 * wrong; then every problem found is appended to errors (which the caller
 * frees with cfg_errors_free). A file that fails never yields a partly
 * filled configuration. A file that loads may still have appended
 * warnings ("FILE:LINE: warning: ..."): print them, they are not errors. */
struct cfg *cfg_load(const char *path, struct cfg_errors *errors);

/* Adds a reference and returns cfg. Thread-safe. */
struct cfg *cfg_ref(struct cfg *cfg);

/* Drops a reference, frees the snapshot with the last one, and sets
 * *cfg to NULL. NULL-safe and thread-safe. */
void cfg_unref(struct cfg **cfg);

/* Frees the lines and empties errors. */
void cfg_errors_free(struct cfg_errors *errors);

/* True when spec is a milter socket libmilter accepts: inet:PORT@HOST,
 * inet6:PORT@HOST, unix:/PATH, local:/PATH or /PATH. */
bool cfg_socket_valid(const char *spec);

/* The word of store.backend ("sqlite" or "postgresql"), for messages. */
const char *cfg_store_backend_name(const struct cfg *cfg);

/* Names of every accepted key as "group.key", for documentation checks:
 * returns the i-th name, or NULL past the end. */
const char *cfg_key_name(size_t i, char *buf, size_t bufsize);

#endif
