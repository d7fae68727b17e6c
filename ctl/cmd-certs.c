/* SPDX-License-Identifier: BSD-2-Clause */
/* smimectl import-cert, list, show, remove: plain certificates. */
#include "ctl.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>

#include "x509util.h"

/* Certificates of a PKCS#7 (certs-only or signed) structure. */
static void from_pkcs7(PKCS7 *p7, STACK_OF(X509) *out)
{
	STACK_OF(X509) *certs = NULL;
	if (p7 != NULL && PKCS7_type_is_signed(p7) && p7->d.sign != NULL)
		certs = p7->d.sign->cert;
	for (int i = 0; certs != NULL && i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);
		if (X509_up_ref(x) && !sk_X509_push(out, x))
			X509_free(x);
	}
}

static void from_pem(const unsigned char *buf, size_t len, STACK_OF(X509) *out)
{
	BIO *bio = BIO_new_mem_buf(buf, (int)len);
	X509 *x;
	while (bio != NULL && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		if (!sk_X509_push(out, x))
			X509_free(x);
	}
	BIO_free(bio);
	if (sk_X509_num(out) > 0)
		return;
	bio = BIO_new_mem_buf(buf, (int)len);
	PKCS7 *p7 = bio ? PEM_read_bio_PKCS7(bio, NULL, NULL, NULL) : NULL;
	from_pkcs7(p7, out);
	PKCS7_free(p7);
	BIO_free(bio);
}

static void from_der(const unsigned char *buf, size_t len, STACK_OF(X509) *out)
{
	X509 *x = smx_x509_parse(buf, len, NULL, 0);
	if (x != NULL) {
		if (!sk_X509_push(out, x))
			X509_free(x);
		return;
	}
	const unsigned char *p = buf;
	PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)len);
	from_pkcs7(p7, out);
	PKCS7_free(p7);
}

/* Every certificate in a PEM, DER or PKCS#7 file. */
static STACK_OF(X509) *read_certs(const char *path)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	if (ctl_read_file(path, &buf, &len) != 0)
		return NULL;
	STACK_OF(X509) *out = sk_X509_new_null();
	if (out != NULL && strstr((const char *)buf, "-----BEGIN") != NULL)
		from_pem(buf, len, out);
	else if (out != NULL)
		from_der(buf, len, out);
	free(buf);
	ERR_clear_error();
	if (out != NULL && sk_X509_num(out) == 0) {
		ctl_error("%s: no certificate found (PEM, DER or PKCS#7 "
			  "expected)", path);
		smx_x509_stack_free(&out);
	}
	return out;
}

static int import_one(struct ctl *ctl, const char *file, X509 *x,
		      STACK_OF(X509) *all, bool pin)
{
	char why[256] = "pinned by the administrator", fp[65];
	unsigned char *der = NULL;
	size_t len = smx_x509_to_der(x, &der);
	bool created = false;
	enum store_trust trust = pin ? STORE_TRUST_PINNED
				     : x509_verify(ctl->store, &ctl->cfg->verify,
						   x, all, why,
						   sizeof(why));
	enum smx_status st = len ? store_cert_put(ctl->store, der, len,
						  STORE_SOURCE_IMPORTED, trust,
						  NULL, 0, fp, &created)
				 : SMX_PERMFAIL;
	free(der);
	if (st == SMX_OK)
		x509_warn_unfiled(file, x);
	if (st != SMX_OK) {
		ctl_error("%s: a certificate was not stored (%s)", file,
			  smx_status_name(st));
		return ctl_exit_of(st);
	}
	if (ctl->json) {
		printf("{\"file\":");
		ctl_json_string(stdout, file);
		printf(",\"fingerprint\":\"%s\",\"trust\":\"%s\",\"new\":%s,"
		       "\"reason\":", fp, store_trust_name(trust),
		       created ? "true" : "false");
		ctl_json_string(stdout, why);
		printf("}\n");
	} else {
		printf("%s: %s %s (%s: %s)\n", file, fp,
		       created ? "imported" : "already known, updated",
		       store_trust_name(trust), why);
	}
	return CTL_OK;
}

int ctl_cmd_import_cert(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pin", no_argument, NULL, 'p' }, { NULL, 0, NULL, 0 } };
	bool pin = false;
	int ch, rc;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'p') {
			optind = argc;
			break;
		}
		pin = true;
	}
	if (optind >= argc) {
		ctl_error("usage: smimectl import-cert [--pin] FILE...");
		return CTL_USAGE;
	}
	if ((rc = ctl_open_store(ctl, 0)) != CTL_OK)
		return rc;
	for (int i = optind; i < argc; i++) {
		STACK_OF(X509) *certs = read_certs(argv[i]);
		if (certs == NULL) {
			rc = CTL_FAIL;
			continue;
		}
		for (int j = 0; j < sk_X509_num(certs); j++) {
			int one = import_one(ctl, argv[i],
					     sk_X509_value(certs, j), certs, pin);
			if (one != CTL_OK)
				rc = one;
		}
		smx_x509_stack_free(&certs);
	}
	return rc;
}

/* Takes "--expiring DAYS" out of argv: *days_r is -1 without it.
 * Returns the new argc, or -1 for a bad DAYS. */
static int take_expiring(int argc, char **argv, long *days_r)
{
	int out = 0;
	*days_r = -1;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--expiring") != 0) {
			argv[out++] = argv[i];
			continue;
		}
		char *end = NULL;
		long d = i + 1 < argc ? strtol(argv[i + 1], &end, 10) : -1;
		if (end == NULL || end == argv[i + 1] || *end != '\0' || d < 0 ||
		    d > 36500)
			return -1;
		*days_r = d;
		i++;
	}
	return out;
}

/* Whether c is still valid at now and expires within days (-1: any). */
static bool expiring_within(const struct store_cert *c, time_t now, long days)
{
	return days < 0 || (c->not_after >= (int64_t)now &&
			    c->not_after <= (int64_t)now + (int64_t)days * 86400);
}

int ctl_cmd_list(struct ctl *ctl, int argc, char **argv)
{
	long days = -1;
	argc = take_expiring(argc, argv, &days);
	if (argc < 1 || argc > 2) {
		ctl_error("usage: smimectl list [EMAIL] [--expiring DAYS]");
		return CTL_USAGE;
	}
	int rc = ctl_open_store(ctl, 0);
	if (rc != CTL_OK)
		return rc;
	const char *email = argc == 2 ? argv[1] : NULL;
	struct store_cert **certs = NULL;
	size_t n = 0, shown = 0;
	time_t now = time(NULL);
	enum smx_status st = store_cert_list(ctl->store, email, &certs, &n);
	if (st != SMX_OK) {
		ctl_error("%s: the store did not answer (%s)",
			  email ? email : "list", smx_status_name(st));
		return ctl_exit_of(st);
	}
	if (ctl->json)
		fputc('[', stdout);
	for (size_t i = 0; i < n; i++) {
		if (!expiring_within(certs[i], now, days))
			continue;
		if (ctl->json) {
			fputs(shown ? ",\n" : "", stdout);
			ctl_json_cert(stdout, certs[i]);
		} else {
			ctl_print_cert_line(stdout, certs[i]);
		}
		shown++;
	}
	if (ctl->json)
		fputs("]\n", stdout);
	else if (shown == 0 && days >= 0)
		printf("no certificate expires within %ld days\n", days);
	else if (shown == 0 && email != NULL)
		printf("no certificate for %s\n", email);
	store_cert_list_free(&certs, n);
	return CTL_OK;
}

int ctl_cmd_show(struct ctl *ctl, int argc, char **argv)
{
	if (argc != 2) {
		ctl_error("usage: smimectl show FINGERPRINT");
		return CTL_USAGE;
	}
	struct store_cert *c = NULL;
	int rc = ctl_open_store(ctl, 0);
	if (rc == CTL_OK)
		rc = ctl_find_cert(ctl, argv[1], &c);
	if (rc != CTL_OK)
		return rc;
	char *uri = NULL;
	if (c->key_in_token &&
	    store_key_token_uri(ctl->store, c->fingerprint, &uri) != SMX_OK)
		uri = NULL;
	if (ctl->json) {
		ctl_json_cert_fields(stdout, c);
		ctl_json_revocation(stdout, ctl->store, c->fingerprint);
		fputs(",\"token_uri\":", stdout);
		if (uri != NULL)
			ctl_json_string(stdout, uri);
		else
			fputs("null", stdout);
		fputs("}\n", stdout);
	} else {
		ctl_print_cert_full(stdout, c);
		if (uri != NULL)
			printf("token key:    %s\n", uri);
		ctl_print_revocation(stdout, ctl->store, "revocation:   ",
				     c->fingerprint);
	}
	free(uri);
	store_cert_free(&c);
	return CTL_OK;
}

int ctl_cmd_remove(struct ctl *ctl, int argc, char **argv)
{
	bool force = argc == 3 && strcmp(argv[2], "--force") == 0;
	if (argc != 2 && !force) {
		ctl_error("usage: smimectl remove FINGERPRINT [--force]");
		return CTL_USAGE;
	}
	struct store_cert *c = NULL;
	int rc = ctl_open_store(ctl, 0);
	if (rc == CTL_OK)
		rc = ctl_find_cert(ctl, argv[1], &c);
	if (rc != CTL_OK)
		return rc;
	if (c->has_key && !force) {
		ctl_error("%s: the store holds its private key: export it "
			  "first (export-p12) or add --force", c->fingerprint);
		store_cert_free(&c);
		return CTL_FAIL;
	}
	enum smx_status st = store_cert_remove(ctl->store, c->fingerprint);
	if (st != SMX_OK)
		ctl_error("%s: not removed (%s)", c->fingerprint,
			  smx_status_name(st));
	else if (ctl->json)
		printf("{\"removed\":\"%s\"}\n", c->fingerprint);
	else
		printf("%s: removed%s\n", c->fingerprint,
		       c->has_key ? " with its private key" : "");
	store_cert_free(&c);
	return ctl_exit_of(st) == CTL_OK ? CTL_OK : CTL_FAIL;
}
