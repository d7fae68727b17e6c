/* SPDX-License-Identifier: BSD-2-Clause */
/* Counters and histograms: fixed tables, atomics, and their two outputs
 * (the Prometheus text format and deltas for the store). */
#include <smx/metrics.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PREFIX "smime_milter_"
#define STORE_PREFIX "milter."
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* --- label values (the last of each list catches the rest) ------------- */

static const char *const directions[] = { "inbound", "outbound", "internal",
					  "transit", "other" };
static const char *const actions[] = { "pass", "sign", "encrypt",
				       "sign+encrypt", "reject", "tempfail",
				       "hold", "other" };
static const char *const refusals[] = { "reject", "tempfail", "defer",
					"other" };
static const char *const results[] = { "pass", "fail", "policy", "neutral",
				       "temperror", "permerror", "other" };
static const char *const decrypt_refusals[] = { "limit", "unopened",
						"mismatch", "other" };
static const char *const lookups[] = { "hit", "miss", "unknown" };
static const char *const enrollments[] = { "issued", "renewed", "limited",
					   "unknown", "failed" };
static const char *const failures[] = { "sign", "encrypt", "decrypt",
					"verify", "harvest", "lookup", "mta",
					"internal" };
static const char *const keyproc_ops[] = { "sign", "decrypt", "enroll" };
static const char *const keyproc_results[] = { "ok", "refused",
					       "rate_limited", "unavailable",
					       "bad_request", "unreachable",
					       "failed" };
static const char *const revocations[] = { "good", "revoked", "unknown",
					   "unknown_used", "unknown_refused",
					   "other" };
static const char *const stages[] = { "sign", "encrypt", "decrypt", "verify",
				      "directory" };

enum stage { STAGE_SIGN, STAGE_ENCRYPT, STAGE_DECRYPT, STAGE_VERIFY,
	     STAGE_DIRECTORY, N_STAGES };

/* Offsets of each family in the one array of counters. */
enum {
	C_MESSAGES = 0,
	C_REFUSED = C_MESSAGES + COUNT(directions) * COUNT(actions),
	C_SIGNED = C_REFUSED + COUNT(refusals),
	C_VERIFIED = C_SIGNED + 1,
	C_ENCRYPTED = C_VERIFIED + COUNT(results),
	C_DECRYPTED = C_ENCRYPTED + 1,
	C_DECRYPT_REFUSED = C_DECRYPTED + 1,
	C_HARVESTS = C_DECRYPT_REFUSED + COUNT(decrypt_refusals),
	C_ENROLLMENTS = C_HARVESTS + 1,
	C_LOOKUPS = C_ENROLLMENTS + COUNT(enrollments),
	C_CACHE_HITS = C_LOOKUPS + COUNT(lookups),
	C_FAILURES = C_CACHE_HITS + 1,
	C_CONN_REFUSED = C_FAILURES + COUNT(failures),
	C_STORE_OUTAGES = C_CONN_REFUSED + 1,
	C_KEYPROC = C_STORE_OUTAGES + 1,
	C_KEYPROC_RESTARTS = C_KEYPROC + COUNT(keyproc_ops) *
					 COUNT(keyproc_results),
	C_REVOCATION = C_KEYPROC_RESTARTS + 1,
	N_COUNTERS = C_REVOCATION + COUNT(revocations),
};

struct label {
	const char *name;
	const char *const *values;
	size_t n;
};

struct family {
	const char *name;	/* after PREFIX */
	const char *help;
	const char *store;	/* store names: STORE_PREFIX store.v1.v2 */
	size_t first;		/* offset in counters[] */
	struct label labels[2];	/* name NULL: unused */
};

#define LABEL(n, v) { n, v, COUNT(v) }

static const struct family families[] = {
	{ "messages_total", "Messages decided at end of message, by direction "
	  "and action.", "messages", C_MESSAGES,
	  { LABEL("direction", directions), LABEL("action", actions) } },
	{ "recipients_refused_total", "Recipients refused at RCPT time.",
	  "recipients_refused", C_REFUSED, { LABEL("action", refusals) } },
	{ "signatures_made_total", "S/MIME signatures made.",
	  "signatures.made", C_SIGNED, { { NULL, NULL, 1 } } },
	{ "signatures_verified_total", "Inbound signatures verified, by "
	  "result (RFC 7281).", "signatures.verified", C_VERIFIED,
	  { LABEL("result", results) } },
	{ "encryptions_total", "Messages encrypted.", "encryptions",
	  C_ENCRYPTED, { { NULL, NULL, 1 } } },
	{ "decryptions_total", "Messages decrypted.", "decryptions",
	  C_DECRYPTED, { { NULL, NULL, 1 } } },
	{ "decryptions_refused_total", "Messages left encrypted because a "
	  "recipient's key did not open them, by reason.",
	  "decryptions_refused", C_DECRYPT_REFUSED,
	  { LABEL("reason", decrypt_refusals) } },
	{ "harvests_total", "Certificates harvested from verified signatures "
	  "into the store.", "harvests", C_HARVESTS, { { NULL, NULL, 1 } } },
	{ "enrollments_total", "Auto-enrollment by the organization CA: "
	  "certificates issued and renewed, new addresses refused by the "
	  "enrollment limits or as unknown, failures.", "enrollments", C_ENROLLMENTS,
	  { LABEL("result", enrollments) } },
	{ "directory_lookups_total", "Queries to the LDAP directory, by "
	  "result.", "directory_lookups", C_LOOKUPS,
	  { LABEL("result", lookups) } },
	{ "cache_hits_total", "Recipient lookups answered from directory data "
	  "cached in the store.", "cache_hits", C_CACHE_HITS,
	  { { NULL, NULL, 1 } } },
	{ "failures_total", "Failures, by reason.", "failures", C_FAILURES,
	  { LABEL("reason", failures) } },
	{ "connections_refused_total", "MTA connections answered with a "
	  "temporary failure because milter.max_connections were open.",
	  "connections_refused", C_CONN_REFUSED, { { NULL, NULL, 1 } } },
	{ "store_outages_total", "Times the store's database stopped "
	  "answering (each outage once, however many attempts failed).",
	  "store_outages", C_STORE_OUTAGES, { { NULL, NULL, 1 } } },
	{ "key_process_requests_total", "Private-key operations asked of the "
	  "key process, by operation and result.", "key_process_requests",
	  C_KEYPROC, { LABEL("op", keyproc_ops),
		       LABEL("result", keyproc_results) } },
	{ "key_process_restarts_total", "Times the key process died and was "
	  "started again.", "key_process_restarts", C_KEYPROC_RESTARTS,
	  { { NULL, NULL, 1 } } },
	{ "revocation_total", "Revocation checking: statuses learned (good, "
	  "revoked, unknown) and certificates of unknown status used (soft "
	  "mode) or refused (hard mode).", "revocation", C_REVOCATION,
	  { LABEL("outcome", revocations) } },
};

static atomic_uint_least64_t counters[N_COUNTERS];

/* The one gauge: 1 while the store's database answers (or nothing has
 * said otherwise yet), 0 during an outage. */
static atomic_int store_up = 1;

/* --- gauges ------------------------------------------------------------ */

static const char *const expiring_kinds[] = { "identity", "recipient" };
static atomic_uint_least64_t expiring[COUNT(expiring_kinds)];

void smx_metrics_set_expiring(uint64_t identities, uint64_t recipients)
{
	atomic_store_explicit(&expiring[0], identities, memory_order_relaxed);
	atomic_store_explicit(&expiring[1], recipients, memory_order_relaxed);
}

/* --- histograms -------------------------------------------------------- */

/* Upper bounds in microseconds (le is inclusive), and as printed. */
static const uint64_t bucket_us[] = { 5000, 10000, 25000, 50000, 100000,
				      250000, 500000, 1000000, 2500000,
				      5000000, 10000000 };
static const char *const bucket_le[] = { "0.005", "0.01", "0.025", "0.05",
					 "0.1", "0.25", "0.5", "1", "2.5",
					 "5", "10" };
#define N_BUCKETS COUNT(bucket_us)

struct histogram {
	atomic_uint_least64_t buckets[N_BUCKETS + 1];	/* not cumulative;
							 * the last is +Inf */
	atomic_uint_least64_t sum_us;
};

static struct histogram message_histogram;
static struct histogram stage_histograms[N_STAGES];

static void add(size_t counter, uint64_t n)
{
	atomic_fetch_add_explicit(&counters[counter], n, memory_order_relaxed);
}

static void observe(struct histogram *h, uint64_t micros)
{
	size_t b = 0;
	while (b < N_BUCKETS && micros > bucket_us[b])
		b++;
	atomic_fetch_add_explicit(&h->buckets[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_us, micros, memory_order_relaxed);
}

/* The index of value in values, or the last one ("other"). */
static size_t index_of(const char *const *values, size_t n, const char *value)
{
	for (size_t i = 0; value != NULL && i + 1 < n; i++)
		if (strcmp(values[i], value) == 0)
			return i;
	return n - 1;
}

/* --- recording --------------------------------------------------------- */

uint64_t smx_metrics_clock_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t smx_metrics_since_us(uint64_t start)
{
	uint64_t now = smx_metrics_clock_us();
	return now > start ? now - start : 0;
}

void smx_metrics_message(const char *direction, const char *action,
			 uint64_t micros)
{
	size_t d = index_of(directions, COUNT(directions), direction);
	size_t a = index_of(actions, COUNT(actions), action);
	add(C_MESSAGES + d * COUNT(actions) + a, 1);
	observe(&message_histogram, micros);
}

void smx_metrics_recipient_refused(const char *action)
{
	add(C_REFUSED + index_of(refusals, COUNT(refusals), action), 1);
}

void smx_metrics_signature_made(uint64_t micros)
{
	add(C_SIGNED, 1);
	observe(&stage_histograms[STAGE_SIGN], micros);
}

void smx_metrics_encryption(uint64_t micros)
{
	add(C_ENCRYPTED, 1);
	observe(&stage_histograms[STAGE_ENCRYPT], micros);
}

void smx_metrics_decryption(uint64_t micros)
{
	add(C_DECRYPTED, 1);
	observe(&stage_histograms[STAGE_DECRYPT], micros);
}

void smx_metrics_decryption_refused(const char *reason)
{
	add(C_DECRYPT_REFUSED + index_of(decrypt_refusals,
					 COUNT(decrypt_refusals), reason), 1);
}

void smx_metrics_signature_verified(const char *result)
{
	add(C_VERIFIED + index_of(results, COUNT(results), result), 1);
}

void smx_metrics_verification(uint64_t micros)
{
	observe(&stage_histograms[STAGE_VERIFY], micros);
}

void smx_metrics_harvest(size_t certificates)
{
	add(C_HARVESTS, certificates);
}

void smx_metrics_enrollment(enum smx_metrics_enrollment result)
{
	size_t r = (size_t)result < COUNT(enrollments)
			   ? (size_t)result : SMX_METRICS_ENROLL_FAILED;
	add(C_ENROLLMENTS + r, 1);
}

void smx_metrics_directory_lookup(enum smx_metrics_lookup result,
				  uint64_t micros)
{
	size_t r = (size_t)result < COUNT(lookups) ? (size_t)result
						   : SMX_METRICS_LOOKUP_UNKNOWN;
	add(C_LOOKUPS + r, 1);
	observe(&stage_histograms[STAGE_DIRECTORY], micros);
}

void smx_metrics_cache_hit(void)
{
	add(C_CACHE_HITS, 1);
}

void smx_metrics_failure(enum smx_metrics_failure reason)
{
	size_t r = (size_t)reason < COUNT(failures) ? (size_t)reason
						    : SMX_METRICS_FAIL_INTERNAL;
	add(C_FAILURES + r, 1);
}

void smx_metrics_connection_refused(void)
{
	add(C_CONN_REFUSED, 1);
}

void smx_metrics_store_state(bool up)
{
	int was = atomic_exchange_explicit(&store_up, up ? 1 : 0,
					   memory_order_relaxed);
	if (was && !up)
		add(C_STORE_OUTAGES, 1);
}

void smx_metrics_keyproc_request(const char *op, const char *result)
{
	size_t o = index_of(keyproc_ops, COUNT(keyproc_ops), op);
	size_t r = index_of(keyproc_results, COUNT(keyproc_results), result);
	add(C_KEYPROC + o * COUNT(keyproc_results) + r, 1);
}

void smx_metrics_keyproc_restart(void)
{
	add(C_KEYPROC_RESTARTS, 1);
}

void smx_metrics_revocation(const char *outcome)
{
	add(C_REVOCATION + index_of(revocations, COUNT(revocations), outcome),
	    1);
}

/* --- the Prometheus text format ---------------------------------------- */

static uint64_t load(atomic_uint_least64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

/* The label set of counter k of f ("" when f has none). */
static void label_text(const struct family *f, size_t k, char *buf,
		       size_t size)
{
	const struct label *l0 = &f->labels[0], *l1 = &f->labels[1];
	if (l0->name == NULL)
		snprintf(buf, size, "%s", "");
	else if (l1->name == NULL)
		snprintf(buf, size, "{%s=\"%s\"}", l0->name, l0->values[k]);
	else
		snprintf(buf, size, "{%s=\"%s\",%s=\"%s\"}", l0->name,
			 l0->values[k / l1->n], l1->name, l1->values[k % l1->n]);
}

static size_t family_size(const struct family *f)
{
	return f->labels[0].n * (f->labels[1].name ? f->labels[1].n : 1);
}

static void render_family(FILE *out, const struct family *f)
{
	char labels[96];
	fprintf(out, "# HELP " PREFIX "%s %s\n# TYPE " PREFIX "%s counter\n",
		f->name, f->help, f->name);
	for (size_t k = 0; k < family_size(f); k++) {
		label_text(f, k, labels, sizeof(labels));
		fprintf(out, PREFIX "%s%s %" PRIu64 "\n", f->name, labels,
			load(&counters[f->first + k]));
	}
}

/* One histogram's series; label is "" or `stage="sign",`. */
static void render_histogram(FILE *out, const char *name, const char *label,
			     struct histogram *h)
{
	uint64_t cumulative = 0;
	for (size_t b = 0; b <= N_BUCKETS; b++) {
		cumulative += load(&h->buckets[b]);
		fprintf(out, PREFIX "%s_bucket{%sle=\"%s\"} %" PRIu64 "\n", name,
			label, b < N_BUCKETS ? bucket_le[b] : "+Inf",
			cumulative);
	}
	uint64_t sum = load(&h->sum_us);
	size_t len = strlen(label);
	/* `stage="sign",` becomes `{stage="sign"}` for _sum and _count */
	fprintf(out, PREFIX "%s_sum%s%.*s%s %" PRIu64 ".%06" PRIu64 "\n", name,
		len ? "{" : "", len ? (int)len - 1 : 0, label, len ? "}" : "",
		sum / 1000000u, sum % 1000000u);
	fprintf(out, PREFIX "%s_count%s%.*s%s %" PRIu64 "\n", name,
		len ? "{" : "", len ? (int)len - 1 : 0, label, len ? "}" : "",
		cumulative);
}

/* Gauges are the process's view of the store, not counted here: they
 * are rendered, never flushed to the store's counters. */
static void render_gauges(FILE *out)
{
	fputs("# HELP " PREFIX "certificates_expiring Certificates in use that "
	      "expire within 30 days: internal identities, and recipients' "
	      "seen in the last 30 days.\n# TYPE " PREFIX
	      "certificates_expiring gauge\n", out);
	for (size_t k = 0; k < COUNT(expiring_kinds); k++)
		fprintf(out, PREFIX "certificates_expiring{kind=\"%s\"} %" PRIu64
			"\n", expiring_kinds[k], load(&expiring[k]));
}

static void render_histograms(FILE *out)
{
	fputs("# HELP " PREFIX "message_duration_seconds End-of-message "
	      "processing time.\n# TYPE " PREFIX "message_duration_seconds "
	      "histogram\n", out);
	render_histogram(out, "message_duration_seconds", "",
			 &message_histogram);
	fputs("# HELP " PREFIX "stage_duration_seconds Time spent signing, "
	      "encrypting, decrypting, verifying and querying the directory."
	      "\n# TYPE " PREFIX "stage_duration_seconds histogram\n", out);
	for (size_t s = 0; s < N_STAGES; s++) {
		char label[32];
		snprintf(label, sizeof(label), "stage=\"%s\",", stages[s]);
		render_histogram(out, "stage_duration_seconds", label,
				 &stage_histograms[s]);
	}
}

char *smx_metrics_render(size_t *len_r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < COUNT(families); i++)
		render_family(out, &families[i]);
	fputs("# HELP " PREFIX "store_up 1 while the store's database "
	      "answers, 0 during an outage.\n# TYPE " PREFIX "store_up gauge\n",
	      out);
	fprintf(out, PREFIX "store_up %d\n",
		atomic_load_explicit(&store_up, memory_order_relaxed));
	render_gauges(out);
	render_histograms(out);
	bool failed = ferror(out) != 0;
	if (fclose(out) != 0 || failed) {
		free(text);
		return NULL;
	}
	if (len_r != NULL)
		*len_r = len;
	return text;
}

/* --- deltas for the store ---------------------------------------------- */

static pthread_mutex_t flush_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t flushed[N_COUNTERS];	/* under flush_lock */

static void store_name(const struct family *f, size_t k, char *buf,
		       size_t size)
{
	const struct label *l0 = &f->labels[0], *l1 = &f->labels[1];
	if (l0->name == NULL)
		snprintf(buf, size, STORE_PREFIX "%s", f->store);
	else if (l1->name == NULL)
		snprintf(buf, size, STORE_PREFIX "%s.%s", f->store,
			 l0->values[k]);
	else
		snprintf(buf, size, STORE_PREFIX "%s.%s.%s", f->store,
			 l0->values[k / l1->n], l1->values[k % l1->n]);
}

size_t smx_metrics_flush(smx_metrics_sink sink, void *arg)
{
	size_t refused = 0;
	char name[96];
	pthread_mutex_lock(&flush_lock);
	for (size_t i = 0; i < COUNT(families); i++) {
		const struct family *f = &families[i];
		for (size_t k = 0; k < family_size(f); k++) {
			size_t c = f->first + k;
			uint64_t now = load(&counters[c]);
			if (now == flushed[c])
				continue;
			store_name(f, k, name, sizeof(name));
			if (sink(arg, name, (int64_t)(now - flushed[c])) == 0)
				flushed[c] = now;
			else
				refused++;
		}
	}
	pthread_mutex_unlock(&flush_lock);
	return refused;
}

/* --- the flusher thread ------------------------------------------------ */

static pthread_mutex_t flusher_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t flusher_wake;
static bool flusher_running, flusher_stopping;
static pthread_t flusher_thread;
static unsigned flusher_interval;
static smx_metrics_sink flusher_sink;
static void *flusher_arg;

static void *flusher_main(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&flusher_lock);
	while (!flusher_stopping) {
		struct timespec deadline;
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += flusher_interval;
		int rc = 0;
		while (!flusher_stopping && rc == 0)
			rc = pthread_cond_timedwait(&flusher_wake, &flusher_lock,
						    &deadline);
		if (flusher_stopping)
			break;
		/* the sink may block on the store: never under our lock */
		pthread_mutex_unlock(&flusher_lock);
		smx_metrics_flush(flusher_sink, flusher_arg);
		pthread_mutex_lock(&flusher_lock);
	}
	pthread_mutex_unlock(&flusher_lock);
	return NULL;
}

int smx_metrics_flusher_start(unsigned interval_s, smx_metrics_sink sink,
			      void *arg)
{
	pthread_condattr_t attr;
	int rc = -1;
	pthread_mutex_lock(&flusher_lock);
	if (flusher_running)
		goto done;
	flusher_sink = sink;	/* for the flush at stop, even without thread */
	flusher_arg = arg;
	if (pthread_condattr_init(&attr) != 0)
		goto done;
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (pthread_cond_init(&flusher_wake, &attr) == 0) {
		flusher_interval = interval_s > 0 ? interval_s : 1;
		flusher_stopping = false;
		if (pthread_create(&flusher_thread, NULL, flusher_main,
				   NULL) == 0) {
			flusher_running = true;
			rc = 0;
		} else {
			pthread_cond_destroy(&flusher_wake);
		}
	}
	pthread_condattr_destroy(&attr);
done:
	pthread_mutex_unlock(&flusher_lock);
	return rc;
}

void smx_metrics_flusher_stop(void)
{
	pthread_mutex_lock(&flusher_lock);
	bool running = flusher_running;
	flusher_stopping = true;
	if (running)
		pthread_cond_signal(&flusher_wake);
	pthread_mutex_unlock(&flusher_lock);
	if (running) {
		pthread_join(flusher_thread, NULL);
		pthread_cond_destroy(&flusher_wake);
		flusher_running = false;
	}
	if (flusher_sink != NULL)
		smx_metrics_flush(flusher_sink, flusher_arg);
}
