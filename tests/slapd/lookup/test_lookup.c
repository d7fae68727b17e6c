/* SPDX-License-Identifier: BSD-2-Clause */
/* lookup_encrypt_certs against a real slapd that lookup.sh started and
 * filled (tests/slapd/directory/fixtures.sh plus olga, whose CA is not trusted,
 * and sam, whose certificate only the store holds). Whether slapd was
 * asked is counted in its access log (slapd -d stats). The tests share one
 * store and run in order; the last one stops and restarts slapd.
 * Environment: SMX_CONF, SMX_CERT_DIR, SMX_SLAPD_DIR, SMX_SLAPD_CTL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <smx/cfg.h>
#include <smx/directory.h>
#include <smx/log.h>
#include <smx/lookup.h>
#include <smx/store.h>

struct env {
	struct cfg *cfg;
	struct store *store;
	struct directory *dir;
};

static struct env E;	/* set up once by setup(), read by every test */

static const char *getenv_or_fail(const char *name)
{
	const char *v = getenv(name);
	if (v == NULL || v[0] == '\0')
		fail_msg("%s is not set: run this through lookup.sh", name);
	return v;
}

/* A file of the certificate directory that the variable dir_var names,
 * read whole (caller frees). */
static unsigned char *file_in(const char *dir_var, const char *name,
			      size_t *len_r)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", getenv_or_fail(dir_var), name);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot read %s", path);
	unsigned char *buf = malloc(65536);
	assert_non_null(buf);
	*len_r = fread(buf, 1, 65536, f);
	fclose(f);
	return buf;
}

static unsigned char *cert_file(const char *name, size_t *len_r)
{
	return file_in("SMX_CERT_DIR", name, len_r);
}

/* How many searches for address slapd has logged so far. */
static int searches(const char *address)
{
	char path[1024], needle[256], line[4096];
	snprintf(path, sizeof(path), "%s/slapd.log",
		 getenv_or_fail("SMX_SLAPD_DIR"));
	snprintf(needle, sizeof(needle), "mail=%s)", address);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot read %s", path);
	int n = 0;
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, " SRCH ") != NULL &&
		     strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

static void slapd_ctl(const char *verb)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "%s %s %s >/dev/null",
		 getenv_or_fail("SMX_SLAPD_CTL"), verb,
		 getenv_or_fail("SMX_SLAPD_DIR"));
	if (system(cmd) != 0)
		fail_msg("slapd.sh %s failed", verb);
}

static int setup(void **state)
{
	(void)state;
	struct cfg_errors errors = { 0 };
	enum smx_status st = SMX_OK;
	struct smx_error error = { "" };
	E.cfg = cfg_load(getenv_or_fail("SMX_CONF"), &errors);
	for (size_t i = 0; i < errors.count; i++)
		fprintf(stderr, "%s\n", errors.lines[i]);
	cfg_errors_free(&errors);
	if (E.cfg == NULL)
		return -1;
	E.store = store_open(&E.cfg->store_settings, STORE_OPEN_CREATE_KEY,
			     &st);
	if (E.store == NULL ||
	    directory_open(&E.cfg->ldap, 4, &E.dir, &error) != SMX_OK) {
		fprintf(stderr, "setup: %s\n",
			smx_error_text(&error, "store_open"));
		return -1;
	}
	/* the fixtures CA is a trust anchor; olga's CA is not */
	size_t len;
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "openssl x509 -in %s/ca.pem -outform DER "
		 "-out %s/ca.der", getenv_or_fail("SMX_CERT_DIR"),
		 getenv_or_fail("SMX_CERT_DIR"));
	if (system(cmd) != 0)
		return -1;
	unsigned char *der = cert_file("ca.der", &len);
	st = store_anchor_add(E.store, der, len, NULL, NULL);
	free(der);
	return st == SMX_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	directory_free(&E.dir);
	store_close(&E.store);
	cfg_unref(&E.cfg);
	return 0;
}

/* Looks email up and checks the answer; returns the result (caller
 * frees). */
static struct lookup_result *expect(struct directory *dir, const char *email,
				    time_t now, enum lookup_answer want)
{
	struct lookup_result *r = NULL;
	enum lookup_answer got = lookup_encrypt_certs(E.store, &E.cfg->verify, dir,
						      &E.cfg->ldap, email,
						      now, &r);
	assert_non_null(r);
	assert_int_equal(got, r->answer);
	if (got != want)
		fail_msg("%s: got %s (%s), want %s", email,
			 lookup_answer_name(got), smx_error_text(&r->error, "-"),
			 lookup_answer_name(want));
	if ((want == LOOKUP_AVAILABLE) != (r->n_usable > 0))
		fail_msg("%s: %zu usable candidates with answer %s", email,
			 r->n_usable, lookup_answer_name(got));
	return r;
}

/* The candidate whose certificate is the DER file name, or fails. */
static const struct lookup_candidate *find(const struct lookup_result *r,
					   const char *name)
{
	size_t len;
	unsigned char *der = cert_file(name, &len);
	const struct lookup_candidate *hit = NULL;
	for (size_t i = 0; i < r->count && hit == NULL; i++) {
		const struct store_cert *c = r->items[i].cert;
		if (c != NULL && c->der_len == len &&
		    memcmp(c->der, der, len) == 0)
			hit = &r->items[i];
	}
	free(der);
	if (hit == NULL)
		fail_msg("%s is not among the %zu candidates", name, r->count);
	return hit;
}

static bool has_reason(const struct lookup_result *r, const char *text)
{
	for (size_t i = 0; i < r->count; i++)
		if (r->items[i].reason != NULL &&
		    strstr(r->items[i].reason, text) != NULL)
			return true;
	return false;
}

/* --- the search order ------------------------------------------------ */

static void store_certificate_is_used_without_asking_the_directory(void **s)
{
	(void)s;
	size_t len;
	unsigned char *der = cert_file("sam.der", &len);
	assert_int_equal(store_cert_put(E.store, der, len,
					STORE_SOURCE_IMPORTED,
					STORE_TRUST_CHAIN, NULL, 0, NULL, NULL),
			 SMX_OK);
	free(der);
	struct lookup_result *r = expect(E.dir, "sam@example.com", time(NULL),
					 LOOKUP_AVAILABLE);
	assert_int_equal(r->n_usable, 1);
	const struct lookup_candidate *c = find(r, "sam.der");
	assert_true(c->usable);
	assert_int_equal(c->origin, LOOKUP_FROM_STORE);
	assert_null(c->reason);
	assert_false(r->directory_asked);
	assert_int_equal(searches("sam@example.com"), 0);
	lookup_result_free(&r);
	assert_null(r);
}

static void directory_certificate_is_fetched_then_cached(void **s)
{
	(void)s;
	time_t now = time(NULL);
	struct lookup_result *r = expect(E.dir, "alice@example.com", now,
					 LOOKUP_AVAILABLE);
	const struct lookup_candidate *c = find(r, "alice.der");
	assert_true(c->usable);
	assert_int_equal(c->origin, LOOKUP_FROM_DIRECTORY);
	assert_string_equal(c->dn, "uid=alice,ou=people,dc=example,dc=com");
	assert_string_equal(c->attribute, "userCertificate;binary");
	assert_int_equal(c->cert->source, STORE_SOURCE_DIRECTORY);
	assert_int_equal(c->cert->trust, STORE_TRUST_CHAIN);
	assert_true(r->directory_asked);
	assert_int_equal(searches("alice@example.com"), 1);
	lookup_result_free(&r);

	bool found = false;
	assert_int_equal(store_dircache_get(E.store, "alice@example.com", now,
					    &found), SMX_OK);
	assert_true(found);

	r = expect(E.dir, "alice@example.com", now + 60, LOOKUP_AVAILABLE);
	c = find(r, "alice.der");
	assert_int_equal(c->origin, LOOKUP_FROM_CACHE);
	assert_false(r->directory_asked);
	assert_int_equal(searches("alice@example.com"), 1);
	lookup_result_free(&r);
}

static void pkcs7_blob_gives_the_certificate_and_lists_the_ca(void **s)
{
	(void)s;
	struct lookup_result *r = expect(E.dir, "bob@example.com", time(NULL),
					 LOOKUP_AVAILABLE);
	assert_int_equal(r->n_usable, 1);
	assert_string_equal(find(r, "bob.der")->attribute,
			    "userSMIMECertificate");
	/* the CA certificate Outlook puts in the blob: refused, listed */
	assert_true(has_reason(r, "names no email address"));
	lookup_result_free(&r);
}

static void unknown_address_is_cached_negatively(void **s)
{
	(void)s;
	const char *const who[] = { "nocert@example.com", "nobody@example.com" };
	time_t now = time(NULL);
	for (size_t i = 0; i < 2; i++) {
		struct lookup_result *r = expect(E.dir, who[i], now,
						 LOOKUP_MISSING);
		assert_true(r->directory_asked);
		assert_int_equal(r->count, 0);
		assert_false(smx_error_is_set(&r->error));
		lookup_result_free(&r);
		assert_int_equal(searches(who[i]), 1);

		r = expect(E.dir, who[i], now + 60, LOOKUP_MISSING);
		assert_false(r->directory_asked);
		lookup_result_free(&r);
		assert_int_equal(searches(who[i]), 1);

		bool found = true;
		assert_int_equal(store_dircache_get(E.store, who[i], now,
						    &found), SMX_OK);
		assert_false(found);
	}
	/* once negative_ttl has passed, the directory is asked again */
	time_t later = now + (time_t)E.cfg->ldap.negative_ttl + 1;
	struct lookup_result *r = expect(E.dir, who[0], later, LOOKUP_MISSING);
	assert_true(r->directory_asked);
	lookup_result_free(&r);
	assert_int_equal(searches(who[0]), 2);
}

static void untrusted_directory_certificate_is_missing(void **s)
{
	(void)s;
	time_t now = time(NULL);
	struct lookup_result *r = expect(E.dir, "olga@example.com", now,
					 LOOKUP_MISSING);
	assert_int_equal(r->count, 1);
	const struct lookup_candidate *c = &r->items[0];
	assert_false(c->usable);
	assert_int_equal(c->origin, LOOKUP_FROM_DIRECTORY);
	assert_int_equal(c->reject, STORE_REJECT_UNTRUSTED);
	assert_non_null(strstr(c->reason, "not trusted"));
	/* and why the chain did not verify */
	assert_non_null(strstr(c->reason, "issuer"));
	assert_int_equal(c->cert->trust, STORE_TRUST_NONE);
	lookup_result_free(&r);
	assert_int_equal(searches("olga@example.com"), 1);

	/* the positive cache entry: the stored certificate, still refused */
	r = expect(E.dir, "olga@example.com", now + 60, LOOKUP_MISSING);
	assert_int_equal(r->count, 1);
	assert_int_equal(r->items[0].origin, LOOKUP_FROM_CACHE);
	assert_non_null(strstr(r->items[0].reason, "not trusted"));
	assert_false(r->directory_asked);
	lookup_result_free(&r);
	assert_int_equal(searches("olga@example.com"), 1);
}

/* The directory's certificates are judged by the roots of inbound
 * verification: verify.ca_file counts, and "none" leaves out OpenSSL's
 * default bundle (pointed at olga's CA here). */
static void verify_ca_file_decides_directory_trust(void **s)
{
	(void)s;
	char ca[1024], why[256], none[] = "none";
	size_t len = 0;
	enum store_trust trust = STORE_TRUST_PINNED;
	snprintf(ca, sizeof(ca), "%s/ca.pem",
		 getenv_or_fail("SMX_UNTRUSTED_DIR"));
	unsigned char *der = file_in("SMX_UNTRUSTED_DIR", "olga.der", &len);
	struct cfg_verify v = { .ca_file = ca };
	assert_int_equal(lookup_verify_chain(E.store, &v, der, len, NULL, 0,
					     &trust, why, sizeof(why)), SMX_OK);
	if (trust != STORE_TRUST_CHAIN)
		fail_msg("ca_file names olga's CA, yet: %s", why);
	v.ca_file = none;
	assert_int_equal(setenv("SSL_CERT_FILE", ca, 1), 0);
	assert_int_equal(lookup_verify_chain(E.store, &v, der, len, NULL, 0,
					     &trust, why, sizeof(why)), SMX_OK);
	unsetenv("SSL_CERT_FILE");
	if (trust != STORE_TRUST_NONE)
		fail_msg("ca_file = none, yet olga's CA is trusted: %s", why);
	free(der);
}

static void refused_directory_values_are_listed_with_reasons(void **s)
{
	(void)s;
	struct lookup_result *r = expect(E.dir, "dave@example.com", time(NULL),
					 LOOKUP_MISSING);
	assert_int_equal(r->count, 1);
	assert_int_equal(r->items[0].origin, LOOKUP_FROM_DIRECTORY);
	assert_string_equal(r->items[0].reason, "expired on 2021-01-01");
	assert_non_null(r->items[0].cert);
	lookup_result_free(&r);

	r = expect(E.dir, "grace@example.com", time(NULL), LOOKUP_AVAILABLE);
	assert_int_equal(r->n_usable, 1);
	assert_int_equal(r->count, 2);
	assert_null(r->items[1].cert);	/* a value that is no certificate */
	assert_string_equal(r->items[1].attribute, "userSMIMECertificate");
	lookup_result_free(&r);
}

static void without_a_directory_the_store_is_every_source(void **s)
{
	(void)s;
	struct lookup_result *r = expect(NULL, "carol@example.com", time(NULL),
					 LOOKUP_MISSING);
	assert_false(r->directory_asked);
	lookup_result_free(&r);
	assert_int_equal(searches("carol@example.com"), 0);
}

/* --- threads --------------------------------------------------------- */

struct job {
	const char *email;
	enum lookup_answer want;
	int failures;
};

static void *lookup_thread(void *arg)
{
	struct job *j = arg;
	for (int i = 0; i < 10; i++) {
		struct lookup_result *r = NULL;
		enum lookup_answer a = lookup_encrypt_certs(
			E.store, &E.cfg->verify, E.dir, &E.cfg->ldap, j->email, time(NULL), &r);
		if (a != j->want || r == NULL)
			j->failures++;
		lookup_result_free(&r);
	}
	return NULL;
}

static void many_threads_share_store_and_directory(void **s)
{
	(void)s;
	struct job jobs[] = {
		{ "carol@example.com", LOOKUP_AVAILABLE, 0 },
		{ "frank@example.com", LOOKUP_AVAILABLE, 0 },
		{ "heidi@example.com", LOOKUP_AVAILABLE, 0 },
		{ "shared@example.com", LOOKUP_AVAILABLE, 0 },
		{ "eve@example.com", LOOKUP_MISSING, 0 },
		{ "nobody2@example.com", LOOKUP_MISSING, 0 },
		{ "carol@example.com", LOOKUP_AVAILABLE, 0 },
		{ "eve@example.com", LOOKUP_MISSING, 0 },
	};
	pthread_t t[sizeof(jobs) / sizeof(jobs[0])];
	for (size_t i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++)
		assert_int_equal(pthread_create(&t[i], NULL, lookup_thread,
						&jobs[i]), 0);
	for (size_t i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++) {
		pthread_join(t[i], NULL);
		if (jobs[i].failures != 0)
			fail_msg("%s: %d of 10 lookups gave the wrong answer",
				 jobs[i].email, jobs[i].failures);
	}
	/* concurrent first lookups may each ask; the cache stops the rest */
	assert_in_range(searches("frank@example.com"), 1, 2);
}

/* --- outage ---------------------------------------------------------- */

static void directory_down_is_unknown_never_missing(void **s)
{
	(void)s;
	slapd_ctl("stop");
	time_t now = time(NULL);
	struct lookup_result *r = expect(E.dir, "judy@example.com", now,
					 LOOKUP_UNKNOWN);
	assert_true(smx_error_is_set(&r->error));
	assert_non_null(strstr(r->error.text, "directory"));
	assert_true(r->directory_asked);
	lookup_result_free(&r);

	/* a store certificate that is rejected does not make it MISSING */
	size_t len;
	unsigned char *der = cert_file("kate.der", &len);
	assert_int_equal(store_cert_put(E.store, der, len,
					STORE_SOURCE_HARVESTED,
					STORE_TRUST_NONE, NULL, 0, NULL, NULL),
			 SMX_OK);
	free(der);
	r = expect(E.dir, "kate@example.com", now, LOOKUP_UNKNOWN);
	assert_int_equal(r->count, 1);
	assert_int_equal(r->items[0].origin, LOOKUP_FROM_STORE);
	lookup_result_free(&r);

	/* cached answers still come while slapd is down */
	r = expect(E.dir, "alice@example.com", now, LOOKUP_AVAILABLE);
	lookup_result_free(&r);
	r = expect(E.dir, "nobody@example.com", now, LOOKUP_MISSING);
	lookup_result_free(&r);

	slapd_ctl("start");
	enum lookup_answer a = LOOKUP_UNKNOWN;
	for (int i = 0; i < 50 && a == LOOKUP_UNKNOWN; i++) {
		lookup_result_free(&r);
		a = lookup_encrypt_certs(E.store, &E.cfg->verify, E.dir,
					 &E.cfg->ldap,
					 "judy@example.com", time(NULL), &r);
		if (a == LOOKUP_UNKNOWN)
			usleep(100000);
	}
	/* judy's (legacy) certificate names her in its subject alone,
	 * having no SAN address: it is hers */
	assert_int_equal(a, LOOKUP_AVAILABLE);
	lookup_result_free(&r);
}

int main(void)
{
	smx_log_open("test_lookup", SMX_LOG_STDERR, 0);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(store_certificate_is_used_without_asking_the_directory),
		cmocka_unit_test(directory_certificate_is_fetched_then_cached),
		cmocka_unit_test(pkcs7_blob_gives_the_certificate_and_lists_the_ca),
		cmocka_unit_test(unknown_address_is_cached_negatively),
		cmocka_unit_test(untrusted_directory_certificate_is_missing),
		cmocka_unit_test(verify_ca_file_decides_directory_trust),
		cmocka_unit_test(refused_directory_values_are_listed_with_reasons),
		cmocka_unit_test(without_a_directory_the_store_is_every_source),
		cmocka_unit_test(many_threads_share_store_and_directory),
		cmocka_unit_test(directory_down_is_unknown_never_missing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
