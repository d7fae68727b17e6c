/* SPDX-License-Identifier: BSD-2-Clause */
/* Asking the network: an OCSP request POSTed to a responder, a CRL
 * fetched from a distribution point, both through OpenSSL's HTTP client
 * (timeouts, response size bound, content type and ASN.1 framing checked
 * there). Plain http only: the answers are signed, and RFC 5280 CRL and
 * RFC 6960 OCSP URLs are http. The http_proxy and no_proxy environment
 * variables are honoured, as OpenSSL does. */
#include "revocation-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/http.h>

#include <smx/cfg.h>
#include <smx/error.h>

static bool is_http(const char *url)
{
	return strncasecmp(url, "http://", 7) == 0;
}

/* The reason OpenSSL's HTTP client gave, cut short. */
static void http_error(struct smx_error *why)
{
	unsigned long e = ERR_peek_last_error();
	char text[160] = "no answer";
	if (e != 0)
		ERR_error_string_n(e, text, sizeof(text));
	/* "error:XXXXXXXX:lib::reason": keep the reason */
	const char *r = strrchr(text, ':');
	smx_error_set(why, "%s",
		      r != NULL && r[1] != '\0' ? r + 1 : text);
	ERR_clear_error();
}

static BIO *ocsp_post(const char *url, OCSP_REQUEST *req, size_t max,
		      int timeout, struct smx_error *why)
{
	char *host = NULL, *port = NULL, *path = NULL;
	int ssl = 0;
	BIO *body = NULL, *resp = NULL;
	unsigned char *der = NULL;
	int der_len = 0;
	if (!OSSL_HTTP_parse_url(url, &ssl, NULL, &host, &port, NULL, &path,
				 NULL, NULL)) {
		smx_error_set(why, "malformed URL");
		goto done;
	}
	/* i2d into memory: the _bio macro casts const away */
	der_len = i2d_OCSP_REQUEST(req, &der);
	body = der_len > 0 ? BIO_new_mem_buf(der, der_len) : NULL;
	if (body == NULL) {
		smx_error_set(why, "out of memory");
		goto done;
	}
	resp = OSSL_HTTP_transfer(NULL, host, port, path, 0, NULL, NULL, NULL,
				  NULL, NULL, NULL, 0, NULL,
				  "application/ocsp-request", body,
				  "application/ocsp-response", 1, max,
				  timeout, 0);
	if (resp == NULL)
		http_error(why);
done:
	BIO_free(body);
	OPENSSL_free(der);
	OPENSSL_free(host);
	OPENSSL_free(port);
	OPENSSL_free(path);
	ERR_clear_error();
	return resp;
}

void revocation_fetch_ocsp(const char *url, X509 *cert, X509 *issuer,
			   size_t max, int timeout, time_t now,
			   struct store_revstatus *out)
{
	struct smx_error why = { "" };
	OCSP_RESPONSE *resp = NULL;
	OCSP_REQUEST *req = OCSP_REQUEST_new();
	OCSP_CERTID *id = OCSP_cert_to_id(NULL, cert, issuer);
	out->checked_at = (int64_t)now;
	if (!is_http(url)) {
		revocation_set(out, STORE_REVSTATUS_UNKNOWN, "ocsp",
			       "not an http URL");
		goto done;
	}
	if (req == NULL || id == NULL || OCSP_request_add0_id(req, id) == NULL) {
		revocation_set(out, STORE_REVSTATUS_UNKNOWN, "ocsp",
			       "out of memory");
		goto done;
	}
	id = NULL;	/* the request owns it */
	if (!OCSP_request_add1_nonce(req, NULL, -1)) {
		revocation_set(out, STORE_REVSTATUS_UNKNOWN, "ocsp",
			       "out of memory");
		goto done;
	}
	BIO *body = ocsp_post(url, req, max, timeout, &why);
	if (body == NULL) {
		revocation_set(out, STORE_REVSTATUS_UNKNOWN, "ocsp", "%s: %s",
			       url, why.text);
		goto done;
	}
	resp = d2i_OCSP_RESPONSE_bio(body, NULL);
	BIO_free(body);
	revocation_judge_ocsp(resp, req, cert, issuer, now, out);
done:
	OCSP_CERTID_free(id);
	OCSP_REQUEST_free(req);
	OCSP_RESPONSE_free(resp);
	ERR_clear_error();
}

void revocation_fetch_crl(const char *url, X509 *cert, X509 *issuer,
			  size_t max, int timeout, time_t now,
			  struct store_revstatus *out)
{
	struct smx_error why = { "" };
	out->checked_at = (int64_t)now;
	if (!is_http(url)) {
		revocation_set(out, STORE_REVSTATUS_UNKNOWN, "crl",
			       "not an http URL");
		return;
	}
	BIO *body = OSSL_HTTP_get(url, NULL, NULL, NULL, NULL, NULL, NULL, 0,
				  NULL, NULL, 1, max, timeout);
	if (body == NULL) {
		http_error(&why);
		revocation_set(out, STORE_REVSTATUS_UNKNOWN, "crl", "%s: %s",
			       url, why.text);
		return;
	}
	X509_CRL *crl = d2i_X509_CRL_bio(body, NULL);
	BIO_free(body);
	if (crl == NULL)
		revocation_set(out, STORE_REVSTATUS_UNKNOWN, "crl",
			       "%s: not a DER CRL", url);
	else
		revocation_judge_crl(cert, issuer, crl, now, out);
	X509_CRL_free(crl);
	ERR_clear_error();
}

/* The http URIs of the certificate's CRL distribution points (full
 * names only; a relative name needs the issuer's DN and is skipped). */
STACK_OF(OPENSSL_STRING) *revocation_crl_urls(X509 *cert)
{
	STACK_OF(OPENSSL_STRING) *urls = sk_OPENSSL_STRING_new_null();
	STACK_OF(DIST_POINT) *dps =
		X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);
	for (int i = 0; urls != NULL && i < sk_DIST_POINT_num(dps); i++) {
		DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
		if (dp->distpoint == NULL || dp->distpoint->type != 0)
			continue;
		GENERAL_NAMES *names = dp->distpoint->name.fullname;
		for (int j = 0; j < sk_GENERAL_NAME_num(names); j++) {
			GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, j);
			if (gn->type != GEN_URI)
				continue;
			const ASN1_IA5STRING *uri = gn->d.uniformResourceIdentifier;
			char *s = OPENSSL_strndup((const char *)
						  ASN1_STRING_get0_data(uri),
						  (size_t)ASN1_STRING_length(uri));
			if (s == NULL || strlen(s) !=
					 (size_t)ASN1_STRING_length(uri) ||
			    !sk_OPENSSL_STRING_push(urls, s))
				OPENSSL_free(s);
		}
	}
	sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
	ERR_clear_error();
	return urls;
}
