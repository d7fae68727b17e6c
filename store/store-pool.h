/* SPDX-License-Identifier: BSD-2-Clause */
/* The connection pool both backends share: up to size connections, made
 * when needed and each used by one thread at a time; a caller that finds
 * them all busy waits up to the busy timeout for one to be given back.
 * A backend says only how to make, close and check its connections, and
 * keeps its own state (struct store_db), which the pool owns. */
#ifndef SMX_STORE_POOL_H
#define SMX_STORE_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include <smx/status.h>
#include <smx/store.h>

struct store_db;	/* a backend's state: file name, server, ... */
struct store_conn;	/* one of its connections */
struct store_pool;

struct store_pool_ops {
	/* Makes one connection: SMX_OK, SMX_TEMPFAIL (try again later)
	 * or SMX_CONFIG (it cannot work as configured). */
	enum smx_status (*connect)(struct store_db *db,
				   struct store_conn **conn_r);
	/* Closes one and sets *conn to NULL. */
	void (*disconnect)(struct store_conn **conn);
	/* Whether a connection given back unbroken may serve the next
	 * caller; it may first clean up (roll back what was left open). */
	bool (*reusable)(struct store_conn *conn);
	/* Frees the backend's state (the pool is closing). */
	void (*free_db)(struct store_db **db);
	/* Optional: tells the backend's state which pool holds it, before
	 * any connection is made. */
	void (*attach)(struct store_db *db, struct store_pool *pool);
};

/* Opens a pool for db, which it owns from now on (also when this
 * fails), of settings->pool_size connections at most (0 counts as 1),
 * where a caller waits up to settings->busy_timeout for a free one;
 * label starts its log lines. The first connection is made now, so that
 * opening a store fails at once when its database cannot be used. */
enum smx_status store_pool_open(const struct store_pool_ops *ops,
				struct store_db *db,
				const struct store_settings *settings,
				const char *label, struct store_pool **pool_r);

/* Closes the idle connections, frees the backend's state and the pool;
 * sets *pool to NULL. NULL-safe. No connection may be borrowed. */
void store_pool_free(struct store_pool **pool);

/* Borrows a connection, making one when none is idle and fewer than size
 * exist; waits up to the busy timeout (SMX_TEMPFAIL after that). */
enum smx_status store_pool_acquire(struct store_pool *pool,
				   struct store_conn **conn_r);

/* Gives a connection back; broken (or not reusable): it is closed. Sets
 * *conn to NULL. NULL-safe. */
void store_pool_release(struct store_pool *pool, struct store_conn **conn,
			bool broken);

/* Closes every idle connection and starts a new generation: the
 * connections made before are not reused (they would only fail one by
 * one once the server has gone away). */
void store_pool_drop_idle(struct store_pool *pool);

/* The current generation: tells a connection made before the last
 * store_pool_drop_idle from one made after. */
unsigned store_pool_generation(struct store_pool *pool);

#endif
