/* SPDX-License-Identifier: BSD-2-Clause */
/* smimectl verify FILE: verifies a message file with the milter's own
 * verification code, settings and trust anchors (the configured files
 * and the store's), and prints each signature's result and reason and,
 * apart from it, whether the signer's certificate path is valid and why
 * not. Signers' certificates are checked for revocation as the milter
 * checks them (statuses learned are cached in the store, as the
 * milter's are). Nothing is harvested. */
#include "ctl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <smx/cfg.h>
#include <smx/inbound-verify.h>
#include <smx/msgfile.h>
#include <smx/smime.h>

/* The milter's verifier for the configuration (its settings from
 * inbound_verify_options, as the milter's), with the store's anchors; NULL after printing why. */
static struct smime_verifier *verifier_for(struct ctl *ctl)
{
	struct smime_verify_options o;
	inbound_verify_options(ctl->cfg, &o);
	struct smime_verifier *v = NULL;
	struct smx_error err = { "" };
	struct store_anchor *anchors = NULL;
	size_t n = 0;
	if (smime_verifier_new(&o, &v, &err) != SMX_OK) {
		ctl_error("cannot set up verification: %s", err.text);
		return NULL;
	}
	if (store_anchor_list(ctl->store, &anchors, &n) != SMX_OK) {
		ctl_error("the store did not list its trust anchors");
		smime_verifier_free(&v);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (smime_verifier_add_anchor(v, anchors[i].der,
					      anchors[i].der_len, &err) != SMX_OK)
			ctl_error("trust anchor %s: %s", anchors[i].fingerprint,
				  err.text);
	store_anchor_list_free(&anchors, n);
	return v;
}

static void print_json(const struct smime_verify *vfy)
{
	printf("{\"result\":\"%s\",\"signatures\":[",
	       smime_result_name(smime_verify_result(vfy)));
	for (size_t i = 0; i < smime_verify_signature_count(vfy); i++) {
		const struct smime_signature *s = smime_verify_signature(vfy, i);
		printf("%s{\"result\":\"%s\",\"reason\":", i ? "," : "",
		       smime_result_name(s->result));
		ctl_json_string(stdout, s->comment);
		printf(",\"chain_valid\":%s,\"chain_reason\":",
		       s->chain_trusted ? "true" : "false");
		ctl_json_string(stdout, s->chain_reason ? s->chain_reason
							: "not checked");
		printf(",\"part\":");
		ctl_json_string(stdout, s->part);
		printf(",\"signature_valid\":%s,\"from_match\":%s,\"signer\":",
		       s->signature_valid ? "true" : "false",
		       s->from_match ? "true" : "false");
		ctl_json_string(stdout, s->identifier);
		printf(",\"serial\":");
		ctl_json_string(stdout, s->serial);
		printf(",\"issuer\":");
		ctl_json_string(stdout, s->issuer);
		printf(",\"fingerprint\":");
		ctl_json_string(stdout, s->fingerprint);
		fputc('}', stdout);
	}
	fputs("]}\n", stdout);
}

static void print_text(const struct smime_verify *vfy)
{
	size_t n = smime_verify_signature_count(vfy);
	printf("result: %s (%zu signature%s)\n",
	       smime_result_name(smime_verify_result(vfy)), n,
	       n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		const struct smime_signature *s = smime_verify_signature(vfy, i);
		printf("signature %zu (part %s): %s (%s)\n", i + 1, s->part,
		       smime_result_name(s->result),
		       s->comment ? s->comment : "");
		printf("  certificate path: %s (%s)\n",
		       s->chain_trusted ? "valid" : "not valid",
		       s->chain_reason ? s->chain_reason : "not checked");
		if (s->identifier != NULL)
			printf("  signer: %s serial %s issuer %s\n",
			       s->identifier, s->serial ? s->serial : "-",
			       s->issuer ? s->issuer : "-");
	}
}

int ctl_cmd_verify(struct ctl *ctl, int argc, char **argv)
{
	if (argc != 2) {
		ctl_error("usage: smimectl verify FILE [--json]");
		return CTL_USAGE;
	}
	int rc = ctl_open_store(ctl, 0);
	if (rc != CTL_OK)
		return rc;
	unsigned char *msg = NULL;
	size_t len = 0;
	if (ctl_read_file(argv[1], &msg, &len) != 0)
		return CTL_FAIL;
	struct smime_verifier *v = verifier_for(ctl);
	struct smime_verify *vfy = v ? smime_verify_begin(v) : NULL;
	/* the message as the milter would hold it, with its bounds */
	struct hdrlist *headers = hdrlist_new(HDRLIST_MAX_COUNT,
					      HDRLIST_MAX_BYTES);
	struct spool *body = spool_new(ctl->cfg->milter.spool_threshold,
				       ctl->cfg->milter.spool_directory, 0);
	struct inbound_revocation revocation;	/* the milter's check */
	inbound_verify_revocation(vfy, ctl->store, ctl->cfg, time(NULL),
				  &revocation);
	struct smx_error err = { "" };
	struct smime_verify_msginfo info = { NULL, false };
	rc = CTL_FAIL;
	if (vfy == NULL || headers == NULL || body == NULL)
		goto done;
	if (msgfile_split((const char *)msg, len, headers, body) != 0) {
		ctl_error("%s: cannot store the message: %s", argv[1],
			  strerror(errno));
		goto done;
	}
	if (smime_verify_eom(vfy, headers, body, &info, &err) != SMX_OK) {
		ctl_error("%s: not verified: %s", argv[1], err.text);
		goto done;
	}
	if (ctl->json)
		print_json(vfy);
	else
		print_text(vfy);
	rc = CTL_OK;
done:
	smime_verify_free(&vfy);
	smime_verifier_free(&v);
	hdrlist_free(&headers);
	spool_free(&body);
	free(msg);
	return rc;
}
