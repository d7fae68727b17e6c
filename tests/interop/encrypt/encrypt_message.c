/* SPDX-License-Identifier: BSD-2-Clause */
/* smx-encrypt-message: encrypts one RFC 5322 message the way the milter
 * does (optionally signing it first), for the interop tests. Reads the
 * message from a file, feeds its headers and body to smime_sign_* and/or
 * smime_encrypt_*, applies the header edits and writes the result.
 *
 * smx-encrypt-message [--sign-key K --sign-cert C [--chain P] [--opaque]]
 *     [--header-protection]
 *     { [--caps CAPS.der] [--legacy] --rcpt CERT.pem }...
 *     [--threshold BYTES] [--dir DIR] [--max-rss-mb N] IN OUT
 *
 * --caps (DER SMIMECapabilities, parsed with smime_caps_parse) and
 * --legacy apply to the next --rcpt. Exit 0 when encrypted, with a line
 * "encrypted: content=... km=...,... rss_growth=NMiB" on stderr; 2 and a
 * message starting with the status name otherwise; 3 when the peak
 * resident size grew by more than --max-rss-mb while encrypting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#include <openssl/pem.h>

#include <smx/msgfile.h>
#include <smx/smime-encrypt.h>
#include <smx/smime-hp.h>

#define MAX_RCPTS 64

struct header {
	char *name, *value;	/* value as a milter sees it */
	bool deleted;
};

struct args {
	const char *sign_key, *sign_cert, *chain, *in, *out, *dir;
	bool opaque;
	bool header_protection;	/* RFC 9788, as policy "baseline" */
	size_t threshold;
	long max_rss_mb;
	struct smime_recipient rcpts[MAX_RCPTS];
	size_t n_rcpts;
};

static void die(const char *what)
{
	fprintf(stderr, "smx-encrypt-message: %s\n", what);
	exit(2);
}

static void *read_pem(const char *path, bool key)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		die(path);
	void *p = key ? (void *)PEM_read_PrivateKey(f, NULL, NULL, NULL) :
		(void *)PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (p == NULL)
		die(path);
	return p;
}

static unsigned read_caps(const char *path)
{
	unsigned char buf[8192];
	unsigned caps;
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		die(path);
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (smime_caps_parse(buf, n, &caps) != SMX_OK)
		die("SMIMECapabilities do not parse");
	return caps;
}

/* One option with its value; returns -1 for an unknown one. */
static int set_option(struct args *a, const char *o, const char *v,
		      unsigned *caps, bool *legacy)
{
	if (strcmp(o, "--sign-key") == 0) a->sign_key = v;
	else if (strcmp(o, "--sign-cert") == 0) a->sign_cert = v;
	else if (strcmp(o, "--chain") == 0) a->chain = v;
	else if (strcmp(o, "--dir") == 0) a->dir = v;
	else if (strcmp(o, "--threshold") == 0)
		a->threshold = strtoul(v, NULL, 10);
	else if (strcmp(o, "--max-rss-mb") == 0)
		a->max_rss_mb = strtol(v, NULL, 10);
	else if (strcmp(o, "--caps") == 0)
		*caps = read_caps(v);
	else if (strcmp(o, "--rcpt") == 0) {
		if (a->n_rcpts == MAX_RCPTS)
			die("too many --rcpt");
		struct smime_recipient *r = &a->rcpts[a->n_rcpts++];
		r->cert = read_pem(v, false);
		r->caps = *caps;
		r->legacy_interop = *legacy;
		*caps = 0;
		*legacy = false;
	} else
		return -1;
	return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	unsigned caps = 0;
	bool legacy = false;
	memset(a, 0, sizeof(*a));
	a->dir = "/tmp";
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		if (strcmp(o, "--opaque") == 0)
			a->opaque = true;
		else if (strcmp(o, "--header-protection") == 0)
			a->header_protection = true;
		else if (strcmp(o, "--legacy") == 0)
			legacy = true;
		else if (o[0] != '-' || o[1] != '-') {
			if (a->in == NULL)
				a->in = o;
			else
				a->out = o;
		} else if (i + 1 == argc ||
			   set_option(a, o, argv[++i], &caps, &legacy) != 0)
			return -1;
	}
	return a->in && a->out && a->n_rcpts > 0 &&
		(a->sign_key == NULL) == (a->sign_cert == NULL) ? 0 : -1;
}

/* Reads the header block (folded lines kept as LF + whitespace, as
 * Postfix passes them) and leaves f at the body. */
static struct header *read_headers(FILE *f, size_t *n_r)
{
	struct header *h = NULL;
	size_t n = 0, cap = 0;
	char *line = NULL;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) > 0) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			break;
		if ((line[0] == ' ' || line[0] == '\t') && n > 0) {
			char *v = h[n - 1].value;
			size_t old = strlen(v);
			v = realloc(v, old + (size_t)len + 2);
			v[old] = '\n';
			memcpy(v + old + 1, line, (size_t)len + 1);
			h[n - 1].value = v;
			continue;
		}
		char *colon = strchr(line, ':');
		if (colon == NULL)
			die("a header line without a colon");
		h = realloc(h, (n + 1) * sizeof(*h));
		h[n].name = strndup(line, (size_t)(colon - line));
		h[n].value = strdup(colon + 1);
		h[n].deleted = false;
		n++;
	}
	free(line);
	*n_r = n;
	return h;
}

static long peak_rss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Deletes or changes in place occurrence ed->index of ed->name, as the
 * MTA does for smfi_chgheader. */
static void apply_edit(struct header *h, size_t n,
		       const struct smime_header_edit *ed)
{
	unsigned seen = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(h[i].name, ed->name) != 0 || ++seen != ed->index)
			continue;
		if (h[i].deleted)
			die("an edit names a deleted header");
		if (ed->op == SMIME_EDIT_DELETE) {
			h[i].deleted = true;
		} else {
			free(h[i].value);
			if ((h[i].value = strdup(ed->value)) == NULL)
				die("out of memory");
		}
		return;
	}
	die("an edit names a header that does not exist");
}

static void write_value(FILE *out, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\n')
			fputc('\r', out);
		fputc(*v, out);
	}
}

static void write_result(struct smime_encrypt *enc, struct header *h,
			 size_t n, const char *path)
{
	FILE *out = fopen(path, "w");
	if (out == NULL)
		die(path);
	size_t n_edits = smime_encrypt_edit_count(enc);
	for (size_t i = 0; i < n_edits; i++) {
		const struct smime_header_edit *ed = smime_encrypt_edit(enc, i);
		if (ed->op == SMIME_EDIT_DELETE || ed->op == SMIME_EDIT_CHANGE)
			apply_edit(h, n, ed);
	}
	for (size_t i = 0; i < n; i++) {
		if (h[i].deleted)
			continue;
		fprintf(out, "%s:", h[i].name);
		write_value(out, h[i].value);
		fputs("\r\n", out);
	}
	for (size_t i = 0; i < n_edits; i++) {
		const struct smime_header_edit *ed = smime_encrypt_edit(enc, i);
		if (ed->op == SMIME_EDIT_ADD)
			fprintf(out, "%s:%s\r\n", ed->name, ed->value);
	}
	fputs("\r\n", out);
	struct spool *body = smime_encrypt_result_body(enc);
	char buf[65536];
	ssize_t r;
	spool_rewind(body);
	while ((r = spool_read(body, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)r, out);
	if (fclose(out) != 0)
		die(path);
}

static void check(enum smx_status st, const struct smx_error *err)
{
	if (st == SMX_OK)
		return;
	fprintf(stderr, "%s: %s\n", smx_status_name(st), err->text);
	exit(2);
}

/* The message for the end-of-message functions: the headers read, and
 * the rest of in as the body (in a file past the threshold). */
static void read_message(const struct args *a, const struct header *h,
			 size_t n, FILE *in, struct hdrlist **headers_r,
			 struct spool **body_r)
{
	struct hdrlist *headers = hdrlist_new(0, 0);
	struct spool *body = spool_new(a->threshold ? a->threshold
						    : 1024 * 1024, a->dir, 0);
	if (headers == NULL || body == NULL)
		die("out of memory");
	for (size_t i = 0; i < n; i++)
		if (hdrlist_append(headers, h[i].name, h[i].value) != 0)
			die("out of memory");
	if (msgfile_read_body(in, body) != 0)
		die("cannot store the body");
	*headers_r = headers;
	*body_r = body;
}

/* Signs headers + body read from in; returns the finished signing. */
static struct smime_sign *sign_first(const struct args *a,
				     struct smime_signer **signer_r,
				     struct header *h, size_t n, FILE *in,
				     const struct smime_hp *hp)
{
	struct smime_sign_options so = { a->opaque ? SMIME_SIGN_OPAQUE :
		SMIME_SIGN_CLEAR, SMIME_DIGEST_SHA256, a->threshold, a->dir };
	STACK_OF(X509) *chain = sk_X509_new_null();
	struct smx_error err;
	if (a->chain != NULL)
		sk_X509_push(chain, read_pem(a->chain, false));
	EVP_PKEY *key = read_pem(a->sign_key, true);
	X509 *cert = read_pem(a->sign_cert, false);
	check(smime_signer_new(key, cert, chain, NULL, &so, signer_r, &err),
	      &err);
	EVP_PKEY_free(key);
	X509_free(cert);
	sk_X509_pop_free(chain, X509_free);
	struct smime_sign *sign = smime_sign_begin(*signer_r);
	if (hp != NULL)
		smime_sign_protect(sign, hp);
	struct hdrlist *headers = NULL;
	struct spool *body = NULL;
	read_message(a, h, n, in, &headers, &body);
	check(smime_sign_eom(sign, headers, body, &err), &err);
	hdrlist_free(&headers);
	spool_free(&body);
	return sign;
}

static void encrypt_plain(const struct args *a, struct smime_encrypt *enc,
			  struct header *h, size_t n, FILE *in)
{
	struct smx_error err = { "" };
	struct hdrlist *headers = NULL;
	struct spool *body = NULL;
	read_message(a, h, n, in, &headers, &body);
	check(smime_encrypt_eom(enc, headers, body, &err), &err);
	hdrlist_free(&headers);
	spool_free(&body);
}

static void report(struct smime_encrypt *enc, long grown_mb)
{
	fprintf(stderr, "encrypted: content=%s km=",
		smime_enc_content_name(smime_encrypt_content(enc)));
	for (size_t i = 0; i < smime_encrypt_recipient_count(enc); i++)
		fprintf(stderr, "%s%s", i ? "," : "",
			smime_key_mgmt_name(smime_encrypt_key_mgmt(enc, i)));
	fprintf(stderr, " rss_growth=%ldMiB\n", grown_mb);
}

int main(int argc, char **argv)
{
	struct args a;
	struct smx_error err;
	struct smime_signer *signer = NULL;
	struct smime_sign *sign = NULL;
	struct smime_encrypt *enc = NULL;
	if (parse_args(argc, argv, &a) != 0)
		die("usage: [--sign-key K --sign-cert C [--chain P] [--opaque]]"
		    " [--header-protection]"
		    " {[--caps DER] [--legacy] --rcpt CERT}... [--threshold N]"
		    " [--dir D] [--max-rss-mb N] IN OUT");
	struct smime_encrypt_options eo = { a.threshold, a.dir };
	check(smime_encrypt_new(a.rcpts, a.n_rcpts, &eo, &enc, &err), &err);
	FILE *in = fopen(a.in, "r");
	if (in == NULL)
		die(a.in);
	size_t n;
	struct header *h = read_headers(in, &n);
	long rss_before = peak_rss_kb();
	struct smime_hp *hp = a.header_protection
		? smime_hp_new(SMIME_HP_CIPHER) : NULL;
	for (size_t i = 0; hp != NULL && i < n; i++)
		if (smime_hp_header(hp, h[i].name, h[i].value) != SMX_OK)
			die("out of memory");
	if (hp != NULL && a.sign_key == NULL)
		smime_encrypt_protect(enc, hp);
	if (a.sign_key != NULL) {
		sign = sign_first(&a, &signer, h, n, in, hp);
		check(smime_encrypt_signed(enc, sign, &err), &err);
		smime_sign_free(&sign);
	} else {
		encrypt_plain(&a, enc, h, n, in);
	}
	fclose(in);
	long grown_mb = (peak_rss_kb() - rss_before) / 1024;
	write_result(enc, h, n, a.out);
	report(enc, grown_mb);
	smime_encrypt_free(&enc);
	smime_hp_free(&hp);
	smime_signer_free(&signer);
	for (size_t i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
	for (size_t i = 0; i < a.n_rcpts; i++)
		X509_free(a.rcpts[i].cert);
	if (a.max_rss_mb > 0 && grown_mb > a.max_rss_mb) {
		fprintf(stderr, "peak memory grew by %ld MiB (limit %ld)\n",
			grown_mb, a.max_rss_mb);
		return 3;
	}
	return 0;
}
