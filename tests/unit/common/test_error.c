/* SPDX-License-Identifier: BSD-2-Clause */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <smx/error.h>

static void set_formats_and_returns_the_status(void **state)
{
	(void)state;
	struct smx_error err = { "" };
	assert_false(smx_error_is_set(&err));
	assert_string_equal(smx_error_text(&err, "none"), "none");
	assert_int_equal(smx_error_fail(&err, SMX_TEMPFAIL, "bind as %s: %d",
				       "cn=x", 49), SMX_TEMPFAIL);
	assert_true(smx_error_is_set(&err));
	assert_string_equal(smx_error_text(&err, "none"), "bind as cn=x: 49");
	smx_error_prefix(&err, "ldap://%s", "h");
	assert_string_equal(err.text, "ldap://h: bind as cn=x: 49");
	smx_error_clear(&err);
	assert_false(smx_error_is_set(&err));
}

/* A caller that does not want the text passes NULL. */
static void null_is_allowed(void **state)
{
	(void)state;
	assert_int_equal(smx_error_fail(NULL, SMX_PERMFAIL, "x %d", 1),
			 SMX_PERMFAIL);
	smx_error_prefix(NULL, "p");
	smx_error_clear(NULL);
	assert_false(smx_error_is_set(NULL));
	assert_null(smx_error_text(NULL, NULL));
}

/* A text longer than the buffer is cut and ends in "...", never
 * overflows, also when a prefix pushes it over. */
static void long_texts_are_cut_visibly(void **state)
{
	(void)state;
	char big[2 * SMX_ERROR_SIZE];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	struct smx_error err;
	smx_error_set(&err, "%s", big);
	assert_int_equal(strlen(err.text), SMX_ERROR_SIZE - 1);
	assert_string_equal(err.text + SMX_ERROR_SIZE - 4, "...");
	smx_error_set(&err, "%.*s", SMX_ERROR_SIZE - 1, big);
	assert_int_equal(strlen(err.text), SMX_ERROR_SIZE - 1);
	assert_int_equal(err.text[SMX_ERROR_SIZE - 2], 'a');
	smx_error_prefix(&err, "prefix");
	assert_int_equal(strlen(err.text), SMX_ERROR_SIZE - 1);
	assert_int_equal(strncmp(err.text, "prefix: aaa", 11), 0);
	assert_string_equal(err.text + SMX_ERROR_SIZE - 4, "...");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(set_formats_and_returns_the_status),
		cmocka_unit_test(null_is_allowed),
		cmocka_unit_test(long_texts_are_cut_visibly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
