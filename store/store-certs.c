/* SPDX-License-Identifier: BSD-2-Clause */
/* Certificate rows: insert-or-update, look-ups, removal, trust and
 * revocation flags. The metadata columns are written from the parsed
 * DER for administrators' SQL and for indexes; records read back are
 * parsed again from the DER, so there is one source of truth. */
#include "store-private.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <smx/log.h>

#define CERT_COLUMNS \
	"c.der, c.source, c.trust, c.revoked, c.first_seen, c.last_seen, " \
	"c.smime_caps, (SELECT COUNT(*) FROM cert_keys k " \
	"WHERE k.fingerprint = c.fingerprint), " \
	"(SELECT COUNT(*) FROM cert_keys k " \
	"WHERE k.fingerprint = c.fingerprint AND k.token_uri IS NOT NULL)"

static const char sql_insert[] =
	"INSERT INTO certs (fingerprint, der, subject, issuer, serial, "
	"not_before, not_after, key_usage, eku, key_type, is_ca, source, trust, "
	"revoked, first_seen, last_seen, smime_caps) VALUES ($1, $2, $3, $4, "
	"$5, $6, $7, $8, $9, $10, $11, $12, $13, 0, $14, $14, $15) "
	"ON CONFLICT (fingerprint) DO NOTHING";
static const char sql_update_seen[] =
	"UPDATE certs SET last_seen = $2, "
	"trust = CASE WHEN trust < $3 THEN $3 ELSE trust END, "
	"smime_caps = COALESCE($4, smime_caps) WHERE fingerprint = $1";
/* Capabilities with a signing time replace those recorded without one
 * or with an older one; without a time they only fill a gap. */
static const char sql_caps_dated[] =
	"UPDATE certs SET smime_caps = $2, caps_signed_at = $3 "
	"WHERE fingerprint = $1 AND (smime_caps IS NULL OR "
	"caps_signed_at IS NULL OR caps_signed_at < $3)";
static const char sql_caps_undated[] =
	"UPDATE certs SET smime_caps = $2 "
	"WHERE fingerprint = $1 AND smime_caps IS NULL";
static const char sql_email_add[] =
	"INSERT INTO cert_emails (email, fingerprint) VALUES ($1, $2) "
	"ON CONFLICT (email, fingerprint) DO NOTHING";
static const char sql_get[] =
	"SELECT " CERT_COLUMNS " FROM certs c WHERE c.fingerprint = $1";
static const char sql_list_email[] =
	"SELECT " CERT_COLUMNS " FROM certs c JOIN cert_emails e "
	"ON e.fingerprint = c.fingerprint WHERE e.email = $1 "
	"ORDER BY c.not_before DESC, c.first_seen DESC, c.fingerprint";
static const char sql_list_all[] =
	"SELECT " CERT_COLUMNS " FROM certs c "
	"ORDER BY c.not_before DESC, c.first_seen DESC, c.fingerprint";
/* Newest first, so that of two certificates of one CA (renewed, same
 * name and key) a chain builder meets the current one first. */
static const char sql_list_ca[] =
	"SELECT " CERT_COLUMNS " FROM certs c WHERE c.is_ca = 1 "
	"ORDER BY c.not_before DESC, c.first_seen DESC, c.fingerprint";
static const char sql_del_emails[] =
	"DELETE FROM cert_emails WHERE fingerprint = $1";
static const char sql_del_key[] = "DELETE FROM cert_keys WHERE fingerprint = $1";
static const char sql_del_pref[] =
	"DELETE FROM enc_preferences WHERE fingerprint = $1";
static const char sql_del_cert[] = "DELETE FROM certs WHERE fingerprint = $1";
static const char sql_set_trust[] =
	"UPDATE certs SET trust = $2 WHERE fingerprint = $1";
static const char sql_set_revoked[] =
	"UPDATE certs SET revoked = $2 WHERE fingerprint = $1";

struct put_args {
	const struct store_cert *cert;
	const char *file_as;	/* the one address to file it under, or
				 * NULL: every SAN address */
	enum store_source source;
	enum store_trust trust;
	const unsigned char *caps;
	size_t caps_len;
	bool created;
};

static enum smx_status put_txn(struct store *store, struct store_conn *c,
			       void *arg)
{
	struct put_args *a = arg;
	const struct store_cert *x = a->cert;
	int64_t now = (int64_t)time(NULL), changes = 0;
	struct store_value p[15] = {
		SV_TEXT(x->fingerprint), SV_BLOB(x->der, x->der_len),
		SV_TEXT(x->subject), SV_TEXT(x->issuer), SV_TEXT(x->serial),
		SV_INT(x->not_before), SV_INT(x->not_after),
		SV_INT(x->key_usage), SV_INT(x->eku), SV_TEXT(x->key_type),
		SV_INT(x->is_ca), SV_INT(a->source), SV_INT(a->trust),
		SV_INT(now), SV_BLOB(a->caps, a->caps_len),
	};
	enum smx_status st = store_exec(c, store, sql_insert, p, 15, NULL,
					&changes);
	if (st != SMX_OK)
		return st;
	a->created = changes > 0;
	if (!a->created) {
		struct store_value u[4] = { p[0], SV_INT(now), SV_INT(a->trust),
					    SV_BLOB(a->caps, a->caps_len) };
		st = store_exec(c, store, sql_update_seen, u, 4, NULL, NULL);
	}
	for (size_t i = 0; st == SMX_OK && i < x->n_emails; i++) {
		if (a->file_as != NULL && strcmp(a->file_as, x->emails[i]) != 0)
			continue;
		struct store_value e[2] = { SV_TEXT(x->emails[i]), p[0] };
		st = store_exec(c, store, sql_email_add, e, 2, NULL, NULL);
	}
	return st;
}

/* Puts the certificate, filed under file_as (lower-case, one of its SAN
 * addresses) or, when NULL, under every SAN address. */
static enum smx_status put(struct store *store, const char *file_as,
			   const unsigned char *der, size_t len,
			   enum store_source source, enum store_trust trust,
			   const unsigned char *smime_caps, size_t caps_len,
			   char *fingerprint_r, bool *created_r)
{
	struct store_cert *cert = NULL;
	if (created_r != NULL)
		*created_r = false;
	enum smx_status st = store_cert_parse(der, len, &cert);
	if (st != SMX_OK) {
		smx_log(LOG_ERR, "store: refusing %zu bytes that are not an "
			"X.509 certificate", len);
		return st;
	}
	if (file_as != NULL && !store_cert_has_email(cert, file_as)) {
		smx_log(LOG_WARNING, "store: not filing certificate %s under "
			"<%s>: it is not issued to that address",
			cert->fingerprint, file_as);
		store_cert_free(&cert);
		return SMX_PERMFAIL;
	}
	struct put_args a = { cert, file_as, source, trust, smime_caps,
			      caps_len, false };
	st = store_txn(store, true, put_txn, &a);
	if (st == SMX_OK && fingerprint_r != NULL)
		memcpy(fingerprint_r, cert->fingerprint, 65);
	if (created_r != NULL)
		*created_r = st == SMX_OK && a.created;
	store_cert_free(&cert);
	return st;
}

enum smx_status store_cert_put(struct store *store, const unsigned char *der,
			       size_t len, enum store_source source,
			       enum store_trust trust,
			       const unsigned char *smime_caps, size_t caps_len,
			       char *fingerprint_r, bool *created_r)
{
	return put(store, NULL, der, len, source, trust, smime_caps, caps_len,
		   fingerprint_r, created_r);
}

enum smx_status store_cert_put_for(struct store *store, const char *email,
				   const unsigned char *der, size_t len,
				   enum store_source source,
				   enum store_trust trust,
				   const unsigned char *smime_caps,
				   size_t caps_len, char *fingerprint_r,
				   bool *created_r)
{
	char *low = email != NULL ? store_lower_dup(email) : NULL;
	if (low == NULL) {
		if (created_r != NULL)
			*created_r = false;
		return email == NULL ? SMX_PERMFAIL : SMX_TEMPFAIL;
	}
	enum smx_status st = put(store, low, der, len, source, trust,
				 smime_caps, caps_len, fingerprint_r,
				 created_r);
	free(low);
	return st;
}

struct caps_args {
	struct store_value v[3];
	bool dated;
};

static enum smx_status caps_txn(struct store *store, struct store_conn *c,
				void *arg)
{
	struct caps_args *a = arg;
	return store_exec(c, store, a->dated ? sql_caps_dated : sql_caps_undated,
			  a->v, a->dated ? 3 : 2, NULL, NULL);
}

enum smx_status store_cert_caps_seen(struct store *store,
				     const char *fingerprint,
				     const unsigned char *smime_caps,
				     size_t caps_len, int64_t signed_at)
{
	if (fingerprint == NULL || smime_caps == NULL || caps_len == 0)
		return SMX_OK;
	struct caps_args a = { { SV_TEXT(fingerprint),
				 SV_BLOB(smime_caps, caps_len),
				 SV_INT(signed_at) }, signed_at >= 0 };
	return store_txn(store, true, caps_txn, &a);
}

/* Builds a record from one row of CERT_COLUMNS. */
static struct store_cert *record_of(const struct store_rows *r, size_t row)
{
	size_t len = 0, caps_len = 0;
	const unsigned char *der = store_rows_blob(r, row, 0, &len);
	struct store_cert *c = NULL;
	if (der == NULL || store_cert_parse(der, len, &c) != SMX_OK) {
		smx_log(LOG_ERR, "store: a stored certificate does not parse");
		return NULL;
	}
	c->source = (enum store_source)store_rows_int(r, row, 1);
	c->trust = (enum store_trust)store_rows_int(r, row, 2);
	c->revoked = store_rows_int(r, row, 3) != 0;
	c->first_seen = store_rows_int(r, row, 4);
	c->last_seen = store_rows_int(r, row, 5);
	const unsigned char *caps = store_rows_blob(r, row, 6, &caps_len);
	if (caps != NULL && caps_len > 0 &&
	    (c->smime_caps = malloc(caps_len)) != NULL) {
		memcpy(c->smime_caps, caps, caps_len);
		c->smime_caps_len = caps_len;
	}
	c->has_key = store_rows_int(r, row, 7) > 0;
	c->key_in_token = store_rows_int(r, row, 8) > 0;
	return c;
}

struct list_args {
	const char *key;	/* fingerprint or email, or NULL */
	const char *sql;
	struct store_rows rows;
};

static enum smx_status list_txn(struct store *store, struct store_conn *c,
				void *arg)
{
	struct list_args *a = arg;
	struct store_value p = a->key ? SV_TEXT(a->key) : SV_NULL;
	store_rows_clear(&a->rows);
	return store_exec(c, store, a->sql, &p, a->key ? 1 : 0, &a->rows, NULL);
}

enum smx_status store_cert_get(struct store *store, const char *fingerprint,
			       struct store_cert **cert_r)
{
	char fp[65];
	*cert_r = NULL;
	if (!store_fingerprint_normalize(fingerprint, fp))
		return SMX_NOTFOUND;
	struct list_args a = { .key = fp, .sql = sql_get };
	enum smx_status st = store_txn(store, false, list_txn, &a);
	if (st == SMX_OK && a.rows.n_rows == 0)
		st = SMX_NOTFOUND;
	if (st == SMX_OK && (*cert_r = record_of(&a.rows, 0)) == NULL)
		st = SMX_TEMPFAIL;
	store_rows_clear(&a.rows);
	return st;
}

/* Runs the listing query sql (with key as its parameter, or none) and
 * hands out the records that parse. */
static enum smx_status list_records(struct store *store, const char *sql,
				    const char *key,
				    struct store_cert ***certs_r, size_t *n_r)
{
	struct list_args a = { .key = key, .sql = sql };
	struct store_cert **certs = NULL;
	size_t n = 0;
	*certs_r = NULL;
	*n_r = 0;
	enum smx_status st = store_txn(store, false, list_txn, &a);
	if (st != SMX_OK)
		goto done;
	certs = calloc(a.rows.n_rows + 1, sizeof(*certs));
	if (certs == NULL) {
		st = SMX_TEMPFAIL;
		goto done;
	}
	for (size_t i = 0; i < a.rows.n_rows; i++) {
		if ((certs[n] = record_of(&a.rows, i)) != NULL)
			n++;
	}
	*certs_r = certs;
	*n_r = n;
done:
	store_rows_clear(&a.rows);
	return st;
}

enum smx_status store_cert_list(struct store *store, const char *email,
				struct store_cert ***certs_r, size_t *n_r)
{
	if (email == NULL)
		return list_records(store, sql_list_all, NULL, certs_r, n_r);
	char *low = store_lower_dup(email);
	if (low == NULL) {
		*certs_r = NULL;
		*n_r = 0;
		return SMX_TEMPFAIL;
	}
	enum smx_status st = list_records(store, sql_list_email, low, certs_r,
					  n_r);
	free(low);
	return st;
}

enum smx_status store_cert_list_ca(struct store *store,
				   struct store_cert ***certs_r, size_t *n_r)
{
	return list_records(store, sql_list_ca, NULL, certs_r, n_r);
}

static enum smx_status remove_txn(struct store *store, struct store_conn *c,
				  void *arg)
{
	static const char *const sqls[] = { sql_del_emails, sql_del_key,
					    sql_del_pref };
	struct store_value p = SV_TEXT((const char *)arg);
	int64_t changes = 0;
	enum smx_status st = SMX_OK;
	for (size_t i = 0; i < 3 && st == SMX_OK; i++)
		st = store_exec(c, store, sqls[i], &p, 1, NULL, NULL);
	if (st == SMX_OK)
		st = store_exec(c, store, sql_del_cert, &p, 1, NULL, &changes);
	return (st == SMX_OK && changes == 0) ? SMX_NOTFOUND : st;
}

enum smx_status store_cert_remove(struct store *store, const char *fingerprint)
{
	char fp[65];
	if (!store_fingerprint_normalize(fingerprint, fp))
		return SMX_NOTFOUND;
	return store_txn(store, true, remove_txn, fp);
}

struct flag_args {
	const char *sql;
	const char *fp;
	int64_t value;
};

static enum smx_status flag_txn(struct store *store, struct store_conn *c,
				void *arg)
{
	struct flag_args *a = arg;
	struct store_value p[2] = { SV_TEXT(a->fp), SV_INT(a->value) };
	int64_t changes = 0;
	enum smx_status st = store_exec(c, store, a->sql, p, 2, NULL, &changes);
	return (st == SMX_OK && changes == 0) ? SMX_NOTFOUND : st;
}

static enum smx_status set_flag(struct store *store, const char *sql,
				const char *fingerprint, int64_t value)
{
	char fp[65];
	if (!store_fingerprint_normalize(fingerprint, fp))
		return SMX_NOTFOUND;
	struct flag_args a = { sql, fp, value };
	return store_txn(store, true, flag_txn, &a);
}

enum smx_status store_cert_set_trust(struct store *store,
				     const char *fingerprint,
				     enum store_trust trust)
{
	return set_flag(store, sql_set_trust, fingerprint, trust);
}

enum smx_status store_cert_set_revoked(struct store *store,
				       const char *fingerprint, bool revoked)
{
	return set_flag(store, sql_set_revoked, fingerprint, revoked ? 1 : 0);
}
