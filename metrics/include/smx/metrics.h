/* SPDX-License-Identifier: BSD-2-Clause */
/* The milter's counters and latency histograms, per process (they start
 * at zero with the process, as Prometheus expects of counters).
 *
 * Recording is lock-free (C11 atomics, relaxed order): any number of
 * milter threads may record at once, at the cost of one atomic add.
 * Labels are chosen from fixed lists; a value outside a list counts as
 * "other", so nothing a message says can create a new time series.
 *
 * Two ways out: smx_metrics_render() (the Prometheus text format, for the
 * HTTP listener of smx/metrics-http.h) and smx_metrics_flush() (the
 * increases since the last flush, added to the store's shared counters
 * for `smimectl stats`). */
#ifndef SMX_METRICS_H
#define SMX_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A monotonic clock in microseconds, to time what is recorded below. */
uint64_t smx_metrics_clock_us(void);

/* Microseconds elapsed since start (a smx_metrics_clock_us value). */
uint64_t smx_metrics_since_us(uint64_t start);

/* One message decided at end-of-message. direction: "inbound",
 * "outbound", "internal", "transit"; action as logged: "pass", "sign",
 * "encrypt", "sign+encrypt", "reject", "tempfail", "hold". micros: the
 * end-of-message processing time (message_duration_seconds). */
void smx_metrics_message(const char *direction, const char *action,
			 uint64_t micros);

/* A recipient refused at RCPT time: "reject", "tempfail" or "defer". */
void smx_metrics_recipient_refused(const char *action);

/* A signature made, in micros (stage "sign"). */
void smx_metrics_signature_made(uint64_t micros);

/* A message encrypted, in micros (stage "encrypt"). */
void smx_metrics_encryption(uint64_t micros);

/* A message decrypted, in micros (stage "decrypt"). */
void smx_metrics_decryption(uint64_t micros);

/* A message left encrypted as it came although every recipient's key
 * was held, because reason: "limit" (more recipient entries than
 * decryption accepts), "unopened" (a recipient's key did not open its
 * own RecipientInfo, or its content key did not decrypt the content),
 * "mismatch" (two recipients' RecipientInfos hold different content
 * keys). */
void smx_metrics_decryption_refused(const char *reason);

/* One signature verified, by its RFC 7281 result ("pass", "fail",
 * "policy", "neutral", "temperror", "permerror"). */
void smx_metrics_signature_verified(const char *result);

/* The verification of one message took micros (stage "verify"). */
void smx_metrics_verification(uint64_t micros);

/* certificates written to the store from one message's signatures. */
void smx_metrics_harvest(size_t certificates);

enum smx_metrics_enrollment {
	SMX_METRICS_ENROLL_ISSUED = 0,	/* a new address got a certificate */
	SMX_METRICS_ENROLL_RENEWED,	/* one due for renewal was renewed */
	SMX_METRICS_ENROLL_LIMITED,	/* refused: ca.enroll_per_* reached */
	SMX_METRICS_ENROLL_UNKNOWN,	/* refused: ca.enroll_known_only */
	SMX_METRICS_ENROLL_FAILED,	/* the CA or the store failed */
};

/* One auto-enrollment by the organization CA, by its outcome. */
void smx_metrics_enrollment(enum smx_metrics_enrollment result);

enum smx_metrics_lookup {
	SMX_METRICS_LOOKUP_HIT = 0,	/* the directory had a certificate */
	SMX_METRICS_LOOKUP_MISS,	/* it answered: none usable */
	SMX_METRICS_LOOKUP_UNKNOWN,	/* it could not answer */
};

/* One query to the LDAP directory, in micros (stage "directory"). */
void smx_metrics_directory_lookup(enum smx_metrics_lookup result,
				  uint64_t micros);

/* A recipient lookup answered from the directory data cached in the
 * store, without asking the directory. */
void smx_metrics_cache_hit(void);

enum smx_metrics_failure {
	SMX_METRICS_FAIL_SIGN = 0,	/* no key, or signing failed */
	SMX_METRICS_FAIL_ENCRYPT,
	SMX_METRICS_FAIL_DECRYPT,
	SMX_METRICS_FAIL_VERIFY,	/* verification could not run */
	SMX_METRICS_FAIL_HARVEST,	/* the store refused a harvest */
	SMX_METRICS_FAIL_LOOKUP,	/* store or directory did not answer */
	SMX_METRICS_FAIL_MTA,		/* the MTA refused an edit */
	SMX_METRICS_FAIL_INTERNAL,	/* out of memory and the like */
};

void smx_metrics_failure(enum smx_metrics_failure reason);

/* The certificates in use that expire within 30 days, as last surveyed
 * (a gauge, certificates_expiring): identities, those of internal users
 * whose private keys the store holds; recipients, the other certificates
 * seen (harvested, looked up, used) in the last 30 days. */
void smx_metrics_set_expiring(uint64_t identities, uint64_t recipients);

/* An MTA connection refused (temporary failure) because
 * milter.max_connections connections were open. */
void smx_metrics_connection_refused(void);

/* The store's database stopped answering (up false) or answers again
 * (true): the gauge store_up, and store_outages_total counts each
 * change from up to down once. */
void smx_metrics_store_state(bool up);

/* A request to the key process: op "sign", "decrypt" or "enroll", result "ok",
 * "refused", "rate_limited", "unavailable", "bad_request", "unreachable"
 * (it died or did not answer) or "failed". */
void smx_metrics_keyproc_request(const char *op, const char *result);

/* The key process died and is being started again. */
void smx_metrics_keyproc_restart(void);

/* Revocation checking: "good", "revoked", "unknown" (a status learned,
 * not from the store's cache), "unknown_used" (soft mode used a
 * certificate of unknown status), "unknown_refused" (hard mode did not). */
void smx_metrics_revocation(const char *outcome);

/* Every metric in the Prometheus text exposition format 0.0.4, names
 * prefixed smime_milter_, every label combination listed (zeros too).
 * Returns a NUL-terminated string owned by the caller (free()) and its
 * length in *len_r, or NULL when memory ran out. */
char *smx_metrics_render(size_t *len_r);

/* Receives one counter's increase; returns 0 when it was recorded. */
typedef int (*smx_metrics_sink)(void *arg, const char *name, int64_t delta);

/* Hands every counter that grew since its last recorded flush to sink,
 * as a dotted store name ("milter.messages.outbound.sign") and its
 * increase. An increase the sink refuses stays for the next flush, so
 * the store's totals neither lose nor double-count. Flushes are
 * serialized. Returns the number of counters the sink refused. */
size_t smx_metrics_flush(smx_metrics_sink sink, void *arg);

/* Starts a thread that flushes to sink every interval_s seconds (at
 * least 1). One flusher per process; returns 0, or -1 when it could not
 * start (or already runs). */
int smx_metrics_flusher_start(unsigned interval_s, smx_metrics_sink sink,
			      void *arg);

/* Stops the flusher, then flushes once more. Safe when none runs. */
void smx_metrics_flusher_stop(void);

#endif
