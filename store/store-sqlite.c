/* SPDX-License-Identifier: BSD-2-Clause */
/* The SQLite backend: a pool (store-pool.c) of up to store.pool_size
 * connections to one database file in WAL mode (readers never block the
 * writer), each with store.busy_timeout, so that the milter's threads
 * and a concurrent smimectl wait for each other instead of failing. Write transactions
 * start with BEGIN IMMEDIATE: a transaction never has to upgrade a read
 * lock, which is the case SQLite cannot resolve by waiting. */
#include "store-private.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <smx/log.h>

#define STMT_CACHE 48

struct stmt_slot {
	const char *sql;
	sqlite3_stmt *st;
};

struct store_conn {
	sqlite3 *db;
	struct stmt_slot cache[STMT_CACHE];
	size_t n_cache;
	bool broken;
};

struct store_db {
	char *path;
	unsigned busy_ms;
};

static enum smx_status status_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK: case SQLITE_DONE: case SQLITE_ROW: return SMX_OK;
	case SQLITE_CONSTRAINT: case SQLITE_MISMATCH: case SQLITE_TOOBIG:
		return SMX_PERMFAIL;
	default: return SMX_TEMPFAIL;
	}
}

static enum smx_status report(struct store_conn *c, int rc, const char *what)
{
	enum smx_status st = status_of(rc);
	int prio = (rc & 0xff) == SQLITE_BUSY ? LOG_WARNING : LOG_ERR;
	smx_log(prio, "store (sqlite): %s: %s", what, sqlite3_errmsg(c->db));
	int base = rc & 0xff;
	if (base == SQLITE_CORRUPT || base == SQLITE_NOTADB ||
	    base == SQLITE_IOERR || base == SQLITE_CANTOPEN)
		c->broken = true;
	return st;
}

static void conn_free(struct store_conn **conn)
{
	struct store_conn *c = *conn;
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n_cache; i++)
		sqlite3_finalize(c->cache[i].st);
	sqlite3_close_v2(c->db);
	free(c);
	*conn = NULL;
}

static enum smx_status conn_setup(struct store_conn *c, unsigned busy_ms)
{
	static const char *const pragmas[] = {
		"PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL",
		"PRAGMA foreign_keys = ON",
	};
	sqlite3_busy_timeout(c->db, (int)busy_ms);
	sqlite3_extended_result_codes(c->db, 1);
	for (size_t i = 0; i < sizeof(pragmas) / sizeof(pragmas[0]); i++) {
		int rc, tries = 0;
		/* Switching to WAL needs a moment alone with the file. */
		while ((rc = sqlite3_exec(c->db, pragmas[i], NULL, NULL, NULL)) ==
			       SQLITE_BUSY && tries++ < 50) {
			struct timespec ts = { 0, 20000000L };
			nanosleep(&ts, NULL);
		}
		if (rc != SQLITE_OK)
			return report(c, rc, pragmas[i]);
	}
	return SMX_OK;
}

static enum smx_status conn_open(struct store_db *db, struct store_conn **conn_r)
{
	struct store_conn *c = calloc(1, sizeof(*c));
	enum smx_status st = SMX_TEMPFAIL;
	if (c == NULL)
		goto fail;
	int rc = sqlite3_open_v2(db->path, &c->db, SQLITE_OPEN_READWRITE |
				 SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		smx_log(LOG_ERR, "%s: cannot open the store: %s", db->path,
			c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		st = SMX_CONFIG;
		goto fail;
	}
	if ((st = conn_setup(c, db->busy_ms)) != SMX_OK)
		goto fail;
	*conn_r = c;
	return SMX_OK;
fail:
	conn_free(&c);
	return st;
}

/* The database file holds sealed keys and the organization's contacts:
 * create it private (SQLite gives its -wal and -shm files the same
 * mode). */
static enum smx_status create_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		close(fd);
		return SMX_OK;
	}
	if (errno == EEXIST)
		return SMX_OK;
	smx_log(LOG_ERR, "%s: cannot create the store: %s", path,
		strerror(errno));
	return SMX_CONFIG;
}

/* The file holds the sealed private keys: like the master key file, it
 * must not be open to group or others (a copy of both gives every key).
 * An existing file keeps its mode, so an administrator's chmod, a
 * restore from backup or a umask at creation could have widened it. */
static enum smx_status check_file_mode(const char *path)
{
	struct stat sb;
	if (stat(path, &sb) != 0) {
		smx_log(LOG_ERR, "%s: cannot open the store: %s", path,
			strerror(errno));
		return SMX_CONFIG;
	}
	if (!S_ISREG(sb.st_mode)) {
		smx_log(LOG_ERR, "%s: the store is not a regular file", path);
		return SMX_CONFIG;
	}
	if ((sb.st_mode & 077) != 0) {
		smx_log(LOG_ERR, "%s: the store is accessible by group or "
			"others (mode %04o): run chmod 600 on it", path,
			(unsigned)(sb.st_mode & 07777));
		return SMX_CONFIG;
	}
	return SMX_OK;
}

static void db_free(struct store_db **db_p)
{
	if (*db_p == NULL)
		return;
	free((*db_p)->path);
	free(*db_p);
	*db_p = NULL;
}

/* A connection given back outside a transaction can serve again. */
static bool conn_reusable(struct store_conn *c)
{
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return true;
}

static const struct store_pool_ops pool_ops = {
	.connect = conn_open,
	.disconnect = conn_free,
	.reusable = conn_reusable,
	.free_db = db_free,
};

static enum smx_status sq_open(const struct store_settings *settings,
			       struct store_pool **pool_r)
{
	struct store_db *db = calloc(1, sizeof(*db));
	enum smx_status st = SMX_TEMPFAIL;
	if (db == NULL ||
	    (db->path = strdup(settings->path ? settings->path : "")) == NULL ||
	    (st = create_file(db->path)) != SMX_OK ||
	    (st = check_file_mode(db->path)) != SMX_OK) {
		db_free(&db);
		return st;
	}
	db->busy_ms = settings->busy_timeout;
	return store_pool_open(&pool_ops, db, settings, db->path, pool_r);
}

static enum smx_status sq_script(struct store_conn *c, const char *sql)
{
	int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? SMX_OK : report(c, rc, "statement");
}

static enum smx_status sq_begin(struct store_conn *c, bool write)
{
	return sq_script(c, write ? "BEGIN IMMEDIATE" : "BEGIN");
}

static enum smx_status sq_commit(struct store_conn *c)
{
	return sq_script(c, "COMMIT");
}

static void sq_rollback(struct store_conn *c)
{
	if (!sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

static bool sq_broken(struct store_conn *c)
{
	return c == NULL || c->broken;
}

/* "$1" -> "?1": SQLite reads "$1" as a named parameter. Only the
 * placeholder syntax changes; values are bound later. */
static char *translate(const char *sql)
{
	char *out = strdup(sql);
	for (char *p = out; p != NULL && *p != '\0'; p++)
		if (*p == '$' && p[1] >= '1' && p[1] <= '9')
			*p = '?';
	return out;
}

static sqlite3_stmt *prepared(struct store_conn *c, const char *sql, int *rc_r)
{
	for (size_t i = 0; i < c->n_cache; i++)
		if (c->cache[i].sql == sql)
			return c->cache[i].st;
	char *text = translate(sql);
	sqlite3_stmt *st = NULL;
	*rc_r = text ? sqlite3_prepare_v3(c->db, text, -1,
					  SQLITE_PREPARE_PERSISTENT, &st, NULL)
		     : SQLITE_NOMEM;
	free(text);
	if (st != NULL && c->n_cache < STMT_CACHE)
		c->cache[c->n_cache++] = (struct stmt_slot){ sql, st };
	return st;
}

static int bind_all(sqlite3_stmt *st, const struct store_value *params,
		    size_t n)
{
	int rc = SQLITE_OK;
	for (size_t i = 0; i < n && rc == SQLITE_OK; i++) {
		const struct store_value *v = &params[i];
		int at = (int)i + 1;
		switch (v->type) {
		case STORE_V_NULL: rc = sqlite3_bind_null(st, at); break;
		case STORE_V_INT: rc = sqlite3_bind_int64(st, at, v->i); break;
		case STORE_V_TEXT:
			rc = sqlite3_bind_text(st, at, v->p, (int)v->len,
					       SQLITE_STATIC);
			break;
		case STORE_V_BLOB:
			rc = sqlite3_bind_blob(st, at, v->p, (int)v->len,
					       SQLITE_STATIC);
			break;
		}
	}
	return rc;
}

static int fetch_row(sqlite3_stmt *st, struct store_rows *rows)
{
	struct store_value cells[32];
	if (rows->n_cols > 32)
		return -1;
	for (size_t i = 0; i < rows->n_cols; i++) {
		int col = (int)i;
		struct store_value v = SV_NULL;
		switch (sqlite3_column_type(st, col)) {
		case SQLITE_INTEGER: case SQLITE_FLOAT:
			v = SV_INT(sqlite3_column_int64(st, col));
			break;
		case SQLITE_TEXT:
			v.type = STORE_V_TEXT;
			v.p = sqlite3_column_text(st, col);
			v.len = (size_t)sqlite3_column_bytes(st, col);
			break;
		case SQLITE_BLOB:
			v.type = STORE_V_BLOB;
			v.p = sqlite3_column_blob(st, col);
			v.len = (size_t)sqlite3_column_bytes(st, col);
			break;
		default:
			break;
		}
		cells[i] = v;
	}
	return store_rows_add(rows, cells);
}

static enum smx_status sq_exec(struct store_conn *c, const char *sql,
			       const struct store_value *params, size_t n,
			       struct store_rows *rows, int64_t *changes_r)
{
	int rc = SQLITE_OK;
	sqlite3_stmt *st = prepared(c, sql, &rc);
	if (st == NULL)
		return report(c, rc, "prepare");
	if (rows != NULL && rows->n_rows == 0)
		rows->n_cols = (size_t)sqlite3_column_count(st);
	rc = bind_all(st, params, n);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (rows != NULL && fetch_row(st, rows) != 0)
			rc = SQLITE_NOMEM;
		else
			rc = SQLITE_OK;
	}
	enum smx_status status = SMX_OK;
	if (rc != SQLITE_DONE)
		status = report(c, rc, "query");
	else if (changes_r != NULL)
		*changes_r = sqlite3_changes64(c->db);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return status;
}

const struct store_driver store_driver_sqlite = {
	.name = "sqlite",
	.open = sq_open,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.exec = sq_exec,
	.script = sq_script,
	.broken = sq_broken,
	.migration_lock_sql = NULL,
	.migrations = store_schema_sqlite,
	.n_migrations = STORE_SCHEMA_VERSION,
};
