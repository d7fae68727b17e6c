/* SPDX-License-Identifier: BSD-2-Clause */
/* The backend-neutral part of the store contract suite: which backend
 * this run tests (SMX_STORE_BACKEND = sqlite | postgresql), a fresh
 * database per test, a configuration file for it, and raw SQL for the
 * tests that must tamper with the database behind the store's back. */
#ifndef SMX_TEST_HARNESS_H
#define SMX_TEST_HARNESS_H

#include <stdbool.h>

#include <smx/cfg.h>
#include <smx/store.h>

/* Reads the environment; exits 77 (skip) when the PostgreSQL fixture
 * did not run, unless peers are required. */
void harness_init(void);

/* "sqlite" or "postgresql". */
const char *harness_backend(void);
bool harness_is_pgsql(void);

/* Empties the database and removes the master key file. */
void harness_reset(void);

/* Loads a configuration for the test database. key_file NULL: the
 * default master key file in the test directory. pool: store.pool_size.
 * The caller owns the result (cfg_unref). */
struct cfg *harness_cfg(const char *key_file, unsigned pool);

/* The default master key file's path. */
const char *harness_key_file(void);

/* A path in the test directory (static buffer per call slot 0..3). */
const char *harness_path(int slot, const char *name);

/* Runs SQL directly on the test database. Returns 0 or -1. */
int harness_sql(const char *sql);

/* Opens the test database's store with STORE_OPEN_CREATE_KEY. */
struct store *harness_open(void);

#endif
