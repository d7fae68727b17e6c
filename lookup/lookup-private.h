/* SPDX-License-Identifier: BSD-2-Clause */
/* Inside the lookup library: chain verification prepared once for
 * several certificates (lookup-verify.c). */
#ifndef SMX_LOOKUP_PRIVATE_H
#define SMX_LOOKUP_PRIVATE_H

#include <smx/lookup.h>

struct cfg_revocation;

struct lookup_verifier;

/* Loads the roots of verify (as inbound verification does; NULL: the
 * system bundle), the store's anchors and every stored certificate (as
 * intermediates). SMX_OK with *v_r owned by the caller
 * (lookup_verifier_free), or SMX_TEMPFAIL (store, memory, or a root file
 * that cannot be read: logged). */
enum smx_status lookup_verifier_new(struct store *store,
				    const struct cfg_verify *verify,
				    struct lookup_verifier **v_r);

/* Verifies one DER certificate now, with extra intermediates. SMX_OK with
 * *trust_r and the reason in why; SMX_TEMPFAIL when memory ran out. */
enum smx_status lookup_verifier_check(struct lookup_verifier *v,
				      const unsigned char *der, size_t len,
				      const struct lookup_der *extra,
				      size_t n_extra, enum store_trust *trust_r,
				      char *why, size_t size);

/* The certificate that issued the one in der, as the chain to the
 * anchors (or as far as it goes) finds it: a new reference, or NULL. */
X509 *lookup_verifier_issuer(struct lookup_verifier *v,
			     const unsigned char *der, size_t len);

/* Checks the revocation status of each usable candidate of sel (an
 * encryption selection for email) under rev (NULL or mode off: nothing
 * is checked), waiting until deadline (0: rev->max_wait from now): a revoked one becomes
 * STORE_REJECT_REVOKED, an unknown one refused by the mode
 * STORE_REJECT_REVOCATION_UNKNOWN; the usable ones stay first, in their
 * order, and n_usable is updated. Returns how many were refused for an
 * unknown status. */
size_t lookup_revocation_apply(struct store *store,
			       const struct cfg_verify *verify,
			       const struct cfg_revocation *rev,
			       const char *email, struct store_selection *sel,
			       time_t now, time_t deadline);

/* Frees a verifier and sets *v NULL. NULL-safe. */
void lookup_verifier_free(struct lookup_verifier **v);

#endif
