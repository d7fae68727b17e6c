/* SPDX-License-Identifier: BSD-2-Clause */
/* The key process's seccomp filter, installed in a child process: what
 * it forbids fails with EPERM (clone3 with ENOSYS), and what the key
 * process needs after it (threads, files, a socket to a database) still
 * works. Each check runs in its own child, which reports by exit code. */
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
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keyproc-private.h"

/* Runs check in a child under the filter; returns the errno it saw
 * (0 when the call succeeded), or -1 when the child died otherwise. */
static int under_filter(long (*check)(void))
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (keyproc_seccomp() != 0)
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

static long new_user_namespace(void)
{
	return syscall(SYS_unshare, CLONE_NEWUSER);
}

static long clone_into_namespace(void)
{
	long r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
	if (r == 0)
		_exit(0);	/* a child: the filter let it through */
	return r;
}

static long clone3_call(void)
{
	return syscall(SYS_clone3, NULL, 0);
}

static long listen_socket(void)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	return s < 0 ? -1 : listen(s, 1);
}

static long userfaultfd_call(void)
{
	return syscall(SYS_userfaultfd, 0);
}

static long bpf_call(void)
{
	return syscall(SYS_bpf, 0, NULL, 0);
}

#ifdef __x86_64__
/* execve by its x32 number: another way to the same call. */
static long x32_execve(void)
{
	return syscall(0x40000000L | 520, "/bin/true", NULL, NULL);
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

static long open_and_connect(void)
{
	int fd = open("/dev/null", O_RDONLY);
	if (fd < 0)
		return -1;
	close(fd);
	int sv[2];
	return socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
}

static void forbidden_calls_fail(void **state)
{
	(void)state;
	assert_int_equal(under_filter(run_program), EPERM);
	assert_int_equal(under_filter(new_user_namespace), EPERM);
	assert_int_equal(under_filter(clone_into_namespace), EPERM);
	assert_int_equal(under_filter(clone3_call), ENOSYS);
	assert_int_equal(under_filter(listen_socket), EPERM);
	assert_int_equal(under_filter(userfaultfd_call), EPERM);
	assert_int_equal(under_filter(bpf_call), EPERM);
#ifdef __x86_64__
	assert_int_equal(under_filter(x32_execve), EPERM);
#endif
}

/* The control: without the filter the same calls are not refused by
 * EPERM everywhere (a namespace may be refused by the system; running a
 * program is not). */
static void without_filter_a_program_runs(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		run_program();
		_exit(99);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void what_the_key_process_needs_still_works(void **state)
{
	(void)state;
	assert_int_equal(under_filter(start_thread), 0);
	assert_int_equal(under_filter(open_and_connect), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(forbidden_calls_fail),
		cmocka_unit_test(without_filter_a_program_runs),
		cmocka_unit_test(what_the_key_process_needs_still_works),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
