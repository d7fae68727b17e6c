/* SPDX-License-Identifier: BSD-2-Clause */
/* The expiry survey: which certificates count as in use and expiring,
 * which identities are warned about, and the once-a-day memory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "expiry.h"

#define NOW ((time_t)1800000000)
#define DAYS(d) ((int64_t)(d) * 86400)

static char alice_addr[] = "alice@example.com";
static char *alice[] = { alice_addr };
static char bob_addr[] = "bob@partner.example";
static char *bob[] = { bob_addr };

/* A certificate in force for addr, ending in `ends` days. */
static struct store_cert cert(const char *fp, char **addr, int64_t ends,
			      bool key)
{
	struct store_cert c = { .not_before = NOW - DAYS(100),
				.not_after = NOW + DAYS(ends),
				.emails = addr, .n_emails = 1,
				.trust = STORE_TRUST_CHAIN, .has_key = key,
				.last_seen = NOW - DAYS(1) };
	snprintf(c.fingerprint, sizeof(c.fingerprint), "%s", fp);
	return c;
}

static void counts_certificates_in_use(void **state)
{
	(void)state;
	struct store_cert c[] = {
		cert("id-soon", alice, 10, true),	/* counted, warned */
		cert("id-later", alice, 60, true),	/* not within 30 d */
		cert("rcpt-soon", bob, 20, false),	/* counted */
		cert("rcpt-stale", bob, 20, false),	/* not seen lately */
		cert("rcpt-expired", bob, -1, false),	/* no longer in use */
		cert("rcpt-untrusted", bob, 5, false),
		cert("rcpt-revoked", bob, 5, false),
	};
	c[3].last_seen = NOW - DAYS(31);
	c[5].trust = STORE_TRUST_NONE;
	c[6].revoked = true;
	struct store_cert *list[7];
	for (size_t i = 0; i < 7; i++)
		list[i] = &c[i];
	struct expiry_survey s;
	assert_int_equal(expiry_survey_make(list, 7, NOW, false, &s), 0);
	assert_int_equal(s.identities, 1);
	assert_int_equal(s.recipients, 1);
	/* id-later is alice's successor: nothing to warn about */
	assert_int_equal(s.n_warn, 0);
	expiry_survey_clear(&s);
	/* without the successor, alice's expiring identity is warned */
	list[1] = &c[2];
	assert_int_equal(expiry_survey_make(list, 2, NOW, false, &s), 0);
	assert_int_equal(s.n_warn, 1);
	assert_string_equal(s.warn[0]->fingerprint, "id-soon");
	expiry_survey_clear(&s);
	/* auto-enrollment renews it: counted, not warned */
	assert_int_equal(expiry_survey_make(list, 2, NOW, true, &s), 0);
	assert_int_equal(s.identities, 1);
	assert_int_equal(s.n_warn, 0);
	expiry_survey_clear(&s);
	/* 20 days left: counted in the gauge, not yet warned */
	struct store_cert later = cert("id-20", alice, 20, true);
	struct store_cert *one[] = { &later };
	assert_int_equal(expiry_survey_make(one, 1, NOW, false, &s), 0);
	assert_int_equal(s.identities, 1);
	assert_int_equal(s.n_warn, 0);
	expiry_survey_clear(&s);
}

static void warns_once_a_day(void **state)
{
	(void)state;
	assert_true(expiry_warn_due("aa", NOW));
	assert_false(expiry_warn_due("aa", NOW + 60));
	assert_true(expiry_warn_due("bb", NOW + 60));
	assert_true(expiry_warn_due("aa", NOW + 86400));
	assert_false(expiry_warn_due("aa", NOW + 86400 + 3600));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(counts_certificates_in_use),
		cmocka_unit_test(warns_once_a_day),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
