/* SPDX-License-Identifier: BSD-2-Clause */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <smx/spool.h>

/* Each test gets an empty directory under its ctest working directory. */
static int make_dir(void **state)
{
	static char dir[256];
	snprintf(dir, sizeof(dir), "%s/spool-%ld", getenv("SMX_TEST_DIR") ?
		 getenv("SMX_TEST_DIR") : ".", (long)getpid());
	mkdir(dir, 0700);
	*state = dir;
	return 0;
}

static size_t entries_in(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void fill(unsigned char *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(seed + i * 31 + (i >> 7));
}

static void read_back_equals(struct spool *s, const unsigned char *want,
			     size_t len)
{
	unsigned char *got = malloc(len + 16);
	assert_non_null(got);
	assert_int_equal(spool_rewind(s), 0);
	size_t off = 0;
	ssize_t n;
	while ((n = spool_read(s, got + off, 1000)) > 0)
		off += (size_t)n;
	assert_int_equal(n, 0);
	assert_int_equal(off, len);
	assert_memory_equal(got, want, len);
	free(got);
}

static void small_body_stays_in_memory(void **state)
{
	const char *dir = *state;
	struct spool *s = spool_new(4096, dir, 0);
	assert_non_null(s);
	unsigned char data[3000];
	fill(data, sizeof(data), 1);
	assert_int_equal(spool_append(s, data, 1000), 0);
	assert_int_equal(spool_append(s, data + 1000, 2000), 0);
	assert_false(spool_on_disk(s));
	assert_int_equal(spool_size(s), 3000);
	read_back_equals(s, data, sizeof(data));
	spool_free(&s);
	assert_null(s);
}

/* Finds the spool's open file through /proc and returns its mode. */
static mode_t open_spool_file_mode(const char *dir)
{
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	struct dirent *e;
	mode_t mode = 0;
	while ((e = readdir(d)) != NULL) {
		char link[512], target[512];
		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		struct stat st;
		if (strncmp(target, dir, strlen(dir)) == 0 &&
		    stat(link, &st) == 0)
			mode = st.st_mode & 07777;
	}
	closedir(d);
	return mode;
}

static void large_body_moves_to_private_unlinked_file(void **state)
{
	const char *dir = *state;
	struct spool *s = spool_new(4096, dir, 0);
	assert_non_null(s);
	size_t total = 300 * 1000;
	unsigned char *data = malloc(total);
	assert_non_null(data);
	fill(data, total, 7);
	for (size_t off = 0; off < total; off += 997) {
		size_t len = total - off < 997 ? total - off : 997;
		assert_int_equal(spool_append(s, data + off, len), 0);
	}
	assert_true(spool_on_disk(s));
	assert_int_equal(spool_size(s), total);
	assert_int_equal(entries_in(dir), 0);	/* no name on disk */
	assert_int_equal(open_spool_file_mode(dir), 0600);
	read_back_equals(s, data, total);
	/* appending after a read goes to the end, not the read position */
	assert_int_equal(spool_rewind(s), 0);
	unsigned char tail[10] = "0123456789";
	assert_int_equal(spool_append(s, tail, sizeof(tail)), 0);
	unsigned char *all = malloc(total + sizeof(tail));
	assert_non_null(all);
	memcpy(all, data, total);
	memcpy(all + total, tail, sizeof(tail));
	read_back_equals(s, all, total + sizeof(tail));
	spool_free(&s);
	free(all);
	free(data);
}

static void limit_refuses_without_losing_content(void **state)
{
	const char *dir = *state;
	struct spool *s = spool_new(4096, dir, 10000);
	assert_non_null(s);
	unsigned char data[6000];
	fill(data, sizeof(data), 3);
	assert_int_equal(spool_append(s, data, sizeof(data)), 0);
	errno = 0;
	assert_int_equal(spool_append(s, data, sizeof(data)), -1);
	assert_int_equal(errno, EFBIG);
	assert_int_equal(spool_size(s), sizeof(data));
	read_back_equals(s, data, sizeof(data));
	spool_free(&s);
}

static void unwritable_directory_is_an_error(void **state)
{
	(void)state;
	struct spool *s = spool_new(4096, "/nonexistent-smime-spool", 0);
	assert_non_null(s);
	unsigned char data[5000] = { 0 };
	assert_int_equal(spool_append(s, data, 100), 0);
	assert_int_equal(spool_append(s, data, sizeof(data)), -1);
	assert_int_equal(spool_size(s), 100);	/* kept what it had */
	spool_free(&s);
	spool_free(&s);	/* NULL-safe */
}

/* The file other temporary storage (smime/'s) opens by the same rules. */
static void private_file_has_no_name_and_mode_0600(void **state)
{
	const char *dir = *state;
	int fd = spool_private_file(dir);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	assert_int_equal(entries_in(dir), 0);
	assert_int_equal(open_spool_file_mode(dir), 0600);
	close(fd);
	errno = 0;
	assert_int_equal(spool_private_file("/nonexistent-smime-spool"), -1);
	assert_int_not_equal(errno, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(small_body_stays_in_memory, make_dir),
		cmocka_unit_test_setup(large_body_moves_to_private_unlinked_file,
				       make_dir),
		cmocka_unit_test_setup(limit_refuses_without_losing_content,
				       make_dir),
		cmocka_unit_test_setup(unwritable_directory_is_an_error,
				       make_dir),
		cmocka_unit_test_setup(private_file_has_no_name_and_mode_0600,
				       make_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
