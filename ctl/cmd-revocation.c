/* SPDX-License-Identifier: BSD-2-Clause */
/* Revocation statuses in smimectl: printed by show and lookup, and
 * smimectl revocation refresh [FINGERPRINT|EMAIL], which asks OCSP or
 * the CRLs again now, ignoring the cache (the milter's own library and
 * settings, so the answer is the one mail would get). */
#include "ctl.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <smx/lookup.h>
#include <smx/revocation.h>

static const char *when(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (t <= 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, size, "none");
	return buf;
}

static void print_status(FILE *out, const char *label,
			 const struct store_revstatus *s, time_t now)
{
	char a[40], b[40];
	fprintf(out, "%s%s (%s: %s; checked %s, next update %s%s)\n", label,
		revocation_status_name(s->status), s->source, s->detail,
		when(s->checked_at, a, sizeof(a)),
		when(s->next_update, b, sizeof(b)),
		s->valid_until <= (int64_t)now ? "; to be checked again" : "");
}

void ctl_print_revocation(FILE *out, struct store *store, const char *label,
			  const char *fingerprint)
{
	struct store_revstatus s;
	enum smx_status st = store_revstatus_get(store, fingerprint, &s);
	if (st == SMX_OK)
		print_status(out, label, &s, time(NULL));
	else
		fprintf(out, "%s%s\n", label, st == SMX_NOTFOUND
			? "not checked" : "unknown (the store did not answer)");
}

static void json_status(FILE *out, const struct store_revstatus *s)
{
	char a[40], b[40];
	fprintf(out, "{\"status\":\"%s\",\"source\":",
		revocation_status_name(s->status));
	ctl_json_string(out, s->source);
	fprintf(out, ",\"detail\":");
	ctl_json_string(out, s->detail);
	fprintf(out, ",\"checked\":\"%s\",\"next_update\":",
		when(s->checked_at, a, sizeof(a)));
	if (s->next_update > 0)
		fprintf(out, "\"%s\"", when(s->next_update, b, sizeof(b)));
	else
		fputs("null", out);
	fputc('}', out);
}

void ctl_json_revocation(FILE *out, struct store *store,
			 const char *fingerprint)
{
	struct store_revstatus s;
	fputs(",\"revocation\":", out);
	if (store_revstatus_get(store, fingerprint, &s) == SMX_OK)
		json_status(out, &s);
	else
		fputs("null", out);
}

/* Checks one certificate now; returns -1 when the store failed. */
static int refresh_one(struct ctl *ctl, const struct store_cert *c,
		       bool *first)
{
	struct store_revstatus s;
	time_t now = time(NULL);
	X509 *x = store_cert_x509(c);
	X509 *issuer = lookup_issuer_of(ctl->store, &ctl->cfg->verify, c->der,
					c->der_len);
	enum smx_status st = revocation_check(
		ctl->store, &ctl->cfg->revocation, x, issuer, now,
		now + (time_t)ctl->cfg->revocation.max_wait, REVOCATION_FORCE,
		&s, NULL);
	X509_free(issuer);
	X509_free(x);
	if (ctl->json) {
		printf("%s{\"fingerprint\":\"%s\",\"revocation\":",
		       *first ? "" : ",", c->fingerprint);
		json_status(stdout, &s);
		fputc('}', stdout);
	} else {
		char label[100];
		snprintf(label, sizeof(label), "%.64s: ", c->fingerprint);
		print_status(stdout, label, &s, now);
	}
	*first = false;
	return st == SMX_TEMPFAIL ? -1 : 0;
}

/* The certificates to refresh: one (FINGERPRINT), an address's, or
 * every end-entity certificate in the store. */
static int targets(struct ctl *ctl, const char *arg,
		   struct store_cert ***certs_r, size_t *n_r)
{
	*certs_r = NULL;
	*n_r = 0;
	if (arg != NULL && strchr(arg, '@') == NULL) {
		struct store_cert *c = NULL;
		int rc = ctl_find_cert(ctl, arg, &c);
		if (rc != CTL_OK)
			return rc;
		*certs_r = calloc(1, sizeof(**certs_r));
		if (*certs_r == NULL) {
			store_cert_free(&c);
			return CTL_FAIL;
		}
		(*certs_r)[0] = c;
		*n_r = 1;
		return CTL_OK;
	}
	enum smx_status st = store_cert_list(ctl->store, arg, certs_r, n_r);
	if (st != SMX_OK) {
		ctl_error("the store did not answer");
		return ctl_exit_of(st);
	}
	if (*n_r == 0 && arg != NULL) {
		ctl_error("%s: no certificate in the store", arg);
		return CTL_FAIL;
	}
	return CTL_OK;
}

int ctl_cmd_revocation(struct ctl *ctl, int argc, char **argv)
{
	if (argc < 2 || argc > 3 || strcmp(argv[1], "refresh") != 0) {
		ctl_error("usage: smimectl revocation refresh "
			  "[FINGERPRINT|EMAIL]");
		return CTL_USAGE;
	}
	struct store_cert **certs = NULL;
	size_t n = 0;
	int rc = ctl_open_store(ctl, 0);
	if (rc == CTL_OK)
		rc = targets(ctl, argc == 3 ? argv[2] : NULL, &certs, &n);
	if (rc != CTL_OK)
		return rc;
	bool first = true;
	if (ctl->json)
		printf("{\"certificates\":[");
	for (size_t i = 0; i < n; i++) {
		/* all of them: the CAs are checked along inbound chains */
		if (argc == 2 && certs[i]->is_ca)
			continue;
		if (refresh_one(ctl, certs[i], &first) != 0)
			rc = CTL_FAIL;
	}
	if (ctl->json)
		printf("]}\n");
	store_cert_list_free(&certs, n);
	return rc;
}
