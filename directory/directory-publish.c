/* SPDX-License-Identifier: BSD-2-Clause */
/* directory_publish(): the certificates the gateway holds written to the
 * user's entry, userCertificate;binary (DER values) and
 * userSMIMECertificate (one PKCS#7 certs-only blob of the same set).
 * The new state is computed from what the entry holds now, so a second
 * run finds nothing to change. */
#include "directory-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/objects.h>
#include <openssl/pkcs7.h>

#include <smx/log.h>
#include <smx/x509.h>

#define ATTR_CERT "userCertificate;binary"
#define ATTR_SMIME "userSMIMECertificate"

/* A list of values (bytes, copied). */
struct blobs {
	struct berval *v;
	size_t n;
};

struct publish_ctx {
	const char *email;
	const char *filter;
	bool dry_run;
	STACK_OF(X509) *given;
	struct directory_changes *changes;
	struct blobs certs_now;		/* userCertificate values now */
	struct blobs smime_now;		/* userSMIMECertificate values now */
	struct blobs certs_new;		/* the state to write */
};

static void blobs_clear(struct blobs *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i].bv_val);
	free(b->v);
	b->v = NULL;
	b->n = 0;
}

static bool blobs_has(const struct blobs *b, const void *p, size_t len)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->v[i].bv_len == len && memcmp(b->v[i].bv_val, p, len) == 0)
			return true;
	return false;
}

/* Appends a copy unless the same bytes are there. 0, or -1 (memory). */
static int blobs_add(struct blobs *b, const void *p, size_t len)
{
	if (blobs_has(b, p, len))
		return 0;
	struct berval *grown = realloc(b->v, (b->n + 1) * sizeof(*grown));
	if (grown == NULL)
		return -1;
	b->v = grown;
	char *copy = malloc(len ? len : 1);
	if (copy == NULL)
		return -1;
	memcpy(copy, p, len);
	b->v[b->n].bv_val = copy;
	b->v[b->n].bv_len = (ber_len_t)len;
	b->n++;
	return 0;
}

static int add_change(struct directory_changes *c, enum directory_change_op op,
		      const char *attribute, char *what, const char *reason)
{
	struct directory_change *grown =
		realloc(c->items, (c->count + 1) * sizeof(*grown));
	if (grown == NULL || what == NULL) {
		free(what);
		if (grown != NULL)
			c->items = grown;
		return -1;
	}
	c->items = grown;
	struct directory_change *ch = &c->items[c->count++];
	ch->op = op;
	ch->what = what;
	ch->attribute = strdup(attribute);
	ch->reason = strdup(reason);
	return ch->attribute && ch->reason ? 0 : -1;
}

/* One DER certificate exactly, or NULL. */
static X509 *parse_der(const void *p, size_t len)
{
	return smx_x509_parse(p, len, NULL, 0);
}

/* True when a given certificate is a newer one from the same issuer for
 * the same subject. */
static bool replaced_by(X509 *old, STACK_OF(X509) *given)
{
	for (int i = 0; i < sk_X509_num(given); i++) {
		X509 *g = sk_X509_value(given, i);
		if (X509_NAME_cmp(X509_get_issuer_name(old),
				  X509_get_issuer_name(g)) == 0 &&
		    X509_NAME_cmp(X509_get_subject_name(old),
				  X509_get_subject_name(g)) == 0 &&
		    ASN1_TIME_compare(X509_get0_notBefore(old),
				      X509_get0_notBefore(g)) < 0)
			return true;
	}
	return false;
}

/* Decides the fate of one value the entry holds now. */
static int plan_existing(struct publish_ctx *c, const struct berval *v,
			 time_t now)
{
	if (blobs_has(&c->certs_new, v->bv_val, v->bv_len))
		return 0;	/* also given: stays */
	X509 *x = parse_der(v->bv_val, v->bv_len);
	int rc = 0;
	if (x == NULL)	/* not ours to judge: kept as it is */
		return blobs_add(&c->certs_new, v->bv_val, v->bv_len);
	if (X509_cmp_time(X509_get0_notAfter(x), &now) <= 0)
		rc = add_change(c->changes, DIRECTORY_CHANGE_REMOVE, ATTR_CERT,
				directory_cert_describe(x), "expired");
	else if (replaced_by(x, c->given))
		rc = add_change(c->changes, DIRECTORY_CHANGE_REMOVE, ATTR_CERT,
				directory_cert_describe(x),
				"replaced by a newer certificate");
	else
		rc = blobs_add(&c->certs_new, v->bv_val, v->bv_len);
	X509_free(x);
	return rc;
}

static int plan_certs(struct publish_ctx *c)
{
	time_t now = time(NULL);
	for (int i = 0; i < sk_X509_num(c->given); i++) {
		X509 *x = sk_X509_value(c->given, i);
		size_t len = 0;
		unsigned char *der = directory_cert_der(x, &len);
		int rc = der != NULL ? 0 : -1;
		if (rc == 0 && !blobs_has(&c->certs_now, der, len))
			rc = add_change(c->changes, DIRECTORY_CHANGE_ADD,
					ATTR_CERT, directory_cert_describe(x),
					"new");
		if (rc == 0)
			rc = blobs_add(&c->certs_new, der, len);
		free(der);
		if (rc != 0)
			return -1;
	}
	for (size_t i = 0; i < c->certs_now.n; i++)
		if (plan_existing(c, &c->certs_now.v[i], now) != 0)
			return -1;
	return 0;
}

/* --- userSMIMECertificate ------------------------------------------- */

/* A PKCS#7 certs-only SignedData of every certificate in set. */
static int build_pkcs7(const struct blobs *set, struct berval *out)
{
	PKCS7 *p7 = PKCS7_new();
	unsigned char *der = NULL;
	int len = -1;
	if (p7 == NULL || !PKCS7_set_type(p7, NID_pkcs7_signed))
		goto out;
	/* content type data, content absent: what crl2pkcs7 and Outlook
	 * write */
	ASN1_OBJECT_free(p7->d.sign->contents->type);
	p7->d.sign->contents->type = OBJ_nid2obj(NID_pkcs7_data);
	for (size_t i = 0; i < set->n; i++) {
		X509 *x = parse_der(set->v[i].bv_val, set->v[i].bv_len);
		int ok = x == NULL || PKCS7_add_certificate(p7, x);
		X509_free(x);
		if (!ok)
			goto out;
	}
	len = i2d_PKCS7(p7, &der);
	if (len > 0 && (out->bv_val = malloc((size_t)len)) != NULL) {
		memcpy(out->bv_val, der, (size_t)len);
		out->bv_len = (ber_len_t)len;
	} else {
		len = -1;
	}
out:
	OPENSSL_free(der);
	PKCS7_free(p7);
	return len > 0 ? 0 : -1;
}

/* True when the blob holds exactly the certificates of set. */
static bool pkcs7_matches(const struct berval *v, const struct blobs *set,
			  size_t *n_r)
{
	bool truncated;
	STACK_OF(X509) *certs = directory_value_certs(v->bv_val, v->bv_len,
						      &truncated);
	size_t n_certs = 0;
	for (size_t i = 0; i < set->n; i++) {
		X509 *x = parse_der(set->v[i].bv_val, set->v[i].bv_len);
		n_certs += x != NULL;
		X509_free(x);
	}
	bool same = certs != NULL && !truncated &&
		    (size_t)sk_X509_num(certs) == n_certs;
	for (int i = 0; same && i < sk_X509_num(certs); i++) {
		size_t len = 0;
		unsigned char *der = directory_cert_der(sk_X509_value(certs, i),
							&len);
		same = der != NULL && blobs_has(set, der, len);
		free(der);
	}
	*n_r = certs != NULL ? (size_t)sk_X509_num(certs) : 0;
	sk_X509_pop_free(certs, X509_free);
	return same;
}

/* Returns 1 when userSMIMECertificate must be rewritten, 0 when it is
 * up to date, -1 when memory ran out. */
static int plan_smime(struct publish_ctx *c)
{
	size_t n = 0;
	if (c->smime_now.n == 1 &&
	    pkcs7_matches(&c->smime_now.v[0], &c->certs_new, &n))
		return 0;
	for (size_t i = 0; i < c->smime_now.n; i++) {
		pkcs7_matches(&c->smime_now.v[i], &c->certs_new, &n);
		if (add_change(c->changes, DIRECTORY_CHANGE_REMOVE, ATTR_SMIME,
			       directory_strdupf("PKCS#7 with %zu certificates",
						 n),
			       "certificate set changed") != 0)
			return -1;
	}
	size_t n_new = 0;
	for (size_t i = 0; i < c->certs_new.n; i++) {
		X509 *x = parse_der(c->certs_new.v[i].bv_val,
				    c->certs_new.v[i].bv_len);
		n_new += x != NULL;
		X509_free(x);
	}
	if (add_change(c->changes, DIRECTORY_CHANGE_ADD, ATTR_SMIME,
		       directory_strdupf("PKCS#7 with %zu certificates", n_new),
		       c->smime_now.n ? "certificate set changed" : "new") != 0)
		return -1;
	return 1;
}

/* --- the entry ------------------------------------------------------- */

static bool attr_is(const char *attr, const char *name)
{
	size_t len = strlen(name);
	return strncasecmp(attr, name, len) == 0 &&
	       (attr[len] == '\0' || attr[len] == ';');
}

static int read_entry(struct publish_ctx *c, LDAP *ld, LDAPMessage *e)
{
	BerElement *ber = NULL;
	int rc = 0;
	char *dn = ldap_get_dn(ld, e);
	c->changes->dn = strdup(dn ? dn : "");
	ldap_memfree(dn);
	for (char *a = ldap_first_attribute(ld, e, &ber); a != NULL;
	     a = ldap_next_attribute(ld, e, ber)) {
		struct blobs *into = attr_is(a, "userCertificate") ? &c->certs_now
				     : attr_is(a, ATTR_SMIME) ? &c->smime_now
							      : NULL;
		struct berval **vals = ldap_get_values_len(ld, e, a);
		for (int i = 0; into && rc == 0 && vals && vals[i]; i++)
			rc = blobs_add(into, vals[i]->bv_val, vals[i]->bv_len);
		ldap_value_free_len(vals);
		ldap_memfree(a);
	}
	ber_free(ber, 0);
	return c->changes->dn != NULL ? rc : -1;
}

static enum smx_status find_entry(struct directory *dir, LDAP *ld,
				  struct publish_ctx *c, struct timeval *tv,
				  struct smx_error *err)
{
	char attr_cert[] = ATTR_CERT, attr_smime[] = ATTR_SMIME;
	char *attrs[] = { attr_cert, attr_smime, NULL };
	LDAPMessage *msg = NULL;
	int rc = ldap_search_ext_s(ld, dir->base, LDAP_SCOPE_SUBTREE, c->filter,
				   attrs, 0, NULL, NULL, tv, 2, &msg);
	int n = rc == LDAP_SUCCESS ? ldap_count_entries(ld, msg) : 0;
	enum smx_status st = SMX_OK;
	if (rc == LDAP_SIZELIMIT_EXCEEDED || n > 1)
		st = smx_error_fail(err, SMX_PERMFAIL, "%s: several entries "
				   "match", c->email);
	else if (rc != LDAP_SUCCESS)
		st = smx_error_fail(err, directory_rc_is_transient(rc)
						? SMX_TEMPFAIL : SMX_PERMFAIL,
				   "search under %s: %s", dir->base,
				   ldap_err2string(rc));
	else if (n == 0)
		st = smx_error_fail(err, SMX_NOTFOUND, "%s: no entry matches",
				   c->email);
	else if (read_entry(c, ld, ldap_first_entry(ld, msg)) != 0)
		st = smx_error_fail(err, SMX_PERMFAIL, "out of memory");
	ldap_msgfree(msg);
	return st;
}

static enum smx_status write_entry(LDAP *ld, struct publish_ctx *c,
				   bool certs_changed, struct berval *p7,
				   struct smx_error *err)
{
	static char attr_cert[] = ATTR_CERT, attr_smime[] = ATTR_SMIME;
	struct berval *cert_vals[DIRECTORY_MAX_VALUES * 2 + 1];
	if (c->certs_new.n > DIRECTORY_MAX_VALUES * 2)
		return smx_error_fail(err, SMX_PERMFAIL, "%s: too many "
				     "certificates", c->email);
	for (size_t i = 0; i < c->certs_new.n; i++)
		cert_vals[i] = &c->certs_new.v[i];
	cert_vals[c->certs_new.n] = NULL;
	struct berval *smime_vals[] = { p7, NULL };
	LDAPMod mod_cert = { .mod_op = LDAP_MOD_REPLACE | LDAP_MOD_BVALUES,
			     .mod_type = attr_cert,
			     .mod_vals.modv_bvals = cert_vals };
	LDAPMod mod_smime = { .mod_op = LDAP_MOD_REPLACE | LDAP_MOD_BVALUES,
			      .mod_type = attr_smime,
			      .mod_vals.modv_bvals = smime_vals };
	LDAPMod *mods[3] = { NULL, NULL, NULL };
	size_t m = 0;
	if (certs_changed)
		mods[m++] = &mod_cert;
	if (p7 != NULL)
		mods[m++] = &mod_smime;
	int rc = ldap_modify_ext_s(ld, c->changes->dn, mods, NULL, NULL);
	if (rc == LDAP_SUCCESS)
		return SMX_OK;
	return smx_error_fail(err, directory_rc_is_transient(rc) ? SMX_TEMPFAIL
							       : SMX_PERMFAIL,
			     "modify %s: %s", c->changes->dn,
			     ldap_err2string(rc));
}

/* --- the operation --------------------------------------------------- */

static void reset(struct publish_ctx *c)
{
	blobs_clear(&c->certs_now);
	blobs_clear(&c->smime_now);
	blobs_clear(&c->certs_new);
	directory_changes_free(&c->changes);
	c->changes = calloc(1, sizeof(*c->changes));
}

static enum smx_status publish_op(struct directory *dir, LDAP *ld,
				  const struct timespec *deadline, void *ctx,
				  struct smx_error *err)
{
	struct publish_ctx *c = ctx;
	struct timeval tv;
	struct berval p7 = { 0, NULL };
	reset(c);	/* a retry starts afresh */
	if (c->changes == NULL)
		return SMX_PERMFAIL;
	if (!directory_op_timeout(ld, deadline, &tv))
		return smx_error_fail(err, SMX_TEMPFAIL, "no time left for the "
				     "search");
	enum smx_status st = find_entry(dir, ld, c, &tv, err);
	if (st != SMX_OK)
		return st;
	int smime = -1;
	bool certs_changed = false;
	if (plan_certs(c) == 0) {
		certs_changed = c->changes->count > 0;
		smime = plan_smime(c);
	}
	if (smime < 0 || (smime == 1 && build_pkcs7(&c->certs_new, &p7) != 0))
		st = smx_error_fail(err, SMX_PERMFAIL, "out of memory");
	else if (c->changes->count == 0 || c->dry_run)
		st = SMX_OK;
	else if (!directory_op_timeout(ld, deadline, &tv))
		st = smx_error_fail(err, SMX_TEMPFAIL, "no time left for the "
				   "change");
	else
		st = write_entry(ld, c, certs_changed, smime == 1 ? &p7 : NULL,
				 err);
	free(p7.bv_val);
	return st;
}

/* Every given certificate must be one, name email and be valid now. */
static enum smx_status check_given(const char *email,
				   const struct directory_blob *certs, size_t n,
				   STACK_OF(X509) *given,
				   struct smx_error *err)
{
	if (n == 0)
		return smx_error_fail(err, SMX_PERMFAIL, "%s: no certificate to "
				     "publish", email);
	for (size_t i = 0; i < n; i++) {
		X509 *x = parse_der(certs[i].der, certs[i].len);
		bool oom = false;
		char *problem = x != NULL ? directory_cert_problem(
						    x, email, time(NULL), &oom)
					  : NULL;
		if (x == NULL || problem != NULL || oom) {
			smx_error_set(err, "%s: certificate %zu: %s", email,
				      i + 1,
				      x == NULL ? "not a DER certificate"
				      : problem ? problem : "out of memory");
			free(problem);
			X509_free(x);
			return SMX_PERMFAIL;
		}
		if (!sk_X509_push(given, x)) {
			X509_free(x);
			return SMX_PERMFAIL;
		}
	}
	return SMX_OK;
}

static void log_changes(const struct directory_changes *c, const char *email,
			bool dry_run)
{
	for (size_t i = 0; i < c->count; i++)
		smx_log(LOG_INFO, "directory: %s%s: %s %s %s: %s (%s)",
			dry_run ? "dry run: " : "", email,
			c->items[i].op == DIRECTORY_CHANGE_ADD ? "add to"
							       : "remove from",
			c->dn, c->items[i].attribute, c->items[i].what,
			c->items[i].reason);
}

enum smx_status directory_publish(struct directory *dir, const char *email,
				  const struct directory_blob *certs,
				  size_t n_certs, bool dry_run,
				  struct directory_changes **changes_r)
{
	struct publish_ctx c = { .email = email, .dry_run = dry_run };
	enum smx_status st = SMX_PERMFAIL;
	struct smx_error error = { "" };
	char *filter = NULL;
	size_t size = strlen(dir->filter) * (3 * strlen(email) + 1) + 1;
	c.changes = calloc(1, sizeof(*c.changes));
	c.given = sk_X509_new_null();
	if (c.changes == NULL || c.given == NULL ||
	    (filter = malloc(size)) == NULL)
		goto out;
	if (!dir->publish && !dry_run) {
		st = smx_error_fail(&error, SMX_CONFIG, "publishing is off "
				   "(ldap.publish)");
		goto out;
	}
	if ((st = check_given(email, certs, n_certs, c.given, &error)) != SMX_OK)
		goto out;
	if (directory_filter_format(filter, size, dir->filter, email) < 0) {
		st = smx_error_fail(&error, SMX_PERMFAIL, "cannot build the "
				   "filter");
		goto out;
	}
	c.filter = filter;
	st = directory_run(dir, publish_op, &c, &error);
	if (st == SMX_OK && c.changes != NULL)
		log_changes(c.changes, email, dry_run);
out:
	if (c.changes != NULL)
		c.changes->error = error;
	*changes_r = c.changes;
	blobs_clear(&c.certs_now);
	blobs_clear(&c.smime_now);
	blobs_clear(&c.certs_new);
	sk_X509_pop_free(c.given, X509_free);
	free(filter);
	return c.changes != NULL ? st : SMX_TEMPFAIL;
}
