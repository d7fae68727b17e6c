/* SPDX-License-Identifier: BSD-2-Clause */
/* The expiry watcher: one thread that surveys the store at start and
 * every hour (expiry.h), sets the certificates_expiring gauge and logs
 * the identities that expire soon with nobody renewing them. */
#include "expiry.h"

#include <pthread.h>
#include <stdio.h>
#include <syslog.h>

#include <smx/cfg.h>
#include <smx/log.h>
#include <smx/metrics.h>

#include "runtime.h"

#define SURVEY_SECONDS 3600

static void warn(const struct store_cert *c, time_t now)
{
	char date[32] = "";
	time_t end = (time_t)c->not_after;
	struct tm tm;
	if (gmtime_r(&end, &tm) != NULL)
		strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", &tm);
	long days = (long)((c->not_after - (int64_t)now) / 86400);
	smx_log(LOG_WARNING, "expiry: identity <%s> certificate %s expires "
		"%s (in %ld day%s) and is not renewed automatically: issue or "
		"import its successor", c->n_emails > 0 ? c->emails[0] : "",
		c->fingerprint, date, days, days == 1 ? "" : "s");
}

static void survey_once(void)
{
	struct store *store = runtime_store();
	struct cfg *cfg = runtime_config();
	struct store_cert **certs = NULL;
	size_t n = 0;
	struct expiry_survey s;
	time_t now = time(NULL);
	if (store != NULL && cfg != NULL &&
	    store_cert_list(store, NULL, &certs, &n) == SMX_OK &&
	    expiry_survey_make(certs, n, now, cfg->ca.auto_enroll, &s) == 0) {
		smx_metrics_set_expiring(s.identities, s.recipients);
		for (size_t i = 0; i < s.n_warn; i++)
			if (expiry_warn_due(s.warn[i]->fingerprint, now))
				warn(s.warn[i], now);
		expiry_survey_clear(&s);
	}
	store_cert_list_free(&certs, n);
	cfg_unref(&cfg);
}

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t watch_wake;
static bool watch_running, watch_stopping;
static pthread_t watch_thread;

static void *watch_main(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&watch_lock);
	while (!watch_stopping) {
		/* the store may be slow: never under our lock */
		pthread_mutex_unlock(&watch_lock);
		survey_once();
		pthread_mutex_lock(&watch_lock);
		struct timespec deadline;
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += SURVEY_SECONDS;
		int rc = 0;
		while (!watch_stopping && rc == 0)
			rc = pthread_cond_timedwait(&watch_wake, &watch_lock,
						    &deadline);
	}
	pthread_mutex_unlock(&watch_lock);
	return NULL;
}

int expiry_watch_start(void)
{
	pthread_condattr_t attr;
	int rc = -1;
	pthread_mutex_lock(&watch_lock);
	if (watch_running || pthread_condattr_init(&attr) != 0)
		goto done;
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (pthread_cond_init(&watch_wake, &attr) == 0) {
		watch_stopping = false;
		if (pthread_create(&watch_thread, NULL, watch_main, NULL) == 0) {
			watch_running = true;
			rc = 0;
		} else {
			pthread_cond_destroy(&watch_wake);
		}
	}
	pthread_condattr_destroy(&attr);
done:
	pthread_mutex_unlock(&watch_lock);
	return rc;
}

void expiry_watch_stop(void)
{
	pthread_mutex_lock(&watch_lock);
	bool running = watch_running;
	watch_stopping = true;
	if (running)
		pthread_cond_signal(&watch_wake);
	pthread_mutex_unlock(&watch_lock);
	if (running) {
		pthread_join(watch_thread, NULL);
		pthread_cond_destroy(&watch_wake);
		watch_running = false;
	}
}
