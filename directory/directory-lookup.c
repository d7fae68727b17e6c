/* SPDX-License-Identifier: BSD-2-Clause */
/* directory_lookup(): one search with the escaped address, every value of
 * every returned entry parsed, bounded by the DIRECTORY_MAX_* limits. */
#include "directory-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <smx/log.h>

#define ADDRESS_MAX 320

struct lookup_ctx {
	const char *email;
	const char *filter;
	struct directory_result *result;
};

static enum smx_status collect_values(struct lookup_ctx *c, LDAP *ld,
				      LDAPMessage *e, const char *attr,
				      const char *dn)
{
	struct berval **vals = ldap_get_values_len(ld, e, attr);
	int n = ldap_count_values_len(vals);
	enum smx_status st = SMX_OK;
	for (int i = 0; st == SMX_OK && i < n && i < DIRECTORY_MAX_VALUES; i++)
		st = directory_parse_value(c->email, vals[i]->bv_val,
					   vals[i]->bv_len, attr, dn,
					   (long long)time(NULL), c->result);
	if (st == SMX_OK && n > DIRECTORY_MAX_VALUES) {
		char reason[96];
		snprintf(reason, sizeof(reason), "%d more values ignored (limit "
			 "%d per attribute)", n - DIRECTORY_MAX_VALUES,
			 DIRECTORY_MAX_VALUES);
		if (directory_result_add_rejected(c->result, NULL, 0, attr, dn,
						  reason) != 0)
			st = SMX_TEMPFAIL;
	}
	ldap_value_free_len(vals);
	return st;
}

static enum smx_status collect_entry(struct lookup_ctx *c, LDAP *ld,
				     LDAPMessage *e)
{
	char *dn = ldap_get_dn(ld, e);
	BerElement *ber = NULL;
	enum smx_status st = SMX_OK;
	for (char *a = ldap_first_attribute(ld, e, &ber); a != NULL;
	     a = ldap_next_attribute(ld, e, ber)) {
		if (st == SMX_OK)
			st = collect_values(c, ld, e, a, dn ? dn : "");
		ldap_memfree(a);
	}
	ber_free(ber, 0);
	ldap_memfree(dn);
	c->result->n_entries++;
	return st;
}

static enum smx_status lookup_op(struct directory *dir, LDAP *ld,
				 const struct timespec *deadline, void *ctx,
				 struct smx_error *err)
{
	struct lookup_ctx *c = ctx;
	struct timeval tv;
	LDAPMessage *msg = NULL;
	directory_result_clear(c->result);	/* a retry starts afresh */
	if (!directory_op_timeout(ld, deadline, &tv))
		return smx_error_fail(err, SMX_TEMPFAIL, "no time left for the "
				     "search");
	int rc = ldap_search_ext_s(ld, dir->base, LDAP_SCOPE_SUBTREE, c->filter,
				   dir->attrs, 0, NULL, NULL, &tv,
				   DIRECTORY_MAX_ENTRIES, &msg);
	enum smx_status st = SMX_OK;
	if (rc == LDAP_SIZELIMIT_EXCEEDED)
		smx_log(LOG_WARNING, "directory: %s: more than %d entries "
			"match; only the first ones were read", c->email,
			DIRECTORY_MAX_ENTRIES);
	else if (rc != LDAP_SUCCESS)
		st = smx_error_fail(err, SMX_TEMPFAIL, "search under %s: %s",
				   dir->base, ldap_err2string(rc));
	int n = 0;
	for (LDAPMessage *e = msg != NULL ? ldap_first_entry(ld, msg) : NULL;
	     st == SMX_OK && e != NULL && n < DIRECTORY_MAX_ENTRIES;
	     e = ldap_next_entry(ld, e), n++)
		if (collect_entry(c, ld, e) != SMX_OK)
			st = SMX_PERMFAIL;	/* out of memory: not the server */
	ldap_msgfree(msg);
	if (st == SMX_PERMFAIL)
		smx_error_set(err, "out of memory");
	return st;
}

static bool plausible_address(const char *email)
{
	size_t len = strnlen(email, ADDRESS_MAX + 1);
	if (len == 0 || len > ADDRESS_MAX || strchr(email, '@') == NULL)
		return false;
	for (const unsigned char *p = (const unsigned char *)email; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

static enum smx_status finish(struct directory_result *r, const char *email,
			      enum smx_status st)
{
	if (st == SMX_OK && r->n_certs == 0)
		st = SMX_NOTFOUND;
	smx_log(LOG_DEBUG, "directory: %s: %s (%zu entries, %zu certificates, "
		"%zu rejected)%s%s", email, smx_status_name(st), r->n_entries,
		r->n_certs, r->n_rejected,
		smx_error_is_set(&r->error) ? ": " : "", r->error.text);
	for (size_t i = 0; i < r->n_rejected; i++)
		smx_log(LOG_DEBUG, "directory: %s: rejected a value of %s in %s: "
			"%s", email, r->rejected[i].attribute,
			r->rejected[i].dn, r->rejected[i].reason);
	return st;
}

enum smx_status directory_lookup(struct directory *dir, const char *email,
				 struct directory_result **result_r)
{
	struct directory_result *r = calloc(1, sizeof(*r));
	*result_r = r;
	if (r == NULL)
		return SMX_TEMPFAIL;
	if (!plausible_address(email))
		return smx_error_fail(&r->error, SMX_PERMFAIL, "not an email "
				     "address");
	size_t size = strlen(dir->filter) + 3 * strlen(email) *
			(strlen(dir->filter) / 2 + 1) + 1;
	char *filter = malloc(size);
	if (filter == NULL ||
	    directory_filter_format(filter, size, dir->filter, email) < 0) {
		free(filter);
		return smx_error_fail(&r->error, SMX_TEMPFAIL, "cannot build the "
				     "filter");
	}
	struct lookup_ctx c = { .email = email, .filter = filter, .result = r };
	enum smx_status st = directory_run(dir, lookup_op, &c, &r->error);
	free(filter);
	if (st != SMX_OK)
		directory_result_clear(r);
	return finish(r, email, st);
}
