/* SPDX-License-Identifier: BSD-2-Clause */
/* The store contract: every operation of smx/store.h, run the same way
 * against each backend (registered as store_contract_sqlite and
 * store_contract_pgsql). */
#include "contract.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <smx/log.h>

struct certgen_ca *contract_ca;

void contract_issue(const char *email, const struct certgen_opts *opts,
		    struct issued *out)
{
	struct certgen_opts o = { .email = email, .key_usage = "default",
				  .eku = "emailProtection", .from_days = -1,
				  .to_days = 365 };
	static long serial = 100;
	if (opts != NULL) {
		o = *opts;
		o.email = email;
	}
	o.serial = serial++;
	memset(out, 0, sizeof(*out));
	assert_int_equal(certgen_issue(contract_ca, &o, &out->der,
				       &out->der_len, &out->key,
				       &out->key_len), 0);
	certgen_fingerprint(out->der, out->der_len, out->fp);
}

void contract_issued_free(struct issued *i)
{
	free(i->der);
	free(i->key);
	memset(i, 0, sizeof(*i));
}

int contract_setup(void **state)
{
	harness_reset();
	struct store *store = harness_open();
	if (store == NULL)
		return -1;
	*state = store;
	return 0;
}

int contract_teardown(void **state)
{
	struct store *store = *state;
	store_close(&store);
	return 0;
}

/* --- schema ------------------------------------------------------------ */

/* Takes the store back before version 6 (keys in a PKCS#11 token), so
 * that a test that sets an older version can run the migrations again. */
static void forget_token_uri(void)
{
	assert_int_equal(harness_sql(
		"ALTER TABLE cert_keys DROP COLUMN token_uri"), 0);
}

static void open_creates_schema_and_reopens(void **state)
{
	struct store *store = *state;
	assert_int_equal(store_schema_version(store), store_schema_latest());
	assert_string_equal(store_backend_name(store), harness_backend());
	assert_int_equal(store_key_status(store), SMX_OK);
	struct store *again = harness_open();
	assert_non_null(again);
	assert_int_equal(store_schema_version(again), store_schema_latest());
	store_close(&again);
	assert_null(again);
}

static void newer_schema_is_refused(void **state)
{
	(void)state;
	assert_int_equal(harness_sql("UPDATE store_schema SET version = 999"), 0);
	struct cfg *cfg = harness_cfg(NULL, 2);
	enum smx_status st = SMX_OK;
	struct store *store = store_open(&cfg->store_settings, 0, &st);
	assert_null(store);
	assert_int_equal(st, SMX_CONFIG);
	cfg_unref(&cfg);
}

/* A version 1 database (before the harvest log's header_from and
 * trusted columns) is upgraded on open, keeping its rows. */
static void version_1_is_migrated(void **state)
{
	struct store *store = *state;
	struct issued a;
	contract_issue("mig@partner.example", NULL, &a);
	assert_int_equal(store_cert_put(store, a.der, a.der_len,
					STORE_SOURCE_IMPORTED, 1, NULL, 0,
					NULL, NULL), SMX_OK);
	assert_int_equal(harness_sql(
		"ALTER TABLE harvest_log DROP COLUMN header_from"), 0);
	assert_int_equal(harness_sql(
		"ALTER TABLE harvest_log DROP COLUMN trusted"), 0);
	assert_int_equal(harness_sql(
		"ALTER TABLE certs DROP COLUMN caps_signed_at"), 0);
	forget_token_uri();
	assert_int_equal(harness_sql("UPDATE store_schema SET version = 1"), 0);
	struct store *again = harness_open();
	assert_non_null(again);
	assert_int_equal(store_schema_version(again), store_schema_latest());
	struct store_harvest_entry e = { time(NULL), "<mig@x>",
		"mig@partner.example", "mig@partner.example", a.fp, true, false };
	assert_int_equal(store_harvest_log(again, &e), SMX_OK);
	struct store_cert **certs = NULL;
	size_t n = 0;
	assert_int_equal(store_cert_list(again, "mig@partner.example", &certs,
					 &n), SMX_OK);
	assert_int_equal(n, 1);
	store_cert_list_free(&certs, n);
	store_close(&again);
	contract_issued_free(&a);
}

static size_t filed(struct store *store, const char *email)
{
	struct store_cert **certs = NULL;
	size_t n = 0;
	assert_int_equal(store_cert_list(store, email, &certs, &n), SMX_OK);
	store_cert_list_free(&certs, n);
	return n;
}

/* Upgrading a version 2 store: a harvested certificate stays filed only
 * under the From address its harvest log records, a directory one under
 * none (its cache entry is dropped, so the directory is asked again),
 * an imported one under its SAN addresses as before. */
static void version_2_drops_unvalidated_filing(void **state)
{
	struct store *store = *state;
	struct certgen_opts two = { .key_usage = "default",
				    .eku = "emailProtection", .from_days = -1,
				    .to_days = 30, .email2 = "h2@partner.example" };
	struct issued h, d, i;
	contract_issue("h1@partner.example", &two, &h);
	two.email2 = "i2@partner.example";
	contract_issue("i1@partner.example", &two, &i);
	contract_issue("d@partner.example", NULL, &d);
	assert_int_equal(store_cert_put(store, h.der, h.der_len,
					STORE_SOURCE_HARVESTED, 1, NULL, 0,
					NULL, NULL), SMX_OK);
	assert_int_equal(store_cert_put(store, d.der, d.der_len,
					STORE_SOURCE_DIRECTORY, 1, NULL, 0,
					NULL, NULL), SMX_OK);
	assert_int_equal(store_cert_put(store, i.der, i.der_len,
					STORE_SOURCE_IMPORTED, 1, NULL, 0,
					NULL, NULL), SMX_OK);
	time_t now = time(NULL);
	struct store_harvest_entry e = { now, "<m@x>", "bounce@partner.example",
		"H1@partner.example", h.fp, true, true };
	assert_int_equal(store_harvest_log(store, &e), SMX_OK);
	assert_int_equal(store_dircache_put(store, "d@partner.example", true,
					    now, 3600), SMX_OK);
	assert_int_equal(filed(store, "h2@partner.example"), 1);
	assert_int_equal(harness_sql(
		"ALTER TABLE certs DROP COLUMN caps_signed_at"), 0);
	forget_token_uri();
	assert_int_equal(harness_sql("UPDATE store_schema SET version = 2"), 0);
	struct store *again = harness_open();
	assert_non_null(again);
	assert_int_equal(store_schema_version(again), store_schema_latest());
	assert_int_equal(filed(again, "h1@partner.example"), 1);
	assert_int_equal(filed(again, "h2@partner.example"), 0);
	assert_int_equal(filed(again, "d@partner.example"), 0);
	assert_int_equal(filed(again, "i1@partner.example"), 1);
	assert_int_equal(filed(again, "i2@partner.example"), 1);
	bool found = false;
	assert_int_equal(store_dircache_get(again, "d@partner.example", now,
					    &found), SMX_NOTFOUND);
	store_close(&again);
	contract_issued_free(&h);
	contract_issued_free(&d);
	contract_issued_free(&i);
}

/* An unreachable PostgreSQL is "try again later"; a SQLite file that
 * cannot be created is a configuration error. */
static int health_down, health_up;

static void count_health(bool up)
{
	if (up)
		health_up++;
	else
		health_down++;
}

static void unreachable_database_is_not_notfound(void **state)
{
	(void)state;
	const char *file = harness_path(1, "broken.conf");
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fprintf(f, "milter: { internal_domains = [ \"example.com\" ]; };\n");
	if (harness_is_pgsql())
		fprintf(f, "store: { backend = \"postgresql\"; conninfo = "
			"\"host=127.0.0.1 port=1 connect_timeout=2\"; };\n");
	else
		fprintf(f, "store: { path = \"/nonexistent/dir/store.db\"; };\n");
	fclose(f);
	struct cfg_errors errors = { 0 };
	struct cfg *cfg = cfg_load(file, &errors);
	cfg_errors_free(&errors);
	assert_non_null(cfg);
	enum smx_status st = SMX_OK;
	health_down = health_up = 0;
	store_set_health_hook(count_health);
	/* the milter opens again and again while the server is away: the
	 * outage is reported once (and logged once), not per attempt */
	for (int i = 0; i < 3; i++) {
		assert_null(store_open(&cfg->store_settings, 0, &st));
		assert_int_equal(st, harness_is_pgsql() ? SMX_TEMPFAIL
							: SMX_CONFIG);
	}
	store_set_health_hook(NULL);
	assert_int_equal(health_down, harness_is_pgsql() ? 1 : 0);
	assert_int_equal(health_up, 0);
	cfg_unref(&cfg);
}

/* A store that could not be opened because its database was away is
 * opened by the next attempt once the database is there, however soon:
 * the caller paces its retries (the milter every 30 s), so an attempt
 * answered without trying would cost a whole interval. Here the database
 * is away by not existing yet; it is created right after the failure. */
static void reopen_reaches_a_database_back_at_once(void **state)
{
	(void)state;
	if (!harness_is_pgsql())
		skip();	/* a SQLite file has no outages */
	char name[64], sql[128], conninfo[1400];
	snprintf(name, sizeof(name), "smx_reopen_%ld", (long)getpid());
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", name);
	assert_int_equal(harness_sql(sql), 0);
	struct cfg *cfg = harness_cfg(NULL, 2);
	assert_non_null(cfg);
	struct store_settings settings = cfg->store_settings;
	snprintf(conninfo, sizeof(conninfo), "%s dbname=%s", settings.conninfo,
		 name);
	settings.conninfo = conninfo;
	enum smx_status st = SMX_OK;
	health_down = health_up = 0;
	store_set_health_hook(count_health);
	assert_null(store_open(&settings, STORE_OPEN_NO_KEY, &st));
	assert_int_equal(st, SMX_TEMPFAIL);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	assert_int_equal(harness_sql(sql), 0);
	struct store *store = store_open(&settings, STORE_OPEN_NO_KEY, &st);
	store_set_health_hook(NULL);
	assert_int_equal(st, SMX_OK);
	assert_non_null(store);
	assert_int_equal(health_down, 1);
	assert_int_equal(health_up, 1);
	store_close(&store);
	snprintf(sql, sizeof(sql), "DROP DATABASE %s", name);
	assert_int_equal(harness_sql(sql), 0);
	cfg_unref(&cfg);
}

/* --- certificates ------------------------------------------------------ */

/* The capabilities recorded for fp are want (NULL: none). */
static void caps_are(struct store *store, const char *fp,
		     const unsigned char *want, size_t want_len)
{
	struct store_cert *c = NULL;
	assert_int_equal(store_cert_get(store, fp, &c), SMX_OK);
	if (want == NULL) {
		assert_null(c->smime_caps);
	} else {
		assert_int_equal(c->smime_caps_len, want_len);
		assert_memory_equal(c->smime_caps, want, want_len);
	}
	store_cert_free(&c);
}

static const unsigned char caps_gcm[] = { 0x30, 0x02, 0x05, 0x00 };
static const unsigned char caps_cbc[] = { 0x30, 0x00 };
static const unsigned char caps_new[] = { 0x30, 0x03, 0x04, 0x01, 0x01 };

/* Capabilities are replaced only by those of a newer signature: a
 * replayed older message (or one without a signing time) cannot bring
 * back weaker algorithms; an undated one fills a gap. */
static void caps_only_newer_signatures_replace_them(void **state)
{
	struct store *store = *state;
	struct issued a, b;
	contract_issue("caps@partner.example", NULL, &a);
	contract_issue("gap@partner.example", NULL, &b);
	char fp[65], fp2[65];
	assert_int_equal(store_cert_put_for(store, "caps@partner.example",
					    a.der, a.der_len,
					    STORE_SOURCE_HARVESTED, 1, NULL, 0,
					    fp, NULL), SMX_OK);
	caps_are(store, fp, NULL, 0);
	assert_int_equal(store_cert_caps_seen(store, fp, caps_gcm,
					      sizeof(caps_gcm), 2000000000),
			 SMX_OK);
	caps_are(store, fp, caps_gcm, sizeof(caps_gcm));
	assert_int_equal(store_cert_caps_seen(store, fp, caps_cbc,
					      sizeof(caps_cbc), 1500000000),
			 SMX_OK);
	assert_int_equal(store_cert_caps_seen(store, fp, caps_cbc,
					      sizeof(caps_cbc), 2000000000),
			 SMX_OK);
	assert_int_equal(store_cert_caps_seen(store, fp, caps_cbc,
					      sizeof(caps_cbc), -1), SMX_OK);
	caps_are(store, fp, caps_gcm, sizeof(caps_gcm));
	/* a later sighting without capabilities keeps them */
	assert_int_equal(store_cert_put_for(store, "caps@partner.example",
					    a.der, a.der_len,
					    STORE_SOURCE_HARVESTED, 1, NULL, 0,
					    NULL, NULL), SMX_OK);
	caps_are(store, fp, caps_gcm, sizeof(caps_gcm));
	assert_int_equal(store_cert_caps_seen(store, fp, caps_new,
					      sizeof(caps_new), 2000000001),
			 SMX_OK);
	caps_are(store, fp, caps_new, sizeof(caps_new));

	assert_int_equal(store_cert_put_for(store, "gap@partner.example",
					    b.der, b.der_len,
					    STORE_SOURCE_HARVESTED, 1, NULL, 0,
					    fp2, NULL), SMX_OK);
	assert_int_equal(store_cert_caps_seen(store, fp2, caps_cbc,
					      sizeof(caps_cbc), -1), SMX_OK);
	caps_are(store, fp2, caps_cbc, sizeof(caps_cbc));
	assert_int_equal(store_cert_caps_seen(store, fp2, caps_gcm,
					      sizeof(caps_gcm), -1), SMX_OK);
	caps_are(store, fp2, caps_cbc, sizeof(caps_cbc));
	assert_int_equal(store_cert_caps_seen(store, fp2, caps_gcm,
					      sizeof(caps_gcm), 1000), SMX_OK);
	caps_are(store, fp2, caps_gcm, sizeof(caps_gcm));
	contract_issued_free(&a);
	contract_issued_free(&b);
}

/* Upgrading a version 3 store: capabilities recorded before count as
 * signed at the certificate's last sighting, so an older message cannot
 * replace them and a newer one can. */
static void version_3_dates_recorded_capabilities(void **state)
{
	struct store *store = *state;
	struct issued a;
	contract_issue("v3caps@partner.example", NULL, &a);
	assert_int_equal(store_cert_put(store, a.der, a.der_len,
					STORE_SOURCE_HARVESTED, 1, caps_gcm,
					sizeof(caps_gcm), NULL, NULL), SMX_OK);
	assert_int_equal(harness_sql(
		"ALTER TABLE certs DROP COLUMN caps_signed_at"), 0);
	forget_token_uri();
	assert_int_equal(harness_sql("UPDATE store_schema SET version = 3"), 0);
	struct store *again = harness_open();
	assert_non_null(again);
	assert_int_equal(store_schema_version(again), store_schema_latest());
	int64_t now = (int64_t)time(NULL);
	assert_int_equal(store_cert_caps_seen(again, a.fp, caps_cbc,
					      sizeof(caps_cbc), now - 86400),
			 SMX_OK);
	caps_are(again, a.fp, caps_gcm, sizeof(caps_gcm));
	assert_int_equal(store_cert_caps_seen(again, a.fp, caps_new,
					      sizeof(caps_new), now + 60),
			 SMX_OK);
	caps_are(again, a.fp, caps_new, sizeof(caps_new));
	store_close(&again);
	contract_issued_free(&a);
}

static void put_parses_every_field(void **state)
{
	struct store *store = *state;
	struct issued a;
	struct certgen_opts o = { .rsa = true, .key_usage = "default",
				  .eku = "emailProtection,clientAuth",
				  .from_days = -2, .to_days = 30 };
	contract_issue("Alice@Example.COM", &o, &a);
	char fp[65];
	bool created = false;
	static const unsigned char caps[] = { 0x30, 0x00 };
	assert_int_equal(store_cert_put(store, a.der, a.der_len,
					STORE_SOURCE_HARVESTED,
					STORE_TRUST_CHAIN, caps, sizeof(caps),
					fp, &created), SMX_OK);
	assert_true(created);
	assert_string_equal(fp, a.fp);
	struct store_cert *c = NULL;
	assert_int_equal(store_cert_get(store, fp, &c), SMX_OK);
	assert_string_equal(c->fingerprint, a.fp);
	assert_int_equal(c->n_emails, 1);
	assert_string_equal(c->emails[0], "alice@example.com");
	assert_non_null(strstr(c->subject, "CN=Alice@Example.COM"));
	assert_non_null(strstr(c->issuer, "CN=Test CA"));
	assert_string_equal(c->serial, "64");	/* serial 100 */
	assert_string_equal(c->key_type, "rsa");
	assert_int_equal(c->key_usage, STORE_KU_DIGITAL_SIGNATURE |
					       STORE_KU_KEY_ENCIPHERMENT);
	assert_int_equal(c->eku, STORE_EKU_EMAIL | STORE_EKU_OTHER);
	assert_false(c->is_ca);
	assert_int_equal(c->source, STORE_SOURCE_HARVESTED);
	assert_int_equal(c->trust, STORE_TRUST_CHAIN);
	assert_false(c->revoked);
	assert_false(c->has_key);
	assert_true(c->not_after - c->not_before == 32 * 86400);
	assert_int_equal(c->smime_caps_len, sizeof(caps));
	assert_memory_equal(c->der, a.der, a.der_len);
	store_cert_free(&c);
	assert_null(c);
	contract_issued_free(&a);
}

static void put_is_idempotent_and_trust_only_rises(void **state)
{
	struct store *store = *state;
	struct issued a;
	contract_issue("bob@example.org", NULL, &a);
	bool created = true;
	assert_int_equal(store_cert_put(store, a.der, a.der_len,
					STORE_SOURCE_IMPORTED,
					STORE_TRUST_PINNED, NULL, 0, NULL,
					&created), SMX_OK);
	assert_true(created);
	struct store_cert *c1 = NULL, *c2 = NULL;
	assert_int_equal(store_cert_get(store, a.fp, &c1), SMX_OK);
	sleep(1);
	assert_int_equal(store_cert_put(store, a.der, a.der_len,
					STORE_SOURCE_HARVESTED,
					STORE_TRUST_NONE, NULL, 0, NULL,
					&created), SMX_OK);
	assert_false(created);
	assert_int_equal(store_cert_get(store, a.fp, &c2), SMX_OK);
	assert_int_equal(c2->first_seen, c1->first_seen);
	assert_true(c2->last_seen > c1->last_seen);
	assert_int_equal(c2->trust, STORE_TRUST_PINNED);
	assert_int_equal(c2->source, STORE_SOURCE_IMPORTED);
	struct store_cert **list = NULL;
	size_t n = 0;
	assert_int_equal(store_cert_list(store, NULL, &list, &n), SMX_OK);
	assert_int_equal(n, 1);
	store_cert_list_free(&list, n);
	store_cert_free(&c1);
	store_cert_free(&c2);
	contract_issued_free(&a);
}

static void put_refuses_garbage(void **state)
{
	static const unsigned char junk[] = "not a certificate";
	assert_int_equal(store_cert_put(*state, junk, sizeof(junk),
					STORE_SOURCE_IMPORTED, STORE_TRUST_NONE,
					NULL, 0, NULL, NULL), SMX_PERMFAIL);
}

static void list_by_address_ignores_case(void **state)
{
	struct store *store = *state;
	struct issued a, b;
	struct certgen_opts two = { .email2 = "Carol.Alias@Example.org",
				    .key_usage = "default",
				    .eku = "emailProtection", .to_days = 10 };
	contract_issue("carol@example.org", &two, &a);
	contract_issue("dave@example.org", NULL, &b);
	assert_int_equal(store_cert_put(store, a.der, a.der_len, 0, 1, NULL, 0,
					NULL, NULL), SMX_OK);
	assert_int_equal(store_cert_put(store, b.der, b.der_len, 0, 1, NULL, 0,
					NULL, NULL), SMX_OK);
	struct store_cert **list = NULL;
	size_t n = 0;
	assert_int_equal(store_cert_list(store, "CAROL.alias@example.ORG",
					 &list, &n), SMX_OK);
	assert_int_equal(n, 1);
	assert_string_equal(list[0]->fingerprint, a.fp);
	store_cert_list_free(&list, n);
	assert_int_equal(store_cert_list(store, "nobody@example.org", &list,
					 &n), SMX_OK);
	assert_int_equal(n, 0);
	store_cert_list_free(&list, n);
	assert_int_equal(store_cert_list(store, NULL, &list, &n), SMX_OK);
	assert_int_equal(n, 2);
	store_cert_list_free(&list, n);
	contract_issued_free(&a);
	contract_issued_free(&b);
}

/* Only certificates with basicConstraints cA, whatever their source,
 * trust or revocation flag, and whether or not they are filed. */
static void list_ca_lists_only_ca_certificates(void **state)
{
	struct store *store = *state;
	struct issued leaf;
	contract_issue("erin@example.org", NULL, &leaf);
	struct certgen_ca *other = certgen_ca_new("Other Test CA");
	assert_non_null(other);
	size_t ca_len = 0, other_len = 0;
	const unsigned char *ca = certgen_ca_der(contract_ca, &ca_len);
	const unsigned char *oca = certgen_ca_der(other, &other_len);
	char ca_fp[65], other_fp[65];
	certgen_fingerprint(ca, ca_len, ca_fp);
	certgen_fingerprint(oca, other_len, other_fp);
	struct store_cert **list = NULL;
	size_t n = 1;
	assert_int_equal(store_cert_list_ca(store, &list, &n), SMX_OK);
	assert_int_equal(n, 0);
	store_cert_list_free(&list, n);
	assert_int_equal(store_cert_put(store, leaf.der, leaf.der_len,
					STORE_SOURCE_IMPORTED,
					STORE_TRUST_PINNED, NULL, 0, NULL,
					NULL), SMX_OK);
	assert_int_equal(store_cert_put(store, ca, ca_len,
					STORE_SOURCE_IMPORTED, STORE_TRUST_NONE,
					NULL, 0, NULL, NULL), SMX_OK);
	assert_int_equal(store_cert_put(store, oca, other_len,
					STORE_SOURCE_HARVESTED,
					STORE_TRUST_NONE, NULL, 0, NULL, NULL),
			 SMX_OK);
	assert_int_equal(store_cert_set_revoked(store, other_fp, true), SMX_OK);
	/* an anchor is not a stored certificate */
	struct certgen_ca *anchor = certgen_ca_new("Anchor Only CA");
	assert_non_null(anchor);
	size_t anchor_len = 0;
	const unsigned char *adr = certgen_ca_der(anchor, &anchor_len);
	assert_int_equal(store_anchor_add(store, adr, anchor_len, NULL, NULL),
			 SMX_OK);
	assert_int_equal(store_cert_list_ca(store, &list, &n), SMX_OK);
	assert_int_equal(n, 2);
	bool seen_ca = false, seen_other = false;
	for (size_t i = 0; i < n; i++) {
		assert_true(list[i]->is_ca);
		seen_ca |= strcmp(list[i]->fingerprint, ca_fp) == 0;
		seen_other |= strcmp(list[i]->fingerprint, other_fp) == 0;
	}
	assert_true(seen_ca && seen_other);
	store_cert_list_free(&list, n);
	assert_null(list);
	/* removed like any other certificate */
	assert_int_equal(store_cert_remove(store, ca_fp), SMX_OK);
	assert_int_equal(store_cert_list_ca(store, &list, &n), SMX_OK);
	assert_int_equal(n, 1);
	assert_string_equal(list[0]->fingerprint, other_fp);
	assert_memory_equal(list[0]->der, oca, other_len);
	store_cert_list_free(&list, n);
	certgen_ca_free(&anchor);
	certgen_ca_free(&other);
	contract_issued_free(&leaf);
}

static void remove_takes_key_and_addresses(void **state)
{
	struct store *store = *state;
	struct issued a;
	contract_issue("erin@example.com", NULL, &a);
	assert_int_equal(store_cert_put(store, a.der, a.der_len, 0, 2, NULL, 0,
					NULL, NULL), SMX_OK);
	assert_int_equal(store_key_put(store, a.fp, a.key, a.key_len), SMX_OK);
	assert_int_equal(store_preference_set(store, "erin@example.com", a.fp),
			 SMX_OK);
	assert_int_equal(store_cert_remove(store, a.fp), SMX_OK);
	assert_int_equal(store_cert_remove(store, a.fp), SMX_NOTFOUND);
	struct store_cert *c = NULL;
	assert_int_equal(store_cert_get(store, a.fp, &c), SMX_NOTFOUND);
	assert_null(c);
	unsigned char *k = NULL;
	size_t klen = 0;
	assert_int_equal(store_key_get(store, a.fp, &k, &klen), SMX_NOTFOUND);
	struct store_cert **list = NULL;
	size_t n = 9;
	assert_int_equal(store_cert_list(store, "erin@example.com", &list, &n),
			 SMX_OK);
	assert_int_equal(n, 0);
	store_cert_list_free(&list, n);
	char fp[65];
	assert_int_equal(store_preference_get(store, "erin@example.com", fp),
			 SMX_NOTFOUND);
	contract_issued_free(&a);
}

static void flags_trust_and_revoked(void **state)
{
	struct store *store = *state;
	struct issued a;
	contract_issue("frank@example.com", NULL, &a);
	assert_int_equal(store_cert_put(store, a.der, a.der_len, 1, 0, NULL, 0,
					NULL, NULL), SMX_OK);
	assert_int_equal(store_cert_set_trust(store, a.fp, STORE_TRUST_PINNED),
			 SMX_OK);
	assert_int_equal(store_cert_set_revoked(store, a.fp, true), SMX_OK);
	struct store_cert *c = NULL;
	assert_int_equal(store_cert_get(store, a.fp, &c), SMX_OK);
	assert_int_equal(c->trust, STORE_TRUST_PINNED);
	assert_true(c->revoked);
	store_cert_free(&c);
	char other[65];
	memset(other, 'a', 64);
	other[64] = '\0';
	assert_int_equal(store_cert_set_trust(store, other, 1), SMX_NOTFOUND);
	assert_int_equal(store_cert_set_revoked(store, "xyz", true),
			 SMX_NOTFOUND);
	contract_issued_free(&a);
}

/* --- keys -------------------------------------------------------------- */

static void key_round_trip_and_mismatch(void **state)
{
	struct store *store = *state;
	struct issued a, b;
	contract_issue("gina@example.com", NULL, &a);
	contract_issue("gina@example.com", NULL, &b);
	assert_int_equal(store_cert_put(store, a.der, a.der_len, 0, 2, NULL, 0,
					NULL, NULL), SMX_OK);
	assert_int_equal(store_key_put(store, a.fp, b.key, b.key_len),
			 SMX_PERMFAIL);
	unsigned char *k = NULL;
	size_t klen = 0;
	assert_int_equal(store_key_get(store, a.fp, &k, &klen), SMX_NOTFOUND);
	assert_int_equal(store_key_put(store, a.fp, a.key, a.key_len), SMX_OK);
	assert_int_equal(store_key_get(store, a.fp, &k, &klen), SMX_OK);
	assert_int_equal(klen, a.key_len);
	assert_memory_equal(k, a.key, klen);
	store_secret_free(&k, klen);
	assert_null(k);
	struct store_cert *c = NULL;
	assert_int_equal(store_cert_get(store, a.fp, &c), SMX_OK);
	assert_true(c->has_key);
	store_cert_free(&c);
	assert_int_equal(store_key_remove(store, a.fp), SMX_OK);
	assert_int_equal(store_key_remove(store, a.fp), SMX_NOTFOUND);
	assert_int_equal(store_cert_get(store, a.fp, &c), SMX_OK);
	assert_false(c->has_key);
	store_cert_free(&c);
	contract_issued_free(&a);
	contract_issued_free(&b);
}

static struct store *open_with_key(const char *key_file, enum smx_status *st)
{
	struct cfg *cfg = harness_cfg(key_file, 2);
	struct store *s = store_open(&cfg->store_settings, 0, st);
	cfg_unref(&cfg);
	return s;
}

static void master_key_missing_or_wrong_yields_no_key(void **state)
{
	struct store *store = *state;
	struct issued a;
	contract_issue("hank@example.com", NULL, &a);
	assert_int_equal(store_cert_put(store, a.der, a.der_len, 0, 2, NULL, 0,
					NULL, NULL), SMX_OK);
	assert_int_equal(store_key_put(store, a.fp, a.key, a.key_len), SMX_OK);
	/* the store without its key file */
	enum smx_status st = SMX_TEMPFAIL;
	const char *missing = harness_path(0, "absent.key");
	unlink(missing);
	struct store *copy = open_with_key(missing, &st);
	assert_non_null(copy);
	assert_int_equal(store_key_status(copy), SMX_NOTFOUND);
	unsigned char *k = NULL;
	size_t klen = 0;
	assert_int_equal(store_key_get(copy, a.fp, &k, &klen), SMX_NOTFOUND);
	assert_null(k);
	assert_int_equal(store_key_put(copy, a.fp, a.key, a.key_len),
			 SMX_NOTFOUND);
	store_close(&copy);
	/* a different key file */
	const char *wrong = harness_path(0, "wrong.key");
	unlink(wrong);
	int fd = open(wrong, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	static const char other[] =
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
	assert_int_equal(write(fd, other, sizeof(other) - 1), sizeof(other) - 1);
	close(fd);
	copy = open_with_key(wrong, &st);
	assert_non_null(copy);
	assert_int_equal(store_key_status(copy), SMX_CONFIG);
	assert_int_equal(store_key_get(copy, a.fp, &k, &klen), SMX_CONFIG);
	assert_null(k);
	store_close(&copy);
	/* group-readable key file: refused */
	chmod(wrong, 0640);
	assert_null(open_with_key(wrong, &st));
	assert_int_equal(st, SMX_CONFIG);
	contract_issued_free(&a);
}

static void tampered_key_row_is_detected(void **state)
{
	struct store *store = *state;
	struct issued a, b;
	contract_issue("ivan@example.com", NULL, &a);
	contract_issue("judy@example.com", NULL, &b);
	assert_int_equal(store_cert_put(store, a.der, a.der_len, 0, 2, NULL, 0,
					NULL, NULL), SMX_OK);
	assert_int_equal(store_cert_put(store, b.der, b.der_len, 0, 2, NULL, 0,
					NULL, NULL), SMX_OK);
	assert_int_equal(store_key_put(store, a.fp, a.key, a.key_len), SMX_OK);
	assert_int_equal(store_key_put(store, b.fp, b.key, b.key_len), SMX_OK);
	/* moving a sealed key to another certificate's row must not work */
	char sql[512];
	snprintf(sql, sizeof(sql), "UPDATE cert_keys SET sealed = (SELECT "
		 "sealed FROM cert_keys WHERE fingerprint = '%s') WHERE "
		 "fingerprint = '%s'", a.fp, b.fp);
	assert_int_equal(harness_sql(sql), 0);
	unsigned char *k = NULL;
	size_t klen = 0;
	assert_int_equal(store_key_get(store, b.fp, &k, &klen), SMX_CONFIG);
	assert_null(k);
	assert_int_equal(store_key_get(store, a.fp, &k, &klen), SMX_OK);
	store_secret_free(&k, klen);
	contract_issued_free(&a);
	contract_issued_free(&b);
}

/* --- small tables ------------------------------------------------------ */

static void anchors_add_list_remove(void **state)
{
	struct store *store = *state;
	size_t len = 0;
	const unsigned char *der = certgen_ca_der(contract_ca, &len);
	char fp[65], want[65];
	bool created = false;
	certgen_fingerprint(der, len, want);
	assert_int_equal(store_anchor_add(store, der, len, fp, &created), SMX_OK);
	assert_true(created);
	assert_string_equal(fp, want);
	assert_int_equal(store_anchor_add(store, der, len, fp, &created), SMX_OK);
	assert_false(created);
	struct store_anchor *list = NULL;
	size_t n = 0;
	assert_int_equal(store_anchor_list(store, &list, &n), SMX_OK);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].fingerprint, want);
	assert_memory_equal(list[0].der, der, len);
	assert_non_null(strstr(list[0].subject, "Test CA"));
	store_anchor_list_free(&list, n);
	assert_int_equal(store_anchor_remove(store, want), SMX_OK);
	assert_int_equal(store_anchor_remove(store, want), SMX_NOTFOUND);
}

static void dircache_expires(void **state)
{
	struct store *store = *state;
	bool found = false;
	time_t now = 1700000000;
	assert_int_equal(store_dircache_get(store, "x@partner.example", now,
					    &found), SMX_NOTFOUND);
	assert_int_equal(store_dircache_put(store, "X@Partner.example", true,
					    now, 3600), SMX_OK);
	assert_int_equal(store_dircache_put(store, "y@partner.example", false,
					    now, 300), SMX_OK);
	assert_int_equal(store_dircache_get(store, "x@partner.example",
					    now + 10, &found), SMX_OK);
	assert_true(found);
	assert_int_equal(store_dircache_get(store, "y@partner.example",
					    now + 10, &found), SMX_OK);
	assert_false(found);
	assert_int_equal(store_dircache_get(store, "y@partner.example",
					    now + 300, &found), SMX_NOTFOUND);
	size_t purged = 0;
	assert_int_equal(store_dircache_purge(store, now + 301, &purged), SMX_OK);
	assert_int_equal(purged, 1);
	assert_int_equal(store_dircache_put(store, "x@partner.example", false,
					    now + 400, 60), SMX_OK);
	assert_int_equal(store_dircache_get(store, "x@partner.example",
					    now + 401, &found), SMX_OK);
	assert_false(found);
}

static int64_t stat_value(struct store_stat *stats, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(stats[i].name, name) == 0)
			return stats[i].value;
	return -1;
}

static void harvest_log_counters_and_stats(void **state)
{
	struct store *store = *state;
	struct issued a;
	contract_issue("kim@partner.example", NULL, &a);
	assert_int_equal(store_cert_put(store, a.der, a.der_len,
					STORE_SOURCE_HARVESTED, 1, NULL, 0,
					NULL, NULL), SMX_OK);
	struct store_harvest_entry e1 = { time(NULL), "<m1@x>",
		"Kim@Partner.example", "Kim@Partner.example", a.fp, true, true };
	struct store_harvest_entry e2 = { time(NULL), NULL,
		"kim@partner.example", NULL, a.fp, false, false };
	struct store_harvest_entry bad = { time(NULL), NULL,
		"kim@partner.example", NULL, "not-a-fingerprint", false, false };
	assert_int_equal(store_harvest_log(store, &e1), SMX_OK);
	assert_int_equal(store_harvest_log(store, &e2), SMX_OK);
	assert_int_equal(store_harvest_log(store, &bad), SMX_PERMFAIL);
	assert_int_equal(store_counter_add(store, "signed", 3), SMX_OK);
	assert_int_equal(store_counter_add(store, "signed", 2), SMX_OK);
	assert_int_equal(store_anchor_add(store, certgen_ca_der(contract_ca,
		&(size_t){ 0 }), 0, NULL, NULL), SMX_PERMFAIL);
	struct store_stat *stats = NULL;
	size_t n = 0;
	assert_int_equal(store_stats(store, time(NULL), &stats, &n), SMX_OK);
	assert_int_equal(stat_value(stats, n, "certificates"), 1);
	assert_int_equal(stat_value(stats, n, "certificates.harvested"), 1);
	assert_int_equal(stat_value(stats, n, "certificates.imported"), 0);
	assert_int_equal(stat_value(stats, n, "harvest_log"), 2);
	assert_int_equal(stat_value(stats, n, "counter.signed"), 5);
	assert_int_equal(stat_value(stats, n, "private_keys"), 0);
	store_stats_free(&stats, n);
	assert_null(stats);
	contract_issued_free(&a);
}

/* Revocation statuses: put, get, replace; revoked marks the certificate;
 * the unknown status is logged by one caller only, again after a spell
 * of another status; the expiring list is soonest first. */
static void revocation_statuses(void **state)
{
	struct store *store = *state;
	struct issued a;
	contract_issue("rev@partner.example", NULL, &a);
	assert_int_equal(store_cert_put(store, a.der, a.der_len,
					STORE_SOURCE_HARVESTED,
					STORE_TRUST_CHAIN, NULL, 0, NULL,
					NULL), SMX_OK);
	struct store_revstatus s = { .status = STORE_REVSTATUS_UNKNOWN,
		.source = "none", .detail = "responder down",
		.checked_at = 1000, .next_update = 0, .valid_until = 1300 };
	memcpy(s.fingerprint, a.fp, 65);
	struct store_revstatus got;
	assert_int_equal(store_revstatus_get(store, a.fp, &got), SMX_NOTFOUND);
	assert_int_equal(store_revstatus_put(store, &s), SMX_OK);
	assert_int_equal(store_revstatus_get(store, a.fp, &got), SMX_OK);
	assert_int_equal(got.status, STORE_REVSTATUS_UNKNOWN);
	assert_string_equal(got.source, "none");
	assert_string_equal(got.detail, "responder down");
	assert_int_equal(got.valid_until, 1300);
	assert_false(got.unknown_logged);
	bool first = false;
	assert_int_equal(store_revstatus_mark_logged(store, a.fp, &first),
			 SMX_OK);
	assert_true(first);
	assert_int_equal(store_revstatus_mark_logged(store, a.fp, &first),
			 SMX_OK);
	assert_false(first);
	/* still unknown: stays logged */
	s.checked_at = 1400;
	assert_int_equal(store_revstatus_put(store, &s), SMX_OK);
	assert_int_equal(store_revstatus_get(store, a.fp, &got), SMX_OK);
	assert_true(got.unknown_logged);
	/* good, then unknown again: logged anew */
	s.status = STORE_REVSTATUS_GOOD;
	snprintf(s.source, sizeof(s.source), "ocsp");
	s.valid_until = 5000;
	s.next_update = 5000;
	assert_int_equal(store_revstatus_put(store, &s), SMX_OK);
	s.status = STORE_REVSTATUS_UNKNOWN;
	assert_int_equal(store_revstatus_put(store, &s), SMX_OK);
	assert_int_equal(store_revstatus_mark_logged(store, a.fp, &first),
			 SMX_OK);
	assert_true(first);
	char (*fps)[65] = NULL;
	size_t n = 0;
	assert_int_equal(store_revstatus_expiring(store, 6000, 10, &fps, &n),
			 SMX_OK);
	assert_int_equal(n, 1);
	assert_string_equal(fps[0], a.fp);
	free(fps);
	assert_int_equal(store_revstatus_expiring(store, 10, 10, &fps, &n),
			 SMX_OK);
	assert_int_equal(n, 0);
	/* revoked: the certificate is marked, never selected */
	struct store_cert *c = NULL;
	assert_int_equal(store_cert_get(store, a.fp, &c), SMX_OK);
	assert_false(c->revoked);
	store_cert_free(&c);
	s.status = STORE_REVSTATUS_REVOKED;
	snprintf(s.detail, sizeof(s.detail), "keyCompromise");
	assert_int_equal(store_revstatus_put(store, &s), SMX_OK);
	assert_int_equal(store_cert_get(store, a.fp, &c), SMX_OK);
	assert_true(c->revoked);
	store_cert_free(&c);
	assert_int_equal(store_revstatus_get(store, a.fp, &got), SMX_OK);
	assert_int_equal(got.status, STORE_REVSTATUS_REVOKED);
	assert_string_equal(got.detail, "keyCompromise");
	/* revoked stays revoked: nothing to refresh */
	assert_int_equal(store_revstatus_expiring(store, 6000, 10, &fps, &n),
			 SMX_OK);
	assert_int_equal(n, 0);
	free(fps);
	/* purged once long expired; the certificate stays marked revoked */
	size_t purged = 9;
	assert_int_equal(store_revstatus_purge(store, 5000, &purged), SMX_OK);
	assert_int_equal(purged, 0);
	assert_int_equal(store_revstatus_purge(store, 5001, &purged), SMX_OK);
	assert_int_equal(purged, 1);
	assert_int_equal(store_revstatus_get(store, a.fp, &got), SMX_NOTFOUND);
	assert_int_equal(store_cert_get(store, a.fp, &c), SMX_OK);
	assert_true(c->revoked);
	store_cert_free(&c);
	contract_issued_free(&a);
}

/* Upgrading a version 4 store adds the revocation table. */
static void version_4_gains_revocation_statuses(void **state)
{
	(void)state;
	assert_int_equal(harness_sql("DROP TABLE revocation_status"), 0);
	forget_token_uri();
	assert_int_equal(harness_sql("UPDATE store_schema SET version = 4"), 0);
	struct store *again = harness_open();
	assert_non_null(again);
	assert_int_equal(store_schema_version(again), store_schema_latest());
	struct store_revstatus s = { .status = STORE_REVSTATUS_GOOD,
		.source = "crl", .checked_at = 1, .valid_until = 2 };
	memset(s.fingerprint, 'a', 64);
	assert_int_equal(store_revstatus_put(again, &s), SMX_OK);
	store_close(&again);
}

/* Upgrading a version 5 store: key rows gain token_uri, the keys sealed
 * before stay where they were; then a key in a token is recorded by its
 * URI with no key material in the row. */
static void version_5_gains_token_keys(void **state)
{
	struct store *store = *state;
	struct issued a, b;
	contract_issue("tina@example.com", NULL, &a);
	contract_issue("tom@example.com", NULL, &b);
	assert_int_equal(store_cert_put(store, a.der, a.der_len, 0, 2, NULL, 0,
					NULL, NULL), SMX_OK);
	assert_int_equal(store_cert_put(store, b.der, b.der_len, 0, 2, NULL, 0,
					NULL, NULL), SMX_OK);
	assert_int_equal(store_key_put(store, a.fp, a.key, a.key_len), SMX_OK);
	forget_token_uri();
	assert_int_equal(harness_sql("UPDATE store_schema SET version = 5"), 0);
	struct store *again = harness_open();
	assert_non_null(again);
	assert_int_equal(store_schema_version(again), store_schema_latest());
	assert_int_equal(store_schema_latest(), 6);
	/* the key sealed before: still there, not in a token */
	unsigned char *k = NULL;
	size_t klen = 0;
	char *uri = NULL;
	assert_int_equal(store_key_get(again, a.fp, &k, &klen), SMX_OK);
	assert_memory_equal(k, a.key, klen);
	store_secret_free(&k, klen);
	assert_int_equal(store_key_token_uri(again, a.fp, &uri), SMX_OK);
	assert_null(uri);
	/* a key in a token: a URI, no key material */
	const char *tok = "pkcs11:token=t1;id=%01%02;type=private";
	assert_int_equal(store_key_token_uri(again, b.fp, &uri), SMX_NOTFOUND);
	assert_int_equal(store_key_put_token(again, b.fp, "file:/x"),
			 SMX_PERMFAIL);
	assert_int_equal(store_key_put_token(again, b.fp, tok), SMX_OK);
	assert_int_equal(store_key_token_uri(again, b.fp, &uri), SMX_OK);
	assert_string_equal(uri, tok);
	free(uri);
	assert_int_equal(store_key_get(again, b.fp, &k, &klen), SMX_NOTFOUND);
	assert_null(k);
	/* the row itself: the URI and an empty sealed value (the update
	 * marks the certificate only if so) */
	char sql[512];
	snprintf(sql, sizeof(sql), "UPDATE certs SET trust = 1 WHERE "
		 "fingerprint IN (SELECT fingerprint FROM cert_keys WHERE "
		 "fingerprint = '%s' AND length(sealed) = 0 AND "
		 "token_uri = '%s')", b.fp, tok);
	assert_int_equal(harness_sql(sql), 0);
	struct store_cert *c = NULL;
	assert_int_equal(store_cert_get(again, b.fp, &c), SMX_OK);
	assert_int_equal(c->trust, 1);
	assert_true(c->has_key);
	assert_true(c->key_in_token);
	store_cert_free(&c);
	assert_int_equal(store_cert_get(again, a.fp, &c), SMX_OK);
	assert_true(c->has_key);
	assert_false(c->key_in_token);
	store_cert_free(&c);
	/* a sealed key replaces the token's, and the other way round */
	assert_int_equal(store_key_put(again, b.fp, b.key, b.key_len), SMX_OK);
	assert_int_equal(store_key_token_uri(again, b.fp, &uri), SMX_OK);
	assert_null(uri);
	assert_int_equal(store_key_put_token(again, a.fp, tok), SMX_OK);
	assert_int_equal(store_key_get(again, a.fp, &k, &klen), SMX_NOTFOUND);
	assert_int_equal(store_key_put_token(again, "00", tok), SMX_PERMFAIL);
	store_close(&again);
	contract_issued_free(&a);
	contract_issued_free(&b);
}

int contract_run_basic(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, contract_setup, contract_teardown)
		T(open_creates_schema_and_reopens),
		T(newer_schema_is_refused),
		T(unreachable_database_is_not_notfound),
		T(reopen_reaches_a_database_back_at_once),
		T(put_parses_every_field),
		T(put_is_idempotent_and_trust_only_rises),
		T(caps_only_newer_signatures_replace_them),
		T(put_refuses_garbage),
		T(list_by_address_ignores_case),
		T(list_ca_lists_only_ca_certificates),
		T(remove_takes_key_and_addresses),
		T(flags_trust_and_revoked),
		T(key_round_trip_and_mismatch),
		T(master_key_missing_or_wrong_yields_no_key),
		T(tampered_key_row_is_detected),
		T(anchors_add_list_remove),
		T(dircache_expires),
		T(harvest_log_counters_and_stats),
		T(version_2_drops_unvalidated_filing),
		T(version_3_dates_recorded_capabilities),
		T(revocation_statuses),
		T(version_4_gains_revocation_statuses),
		T(version_5_gains_token_keys),
		T(version_1_is_migrated),	/* last: it shifts certgen's serials */
#undef T
	};
	return cmocka_run_group_tests_name("store basic", tests, NULL, NULL);
}

int main(void)
{
	harness_init();
	smx_log_open("store-contract", SMX_LOG_STDERR, 0);
	smx_log_set_level(LOG_WARNING);
	contract_ca = certgen_ca_new("Test CA");
	if (contract_ca == NULL)
		return 1;
	int failed = contract_run_basic();
	failed += contract_run_select();
	failed += contract_run_concurrency();
	failed += contract_run_parse_cache();
	certgen_ca_free(&contract_ca);
	return failed == 0 ? 0 : 1;
}
