/* SPDX-License-Identifier: BSD-2-Clause */
/* The key process's seccomp filter: a short deny-list rather than an
 * allow-list, since the store's drivers (SQLite, libpq) need a varying
 * set of system calls. What it forbids is what an attacker who took the
 * key process over would want first: running a program, tracing or
 * reading another process, and accepting connections. Any of these
 * fails with EPERM. */
#include <errno.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "keyproc-private.h"

#if defined(__x86_64__)
#define AUDIT_ARCH_SELF AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define AUDIT_ARCH_SELF AUDIT_ARCH_AARCH64
#endif

#define DENY(nr) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM)

int keyproc_seccomp(void)
{
#ifdef AUDIT_ARCH_SELF
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_SELF, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		DENY(__NR_execve),
		DENY(__NR_execveat),
#if !KEYPROC_TRACEABLE
		DENY(__NR_ptrace),
#endif
		DENY(__NR_process_vm_readv),
		DENY(__NR_process_vm_writev),
		DENY(__NR_bind),
		DENY(__NR_listen),
		DENY(__NR_accept),
		DENY(__NR_accept4),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = (unsigned short)(sizeof(filter) / sizeof(filter[0])),
		.filter = filter,
	};
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
#else
	return 0;	/* an architecture without a filter here */
#endif
}
