/* SPDX-License-Identifier: BSD-2-Clause */
/* Judging a CRL or an OCSP response for one certificate: signature,
 * issuer, freshness, status. No network and no store here, so that the
 * unit tests can feed any answer at any time. OpenSSL parses; nothing
 * here reads DER by hand. */
#include "revocation-private.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

/* Clock slack allowed between us and the answer's producer. */
#define SLACK_SECONDS 300

void revocation_set(struct store_revstatus *out,
		    enum store_revstatus_value status, const char *source,
		    const char *fmt, ...)
{
	va_list ap;
	out->status = status;
	snprintf(out->source, sizeof(out->source), "%s", source);
	va_start(ap, fmt);
	vsnprintf(out->detail, sizeof(out->detail), fmt, ap);
	va_end(ap);
}

int64_t revocation_asn1_time(const ASN1_TIME *t)
{
	struct tm tm;
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

/* -1 when t is before at, 1 after, 0 when t is unreadable. */
static int time_cmp(const ASN1_TIME *t, time_t at)
{
	int64_t v = revocation_asn1_time(t);
	if (v == 0)
		return 0;
	return v < (int64_t)at ? -1 : 1;
}

static bool may_sign_crls(X509 *issuer)
{
	if ((X509_get_extension_flags(issuer) & EXFLAG_KUSAGE) == 0)
		return true;
	return (X509_get_key_usage(issuer) & KU_CRL_SIGN) != 0;
}

void revocation_judge_crl(X509 *cert, X509 *issuer, X509_CRL *crl,
			  time_t now, struct store_revstatus *out)
{
	out->checked_at = (int64_t)now;
	out->next_update = 0;
	if (cert == NULL || issuer == NULL || crl == NULL) {
		revocation_set(out, STORE_REVSTATUS_UNKNOWN, "crl",
			       "no CRL");
		return;
	}
	const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);
	if (X509_NAME_cmp(X509_CRL_get_issuer(crl),
			  X509_get_subject_name(issuer)) != 0)
		revocation_set(out, STORE_REVSTATUS_UNKNOWN, "crl",
			       "CRL not issued by the certificate's issuer");
	else if (!may_sign_crls(issuer))
		revocation_set(out, STORE_REVSTATUS_UNKNOWN, "crl",
			       "the issuer may not sign CRLs (keyUsage)");
	else if (X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1)
		revocation_set(out, STORE_REVSTATUS_UNKNOWN, "crl",
			       "CRL signature does not verify");
	else if (time_cmp(X509_CRL_get0_lastUpdate(crl),
			  now + SLACK_SECONDS) >= 0)
		revocation_set(out, STORE_REVSTATUS_UNKNOWN, "crl",
			       "CRL issued in the future");
	else if (next == NULL)
		revocation_set(out, STORE_REVSTATUS_UNKNOWN, "crl",
			       "CRL without nextUpdate");
	else if (time_cmp(next, now - SLACK_SECONDS) <= 0)
		revocation_set(out, STORE_REVSTATUS_UNKNOWN, "crl",
			       "CRL out of date (nextUpdate passed)");
	else {
		X509_REVOKED *rev = NULL;
		out->next_update = revocation_asn1_time(next);
		if (X509_CRL_get0_by_cert(crl, &rev, cert) == 1)
			revocation_set(out, STORE_REVSTATUS_REVOKED, "crl",
				       "serial listed on the CRL");
		else
			revocation_set(out, STORE_REVSTATUS_GOOD, "crl",
				       "not on the CRL");
	}
	ERR_clear_error();
}

/* Whether the response is signed by issuer, or by a responder issuer
 * certified with id-kp-OCSPSigning (OpenSSL's checks, with issuer as
 * the one trusted certificate). */
static bool ocsp_signed_by(OCSP_BASICRESP *bs, X509 *issuer)
{
	X509_STORE *st = X509_STORE_new();
	STACK_OF(X509) *certs = sk_X509_new_null();
	bool ok = false;
	if (st == NULL || certs == NULL || !X509_STORE_add_cert(st, issuer) ||
	    !sk_X509_push(certs, issuer))
		goto done;
	X509_STORE_set_flags(st, X509_V_FLAG_PARTIAL_CHAIN);
	ok = OCSP_basic_verify(bs, certs, st, 0) > 0;
done:
	sk_X509_free(certs);	/* issuer is only borrowed */
	X509_STORE_free(st);
	return ok;
}

static void ocsp_status(OCSP_BASICRESP *bs, X509 *cert, X509 *issuer,
			time_t now, struct store_revstatus *out)
{
	int status = -1, reason = -1;
	ASN1_GENERALIZEDTIME *rev = NULL, *this_upd = NULL, *next_upd = NULL;
	OCSP_CERTID *id = OCSP_cert_to_id(NULL, cert, issuer);
	int found = id != NULL &&
		    OCSP_resp_find_status(bs, id, &status, &reason, &rev,
					  &this_upd, &next_upd) == 1;
	OCSP_CERTID_free(id);
	if (!found) {
		revocation_set(out, STORE_REVSTATUS_UNKNOWN, "ocsp",
			       "the response does not cover the certificate");
		return;
	}
	if (time_cmp(this_upd, now + SLACK_SECONDS) >= 0) {
		revocation_set(out, STORE_REVSTATUS_UNKNOWN, "ocsp",
			       "response thisUpdate in the future");
		return;
	}
	if (next_upd != NULL && time_cmp(next_upd, now - SLACK_SECONDS) <= 0) {
		revocation_set(out, STORE_REVSTATUS_UNKNOWN, "ocsp",
			       "response out of date (nextUpdate passed)");
		return;
	}
	out->next_update = revocation_asn1_time(next_upd);
	if (status == V_OCSP_CERTSTATUS_GOOD)
		revocation_set(out, STORE_REVSTATUS_GOOD, "ocsp", "good");
	else if (status == V_OCSP_CERTSTATUS_REVOKED)
		revocation_set(out, STORE_REVSTATUS_REVOKED, "ocsp",
			       "revoked%s%s", reason >= 0 ? ": " : "",
			       reason >= 0 ? OCSP_crl_reason_str(reason) : "");
	else
		revocation_set(out, STORE_REVSTATUS_UNKNOWN, "ocsp",
			       "the responder does not know the certificate");
}

void revocation_judge_ocsp(OCSP_RESPONSE *resp, OCSP_REQUEST *req,
			   X509 *cert, X509 *issuer, time_t now,
			   struct store_revstatus *out)
{
	out->checked_at = (int64_t)now;
	out->next_update = 0;
	OCSP_BASICRESP *bs = NULL;
	int rs = resp != NULL ? OCSP_response_status(resp) : -1;
	if (resp == NULL || cert == NULL || issuer == NULL)
		revocation_set(out, STORE_REVSTATUS_UNKNOWN, "ocsp",
			       "no response");
	else if (rs != OCSP_RESPONSE_STATUS_SUCCESSFUL)
		revocation_set(out, STORE_REVSTATUS_UNKNOWN, "ocsp",
			       "the responder answered %s",
			       OCSP_response_status_str(rs));
	else if ((bs = OCSP_response_get1_basic(resp)) == NULL)
		revocation_set(out, STORE_REVSTATUS_UNKNOWN, "ocsp",
			       "not a basic OCSP response");
	else if (req != NULL && OCSP_check_nonce(req, bs) == 0)
		revocation_set(out, STORE_REVSTATUS_UNKNOWN, "ocsp",
			       "the response's nonce is not the request's");
	else if (!ocsp_signed_by(bs, issuer))
		revocation_set(out, STORE_REVSTATUS_UNKNOWN, "ocsp",
			       "response not signed by the issuer or its "
			       "delegated responder");
	else
		ocsp_status(bs, cert, issuer, now, out);
	OCSP_BASICRESP_free(bs);
	ERR_clear_error();
}
