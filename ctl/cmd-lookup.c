/* SPDX-License-Identifier: BSD-2-Clause */
/* smimectl lookup EMAIL: the certificates encryption to an address would
 * use (the milter's own search with revocation checking,
 * lookup_encrypt_certs_checked) and why every other candidate was
 * rejected, with each one's revocation status. smimectl publish EMAIL [--dry-run]: writes an
 * internal user's certificates to their directory entry. */
#include "ctl.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <smx/directory.h>
#include <smx/lookup.h>

/* Opens the directory when ldap.uri is set (*dir_r NULL otherwise).
 * Returns CTL_OK or CTL_USAGE after printing why. */
static int open_directory(struct ctl *ctl, struct directory **dir_r)
{
	struct smx_error error = { "" };
	*dir_r = NULL;
	if (ctl->cfg->ldap.n_uri == 0)
		return CTL_OK;
	if (directory_open(&ctl->cfg->ldap, 1, dir_r, &error) != SMX_OK) {
		ctl_error("%s: ldap: %s", ctl->config_path,
			  smx_error_text(&error, "cannot set up the directory "
					 "client"));
		return CTL_USAGE;
	}
	return CTL_OK;
}

/* Whether the store judged the candidate (so its trust means something);
 * values the directory refused never reached the store. */
static bool judged_by_store(const struct lookup_candidate *c)
{
	return c->cert != NULL && (c->usable || c->reject != STORE_USABLE);
}

static void print_candidate(struct store *store,
			    const struct lookup_candidate *c)
{
	char date[32];
	const struct store_cert *x = c->cert;
	printf("  %-9s %s  from %s%s%s\n", c->usable ? "use" : "rejected",
	       x ? x->fingerprint : "(not a certificate)",
	       lookup_origin_name(c->origin), c->usable ? "" : ": ",
	       c->usable ? "" : c->reason);
	if (x != NULL)
		printf("            %s, expires %s%s%s%s\n", x->subject,
		       ctl_date(x->not_after, date, sizeof(date)),
		       judged_by_store(c) ? ", " : "",
		       judged_by_store(c) ? store_trust_name(x->trust) : "",
		       c->preferred ? ", preferred by its owner" : "");
	if (x != NULL && judged_by_store(c))
		ctl_print_revocation(stdout, store, "            revocation: ",
				     x->fingerprint);
	if (c->dn != NULL)
		printf("            entry %s, %s\n", c->dn,
		       c->attribute ? c->attribute : "?");
}

static void json_opt(const char *key, const char *value, bool comma)
{
	printf("%s\"%s\":", comma ? "," : "", key);
	if (value != NULL)
		ctl_json_string(stdout, value);
	else
		fputs("null", stdout);
}

static void json_candidate(struct store *store,
			   const struct lookup_candidate *c)
{
	char date[32];
	const struct store_cert *x = c->cert;
	fputc('{', stdout);
	json_opt("fingerprint", x ? x->fingerprint : NULL, false);
	json_opt("subject", x ? x->subject : NULL, true);
	json_opt("expires", x ? ctl_date(x->not_after, date, sizeof(date))
			      : NULL, true);
	json_opt("trust", judged_by_store(c) ? store_trust_name(x->trust)
					     : NULL, true);
	json_opt("source", lookup_origin_name(c->origin), true);
	printf(",\"usable\":%s,\"preferred\":%s", c->usable ? "true" : "false",
	       c->preferred ? "true" : "false");
	json_opt("reason", c->reason, true);
	json_opt("dn", c->dn, true);
	json_opt("attribute", c->attribute, true);
	if (x != NULL && judged_by_store(c))
		ctl_json_revocation(stdout, store, x->fingerprint);
	fputc('}', stdout);
}

static void print_result(const struct ctl *ctl, const char *email,
			 const struct lookup_result *r)
{
	if (ctl->json) {
		printf("{\"email\":");
		ctl_json_string(stdout, email);
		printf(",\"answer\":\"%s\",\"directory_asked\":%s",
		       lookup_answer_name(r->answer),
		       r->directory_asked ? "true" : "false");
		json_opt("error", smx_error_text(&r->error, NULL), true);
		printf(",\"certificates\":[");
		for (size_t i = 0; i < r->count; i++) {
			fputs(i ? "," : "", stdout);
			json_candidate(ctl->store, &r->items[i]);
		}
		printf("]}\n");
		return;
	}
	if (r->answer == LOOKUP_AVAILABLE)
		printf("%s: %zu usable certificate%s\n", email, r->n_usable,
		       r->n_usable == 1 ? "" : "s");
	else
		printf("%s: %s\n", email, r->answer == LOOKUP_MISSING
		       ? "no usable certificate" : "unknown");
	for (size_t i = 0; i < r->count; i++)
		print_candidate(ctl->store, &r->items[i]);
}

int ctl_cmd_lookup(struct ctl *ctl, int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-') {
		ctl_error("usage: smimectl lookup EMAIL");
		return CTL_USAGE;
	}
	const char *email = argv[1];
	struct directory *dir = NULL;
	struct lookup_result *r = NULL;
	int rc = ctl_open_store(ctl, 0);
	if (rc == CTL_OK)
		rc = open_directory(ctl, &dir);
	if (rc != CTL_OK)
		return rc;
	enum lookup_answer a = lookup_encrypt_certs_checked(
		ctl->store, &ctl->cfg->verify, &ctl->cfg->revocation, dir,
		&ctl->cfg->ldap, email, time(NULL), 0, &r);
	if (r != NULL)
		print_result(ctl, email, r);
	if (a == LOOKUP_MISSING)
		ctl_error("%s: no usable encryption certificate (asked: the "
			  "store%s)", email, dir == NULL
			  ? "; no directory is configured"
			  : r->directory_asked ? " and the directory"
			  : " and the directory cache");
	else if (a == LOOKUP_UNKNOWN)
		ctl_error("%s: cannot tell whether it has a certificate: %s",
			  email, r != NULL ? smx_error_text(&r->error,
							    "out of memory")
				      : "out of memory");
	lookup_result_free(&r);
	directory_free(&dir);
	return a == LOOKUP_AVAILABLE ? CTL_OK : CTL_FAIL;
}

/* Our users' identities for email: usable for encryption, imported or
 * issued, with the private key held. */
static int identity_certs(struct ctl *ctl, const char *email,
			  struct store_selection **sel_r,
			  struct directory_blob **blobs_r, size_t *n_r)
{
	enum smx_status st = store_select(ctl->store, email,
					  STORE_PURPOSE_ENCRYPT, time(NULL),
					  sel_r);
	if (st == SMX_TEMPFAIL) {
		ctl_error("%s: the store did not answer", email);
		return CTL_FAIL;
	}
	struct store_selection *sel = *sel_r;
	*blobs_r = calloc(sel->n_usable + 1, sizeof(**blobs_r));
	if (*blobs_r == NULL) {
		ctl_error("%s: out of memory", email);
		return CTL_FAIL;
	}
	*n_r = 0;
	for (size_t i = 0; i < sel->n_usable; i++) {
		const struct store_cert *c = sel->items[i].cert;
		if (c->has_key && (c->source == STORE_SOURCE_IMPORTED ||
				   c->source == STORE_SOURCE_ISSUED))
			(*blobs_r)[(*n_r)++] = (struct directory_blob){
				c->der, c->der_len };
	}
	if (*n_r == 0) {
		ctl_error("%s: nothing to publish: no usable certificate with "
			  "a private key (imported or issued) in the store",
			  email);
		return CTL_FAIL;
	}
	return CTL_OK;
}

static void print_changes(const struct ctl *ctl, const char *email,
			  const struct directory_changes *ch, bool dry_run)
{
	if (ctl->json) {
		printf("{\"email\":");
		ctl_json_string(stdout, email);
		json_opt("dn", ch->dn, true);
		printf(",\"dry_run\":%s,\"changed\":%s,\"changes\":[",
		       dry_run ? "true" : "false",
		       ch->count > 0 && !dry_run ? "true" : "false");
		for (size_t i = 0; i < ch->count; i++) {
			const struct directory_change *c = &ch->items[i];
			printf("%s{\"op\":\"%s\"", i ? "," : "",
			       c->op == DIRECTORY_CHANGE_ADD ? "add" : "remove");
			json_opt("attribute", c->attribute, true);
			json_opt("what", c->what, true);
			json_opt("reason", c->reason, true);
			fputc('}', stdout);
		}
		printf("]}\n");
		return;
	}
	if (ch->count == 0) {
		printf("%s: %s is up to date: no change\n", email,
		       ch->dn ? ch->dn : "the entry");
		return;
	}
	printf("%s: %s%s\n", email, ch->dn ? ch->dn : "the entry",
	       dry_run ? " (dry run: nothing written)" : " updated");
	for (size_t i = 0; i < ch->count; i++) {
		const struct directory_change *c = &ch->items[i];
		printf("  %s%-6s %s: %s (%s)\n", dry_run ? "would " : "",
		       c->op == DIRECTORY_CHANGE_ADD ? "add" : "remove",
		       c->attribute, c->what, c->reason);
	}
}

int ctl_cmd_publish(struct ctl *ctl, int argc, char **argv)
{
	bool dry_run = argc == 3 && strcmp(argv[2], "--dry-run") == 0;
	if ((argc != 2 && !dry_run) || argv[1][0] == '-') {
		ctl_error("usage: smimectl publish EMAIL [--dry-run]");
		return CTL_USAGE;
	}
	const char *email = argv[1];
	struct directory *dir = NULL;
	struct store_selection *sel = NULL;
	struct directory_blob *blobs = NULL;
	struct directory_changes *ch = NULL;
	size_t n = 0;
	int rc = ctl_open_store(ctl, 0);
	if (rc == CTL_OK && ctl->cfg->ldap.n_uri == 0) {
		ctl_error("%s: no directory is configured (ldap.uri)",
			  ctl->config_path);
		rc = CTL_USAGE;
	}
	if (rc == CTL_OK)
		rc = open_directory(ctl, &dir);
	if (rc == CTL_OK)
		rc = identity_certs(ctl, email, &sel, &blobs, &n);
	if (rc != CTL_OK)
		goto done;
	enum smx_status st = directory_publish(dir, email, blobs, n, dry_run,
					       &ch);
	if (st == SMX_OK && ch != NULL) {
		print_changes(ctl, email, ch, dry_run);
	} else if (st == SMX_CONFIG) {
		ctl_error("%s: %s: publishing is off (set ldap.publish = true; "
			  "--dry-run works without it)", email,
			  ctl->config_path);
	} else {
		ctl_error("%s: not published (%s): %s", email,
			  smx_status_name(st),
			  smx_error_text(ch != NULL ? &ch->error : NULL,
					 st == SMX_NOTFOUND
						 ? "no directory entry matches"
						 : "error"));
	}
	rc = st == SMX_OK && ch != NULL ? CTL_OK : ctl_exit_of(st);
	if (rc == CTL_OK && (st != SMX_OK || ch == NULL))
		rc = CTL_FAIL;
done:
	directory_changes_free(&ch);
	free(blobs);
	store_selection_free(&sel);
	directory_free(&dir);
	return rc;
}
