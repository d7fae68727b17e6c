/* SPDX-License-Identifier: BSD-2-Clause */
/* libmilter starts its own signal thread, which waits in sigwait() for
 * SIGHUP, SIGTERM and SIGINT and stops the filter on any of them: a
 * SIGHUP would stop smime-milter instead of reloading it, and a signal
 * during the graceful drain would cut off the messages in flight.
 *
 * This definition of sigwait() takes precedence over the C library's in
 * the whole process (the executable comes first in symbol lookup), so
 * libmilter's signal thread is parked here for good and never takes a
 * signal. smime-milter's own code never calls sigwait(): the main thread
 * waits with sigwaitinfo(), so every SIGHUP, SIGTERM and SIGINT stays
 * pending until the main thread takes it, and none can be lost to the
 * wrong thread. */
#include <signal.h>
#include <unistd.h>

int sigwait(const sigset_t *set, int *sig)
{
	(void)set;
	(void)sig;
	/* Every signal is blocked in this thread: pause() never returns. */
	for (;;)
		pause();
}
