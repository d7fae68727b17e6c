/* SPDX-License-Identifier: BSD-2-Clause */
/* The key process's seccomp filter, installed in a child process (after
 * no_new_privs, as the key process does): what it forbids fails with
 * EPERM (clone3 with ENOSYS), in every thread, including one started
 * before the filter; what the key process needs after it (threads,
 * files, sockets) still works. The forbidden calls are made with
 * arguments the kernel itself refuses otherwise (EINVAL, EBADF, ...), so
 * that an EPERM can only come from the filter; the same calls without
 * the filter are the control. Each check runs in its own child, which
 * reports the errno by its exit code. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keyproc-private.h"

/* Runs check in a child, under the filter when filtered; returns the
 * errno it saw (0 when the call succeeded), or -1 when the child died
 * otherwise. */
static int in_child(long (*check)(void), bool filtered)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
		    (filtered && keyproc_seccomp() != 0))
			_exit(250);
		errno = 0;
		long r = check();
		_exit(r >= 0 ? 0 : errno > 0 && errno < 250 ? errno : 251);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) >= 250)
		return -1;
	return WEXITSTATUS(status);
}

static long run_program(void)
{
	char *argv[] = { (char *)(uintptr_t)"true", NULL };
	return execv("/bin/true", argv);
}

/* CSIGNAL bits are no unshare flag: EINVAL */
static long new_user_namespace(void)
{
	return syscall(SYS_unshare, CLONE_NEWUSER | 1);
}

/* a new user namespace sharing the file system information: EINVAL */
static long clone_into_namespace(void)
{
	long r = syscall(SYS_clone, CLONE_NEWUSER | CLONE_FS | SIGCHLD, 0, 0,
			 0, 0);
	if (r == 0)
		_exit(0);
	return r;
}

static long join_namespace(void)
{
	return syscall(SYS_setns, -1, 0);	/* EBADF */
}

static long clone3_call(void)
{
	return syscall(SYS_clone3, NULL, 0);	/* EFAULT or EINVAL */
}

static long listen_socket(void)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	return s < 0 ? -1 : listen(s, 1);	/* unbound: EINVAL */
}

static long userfaultfd_call(void)
{
	return syscall(SYS_userfaultfd, ~0);	/* EINVAL */
}

static long steal_descriptor(void)
{
	return syscall(SYS_pidfd_getfd, -1, 0, 0);	/* EBADF */
}

#ifdef __x86_64__
/* execve by its x32 number: another way to the same call. */
static long x32_execve(void)
{
	return syscall(0x40000000L | 520, "/nonexistent", NULL, NULL);
}
#endif

static void *thread_body(void *arg)
{
	return arg;
}

static long start_thread(void)
{
	pthread_t t;
	int e = pthread_create(&t, NULL, thread_body, NULL);
	if (e != 0) {
		errno = e;
		return -1;
	}
	return pthread_join(t, NULL) == 0 ? 0 : -1;
}

static long open_and_pair(void)
{
	int fd = open("/dev/null", O_RDONLY);
	if (fd < 0)
		return -1;
	close(fd);
	int sv[2];
	return socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
}

static const struct forbidden {
	const char *what;
	long (*call)(void);
	int filtered;		/* the errno under the filter */
} forbidden[] = {
	{ "execve", run_program, EPERM },
	{ "unshare", new_user_namespace, EPERM },
	{ "clone with a namespace flag", clone_into_namespace, EPERM },
	{ "setns", join_namespace, EPERM },
	{ "clone3", clone3_call, ENOSYS },
	{ "listen", listen_socket, EPERM },
	{ "userfaultfd", userfaultfd_call, EPERM },
	{ "pidfd_getfd", steal_descriptor, EPERM },
#ifdef __x86_64__
	{ "x32 execve", x32_execve, EPERM },
#endif
};

static void forbidden_calls_fail(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]);
	     i++) {
		const struct forbidden *f = &forbidden[i];
		int got = in_child(f->call, true);
		if (got != f->filtered)
			fail_msg("%s under the filter: errno %d, want %d",
				 f->what, got, f->filtered);
	}
}

/* The control: without the filter none of them answers what the
 * filter does (execve of /bin/true succeeds; the others are refused by
 * the kernel for their arguments, or on a kernel without x32 with
 * ENOSYS). */
static void without_the_filter_the_answers_differ(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]);
	     i++) {
		const struct forbidden *f = &forbidden[i];
		int got = in_child(f->call, false);
		if (got == f->filtered || got < 0)
			fail_msg("%s without the filter: errno %d", f->what,
				 got);
	}
}

/* A thread started before the filter (as a PKCS#11 module may start
 * one) is filtered too. */
static int early_errno = -1;
static int early_go[2];

static void *early_thread(void *arg)
{
	char c;
	(void)arg;
	if (read(early_go[0], &c, 1) == 1) {
		errno = 0;
		early_errno = run_program() < 0 ? errno : 0;
	}
	return NULL;
}

static void every_thread_is_filtered(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pthread_t t;
		if (pipe(early_go) != 0 ||
		    pthread_create(&t, NULL, early_thread, NULL) != 0 ||
		    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
		    keyproc_seccomp() != 0)
			_exit(250);
		if (write(early_go[1], "x", 1) != 1 ||
		    pthread_join(t, NULL) != 0)
			_exit(251);
		_exit(early_errno >= 0 && early_errno < 250 ? early_errno
							    : 252);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), EPERM);
}

static void what_the_key_process_needs_still_works(void **state)
{
	(void)state;
	assert_int_equal(in_child(start_thread, true), 0);
	assert_int_equal(in_child(open_and_pair, true), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(forbidden_calls_fail),
		cmocka_unit_test(without_the_filter_the_answers_differ),
		cmocka_unit_test(every_thread_is_filtered),
		cmocka_unit_test(what_the_key_process_needs_still_works),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
