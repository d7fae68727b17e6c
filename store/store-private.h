/* SPDX-License-Identifier: BSD-2-Clause */
/* Internals of the store: the database driver vtable every backend
 * implements, the neutral value type that carries parameters and result
 * cells, and the helpers the store's source files share. */
#ifndef SMX_STORE_PRIVATE_H
#define SMX_STORE_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include <smx/store.h>

#include "store-pool.h"

/* --- values ------------------------------------------------------------ */

enum store_vtype {
	STORE_V_NULL = 0,
	STORE_V_INT,
	STORE_V_TEXT,	/* p: NUL-terminated, len = strlen */
	STORE_V_BLOB,
};

/* A statement parameter (p points to the caller's memory) or a result
 * cell (p is owned by the store_rows it belongs to). */
struct store_value {
	enum store_vtype type;
	int64_t i;
	union {
		const void *p;
		void *owned;	/* the same pointer, in store_rows */
	};
	size_t len;
};

#define SV_INT(x) ((struct store_value){ .type = STORE_V_INT, .i = (x) })
#define SV_TEXT(s) ((struct store_value){ .type = STORE_V_TEXT, .p = (s), \
					  .len = strlen(s) })
#define SV_BLOB(b, n) ((struct store_value){ .type = (b) ? STORE_V_BLOB : \
					     STORE_V_NULL, .p = (b), .len = (n) })
#define SV_NULL ((struct store_value){ .type = STORE_V_NULL })

/* The complete result of a query, fetched into memory (the store's
 * queries return few, small rows). Cells are row-major. */
struct store_rows {
	size_t n_rows, n_cols;
	struct store_value *cells;
};

/* Cell accessors: an absent or NULL cell reads as 0 / NULL. */
int64_t store_rows_int(const struct store_rows *r, size_t row, size_t col);
const char *store_rows_text(const struct store_rows *r, size_t row,
			    size_t col);
const unsigned char *store_rows_blob(const struct store_rows *r, size_t row,
				     size_t col, size_t *len_r);

/* Appends one row of n_cols cells, copying the data. For drivers. */
int store_rows_add(struct store_rows *r, const struct store_value *cells);

/* Frees the cells and empties the result. */
void store_rows_clear(struct store_rows *r);

/* --- driver ------------------------------------------------------------ */

struct store_db;	/* a backend's state, owned by its pool */
struct store_conn;	/* one connection, used by one thread at a time */

/* SQL passed to a driver is one of the store's constant statements;
 * parameters are written $1, $2, ... in order (the SQLite driver maps
 * them to ?1, ?2). Values are only ever bound, never spliced. The SQL
 * text pointer is stable, so drivers may cache prepared statements by
 * it. */
struct store_driver {
	const char *name;

	/* Opens the connection pool (store-pool.h) of the database the
	 * settings name, with its first connection made. */
	enum smx_status (*open)(const struct store_settings *settings,
				struct store_pool **pool_r);

	/* Transactions. write: take the write lock at once (SQLite BEGIN
	 * IMMEDIATE), so that a reader never has to upgrade. */
	enum smx_status (*begin)(struct store_conn *c, bool write);
	enum smx_status (*commit)(struct store_conn *c);
	void (*rollback)(struct store_conn *c);

	/* Runs one statement. rows (may be NULL) receives every row;
	 * changes_r (may be NULL) the number of rows changed. */
	enum smx_status (*exec)(struct store_conn *c, const char *sql,
				const struct store_value *params, size_t n,
				struct store_rows *rows, int64_t *changes_r);

	/* Runs constant DDL text that may hold several statements. */
	enum smx_status (*script)(struct store_conn *c, const char *sql);

	/* True when the last failure left the connection unusable. */
	bool (*broken)(struct store_conn *c);

	/* SQL run first in the migration transaction to serialize
	 * migrations between processes (NULL: begin(write) already does). */
	const char *migration_lock_sql;

	/* migrations[i] upgrades the schema from version i to i + 1. */
	const char *const *migrations;
	int n_migrations;
};

/* The newest schema version, and each backend's migrations
 * (store-schema.c). */
#define STORE_SCHEMA_VERSION 6
extern const char *const store_schema_sqlite[STORE_SCHEMA_VERSION];
extern const char *const store_schema_pgsql[STORE_SCHEMA_VERSION];

extern const struct store_driver store_driver_sqlite;
extern const struct store_driver store_driver_pgsql;

/* --- the store --------------------------------------------------------- */

#define STORE_MASTER_KEY_LEN 32

struct store {
	const struct store_driver *drv;
	struct store_pool *pool;
	int schema_version;
	char *key_file;
	enum smx_status key_status;
	unsigned char master_key[STORE_MASTER_KEY_LEN];
};

/* A function run inside a transaction; returns a status. */
typedef enum smx_status store_txn_fn(struct store *store,
				     struct store_conn *c, void *arg);

/* Runs fn in a transaction on a borrowed connection, committing on
 * SMX_OK and SMX_NOTFOUND and rolling back otherwise; retries a few
 * times when the database reports a transient failure. */
enum smx_status store_txn(struct store *store, bool write, store_txn_fn *fn,
			  void *arg);

/* A single statement with parameters, run as a transaction by
 * store_run_one (store-misc.c): rows and changes are kept for the
 * caller, who clears rows. */
struct store_one {
	const char *sql;
	const struct store_value *params;
	size_t n;
	struct store_rows rows;
	int64_t changes;
};
enum smx_status store_run_one(struct store *store, bool write,
			      struct store_one *a);

/* Shorthand for drv->exec. */
enum smx_status store_exec(struct store_conn *c, const struct store *store,
			   const char *sql, const struct store_value *params,
			   size_t n, struct store_rows *rows,
			   int64_t *changes_r);

/* Lower-cases an address into a new string (NULL when out of memory). */
char *store_lower_dup(const char *s);

/* --- parsed certificates (store-parse-cache.c) ------------------------- */

/* A copy of the record store_cert_parse made from this DER recently, or
 * NULL. Only the fields derived from the DER are set. */
struct store_cert *store_parse_cache_get(const unsigned char *der,
					 size_t len);

/* Remembers a freshly parsed record (a copy is kept) and the OpenSSL
 * object it was parsed from (a new reference is kept). */
void store_parse_cache_put(const struct store_cert *parsed, X509 *x509);

/* Forgets every record (store_close: nothing is left at exit). */
void store_parse_cache_clear(void);

/* --- master key and sealing (store-keys.c) ----------------------------- */

/* Loads (or with create, makes) the master key file; sets key_status. */
enum smx_status store_master_key_load(struct store *store, bool create);

/* Checks the loaded key against the store's key-check record (writing
 * one when there is none); sets key_status to SMX_CONFIG on mismatch. */
enum smx_status store_master_key_verify(struct store *store);

/* AES-256-GCM under the master key. aad binds the blob to its row.
 * seal: *out_r = 0x01 || nonce(12) || ciphertext || tag(16). open:
 * SMX_CONFIG when the tag does not verify. Caller frees *out_r (open:
 * with store_secret_free). */
enum smx_status store_seal(const struct store *store, const char *aad,
			   const unsigned char *in, size_t len,
			   unsigned char **out_r, size_t *len_r);
enum smx_status store_unseal(const struct store *store, const char *aad,
			     const unsigned char *in, size_t len,
			     unsigned char **out_r, size_t *len_r);

/* SMX_OK when the PKCS#8 key belongs to the certificate (DER). */
enum smx_status store_key_matches(const unsigned char *cert_der,
				  size_t cert_len, const unsigned char *pkcs8,
				  size_t key_len);

#endif
