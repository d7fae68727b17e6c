/* SPDX-License-Identifier: BSD-2-Clause */
/* accept() and accept4() for the whole process: the C library's, plus
 * TCP_NODELAY on TCP connections. Why: see tcpopt.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* RTLD_NEXT, accept4 */
#endif
#include "tcpopt.h"

#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>

typedef int (*accept_fn)(int, struct sockaddr *, socklen_t *);
typedef int (*accept4_fn)(int, struct sockaddr *, socklen_t *, int);

static pthread_once_t lookup_once = PTHREAD_ONCE_INIT;
static accept_fn libc_accept;
static accept4_fn libc_accept4;

/* dlsym returns void *: POSIX lets it hold a function's address, ISO C
 * has no conversion for it, so the address goes through a union. */
static void find_libc_functions(void)
{
	union { void *object; accept_fn fn; } a = { dlsym(RTLD_NEXT, "accept") };
	union { void *object; accept4_fn fn; } a4 = { dlsym(RTLD_NEXT, "accept4") };
	libc_accept = a.fn;
	libc_accept4 = a4.fn;
}

int tcpopt_nodelay_if_tcp(int fd)
{
	int saved = errno;
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	int type = 0;
	socklen_t type_len = sizeof(type);
	if (getsockname(fd, (struct sockaddr *)&local, &len) != 0 ||
	    (local.ss_family != AF_INET && local.ss_family != AF_INET6) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) != 0 ||
	    type != SOCK_STREAM) {
		errno = saved;
		return 0;
	}
	int on = 1;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) != 0)
		return -1;
	errno = saved;
	return 1;
}

/* A connection without TCP_NODELAY still works, only slower: a failure
 * to set it is no reason to refuse the connection. */
static int with_nodelay(int fd)
{
	int saved = errno;
	if (fd >= 0)
		(void)tcpopt_nodelay_if_tcp(fd);
	errno = saved;
	return fd;
}

int accept(int fd, struct sockaddr *addr, socklen_t *addr_len)
{
	pthread_once(&lookup_once, find_libc_functions);
	if (libc_accept == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return with_nodelay(libc_accept(fd, addr, addr_len));
}

int accept4(int fd, struct sockaddr *addr, socklen_t *addr_len, int flags)
{
	pthread_once(&lookup_once, find_libc_functions);
	if (libc_accept4 == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return with_nodelay(libc_accept4(fd, addr, addr_len, flags));
}
