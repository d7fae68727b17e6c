/* SPDX-License-Identifier: BSD-2-Clause */
/* The directory client's life cycle: settings copied from the
 * configuration, the pool created empty (connections come on demand). */
#include "directory-private.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_POOL_SIZE 4

const char *directory_library_version(char *buf, size_t size)
{
	LDAPAPIInfo info = { .ldapai_info_version = LDAP_API_INFO_VERSION };
	if (ldap_get_option(NULL, LDAP_OPT_API_INFO, &info) !=
	    LDAP_OPT_SUCCESS) {
		snprintf(buf, size, "LDAP (unknown version)");
		return buf;
	}
	snprintf(buf, size, "%s %d.%d.%d", info.ldapai_vendor_name,
		 info.ldapai_vendor_version / 10000,
		 info.ldapai_vendor_version / 100 % 100,
		 info.ldapai_vendor_version % 100);
	ldap_memfree(info.ldapai_vendor_name);
	ber_memvfree((void **)info.ldapai_extensions);
	return buf;
}

static void free_strings(char **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* A NULL-terminated copy of n strings, or NULL. */
static char **copy_strings(char *const *v, size_t n)
{
	char **copy = calloc(n + 1, sizeof(*copy));
	for (size_t i = 0; copy != NULL && i < n; i++) {
		if ((copy[i] = strdup(v[i])) == NULL) {
			free_strings(copy, i);
			copy = NULL;
		}
	}
	return copy;
}

static int dup_or_null(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL)
		return 0;
	*dst = strdup(src);
	return *dst != NULL ? 0 : -1;
}

static int copy_settings(struct directory *dir, const struct cfg_ldap *cfg)
{
	dir->n_uris = cfg->n_uri;
	if ((dir->uris = copy_strings(cfg->uri, cfg->n_uri)) == NULL ||
	    (dir->attrs = copy_strings(cfg->attributes, cfg->n_attributes)) ==
		    NULL ||
	    dup_or_null(&dir->bind_dn, cfg->bind_dn) != 0 ||
	    dup_or_null(&dir->password_file, cfg->bind_password_file) != 0 ||
	    dup_or_null(&dir->ca_file, cfg->ca_file) != 0 ||
	    dup_or_null(&dir->base, cfg->base) != 0 ||
	    dup_or_null(&dir->filter, cfg->filter) != 0)
		return -1;
	dir->starttls = cfg->starttls;
	dir->publish = cfg->publish;
	dir->timeout_ms = (long)cfg->timeout * 1000;
	return 0;
}

/* libldap writes to sockets with write(): a server that went away must
 * not kill the process with SIGPIPE. libmilter ignores it already; this
 * covers the tools. A handler someone installed is left alone. */
static void ignore_sigpipe(void)
{
	struct sigaction old;
	if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);
}

enum smx_status directory_open(const struct cfg_ldap *cfg, unsigned pool_size,
			       struct directory **dir_r,
			       struct smx_error *err)
{
	*dir_r = NULL;
	smx_error_clear(err);
	/* the callers name the section ("ldap: ...") in their messages */
	if (cfg->n_uri == 0 || cfg->base == NULL || cfg->filter == NULL ||
	    cfg->n_attributes == 0 || cfg->timeout == 0)
		return smx_error_fail(err, SMX_CONFIG, "no uri, base, "
				     "filter, attributes or timeout "
				     "configured");
	struct directory *dir = calloc(1, sizeof(*dir));
	if (dir == NULL)
		goto oom;
	pthread_mutex_init(&dir->lock, NULL);
	pthread_cond_init(&dir->slot_freed, NULL);
	dir->n_slots = pool_size != 0 ? pool_size : DEFAULT_POOL_SIZE;
	dir->slots = calloc(dir->n_slots, sizeof(*dir->slots));
	if (dir->slots == NULL || copy_settings(dir, cfg) != 0)
		goto oom;
	/* libldap's global state is set up here, before threads exist */
	int version = LDAP_VERSION3;
	if (ldap_set_option(NULL, LDAP_OPT_PROTOCOL_VERSION, &version) !=
	    LDAP_OPT_SUCCESS) {
		directory_free(&dir);
		return smx_error_fail(err, SMX_CONFIG, "libldap could not "
				     "be initialized");
	}
	ignore_sigpipe();
	*dir_r = dir;
	return SMX_OK;
oom:
	directory_free(&dir);
	return smx_error_fail(err, SMX_TEMPFAIL, "out of memory");
}

void directory_free(struct directory **dirp)
{
	struct directory *dir = *dirp;
	if (dir == NULL)
		return;
	*dirp = NULL;
	for (size_t i = 0; dir->slots != NULL && i < dir->n_slots; i++)
		if (dir->slots[i].ld != NULL)
			ldap_unbind_ext_s(dir->slots[i].ld, NULL, NULL);
	free(dir->slots);
	free_strings(dir->uris, dir->n_uris);
	if (dir->attrs != NULL) {
		for (char **a = dir->attrs; *a != NULL; a++)
			free(*a);
		free(dir->attrs);
	}
	free(dir->bind_dn);
	free(dir->password_file);
	free(dir->ca_file);
	free(dir->base);
	free(dir->filter);
	pthread_cond_destroy(&dir->slot_freed);
	pthread_mutex_destroy(&dir->lock);
	free(dir);
}

void directory_result_clear(struct directory_result *r)
{
	for (size_t i = 0; i < r->n_certs; i++) {
		free(r->certs[i].der);
		free(r->certs[i].attribute);
		free(r->certs[i].dn);
	}
	for (size_t i = 0; i < r->n_rejected; i++) {
		free(r->rejected[i].der);
		free(r->rejected[i].attribute);
		free(r->rejected[i].dn);
		free(r->rejected[i].reason);
	}
	free(r->certs);
	free(r->rejected);
	r->certs = NULL;
	r->rejected = NULL;
	r->n_certs = r->n_rejected = r->n_entries = 0;
}

void directory_result_free(struct directory_result **resultp)
{
	struct directory_result *r = *resultp;
	if (r == NULL)
		return;
	*resultp = NULL;
	directory_result_clear(r);
	free(r);
}

void directory_changes_free(struct directory_changes **changesp)
{
	struct directory_changes *c = *changesp;
	if (c == NULL)
		return;
	*changesp = NULL;
	for (size_t i = 0; i < c->count; i++) {
		free(c->items[i].attribute);
		free(c->items[i].what);
		free(c->items[i].reason);
	}
	free(c->items);
	free(c->dn);
	free(c);
}
