/* SPDX-License-Identifier: BSD-2-Clause */
/* Opening and closing the store, the schema migrations, transactions,
 * and the neutral result rows the drivers fill. */
#include "store-private.h"

#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <smx/log.h>

#define TXN_ATTEMPTS 4

const char *store_library_versions(char *buf, size_t size)
{
	int pq = PQlibVersion();
	snprintf(buf, size, "SQLite %s, libpq %d.%d", sqlite3_libversion(),
		 pq / 10000, pq % 10000);
	return buf;
}

/* --- rows -------------------------------------------------------------- */

static const struct store_value *cell(const struct store_rows *r, size_t row,
				      size_t col)
{
	if (r == NULL || row >= r->n_rows || col >= r->n_cols)
		return NULL;
	return &r->cells[row * r->n_cols + col];
}

int64_t store_rows_int(const struct store_rows *r, size_t row, size_t col)
{
	const struct store_value *v = cell(r, row, col);
	if (v == NULL || v->type == STORE_V_NULL)
		return 0;
	if (v->type == STORE_V_INT)
		return v->i;
	return v->type == STORE_V_TEXT ? strtoll(v->p, NULL, 10) : 0;
}

const char *store_rows_text(const struct store_rows *r, size_t row, size_t col)
{
	const struct store_value *v = cell(r, row, col);
	return (v != NULL && v->type == STORE_V_TEXT) ? v->p : NULL;
}

const unsigned char *store_rows_blob(const struct store_rows *r, size_t row,
				     size_t col, size_t *len_r)
{
	const struct store_value *v = cell(r, row, col);
	if (v == NULL || (v->type != STORE_V_BLOB && v->type != STORE_V_TEXT)) {
		*len_r = 0;
		return NULL;
	}
	*len_r = v->len;
	return v->p;
}

int store_rows_add(struct store_rows *r, const struct store_value *cells)
{
	size_t base = r->n_rows * r->n_cols;
	struct store_value *grown = realloc(r->cells, (base + r->n_cols + 1) *
					    sizeof(*grown));
	if (grown == NULL)
		return -1;
	r->cells = grown;
	for (size_t i = 0; i < r->n_cols; i++) {
		struct store_value v = cells[i];
		if (v.type == STORE_V_TEXT || v.type == STORE_V_BLOB) {
			char *copy = malloc(v.len + 1);
			if (copy == NULL) {
				for (size_t j = 0; j < i; j++)
					free(grown[base + j].owned);
				return -1;
			}
			if (v.len > 0)
				memcpy(copy, v.p, v.len);
			copy[v.len] = '\0';
			v.owned = copy;
		}
		grown[base + i] = v;
	}
	r->n_rows++;
	return 0;
}

void store_rows_clear(struct store_rows *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n_rows * r->n_cols; i++)
		free(r->cells[i].owned);
	free(r->cells);
	r->cells = NULL;
	r->n_rows = 0;
}

/* --- transactions ------------------------------------------------------ */

enum smx_status store_exec(struct store_conn *c, const struct store *store,
			   const char *sql, const struct store_value *params,
			   size_t n, struct store_rows *rows, int64_t *changes_r)
{
	return store->drv->exec(c, sql, params, n, rows, changes_r);
}

/* One attempt. *retry_r says whether another attempt is safe: not when
 * COMMIT itself failed, because the transaction may then have been
 * applied (a counter must not count twice). */
static enum smx_status txn_once(struct store *store, bool write,
				store_txn_fn *fn, void *arg, bool *retry_r)
{
	struct store_conn *c = NULL;
	enum smx_status st = store_pool_acquire(store->pool, &c);
	*retry_r = false;
	if (st != SMX_OK)
		return st;
	st = store->drv->begin(c, write);
	if (st == SMX_OK)
		st = fn(store, c, arg);
	if (st == SMX_OK || st == SMX_NOTFOUND) {
		enum smx_status cst = store->drv->commit(c);
		if (cst != SMX_OK)
			st = cst;
	} else {
		store->drv->rollback(c);
		*retry_r = st == SMX_TEMPFAIL;
	}
	store_pool_release(store->pool, &c, store->drv->broken(c));
	return st;
}

enum smx_status store_txn(struct store *store, bool write, store_txn_fn *fn,
			  void *arg)
{
	enum smx_status st = SMX_TEMPFAIL;
	bool retry = true;
	for (int attempt = 0; retry && attempt < TXN_ATTEMPTS; attempt++) {
		if (attempt > 0) {
			struct timespec ts = { 0, (long)attempt * 20000000L };
			nanosleep(&ts, NULL);
		}
		st = txn_once(store, write, fn, arg, &retry);
	}
	return st;
}

/* --- schema ------------------------------------------------------------ */

static const char sql_version_table[] =
	"CREATE TABLE IF NOT EXISTS store_schema (version INTEGER NOT NULL)";
static const char sql_version_get[] = "SELECT version FROM store_schema";
static const char sql_version_ins[] =
	"INSERT INTO store_schema (version) VALUES ($1)";
static const char sql_version_set[] = "UPDATE store_schema SET version = $1";

static enum smx_status migrate(struct store *store, struct store_conn *c,
			       void *arg)
{
	const struct store_driver *drv = store->drv;
	struct store_rows rows = { .n_cols = 1 };
	(void)arg;
	enum smx_status st = SMX_OK;
	if (drv->migration_lock_sql != NULL)
		st = drv->script(c, drv->migration_lock_sql);
	if (st == SMX_OK)
		st = drv->script(c, sql_version_table);
	if (st == SMX_OK)
		st = drv->exec(c, sql_version_get, NULL, 0, &rows, NULL);
	if (st != SMX_OK)
		goto done;
	int have = rows.n_rows > 0 ? (int)store_rows_int(&rows, 0, 0) : 0;
	if (have > drv->n_migrations) {
		smx_log(LOG_ERR, "store: the database schema is version %d, "
			"newer than this program knows (%d): upgrade "
			"smime-milter", have, drv->n_migrations);
		st = SMX_CONFIG;
		goto done;
	}
	for (int v = have; v < drv->n_migrations && st == SMX_OK; v++)
		st = drv->script(c, drv->migrations[v]);
	if (st == SMX_OK && have < drv->n_migrations) {
		struct store_value p = SV_INT(drv->n_migrations);
		st = drv->exec(c, rows.n_rows > 0 ? sql_version_set :
			       sql_version_ins, &p, 1, NULL, NULL);
		smx_log(LOG_INFO, "store: schema upgraded from version %d to "
			"%d", have, drv->n_migrations);
	}
	store->schema_version = drv->n_migrations;
done:
	store_rows_clear(&rows);
	return st;
}

int store_schema_version(const struct store *store)
{
	return store->schema_version;
}

int store_schema_latest(void)
{
	return store_driver_sqlite.n_migrations;
}

const char *store_backend_name(const struct store *store)
{
	return store->drv->name;
}

enum smx_status store_key_status(const struct store *store)
{
	return store->key_status;
}

/* --- open/close -------------------------------------------------------- */

struct store *store_open(const struct store_settings *settings,
			 unsigned flags, enum smx_status *status_r)
{
	enum smx_status st = SMX_TEMPFAIL;
	struct store *store = calloc(1, sizeof(*store));
	if (store == NULL)
		goto fail;
	store->drv = settings->backend == STORE_BACKEND_POSTGRESQL
			     ? &store_driver_pgsql : &store_driver_sqlite;
	store->key_status = SMX_NOTFOUND;
	if (settings->master_key_file != NULL &&
	    (flags & STORE_OPEN_NO_KEY) == 0 &&
	    (store->key_file = strdup(settings->master_key_file)) == NULL)
		goto fail;
	st = store->drv->open(settings, &store->pool);
	if (st != SMX_OK)
		goto fail;
	st = store_txn(store, true, migrate, NULL);
	if (st != SMX_OK)
		goto fail;
	st = store_master_key_load(store, (flags & STORE_OPEN_CREATE_KEY) != 0);
	if (st != SMX_OK)
		goto fail;
	if (store->key_status == SMX_OK &&
	    (st = store_master_key_verify(store)) != SMX_OK)
		goto fail;
	*status_r = SMX_OK;
	return store;
fail:
	store_close(&store);
	*status_r = st;
	return NULL;
}

void store_close(struct store **store)
{
	if (store == NULL || *store == NULL)
		return;
	struct store *s = *store;
	store_pool_free(&s->pool);
	OPENSSL_cleanse(s->master_key, sizeof(s->master_key));
	free(s->key_file);
	free(s);
	*store = NULL;
	store_parse_cache_clear();
}

const char *store_source_name(enum store_source source)
{
	switch (source) {
	case STORE_SOURCE_IMPORTED: return "imported";
	case STORE_SOURCE_HARVESTED: return "harvested";
	case STORE_SOURCE_DIRECTORY: return "directory";
	case STORE_SOURCE_ISSUED: return "issued";
	}
	return "unknown";
}

const char *store_trust_name(enum store_trust trust)
{
	switch (trust) {
	case STORE_TRUST_NONE: return "unverified";
	case STORE_TRUST_CHAIN: return "trusted";
	case STORE_TRUST_PINNED: return "pinned";
	}
	return "unknown";
}
