/* SPDX-License-Identifier: BSD-2-Clause */
/* The mail-handling process's side: starts the key process (this very
 * program, executed afresh so that it shares no memory with the process
 * that reads mail), restarts it when it dies, and sends it requests over
 * several lanes (socket pairs), one request in flight on each: the key
 * process answers each lane in its own thread, so that private-key
 * operations of parallel messages use every CPU as they would in this
 * process. A request in flight when it dies fails temporarily: the
 * message is tempfailed, never sent unsigned or in clear.
 *
 * The program file is held open from the start and every key process is
 * executed from that descriptor: a package upgrade that replaces the file
 * while the milter runs cannot give a running daemon a key process of
 * another version (whose requests may differ); the new version runs once
 * the service is restarted. */
#include <smx/keyproc.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <smx/log.h>
#include <smx/metrics.h>

#include "keyproc-private.h"

#define REPLY_TIMEOUT_MS 10000
#define CHILD_FD 3
#define MAX_LANES KEYPROC_MAX_LANES

/* Under call_lock: the lanes of the current key process. A lane is
 * taken by one request at a time; the sockets are closed or replaced
 * only when no lane is taken (lane_free is signalled when one is given
 * back), so that no request uses a descriptor number closed and reused
 * under it. */
static pthread_mutex_t call_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t lane_free = PTHREAD_COND_INITIALIZER;
static int socks[MAX_LANES] = { -1, -1, -1, -1, -1, -1, -1, -1 };
static bool taken[MAX_LANES];
static unsigned n_lanes = 1, n_taken;
static bool draining;		/* a reload or a death waits for the lanes */
static pid_t child = -1;	/* under call_lock */
static bool stopping;		/* under call_lock */
static pthread_cond_t stop_cond = PTHREAD_COND_INITIALIZER;
static bool active;
static pthread_t watcher;
static char *child_argv[8];
static char arg_name[] = "smime-milter", arg_k[] = "-K", arg_fd[16],
	    arg_c[] = "-c", arg_f[] = "-f";
static char *config_copy;
static char program[4096];	/* this program, as started */
static int program_fd = -1;	/* ... held open (O_CLOEXEC) */
static char program_fd_path[32];	/* its /proc/self/fd name in the
					 * child, after the lanes */
static __thread bool failed_here;

void keyproc_note_failure(void)
{
	failed_here = true;
}

bool keyproc_take_failure(void)
{
	bool f = failed_here;
	failed_here = false;
	return f;
}

bool keyproc_client_active(void)
{
	return active;
}

/* In the child between fork and exec: async-signal-safe calls only.
 * The key process's ends become CHILD_FD, CHILD_FD + 1, ...: moved above
 * that range first, so that no dup2 overwrites an end not yet moved. */
static void exec_child(const int *ends, unsigned n)
{
	int high[MAX_LANES], exe = -1;
	int exe_slot = CHILD_FD + (int)n;
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (unsigned i = 0; i < n; i++)
		if ((high[i] = fcntl(ends[i], F_DUPFD, CHILD_FD + MAX_LANES)) < 0)
			_exit(127);
	if (program_fd >= 0 &&
	    (exe = fcntl(program_fd, F_DUPFD_CLOEXEC, CHILD_FD + MAX_LANES)) < 0)
		_exit(127);
	for (unsigned i = 0; i < n; i++)
		if (dup2(high[i], CHILD_FD + (int)i) != CHILD_FD + (int)i ||
		    fcntl(CHILD_FD + (int)i, F_SETFD, 0) != 0)
			_exit(127);
	/* the program's descriptor stays, close-on-exec, right after the
	 * lanes: the kernel opens the file before it closes it */
	if (exe >= 0 && dup3(exe, exe_slot, O_CLOEXEC) != exe_slot)
		_exit(127);
	closefrom(exe >= 0 ? exe_slot + 1 : exe_slot);
	execv(exe >= 0 ? program_fd_path : program, child_argv);
	_exit(127);
}

static void close_all(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

/* Called with call_lock held and no lane taken: a new key process with
 * fresh lanes in socks (the old ones are the caller's to close). */
static int spawn(void)
{
	int ours[MAX_LANES], theirs[MAX_LANES];
	unsigned made = 0;
	for (; made < n_lanes; made++) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
			       sv) != 0)
			break;
		ours[made] = sv[0];
		theirs[made] = sv[1];
	}
	pid_t pid = made == n_lanes ? fork() : -1;
	if (pid == 0)
		exec_child(theirs, n_lanes);
	close_all(theirs, made);
	if (pid < 0) {
		close_all(ours, made);
		return -1;
	}
	memcpy(socks, ours, sizeof(ours[0]) * n_lanes);
	child = pid;
	return 0;
}

/* Called with call_lock held: waits until no request is in flight and
 * keeps new ones waiting until drain_end. */
static void drain_begin(void)
{
	while (draining)
		pthread_cond_wait(&lane_free, &call_lock);
	draining = true;
	while (n_taken > 0)
		pthread_cond_wait(&lane_free, &call_lock);
}

static void drain_end(void)
{
	draining = false;
	pthread_cond_broadcast(&lane_free);
}

static void describe_exit(int status, char *buf, size_t size)
{
	if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, size, "exited with status %d",
			 WEXITSTATUS(status));
}

/* A key process replaced by a reload, or ended by the daemon's stop,
 * exits 0 once its socket closes; any other end (a signal, such as the
 * SIGSYS of a system call filter) would otherwise pass unseen. */
static void note_expected_end(pid_t pid, int status, const char *when)
{
	char how[64];
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	describe_exit(status, how, sizeof(how));
	smx_log(LOG_WARNING, "key process %ld %s %s", (long)pid, how, when);
}

/* Seconds to wait before starting the key process again: one after a
 * crash (a signal), doubling up to a minute while it keeps exiting by
 * itself at once (it cannot read the store or the master key). */
static unsigned restart_delay(int status, time_t lived, unsigned last)
{
	if (WIFSIGNALED(status) || lived >= 60)
		return 1;
	return last >= 30 ? 60 : last * 2;
}

/* Waits seconds (less when the daemon stops), then starts the key
 * process. Returns true when the daemon is stopping. */
static bool pause_unless_stopping(unsigned seconds)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += seconds;
	pthread_mutex_lock(&call_lock);
	while (!stopping && pthread_cond_timedwait(&stop_cond, &call_lock,
						   &until) == 0)
		;
	if (!stopping) {
		drain_begin();
		if (spawn() != 0)
			smx_log(LOG_ERR, "cannot start the key process: %s",
				strerror(errno));
		drain_end();
	}
	bool done = stopping;
	pthread_mutex_unlock(&call_lock);
	return done;
}

/* Waits for the key process to end and starts it again. */
static void *watch(void *unused)
{
	unsigned delay = 1;
	(void)unused;
	for (;;) {
		pthread_mutex_lock(&call_lock);
		pid_t pid = child;
		pthread_mutex_unlock(&call_lock);
		if (pid <= 0) {		/* the last start failed */
			if (pause_unless_stopping(5))
				return NULL;
			continue;
		}
		time_t started = time(NULL);
		int status = 0;
		while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		pthread_mutex_lock(&call_lock);
		if (child != pid) {	/* replaced (a reload): not a death */
			pthread_mutex_unlock(&call_lock);
			note_expected_end(pid, status, "after it was replaced");
			continue;
		}
		/* Requests in flight on its lanes see the closed other end
		 * and fail at once. */
		drain_begin();
		close_all(socks, n_lanes);
		child = -1;
		drain_end();
		bool done = stopping;
		pthread_mutex_unlock(&call_lock);
		if (done) {
			note_expected_end(pid, status, "while the daemon "
					  "stopped");
			return NULL;
		}
		char how[64];
		describe_exit(status, how, sizeof(how));
		delay = restart_delay(status, time(NULL) - started, delay);
		smx_log(LOG_ERR, "key process %ld %s; starting it again in "
			"%us", (long)pid, how, delay);
		smx_metrics_keyproc_restart();
		if (pause_unless_stopping(delay))
			return NULL;
	}
}

static void close_program(void)
{
	if (program_fd >= 0)
		close(program_fd);
	program_fd = -1;
}

int keyproc_client_start(const char *config_path, bool foreground)
{
	size_t i = 0;
	/* The program's path rather than /proc/self/exe itself, which
	 * under a wrapper such as valgrind is the wrapper's tool. */
	ssize_t n = readlink("/proc/self/exe", program, sizeof(program) - 1);
	if (n <= 0 || (size_t)n >= sizeof(program) - 1) {
		smx_log(LOG_ERR, "cannot find this program's path for the key "
			"process: %s", strerror(errno));
		return -1;
	}
	program[n] = '\0';
	if ((config_copy = strdup(config_path)) == NULL)
		return -1;
	/* One lane per CPU: the key process serves each in a thread. */
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	n_lanes = cpus < 1 ? 1 : cpus > MAX_LANES ? MAX_LANES : (unsigned)cpus;
	/* O_PATH: executing needs no read permission on the file */
	program_fd = open(program, O_PATH | O_CLOEXEC);
	if (program_fd < 0)
		smx_log(LOG_WARNING, "cannot hold %s open (%s): a key process "
			"started after the file is replaced runs the new one",
			program, strerror(errno));
	snprintf(program_fd_path, sizeof(program_fd_path), "/proc/self/fd/%d",
		 CHILD_FD + (int)n_lanes);
	snprintf(arg_fd, sizeof(arg_fd), "%d:%u", CHILD_FD, n_lanes);
	child_argv[i++] = arg_name;
	child_argv[i++] = arg_k;
	child_argv[i++] = arg_fd;
	child_argv[i++] = arg_c;
	child_argv[i++] = config_copy;
	if (foreground)
		child_argv[i++] = arg_f;
	child_argv[i] = NULL;
	if (keyproc_provider_load() != 0) {
		smx_log(LOG_ERR, "cannot load the key process's OpenSSL "
			"provider");
		close_program();
		return -1;
	}
	pthread_mutex_lock(&call_lock);
	int rc = spawn();
	pthread_mutex_unlock(&call_lock);
	if (rc != 0 || pthread_create(&watcher, NULL, watch, NULL) != 0) {
		smx_log(LOG_ERR, "cannot start the key process: %s",
			strerror(errno));
		close_program();
		return -1;
	}
	active = true;
	return 0;
}

void keyproc_client_stop(void)
{
	if (!active)
		return;
	pthread_mutex_lock(&call_lock);
	stopping = true;
	pthread_cond_broadcast(&stop_cond);
	for (unsigned l = 0; l < n_lanes; l++)
		if (socks[l] >= 0)	/* the key process sees EOF */
			shutdown(socks[l], SHUT_RDWR);
	pthread_mutex_unlock(&call_lock);
	pthread_join(watcher, NULL);
	active = false;
	free(config_copy);
	config_copy = NULL;
	close_program();
	keyproc_provider_unload();
}

void keyproc_client_replace(void)
{
	if (!active)
		return;
	pthread_mutex_lock(&call_lock);
	drain_begin();			/* no request is in flight */
	int old[MAX_LANES];
	memcpy(old, socks, sizeof(old));
	pid_t old_child = child;
	if (!stopping && old_child > 0 && spawn() == 0) {
		close_all(old, n_lanes);	/* the old one sees EOF, ends */
		smx_log(LOG_INFO, "key process %ld replaced by %ld for the new "
			"configuration", (long)old_child, (long)child);
	} else if (old_child > 0) {
		smx_log(LOG_ERR, "cannot start a key process for the new "
			"configuration; key process %ld keeps the old one",
			(long)old_child);
	}
	drain_end();
	pthread_mutex_unlock(&call_lock);
}

static const char *result_name(int32_t r)
{
	switch (r) {
	case KEYPROC_OK: return "ok";
	case KEYPROC_REFUSED: return "refused";
	case KEYPROC_RATE: return "rate_limited";
	case KEYPROC_UNAVAILABLE: return "unavailable";
	case KEYPROC_BAD_REQUEST: return "bad_request";
	default: return "failed";
	}
}

/* On a taken lane, without call_lock: sock stays open until the lane
 * is given back. */
static enum smx_status exchange(int sock, pid_t pid,
				const struct keyproc_request *rq,
				struct keyproc_reply *rp)
{
	if (sock < 0)
		return SMX_TEMPFAIL;
	if (send(sock, rq, sizeof(*rq), MSG_NOSIGNAL) != (ssize_t)sizeof(*rq))
		return SMX_TEMPFAIL;
	struct pollfd p = { .fd = sock, .events = POLLIN };
	int n;
	while ((n = poll(&p, 1, REPLY_TIMEOUT_MS)) < 0 && errno == EINTR)
		;
	if (n <= 0) {
		smx_log(LOG_ERR, "key process %ld did not answer in time; "
			"killing it", (long)pid);
		if (pid > 0)
			kill(pid, SIGKILL);
		return SMX_TEMPFAIL;
	}
	ssize_t got = recv(sock, rp, sizeof(*rp), MSG_TRUNC);
	if (got != (ssize_t)sizeof(*rp) || rp->magic != KEYPROC_MAGIC ||
	    rp->out_len > sizeof(rp->out))
		return SMX_TEMPFAIL;
	return SMX_OK;
}

enum smx_status keyproc_call(const struct keyproc_request *rq,
			     struct keyproc_reply *rp)
{
	memset(rp, 0, sizeof(*rp));
	pthread_mutex_lock(&call_lock);
	while (draining || n_taken == n_lanes)
		pthread_cond_wait(&lane_free, &call_lock);
	unsigned lane = 0;
	while (taken[lane])
		lane++;
	taken[lane] = true;
	n_taken++;
	int sock = socks[lane];
	pid_t pid = child;
	pthread_mutex_unlock(&call_lock);
	enum smx_status st = exchange(sock, pid, rq, rp);
	pthread_mutex_lock(&call_lock);
	taken[lane] = false;
	n_taken--;
	pthread_cond_broadcast(&lane_free);
	pthread_mutex_unlock(&call_lock);
	const char *op = rq->op == KEYPROC_OP_SIGN ? "sign"
			 : rq->op == KEYPROC_OP_ENROLL ? "enroll" : "decrypt";
	if (st != SMX_OK) {
		keyproc_note_failure();
		smx_metrics_keyproc_request(op, "unreachable");
		OPENSSL_cleanse(rp, sizeof(*rp));
		return SMX_TEMPFAIL;
	}
	smx_metrics_keyproc_request(op, result_name(rp->result));
	/* Temporary, worth a retry; a malformed request too, which only a
	 * key process of another version (an upgrade without a restart)
	 * would see. */
	if (rp->result == KEYPROC_RATE || rp->result == KEYPROC_UNAVAILABLE ||
	    rp->result == KEYPROC_BAD_REQUEST)
		keyproc_note_failure();
	return SMX_OK;
}

enum smx_status keyproc_enroll(const char *address, struct ca_issued *out)
{
	struct keyproc_request rq = { .magic = KEYPROC_MAGIC,
				      .op = KEYPROC_OP_ENROLL };
	struct keyproc_reply rp;
	struct keyproc_enrolled e;
	size_t len = strlen(address);
	memset(out, 0, sizeof(*out));
	if (len > KEYPROC_MAX_ADDRESS)
		return SMX_PERMFAIL;
	memcpy(rq.in, address, len);
	rq.in_len = (uint32_t)len;
	if (keyproc_call(&rq, &rp) != SMX_OK)
		return SMX_TEMPFAIL;
	if (rp.result != KEYPROC_OK)
		return rp.result == KEYPROC_REFUSED ? SMX_CONFIG : SMX_TEMPFAIL;
	if (rp.out_len != sizeof(e))
		return SMX_TEMPFAIL;
	memcpy(&e, rp.out, sizeof(e));
	e.issued.sign_fingerprint[64] = '\0';
	e.issued.enc_fingerprint[64] = '\0';
	if (e.status == SMX_OK)
		*out = e.issued;
	return (enum smx_status)e.status;
}
