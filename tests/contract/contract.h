/* SPDX-License-Identifier: BSD-2-Clause */
/* Shared by the files of the store contract suite. */
#ifndef SMX_TEST_CONTRACT_H
#define SMX_TEST_CONTRACT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <smx/store.h>

#include "certgen.h"
#include "harness.h"

/* The test CA, made once per run. */
extern struct certgen_ca *contract_ca;

/* A certificate for email with the usual S/MIME profile (EC, default key
 * usage, emailProtection, valid -1..+365 days), tweaked by opts when not
 * NULL. Fails the test when generation fails. Free both with free(). */
struct issued {
	unsigned char *der, *key;
	size_t der_len, key_len;
	char fp[65];
};
void contract_issue(const char *email, const struct certgen_opts *opts,
		    struct issued *out);
void contract_issued_free(struct issued *i);

/* cmocka setup/teardown: a fresh database and an open store in *state. */
int contract_setup(void **state);
int contract_teardown(void **state);

/* The groups, each run by main. */
int contract_run_basic(void);
int contract_run_select(void);
int contract_run_concurrency(void);
int contract_run_parse_cache(void);

#endif
