/* SPDX-License-Identifier: BSD-2-Clause */
/* Helpers shared by the smimectl commands. */
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define MAX_FILE (16u * 1024u * 1024u)

void ctl_error(const char *fmt, ...)
{
	va_list ap;
	fputs("smimectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int ctl_load_cfg(struct ctl *ctl)
{
	struct cfg_errors errors = { 0 };
	if (ctl->cfg != NULL)
		return CTL_OK;
	ctl->cfg = cfg_load(ctl->config_path, &errors);
	for (size_t i = 0; i < errors.count; i++)
		fprintf(stderr, "%s\n", errors.lines[i]);
	cfg_errors_free(&errors);
	return ctl->cfg != NULL ? CTL_OK : CTL_USAGE;
}

int ctl_exit_of(enum smx_status st)
{
	switch (st) {
	case SMX_OK: return CTL_OK;
	case SMX_CONFIG: return CTL_USAGE;
	default: return CTL_FAIL;
	}
}

int ctl_open_store(struct ctl *ctl, unsigned flags)
{
	int rc = ctl_load_cfg(ctl);
	if (rc != CTL_OK)
		return rc;
	enum smx_status st = SMX_OK;
	ctl->store = store_open(&ctl->cfg->store_settings, flags, &st);
	if (ctl->store == NULL) {
		const struct cfg_store *s = &ctl->cfg->store;
		bool pg = ctl->cfg->store_settings.backend ==
			  STORE_BACKEND_POSTGRESQL;
		ctl_error("%s: cannot open the %s store %s (%s)",
			  ctl->config_path, cfg_store_backend_name(ctl->cfg),
			  pg ? "(store.conninfo)" : s->path,
			  smx_status_name(st));
		return ctl_exit_of(st);
	}
	return CTL_OK;
}

int ctl_read_file(const char *path, unsigned char **buf_r, size_t *len_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	unsigned char *buf = NULL;
	if (fd < 0 || fstat(fd, &sb) != 0) {
		ctl_error("%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(sb.st_mode) || (size_t)sb.st_size > MAX_FILE) {
		ctl_error("%s: not a regular file of at most 16 MiB", path);
		goto fail;
	}
	buf = malloc((size_t)sb.st_size + 1);
	size_t got = 0;
	while (buf != NULL && got < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);
		if (n <= 0) {
			ctl_error("%s: read error: %s", path,
				  n < 0 ? strerror(errno) : "short file");
			goto fail;
		}
		got += (size_t)n;
	}
	if (buf == NULL)
		goto fail;
	buf[got] = '\0';
	close(fd);
	*buf_r = buf;
	*len_r = got;
	return 0;
fail:
	free(buf);
	if (fd >= 0)
		close(fd);
	return -1;
}

static char *password_from_file(const char *file)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	if (ctl_read_file(file, &buf, &len) != 0)
		return NULL;
	buf[strcspn((char *)buf, "\r\n")] = '\0';
	return (char *)buf;
}

static char *prompt_once(FILE *tty, const char *prompt)
{
	struct termios old, quiet;
	char line[1024];
	char *out = NULL;
	int fd = fileno(tty);
	fprintf(tty, "%s", prompt);
	fflush(tty);
	bool restore = tcgetattr(fd, &old) == 0;
	if (restore) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	if (fgets(line, sizeof(line), tty) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		out = strdup(line);
	}
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &old);
	fputc('\n', tty);
	OPENSSL_cleanse(line, sizeof(line));
	return out;
}

char *ctl_password(const char *file, const char *prompt, bool confirm)
{
	if (file != NULL)
		return password_from_file(file);
	FILE *tty = fopen("/dev/tty", "r+");
	if (tty == NULL) {
		ctl_error("no terminal to ask for the password: use "
			  "--password-file FILE");
		return NULL;
	}
	char *pw = prompt_once(tty, prompt);
	if (pw != NULL && confirm) {
		char *again = prompt_once(tty, "Repeat the password: ");
		if (again == NULL || strcmp(again, pw) != 0) {
			ctl_error("the passwords differ");
			ctl_password_free(&pw);
		}
		ctl_password_free(&again);
	}
	fclose(tty);
	return pw;
}

void ctl_password_free(char **pw)
{
	if (pw == NULL || *pw == NULL)
		return;
	OPENSSL_cleanse(*pw, strlen(*pw));
	free(*pw);
	*pw = NULL;
}

const char *ctl_date(long long t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d", &tm) == 0)
		snprintf(buf, size, "?");
	return buf;
}
