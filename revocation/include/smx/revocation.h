/* SPDX-License-Identifier: BSD-2-Clause */
/* Revocation checking of one certificate given its issuer: the status
 * cached in the store while it is valid; for a certificate of the
 * organization CA, that CA's own revocation records (its CRL), without
 * the network; else OCSP (the responder of the certificate's Authority
 * Information Access, with a nonce, the response signed by the issuer
 * or by a responder the issuer delegated with id-kp-OCSPSigning), then
 * the CRLs of its http distribution points (signed by the issuer). Every
 * answer learned is recorded in the store until its nextUpdate, at most
 * revocation.max_age (an unknown one for revocation.unknown_ttl).
 *
 * The network is reached only through OpenSSL's HTTP client, each
 * request bounded by revocation.fetch_timeout, the caller's deadline and
 * revocation.max_response_size. Thread-safe: no state of its own. */
#ifndef SMX_REVOCATION_H
#define SMX_REVOCATION_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include <smx/cfg.h>	/* enum revocation_mode, read with the file */
#include <smx/store.h>

/* The configured mode (NULL: soft). */
enum revocation_mode revocation_mode_of(const struct cfg_revocation *cfg);

/* When a message's revocation checks stop waiting for answers: max_wait
 * after start (the message's first check), so that all its checks
 * together wait at most max_wait. start itself when cfg is NULL. */
time_t revocation_deadline(const struct cfg_revocation *cfg, time_t start);

/* "good", "revoked", "unknown". */
const char *revocation_status_name(enum store_revstatus_value status);

/* --- judging answers (no network, no store) --------------------------- */

/* Judges a CRL for cert: it must name issuer as its issuer, be signed by
 * issuer's key (an issuer whose keyUsage lacks cRLSign is refused), be
 * issued by now (5 minutes' slack) and carry a nextUpdate not before
 * now. Fills *out (status, source "crl", detail, next_update,
 * checked_at = now); anything wrong is an unknown status with the reason
 * in detail. */
void revocation_judge_crl(X509 *cert, X509 *issuer, X509_CRL *crl,
			  time_t now, struct store_revstatus *out);

/* Judges an OCSP response to req (which asked about cert, issued by
 * issuer): successful, basic, signed by issuer or by a certificate issuer
 * issued with id-kp-OCSPSigning, nonce echoed (a response without one
 * is accepted: a responder may pre-produce answers, thisUpdate is then
 * the freshness), thisUpdate not in the future and nextUpdate, when
 * present, not past (5 minutes' slack). Fills *out as above with source
 * "ocsp"; an answer without nextUpdate has next_update 0. */
void revocation_judge_ocsp(OCSP_RESPONSE *resp, OCSP_REQUEST *req,
			   X509 *cert, X509 *issuer, time_t now,
			   struct store_revstatus *out);

/* --- the whole check ---------------------------------------------------- */

/* Flags for revocation_check. */
#define REVOCATION_FORCE	0x01u	/* ignore the cached status */
#define REVOCATION_CACHED_ONLY	0x02u	/* the cached status or nothing
					 * (SMX_NOTFOUND) */

/* Learns the status of cert (issuer: its issuer's certificate; NULL when
 * unknown, then the status is unknown), at now, before deadline (a Unix
 * time; the network is not asked after it): as described at the top.
 * The answer is recorded in the store (a revoked one also marks the
 * certificate revoked). *out receives it; *cached_r (may be NULL) says
 * whether it came from the store's cache. Returns SMX_OK, SMX_NOTFOUND
 * (REVOCATION_CACHED_ONLY and no valid status cached), or SMX_TEMPFAIL
 * when the store did not answer (then *out is an unknown status saying
 * so). Does not look at the mode. */
enum smx_status revocation_check(struct store *store,
				 const struct cfg_revocation *cfg, X509 *cert,
				 X509 *issuer, time_t now, time_t deadline,
				 unsigned flags, struct store_revstatus *out,
				 bool *cached_r);

/* Whether a certificate of status s may be used under the mode: a
 * revoked one never; an unknown one in soft mode (logged once per
 * certificate, with what, e.g. "encryption to <bob@x>", through the
 * store's mark, and counted as unknown_used) but not in hard mode
 * (counted as unknown_refused). Mode off: always (the store's revoked
 * flag is the selection's business). */
bool revocation_usable(struct store *store, const struct cfg_revocation *cfg,
		       const struct store_revstatus *s, const char *what);

#endif
