/* SPDX-License-Identifier: BSD-2-Clause */
/* The connection pool: a few LDAP handles, each used by one thread at a
 * time (never one handle behind a mutex around a synchronous call),
 * connected on demand with failover across the URIs, StartTLS and a
 * simple bind, dropped when they fail; and the outage state, so that an
 * outage is logged once when it starts and once when it ends. */
#include "directory-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <smx/log.h>

#define PASSWORD_MAX 1024
#define PROBE_INTERVAL_MS 1000

char *directory_strdupf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static void deadline_after(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

long directory_remaining_ms(const struct timespec *deadline)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long ms = (long)(deadline->tv_sec - now.tv_sec) * 1000 +
		  (deadline->tv_nsec - now.tv_nsec) / 1000000L;
	return ms > 0 ? ms : 0;
}

static bool time_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void ms_to_timeval(long ms, struct timeval *tv)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

bool directory_op_timeout(LDAP *ld, const struct timespec *deadline,
			  struct timeval *tv)
{
	long ms = directory_remaining_ms(deadline);
	if (ms <= 0)
		return false;
	ms_to_timeval(ms, tv);
	ldap_set_option(ld, LDAP_OPT_TIMEOUT, tv);
	return true;
}

bool directory_rc_is_transient(int rc)
{
	switch (rc) {
	case LDAP_SERVER_DOWN: case LDAP_CONNECT_ERROR: case LDAP_TIMEOUT:
	case LDAP_TIMELIMIT_EXCEEDED: case LDAP_BUSY: case LDAP_UNAVAILABLE:
	case LDAP_OTHER: case LDAP_LOCAL_ERROR:
	case LDAP_ENCODING_ERROR: case LDAP_DECODING_ERROR:
	case LDAP_NO_MEMORY: case LDAP_ADMINLIMIT_EXCEEDED:
	case LDAP_LOOP_DETECT:
		return true;
	default:
		return false;
	}
}

/* --- the bind password --------------------------------------------- */

/* Reads the password (first line) of a file that only its owner and
 * group may read. Returns its length, or -1 with err set. */
static int read_password(const char *path, char *buf, size_t size,
			 struct smx_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	ssize_t n = -1;
	if (fd < 0 || fstat(fd, &st) != 0) {
		smx_error_set(err, "ldap.bind_password_file %s: %s", path,
			      strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IROTH | S_IWOTH))) {
		smx_error_set(err, "ldap.bind_password_file %s: "
			      "must be a regular file that others cannot read "
			      "(chmod o-rwx)", path);
		goto out;
	}
	n = read(fd, buf, size - 1);
	if (n < 0)
		smx_error_set(err, "ldap.bind_password_file %s: %s", path,
			      strerror(errno));
	else {
		buf[n] = '\0';
		n = (ssize_t)strcspn(buf, "\r\n");
		buf[n] = '\0';
		if (n == 0) {	/* an empty password binds anonymously */
			smx_error_set(err, "ldap.bind_password_file %s: "
				      "empty password", path);
			n = -1;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	return (int)n;
}

static int bind_simple(struct directory *dir, LDAP *ld,
		       struct smx_error *err)
{
	char pw[PASSWORD_MAX];
	int len = read_password(dir->password_file, pw, sizeof(pw), err);
	if (len < 0)
		return LDAP_LOCAL_ERROR;
	struct berval cred = { .bv_len = (ber_len_t)len, .bv_val = pw };
	int rc = ldap_sasl_bind_s(ld, dir->bind_dn, LDAP_SASL_SIMPLE, &cred,
				  NULL, NULL, NULL);
	explicit_bzero(pw, sizeof(pw));
	if (rc != LDAP_SUCCESS)
		smx_error_set(err, "bind as %s: %s", dir->bind_dn,
			      ldap_err2string(rc));
	return rc;
}

/* --- connecting ------------------------------------------------------ */

/* Only for connections that use TLS: each gets its own context, so the
 * CA file applies to this client alone, not to the whole process. */
static int set_tls_options(struct directory *dir, LDAP *ld, const char *uri)
{
	int demand = LDAP_OPT_X_TLS_DEMAND, is_server = 0;
	if (!dir->starttls && strncasecmp(uri, "ldaps://", 8) != 0)
		return 0;
	if (dir->ca_file != NULL &&
	    ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, dir->ca_file) !=
		    LDAP_OPT_SUCCESS)
		return -1;
	if (ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) !=
		    LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &is_server) !=
		    LDAP_OPT_SUCCESS)
		return -1;
	return 0;
}

static int set_handle_options(struct directory *dir, LDAP *ld,
			      const char *uri, long ms)
{
	int version = LDAP_VERSION3;
	struct timeval tv;
	ms_to_timeval(ms, &tv);
	if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version) !=
		    LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) !=
		    LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_RESTART, LDAP_OPT_ON) !=
		    LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) !=
		    LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv) != LDAP_OPT_SUCCESS)
		return -1;
	return set_tls_options(dir, ld, uri);
}

/* One URI within ms milliseconds: TCP (or TLS for ldaps://), StartTLS,
 * bind. Returns a ready handle, or NULL with err set. */
static LDAP *connect_uri(struct directory *dir, const char *uri, long ms,
			 struct smx_error *err)
{
	LDAP *ld = NULL;
	int rc = ldap_initialize(&ld, uri);
	if (rc != LDAP_SUCCESS || ld == NULL) {
		smx_error_set(err, "%s: %s", uri, ldap_err2string(rc));
		return NULL;
	}
	if (set_handle_options(dir, ld, uri, ms) != 0) {
		smx_error_set(err, "%s: libldap refused an option "
			      "(TLS settings?)", uri);
		goto fail;
	}
	if ((rc = ldap_connect(ld)) != LDAP_SUCCESS) {
		smx_error_set(err, "%s: %s", uri, ldap_err2string(rc));
		goto fail;
	}
	if (dir->starttls &&
	    (rc = ldap_start_tls_s(ld, NULL, NULL)) != LDAP_SUCCESS) {
		smx_error_set(err, "%s: StartTLS: %s", uri,
			      ldap_err2string(rc));
		goto fail;
	}
	if (dir->bind_dn != NULL) {
		smx_error_clear(err);
		if (bind_simple(dir, ld, err) != LDAP_SUCCESS) {
			if (!smx_error_is_set(err))
				smx_error_set(err, "bind failed");
			smx_error_prefix(err, "%s", uri);
			goto fail;
		}
	}
	return ld;
fail:
	ldap_unbind_ext_s(ld, NULL, NULL);
	return NULL;
}

/* Tries every URI, the last one that worked first, each with an equal
 * share of the time left. */
static LDAP *connect_any(struct directory *dir, const struct timespec *deadline,
			 size_t *index_r, struct smx_error *err)
{
	pthread_mutex_lock(&dir->lock);
	size_t first = dir->preferred_uri;
	pthread_mutex_unlock(&dir->lock);
	for (size_t k = 0; k < dir->n_uris; k++) {
		long left = directory_remaining_ms(deadline);
		if (left <= 0)
			break;
		size_t i = (first + k) % dir->n_uris;
		long share = left / (long)(dir->n_uris - k);
		smx_error_clear(err);
		LDAP *ld = connect_uri(dir, dir->uris[i], share > 0 ? share : 1,
				       err);
		if (ld != NULL) {
			pthread_mutex_lock(&dir->lock);
			dir->preferred_uri = i;
			pthread_mutex_unlock(&dir->lock);
			*index_r = i;
			return ld;
		}
	}
	if (!smx_error_is_set(err))
		smx_error_set(err, "no time left to connect");
	return NULL;
}

/* --- the pool -------------------------------------------------------- */

static struct directory_slot *acquire(struct directory *dir,
				      const struct timespec *deadline)
{
	struct timespec abs;
	clock_gettime(CLOCK_REALTIME, &abs);	/* cond waits use REALTIME */
	long ms = directory_remaining_ms(deadline);
	abs.tv_sec += ms / 1000;
	abs.tv_nsec += (ms % 1000) * 1000000L;
	if (abs.tv_nsec >= 1000000000L) {
		abs.tv_sec++;
		abs.tv_nsec -= 1000000000L;
	}
	struct directory_slot *slot = NULL;
	pthread_mutex_lock(&dir->lock);
	while (slot == NULL) {
		for (size_t i = 0; i < dir->n_slots && slot == NULL; i++)
			if (!dir->slots[i].busy)
				slot = &dir->slots[i];
		if (slot == NULL &&
		    pthread_cond_timedwait(&dir->slot_freed, &dir->lock,
					   &abs) == ETIMEDOUT)
			break;
	}
	if (slot != NULL)
		slot->busy = true;
	pthread_mutex_unlock(&dir->lock);
	return slot;
}

static void drop_handle(struct directory_slot *slot)
{
	if (slot->ld != NULL)
		ldap_unbind_ext_s(slot->ld, NULL, NULL);
	slot->ld = NULL;
}

static void release(struct directory *dir, struct directory_slot *slot)
{
	pthread_mutex_lock(&dir->lock);
	slot->busy = false;
	pthread_cond_signal(&dir->slot_freed);
	pthread_mutex_unlock(&dir->lock);
}

/* --- outage state ---------------------------------------------------- */

/* While down, one caller a second gets to try; the others fail fast. */
static bool may_try(struct directory *dir)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&dir->lock);
	bool ok = !dir->down || !time_before(&now, &dir->next_probe);
	if (dir->down) {
		if (ok)
			deadline_after(&dir->next_probe, PROBE_INTERVAL_MS);
		else
			dir->failed_lookups++;
	}
	pthread_mutex_unlock(&dir->lock);
	return ok;
}

static void note_result(struct directory *dir, bool failed, const char *why)
{
	pthread_mutex_lock(&dir->lock);
	bool was_down = dir->down;
	unsigned long failed_lookups = dir->failed_lookups;
	struct timespec since = dir->down_since;
	if (failed && !was_down) {
		dir->down = true;
		dir->failed_lookups = 1;
		clock_gettime(CLOCK_MONOTONIC, &dir->down_since);
		deadline_after(&dir->next_probe, PROBE_INTERVAL_MS);
	} else if (failed) {
		dir->failed_lookups++;
	} else if (was_down) {
		dir->down = false;
	}
	pthread_mutex_unlock(&dir->lock);
	if (failed && !was_down)
		smx_log(LOG_ERR, "directory: LDAP unavailable: %s; lookups "
			"answer tempfail until it is back", why);
	else if (!failed && was_down) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		smx_log(LOG_NOTICE, "directory: LDAP available again after %lds "
			"(%lu lookups answered tempfail)",
			(long)(now.tv_sec - since.tv_sec), failed_lookups);
	}
}

/* --- running an operation ------------------------------------------- */

static enum smx_status run_on_slot(struct directory *dir,
				   struct directory_slot *slot,
				   const struct timespec *deadline,
				   directory_op_fn op, void *ctx,
				   struct smx_error *err)
{
	enum smx_status st = SMX_TEMPFAIL;
	for (int attempt = 0; attempt < 2; attempt++) {
		bool fresh = slot->ld == NULL;
		if (fresh) {
			slot->ld = connect_any(dir, deadline, &slot->uri_index,
					       err);
			if (slot->ld == NULL)
				return SMX_TEMPFAIL;
		}
		smx_error_clear(err);
		st = op(dir, slot->ld, deadline, ctx, err);
		if (st != SMX_TEMPFAIL)
			return st;
		drop_handle(slot);
		/* a reused handle may only have been closed by the server */
		if (fresh || directory_remaining_ms(deadline) <= 0)
			break;
	}
	return st;
}

enum smx_status directory_run(struct directory *dir, directory_op_fn op,
			      void *ctx, struct smx_error *err)
{
	smx_error_clear(err);
	if (!may_try(dir))
		return smx_error_fail(err, SMX_TEMPFAIL, "LDAP unavailable "
				     "(retried at most once a second)");
	struct timespec deadline;
	deadline_after(&deadline, dir->timeout_ms);
	struct directory_slot *slot = acquire(dir, &deadline);
	if (slot == NULL)
		return smx_error_fail(err, SMX_TEMPFAIL, "all %zu LDAP "
				     "connections busy for %lds", dir->n_slots,
				     dir->timeout_ms / 1000);
	enum smx_status st = run_on_slot(dir, slot, &deadline, op, ctx, err);
	release(dir, slot);
	if (st == SMX_TEMPFAIL && !smx_error_is_set(err))
		smx_error_set(err, "LDAP operation failed");
	note_result(dir, st == SMX_TEMPFAIL, smx_error_text(err, "?"));
	return st;
}
