/* SPDX-License-Identifier: BSD-2-Clause */
/* Every revocation.refresh_interval, up to REFRESH_BATCH statuses that stop being valid
 * within REFRESH_AHEAD seconds are checked again (OCSP, CRL, the
 * organization CA's records), each with the configuration's timeouts;
 * statuses expired for a week are deleted.
 * Only certificates the store holds are refreshed; the CA certificates
 * of inbound chains are checked again when mail needs them. Several
 * hosts sharing a store may refresh the same status: harmless, the last
 * answer wins. */
#include "revrefresh.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include <openssl/x509.h>

#include <smx/log.h>
#include <smx/lookup.h>
#include <smx/revocation.h>
#include <smx/store.h>

#include "runtime.h"

#define IDLE_INTERVAL 60	/* seconds between looks at the setting
				 * while the refresh is off */
#define REFRESH_AHEAD 300	/* refresh what expires this soon */
#define REFRESH_BATCH 20	/* statuses per round at most */
#define PURGE_AFTER (7 * 86400)	/* statuses expired this long are
				 * deleted (signers seen once) */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static bool stopping, running;
static pthread_t thread;

static bool should_stop(void)
{
	pthread_mutex_lock(&lock);
	bool s = stopping;
	pthread_mutex_unlock(&lock);
	return s;
}

/* The stored certificates of the fingerprints, as DER for the issuer
 * search; *n_r of them (the others are not in the store). */
static struct store_cert **stored(struct store *store, char (*fps)[65],
				  size_t n, size_t *n_r)
{
	struct store_cert **certs = calloc(n + 1, sizeof(*certs));
	*n_r = 0;
	for (size_t i = 0; certs != NULL && i < n; i++)
		if (store_cert_get(store, fps[i], &certs[*n_r]) == SMX_OK)
			(*n_r)++;
	return certs;
}

static void refresh_certs(struct store *store, const struct cfg *cfg,
			  struct store_cert **certs, size_t n)
{
	struct lookup_der *ders = calloc(n + 1, sizeof(*ders));
	X509 **issuers = calloc(n + 1, sizeof(*issuers));
	if (ders == NULL || issuers == NULL)
		goto done;
	for (size_t i = 0; i < n; i++)
		ders[i] = (struct lookup_der){ certs[i]->der, certs[i]->der_len };
	if (lookup_issuers_of(store, &cfg->verify, ders, n, issuers) != SMX_OK)
		goto done;
	for (size_t i = 0; i < n && !should_stop(); i++) {
		struct store_revstatus s;
		time_t now = time(NULL);
		X509 *x = store_cert_x509(certs[i]);
		(void)revocation_check(store, &cfg->revocation, x, issuers[i],
				       now,
				       now + (time_t)cfg->revocation.max_wait,
				       REVOCATION_FORCE, &s, NULL);
		X509_free(x);
	}
done:
	for (size_t i = 0; issuers != NULL && i < n; i++)
		X509_free(issuers[i]);
	free(issuers);
	free(ders);
}

static void refresh_round(void)
{
	struct cfg *cfg = runtime_config();
	struct store *store = runtime_store();
	char (*fps)[65] = NULL;
	size_t n = 0, n_certs = 0;
	if (store != NULL)
		(void)store_revstatus_purge(store, (int64_t)time(NULL) -
							   PURGE_AFTER, NULL);
	if (store == NULL || cfg == NULL ||
	    revocation_mode_of(&cfg->revocation) == REVOCATION_MODE_OFF ||
	    cfg->revocation.refresh_interval == 0 ||
	    store_revstatus_expiring(store, (int64_t)time(NULL) +
						    REFRESH_AHEAD,
				     REFRESH_BATCH, &fps, &n) != SMX_OK ||
	    n == 0)
		goto done;
	struct store_cert **certs = stored(store, fps, n, &n_certs);
	if (certs != NULL && n_certs > 0) {
		smx_log(LOG_DEBUG, "revocation: refreshing %zu status%s",
			n_certs, n_certs == 1 ? "" : "es");
		refresh_certs(store, cfg, certs, n_certs);
	}
	store_cert_list_free(&certs, n_certs);
done:
	free(fps);
	cfg_unref(&cfg);
}

/* Seconds until the next round, as the current configuration says. */
static unsigned interval(void)
{
	struct cfg *cfg = runtime_config();
	unsigned s = cfg != NULL ? cfg->revocation.refresh_interval : 0;
	cfg_unref(&cfg);
	return s > 0 ? s : IDLE_INTERVAL;
}

static void *refresher(void *unused)
{
	(void)unused;
	for (;;) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += (time_t)interval();
		pthread_mutex_lock(&lock);
		while (!stopping &&
		       pthread_cond_timedwait(&wake, &lock, &until) == 0)
			;
		bool stop = stopping;
		pthread_mutex_unlock(&lock);
		if (stop)
			return NULL;
		refresh_round();
	}
}

int revrefresh_start(void)
{
	if (pthread_create(&thread, NULL, refresher, NULL) != 0) {
		smx_log(LOG_ERR, "cannot start the revocation refresher: "
			"statuses are learned when mail needs them");
		return -1;
	}
	running = true;
	return 0;
}

void revrefresh_stop(void)
{
	if (!running)
		return;
	pthread_mutex_lock(&lock);
	stopping = true;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL);
	running = false;
}
