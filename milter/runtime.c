#include "runtime.h"

#include <pthread.h>
#include <time.h>

static pthread_mutex_t runtime_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t runtime_idle = PTHREAD_COND_INITIALIZER;
static struct cfg *current_cfg;
static unsigned messages_in_flight;
static bool draining;

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
