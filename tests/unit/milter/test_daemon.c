/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of the start-up steps root performs before the privilege
 * drop (milter/daemon.c): the pid file and the hand-over of the unix
 * socket follow no symbolic link that someone planted in their
 * directories, and a stale pid file of an earlier run is replaced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"

/* The uid a root test hands files to (nobody's, without asking NSS). */
#define OTHER_UID 65534
#define OTHER_GID 65534

static char dir[200];

static int make_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "%s/daemon-%ld", getenv("SMX_TEST_DIR") ?
		 getenv("SMX_TEST_DIR") : ".", (long)getpid());
	mkdir(dir, 0755);
	return 0;
}

static const char *in_dir(const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", dir, name);
	unlink(buf);
	return buf;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void assert_file_holds(const char *path, const char *want)
{
	char got[64] = "";
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(got, 1, sizeof(got) - 1, f);
	got[n] = '\0';
	fclose(f);
	assert_string_equal(got, want);
}

static void pidfile_is_written_and_replaces_a_stale_one(void **state)
{
	(void)state;
	char path[256], want[32];
	in_dir("fresh.pid", path, sizeof(path));
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	assert_int_equal(pidfile_write(path), 0);
	assert_file_holds(path, want);
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0644);

	write_text(path, "99999999\n");	/* an earlier run's */
	assert_int_equal(pidfile_write(path), 0);
	assert_file_holds(path, want);
}

/* A link at the pid path, to an existing file or to a name not yet
 * taken: the start fails and nothing is written through the link. */
static void pidfile_refuses_a_symbolic_link(void **state)
{
	(void)state;
	char path[256], target[256], missing[256];
	in_dir("link.pid", path, sizeof(path));
	in_dir("victim", target, sizeof(target));
	write_text(target, "precious\n");
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(pidfile_write(path), -1);
	assert_file_holds(target, "precious\n");
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));

	unlink(path);
	in_dir("not-yet", missing, sizeof(missing));
	assert_int_equal(symlink(missing, path), 0);
	assert_int_equal(pidfile_write(path), -1);
	assert_int_equal(access(missing, F_OK), -1);

	unlink(path);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(pidfile_write(path), -1);
	rmdir(path);
}

static void bind_socket(const char *path, int *fd_r)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	*fd_r = fd;
}

static void socket_is_handed_over(void **state)
{
	(void)state;
	char path[256];
	int fd;
	in_dir("milter.sock", path, sizeof(path));
	bind_socket(path, &fd);
	uid_t uid = geteuid() == 0 ? OTHER_UID : geteuid();
	gid_t gid = geteuid() == 0 ? OTHER_GID : getegid();
	assert_int_equal(socket_hand_over(path, uid, gid), 0);
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_uid, uid);
	assert_int_equal(st.st_gid, gid);
	close(fd);
	unlink(path);
}

/* What a user who can write to the socket's directory could put there
 * between bind() and the hand-over: a link to a file of root's, or a
 * file of its own. Neither changes owner. */
static void socket_hand_over_follows_nothing(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip();	/* only root can give a file away */
	char path[256], target[256];
	in_dir("planted.sock", path, sizeof(path));
	in_dir("root-file", target, sizeof(target));
	write_text(target, "root's\n");
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(socket_hand_over(path, OTHER_UID, OTHER_GID), -1);
	struct stat st;
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_uid, 0);	/* the link itself neither */

	unlink(path);
	write_text(path, "not a socket\n");
	assert_int_equal(socket_hand_over(path, OTHER_UID, OTHER_GID), -1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, 0);

	/* a socket someone else made there */
	unlink(path);
	int fd;
	bind_socket(path, &fd);
	assert_int_equal(chown(path, OTHER_UID, OTHER_GID), 0);
	assert_int_equal(socket_hand_over(path, 0, 0), -1);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_uid, OTHER_UID);
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pidfile_is_written_and_replaces_a_stale_one),
		cmocka_unit_test(pidfile_refuses_a_symbolic_link),
		cmocka_unit_test(socket_is_handed_over),
		cmocka_unit_test(socket_hand_over_follows_nothing),
	};
	return cmocka_run_group_tests(tests, make_dir, NULL);
}
