/* SPDX-License-Identifier: BSD-2-Clause */
/* The store's smaller tables: encryption-key preferences, trust anchors,
 * the directory cache, the harvest log, counters and statistics. */
#include "store-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <smx/log.h>

static enum smx_status one_txn(struct store *store, struct store_conn *c,
			       void *arg)
{
	struct store_one *a = arg;
	store_rows_clear(&a->rows);
	return store_exec(c, store, a->sql, a->params, a->n, &a->rows,
			  &a->changes);
}

enum smx_status store_run_one(struct store *store, bool write,
			      struct store_one *a)
{
	return store_txn(store, write, one_txn, a);
}

/* --- preferences ------------------------------------------------------- */

static const char sql_pref_set[] =
	"INSERT INTO enc_preferences (email, fingerprint, updated) "
	"VALUES ($1, $2, $3) ON CONFLICT (email) DO UPDATE SET "
	"fingerprint = excluded.fingerprint, updated = excluded.updated";
static const char sql_pref_get[] =
	"SELECT fingerprint FROM enc_preferences WHERE email = $1";

enum smx_status store_preference_set(struct store *store, const char *email,
				     const char *fingerprint)
{
	char fp[65];
	char *low = store_lower_dup(email);
	enum smx_status st = SMX_PERMFAIL;
	if (low != NULL && store_fingerprint_normalize(fingerprint, fp)) {
		struct store_value p[3] = { SV_TEXT(low), SV_TEXT(fp),
					    SV_INT((int64_t)time(NULL)) };
		struct store_one a = { sql_pref_set, p, 3, { 0 }, 0 };
		st = store_run_one(store, true, &a);
		store_rows_clear(&a.rows);
	}
	free(low);
	return st;
}

enum smx_status store_preference_get(struct store *store, const char *email,
				     char *fingerprint_r)
{
	char *low = store_lower_dup(email);
	if (low == NULL)
		return SMX_TEMPFAIL;
	struct store_value p = SV_TEXT(low);
	struct store_one a = { sql_pref_get, &p, 1, { 0 }, 0 };
	enum smx_status st = store_run_one(store, false, &a);
	const char *fp = store_rows_text(&a.rows, 0, 0);
	if (st == SMX_OK && (fp == NULL || strlen(fp) != 64))
		st = SMX_NOTFOUND;
	if (st == SMX_OK)
		memcpy(fingerprint_r, fp, 65);
	store_rows_clear(&a.rows);
	free(low);
	return st;
}

/* --- trust anchors ----------------------------------------------------- */

static const char sql_anchor_add[] =
	"INSERT INTO anchors (fingerprint, der, subject, not_after, added) "
	"VALUES ($1, $2, $3, $4, $5) ON CONFLICT (fingerprint) DO NOTHING";
static const char sql_anchor_list[] =
	"SELECT fingerprint, subject, not_after, added, der FROM anchors "
	"ORDER BY subject, fingerprint";
static const char sql_anchor_del[] = "DELETE FROM anchors WHERE fingerprint = $1";

enum smx_status store_anchor_add(struct store *store, const unsigned char *der,
				 size_t len, char *fingerprint_r,
				 bool *created_r)
{
	struct store_cert *c = NULL;
	enum smx_status st = store_cert_parse(der, len, &c);
	if (created_r != NULL)
		*created_r = false;
	if (st != SMX_OK)
		return st;
	struct store_value p[5] = { SV_TEXT(c->fingerprint),
				    SV_BLOB(c->der, c->der_len),
				    SV_TEXT(c->subject), SV_INT(c->not_after),
				    SV_INT((int64_t)time(NULL)) };
	struct store_one a = { sql_anchor_add, p, 5, { 0 }, 0 };
	st = store_run_one(store, true, &a);
	if (st == SMX_OK && fingerprint_r != NULL)
		memcpy(fingerprint_r, c->fingerprint, 65);
	if (st == SMX_OK && created_r != NULL)
		*created_r = a.changes > 0;
	store_rows_clear(&a.rows);
	store_cert_free(&c);
	return st;
}

static int anchor_of(const struct store_rows *r, size_t i,
		     struct store_anchor *out)
{
	const char *fp = store_rows_text(r, i, 0);
	const char *subject = store_rows_text(r, i, 1);
	size_t len = 0;
	const unsigned char *der = store_rows_blob(r, i, 4, &len);
	snprintf(out->fingerprint, sizeof(out->fingerprint), "%s",
		 fp ? fp : "");
	out->subject = strdup(subject ? subject : "");
	out->not_after = store_rows_int(r, i, 2);
	out->added = store_rows_int(r, i, 3);
	out->der = malloc(len + 1);
	if (out->subject == NULL || out->der == NULL)
		return -1;
	if (len > 0)
		memcpy(out->der, der, len);
	out->der_len = len;
	return 0;
}

enum smx_status store_anchor_list(struct store *store,
				  struct store_anchor **anchors_r, size_t *n_r)
{
	struct store_one a = { sql_anchor_list, NULL, 0, { 0 }, 0 };
	*anchors_r = NULL;
	*n_r = 0;
	enum smx_status st = store_run_one(store, false, &a);
	struct store_anchor *list = NULL;
	if (st == SMX_OK &&
	    (list = calloc(a.rows.n_rows + 1, sizeof(*list))) == NULL)
		st = SMX_TEMPFAIL;
	for (size_t i = 0; st == SMX_OK && i < a.rows.n_rows; i++)
		if (anchor_of(&a.rows, i, &list[i]) != 0)
			st = SMX_TEMPFAIL;
	if (st == SMX_OK) {
		*anchors_r = list;
		*n_r = a.rows.n_rows;
	} else {
		store_anchor_list_free(&list, a.rows.n_rows);
	}
	store_rows_clear(&a.rows);
	return st;
}

void store_anchor_list_free(struct store_anchor **anchors, size_t n)
{
	if (anchors == NULL || *anchors == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free((*anchors)[i].subject);
		free((*anchors)[i].der);
	}
	free(*anchors);
	*anchors = NULL;
}

enum smx_status store_anchor_remove(struct store *store,
				    const char *fingerprint)
{
	char fp[65];
	if (!store_fingerprint_normalize(fingerprint, fp))
		return SMX_NOTFOUND;
	struct store_value p = SV_TEXT(fp);
	struct store_one a = { sql_anchor_del, &p, 1, { 0 }, 0 };
	enum smx_status st = store_run_one(store, true, &a);
	store_rows_clear(&a.rows);
	return (st == SMX_OK && a.changes == 0) ? SMX_NOTFOUND : st;
}

/* --- directory cache --------------------------------------------------- */

static const char sql_cache_put[] =
	"INSERT INTO dir_cache (email, found, fetched, expires) "
	"VALUES ($1, $2, $3, $4) ON CONFLICT (email) DO UPDATE SET "
	"found = excluded.found, fetched = excluded.fetched, "
	"expires = excluded.expires";
static const char sql_cache_get[] =
	"SELECT found FROM dir_cache WHERE email = $1 AND expires > $2";
static const char sql_cache_purge[] = "DELETE FROM dir_cache WHERE expires <= $1";

enum smx_status store_dircache_put(struct store *store, const char *email,
				   bool found, time_t now, unsigned ttl)
{
	char *low = store_lower_dup(email);
	if (low == NULL)
		return SMX_TEMPFAIL;
	struct store_value p[4] = { SV_TEXT(low), SV_INT(found ? 1 : 0),
				    SV_INT((int64_t)now),
				    SV_INT((int64_t)now + ttl) };
	struct store_one a = { sql_cache_put, p, 4, { 0 }, 0 };
	enum smx_status st = store_run_one(store, true, &a);
	store_rows_clear(&a.rows);
	free(low);
	return st;
}

enum smx_status store_dircache_get(struct store *store, const char *email,
				   time_t now, bool *found_r)
{
	char *low = store_lower_dup(email);
	if (low == NULL)
		return SMX_TEMPFAIL;
	struct store_value p[2] = { SV_TEXT(low), SV_INT((int64_t)now) };
	struct store_one a = { sql_cache_get, p, 2, { 0 }, 0 };
	enum smx_status st = store_run_one(store, false, &a);
	if (st == SMX_OK && a.rows.n_rows == 0)
		st = SMX_NOTFOUND;
	if (st == SMX_OK)
		*found_r = store_rows_int(&a.rows, 0, 0) != 0;
	store_rows_clear(&a.rows);
	free(low);
	return st;
}

enum smx_status store_dircache_purge(struct store *store, time_t now,
				     size_t *n_r)
{
	struct store_value p = SV_INT((int64_t)now);
	struct store_one a = { sql_cache_purge, &p, 1, { 0 }, 0 };
	enum smx_status st = store_run_one(store, true, &a);
	if (n_r != NULL)
		*n_r = st == SMX_OK ? (size_t)a.changes : 0;
	store_rows_clear(&a.rows);
	return st;
}

/* --- harvest log and counters ------------------------------------------ */

static const char sql_harvest[] =
	"INSERT INTO harvest_log (logged_at, message_id, sender, fingerprint, "
	"created, header_from, trusted) VALUES ($1, $2, $3, $4, $5, $6, $7)";
static const char sql_counter[] =
	"INSERT INTO counters (name, value) VALUES ($1, $2) "
	"ON CONFLICT (name) DO UPDATE SET value = counters.value + "
	"excluded.value";

enum smx_status store_harvest_log(struct store *store,
				  const struct store_harvest_entry *e)
{
	char fp[65];
	char *sender = store_lower_dup(e->sender ? e->sender : "");
	char *from = e->header_from ? store_lower_dup(e->header_from) : NULL;
	enum smx_status st = SMX_PERMFAIL;
	if (sender == NULL || (e->header_from != NULL && from == NULL))
		st = SMX_TEMPFAIL;
	else if (store_fingerprint_normalize(e->fingerprint, fp)) {
		struct store_value p[7] = {
			SV_INT((int64_t)e->when),
			e->message_id ? SV_TEXT(e->message_id) : SV_NULL,
			SV_TEXT(sender), SV_TEXT(fp), SV_INT(e->created ? 1 : 0),
			from ? SV_TEXT(from) : SV_NULL,
			SV_INT(e->trusted ? 1 : 0) };
		struct store_one a = { sql_harvest, p, 7, { 0 }, 0 };
		st = store_run_one(store, true, &a);
		store_rows_clear(&a.rows);
	}
	free(sender);
	free(from);
	return st;
}

enum smx_status store_counter_add(struct store *store, const char *name,
				  int64_t delta)
{
	struct store_value p[2] = { SV_TEXT(name), SV_INT(delta) };
	struct store_one a = { sql_counter, p, 2, { 0 }, 0 };
	enum smx_status st = store_run_one(store, true, &a);
	store_rows_clear(&a.rows);
	return st;
}

/* --- statistics -------------------------------------------------------- */

struct stat_query {
	const char *name;
	const char *sql;
	int param;	/* -1: none, -2: now, else an integer */
};

static const char sql_n_certs[] = "SELECT COUNT(*) FROM certs";
static const char sql_n_source[] = "SELECT COUNT(*) FROM certs WHERE source = $1";
static const char sql_n_expired[] =
	"SELECT COUNT(*) FROM certs WHERE not_after < $1";
static const char sql_n_unverified[] =
	"SELECT COUNT(*) FROM certs WHERE trust = $1";
static const char sql_n_keys[] = "SELECT COUNT(*) FROM cert_keys";
static const char sql_n_anchors[] = "SELECT COUNT(*) FROM anchors";
static const char sql_n_cache_pos[] =
	"SELECT COUNT(*) FROM dir_cache WHERE found = 1 AND expires > $1";
static const char sql_n_cache_neg[] =
	"SELECT COUNT(*) FROM dir_cache WHERE found = 0 AND expires > $1";
static const char sql_n_harvest[] = "SELECT COUNT(*) FROM harvest_log";
static const char sql_counters[] =
	"SELECT name, value FROM counters ORDER BY name";

static const struct stat_query stat_queries[] = {
	{ "certificates", sql_n_certs, -1 },
	{ "certificates.imported", sql_n_source, STORE_SOURCE_IMPORTED },
	{ "certificates.harvested", sql_n_source, STORE_SOURCE_HARVESTED },
	{ "certificates.directory", sql_n_source, STORE_SOURCE_DIRECTORY },
	{ "certificates.issued", sql_n_source, STORE_SOURCE_ISSUED },
	{ "certificates.expired", sql_n_expired, -2 },
	{ "certificates.unverified", sql_n_unverified, STORE_TRUST_NONE },
	{ "private_keys", sql_n_keys, -1 },
	{ "trust_anchors", sql_n_anchors, -1 },
	{ "directory_cache.positive", sql_n_cache_pos, -2 },
	{ "directory_cache.negative", sql_n_cache_neg, -2 },
	{ "harvest_log", sql_n_harvest, -1 },
};
#define N_STAT_QUERIES (sizeof(stat_queries) / sizeof(stat_queries[0]))

struct stats_args {
	time_t now;
	int64_t values[N_STAT_QUERIES];
	struct store_rows counters;
};

static enum smx_status stats_txn(struct store *store, struct store_conn *c,
				 void *arg)
{
	struct stats_args *a = arg;
	enum smx_status st = SMX_OK;
	for (size_t i = 0; i < N_STAT_QUERIES && st == SMX_OK; i++) {
		const struct stat_query *q = &stat_queries[i];
		struct store_value p = SV_INT(q->param == -2 ? (int64_t)a->now
							     : q->param);
		struct store_rows rows = { 0 };
		st = store_exec(c, store, q->sql, &p, q->param == -1 ? 0 : 1,
				&rows, NULL);
		a->values[i] = store_rows_int(&rows, 0, 0);
		store_rows_clear(&rows);
	}
	store_rows_clear(&a->counters);
	if (st == SMX_OK)
		st = store_exec(c, store, sql_counters, NULL, 0, &a->counters,
				NULL);
	return st;
}

static int stat_set(struct store_stat *s, const char *prefix, const char *name,
		    int64_t value)
{
	size_t len = strlen(prefix) + strlen(name) + 1;
	s->name = malloc(len);
	if (s->name == NULL)
		return -1;
	snprintf(s->name, len, "%s%s", prefix, name);
	s->value = value;
	return 0;
}

enum smx_status store_stats(struct store *store, time_t now,
			    struct store_stat **stats_r, size_t *n_r)
{
	struct stats_args a = { .now = now };
	struct store_stat *stats = NULL;
	size_t n = 0;
	*stats_r = NULL;
	*n_r = 0;
	enum smx_status st = store_txn(store, false, stats_txn, &a);
	if (st != SMX_OK)
		goto done;
	stats = calloc(N_STAT_QUERIES + a.counters.n_rows, sizeof(*stats));
	if (stats == NULL) {
		st = SMX_TEMPFAIL;
		goto done;
	}
	for (size_t i = 0; i < N_STAT_QUERIES && st == SMX_OK; i++, n++)
		if (stat_set(&stats[n], "", stat_queries[i].name,
			     a.values[i]) != 0)
			st = SMX_TEMPFAIL;
	for (size_t i = 0; i < a.counters.n_rows && st == SMX_OK; i++, n++) {
		const char *name = store_rows_text(&a.counters, i, 0);
		if (stat_set(&stats[n], "counter.", name ? name : "?",
			     store_rows_int(&a.counters, i, 1)) != 0)
			st = SMX_TEMPFAIL;
	}
	if (st == SMX_OK) {
		*stats_r = stats;
		*n_r = n;
	} else {
		store_stats_free(&stats, n);
	}
done:
	store_rows_clear(&a.counters);
	return st;
}

void store_stats_free(struct store_stat **stats, size_t n)
{
	if (stats == NULL || *stats == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free((*stats)[i].name);
	free(*stats);
	*stats = NULL;
}
