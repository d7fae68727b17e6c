/* SPDX-License-Identifier: BSD-2-Clause */
/* The PostgreSQL backend (libpq): a pool (store-pool.c) of up to
 * store.pool_size connections, made lazily, each statement prepared once
 * per connection and run with bound parameters; results come back in
 * binary form.
 * Several MX hosts can share one database: every write is a short
 * transaction and upserts use ON CONFLICT, so concurrent writers never
 * fail on each other's rows. A lost connection is reset on next use; a
 * server that does not answer is SMX_TEMPFAIL.
 *
 * An outage (the server down, or no host of the conninfo writable while
 * a standby is promoted) is logged twice per process: when the first
 * attempt fails and when a connection succeeds again, with its
 * duration. The attempts, retries and statements that fail in between,
 * and the connections made before it that break later, log at debug
 * level only: a gateway under load would otherwise log each of them.
 * Meanwhile one attempt a second really connects, and so does every
 * opening of the store; the others answer SMX_TEMPFAIL at once. */
#include "store-private.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <smx/log.h>

#define STMT_CACHE 64
#define MAX_PARAMS 16
/* During an outage, one attempt per this many milliseconds really
 * connects; the others fail at once instead of each waiting for the
 * server (an unreachable host costs connect_timeout per attempt). */
#define OUTAGE_RETRY_MS 1000

/* Type OIDs of the built-in types the store's columns use. */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23

struct store_db;

struct store_conn {
	PGconn *pg;
	struct store_db *db;
	unsigned epoch;		/* the pool's generation when made */
	const char *prepared[STMT_CACHE];
	size_t n_prepared;
	bool broken;
};

struct store_db {
	char *conninfo;
	unsigned busy_ms;
	uint64_t server;	/* which servers: a hash of conninfo */
	bool opening;		/* the store is being opened */
	struct store_pool *pool;	/* the pool that owns this; its
					 * generation counts outages begun */
};

/* Whether the servers of one conninfo answer: per process, so that a
 * pool opened again (the milter retries a store it could not open) is
 * the same story; a pool with another conninfo has its own. */
static struct {
	pthread_mutex_t mu;
	bool down;
	uint64_t server;	/* store_db.server of the pool that failed */
	struct timespec since;	/* CLOCK_MONOTONIC */
	struct timespec tried;	/* the last real attempt */
	unsigned long failures;	/* attempts and statements that failed */
} outage = { .mu = PTHREAD_MUTEX_INITIALIZER };

static store_health_fn *health_hook;

void store_set_health_hook(store_health_fn *fn)
{
	health_hook = fn;
}

static void quiet_notices(void *arg, const char *message)
{
	(void)arg;
	smx_log(LOG_DEBUG, "store (postgresql): %s", message);
}

static void conn_free(struct store_conn **conn)
{
	if (*conn == NULL)
		return;
	PQfinish((*conn)->pg);
	free(*conn);
	*conn = NULL;
}

/* libpq's message on one line (with several hosts it has one per
 * host), without its trailing newline. */
static void one_line(const char *in, char *out, size_t size)
{
	size_t n = 0;
	for (; in != NULL && *in != '\0' && n + 3 < size; in++) {
		if (*in == '\n') {
			while (in[1] == ' ' || in[1] == '\t')
				in++;	/* libpq indents continuation lines */
			if (in[1] != '\0' && n > 0) {
				out[n++] = ';';
				out[n++] = ' ';
			}
		} else {
			out[n++] = *in;
		}
	}
	out[n] = '\0';
}

/* FNV-1a: tells one conninfo from another. */
static uint64_t hash_text(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static double seconds_since(const struct timespec *t)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) +
	       (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

/* The server did not answer (why: libpq's words). The first failure of
 * an outage is logged; the others are counted. */
static void outage_begin(struct store_db *db, const char *what,
			 const char *why)
{
	char line[512];
	one_line(why, line, sizeof(line));
	pthread_mutex_lock(&outage.mu);
	bool first = !outage.down || outage.server != db->server;
	if (first) {
		outage.down = true;
		outage.server = db->server;
		outage.failures = 0;
		clock_gettime(CLOCK_MONOTONIC, &outage.since);
		outage.tried = outage.since;
	}
	outage.failures++;
	pthread_mutex_unlock(&outage.mu);
	if (!first) {
		smx_log(LOG_DEBUG, "store (postgresql): still down: %s: %s",
			what, line);
		return;
	}
	store_pool_drop_idle(db->pool);	/* made before: they would fail */
	smx_log(LOG_ERR, "store (postgresql): the database does not answer "
		"(%s: %s); what needs the store gets a temporary failure "
		"until it does", what, line);
	if (health_hook != NULL)
		health_hook(false);
}

/* Whether to try to connect now: always, except during an outage, where
 * one attempt per OUTAGE_RETRY_MS goes to the server. An attempt that
 * opens the store always goes: its caller paces its own retries (the
 * milter every 30 s, the key process once a second), and one answered
 * here without trying would cost it a whole retry interval although the
 * database may be back. */
static bool attempt_allowed(const struct store_db *db)
{
	pthread_mutex_lock(&outage.mu);
	bool down = outage.down && outage.server == db->server;
	bool allowed = !down || db->opening ||
		       seconds_since(&outage.tried) * 1000 >= OUTAGE_RETRY_MS;
	if (allowed && down)
		clock_gettime(CLOCK_MONOTONIC, &outage.tried);
	if (!allowed)
		outage.failures++;
	pthread_mutex_unlock(&outage.mu);
	return allowed;
}

/* A connection was made and answered: the end of an outage, if any. */
static void outage_end(const struct store_db *db)
{
	pthread_mutex_lock(&outage.mu);
	bool was_down = outage.down && outage.server == db->server;
	if (was_down)
		outage.down = false;
	double lasted = was_down ? seconds_since(&outage.since) : 0;
	unsigned long failures = outage.failures;
	pthread_mutex_unlock(&outage.mu);
	if (!was_down)
		return;
	smx_log(LOG_NOTICE, "store (postgresql): the database answers again "
		"after %.1f s (%lu attempt%s answered a temporary failure)",
		lasted, failures, failures == 1 ? "" : "s");
	if (health_hook != NULL)
		health_hook(true);
}

/* A statement failed because its connection is gone: an outage, unless
 * the connection predates one already reported (a leftover that fails
 * now says nothing new). */
static void connection_lost(struct store_conn *c, const char *what,
			    const char *why)
{
	bool stale = c->epoch != store_pool_generation(c->db->pool);
	if (!stale) {
		outage_begin(c->db, what, why);
		return;
	}
	char line[512];
	one_line(why, line, sizeof(line));
	smx_log(LOG_DEBUG, "store (postgresql): a connection made before "
		"the outage failed: %s: %s", what, line);
}

static enum smx_status result_status(struct store_conn *c, PGresult *res,
				     const char *what)
{
	ExecStatusType es = PQresultStatus(res);
	if (es == PGRES_COMMAND_OK || es == PGRES_TUPLES_OK)
		return SMX_OK;
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
				: NULL;
	if (state == NULL)
		state = "";
	if (PQstatus(c->pg) != CONNECTION_OK || strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "57", 2) == 0)
		c->broken = true;
	/* the server went away (57P01-03: shut down, crashed, starting) */
	if (c->db != NULL && (PQstatus(c->pg) != CONNECTION_OK ||
			      strncmp(state, "08", 2) == 0 ||
			      strncmp(state, "57P", 3) == 0)) {
		connection_lost(c, what, res ? PQresultErrorMessage(res)
					     : PQerrorMessage(c->pg));
		return SMX_TEMPFAIL;
	}
	bool transient = strcmp(state, "40001") == 0 ||
			 strcmp(state, "40P01") == 0 ||
			 strcmp(state, "55P03") == 0;
	smx_log(transient ? LOG_WARNING : LOG_ERR,
		"store (postgresql): %s: %s%s", what, state,
		res ? PQresultErrorMessage(res) : PQerrorMessage(c->pg));
	if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0)
		return SMX_PERMFAIL;
	return SMX_TEMPFAIL;
}

static enum smx_status conn_open(struct store_db *db, struct store_conn **conn_r)
{
	if (!attempt_allowed(db))
		return SMX_TEMPFAIL;
	struct store_conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return SMX_TEMPFAIL;
	c->pg = PQconnectdb(db->conninfo);
	if (c->pg == NULL) {
		smx_log(LOG_ERR, "store (postgresql): out of memory");
		conn_free(&c);
		return SMX_TEMPFAIL;
	}
	if (PQstatus(c->pg) != CONNECTION_OK) {
		outage_begin(db, "cannot connect with store.conninfo",
			     PQerrorMessage(c->pg));
		conn_free(&c);
		return SMX_TEMPFAIL;
	}
	PQsetNoticeProcessor(c->pg, quiet_notices, NULL);
	c->db = db;
	c->epoch = store_pool_generation(db->pool);
	/* Lock waits end after the busy timeout, like SQLite's. */
	char ms[32];
	snprintf(ms, sizeof(ms), "%ums", db->busy_ms);
	const char *values[1] = { ms };
	PGresult *res = PQexecParams(c->pg, "SELECT set_config('lock_timeout', "
				     "$1, false)", 1, NULL, values, NULL, NULL, 0);
	enum smx_status st = result_status(c, res, "set lock_timeout");
	PQclear(res);
	if (st != SMX_OK) {
		conn_free(&c);
		return st;
	}
	outage_end(db);
	*conn_r = c;
	return SMX_OK;
}

static void db_free(struct store_db **db_p)
{
	if (*db_p == NULL)
		return;
	free((*db_p)->conninfo);
	free(*db_p);
	*db_p = NULL;
}

/* Never hand out a connection in the middle of a transaction. */
static bool conn_reusable(struct store_conn *c)
{
	return PQtransactionStatus(c->pg) == PQTRANS_IDLE;
}

static void attach_pool(struct store_db *db, struct store_pool *pool)
{
	db->pool = pool;
}

static const struct store_pool_ops pool_ops = {
	.connect = conn_open,
	.disconnect = conn_free,
	.reusable = conn_reusable,
	.free_db = db_free,
	.attach = attach_pool,
};

static enum smx_status pg_open(const struct store_settings *settings,
			       struct store_pool **pool_r)
{
	struct store_db *db = calloc(1, sizeof(*db));
	if (db == NULL ||
	    (db->conninfo = strdup(settings->conninfo ? settings->conninfo
							: "")) == NULL) {
		db_free(&db);
		return SMX_TEMPFAIL;
	}
	db->busy_ms = settings->busy_timeout;
	db->server = hash_text(db->conninfo);
	db->opening = true;	/* until the first connection is made */
	enum smx_status st = store_pool_open(&pool_ops, db, settings,
					     "store (postgresql)", pool_r);
	if (st == SMX_OK)
		db->opening = false;	/* else db is freed */
	return st;
}

static enum smx_status pg_script(struct store_conn *c, const char *sql)
{
	PGresult *res = PQexec(c->pg, sql);
	enum smx_status st = result_status(c, res, "statement");
	PQclear(res);
	return st;
}

static enum smx_status pg_begin(struct store_conn *c, bool write)
{
	(void)write;	/* READ COMMITTED; upserts resolve conflicts */
	return pg_script(c, "BEGIN");
}

static enum smx_status pg_commit(struct store_conn *c)
{
	return pg_script(c, "COMMIT");
}

static void pg_rollback(struct store_conn *c)
{
	PGresult *res = PQexec(c->pg, "ROLLBACK");
	PQclear(res);
}

static bool pg_broken(struct store_conn *c)
{
	return c == NULL || c->broken || PQstatus(c->pg) != CONNECTION_OK;
}

/* The name of the statement prepared for sql on this connection,
 * preparing it on first use. */
static enum smx_status prepare(struct store_conn *c, const char *sql,
			       size_t n, char *name, size_t size)
{
	for (size_t i = 0; i < c->n_prepared; i++) {
		if (c->prepared[i] == sql) {
			snprintf(name, size, "smx%zu", i);
			return SMX_OK;
		}
	}
	if (c->n_prepared >= STMT_CACHE) {
		name[0] = '\0';	/* unnamed statement, prepared each time */
	} else {
		snprintf(name, size, "smx%zu", c->n_prepared);
	}
	PGresult *res = PQprepare(c->pg, name, sql, (int)n, NULL);
	enum smx_status st = result_status(c, res, "prepare");
	PQclear(res);
	if (st == SMX_OK && name[0] != '\0')
		c->prepared[c->n_prepared++] = sql;
	return st;
}

static struct store_value decode_cell(const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		return SV_NULL;
	const char *p = PQgetvalue(res, row, col);
	int len = PQgetlength(res, row, col);
	uint64_t u64;
	uint32_t u32;
	uint16_t u16;
	switch (PQftype(res, col)) {
	case OID_INT8:
		memcpy(&u64, p, sizeof(u64));
		return SV_INT((int64_t)be64toh(u64));
	case OID_INT4:
		memcpy(&u32, p, sizeof(u32));
		return SV_INT((int32_t)be32toh(u32));
	case OID_INT2:
		memcpy(&u16, p, sizeof(u16));
		return SV_INT((int16_t)be16toh(u16));
	case OID_BOOL:
		return SV_INT(p[0] != 0);
	case OID_BYTEA:
		return (struct store_value){ .type = STORE_V_BLOB, .p = p,
					     .len = (size_t)len };
	default:	/* text, varchar, name: the bytes themselves */
		return (struct store_value){ .type = STORE_V_TEXT, .p = p,
					     .len = (size_t)len };
	}
}

static int fetch_rows(const PGresult *res, struct store_rows *rows)
{
	struct store_value cells[32];
	int nf = PQnfields(res);
	if (nf > 32)
		return -1;
	if (rows->n_rows == 0)
		rows->n_cols = (size_t)nf;
	for (int r = 0; r < PQntuples(res); r++) {
		for (int f = 0; f < nf; f++)
			cells[f] = decode_cell(res, r, f);
		if (store_rows_add(rows, cells) != 0)
			return -1;
	}
	return 0;
}

static enum smx_status pg_exec(struct store_conn *c, const char *sql,
			       const struct store_value *params, size_t n,
			       struct store_rows *rows, int64_t *changes_r)
{
	const char *values[MAX_PARAMS];
	int lengths[MAX_PARAMS], formats[MAX_PARAMS];
	char ints[MAX_PARAMS][24], name[24];
	if (n > MAX_PARAMS)
		return SMX_PERMFAIL;
	enum smx_status st = prepare(c, sql, n, name, sizeof(name));
	if (st != SMX_OK)
		return st;
	for (size_t i = 0; i < n; i++) {
		const struct store_value *v = &params[i];
		values[i] = v->p;
		lengths[i] = (int)v->len;
		formats[i] = v->type == STORE_V_BLOB ? 1 : 0;
		if (v->type == STORE_V_INT) {
			snprintf(ints[i], sizeof(ints[i]), "%" PRId64, v->i);
			values[i] = ints[i];
		} else if (v->type == STORE_V_NULL) {
			values[i] = NULL;
		}
	}
	PGresult *res = PQexecPrepared(c->pg, name, (int)n, values, lengths,
				       formats, 1);
	st = result_status(c, res, "query");
	if (st == SMX_OK && rows != NULL && fetch_rows(res, rows) != 0)
		st = SMX_TEMPFAIL;
	if (st == SMX_OK && changes_r != NULL)
		*changes_r = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return st;
}

const struct store_driver store_driver_pgsql = {
	.name = "postgresql",
	.open = pg_open,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.exec = pg_exec,
	.script = pg_script,
	.broken = pg_broken,
	.migration_lock_sql = "SELECT pg_advisory_xact_lock(7274023451)",
	.migrations = store_schema_pgsql,
	.n_migrations = STORE_SCHEMA_VERSION,
};
