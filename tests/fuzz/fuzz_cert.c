/* SPDX-License-Identifier: BSD-2-Clause */
/* Fuzz target: certificate parsing and the usability rule. The input is
 * a DER certificate as it arrives from strangers (in a signature, from
 * the directory): store_cert_parse derives the record (fingerprint,
 * names, validity, emails, key usage, EKU, key type);
 * smime_recipient_check decides whether it can be encrypted to; the
 * certificate is then stored in a private SQLite store (as a harvested,
 * chain-verified one) and store_select judges it for encryption and
 * signing under each of its addresses.
 *
 * Invariants: parse and put agree (SMX_OK or SMX_PERMFAIL for the same
 * bytes); the fingerprint is the SHA-256 of the input; emails are
 * non-empty, lower case, without control characters; a stored
 * certificate is found under every one of its addresses; a usable one
 * is an end entity, valid at that time, with an EKU that allows email;
 * every reason has a text; removal leaves the store empty. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <smx/cfg.h>
#include <smx/log.h>
#include <smx/smime-encrypt.h>
#include <smx/store.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1735689600	/* 2025-01-01: a fixed "now" keeps runs reproducible */
#define MAX_ADDRESSES 4	/* addresses looked up per certificate */

static struct store *store;

/* A store in the scratch directory, described by a configuration file
 * there: the real SQLite driver, schema and queries. */
static void open_store(void)
{
	/* the store logs every refusal: most inputs are refused */
	smx_log_set_level(LOG_CRIT);
	const char *dir = fuzz_scratch_dir();
	char conf[4096];
	snprintf(conf, sizeof(conf), "%s/fuzz.conf", dir);
	FILE *f = fopen(conf, "w");
	if (f == NULL)
		abort();
	fprintf(f, "milter: { internal_domains = [ \"example.com\" ]; };\n"
		   "store: { backend = \"sqlite\"; path = \"%s/store.db\"; };\n"
		   "keys: { master_key_file = \"%s/master.key\"; };\n",
		dir, dir);
	fclose(f);
	struct cfg_errors errors = { 0 };
	struct cfg *cfg = cfg_load(conf, &errors);
	for (size_t i = 0; i < errors.count; i++)
		fprintf(stderr, "%s\n", errors.lines[i]);
	cfg_errors_free(&errors);
	enum smx_status st = SMX_OK;
	store = cfg ? store_open(&cfg->store_settings, 0, &st) : NULL;
	cfg_unref(&cfg);
	if (store == NULL) {
		fprintf(stderr, "fuzz_cert: cannot open the store (%s)\n",
			smx_status_name(st));
		abort();
	}
}

static void check_record(const struct store_cert *c, const uint8_t *data,
			 size_t size)
{
	unsigned char md[32];
	char hex[65];
	if (EVP_Digest(data, size, md, NULL, EVP_sha256(), NULL) != 1)
		return;
	for (size_t i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (strcmp(hex, c->fingerprint) != 0)
		abort();
	if (c->der_len != size || memcmp(c->der, data, size) != 0)
		abort();
	if (c->subject == NULL || c->issuer == NULL || c->serial == NULL)
		abort();
	for (size_t i = 0; i < c->n_emails; i++) {
		const unsigned char *e = (const unsigned char *)c->emails[i];
		if (e[0] == '\0')
			abort();
		for (; *e != '\0'; e++)
			if (*e < 0x20 || *e == 0x7f || (*e >= 'A' && *e <= 'Z'))
				abort();
	}
	if (c->eku == 0)
		abort();	/* some STORE_EKU_* bit always describes it */
}

static void check_recipient(const uint8_t *data, size_t size)
{
	const unsigned char *p = data;
	X509 *x = d2i_X509(NULL, &p, (long)size);
	if (x == NULL)
		return;
	struct smx_error err;
	enum smx_status st = smime_recipient_check(x, &err);
	if (st != SMX_OK && st != SMX_PERMFAIL && st != SMX_TEMPFAIL)
		abort();
	if (st == SMX_PERMFAIL && err.text[0] == '\0')
		abort();	/* a refusal says why */
	X509_free(x);
}

static void check_selection(const struct store_cert *c, const char *email,
			    enum store_purpose purpose)
{
	struct store_selection *sel = NULL;
	enum smx_status st = store_select(store, email, purpose, NOW, &sel);
	if (st == SMX_TEMPFAIL)
		abort();	/* a private SQLite file always answers */
	if (sel == NULL || sel->count != 1 || sel->n_usable > sel->count)
		abort();	/* found under each of its addresses, once */
	const struct store_candidate *cand = &sel->items[0];
	if (strcmp(cand->cert->fingerprint, c->fingerprint) != 0)
		abort();
	if ((st == SMX_OK) != (cand->reason == STORE_USABLE))
		abort();
	if (store_reject_text(cand->reason, purpose) == NULL)
		abort();
	if (cand->reason == STORE_USABLE &&
	    (c->is_ca || c->not_before > NOW || c->not_after < NOW ||
	     !(c->eku & (STORE_EKU_ABSENT | STORE_EKU_EMAIL))))
		abort();
	store_selection_free(&sel);
}

static void check_store(const struct store_cert *c, const uint8_t *data,
			size_t size)
{
	char fp[65];
	bool created = false;
	enum smx_status st = store_cert_put(store, data, size,
					    STORE_SOURCE_HARVESTED,
					    STORE_TRUST_CHAIN, NULL, 0, fp,
					    &created);
	if (st != SMX_OK || !created || strcmp(fp, c->fingerprint) != 0)
		abort();
	for (size_t i = 0; i < c->n_emails && i < MAX_ADDRESSES; i++) {
		check_selection(c, c->emails[i], STORE_PURPOSE_ENCRYPT);
		check_selection(c, c->emails[i], STORE_PURPOSE_SIGN);
	}
	if (store_cert_remove(store, c->fingerprint) != SMX_OK)
		abort();
	struct store_cert **all = NULL;
	size_t n = 0;
	if (store_cert_list(store, NULL, &all, &n) != SMX_OK || n != 0)
		abort();	/* removal left something behind */
	store_cert_list_free(&all, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (store == NULL)
		open_store();
	struct store_cert *c = NULL;
	enum smx_status st = store_cert_parse(data, size, &c);
	if (st != SMX_OK && st != SMX_PERMFAIL)
		abort();
	check_recipient(data, size);
	if (st == SMX_OK) {
		check_record(c, data, size);
		check_store(c, data, size);
	} else if (store_cert_put(store, data, size, STORE_SOURCE_HARVESTED,
				  STORE_TRUST_CHAIN, NULL, 0, NULL,
				  NULL) != SMX_PERMFAIL) {
		abort();	/* the store took what the parser refused */
	}
	store_cert_free(&c);
	ERR_clear_error();
	return 0;
}
