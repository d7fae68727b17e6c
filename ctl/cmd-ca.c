/* SPDX-License-Identifier: BSD-2-Clause */
/* smimectl ca init|import|issue|cert|revoke|crl: the organization CA
 * (the ca library does the work; this file parses arguments and prints). */
#include "ctl.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <smx/ca.h>

#include "p12.h"
#include "x509util.h"

int ctl_cmd_ca(struct ctl *ctl, int argc, char **argv);

static const char ca_usage[] =
	"usage: smimectl ca init [--subject DN] [--key-type T] [--lifetime D]\n"
	"       smimectl ca import FILE.p12 [--password-file F]\n"
	"       smimectl ca issue EMAIL [--separate-encryption] [--force]\n"
	"       smimectl ca cert\n"
	"       smimectl ca revoke FINGERPRINT [--reason R]\n"
	"       smimectl ca crl [--out FILE] [--der]";

static int usage_error(void)
{
	ctl_error("%s", ca_usage);
	return CTL_USAGE;
}

/* "10y", "90d", "3600": seconds, or -1. */
static long long parse_duration(const char *s)
{
	static const char units[] = "smhdy";
	static const long long factor[] = { 1, 60, 3600, 86400, 31536000 };
	char *end = NULL;
	errno = 0;
	long long v = isdigit((unsigned char)s[0]) ? strtoll(s, &end, 10) : -1;
	if (v <= 0 || errno != 0)
		return -1;
	if (*end == '\0')
		return v;
	const char *u = strchr(units, *end);
	if (u == NULL || *end == '\0' || end[1] != '\0' ||
	    v > (1LL << 40) / factor[u - units])
		return -1;
	return v * factor[u - units];
}

static int open_ca(struct ctl *ctl, struct ca **ca_r, const char *what)
{
	int rc = ctl_open_store(ctl, 0);
	if (rc != CTL_OK)
		return rc;
	enum smx_status st = ca_open(ctl->store, ctl->cfg, ca_r);
	if (st != SMX_OK) {
		ctl_error("%s: the organization CA is not available (%s)", what,
			  st == SMX_NOTFOUND ? "run smimectl ca init"
					     : smx_status_name(st));
		return st == SMX_NOTFOUND ? CTL_FAIL : ctl_exit_of(st);
	}
	return CTL_OK;
}

static int need_master_key(struct ctl *ctl, const char *what)
{
	if (store_key_status(ctl->store) == SMX_OK)
		return CTL_OK;
	ctl_error("%s: %s: no usable master key (run smimectl init)", what,
		  ctl->cfg->keys.master_key_file);
	return CTL_USAGE;
}

/* Prints the CA that init or import just recorded. */
static int report_ca(struct ctl *ctl, const char *verb)
{
	struct ca *ca = NULL;
	struct store_cert *c = NULL;
	size_t len = 0;
	const unsigned char *der = NULL;
	if (ca_open(ctl->store, ctl->cfg, &ca) != SMX_OK ||
	    (der = ca_cert_der(ca, &len)) == NULL ||
	    store_cert_parse(der, len, &c) != SMX_OK) {
		ca_free(&ca);
		ctl_error("the CA was %s but does not read back", verb);
		return CTL_FAIL;
	}
	char date[32];
	if (ctl->json) {
		printf("{\"fingerprint\":\"%s\",\"subject\":", c->fingerprint);
		ctl_json_string(stdout, c->subject);
		printf(",\"key_type\":\"%s\",\"not_after\":%" PRId64 "}\n",
		       c->key_type, c->not_after);
	} else {
		printf("organization CA %s: %s\nsubject:  %s\nkey type: %s\n"
		       "valid to: %s\n", verb, c->fingerprint, c->subject,
		       c->key_type, ctl_date(c->not_after, date, sizeof(date)));
	}
	store_cert_free(&c);
	ca_free(&ca);
	return CTL_OK;
}

static int ca_init(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "subject", required_argument, NULL, 's' },
		{ "key-type", required_argument, NULL, 'k' },
		{ "lifetime", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 } };
	const char *subject = NULL, *key_type = NULL, *lifetime = NULL;
	int ch;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 's') subject = optarg;
		else if (ch == 'k') key_type = optarg;
		else if (ch == 'l') lifetime = optarg;
		else return usage_error();
	}
	if (optind != argc)
		return usage_error();
	int rc = ctl_open_store(ctl, 0);
	if (rc != CTL_OK || (rc = need_master_key(ctl, "ca init")) != CTL_OK)
		return rc;
	const struct cfg_ca *cc = &ctl->cfg->ca;
	struct ca_params p = { subject ? subject : cc->subject, cc->key_type,
			       cc->ca_lifetime };
	long long secs = lifetime ? parse_duration(lifetime) : p.lifetime;
	if (secs < 86400 || secs > 30LL * 31536000) {
		ctl_error("--lifetime %s: expected a duration from 1d to 30y, "
			  "such as \"10y\"", lifetime);
		return CTL_USAGE;
	}
	p.lifetime = (unsigned)secs;
	if (key_type != NULL && !ca_key_type_parse(key_type, &p.key_type)) {
		ctl_error("--key-type %s: expected rsa-2048, rsa-3072, rsa-4096, "
			  "ec-p256 or ec-p384", key_type);
		return CTL_USAGE;
	}
	char fp[65] = "";
	enum smx_status st = ca_create(ctl->store, &p, time(NULL), fp);
	if (st != SMX_OK) {
		ctl_error("ca init: %s: no CA created (%s)", p.subject,
			  fp[0] ? "an organization CA exists already"
				: smx_status_name(st));
		return ctl_exit_of(st);
	}
	return report_ca(ctl, "created");
}

static int ca_import_identity(struct ctl *ctl, const char *file,
			      struct p12_identity *id)
{
	unsigned char *der = NULL, *p8 = NULL;
	size_t der_len = smx_x509_to_der(id->cert, &der);
	size_t p8_len = smx_x509_key_to_der(id->key, &p8);
	char fp[65] = "";
	enum smx_status st = (der_len && p8_len)
		? ca_import(ctl->store, der, der_len, p8, p8_len, fp)
		: SMX_PERMFAIL;
	free(der);
	store_secret_free(&p8, p8_len);
	if (st != SMX_OK) {
		ctl_error("%s: not imported as the organization CA (%s)", file,
			  fp[0] ? "an organization CA exists already"
				: smx_status_name(st));
		return ctl_exit_of(st);
	}
	return report_ca(ctl, "imported");
}

static int ca_import_cmd(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "password-file", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 } };
	const char *pwfile = NULL;
	int ch;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'p')
			return usage_error();
		pwfile = optarg;
	}
	if (optind != argc - 1)
		return usage_error();
	const char *file = argv[optind];
	int rc = ctl_open_store(ctl, 0);
	if (rc != CTL_OK || (rc = need_master_key(ctl, file)) != CTL_OK)
		return rc;
	char prompt[512];
	snprintf(prompt, sizeof(prompt), "Password for %s: ", file);
	char *pw = ctl_password(pwfile, prompt, false);
	if (pw == NULL)
		return CTL_USAGE;
	struct p12_identity id;
	struct p12_providers pv;
	p12_load_providers(&pv);
	rc = p12_read(file, pw, &id) == 0 ? ca_import_identity(ctl, file, &id)
					  : CTL_FAIL;
	p12_identity_clear(&id);
	p12_unload_providers(&pv);
	ctl_password_free(&pw);
	ERR_clear_error();
	return rc;
}

static void report_issue(struct ctl *ctl, const char *email,
			 const struct ca_issued *r)
{
	bool two = strcmp(r->sign_fingerprint, r->enc_fingerprint) != 0;
	if (ctl->json) {
		printf("{\"email\":");
		ctl_json_string(stdout, email);
		printf(",\"created\":%s,\"renewed\":%s,\"sign_fingerprint\":"
		       "\"%s\",\"encryption_fingerprint\":\"%s\"}\n",
		       r->created ? "true" : "false",
		       r->renewed ? "true" : "false", r->sign_fingerprint,
		       r->enc_fingerprint);
		return;
	}
	const char *verb = !r->created ? "has a valid certificate (use "
					 "--force for a new one)"
			   : r->renewed ? "renewed" : "issued";
	if (two)
		printf("%s: %s: signing %s, encryption %s\n", email, verb,
		       r->sign_fingerprint, r->enc_fingerprint);
	else
		printf("%s: %s: %s\n", email, verb, r->sign_fingerprint);
}

static int ca_issue_cmd(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "separate-encryption", no_argument, NULL, 's' },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 } };
	unsigned flags = 0;
	int ch;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 's') flags |= CA_ISSUE_SEPARATE;
		else if (ch == 'f') flags |= CA_ISSUE_FORCE;
		else return usage_error();
	}
	if (optind != argc - 1)
		return usage_error();
	const char *email = argv[optind];
	struct ca *ca = NULL;
	int rc = open_ca(ctl, &ca, email);
	if (rc != CTL_OK || (rc = need_master_key(ctl, email)) != CTL_OK) {
		ca_free(&ca);
		return rc;
	}
	struct ca_issued r;
	enum smx_status st = ca_issue(ca, email, flags, time(NULL), &r);
	if (st == SMX_OK)
		report_issue(ctl, email, &r);
	else
		ctl_error("%s: no certificate issued (%s)", email,
			  st == SMX_PERMFAIL ? "refused" : smx_status_name(st));
	ca_free(&ca);
	return ctl_exit_of(st);
}

static int ca_cert_cmd(struct ctl *ctl, int argc)
{
	if (argc != 1)
		return usage_error();
	struct ca *ca = NULL;
	int rc = open_ca(ctl, &ca, "ca cert");
	if (rc != CTL_OK)
		return rc;
	size_t len = 0;
	const unsigned char *der = ca_cert_der(ca, &len);
	X509 *x = smx_x509_parse(der, len, NULL, 0);
	BIO *out = BIO_new_fp(stdout, BIO_NOCLOSE);
	if (ctl->json) {
		BIO *mem = BIO_new(BIO_s_mem());
		char *pem = NULL;
		if (mem != NULL && x != NULL && PEM_write_bio_X509(mem, x) == 1 &&
		    BIO_write(mem, "", 1) == 1)
			BIO_get_mem_data(mem, &pem);
		printf("{\"fingerprint\":\"%s\",\"pem\":", ca_fingerprint(ca));
		ctl_json_string(stdout, pem);
		printf("}\n");
		rc = pem != NULL ? CTL_OK : CTL_FAIL;
		BIO_free(mem);
	} else if (x == NULL || out == NULL || PEM_write_bio_X509(out, x) != 1) {
		rc = CTL_FAIL;
	}
	if (rc != CTL_OK)
		ctl_error("%s: the CA certificate cannot be written",
			  ca_fingerprint(ca));
	BIO_free(out);
	X509_free(x);
	ca_free(&ca);
	return rc;
}

static int ca_revoke_cmd(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 } };
	int ch, reason = CA_REASON_UNSPECIFIED;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'r')
			return usage_error();
		if (!ca_reason_parse(optarg, &reason)) {
			ctl_error("--reason %s: expected unspecified, "
				  "keyCompromise, affiliationChanged, superseded, "
				  "cessationOfOperation or privilegeWithdrawn",
				  optarg);
			return CTL_USAGE;
		}
	}
	if (optind != argc - 1)
		return usage_error();
	struct ca *ca = NULL;
	struct store_cert *c = NULL;
	int rc = open_ca(ctl, &ca, argv[optind]);
	if (rc == CTL_OK)
		rc = ctl_find_cert(ctl, argv[optind], &c);
	if (rc != CTL_OK) {
		ca_free(&ca);
		return rc;
	}
	bool already = false;
	enum smx_status st = ca_revoke(ca, c->fingerprint, reason, time(NULL),
				       &already);
	if (st != SMX_OK)
		ctl_error("%s: not revoked (%s)", c->fingerprint,
			  st == SMX_PERMFAIL ? "refused"
					     : smx_status_name(st));
	else if (ctl->json)
		printf("{\"revoked\":\"%s\",\"reason\":\"%s\",\"new\":%s}\n",
		       c->fingerprint, ca_reason_name(reason),
		       already ? "false" : "true");
	else
		printf("%s: %s (%s)\n", c->fingerprint,
		       already ? "was revoked already" : "revoked",
		       already ? "first record kept" : ca_reason_name(reason));
	store_cert_free(&c);
	ca_free(&ca);
	return ctl_exit_of(st);
}

/* Writes buf to path through a temporary file and a rename, mode 0644
 * (a CRL is public). Prints the error naming path. */
static int write_file(const char *path, const unsigned char *buf, size_t len)
{
	char tmp[4096];
	int fd = -1;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= (int)sizeof(tmp) ||
	    (fd = mkstemp(tmp)) < 0) {
		ctl_error("%s: cannot create a file next to it: %s", path,
			  strerror(errno));
		return CTL_FAIL;
	}
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	if (done != len || fchmod(fd, 0644) != 0 || fsync(fd) != 0 ||
	    close(fd) != 0 || rename(tmp, path) != 0) {
		ctl_error("%s: write error: %s", path, strerror(errno));
		unlink(tmp);
		return CTL_FAIL;
	}
	return CTL_OK;
}

/* The CRL as PEM (or DER), malloc'd. */
static unsigned char *crl_encoded(const unsigned char *der, size_t len,
				  bool as_der, size_t *out_len)
{
	unsigned char *out = NULL;
	const unsigned char *p = der;
	X509_CRL *crl = as_der ? NULL : d2i_X509_CRL(NULL, &p, (long)len);
	BIO *mem = as_der ? NULL : BIO_new(BIO_s_mem());
	char *data = NULL;
	long n = (long)len;
	if (!as_der && (crl == NULL || mem == NULL ||
			PEM_write_bio_X509_CRL(mem, crl) != 1 ||
			(n = BIO_get_mem_data(mem, &data)) <= 0))
		n = 0;
	if (n > 0 && (out = malloc((size_t)n)) != NULL) {
		memcpy(out, as_der ? (const void *)der : (const void *)data,
		       (size_t)n);
		*out_len = (size_t)n;
	}
	BIO_free(mem);
	X509_CRL_free(crl);
	return out;
}

static int ca_crl_cmd(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "der", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 } };
	const char *out = NULL;
	bool as_der = false;
	int ch;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'o') out = optarg;
		else if (ch == 'd') as_der = true;
		else return usage_error();
	}
	if (optind != argc)
		return usage_error();
	struct ca *ca = NULL;
	int rc = open_ca(ctl, &ca, out ? out : "ca crl");
	if (rc != CTL_OK)
		return rc;
	unsigned char *der = NULL, *enc = NULL;
	size_t len = 0, n = 0, enc_len = 0;
	enum smx_status st = ca_crl(ca, time(NULL), &der, &len, &n);
	rc = ctl_exit_of(st);
	if (st != SMX_OK)
		ctl_error("%s: no CRL written (%s)", out ? out : "ca crl",
			  smx_status_name(st));
	else if ((enc = crl_encoded(der, len, as_der, &enc_len)) == NULL)
		rc = CTL_FAIL;
	else if (out != NULL)
		rc = write_file(out, enc, enc_len);
	else
		fwrite(enc, 1, enc_len, stdout);
	if (rc == CTL_OK && out != NULL && ctl->json) {
		printf("{\"file\":");
		ctl_json_string(stdout, out);
		printf(",\"entries\":%zu}\n", n);
	} else if (rc == CTL_OK && out != NULL)
		printf("%s: CRL of %s with %zu revoked certificate%s\n", out,
		       ca_fingerprint(ca), n, n == 1 ? "" : "s");
	free(der);
	free(enc);
	ca_free(&ca);
	return rc;
}

int ctl_cmd_ca(struct ctl *ctl, int argc, char **argv)
{
	if (argc < 2)
		return usage_error();
	const char *sub = argv[1];
	argc--;
	argv++;
	if (strcmp(sub, "init") == 0)
		return ca_init(ctl, argc, argv);
	if (strcmp(sub, "import") == 0)
		return ca_import_cmd(ctl, argc, argv);
	if (strcmp(sub, "issue") == 0)
		return ca_issue_cmd(ctl, argc, argv);
	if (strcmp(sub, "cert") == 0)
		return ca_cert_cmd(ctl, argc);
	if (strcmp(sub, "revoke") == 0)
		return ca_revoke_cmd(ctl, argc, argv);
	if (strcmp(sub, "crl") == 0)
		return ca_crl_cmd(ctl, argc, argv);
	ctl_error("ca %s: unknown subcommand", sub);
	return usage_error();
}
