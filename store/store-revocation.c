/* SPDX-License-Identifier: BSD-2-Clause */
/* Revocation statuses learned by OCSP or CRL, kept in the store so that
 * every host sharing it reuses them (and the network is asked once per
 * certificate and period, not once per host). */
#include "store-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char sql_put[] =
	"INSERT INTO revocation_status (fingerprint, status, source, detail, "
	"checked_at, next_update, valid_until, unknown_logged) "
	"VALUES ($1, $2, $3, $4, $5, $6, $7, 0) ON CONFLICT (fingerprint) "
	"DO UPDATE SET status = excluded.status, source = excluded.source, "
	"detail = excluded.detail, checked_at = excluded.checked_at, "
	"next_update = excluded.next_update, "
	"valid_until = excluded.valid_until, unknown_logged = CASE WHEN "
	"revocation_status.status = excluded.status THEN "
	"revocation_status.unknown_logged ELSE 0 END";
static const char sql_mark_revoked[] =
	"UPDATE certs SET revoked = 1 WHERE fingerprint = $1";
static const char sql_get[] =
	"SELECT status, source, detail, checked_at, next_update, valid_until, "
	"unknown_logged FROM revocation_status WHERE fingerprint = $1";
static const char sql_mark_logged[] =
	"UPDATE revocation_status SET unknown_logged = 1 "
	"WHERE fingerprint = $1 AND status = 2 AND unknown_logged = 0";
static const char sql_purge[] =
	"DELETE FROM revocation_status WHERE valid_until < $1";
static const char sql_expiring[] =
	"SELECT fingerprint FROM revocation_status WHERE valid_until < $1 "
	"AND status <> 1 ORDER BY valid_until LIMIT $2";

struct put_args {
	const struct store_revstatus *s;
	const char *fp;
};

static enum smx_status put_txn(struct store *store, struct store_conn *c,
			       void *arg)
{
	struct put_args *a = arg;
	const struct store_revstatus *s = a->s;
	struct store_value p[7] = {
		SV_TEXT(a->fp), SV_INT((int64_t)s->status), SV_TEXT(s->source),
		SV_TEXT(s->detail), SV_INT(s->checked_at),
		SV_INT(s->next_update), SV_INT(s->valid_until),
	};
	enum smx_status st = store_exec(c, store, sql_put, p, 7, NULL, NULL);
	if (st == SMX_OK && s->status == STORE_REVSTATUS_REVOKED)
		st = store_exec(c, store, sql_mark_revoked, p, 1, NULL, NULL);
	return st;
}

enum smx_status store_revstatus_put(struct store *store,
				    const struct store_revstatus *s)
{
	char fp[65];
	if (!store_fingerprint_normalize(s->fingerprint, fp))
		return SMX_PERMFAIL;
	struct put_args a = { s, fp };
	return store_txn(store, true, put_txn, &a);
}

static void copy_text(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src != NULL ? src : "");
}

enum smx_status store_revstatus_get(struct store *store,
				    const char *fingerprint,
				    struct store_revstatus *s_r)
{
	char fp[65];
	memset(s_r, 0, sizeof(*s_r));
	if (!store_fingerprint_normalize(fingerprint, fp))
		return SMX_NOTFOUND;
	struct store_value p = SV_TEXT(fp);
	struct store_one q = { sql_get, &p, 1, { 0 }, 0 };
	enum smx_status st = store_run_one(store, false, &q);
	if (st == SMX_OK && q.rows.n_rows == 0)
		st = SMX_NOTFOUND;
	if (st == SMX_OK) {
		int64_t v = store_rows_int(&q.rows, 0, 0);
		memcpy(s_r->fingerprint, fp, sizeof(fp));
		s_r->status = v == STORE_REVSTATUS_GOOD ? STORE_REVSTATUS_GOOD
			      : v == STORE_REVSTATUS_REVOKED
				      ? STORE_REVSTATUS_REVOKED
				      : STORE_REVSTATUS_UNKNOWN;
		copy_text(s_r->source, sizeof(s_r->source),
			  store_rows_text(&q.rows, 0, 1));
		copy_text(s_r->detail, sizeof(s_r->detail),
			  store_rows_text(&q.rows, 0, 2));
		s_r->checked_at = store_rows_int(&q.rows, 0, 3);
		s_r->next_update = store_rows_int(&q.rows, 0, 4);
		s_r->valid_until = store_rows_int(&q.rows, 0, 5);
		s_r->unknown_logged = store_rows_int(&q.rows, 0, 6) != 0;
	}
	store_rows_clear(&q.rows);
	return st;
}

enum smx_status store_revstatus_mark_logged(struct store *store,
					    const char *fingerprint,
					    bool *first_r)
{
	char fp[65];
	*first_r = false;
	if (!store_fingerprint_normalize(fingerprint, fp))
		return SMX_NOTFOUND;
	struct store_value p = SV_TEXT(fp);
	struct store_one q = { sql_mark_logged, &p, 1, { 0 }, 0 };
	enum smx_status st = store_run_one(store, true, &q);
	store_rows_clear(&q.rows);
	if (st == SMX_OK)
		*first_r = q.changes == 1;
	return st;
}

enum smx_status store_revstatus_expiring(struct store *store, int64_t until,
					 size_t max, char (**fps_r)[65],
					 size_t *n_r)
{
	*fps_r = NULL;
	*n_r = 0;
	struct store_value p[2] = { SV_INT(until), SV_INT((int64_t)max) };
	struct store_one q = { sql_expiring, p, 2, { 0 }, 0 };
	enum smx_status st = store_run_one(store, false, &q);
	if (st == SMX_OK && q.rows.n_rows > 0) {
		*fps_r = calloc(q.rows.n_rows, sizeof(**fps_r));
		if (*fps_r == NULL)
			st = SMX_TEMPFAIL;
		for (size_t i = 0; *fps_r != NULL && i < q.rows.n_rows; i++)
			copy_text((*fps_r)[(*n_r)++], 65,
				  store_rows_text(&q.rows, i, 0));
	}
	store_rows_clear(&q.rows);
	return st;
}

enum smx_status store_revstatus_purge(struct store *store, int64_t before,
				      size_t *n_r)
{
	struct store_value p = SV_INT(before);
	struct store_one q = { sql_purge, &p, 1, { 0 }, 0 };
	enum smx_status st = store_run_one(store, true, &q);
	store_rows_clear(&q.rows);
	if (n_r != NULL)
		*n_r = st == SMX_OK ? (size_t)q.changes : 0;
	return st;
}
