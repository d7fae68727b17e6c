/* SPDX-License-Identifier: BSD-2-Clause */
/* Becoming a daemon: detaching, the pid file, dropping privileges. */
#ifndef SMX_MILTER_DAEMON_H
#define SMX_MILTER_DAEMON_H

#include <sys/types.h>

/* Forks into the background, starts a new session, moves to "/" and
 * points stdin/stdout/stderr at /dev/null. Returns 0 in the daemon (the
 * parent exits 0), -1 with errno on failure. Call before any thread. */
int daemon_detach(void);

/* Writes the pid to path (mode 0644) without following a link: a new
 * file replaces the path; a symbolic link or other non-regular file
 * there is refused. Returns 0, or -1 after logging the reason. */
int pidfile_write(const char *path);

/* Gives the unix socket at path to uid:gid without following a link:
 * refused unless path is a socket owned by the caller. Returns 0, or -1
 * after logging the reason. */
int socket_hand_over(const char *path, uid_t uid, gid_t gid);

/* The file system path of a unix:/local: milter socket, or NULL for
 * inet sockets. Points into spec. */
const char *socket_path(const char *spec);

/* Switches to user (its uid, gid and supplementary groups), after
 * handing the unix socket at sock_path (may be NULL) to that user. Then
 * checks that root cannot be regained. Returns 0, or -1 after logging
 * the reason. Not running as root and already being user is fine. */
int privileges_drop(const char *user, const char *sock_path);

/* The process will hold private keys in memory: no core file may ever
 * write them to disk (RLIMIT_CORE 0, and not dumpable). Returns 0 or -1
 * with errno. */
int no_core_dumps(void);

#endif
