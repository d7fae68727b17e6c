/* SPDX-License-Identifier: BSD-2-Clause */
/* What the organization CA needs from the store: which certificate is
 * the CA, revocation records for its CRL, a counter that hands out the
 * next value (CRL numbers), and a named lock held across processes and
 * hosts, so that two processes never issue for one address at once.
 *
 * The CA marker and the revocation records are rows of store_meta under
 * names starting with "ca.", so the schema needs no new table:
 *   ca.fingerprint      -> the CA certificate's fingerprint
 *   ca.revoked/<fp>     -> "v1 <ca-fp> <serial> <revoked-at> <reason>"
 * A revocation record outlives the certificate row (smimectl remove):
 * a certificate once revoked stays on the CRL. */
#include "store-private.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <smx/log.h>

#define CA_MARKER "ca.fingerprint"
#define REVOKED_PREFIX "ca.revoked/"
#define LOCK_POLL_NS 25000000L	/* 25 ms between attempts */

/* --- the CA marker ----------------------------------------------------- */

static const char sql_meta_get[] = "SELECT value FROM store_meta WHERE name = $1";
static const char sql_meta_add[] =
	"INSERT INTO store_meta (name, value) VALUES ($1, $2) "
	"ON CONFLICT (name) DO NOTHING";

struct marker_args {
	const char *fp;		/* to record, or NULL to read */
	char current[65];
};

static enum smx_status marker_txn(struct store *store, struct store_conn *c,
				  void *arg)
{
	struct marker_args *a = arg;
	struct store_rows rows = { 0 };
	struct store_value p[2] = { SV_TEXT(CA_MARKER), SV_NULL };
	enum smx_status st = SMX_OK;
	size_t len = 0;
	if (a->fp != NULL) {
		p[1] = SV_BLOB(a->fp, strlen(a->fp));
		st = store_exec(c, store, sql_meta_add, p, 2, NULL, NULL);
	}
	if (st == SMX_OK)
		st = store_exec(c, store, sql_meta_get, p, 1, &rows, NULL);
	const unsigned char *v = store_rows_blob(&rows, 0, 0, &len);
	if (st == SMX_OK && (v == NULL || len != 64))
		st = SMX_NOTFOUND;
	if (st == SMX_OK) {
		memcpy(a->current, v, 64);
		a->current[64] = '\0';
	}
	store_rows_clear(&rows);
	return st;
}

enum smx_status store_ca_set(struct store *store, const char *fingerprint,
			     char *current_r)
{
	struct marker_args a = { .fp = NULL };
	char fp[65];
	if (!store_fingerprint_normalize(fingerprint, fp))
		return SMX_PERMFAIL;
	a.fp = fp;
	enum smx_status st = store_txn(store, true, marker_txn, &a);
	if (st == SMX_NOTFOUND)
		st = SMX_TEMPFAIL;	/* written, then not read back */
	if (st != SMX_OK)
		return st;
	if (current_r != NULL)
		memcpy(current_r, a.current, 65);
	return strcmp(a.current, fp) == 0 ? SMX_OK : SMX_PERMFAIL;
}

enum smx_status store_ca_get(struct store *store, char *fingerprint_r)
{
	struct marker_args a = { .fp = NULL };
	enum smx_status st = store_txn(store, false, marker_txn, &a);
	if (st == SMX_OK)
		memcpy(fingerprint_r, a.current, 65);
	return st;
}

/* --- revocation records ------------------------------------------------ */

static const char sql_revoke_flag[] =
	"UPDATE certs SET revoked = 1 WHERE fingerprint = $1";
static const char sql_revoked_list[] =
	"SELECT name, value FROM store_meta WHERE name LIKE 'ca.revoked/%' "
	"ORDER BY name";

struct revoke_args {
	const char *fp;
	char name[96];
	char value[256];
	bool created;
};

static enum smx_status revoke_txn(struct store *store, struct store_conn *c,
				  void *arg)
{
	struct revoke_args *a = arg;
	struct store_value p[2] = { SV_TEXT(a->fp), SV_NULL };
	int64_t changes = 0;
	enum smx_status st = store_exec(c, store, sql_revoke_flag, p, 1, NULL,
					&changes);
	if (st != SMX_OK)
		return st;
	if (changes == 0)
		return SMX_NOTFOUND;
	p[0] = SV_TEXT(a->name);
	p[1] = SV_BLOB(a->value, strlen(a->value));
	st = store_exec(c, store, sql_meta_add, p, 2, NULL, &changes);
	a->created = st == SMX_OK && changes > 0;
	return st;
}

static bool serial_ok(const char *s)
{
	size_t n = 0;
	for (; s[n] != '\0'; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'A' && s[n] <= 'F')))
			return false;
	return n > 0 && n <= 64;
}

enum smx_status store_revocation_add(struct store *store,
				     const char *fingerprint,
				     const char *ca_fingerprint,
				     const char *serial, int64_t revoked_at,
				     int reason, bool *created_r)
{
	char fp[65], ca_fp[65];
	struct revoke_args a = { .fp = fp };
	if (created_r != NULL)
		*created_r = false;
	if (!store_fingerprint_normalize(fingerprint, fp) ||
	    !store_fingerprint_normalize(ca_fingerprint, ca_fp) ||
	    !serial_ok(serial) || reason < 0 || reason > 10)
		return SMX_PERMFAIL;
	snprintf(a.name, sizeof(a.name), REVOKED_PREFIX "%s", fp);
	snprintf(a.value, sizeof(a.value), "v1 %s %s %" PRId64 " %d", ca_fp,
		 serial, revoked_at, reason);
	enum smx_status st = store_txn(store, true, revoke_txn, &a);
	if (st == SMX_OK && created_r != NULL)
		*created_r = a.created;
	return st;
}

/* Parses one record; false when it is not ours or malformed. */
static bool revocation_of(const struct store_rows *r, size_t row,
			  const char *ca_fp, struct store_revocation *out)
{
	const char *name = store_rows_text(r, row, 0);
	size_t len = 0;
	const unsigned char *v = store_rows_blob(r, row, 1, &len);
	char text[256], ca[65], serial[65];
	int64_t when = 0;
	int reason = 0;
	if (name == NULL || v == NULL || len >= sizeof(text) ||
	    strlen(name) != strlen(REVOKED_PREFIX) + 64)
		return false;
	memcpy(text, v, len);
	text[len] = '\0';
	if (sscanf(text, "v1 %64s %64s %" SCNd64 " %d", ca, serial, &when,
		   &reason) != 4 || strcmp(ca, ca_fp) != 0)
		return false;
	memcpy(out->fingerprint, name + strlen(REVOKED_PREFIX), 65);
	out->serial = strdup(serial);
	out->revoked_at = when;
	out->reason = reason;
	return out->serial != NULL;
}

struct rows_args {
	const char *sql;
	struct store_rows rows;
};

static enum smx_status rows_txn(struct store *store, struct store_conn *c,
				void *arg)
{
	struct rows_args *a = arg;
	store_rows_clear(&a->rows);
	return store_exec(c, store, a->sql, NULL, 0, &a->rows, NULL);
}

enum smx_status store_revocation_list(struct store *store,
				      const char *ca_fingerprint,
				      struct store_revocation **list_r,
				      size_t *n_r)
{
	char ca_fp[65];
	struct rows_args a = { .sql = sql_revoked_list };
	struct store_revocation *list = NULL;
	size_t n = 0;
	*list_r = NULL;
	*n_r = 0;
	if (!store_fingerprint_normalize(ca_fingerprint, ca_fp))
		return SMX_PERMFAIL;
	enum smx_status st = store_txn(store, false, rows_txn, &a);
	if (st == SMX_OK &&
	    (list = calloc(a.rows.n_rows + 1, sizeof(*list))) == NULL)
		st = SMX_TEMPFAIL;
	for (size_t i = 0; st == SMX_OK && i < a.rows.n_rows; i++)
		if (revocation_of(&a.rows, i, ca_fp, &list[n]))
			n++;
	if (st == SMX_OK) {
		*list_r = list;
		*n_r = n;
	} else {
		store_revocation_list_free(&list, n);
	}
	store_rows_clear(&a.rows);
	return st;
}

void store_revocation_list_free(struct store_revocation **list, size_t n)
{
	if (list == NULL || *list == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free((*list)[i].serial);
	free(*list);
	*list = NULL;
}

/* --- counters that hand out values ------------------------------------- */

static const char sql_counter_next[] =
	"INSERT INTO counters (name, value) VALUES ($1, 1) "
	"ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 "
	"RETURNING value";

struct next_args {
	const char *name;
	int64_t value;
};

static enum smx_status next_txn(struct store *store, struct store_conn *c,
				void *arg)
{
	struct next_args *a = arg;
	struct store_rows rows = { 0 };
	struct store_value p = SV_TEXT(a->name);
	enum smx_status st = store_exec(c, store, sql_counter_next, &p, 1,
					&rows, NULL);
	if (st == SMX_OK && rows.n_rows != 1)
		st = SMX_TEMPFAIL;
	if (st == SMX_OK)
		a->value = store_rows_int(&rows, 0, 0);
	store_rows_clear(&rows);
	return st;
}

enum smx_status store_counter_next(struct store *store, const char *name,
				   int64_t *value_r)
{
	struct next_args a = { name, 0 };
	/* Not retried by store_txn after a failed COMMIT: a value is never
	 * handed out twice. */
	enum smx_status st = store_txn(store, true, next_txn, &a);
	if (st == SMX_OK)
		*value_r = a.value;
	return st;
}

/* --- named locks ------------------------------------------------------- */

struct store_lock {
	struct store *store;
	struct store_conn *conn;	/* PostgreSQL: holds the session lock */
	int fd;				/* SQLite: the lock file */
	char *name;
};

static const char sql_db_file[] =
	"SELECT file FROM pragma_database_list WHERE name = 'main'";
/* 727402: the first key of smime-milter's advisory locks. */
static const char sql_pg_try[] =
	"SELECT pg_try_advisory_lock(727402, hashtext($1))";
static const char sql_pg_unlock[] =
	"SELECT pg_advisory_unlock(727402, hashtext($1))";

/* FNV-1a: where in the lock file a name is locked. Two names that share
 * a byte only wait for each other. */
static off_t lock_offset(const char *name)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 16777619u;
	return (off_t)(h % 1000003u);
}

static bool deadline_passed(const struct timespec *until)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > until->tv_sec ||
	       (now.tv_sec == until->tv_sec && now.tv_nsec >= until->tv_nsec);
}

static void pause_briefly(void)
{
	struct timespec ts = { 0, LOCK_POLL_NS };
	nanosleep(&ts, NULL);
}

/* The SQLite database file's name, asked from SQLite itself. */
static enum smx_status sqlite_lock_path(struct store *store, char **path_r)
{
	struct store_conn *c = NULL;
	struct store_rows rows = { 0 };
	enum smx_status st = store_pool_acquire(store->pool, &c);
	if (st != SMX_OK)
		return st;
	st = store_exec(c, store, sql_db_file, NULL, 0, &rows, NULL);
	store_pool_release(store->pool, &c, store->drv->broken(c));
	const char *file = store_rows_text(&rows, 0, 0);
	*path_r = NULL;
	if (st == SMX_OK && (file == NULL || file[0] == '\0')) {
		smx_log(LOG_ERR, "store: the SQLite database has no file: "
			"cannot lock across processes");
		st = SMX_CONFIG;
	}
	if (st == SMX_OK && asprintf(path_r, "%s-lock", file) < 0) {
		*path_r = NULL;
		st = SMX_TEMPFAIL;
	}
	store_rows_clear(&rows);
	return st;
}

/* An open-file-description lock on one byte of <database>-lock: it
 * excludes other processes and other threads of this one alike. */
static enum smx_status sqlite_lock(struct store_lock *l,
				   const struct timespec *until)
{
	char *path = NULL;
	enum smx_status st = sqlite_lock_path(l->store, &path);
	if (st != SMX_OK)
		return st;
	l->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (l->fd < 0) {
		smx_log(LOG_ERR, "%s: cannot open the lock file: %s", path,
			strerror(errno));
		free(path);
		return SMX_TEMPFAIL;
	}
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			    .l_start = lock_offset(l->name), .l_len = 1 };
	st = SMX_TEMPFAIL;
	for (;;) {
		if (fcntl(l->fd, F_OFD_SETLK, &fl) == 0) {
			st = SMX_OK;
			break;
		}
		if ((errno != EAGAIN && errno != EACCES) ||
		    deadline_passed(until))
			break;
		pause_briefly();
	}
	if (st != SMX_OK)
		smx_log(LOG_WARNING, "%s: lock '%s' not obtained: %s", path,
			l->name, errno == EAGAIN || errno == EACCES
			? "held by another process for too long" : strerror(errno));
	free(path);
	return st;
}

static enum smx_status pg_lock(struct store_lock *l,
			       const struct timespec *until)
{
	struct store *store = l->store;
	struct store_value p = SV_TEXT(l->name);
	enum smx_status st = store_pool_acquire(store->pool, &l->conn);
	while (st == SMX_OK) {
		struct store_rows rows = { 0 };
		st = store_exec(l->conn, store, sql_pg_try, &p, 1, &rows, NULL);
		bool got = st == SMX_OK && store_rows_int(&rows, 0, 0) != 0;
		store_rows_clear(&rows);
		if (got)
			return SMX_OK;
		if (st == SMX_OK && deadline_passed(until)) {
			smx_log(LOG_WARNING, "store (postgresql): lock '%s' "
				"held by another process for too long", l->name);
			st = SMX_TEMPFAIL;
		}
		if (st == SMX_OK)
			pause_briefly();
	}
	return st;
}

enum smx_status store_lock_acquire(struct store *store, const char *name,
				   unsigned timeout_ms, struct store_lock **lock_r)
{
	struct timespec until;
	struct store_lock *l = calloc(1, sizeof(*l));
	*lock_r = NULL;
	if (l == NULL || (l->name = strdup(name)) == NULL) {
		free(l);
		return SMX_TEMPFAIL;
	}
	l->store = store;
	l->fd = -1;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	enum smx_status st = store->drv == &store_driver_pgsql
				     ? pg_lock(l, &until) : sqlite_lock(l, &until);
	if (st != SMX_OK) {
		store_lock_release(&l);
		return st;
	}
	*lock_r = l;
	return SMX_OK;
}

void store_lock_release(struct store_lock **lock)
{
	if (lock == NULL || *lock == NULL)
		return;
	struct store_lock *l = *lock;
	if (l->conn != NULL) {
		struct store_value p = SV_TEXT(l->name);
		struct store_rows rows = { 0 };
		/* A connection that fails here is closed: the server then
		 * drops its session locks. */
		enum smx_status st = store_exec(l->conn, l->store,
						sql_pg_unlock, &p, 1, &rows,
						NULL);
		store_rows_clear(&rows);
		store_pool_release(l->store->pool, &l->conn,
				   st != SMX_OK ||
				   l->store->drv->broken(l->conn));
	}
	if (l->fd >= 0)
		close(l->fd);	/* drops the open-file-description lock */
	free(l->name);
	free(l);
	*lock = NULL;
}
