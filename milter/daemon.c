/* SPDX-License-Identifier: BSD-2-Clause */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <smx/log.h>

int daemon_detach(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -1;
	if (chdir("/") != 0)
		return -1;
	int fd = open("/dev/null", O_RDWR);
	if (fd < 0)
		return -1;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	return 0;
}

/* Root writes the pid file before the switch, often in a directory the
 * milter user can write to (so that it can remove the file at stop):
 * nothing found there may be followed. A symbolic link, or anything but a
 * regular file, at the path is refused; the pid goes into a new file
 * (mkostemp: O_EXCL, which never opens an existing name or a link) that
 * then replaces the path by rename(), which replaces a name and never
 * writes through one. A stale pid file of an earlier run is replaced. */
/* Logs why path could not be written, removes the temporary file tmp
 * (may be NULL) and returns -1 with errno kept. */
static int pidfile_error(const char *path, const char *tmp)
{
	int saved = errno;
	smx_log(LOG_ERR, "cannot write pid file %s: %s", path,
		strerror(saved));
	if (tmp != NULL)
		unlink(tmp);
	errno = saved;
	return -1;
}

int pidfile_write(const char *path)
{
	struct stat st;
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		smx_log(LOG_ERR, "milter.pidfile %s: %s; refusing to write "
			"through it (remove it)", path, S_ISLNK(st.st_mode)
			? "is a symbolic link" : "is not a regular file");
		errno = EEXIST;
		return -1;
	}
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return pidfile_error(path, NULL);
	}
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return pidfile_error(path, NULL);
	char text[32];
	int n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	int rc = fchmod(fd, 0644) == 0 && write(fd, text, (size_t)n) == n
			 ? 0 : -1;
	if (close(fd) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) == 0)
		return 0;
	return pidfile_error(path, tmp);
}

const char *socket_path(const char *spec)
{
	if (spec[0] == '/')
		return spec;
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	return NULL;
}

/* Hands the socket libmilter just created to uid, without following
 * anything: between bind() and now, a user who can write to the
 * socket's directory could have put a link to a root-owned file in its
 * place, and chown() as root would give that file away. The name is
 * opened without following a link (O_PATH | O_NOFOLLOW), must be a
 * socket owned by root (which only this process just made there), and
 * is changed through that descriptor. */
int socket_hand_over(const char *path, uid_t uid, gid_t gid)
{
	int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		smx_log(LOG_ERR, "cannot hand socket %s over: %s", path,
			strerror(errno));
		return -1;
	}
	struct stat st;
	int rc = -1;
	if (fstat(fd, &st) != 0)
		smx_log(LOG_ERR, "cannot hand socket %s over: %s", path,
			strerror(errno));
	else if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid())
		smx_log(LOG_ERR, "cannot hand socket %s over: it is %s, not "
			"the socket just created; refusing to change its owner",
			path, S_ISLNK(st.st_mode) ? "a symbolic link"
			: !S_ISSOCK(st.st_mode) ? "not a socket"
			: "owned by another user");
	else if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH) != 0)
		smx_log(LOG_ERR, "cannot hand socket %s over: %s", path,
			strerror(errno));
	else
		rc = 0;
	close(fd);
	return rc;
}

/* After the switch, regaining root must be impossible: if setuid(0)
 * works, the drop failed silently (a capability, a saved uid). */
static int verify_drop(uid_t uid, gid_t gid)
{
	if (setuid(0) == 0 || seteuid(0) == 0) {
		smx_log(LOG_CRIT, "privilege drop failed: root regained");
		return -1;
	}
	if (getuid() != uid || geteuid() != uid || getgid() != gid ||
	    getegid() != gid) {
		smx_log(LOG_CRIT, "privilege drop failed: ids not switched");
		return -1;
	}
	return 0;
}

int privileges_drop(const char *user, const char *sock_path)
{
	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (pw == NULL) {
		smx_log(LOG_ERR, "milter.user: no such user '%s'", user);
		return -1;
	}
	if (geteuid() != 0) {
		if (geteuid() == pw->pw_uid)
			return 0;
		smx_log(LOG_ERR, "milter.user: must start as root to become "
			"'%s'", user);
		return -1;
	}
	if (sock_path != NULL &&
	    socket_hand_over(sock_path, pw->pw_uid, pw->pw_gid) != 0)
		return -1;
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 ||
	    setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		smx_log(LOG_ERR, "cannot become user %s: %s", user,
			strerror(errno));
		return -1;
	}
	if (verify_drop(pw->pw_uid, pw->pw_gid) != 0)
		return -1;
	smx_log(LOG_INFO, "running as user %s (uid %ld); root cannot be "
		"regained", user, (long)pw->pw_uid);
	return 0;
}

int no_core_dumps(void)
{
	struct rlimit none = { 0, 0 };
	if (setrlimit(RLIMIT_CORE, &none) != 0)
		return -1;
	return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}
