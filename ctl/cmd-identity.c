/* SPDX-License-Identifier: BSD-2-Clause */
/* smimectl init, import-p12, export-p12: the store itself and the
 * identities (certificate + private key) of internal users. */
#include "ctl.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "p12.h"
#include "token.h"
#include "x509util.h"

int ctl_cmd_init(struct ctl *ctl, int argc, char **argv)
{
	(void)argv;
	if (argc != 1) {
		ctl_error("usage: smimectl init");
		return CTL_USAGE;
	}
	int rc = ctl_open_store(ctl, STORE_OPEN_CREATE_KEY);
	if (rc != CTL_OK)
		return rc;
	const struct cfg *cfg = ctl->cfg;
	const char *where =
		cfg->store_settings.backend == STORE_BACKEND_SQLITE
			? cfg->store.path : "store.conninfo";
	if (store_key_status(ctl->store) != SMX_OK) {
		ctl_error("%s: the master key file does not match the store "
			  "(%s)", cfg->keys.master_key_file, where);
		return CTL_USAGE;
	}
	if (ctl->json) {
		printf("{\"backend\":\"%s\",\"schema_version\":%d,"
		       "\"master_key_file\":", store_backend_name(ctl->store),
		       store_schema_version(ctl->store));
		ctl_json_string(stdout, cfg->keys.master_key_file);
		printf("}\n");
	} else {
		printf("store ready: %s %s, schema version %d\n"
		       "master key: %s\n", store_backend_name(ctl->store),
		       where, store_schema_version(ctl->store),
		       cfg->keys.master_key_file);
	}
	return CTL_OK;
}

/* Checks that private keys can be stored or read; prints why not. */
static int need_master_key(struct ctl *ctl, const char *what)
{
	enum smx_status st = store_key_status(ctl->store);
	if (st == SMX_OK)
		return CTL_OK;
	ctl_error("%s: %s: %s", what, ctl->cfg->keys.master_key_file,
		  st == SMX_NOTFOUND ? "no master key file (run smimectl init)"
				     : "the master key does not match the store");
	return CTL_USAGE;
}

struct p12_args {
	const char *password_file;
	const char *fingerprint;
	const char *token_label;
	bool legacy, delete_key, to_token;
};

/* The key sealed in the store, or written into the PKCS#11 token. */
static enum smx_status put_key(struct ctl *ctl, struct p12_identity *id,
			       const struct store_cert *c,
			       const struct p12_args *a)
{
	if (a->to_token)
		return ctl_token_put_key(ctl, id->key, c, a->token_label);
	unsigned char *key = NULL;
	size_t key_len = smx_x509_key_to_der(id->key, &key);
	enum smx_status st = key_len ? store_key_put(ctl->store, c->fingerprint,
						     key, key_len)
				     : SMX_PERMFAIL;
	store_secret_free(&key, key_len);
	return st;
}

/* Puts certificate, key and chain; on failure removes a certificate it
 * added, so that a failed import leaves the store as it was. */
static int store_identity(struct ctl *ctl, const char *file,
			  struct p12_identity *id, const struct store_cert *c,
			  const struct p12_args *a)
{
	bool created = false;
	enum smx_status st = store_cert_put(ctl->store, c->der, c->der_len,
					    STORE_SOURCE_IMPORTED,
					    STORE_TRUST_PINNED, NULL, 0, NULL,
					    &created);
	if (st == SMX_OK)
		st = put_key(ctl, id, c, a);
	if (st != SMX_OK && created)
		store_cert_remove(ctl->store, c->fingerprint);
	if (st != SMX_OK) {
		ctl_error("%s: could not store the identity %s (%s)", file,
			  c->fingerprint, smx_status_name(st));
		return ctl_exit_of(st);
	}
	for (int i = 0; id->chain && i < sk_X509_num(id->chain); i++) {
		unsigned char *der = NULL;
		size_t len = smx_x509_to_der(sk_X509_value(id->chain, i), &der);
		if (len == 0 || store_cert_put(ctl->store, der, len,
					       STORE_SOURCE_IMPORTED,
					       STORE_TRUST_NONE, NULL, 0, NULL,
					       NULL) != SMX_OK)
			ctl_error("%s: warning: chain certificate %d not "
				  "stored", file, i + 1);
		free(der);
	}
	return CTL_OK;
}

static void report_import(struct ctl *ctl, const char *file,
			  const struct store_cert *c, int n_chain,
			  bool in_token)
{
	if (ctl->json) {
		printf("{\"file\":");
		ctl_json_string(stdout, file);
		printf(",\"fingerprint\":\"%s\",\"emails\":[", c->fingerprint);
		for (size_t i = 0; i < c->n_emails; i++) {
			fputs(i ? "," : "", stdout);
			ctl_json_string(stdout, c->emails[i]);
		}
		printf("],\"chain\":%d,\"key_in_token\":%s}\n", n_chain,
		       in_token ? "true" : "false");
		return;
	}
	printf("%s: imported %s", file, c->fingerprint);
	for (size_t i = 0; i < c->n_emails; i++)
		printf("%s%s", i ? "," : " for ", c->emails[i]);
	printf(" with its private key%s", in_token ? " in the PKCS#11 token"
						    : "");
	if (n_chain > 0)
		printf(" and %d chain certificate%s", n_chain,
		       n_chain == 1 ? "" : "s");
	printf("\n");
}

static int import_checked(struct ctl *ctl, const char *file,
			  struct p12_identity *id, const struct p12_args *a)
{
	unsigned char *der = NULL;
	size_t len = smx_x509_to_der(id->cert, &der);
	struct store_cert *c = NULL;
	int rc = CTL_FAIL;
	if (len == 0 || store_cert_parse(der, len, &c) != SMX_OK) {
		ctl_error("%s: the certificate does not parse", file);
		goto done;
	}
	x509_warn_unfiled(file, id->cert);
	if (c->n_emails == 0) {
		ctl_error("%s: the certificate %s (%s) carries no email "
			  "address: refusing it", file,
			  c->fingerprint, c->subject);
		goto done;
	}
	if (!smx_x509_key_matches(id->cert, id->key)) {
		ctl_error("%s: the private key does not match the certificate "
			  "%s: refusing it", file, c->fingerprint);
		goto done;
	}
	rc = store_identity(ctl, file, id, c, a);
	if (rc == CTL_OK)
		report_import(ctl, file, c, id->chain ? sk_X509_num(id->chain)
						      : 0, a->to_token);
done:
	ERR_clear_error();
	store_cert_free(&c);
	free(der);
	return rc;
}

static const struct option p12_opts[] = {
	{ "password-file", required_argument, NULL, 'p' },
	{ "legacy", no_argument, NULL, 'l' },
	{ "delete-key", no_argument, NULL, 'd' },
	{ "fingerprint", required_argument, NULL, 'f' },
	{ "to-token", no_argument, NULL, 't' },
	{ "token-label", required_argument, NULL, 'T' },
	{ NULL, 0, NULL, 0 },
};

static int parse_p12_args(int argc, char **argv, struct p12_args *a,
			  bool export)
{
	int ch;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", p12_opts, NULL)) != -1) {
		if (ch == 'p')
			a->password_file = optarg;
		else if (ch == 'l' && export)
			a->legacy = true;
		else if (ch == 'd' && export)
			a->delete_key = true;
		else if (ch == 'f' && export)
			a->fingerprint = optarg;
		else if (ch == 't' && !export)
			a->to_token = true;
		else if (ch == 'T' && !export)
			a->token_label = optarg;
		else
			return -1;
	}
	return 0;
}

int ctl_cmd_import_p12(struct ctl *ctl, int argc, char **argv)
{
	struct p12_args a = { 0 };
	if (parse_p12_args(argc, argv, &a, false) != 0 || optind != argc - 1 ||
	    (a.token_label != NULL && !a.to_token)) {
		ctl_error("usage: smimectl import-p12 FILE [--password-file F] "
			  "[--to-token [--token-label L]]");
		return CTL_USAGE;
	}
	const char *file = argv[optind];
	int rc = ctl_open_store(ctl, 0);
	if (rc != CTL_OK ||
	    (!a.to_token && (rc = need_master_key(ctl, file)) != CTL_OK))
		return rc;
	char prompt[512];
	snprintf(prompt, sizeof(prompt), "Password for %s: ", file);
	char *pw = ctl_password(a.password_file, prompt, false);
	if (pw == NULL)
		return CTL_USAGE;
	struct p12_identity id;
	struct p12_providers pv;
	p12_load_providers(&pv);
	rc = p12_read(file, pw, &id) == 0 ? import_checked(ctl, file, &id, &a)
					  : CTL_FAIL;
	p12_identity_clear(&id);
	p12_unload_providers(&pv);
	ctl_password_free(&pw);
	return rc;
}

/* The certificate to export for email: the one signing would use, else
 * the newest one with a key. */
static int pick_identity(struct ctl *ctl, const char *email, const char *fp,
			 struct store_cert **cert_r)
{
	struct store_selection *sel = NULL;
	*cert_r = NULL;
	if (fp != NULL) {
		int rc = ctl_find_cert(ctl, fp, cert_r);
		if (rc == CTL_OK && !(*cert_r)->has_key) {
			ctl_error("%s: no private key held for it", fp);
			store_cert_free(cert_r);
			return CTL_FAIL;
		}
		return rc;
	}
	enum smx_status st = store_select(ctl->store, email, STORE_PURPOSE_SIGN,
					  time(NULL), &sel);
	if (st == SMX_TEMPFAIL) {
		ctl_error("%s: the store did not answer", email);
		return CTL_FAIL;
	}
	for (size_t i = 0; sel != NULL && i < sel->count; i++) {
		if (sel->items[i].cert->has_key) {
			*cert_r = sel->items[i].cert;
			sel->items[i].cert = NULL;
			break;
		}
	}
	store_selection_free(&sel);
	if (*cert_r == NULL)
		ctl_error("%s: no private key held for this address", email);
	return *cert_r ? CTL_OK : CTL_FAIL;
}

static int load_identity(struct ctl *ctl, const struct store_cert *c,
			 struct p12_identity *id)
{
	unsigned char *key = NULL;
	size_t len = 0;
	enum smx_status st = store_key_get(ctl->store, c->fingerprint, &key,
					   &len);
	memset(id, 0, sizeof(*id));
	if (st != SMX_OK) {
		ctl_error("%s: cannot read its private key (%s)",
			  c->fingerprint, smx_status_name(st));
		return ctl_exit_of(st);
	}
	id->key = smx_x509_key_parse(key, len, NULL, 0);
	id->cert = smx_x509_parse(c->der, c->der_len, NULL, 0);
	store_secret_free(&key, len);
	STACK_OF(X509) *pool = x509_from_store(ctl->store, false);
	STACK_OF(X509) *anchors = x509_from_store(ctl->store, true);
	for (int i = 0; pool && anchors && i < sk_X509_num(anchors); i++)
		if (sk_X509_push(pool, sk_X509_value(anchors, i)))
			X509_up_ref(sk_X509_value(anchors, i));
	if (id->cert != NULL)
		id->chain = smx_x509_chain(id->cert, pool);
	smx_x509_stack_free(&pool);
	smx_x509_stack_free(&anchors);
	if (id->key == NULL || id->cert == NULL) {
		ctl_error("%s: the stored identity does not parse",
			  c->fingerprint);
		p12_identity_clear(id);
		return CTL_FAIL;
	}
	return CTL_OK;
}

static int export_identity(struct ctl *ctl, const struct p12_args *a,
			   const char *email, const char *out,
			   const struct store_cert *c)
{
	struct p12_identity id;
	int rc = load_identity(ctl, c, &id);
	if (rc != CTL_OK)
		return rc;
	char prompt[512];
	snprintf(prompt, sizeof(prompt), "Password for %s: ", out);
	char *pw = ctl_password(a->password_file, prompt, true);
	rc = CTL_USAGE;
	if (pw != NULL)
		rc = p12_write(out, pw, email, &id, a->legacy) == 0 ? CTL_OK
								    : CTL_FAIL;
	ctl_password_free(&pw);
	p12_identity_clear(&id);
	if (rc != CTL_OK)
		return rc;
	/* Only now, with the file written and read back: */
	if (a->delete_key) {
		enum smx_status st = store_key_remove(ctl->store, c->fingerprint);
		if (st != SMX_OK) {
			ctl_error("%s: written, but the key of %s was not "
				  "deleted (%s)", out, c->fingerprint,
				  smx_status_name(st));
			return CTL_FAIL;
		}
	}
	if (ctl->json) {
		printf("{\"file\":");
		ctl_json_string(stdout, out);
		printf(",\"fingerprint\":\"%s\",\"legacy\":%s,"
		       "\"key_deleted\":%s}\n", c->fingerprint,
		       a->legacy ? "true" : "false",
		       a->delete_key ? "true" : "false");
	} else {
		printf("%s: exported %s for %s%s%s\n", out, c->fingerprint,
		       email, a->legacy ? " (legacy 3DES/SHA-1)" : "",
		       a->delete_key ? "; private key deleted from the store"
				     : "");
	}
	return CTL_OK;
}

int ctl_cmd_export_p12(struct ctl *ctl, int argc, char **argv)
{
	struct p12_args a = { 0 };
	if (parse_p12_args(argc, argv, &a, true) != 0 || optind != argc - 2) {
		ctl_error("usage: smimectl export-p12 EMAIL OUT "
			  "[--password-file F] [--legacy] [--delete-key] "
			  "[--fingerprint FP]");
		return CTL_USAGE;
	}
	const char *email = argv[optind], *out = argv[optind + 1];
	int rc = ctl_open_store(ctl, 0);
	if (rc != CTL_OK || (rc = need_master_key(ctl, email)) != CTL_OK)
		return rc;
	struct store_cert *c = NULL;
	struct p12_providers pv;
	p12_load_providers(&pv);
	rc = pick_identity(ctl, email, a.fingerprint, &c);
	if (rc == CTL_OK)
		rc = export_identity(ctl, &a, email, out, c);
	store_cert_free(&c);
	p12_unload_providers(&pv);
	return rc;
}
