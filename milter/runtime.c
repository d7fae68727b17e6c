/* SPDX-License-Identifier: BSD-2-Clause */
#include "runtime.h"

#include <pthread.h>
#include <time.h>

#include <stdlib.h>

#include <smx/directory.h>
#include <smx/log.h>
#include <smx/store.h>

#define STORE_RETRY_SECONDS 30

static pthread_mutex_t runtime_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t runtime_idle = PTHREAD_COND_INITIALIZER;
static struct cfg *current_cfg;
static unsigned messages_in_flight;
static unsigned connections_open;
static bool draining;
static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;
static struct store *shared_store;
static time_t store_attempt;
static struct directory *shared_directory;

void runtime_set_config(struct cfg *cfg)
{
	pthread_mutex_lock(&runtime_lock);
	struct cfg *old = current_cfg;
	current_cfg = cfg;
	pthread_mutex_unlock(&runtime_lock);
	cfg_unref(&old);
}

struct cfg *runtime_config(void)
{
	pthread_mutex_lock(&runtime_lock);
	struct cfg *cfg = current_cfg != NULL ? cfg_ref(current_cfg) : NULL;
	pthread_mutex_unlock(&runtime_lock);
	return cfg;
}

void runtime_message_begin(void)
{
	pthread_mutex_lock(&runtime_lock);
	messages_in_flight++;
	pthread_mutex_unlock(&runtime_lock);
}

void runtime_message_end(void)
{
	pthread_mutex_lock(&runtime_lock);
	if (messages_in_flight > 0 && --messages_in_flight == 0)
		pthread_cond_broadcast(&runtime_idle);
	pthread_mutex_unlock(&runtime_lock);
}

bool runtime_connection_begin(unsigned limit)
{
	pthread_mutex_lock(&runtime_lock);
	bool admitted = connections_open < limit;
	if (admitted)
		connections_open++;
	pthread_mutex_unlock(&runtime_lock);
	return admitted;
}

void runtime_connection_end(void)
{
	pthread_mutex_lock(&runtime_lock);
	if (connections_open > 0)
		connections_open--;
	pthread_mutex_unlock(&runtime_lock);
}

bool runtime_draining(void)
{
	pthread_mutex_lock(&runtime_lock);
	bool d = draining;
	pthread_mutex_unlock(&runtime_lock);
	return d;
}

bool runtime_drain(unsigned timeout_s)
{
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_s;
	pthread_mutex_lock(&runtime_lock);
	draining = true;
	int rc = 0;
	while (messages_in_flight > 0 && rc == 0)
		rc = pthread_cond_timedwait(&runtime_idle, &runtime_lock,
					    &deadline);
	bool idle = messages_in_flight == 0;
	pthread_mutex_unlock(&runtime_lock);
	return idle;
}

/* Called with store_lock held. A store that stays closed is reported
 * once, not at every retry; its opening later, once. */
static void try_open_store(const struct cfg *cfg)
{
	static bool reported;
	enum smx_status st = SMX_OK;
	store_attempt = time(NULL);
	/* With the key process, the master key never enters this process. */
	shared_store = store_open(&cfg->store_settings,
				  cfg->keys.process ? STORE_OPEN_NO_KEY
							  : 0, &st);
	if (shared_store == NULL && !reported)
		smx_log(LOG_ERR, "store %s: cannot open (%s); certificates and "
			"keys are unknown until it can be opened",
			cfg_store_backend_name(cfg), smx_status_name(st));
	if (shared_store != NULL && reported)
		smx_log(LOG_NOTICE, "store %s: opened",
			cfg_store_backend_name(cfg));
	reported = shared_store == NULL;
	if (shared_store == NULL)
		return;
	if (!cfg->keys.process && store_key_status(shared_store) != SMX_OK)
		smx_log(LOG_WARNING, "store: private keys unavailable (master "
			"key file %s missing or wrong): nothing can be signed",
			cfg->keys.master_key_file);
}

void runtime_open_store(const struct cfg *cfg)
{
	pthread_mutex_lock(&store_lock);
	if (shared_store == NULL)
		try_open_store(cfg);
	pthread_mutex_unlock(&store_lock);
}

struct store *runtime_store(void)
{
	pthread_mutex_lock(&store_lock);
	if (shared_store == NULL &&
	    time(NULL) - store_attempt >= STORE_RETRY_SECONDS) {
		struct cfg *cfg = runtime_config();
		if (cfg != NULL)
			try_open_store(cfg);
		cfg_unref(&cfg);
	}
	struct store *s = shared_store;
	pthread_mutex_unlock(&store_lock);
	return s;
}

void runtime_close_store(void)
{
	pthread_mutex_lock(&store_lock);
	store_close(&shared_store);
	directory_free(&shared_directory);
	pthread_mutex_unlock(&store_lock);
}

void runtime_open_directory(const struct cfg *cfg)
{
	if (cfg->ldap.n_uri == 0)
		return;
	struct smx_error error = { "" };
	if (directory_open(&cfg->ldap, cfg->store.pool_size, &shared_directory,
			   &error) != SMX_OK) {
		smx_log(LOG_ERR, "ldap: %s: certificates are only looked up in "
			"the store", smx_error_text(&error, "cannot set up the "
						    "client"));
		shared_directory = NULL;
	}
}

struct directory *runtime_directory(void)
{
	return shared_directory;	/* set before the threads start */
}
