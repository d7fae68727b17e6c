/* SPDX-License-Identifier: BSD-2-Clause */
/* The key process's seccomp filter: a deny-list rather than an
 * allow-list, since the store's drivers (SQLite, libpq) and a PKCS#11
 * module need a varying set of system calls. What it forbids is what an
 * attacker who took the key process over would want first: running a
 * program, tracing or reading another process, accepting connections;
 * and the kernel interfaces local privilege escalations go through
 * (namespaces, mounting, BPF, userfaultfd, io_uring, perf events,
 * keyrings, module and kexec loading, and on x86-64 the x32 system call
 * numbers, which would reach the same calls by other numbers). It applies
 * to every thread of the process. Any of these fails with
 * EPERM; clone3 fails with ENOSYS, so that the C library creates threads
 * with clone, whose flags the filter can read and refuses new
 * namespaces in. */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "keyproc-private.h"

#if defined(__x86_64__)
#define AUDIT_ARCH_SELF AUDIT_ARCH_X86_64
#define X32_SYSCALL_BIT 0x40000000u
#elif defined(__aarch64__)
#define AUDIT_ARCH_SELF AUDIT_ARCH_AARCH64
#endif

#define RET_ERRNO(e) BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (e))
#define DENY(nr) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), RET_ERRNO(EPERM)

/* The clone flags that make a namespace. */
#define NEW_NAMESPACES (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | \
			CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | \
			CLONE_NEWNET)

#ifdef AUDIT_ARCH_SELF
/* How many threads this process has (/proc/self/task), or 0 when that
 * cannot be read. */
static int threads_of_this_process(void)
{
	DIR *d = opendir("/proc/self/task");
	if (d == NULL)
		return 0;
	int n = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}
#endif

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
#ifdef X32_SYSCALL_BIT
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 1),
		RET_ERRNO(EPERM),
#endif
		DENY(__NR_execve),
		DENY(__NR_execveat),
#if !KEYPROC_TRACEABLE
		DENY(__NR_ptrace),
#endif
		DENY(__NR_process_vm_readv),
		DENY(__NR_process_vm_writev),
		DENY(__NR_process_madvise),
		DENY(__NR_pidfd_getfd),
		DENY(__NR_bind),
		DENY(__NR_listen),
		DENY(__NR_accept),
		DENY(__NR_accept4),
		DENY(__NR_unshare),
		DENY(__NR_setns),
		DENY(__NR_mount),
		DENY(__NR_umount2),
		DENY(__NR_pivot_root),
		DENY(__NR_chroot),
		DENY(__NR_fsopen),
		DENY(__NR_fsmount),
		DENY(__NR_move_mount),
		DENY(__NR_open_tree),
		DENY(__NR_mount_setattr),
		DENY(__NR_bpf),
		DENY(__NR_userfaultfd),
		DENY(__NR_perf_event_open),
		DENY(__NR_io_uring_setup),
		DENY(__NR_io_uring_enter),
		DENY(__NR_io_uring_register),
		DENY(__NR_keyctl),
		DENY(__NR_add_key),
		DENY(__NR_request_key),
		DENY(__NR_init_module),
		DENY(__NR_finit_module),
		DENY(__NR_delete_module),
		DENY(__NR_kexec_load),
		DENY(__NR_kexec_file_load),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1),
		RET_ERRNO(ENOSYS),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 3),
		/* the flags: the first argument's low word (little-endian) */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, NEW_NAMESPACES, 0, 1),
		RET_ERRNO(EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = (unsigned short)(sizeof(filter) / sizeof(filter[0])),
		.filter = filter,
	};
	/* A PKCS#11 module, loaded before, may have started threads of its
	 * own: then every thread at once, through seccomp(), which a unit
	 * file's filter from before this version does not allow; alone,
	 * through prctl(), which every filter allows. */
	if (threads_of_this_process() == 1)
		return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
	long rc = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER,
			  SECCOMP_FILTER_FLAG_TSYNC, &prog);
	if (rc > 0)	/* the id of a thread that could not follow */
		errno = ESRCH;
	return rc == 0 ? 0 : -1;
#else
	return 0;	/* an architecture without a filter here */
#endif
}
