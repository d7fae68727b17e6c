/* SPDX-License-Identifier: BSD-2-Clause */
#include "harness.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char backend[16] = "sqlite";
static char test_dir[1024] = ".";
static char conninfo[1024];
static char paths[4][1200];

void harness_init(void)
{
	const char *b = getenv("SMX_STORE_BACKEND");
	const char *d = getenv("SMX_TEST_DIR");
	if (b != NULL)
		snprintf(backend, sizeof(backend), "%s", b);
	if (d != NULL)
		snprintf(test_dir, sizeof(test_dir), "%s", d);
	if (!harness_is_pgsql())
		return;
	const char *file = getenv("SMX_PG_CONNINFO_FILE");
	FILE *f = file ? fopen(file, "r") : NULL;
	if (f == NULL || fgets(conninfo, sizeof(conninfo), f) == NULL) {
		const char *req = getenv("SMX_REQUIRE_PEERS");
		fprintf(stderr, "%s: no PostgreSQL fixture (%s)\n",
			req && strcmp(req, "1") == 0 ? "FAIL" : "SKIP",
			file ? file : "SMX_PG_CONNINFO_FILE unset");
		exit(req && strcmp(req, "1") == 0 ? 1 : 77);
	}
	fclose(f);
	conninfo[strcspn(conninfo, "\n")] = '\0';
}

const char *harness_backend(void)
{
	return backend;
}

bool harness_is_pgsql(void)
{
	return strcmp(backend, "postgresql") == 0;
}

const char *harness_path(int slot, const char *name)
{
	snprintf(paths[slot], sizeof(paths[slot]), "%s/%s", test_dir, name);
	return paths[slot];
}

const char *harness_key_file(void)
{
	static char key[1200];
	snprintf(key, sizeof(key), "%s/master.key", test_dir);
	return key;
}

int harness_sql(const char *sql)
{
	int rc = -1;
	if (harness_is_pgsql()) {
		PGconn *pg = PQconnectdb(conninfo);
		PGresult *res = PQexec(pg, sql);
		ExecStatusType es = PQresultStatus(res);
		rc = (es == PGRES_COMMAND_OK || es == PGRES_TUPLES_OK) ? 0 : -1;
		if (rc != 0)
			fprintf(stderr, "harness_sql: %s", PQerrorMessage(pg));
		PQclear(res);
		PQfinish(pg);
		return rc;
	}
	sqlite3 *db = NULL;
	if (sqlite3_open(harness_path(3, "store.db"), &db) == SQLITE_OK) {
		sqlite3_busy_timeout(db, 5000);
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
		if (rc != 0)
			fprintf(stderr, "harness_sql: %s\n", sqlite3_errmsg(db));
	}
	sqlite3_close(db);
	return rc;
}

void harness_reset(void)
{
	static const char *const files[] = { "store.db", "store.db-wal",
					     "store.db-shm" };
	unlink(harness_key_file());
	if (harness_is_pgsql()) {
		harness_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public");
		return;
	}
	for (size_t i = 0; i < 3; i++)
		unlink(harness_path(0, files[i]));
}

struct cfg *harness_cfg(const char *key_file, unsigned pool)
{
	const char *file = harness_path(1, "store.conf");
	FILE *f = fopen(file, "w");
	if (f == NULL)
		return NULL;
	fprintf(f, "milter: { internal_domains = [ \"example.com\" ]; };\n");
	if (harness_is_pgsql())
		fprintf(f, "store: { backend = \"postgresql\"; conninfo = \"%s\";"
			" pool_size = %u; busy_timeout = 5000; };\n", conninfo,
			pool);
	else
		fprintf(f, "store: { backend = \"sqlite\"; path = \"%s\"; "
			"pool_size = %u; busy_timeout = 5000; };\n",
			harness_path(2, "store.db"), pool);
	fprintf(f, "keys: { master_key_file = \"%s\"; };\n",
		key_file ? key_file : harness_key_file());
	fclose(f);
	struct cfg_errors errors = { 0 };
	struct cfg *cfg = cfg_load(file, &errors);
	for (size_t i = 0; i < errors.count; i++)
		fprintf(stderr, "%s\n", errors.lines[i]);
	cfg_errors_free(&errors);
	return cfg;
}

struct store *harness_open(void)
{
	struct cfg *cfg = harness_cfg(NULL, 4);
	enum smx_status st = SMX_CONFIG;
	struct store *store = cfg ? store_open(&cfg->store_settings,
						  STORE_OPEN_CREATE_KEY, &st)
				  : NULL;
	cfg_unref(&cfg);
	return store;
}
