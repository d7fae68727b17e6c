/* SPDX-License-Identifier: BSD-2-Clause */
/* Internals shared by the directory sources: the client, its connection
 * pool, and the helpers that parse values and build results. */
#ifndef SMX_DIRECTORY_PRIVATE_H
#define SMX_DIRECTORY_PRIVATE_H

#include <ldap.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include <openssl/x509.h>

#include <smx/directory.h>

/* One connection; used by one thread at a time (busy, under lock). */
struct directory_slot {
	LDAP *ld;		/* NULL: not connected */
	bool busy;
	size_t uri_index;	/* the URI ld is connected to */
};

struct directory {
	char **uris;
	size_t n_uris;
	char *bind_dn;
	char *password_file;
	char *ca_file;
	char *base;
	char *filter;
	char **attrs;		/* NULL-terminated, for ldap_search */
	bool starttls;
	bool publish;
	long timeout_ms;

	pthread_mutex_t lock;	/* guards everything below */
	pthread_cond_t slot_freed;
	struct directory_slot *slots;
	size_t n_slots;
	size_t preferred_uri;	/* the last URI that worked */
	bool down;		/* in an outage (logged once) */
	struct timespec down_since;
	struct timespec next_probe;	/* while down: next real attempt */
	unsigned long failed_lookups;	/* during this outage */
};

/* An operation run on a connected handle before the deadline. It
 * returns SMX_TEMPFAIL only for failures of the connection or the server
 * (the handle is then dropped and the operation may be retried once on a
 * fresh connection), with the reason in err. */
typedef enum smx_status (*directory_op_fn)(struct directory *dir, LDAP *ld,
					   const struct timespec *deadline,
					   void *ctx, struct smx_error *err);

/* Runs op on a pooled connection: waits for a free slot, connects (with
 * failover across the URIs) when needed, retries once on a fresh
 * connection when a reused one fails, and keeps the outage state (logged
 * once when it starts, once when it ends). While the directory is down,
 * a real attempt is made at most once a second; other calls answer
 * SMX_TEMPFAIL at once. Returns what op returned, or SMX_TEMPFAIL; err
 * says why when it is not SMX_OK. */
enum smx_status directory_run(struct directory *dir, directory_op_fn op,
			      void *ctx, struct smx_error *err);

/* Milliseconds left until deadline (0 when passed). */
long directory_remaining_ms(const struct timespec *deadline);

/* Sets the operation timeout (LDAP_OPT_TIMEOUT) of ld to what is left
 * and fills tv with it; returns false when nothing is left. */
bool directory_op_timeout(LDAP *ld, const struct timespec *deadline,
			  struct timeval *tv);

/* True for LDAP result codes that mean "the server or the connection
 * failed", as opposed to an answer about the request. */
bool directory_rc_is_transient(int rc);

/* asprintf that returns NULL instead of failing loudly. */
char *directory_strdupf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* Parses a value into certificates: one DER certificate, or every
 * certificate of a PKCS#7 SignedData (at most DIRECTORY_MAX_PKCS7_CERTS;
 * *truncated_r says more were there). Returns a stack the caller frees
 * with sk_X509_pop_free(.., X509_free), or NULL when the value is neither
 * form. */
STACK_OF(X509) *directory_value_certs(const void *value, size_t size,
				      bool *truncated_r);

/* NULL when x names email and is valid at now; else a newly allocated
 * reason ("issued to ...", "expired on ..."). *oom_r is set when memory
 * ran out. */
char *directory_cert_problem(X509 *x, const char *email, time_t now,
			     bool *oom_r);

/* "subject CN=..., serial 0A1B, expires 2026-05-01" (newly allocated). */
char *directory_cert_describe(X509 *x);

/* DER encoding of x (newly allocated) or NULL. */
unsigned char *directory_cert_der(X509 *x, size_t *len_r);

/* Empties the lists of a result (keeps .error). */
void directory_result_clear(struct directory_result *result);

/* Appends a found certificate (skipped when the same DER is already
 * there) or a rejected value to result; copies everything. Return 0, or
 * -1 when memory ran out. */
int directory_result_add_cert(struct directory_result *result,
			      const unsigned char *der, size_t len,
			      const char *attribute, const char *dn);
int directory_result_add_rejected(struct directory_result *result,
				  const unsigned char *der, size_t len,
				  const char *attribute, const char *dn,
				  const char *reason);

#endif
