/* SPDX-License-Identifier: BSD-2-Clause */
/* smimectl verify FILE: verifies a message file with the milter's own
 * verification code, settings and trust anchors (the configured files
 * and the store's), and prints each signature's result and reason and,
 * apart from it, whether the signer's certificate path is valid and why
 * not. Signers' certificates are checked for revocation as the milter
 * checks them (statuses learned are cached in the store, as the
 * milter's are). Nothing is harvested. */
#include "ctl.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <smx/cfg.h>
#include <smx/inbound-verify.h>
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

/* Gives the header fields of msg to vfy as the milter receives them
 * (name; value after the colon with folding kept as LF, CRs dropped).
 * A leading mbox "From " line is skipped. Returns the body's offset. */
static size_t feed_headers(struct smime_verify *vfy, const char *msg,
			   size_t len)
{
	size_t pos = 0;
	if (len >= 5 && strncmp(msg, "From ", 5) == 0)
		pos = strcspn(msg, "\n") + 1;
	while (pos < len && msg[pos] != '\r' && msg[pos] != '\n') {
		size_t start = pos, end;
		do {	/* the field with its continuation lines */
			pos += strcspn(msg + pos, "\n");
			end = pos;
			if (pos < len)
				pos++;
		} while (pos < len && (msg[pos] == ' ' || msg[pos] == '\t'));
		char *field = strndup(msg + start, end - start);
		char *colon = field ? strchr(field, ':') : NULL;
		if (colon != NULL) {
			*colon = '\0';
			char *w = colon + 1;
			for (char *r = colon + 1; *r != '\0'; r++)
				if (*r != '\r')
					*w++ = *r;
			*w = '\0';
			(void)smime_verify_header(vfy, field, colon + 1);
		}
		free(field);
	}
	if (pos < len && msg[pos] == '\r')
		pos++;
	if (pos < len && msg[pos] == '\n')
		pos++;
	return pos > len ? len : pos;
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
	struct inbound_revocation revocation;	/* the milter's check */
	inbound_verify_revocation(vfy, ctl->store, ctl->cfg, time(NULL),
				  &revocation);
	struct smx_error err = { "" };
	struct smime_verify_msginfo info = { NULL, false };
	rc = CTL_FAIL;
	if (vfy == NULL)
		goto done;
	size_t body = feed_headers(vfy, (const char *)msg, len);
	if (smime_verify_body(vfy, msg + body, len - body) != SMX_OK ||
	    smime_verify_eom(vfy, &info, &err) != SMX_OK) {
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
	free(msg);
	return rc;
}
