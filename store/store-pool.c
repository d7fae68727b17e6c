/* SPDX-License-Identifier: BSD-2-Clause */
/* The connection pool of both backends (store-pool.h). */
#include "store-pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <smx/log.h>

struct store_pool {
	const struct store_pool_ops *ops;
	struct store_db *db;
	char *label;
	unsigned busy_ms;
	size_t size;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct store_conn **idle;
	size_t n_idle, n_open;	/* n_open counts idle and borrowed ones */
	unsigned generation;	/* store_pool_drop_idle calls */
};

static struct store_pool *pool_new(const struct store_pool_ops *ops,
				    struct store_db *db, size_t size,
				    unsigned busy_ms, const char *label)
{
	struct store_pool *pool = calloc(1, sizeof(*pool));
	if (pool == NULL) {
		ops->free_db(&db);
		return NULL;
	}
	pool->ops = ops;
	pool->db = db;
	pool->size = size > 0 ? size : 1;
	pool->busy_ms = busy_ms;
	pthread_mutex_init(&pool->mu, NULL);
	pthread_cond_init(&pool->cv, NULL);
	pool->label = strdup(label);
	pool->idle = calloc(pool->size, sizeof(*pool->idle));
	if (pool->label == NULL || pool->idle == NULL)
		store_pool_free(&pool);
	return pool;
}

void store_pool_free(struct store_pool **pool_p)
{
	struct store_pool *pool = *pool_p;
	if (pool == NULL)
		return;
	for (size_t i = 0; i < pool->n_idle; i++)
		pool->ops->disconnect(&pool->idle[i]);
	pool->ops->free_db(&pool->db);
	pthread_mutex_destroy(&pool->mu);
	pthread_cond_destroy(&pool->cv);
	free(pool->idle);
	free(pool->label);
	free(pool);
	*pool_p = NULL;
}

/* A connection was not made after all, or was closed: its place is
 * free for the next caller. */
static void forget_one(struct store_pool *pool)
{
	pthread_mutex_lock(&pool->mu);
	pool->n_open--;
	pthread_cond_signal(&pool->cv);
	pthread_mutex_unlock(&pool->mu);
}

enum smx_status store_pool_open(const struct store_pool_ops *ops,
				struct store_db *db,
				const struct store_settings *settings,
				const char *label, struct store_pool **pool_r)
{
	struct store_pool *pool = pool_new(ops, db, settings->pool_size,
					   settings->busy_timeout, label);
	struct store_conn *first = NULL;
	if (pool == NULL)
		return SMX_TEMPFAIL;
	if (ops->attach != NULL)
		ops->attach(pool->db, pool);
	pool->n_open = 1;	/* its place, before any other thread */
	enum smx_status st = ops->connect(pool->db, &first);
	if (st != SMX_OK) {
		pool->n_open = 0;
		store_pool_free(&pool);
		return st;
	}
	store_pool_release(pool, &first, false);
	*pool_r = pool;
	return SMX_OK;
}

enum smx_status store_pool_acquire(struct store_pool *pool,
				   struct store_conn **conn_r)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += pool->busy_ms / 1000 + 1;
	enum smx_status st = SMX_OK;
	*conn_r = NULL;
	pthread_mutex_lock(&pool->mu);
	while (pool->n_idle == 0 && pool->n_open >= pool->size) {
		if (pthread_cond_timedwait(&pool->cv, &pool->mu, &until) ==
		    ETIMEDOUT) {
			smx_log(LOG_WARNING, "%s: all %zu store connections "
				"busy", pool->label, pool->size);
			st = SMX_TEMPFAIL;
			break;
		}
	}
	if (st == SMX_OK && pool->n_idle > 0)
		*conn_r = pool->idle[--pool->n_idle];
	else if (st == SMX_OK)
		pool->n_open++;	/* a place for the one made below */
	pthread_mutex_unlock(&pool->mu);
	if (st != SMX_OK || *conn_r != NULL)
		return st;
	st = pool->ops->connect(pool->db, conn_r);
	if (st != SMX_OK)
		forget_one(pool);
	return st;
}

void store_pool_release(struct store_pool *pool, struct store_conn **conn,
			bool broken)
{
	if (*conn == NULL)
		return;
	if (!broken && !pool->ops->reusable(*conn))
		broken = true;
	if (broken) {
		pool->ops->disconnect(conn);
		forget_one(pool);
		return;
	}
	pthread_mutex_lock(&pool->mu);
	pool->idle[pool->n_idle++] = *conn;
	*conn = NULL;
	pthread_cond_signal(&pool->cv);
	pthread_mutex_unlock(&pool->mu);
}

void store_pool_drop_idle(struct store_pool *pool)
{
	struct store_conn **stale = calloc(pool->size, sizeof(*stale));
	size_t n = 0;
	pthread_mutex_lock(&pool->mu);
	pool->generation++;
	while (stale != NULL && pool->n_idle > 0) {
		stale[n++] = pool->idle[--pool->n_idle];
		pool->n_open--;
	}
	pthread_cond_broadcast(&pool->cv);
	pthread_mutex_unlock(&pool->mu);
	for (size_t i = 0; i < n; i++)
		pool->ops->disconnect(&stale[i]);
	free(stale);
}

unsigned store_pool_generation(struct store_pool *pool)
{
	pthread_mutex_lock(&pool->mu);
	unsigned generation = pool->generation;
	pthread_mutex_unlock(&pool->mu);
	return generation;
}
