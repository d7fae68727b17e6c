/* SPDX-License-Identifier: BSD-2-Clause */
/* Logging: every call is one line, whatever the logged values contain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <smx/log.h>

/* Runs smx_log with stderr sent to a file; returns what was written. */
static char *logged(const char *value)
{
	char path[] = "/tmp/smx-log-test.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	smx_log(LOG_INFO, "Q1: from=<%s> action=pass", value);
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	char *text = calloc(1, 8192);
	assert_non_null(text);
	assert_true(pread(fd, text, 8191, 0) >= 0);
	close(fd);
	unlink(path);
	return text;
}

static void a_line_break_in_a_value_does_not_start_a_line(void **state)
{
	(void)state;
	smx_log_open("unit", SMX_LOG_STDERR, LOG_MAIL);
	char *text = logged("a@b\nunit[1]: info: Q2: forged action=sign\r\t");
	/* one line: the only newline ends it */
	assert_non_null(strchr(text, '\n'));
	assert_ptr_equal(strchr(text, '\n'), text + strlen(text) - 1);
	assert_null(strchr(text, '\r'));
	assert_null(strchr(text, '\t'));
	assert_non_null(strstr(text, "from=<a@b unit[1]: info: Q2"));
	free(text);
}

static void flatten_replaces_every_control_character(void **state)
{
	(void)state;
	char text[40];
	for (int i = 0; i < 32; i++)
		text[i] = (char)i;
	text[32] = 0x7f;
	text[33] = 'x';
	text[34] = (char)0xc3;	/* UTF-8 stays */
	assert_int_equal(smx_log_flatten(text, 35), 35);
	for (int i = 0; i < 33; i++)
		assert_int_equal(text[i], ' ');
	assert_int_equal(text[33], 'x');
	assert_int_equal((unsigned char)text[34], 0xc3);
}

static void a_long_value_is_cut_to_one_line(void **state)
{
	(void)state;
	char *big = malloc(10000);
	assert_non_null(big);
	memset(big, 'a', 9999);
	big[9999] = '\0';
	char *text = logged(big);
	assert_ptr_equal(strchr(text, '\n'), text + strlen(text) - 1);
	free(text);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_line_break_in_a_value_does_not_start_a_line),
		cmocka_unit_test(flatten_replaces_every_control_character),
		cmocka_unit_test(a_long_value_is_cut_to_one_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
