/* SPDX-License-Identifier: BSD-2-Clause */
/* The directory client against a real slapd that directory.sh started and
 * filled (fixtures.sh). This program stops, pauses and restarts slapd
 * itself (tests/lib/slapd.sh) to check the outage behaviour in one
 * process. Environment: SMX_LDAP_URI, SMX_CERT_DIR, SMX_SLAPD_DIR,
 * SMX_SLAPD_CTL, SMX_TEST_DIR. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


#include <smx/directory.h>
#include <smx/log.h>

#define BASE "dc=example,dc=com"
#define TIMEOUT_S 2

static const char *getenv_or_fail(const char *name)
{
	const char *v = getenv(name);
	if (v == NULL || v[0] == '\0')
		fail_msg("%s is not set: run this through directory.sh", name);
	return v;
}

/* A file of the certificate directory, read whole (caller frees). */
static unsigned char *cert_file(const char *name, size_t *len_r)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", getenv_or_fail("SMX_CERT_DIR"),
		 name);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot read %s", path);
	unsigned char *buf = malloc(65536);
	assert_non_null(buf);
	*len_r = fread(buf, 1, 65536, f);
	fclose(f);
	return buf;
}

/* Settings as the defaults of the ldap group, with uri. */
struct conf {
	struct cfg_ldap c;
	char *uris[3];
	char *attrs[3];
};

static void conf_init(struct conf *k, const char *uri)
{
	memset(k, 0, sizeof(*k));
	k->uris[0] = (char *)(uintptr_t)uri;
	k->attrs[0] = (char *)(uintptr_t)"userCertificate;binary";
	k->attrs[1] = (char *)(uintptr_t)"userSMIMECertificate";
	k->attrs[2] = (char *)(uintptr_t)"userCertificate";
	k->c.uri = k->uris;
	k->c.n_uri = 1;
	k->c.base = (char *)(uintptr_t)BASE;
	k->c.filter = (char *)(uintptr_t)"(|(mail=%s)(proxyAddresses=smtp:%s))";
	k->c.attributes = k->attrs;
	k->c.n_attributes = 3;
	k->c.timeout = TIMEOUT_S;
}

static struct directory *open_conf(const struct conf *k, unsigned pool)
{
	struct directory *dir = NULL;
	struct smx_error error = { "" };
	enum smx_status st = directory_open(&k->c, pool, &dir, &error);
	if (st != SMX_OK)
		fail_msg("directory_open: %s", smx_error_text(&error, "?"));
	return dir;
}

static struct directory *open_default(void)
{
	struct conf k;
	conf_init(&k, getenv_or_fail("SMX_LDAP_URI"));
	return open_conf(&k, 0);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Looks email up and checks the status and that the certificates found
 * are exactly the given DER files (any order). Returns the result for
 * more checks (caller frees). */
static struct directory_result *expect_lookup(struct directory *dir,
					      const char *email,
					      enum smx_status want,
					      const char *const *files,
					      size_t n_files)
{
	struct directory_result *r = NULL;
	enum smx_status st = directory_lookup(dir, email, &r);
	assert_non_null(r);
	if (st != want)
		fail_msg("%s: got %s (%s), want %s", email, smx_status_name(st),
			 smx_error_text(&r->error, "no error"),
			 smx_status_name(want));
	if (r->n_certs != n_files)
		fail_msg("%s: %zu certificates, want %zu", email, r->n_certs,
			 n_files);
	for (size_t i = 0; i < n_files; i++) {
		size_t len;
		unsigned char *der = cert_file(files[i], &len);
		bool seen = false;
		for (size_t j = 0; j < r->n_certs; j++)
			seen = seen || (r->certs[j].der_len == len &&
					memcmp(r->certs[j].der, der, len) == 0);
		free(der);
		if (!seen)
			fail_msg("%s: %s was not returned", email, files[i]);
	}
	return r;
}

static bool has_reason(const struct directory_result *r, const char *text)
{
	for (size_t i = 0; i < r->n_rejected; i++)
		if (strstr(r->rejected[i].reason, text) != NULL)
			return true;
	return false;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* --- lookups --------------------------------------------------------- */

static void der_certificate_is_found(void **state)
{
	(void)state;
	struct directory *dir = open_default();
	const char *const want[] = { "alice.der" };
	struct directory_result *r = expect_lookup(dir, "alice@example.com",
						   SMX_OK, want, 1);
	assert_string_equal(r->certs[0].attribute, "userCertificate;binary");
	assert_string_equal(r->certs[0].dn, "uid=alice,ou=people," BASE);
	assert_int_equal(r->n_entries, 1);
	assert_int_equal(r->n_rejected, 0);
	directory_result_free(&r);
	assert_null(r);
	directory_free(&dir);
	assert_null(dir);
}

static void pkcs7_certificates_are_extracted(void **state)
{
	(void)state;
	struct directory *dir = open_default();
	const char *const want[] = { "bob.der" };
	struct directory_result *r = expect_lookup(dir, "bob@example.com",
						   SMX_OK, want, 1);
	assert_string_equal(r->certs[0].attribute, "userSMIMECertificate");
	/* the CA certificate Outlook puts in the blob names no address */
	assert_int_equal(r->n_rejected, 1);
	assert_string_equal(r->rejected[0].reason, "names no email address");
	assert_non_null(r->rejected[0].der);
	directory_result_free(&r);
	directory_free(&dir);
}

static void der_and_pkcs7_give_each_certificate_once(void **state)
{
	(void)state;
	struct directory *dir = open_default();
	const char *const want[] = { "carol1.der", "carol2.der" };
	struct directory_result *r = expect_lookup(dir, "carol@example.com",
						   SMX_OK, want, 2);
	directory_result_free(&r);
	directory_free(&dir);
}

static void expired_certificate_is_rejected(void **state)
{
	(void)state;
	struct directory *dir = open_default();
	struct directory_result *r = expect_lookup(dir, "dave@example.com",
						   SMX_NOTFOUND, NULL, 0);
	assert_int_equal(r->n_rejected, 1);
	assert_string_equal(r->rejected[0].reason, "expired on 2021-01-01");
	directory_result_free(&r);
	directory_free(&dir);
}

static void certificate_for_another_address_is_rejected(void **state)
{
	(void)state;
	struct directory *dir = open_default();
	struct directory_result *r = expect_lookup(dir, "eve@example.com",
						   SMX_NOTFOUND, NULL, 0);
	assert_int_equal(r->n_rejected, 1);
	assert_string_equal(r->rejected[0].reason, "issued to "
			    "mallory@example.org, not eve@example.com");
	directory_result_free(&r);
	directory_free(&dir);
}

static void several_certificates_are_all_returned(void **state)
{
	(void)state;
	struct directory *dir = open_default();
	const char *const want[] = { "frank1.der", "frank2.der" };
	struct directory_result *r = expect_lookup(dir, "frank@example.com",
						   SMX_OK, want, 2);
	assert_true(has_reason(r, "expired on"));
	directory_result_free(&r);
	/* frank2 also names f@example.com, in another entry's filter: none */
	r = expect_lookup(dir, "f@example.com", SMX_NOTFOUND, NULL, 0);
	assert_int_equal(r->n_entries, 0);
	directory_result_free(&r);
	directory_free(&dir);
}

static void address_match_ignores_case(void **state)
{
	(void)state;
	struct directory *dir = open_default();
	const char *const want[] = { "heidi.der" };	/* Heidi@Example.COM */
	struct directory_result *r = expect_lookup(dir, "HEIDI@example.com",
						   SMX_OK, want, 1);
	directory_result_free(&r);
	directory_free(&dir);
}

static void garbage_value_is_rejected_not_fatal(void **state)
{
	(void)state;
	struct directory *dir = open_default();
	const char *const want[] = { "grace.der" };
	struct directory_result *r = expect_lookup(dir, "grace@example.com",
						   SMX_OK, want, 1);
	assert_int_equal(r->n_rejected, 1);
	assert_null(r->rejected[0].der);
	assert_string_equal(r->rejected[0].attribute, "userSMIMECertificate");
	assert_string_equal(r->rejected[0].reason, "not a DER certificate or "
			    "PKCS#7 certs-only blob");
	directory_result_free(&r);
	directory_free(&dir);
}

static void subject_email_counts_without_san(void **state)
{
	(void)state;
	struct directory *dir = open_default();
	const char *const want[] = { "judy.der" };
	struct directory_result *r = expect_lookup(dir, "judy@example.com",
						   SMX_OK, want, 1);
	directory_result_free(&r);
	directory_free(&dir);
}

static void entries_sharing_an_address_are_merged(void **state)
{
	(void)state;
	struct directory *dir = open_default();
	const char *const want[] = { "shared1.der", "shared2.der" };
	struct directory_result *r = expect_lookup(dir, "shared@example.com",
						   SMX_OK, want, 2);
	assert_int_equal(r->n_entries, 2);
	directory_result_free(&r);
	directory_free(&dir);
}

static void unknown_address_is_notfound(void **state)
{
	(void)state;
	struct directory *dir = open_default();
	struct directory_result *r = expect_lookup(dir, "nobody@example.com",
						   SMX_NOTFOUND, NULL, 0);
	assert_int_equal(r->n_entries, 0);
	assert_false(smx_error_is_set(&r->error));
	directory_result_free(&r);
	r = expect_lookup(dir, "nocert@example.com", SMX_NOTFOUND, NULL, 0);
	assert_int_equal(r->n_entries, 1);
	assert_int_equal(r->n_rejected, 0);
	directory_result_free(&r);
	directory_free(&dir);
}

static void filter_injection_finds_nothing(void **state)
{
	(void)state;
	struct directory *dir = open_default();
	/* unescaped, each of these would match every entry with a mail */
	const char *const attempts[] = {
		"*)(mail=*@example.com", "*@example.com",
		"alice@example.com)(mail=*", "*)(|(mail=*)(mail=*@x",
		"alice@example.com\\2a", "\\2a@example.com",
	};
	for (size_t i = 0; i < N(attempts); i++) {
		struct directory_result *r = expect_lookup(
			dir, attempts[i], SMX_NOTFOUND, NULL, 0);
		assert_int_equal(r->n_entries, 0);
		directory_result_free(&r);
	}
	/* not even an address: refused before any search */
	const char *const refused[] = { "*)(mail=*", "*", "", "a@b\n" };
	for (size_t i = 0; i < N(refused); i++) {
		struct directory_result *r = expect_lookup(
			dir, refused[i], SMX_PERMFAIL, NULL, 0);
		directory_result_free(&r);
	}
	directory_free(&dir);
}

/* --- connecting ------------------------------------------------------ */

static char *write_password(const char *name, const char *pw, mode_t mode)
{
	static char path[1024];
	snprintf(path, sizeof(path), "%s/%s", getenv_or_fail("SMX_TEST_DIR"),
		 name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(pw, f);
	fclose(f);
	chmod(path, mode);
	return path;
}

static void expect_bind(const char *pwfile, enum smx_status want,
			const char *error_part)
{
	struct conf k;
	conf_init(&k, getenv_or_fail("SMX_LDAP_URI"));
	k.c.bind_dn = (char *)(uintptr_t)"cn=reader," BASE;
	k.c.bind_password_file = (char *)(uintptr_t)pwfile;
	struct directory *dir = open_conf(&k, 1);
	struct directory_result *r = NULL;
	enum smx_status st = directory_lookup(dir, "alice@example.com", &r);
	if (st != want)
		fail_msg("bind with %s: got %s (%s)", pwfile,
			 smx_status_name(st), smx_error_text(&r->error, ""));
	if (error_part != NULL && (!smx_error_is_set(&r->error) ||
				   strstr(r->error.text, error_part) == NULL))
		fail_msg("error '%s' does not say '%s'",
			 smx_error_text(&r->error, ""), error_part);
	directory_result_free(&r);
	directory_free(&dir);
}

static void simple_bind_reads_the_password_file(void **state)
{
	(void)state;
	expect_bind(write_password("good.pw", "readerpw\n", 0640), SMX_OK,
		    NULL);
	expect_bind(write_password("open.pw", "readerpw\n", 0644),
		    SMX_TEMPFAIL, "others cannot read");
	expect_bind(write_password("wrong.pw", "nope\n", 0600), SMX_TEMPFAIL,
		    "Invalid credentials");
	expect_bind(write_password("empty.pw", "\n", 0600), SMX_TEMPFAIL,
		    "empty password");
	char missing[1100];
	snprintf(missing, sizeof(missing), "%s/missing.pw",
		 getenv_or_fail("SMX_TEST_DIR"));
	expect_bind(missing, SMX_TEMPFAIL, "No such file");
}

static void failover_to_the_next_uri(void **state)
{
	(void)state;
	struct conf k;
	conf_init(&k, "ldap://127.0.0.1:1");	/* nothing listens there */
	k.uris[1] = (char *)(uintptr_t)getenv_or_fail("SMX_LDAP_URI");
	k.c.n_uri = 2;
	struct directory *dir = open_conf(&k, 2);
	const char *const want[] = { "alice.der" };
	for (int i = 0; i < 3; i++) {
		struct directory_result *r = expect_lookup(
			dir, "alice@example.com", SMX_OK, want, 1);
		directory_result_free(&r);
	}
	directory_free(&dir);
}

static void starttls_checks_the_server_certificate(void **state)
{
	(void)state;
	char good_ca[1024], wrong_ca[1024];
	snprintf(good_ca, sizeof(good_ca), "%s/tls/ca.pem",
		 getenv_or_fail("SMX_SLAPD_DIR"));
	snprintf(wrong_ca, sizeof(wrong_ca), "%s/ca.pem",
		 getenv_or_fail("SMX_CERT_DIR"));
	struct conf k;
	conf_init(&k, getenv_or_fail("SMX_LDAP_URI"));
	k.c.starttls = true;
	k.c.ca_file = good_ca;
	struct directory *dir = open_conf(&k, 1);
	const char *const want[] = { "alice.der" };
	struct directory_result *r = expect_lookup(dir, "alice@example.com",
						   SMX_OK, want, 1);
	directory_result_free(&r);
	directory_free(&dir);

	k.c.ca_file = wrong_ca;
	dir = open_conf(&k, 1);
	r = expect_lookup(dir, "alice@example.com", SMX_TEMPFAIL, NULL, 0);
	assert_non_null(strstr(r->error.text, "StartTLS"));
	directory_result_free(&r);
	directory_free(&dir);
}

struct worker {
	struct directory *dir;
	int failures;
};

static void *lookup_worker(void *arg)
{
	struct worker *w = arg;
	const char *const emails[] = { "alice@example.com", "bob@example.com",
				       "carol@example.com", "nobody@example.com" };
	const enum smx_status want[] = { SMX_OK, SMX_OK, SMX_OK, SMX_NOTFOUND };
	for (int i = 0; i < 40; i++) {
		struct directory_result *r = NULL;
		if (directory_lookup(w->dir, emails[i % 4], &r) != want[i % 4])
			w->failures++;
		directory_result_free(&r);
	}
	return NULL;
}

static void many_threads_share_a_small_pool(void **state)
{
	(void)state;
	struct conf k;
	conf_init(&k, getenv_or_fail("SMX_LDAP_URI"));
	k.c.timeout = 20;	/* waiting for a slot is not under test here */
	struct directory *dir = open_conf(&k, 3);
	pthread_t t[12];
	struct worker w[12];
	for (size_t i = 0; i < N(t); i++) {
		w[i] = (struct worker){ .dir = dir };
		assert_int_equal(pthread_create(&t[i], NULL, lookup_worker,
						&w[i]), 0);
	}
	int failures = 0;
	for (size_t i = 0; i < N(t); i++) {
		pthread_join(t[i], NULL);
		failures += w[i].failures;
	}
	assert_int_equal(failures, 0);
	directory_free(&dir);
}

/* --- publishing ------------------------------------------------------ */

static struct directory *open_publisher(bool publish)
{
	static char pw[1024];
	snprintf(pw, sizeof(pw), "%s/publisher.pw",
		 getenv_or_fail("SMX_CERT_DIR"));
	struct conf k;
	conf_init(&k, getenv_or_fail("SMX_LDAP_URI"));
	k.c.bind_dn = (char *)(uintptr_t)"cn=publisher," BASE;
	k.c.bind_password_file = pw;
	k.c.publish = publish;
	return open_conf(&k, 1);
}

/* Publishes one certificate file; checks the status and the number of
 * changes; returns the change list (caller frees). */
static struct directory_changes *publish_file(struct directory *dir,
					      const char *email,
					      const char *file, bool dry_run,
					      enum smx_status want,
					      size_t want_changes)
{
	size_t len;
	unsigned char *der = cert_file(file, &len);
	struct directory_blob blob = { der, len };
	struct directory_changes *ch = NULL;
	enum smx_status st = directory_publish(dir, email, &blob, 1, dry_run,
					       &ch);
	free(der);
	assert_non_null(ch);
	if (st != want)
		fail_msg("publish %s to %s: got %s (%s), want %s", file, email,
			 smx_status_name(st), smx_error_text(&ch->error, ""),
			 smx_status_name(want));
	if (ch->count != want_changes) {
		for (size_t i = 0; i < ch->count; i++)
			print_error("  %s %s: %s (%s)\n",
				    ch->items[i].op == DIRECTORY_CHANGE_ADD ? "+"
									    : "-",
				    ch->items[i].attribute, ch->items[i].what,
				    ch->items[i].reason);
		fail_msg("publish %s to %s: %zu changes, want %zu", file, email,
			 ch->count, want_changes);
	}
	return ch;
}

static size_t count_op(const struct directory_changes *ch,
		       enum directory_change_op op, const char *attribute,
		       const char *reason)
{
	size_t n = 0;
	for (size_t i = 0; i < ch->count; i++)
		n += ch->items[i].op == op &&
		     strcmp(ch->items[i].attribute, attribute) == 0 &&
		     strcmp(ch->items[i].reason, reason) == 0;
	return n;
}

static void publish_is_refused_when_off(void **state)
{
	(void)state;
	struct directory *dir = open_publisher(false);
	struct directory_changes *ch = publish_file(
		dir, "ivan@example.com", "ivan-new.der", false, SMX_CONFIG, 0);
	directory_changes_free(&ch);
	assert_null(ch);
	directory_free(&dir);
}

static void publish_dry_run_changes_nothing(void **state)
{
	(void)state;
	struct directory *dir = open_publisher(true);
	struct directory_changes *ch = publish_file(
		dir, "ivan@example.com", "ivan-new.der", true, SMX_OK, 4);
	assert_string_equal(ch->dn, "uid=ivan,ou=people," BASE);
	const char *b = "userCertificate;binary";
	assert_int_equal(count_op(ch, DIRECTORY_CHANGE_ADD, b, "new"), 1);
	assert_int_equal(count_op(ch, DIRECTORY_CHANGE_REMOVE, b, "expired"), 1);
	assert_int_equal(count_op(ch, DIRECTORY_CHANGE_REMOVE, b,
				  "replaced by a newer certificate"), 1);
	assert_int_equal(count_op(ch, DIRECTORY_CHANGE_ADD,
				  "userSMIMECertificate", "new"), 1);
	directory_changes_free(&ch);
	/* the entry is as it was */
	const char *const before[] = { "ivan-old.der", "ivan-other.der" };
	struct directory_result *r = expect_lookup(dir, "ivan@example.com",
						   SMX_OK, before, 2);
	directory_result_free(&r);
	directory_free(&dir);
}

static void publish_writes_once_and_is_idempotent(void **state)
{
	(void)state;
	struct directory *dir = open_publisher(true);
	struct directory_changes *ch = publish_file(
		dir, "ivan@example.com", "ivan-new.der", false, SMX_OK, 4);
	directory_changes_free(&ch);
	const char *const after[] = { "ivan-new.der", "ivan-other.der" };
	struct directory_result *r = expect_lookup(dir, "ivan@example.com",
						   SMX_OK, after, 2);
	directory_result_free(&r);
	ch = publish_file(dir, "ivan@example.com", "ivan-new.der", false,
			  SMX_OK, 0);
	directory_changes_free(&ch);
	/* a dry run of yet another certificate lists it and writes nothing */
	ch = publish_file(dir, "ivan@example.com", "ivan-next.der", true,
			  SMX_OK, 3);
	assert_int_equal(count_op(ch, DIRECTORY_CHANGE_REMOVE,
				  "userSMIMECertificate",
				  "certificate set changed"), 1);
	directory_changes_free(&ch);
	r = expect_lookup(dir, "ivan@example.com", SMX_OK, after, 2);
	directory_result_free(&r);
	/* an entry with no certificate attribute yet */
	ch = publish_file(dir, "kate@example.com", "kate.der", false, SMX_OK, 2);
	directory_changes_free(&ch);
	const char *const kate[] = { "kate.der" };
	r = expect_lookup(dir, "kate@example.com", SMX_OK, kate, 1);
	directory_result_free(&r);
	directory_free(&dir);
}

static void publish_refuses_what_it_cannot_do(void **state)
{
	(void)state;
	struct directory *dir = open_publisher(true);
	struct directory_changes *ch;
	ch = publish_file(dir, "nobody@example.com", "alice.der", false,
			  SMX_PERMFAIL, 0);	/* not nobody's certificate */
	directory_changes_free(&ch);
	ch = publish_file(dir, "ivan@example.com", "ivan-expired.der", false,
			  SMX_PERMFAIL, 0);
	assert_non_null(strstr(ch->error.text, "expired"));
	directory_changes_free(&ch);
	ch = publish_file(dir, "shared@example.com", "shared1.der", false,
			  SMX_PERMFAIL, 0);
	assert_non_null(strstr(ch->error.text, "several entries"));
	directory_changes_free(&ch);
	ch = publish_file(dir, "kate@example.com", "garbage.bin", true,
			  SMX_PERMFAIL, 0);
	directory_changes_free(&ch);
	directory_free(&dir);
	/* anonymous: slapd's ACL refuses the write */
	struct conf k;
	conf_init(&k, getenv_or_fail("SMX_LDAP_URI"));
	k.c.publish = true;
	dir = open_conf(&k, 1);
	ch = publish_file(dir, "ivan@example.com", "ivan-new.der", false,
			  SMX_OK, 0);	/* up to date: nothing is written */
	directory_changes_free(&ch);
	ch = publish_file(dir, "bob@example.com", "bob.der", false,
			  SMX_PERMFAIL, 3);
	assert_non_null(strstr(ch->error.text,
			       "modify uid=bob,ou=people," BASE));
	directory_changes_free(&ch);
	directory_free(&dir);
}

/* --- outages --------------------------------------------------------- */

static void slapd_ctl(const char *verb)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "'%s' %s '%s' >/dev/null 2>&1",
		 getenv_or_fail("SMX_SLAPD_CTL"), verb,
		 getenv_or_fail("SMX_SLAPD_DIR"));
	if (system(cmd) != 0)
		fail_msg("slapd.sh %s failed", verb);
}

/* The log (stderr) goes to a file while saved >= 0. */
static int capture_start(const char *name, char *path, size_t size)
{
	snprintf(path, size, "%s/%s", getenv_or_fail("SMX_TEST_DIR"), name);
	fflush(stderr);
	int saved = dup(2);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, 2);
	close(fd);
	return saved;
}

static void capture_stop(int saved)
{
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
}

static int count_lines(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int n = 0;
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, needle) != NULL;
	if (f != NULL)
		fclose(f);
	return n;
}

/* Lookups during the outage: each TEMPFAIL, each within the timeout. */
static void expect_tempfails(struct directory *dir, int n)
{
	for (int i = 0; i < n; i++) {
		struct directory_result *r = NULL;
		double t0 = now_s();
		enum smx_status st = directory_lookup(dir, "alice@example.com",
						      &r);
		double took = now_s() - t0;
		if (st != SMX_TEMPFAIL)
			fail_msg("lookup %d during the outage: %s", i,
				 smx_status_name(st));
		if (took > 2 * TIMEOUT_S + 2.0)	/* bounded; slack for a
						 * loaded, sanitized host */
			fail_msg("lookup %d took %.2fs (timeout %ds)", i, took,
				 TIMEOUT_S);
		assert_int_equal(r->n_certs, 0);
		directory_result_free(&r);
		usleep(300000);
	}
}

/* Polls until a lookup finds alice again (at most 10 s). */
static void expect_recovery(struct directory *dir)
{
	for (int i = 0; i < 100; i++) {
		struct directory_result *r = NULL;
		enum smx_status st = directory_lookup(dir, "alice@example.com",
						      &r);
		size_t n = r != NULL ? r->n_certs : 0;
		directory_result_free(&r);
		if (st == SMX_OK && n == 1)
			return;
		assert_int_equal(st, SMX_TEMPFAIL);	/* never NOTFOUND */
		usleep(100000);
	}
	fail_msg("no recovery within 10 s of slapd coming back");
}

static void outage_answers_tempfail_and_recovers(void **state)
{
	(void)state;
	struct directory *dir = open_default();
	const char *const want[] = { "alice.der" };
	struct directory_result *r = expect_lookup(dir, "alice@example.com",
						   SMX_OK, want, 1);
	directory_result_free(&r);
	char log[1024];
	int saved = capture_start("outage.log", log, sizeof(log));
	slapd_ctl("stop");
	expect_tempfails(dir, 8);
	slapd_ctl("start");
	expect_recovery(dir);
	capture_stop(saved);
	assert_int_equal(count_lines(log, "LDAP unavailable"), 1);
	assert_int_equal(count_lines(log, "LDAP available again"), 1);
	directory_free(&dir);
}

static void hung_server_answers_tempfail_within_timeout(void **state)
{
	(void)state;
	struct directory *dir = open_default();
	const char *const want[] = { "alice.der" };
	struct directory_result *r = expect_lookup(dir, "alice@example.com",
						   SMX_OK, want, 1);
	directory_result_free(&r);
	char log[1024];
	int saved = capture_start("hung.log", log, sizeof(log));
	slapd_ctl("pause");
	expect_tempfails(dir, 4);
	slapd_ctl("resume");
	expect_recovery(dir);
	capture_stop(saved);
	assert_int_equal(count_lines(log, "LDAP unavailable"), 1);
	assert_int_equal(count_lines(log, "LDAP available again"), 1);
	directory_free(&dir);
}

int main(void)
{
	smx_log_open("test_directory", SMX_LOG_STDERR, 0);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(der_certificate_is_found),
		cmocka_unit_test(pkcs7_certificates_are_extracted),
		cmocka_unit_test(der_and_pkcs7_give_each_certificate_once),
		cmocka_unit_test(expired_certificate_is_rejected),
		cmocka_unit_test(certificate_for_another_address_is_rejected),
		cmocka_unit_test(several_certificates_are_all_returned),
		cmocka_unit_test(address_match_ignores_case),
		cmocka_unit_test(garbage_value_is_rejected_not_fatal),
		cmocka_unit_test(subject_email_counts_without_san),
		cmocka_unit_test(entries_sharing_an_address_are_merged),
		cmocka_unit_test(unknown_address_is_notfound),
		cmocka_unit_test(filter_injection_finds_nothing),
		cmocka_unit_test(simple_bind_reads_the_password_file),
		cmocka_unit_test(failover_to_the_next_uri),
		cmocka_unit_test(starttls_checks_the_server_certificate),
		cmocka_unit_test(many_threads_share_a_small_pool),
		cmocka_unit_test(publish_is_refused_when_off),
		cmocka_unit_test(publish_dry_run_changes_nothing),
		cmocka_unit_test(publish_writes_once_and_is_idempotent),
		cmocka_unit_test(publish_refuses_what_it_cannot_do),
		cmocka_unit_test(outage_answers_tempfail_and_recovers),
		cmocka_unit_test(hung_server_answers_tempfail_within_timeout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
