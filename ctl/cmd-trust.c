/* SPDX-License-Identifier: BSD-2-Clause */
/* smimectl trust add|list|remove|pin|unpin, and stats. */
#include "ctl.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>

#include <smx/lookup.h>

#include "x509util.h"

static int trust_add_file(struct ctl *ctl, const char *file)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	if (ctl_read_file(file, &buf, &len) != 0)
		return CTL_FAIL;
	/* PEM or DER, one or more certificates. */
	BIO *bio = BIO_new_mem_buf(buf, (int)len);
	X509 *x = NULL;
	int rc = CTL_OK, found = 0;
	bool pem = strstr((const char *)buf, "-----BEGIN") != NULL;
	while (bio != NULL && (x = pem ? PEM_read_bio_X509(bio, NULL, NULL, NULL)
				       : d2i_X509_bio(bio, NULL)) != NULL) {
		unsigned char *der = NULL;
		size_t dlen = smx_x509_to_der(x, &der);
		char fp[65] = "";
		bool created = false;
		enum smx_status st = store_anchor_add(ctl->store, der, dlen, fp,
						      &created);
		found++;
		if (st != SMX_OK) {
			ctl_error("%s: anchor not added (%s)", file,
				  smx_status_name(st));
			rc = ctl_exit_of(st);
		} else if (ctl->json) {
			printf("{\"anchor\":\"%s\",\"new\":%s}\n", fp,
			       created ? "true" : "false");
		} else {
			printf("%s: trust anchor %s %s\n", file, fp,
			       created ? "added" : "already present");
		}
		free(der);
		X509_free(x);
		if (!pem)
			break;
	}
	BIO_free(bio);
	free(buf);
	if (found == 0) {
		ctl_error("%s: no certificate found (PEM or DER expected)", file);
		rc = CTL_FAIL;
	}
	return rc;
}

static int trust_list(struct ctl *ctl)
{
	struct store_anchor *list = NULL;
	size_t n = 0;
	char date[32];
	enum smx_status st = store_anchor_list(ctl->store, &list, &n);
	if (st != SMX_OK) {
		ctl_error("trust list: the store did not answer");
		return ctl_exit_of(st);
	}
	if (ctl->json)
		fputc('[', stdout);
	for (size_t i = 0; i < n; i++) {
		if (ctl->json) {
			printf("%s{\"fingerprint\":\"%s\",\"not_after\":%" PRId64
			       ",\"subject\":", i ? "," : "",
			       list[i].fingerprint, list[i].not_after);
			ctl_json_string(stdout, list[i].subject);
			fputc('}', stdout);
		} else {
			printf("%s  %s  %s\n", list[i].fingerprint,
			       ctl_date(list[i].not_after, date, sizeof(date)),
			       list[i].subject);
		}
	}
	if (ctl->json)
		fputs("]\n", stdout);
	store_anchor_list_free(&list, n);
	return CTL_OK;
}

static int trust_remove(struct ctl *ctl, const char *fp)
{
	enum smx_status st = store_anchor_remove(ctl->store, fp);
	if (st == SMX_NOTFOUND)
		ctl_error("%s: no such trust anchor", fp);
	else if (st != SMX_OK)
		ctl_error("%s: not removed (%s)", fp, smx_status_name(st));
	if (st != SMX_OK)
		return CTL_FAIL;
	printf("%s: trust anchor removed\n", fp);
	/* what the anchor vouched for is no longer trusted, from now on */
	size_t demoted = 0;
	st = lookup_trust_recheck(ctl->store, &ctl->cfg->verify, &demoted);
	if (st != SMX_OK) {
		ctl_error("the stored certificates could not be judged again "
			  "(%s); run the command again", smx_status_name(st));
		return ctl_exit_of(st);
	}
	printf("%zu certificate(s) no longer trusted\n", demoted);
	return CTL_OK;
}

static int trust_pin(struct ctl *ctl, const char *arg, bool pin)
{
	struct store_cert *c = NULL;
	int rc = ctl_find_cert(ctl, arg, &c);
	if (rc != CTL_OK)
		return rc;
	enum store_trust t = pin ? STORE_TRUST_PINNED : STORE_TRUST_NONE;
	enum smx_status st = store_cert_set_trust(ctl->store, c->fingerprint, t);
	if (st != SMX_OK)
		ctl_error("%s: not changed (%s)", c->fingerprint,
			  smx_status_name(st));
	else
		printf("%s: %s\n", c->fingerprint, store_trust_name(t));
	store_cert_free(&c);
	return st == SMX_OK ? CTL_OK : CTL_FAIL;
}

int ctl_cmd_trust(struct ctl *ctl, int argc, char **argv)
{
	const char *sub = argc >= 2 ? argv[1] : "";
	bool one = argc == 3;
	if (!((strcmp(sub, "add") == 0 && argc >= 3) ||
	      (strcmp(sub, "list") == 0 && argc == 2) ||
	      (strcmp(sub, "remove") == 0 && one) ||
	      (strcmp(sub, "pin") == 0 && one) ||
	      (strcmp(sub, "unpin") == 0 && one))) {
		ctl_error("usage: smimectl trust add FILE... | trust list | "
			  "trust remove FINGERPRINT | trust pin|unpin "
			  "FINGERPRINT");
		return CTL_USAGE;
	}
	int rc = ctl_open_store(ctl, 0);
	if (rc != CTL_OK)
		return rc;
	if (strcmp(sub, "list") == 0)
		return trust_list(ctl);
	if (strcmp(sub, "remove") == 0)
		return trust_remove(ctl, argv[2]);
	if (strcmp(sub, "pin") == 0 || strcmp(sub, "unpin") == 0)
		return trust_pin(ctl, argv[2], strcmp(sub, "pin") == 0);
	for (int i = 2; i < argc; i++) {
		int one_rc = trust_add_file(ctl, argv[i]);
		if (one_rc != CTL_OK)
			rc = one_rc;
	}
	return rc;
}

int ctl_cmd_stats(struct ctl *ctl, int argc, char **argv)
{
	(void)argv;
	if (argc != 1) {
		ctl_error("usage: smimectl stats");
		return CTL_USAGE;
	}
	int rc = ctl_open_store(ctl, 0);
	if (rc != CTL_OK)
		return rc;
	struct store_stat *stats = NULL;
	size_t n = 0;
	enum smx_status st = store_stats(ctl->store, time(NULL), &stats, &n);
	if (st != SMX_OK) {
		ctl_error("stats: the store did not answer (%s)",
			  smx_status_name(st));
		return ctl_exit_of(st);
	}
	if (ctl->json)
		fputc('{', stdout);
	for (size_t i = 0; i < n; i++) {
		if (ctl->json) {
			fputs(i ? "," : "", stdout);
			ctl_json_string(stdout, stats[i].name);
			printf(":%" PRId64, stats[i].value);
		} else {
			printf("%-46s %" PRId64 "\n", stats[i].name,
			       stats[i].value);
		}
	}
	if (ctl->json)
		fputs("}\n", stdout);
	store_stats_free(&stats, n);
	return CTL_OK;
}
