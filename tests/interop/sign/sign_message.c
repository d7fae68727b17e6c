/* SPDX-License-Identifier: BSD-2-Clause */
/* smx-sign-message: signs one RFC 5322 message the way the milter does,
 * for the interop tests. Reads the message from a file, feeds its headers
 * and body to smime_sign_*, applies the header edits to the header list
 * and writes headers and new body.
 *
 * smx-sign-message --key K.pem --cert C.pem [--chain CHAIN.pem]
 *     [--enc-cert E.pem] [--opaque] [--digest sha256|sha384|sha512]
 *     [--threshold BYTES] [--dir DIR] [--max-rss-mb N] IN OUT
 *
 * Exit 0 when signed; 2 and a message on stderr otherwise (the message
 * starts with the status name). --max-rss-mb fails the run (exit 3) when
 * the process's peak resident size grew by more than N MiB while
 * signing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#include <openssl/pem.h>

#include <smx/msgfile.h>
#include <smx/smime.h>
#include <smx/spool.h>

struct header {
	char *name, *value;	/* value as a milter sees it: leading space */
	bool deleted;
};

struct args {
	const char *key, *cert, *chain, *enc_cert, *in, *out, *dir;
	struct smime_sign_options opts;
	long max_rss_mb;
};

static void die(const char *what)
{
	fprintf(stderr, "smx-sign-message: %s\n", what);
	exit(2);
}

static int parse_args(int argc, char **argv, struct args *a)
{
	memset(a, 0, sizeof(*a));
	a->dir = "/tmp";
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(o, "--opaque") == 0) {
			a->opts.format = SMIME_SIGN_OPAQUE;
			continue;
		}
		if (o[0] != '-' || o[1] != '-') {
			if (a->in == NULL)
				a->in = o;
			else
				a->out = o;
			continue;
		}
		if (v == NULL)
			return -1;
		i++;
		if (strcmp(o, "--key") == 0) a->key = v;
		else if (strcmp(o, "--cert") == 0) a->cert = v;
		else if (strcmp(o, "--chain") == 0) a->chain = v;
		else if (strcmp(o, "--enc-cert") == 0) a->enc_cert = v;
		else if (strcmp(o, "--dir") == 0) a->dir = v;
		else if (strcmp(o, "--threshold") == 0)
			a->opts.mem_threshold = strtoul(v, NULL, 10);
		else if (strcmp(o, "--max-rss-mb") == 0)
			a->max_rss_mb = strtol(v, NULL, 10);
		else if (strcmp(o, "--digest") == 0)
			a->opts.digest = strcmp(v, "sha512") == 0 ?
				SMIME_DIGEST_SHA512 : strcmp(v, "sha384") == 0 ?
				SMIME_DIGEST_SHA384 : SMIME_DIGEST_SHA256;
		else
			return -1;
	}
	a->opts.spool_dir = a->dir;
	return a->key && a->cert && a->in && a->out ? 0 : -1;
}

static X509 *read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		die(path);
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		die(path);
	return x;
}

static STACK_OF(X509) *read_chain(const char *path)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	if (path == NULL)
		return sk;
	FILE *f = fopen(path, "r");
	if (f == NULL)
		die(path);
	X509 *x;
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
		sk_X509_push(sk, x);
	fclose(f);
	return sk;
}

static EVP_PKEY *read_key(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		die(path);
	EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL)
		die(path);
	return k;
}

/* Reads the header block (unfolded into name/value, line ends kept in
 * folded values as LF like Postfix passes them) and leaves f at the body. */
static struct header *read_headers(FILE *f, size_t *n_r)
{
	struct header *h = NULL;
	size_t n = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) > 0) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			break;
		if ((line[0] == ' ' || line[0] == '\t') && n > 0) {
			struct header *p = &h[n - 1];
			size_t old = strlen(p->value);
			p->value = realloc(p->value, old + (size_t)len + 2);
			p->value[old] = '\n';
			memcpy(p->value + old + 1, line, (size_t)len + 1);
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

static void write_result(struct smime_sign *sign, struct header *h,
			 size_t n, const char *path)
{
	FILE *out = fopen(path, "w");
	if (out == NULL)
		die(path);
	for (size_t i = 0; i < smime_sign_edit_count(sign); i++) {
		const struct smime_header_edit *ed = smime_sign_edit(sign, i);
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
	for (size_t i = 0; i < smime_sign_edit_count(sign); i++) {
		const struct smime_header_edit *ed = smime_sign_edit(sign, i);
		if (ed->op == SMIME_EDIT_ADD)
			fprintf(out, "%s:%s\r\n", ed->name, ed->value);
	}
	fputs("\r\n", out);
	struct spool *body = smime_sign_result_body(sign);
	char buf[65536];
	ssize_t r;
	spool_rewind(body);
	while ((r = spool_read(body, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)r, out);
	if (fclose(out) != 0)
		die(path);
}

/* The message for smime_sign_eom: the headers read, and the rest of in
 * as the body (in a file past the threshold). */
static void read_message(const struct args *a, const struct header *h,
			 size_t n, FILE *in, struct hdrlist **headers_r,
			 struct spool **body_r)
{
	struct hdrlist *headers = hdrlist_new(0, 0);
	struct spool *body = spool_new(a->opts.mem_threshold
				       ? a->opts.mem_threshold : 1024 * 1024,
				       a->dir, 0);
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

int main(int argc, char **argv)
{
	struct args a;
	struct smx_error err;
	struct smime_signer *signer = NULL;
	if (parse_args(argc, argv, &a) != 0)
		die("usage: --key K --cert C [--chain P] [--enc-cert E] "
		    "[--opaque] [--digest D] [--threshold N] [--dir D] IN OUT");
	EVP_PKEY *key = read_key(a.key);
	X509 *cert = read_cert(a.cert);
	X509 *enc = a.enc_cert ? read_cert(a.enc_cert) : NULL;
	STACK_OF(X509) *chain = read_chain(a.chain);
	enum smx_status st = smime_signer_new(key, cert, chain, enc, &a.opts,
					      &signer, &err);
	if (st != SMX_OK) {
		fprintf(stderr, "%s: %s\n", smx_status_name(st), err.text);
		return 2;
	}
	FILE *in = fopen(a.in, "r");
	if (in == NULL)
		die(a.in);
	size_t n;
	struct header *h = read_headers(in, &n);
	long rss_before = peak_rss_kb();
	struct smime_sign *sign = smime_sign_begin(signer);
	struct hdrlist *headers = NULL;
	struct spool *body = NULL;
	read_message(&a, h, n, in, &headers, &body);
	fclose(in);
	st = smime_sign_eom(sign, headers, body, &err);
	hdrlist_free(&headers);
	spool_free(&body);
	if (st != SMX_OK) {
		fprintf(stderr, "%s: %s\n", smx_status_name(st), err.text);
		return 2;
	}
	long grown_mb = (peak_rss_kb() - rss_before) / 1024;
	write_result(sign, h, n, a.out);
	fprintf(stderr, "signed: micalg=%s flags=0x%x rss_growth=%ldMiB\n",
		smime_signer_micalg(signer), smime_sign_entity_flags(sign),
		grown_mb);
	smime_sign_free(&sign);
	smime_signer_free(&signer);
	for (size_t i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
	sk_X509_pop_free(chain, X509_free);
	X509_free(enc);
	X509_free(cert);
	EVP_PKEY_free(key);
	if (a.max_rss_mb > 0 && grown_mb > a.max_rss_mb) {
		fprintf(stderr, "peak memory grew by %ld MiB (limit %ld)\n",
			grown_mb, a.max_rss_mb);
		return 3;
	}
	return 0;
}
