#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
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

int pidfile_write(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	char text[32];
	int n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	int rc = write(fd, text, (size_t)n) == n ? 0 : -1;
	int saved = errno;
	if (close(fd) != 0 && rc == 0)
		return -1;
	errno = saved;
	return rc;
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
	if (sock_path != NULL && chown(sock_path, pw->pw_uid, pw->pw_gid) != 0) {
		smx_log(LOG_ERR, "cannot hand socket %s to %s: %s", sock_path,
			user, strerror(errno));
		return -1;
	}
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
