/* SPDX-License-Identifier: BSD-2-Clause */
/* The CA itself: creating or importing it into the store, and loading it
 * back (certificate, sealed key, settings) for issuing and CRLs. */
#include "ca-private.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <smx/cfg.h>
#include <smx/log.h>

/* --- storing a new CA -------------------------------------------------- */

enum smx_status ca_store_new(struct store *store, const unsigned char *der,
			     size_t len, const unsigned char *pkcs8,
			     size_t key_len, enum store_source source,
			     char *fingerprint_r)
{
	char fp[65], current[65] = "";
	bool cert_new = false, anchor_new = false;
	enum smx_status st = store_key_status(store);
	if (st != SMX_OK) {
		smx_log(LOG_ERR, "ca: no usable master key: the CA key cannot "
			"be stored");
		return SMX_CONFIG;
	}
	st = store_cert_put(store, der, len, source, STORE_TRUST_PINNED, NULL,
			    0, fp, &cert_new);
	if (st == SMX_OK)
		st = store_key_put(store, fp, pkcs8, key_len);
	if (st == SMX_OK)
		st = store_anchor_add(store, der, len, NULL, &anchor_new);
	if (st == SMX_OK)
		st = store_ca_set(store, fp, current);
	if (st == SMX_PERMFAIL && current[0] != '\0')
		smx_log(LOG_ERR, "ca: an organization CA exists already (%s): "
			"%s was not recorded", current, fp);
	if (st != SMX_OK) {
		if (anchor_new)
			store_anchor_remove(store, fp);
		if (cert_new)
			store_cert_remove(store, fp);
	}
	memcpy(fingerprint_r, st == SMX_OK ? fp : current, 65);
	return st;
}

/* Refuses early (before generating anything) when a CA exists. */
static enum smx_status no_ca_yet(struct store *store, char *fingerprint_r)
{
	enum smx_status st = store_ca_get(store, fingerprint_r);
	if (st == SMX_OK) {
		smx_log(LOG_ERR, "ca: an organization CA exists already (%s)",
			fingerprint_r);
		return SMX_PERMFAIL;
	}
	fingerprint_r[0] = '\0';
	return st == SMX_NOTFOUND ? SMX_OK : st;
}

static X509 *self_signed(EVP_PKEY *key, const struct ca_params *p, time_t now)
{
	X509 *x = X509_new();
	X509_NAME *name = ca_name_parse(p->subject);
	if (x == NULL || name == NULL || X509_set_version(x, X509_VERSION_3) != 1 ||
	    ca_set_serial(x) != 0 || X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    ca_set_validity(x, (int64_t)now - CA_BACKDATE,
			    (int64_t)now + p->lifetime) != 0 ||
	    X509_set_pubkey(x, key) != 1)
		goto fail;
	if (ca_add_ext(x, x, NID_basic_constraints,
		       "critical,CA:TRUE,pathlen:0") != 0 ||
	    ca_add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") != 0 ||
	    ca_add_ext(x, x, NID_subject_key_identifier, "hash") != 0 ||
	    ca_add_ext(x, x, NID_authority_key_identifier, "keyid:always") != 0)
		goto fail;
	if (X509_sign(x, key, ca_digest_for(key)) <= 0) {
		ca_log_ossl("signing the CA certificate");
		goto fail;
	}
	X509_NAME_free(name);
	return x;
fail:
	X509_NAME_free(name);
	X509_free(x);
	return NULL;
}

enum smx_status ca_create(struct store *store, const struct ca_params *params,
			  time_t now, char *fingerprint_r)
{
	unsigned char *der = NULL, *p8 = NULL;
	size_t der_len = 0, p8_len = 0;
	X509 *x = NULL;
	EVP_PKEY *key = NULL;
	enum smx_status st = no_ca_yet(store, fingerprint_r);
	if (st != SMX_OK)
		return st;
	if (store_key_status(store) != SMX_OK) {
		smx_log(LOG_ERR, "ca: no usable master key: cannot keep a CA "
			"key (run smimectl init)");
		return SMX_CONFIG;
	}
	st = SMX_PERMFAIL;
	if ((key = ca_keygen(params->key_type)) == NULL ||
	    (x = self_signed(key, params, now)) == NULL)
		goto done;
	st = SMX_TEMPFAIL;
	if ((der_len = smx_x509_to_der(x, &der)) == 0 ||
	    (p8_len = smx_x509_key_to_der(key, &p8)) == 0)
		goto done;
	st = ca_store_new(store, der, der_len, p8, p8_len, STORE_SOURCE_ISSUED,
			  fingerprint_r);
	if (st == SMX_OK)
		smx_log(LOG_INFO, "ca: created the organization CA %s (%s, %s)",
			fingerprint_r, params->subject,
			ca_key_type_name(params->key_type));
done:
	free(der);
	store_secret_free(&p8, p8_len);
	X509_free(x);
	EVP_PKEY_free(key);
	return st;
}

/* --- importing --------------------------------------------------------- */

static enum smx_status check_ca_cert(X509 *x, EVP_PKEY *key, const char *fp)
{
	uint32_t ku = X509_get_key_usage(x);
	if (X509_check_ca(x) != 1 ||
	    (X509_get_extension_flags(x) & EXFLAG_BCONS) == 0) {
		smx_log(LOG_ERR, "ca: %s is not a CA certificate "
			"(basicConstraints CA:TRUE missing)", fp);
		return SMX_PERMFAIL;
	}
	if (ku != UINT32_MAX && !(ku & KU_KEY_CERT_SIGN)) {
		smx_log(LOG_ERR, "ca: %s: its keyUsage does not allow signing "
			"certificates (keyCertSign)", fp);
		return SMX_PERMFAIL;
	}
	if (ku != UINT32_MAX && !(ku & KU_CRL_SIGN))
		smx_log(LOG_WARNING, "ca: %s: its keyUsage lacks cRLSign: "
			"its CRLs will not verify", fp);
	if (!smx_x509_key_matches(x, key)) {
		smx_log(LOG_ERR, "ca: the private key does not match the CA "
			"certificate %s", fp);
		return SMX_PERMFAIL;
	}
	return SMX_OK;
}

enum smx_status ca_import(struct store *store, const unsigned char *cert,
			  size_t cert_len, const unsigned char *pkcs8,
			  size_t key_len, char *fingerprint_r)
{
	X509 *x = smx_x509_parse(cert, cert_len, NULL, 0);
	EVP_PKEY *key = smx_x509_key_parse(pkcs8, key_len, NULL, 0);
	struct store_cert *parsed = NULL;
	enum smx_status st = no_ca_yet(store, fingerprint_r);
	if (st != SMX_OK)
		goto done;
	st = SMX_PERMFAIL;
	if (x == NULL || key == NULL ||
	    store_cert_parse(cert, cert_len, &parsed) != SMX_OK) {
		smx_log(LOG_ERR, "ca: the %s does not parse",
			key == NULL ? "private key" : "CA certificate");
		goto done;
	}
	st = check_ca_cert(x, key, parsed->fingerprint);
	if (st == SMX_OK)
		st = ca_store_new(store, cert, cert_len, pkcs8, key_len,
				  STORE_SOURCE_IMPORTED, fingerprint_r);
	if (st == SMX_OK)
		smx_log(LOG_INFO, "ca: imported the organization CA %s (%s)",
			fingerprint_r, parsed->subject);
done:
	ERR_clear_error();
	store_cert_free(&parsed);
	X509_free(x);
	EVP_PKEY_free(key);
	return st;
}

/* --- loading ----------------------------------------------------------- */

static int copy_settings(struct ca *ca, const struct cfg *cfg)
{
	const struct cfg_ca *c = &cfg->ca;
	ca->cert_lifetime = c->cert_lifetime;
	ca->renew_before = c->renew_before;
	ca->crl_validity = c->crl_validity;
	ca->separate = c->separate_encryption_cert;
	ca->key_type = c->key_type;
	if (c->crl_url != NULL && (ca->crl_url = strdup(c->crl_url)) == NULL)
		return -1;
	size_t n = cfg->milter.n_internal_domains;
	ca->domains = calloc(n + 1, sizeof(*ca->domains));
	if (ca->domains == NULL)
		return -1;
	for (; ca->n_domains < n; ca->n_domains++) {
		ca->domains[ca->n_domains] =
			strdup(cfg->milter.internal_domains[ca->n_domains]);
		if (ca->domains[ca->n_domains] == NULL)
			return -1;
	}
	return 0;
}

static enum smx_status load_key(struct ca *ca)
{
	unsigned char *p8 = NULL;
	size_t len = 0;
	if (store_key_status(ca->store) != SMX_OK)
		return SMX_OK;	/* certificate only */
	enum smx_status st = store_key_get(ca->store, ca->fingerprint, &p8,
					   &len);
	if (st == SMX_NOTFOUND || st == SMX_CONFIG) {
		smx_log(LOG_ERR, "ca: the private key of the CA %s is %s",
			ca->fingerprint, st == SMX_NOTFOUND ? "missing from "
			"the store" : "unreadable with this master key");
		return SMX_CONFIG;
	}
	if (st != SMX_OK)
		return st;
	char why[64];
	ca->key = smx_x509_key_parse(p8, len, why, sizeof(why));
	store_secret_free(&p8, len);
	if (ca->key == NULL) {
		smx_log(LOG_ERR, "ca: the key of the CA %s does not parse (%s)",
			ca->fingerprint, why);
		return SMX_CONFIG;
	}
	return SMX_OK;
}

static enum smx_status load_cert(struct ca *ca)
{
	struct store_cert *c = NULL;
	enum smx_status st = store_cert_get(ca->store, ca->fingerprint, &c);
	if (st == SMX_NOTFOUND) {
		smx_log(LOG_ERR, "ca: the CA certificate %s is missing from "
			"the store (removed?)", ca->fingerprint);
		return SMX_CONFIG;
	}
	if (st != SMX_OK)
		return st;
	ca->cert = smx_x509_parse(c->der, c->der_len, NULL, 0);
	ca->der = c->der;
	ca->der_len = c->der_len;
	ca->subject = c->subject;
	ca->not_after = c->not_after;
	c->der = NULL;
	c->subject = NULL;
	store_cert_free(&c);
	return ca->cert != NULL ? SMX_OK : SMX_CONFIG;
}

enum smx_status ca_open(struct store *store, const struct cfg *cfg,
			struct ca **ca_r)
{
	struct ca *ca = calloc(1, sizeof(*ca));
	enum smx_status st = SMX_TEMPFAIL;
	*ca_r = NULL;
	if (ca == NULL)
		return SMX_TEMPFAIL;
	ca->store = store;
	if (copy_settings(ca, cfg) != 0)
		goto fail;
	st = store_ca_get(store, ca->fingerprint);
	if (st == SMX_NOTFOUND)
		smx_log(LOG_ERR, "ca: no organization CA in the store (run "
			"smimectl ca init or ca import)");
	if (st == SMX_OK)
		st = load_cert(ca);
	if (st == SMX_OK)
		st = load_key(ca);
	if (st != SMX_OK)
		goto fail;
	*ca_r = ca;
	return SMX_OK;
fail:
	ca_free(&ca);
	return st;
}

void ca_free(struct ca **ca)
{
	if (ca == NULL || *ca == NULL)
		return;
	struct ca *c = *ca;
	X509_free(c->cert);
	EVP_PKEY_free(c->key);
	free(c->der);
	free(c->subject);
	free(c->crl_url);
	for (size_t i = 0; i < c->n_domains; i++)
		free(c->domains[i]);
	free(c->domains);
	free(c);
	*ca = NULL;
}

const unsigned char *ca_cert_der(const struct ca *ca, size_t *len_r)
{
	*len_r = ca->der_len;
	return ca->der;
}

const char *ca_fingerprint(const struct ca *ca)
{
	return ca->fingerprint;
}
