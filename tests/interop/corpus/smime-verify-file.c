/* SPDX-License-Identifier: BSD-2-Clause */
/* Test driver: verifies one message file (RFC 5322, LF or CRLF line ends;
 * a leading mbox "From " line is skipped) the way the milter would, and
 * prints the Authentication-Results value, every signature and every
 * harvest decision, one per line:
 *
 *   smime-verify-file [-a ANCHOR]... [-c CAFILE|-C] [-t TIME] [-i ID]
 *                     [-u] [-o] [-d DMARC-ID] FILE
 *
 * -a: a trust anchor (PEM with any number of certificates, or one DER);
 * -c: the system bundle to use (default: the Debian bundle); -C: none;
 * -t: verification time (seconds since the epoch); -i: our authserv-id
 * (default mx.test); -u: harvest_untrusted; -o: outbound message;
 * -d: require dmarc=pass from this authserv-id. Exit 0 unless the file
 * cannot be read or the API fails (2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <smx/msgfile.h>
#include <smx/smime.h>

#define MAX_ANCHORS 16

static int add_anchor_file(struct smime_verifier *v, const char *path)
{
	BIO *in = BIO_new_file(path, "rb");
	X509 *x;
	int n = 0;
	struct smx_error err;
	if (in == NULL)
		return -1;
	while ((x = PEM_read_bio_X509(in, NULL, NULL, NULL)) != NULL) {
		unsigned char *der = NULL;
		int len = i2d_X509(x, &der);
		if (len > 0 && smime_verifier_add_anchor(v, der, (size_t)len,
							 &err) == SMX_OK)
			n++;
		OPENSSL_free(der);
		X509_free(x);
	}
	if (n == 0) {
		BIO_reset(in);
		x = d2i_X509_bio(in, NULL);
		unsigned char *der = NULL;
		int len = x ? i2d_X509(x, &der) : 0;
		if (len > 0 && smime_verifier_add_anchor(v, der, (size_t)len,
							 &err) == SMX_OK)
			n++;
		OPENSSL_free(der);
		X509_free(x);
	}
	BIO_free(in);
	return n > 0 ? 0 : -1;
}

static char *read_file(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	if (f == NULL)
		return NULL;
	do {
		if (len + 65536 > cap) {
			cap = cap * 2 + 65536;
			buf = realloc(buf, cap + 1);
			if (buf == NULL)
				exit(2);
		}
		n = fread(buf + len, 1, 65536, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	*len_r = len;
	return buf;
}

static void print_results(const struct smime_verify *vfy)
{
	printf("AR:%s\n", smime_verify_ar_value(vfy));
	for (size_t i = 0; i < smime_verify_edit_count(vfy); i++) {
		const struct smime_header_edit *e = smime_verify_edit(vfy, i);
		printf("EDIT %s %s %u\n", e->op == SMIME_EDIT_DELETE ? "delete" :
		       e->op == SMIME_EDIT_INSERT ? "insert" : "add",
		       e->name, e->index);
	}
	for (size_t i = 0; i < smime_verify_signature_count(vfy); i++) {
		const struct smime_signature *s = smime_verify_signature(vfy, i);
		printf("SIG %zu part=%s result=%s reason=%d opaque=%d valid=%d "
		       "trusted=%d from_match=%d id=%s comment=[%s] "
		       "harvest=[%s]\n", i, s->part,
		       smime_result_name(s->result), (int)s->reason, s->opaque,
		       s->signature_valid, s->chain_trusted, s->from_match,
		       s->identifier ? s->identifier : "-",
		       s->comment ? s->comment : "",
		       s->harvest_comment ? s->harvest_comment : "yes");
	}
	for (size_t i = 0; i < smime_verify_harvest_count(vfy); i++) {
		const struct smime_harvest_cert *h = smime_verify_harvest(vfy, i);
		printf("HARVEST %s email=%s trusted=%d preferred=%d caps=%zu "
		       "sig=%zu\n", h->fingerprint, h->email, h->trusted,
		       h->enc_preference, h->caps_len, h->signature);
	}
	printf("RESULT %s\n", smime_result_name(smime_verify_result(vfy)));
}

int main(int argc, char **argv)
{
	struct smime_verify_options o = { .authserv_id = "mx.test" };
	const char *anchors[MAX_ANCHORS], *dmarc[1];
	size_t n_anchors = 0;
	struct smime_verify_msginfo info = { "sender@example.net", false };
	int c;
	while ((c = getopt(argc, argv, "a:c:Ct:i:uod:")) != -1) {
		switch (c) {
		case 'a': if (n_anchors < MAX_ANCHORS) anchors[n_anchors++] = optarg; break;
		case 'c': o.ca_file = optarg; break;
		case 'C': o.ca_file = ""; break;
		case 't': o.verify_time = (time_t)strtoll(optarg, NULL, 10); break;
		case 'i': o.authserv_id = optarg; break;
		case 'u': o.harvest_untrusted = true; break;
		case 'o': info.outbound = true; break;
		case 'd': dmarc[0] = optarg; o.dmarc_authserv_ids = dmarc;
			  o.n_dmarc_authserv_ids = 1;
			  o.harvest_require_dmarc = true; break;
		default: return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: smime-verify-file [options] FILE\n");
		return 2;
	}
	struct smime_verifier *v = NULL;
	struct smx_error err = { "" };
	if (smime_verifier_new(&o, &v, &err) != SMX_OK) {
		fprintf(stderr, "verifier: %s\n", err.text);
		return 2;
	}
	for (size_t i = 0; i < n_anchors; i++)
		if (add_anchor_file(v, anchors[i]) != 0) {
			fprintf(stderr, "%s: no certificate\n", anchors[i]);
			return 2;
		}
	size_t len = 0;
	char *msg = read_file(argv[optind], &len);
	if (msg == NULL) {
		perror(argv[optind]);
		return 2;
	}
	struct smime_verify *vfy = smime_verify_begin(v);
	struct hdrlist *headers = hdrlist_new(HDRLIST_MAX_COUNT,
					      HDRLIST_MAX_BYTES);
	struct spool *body = spool_new(1024 * 1024, NULL, 0);
	int rc = 0;
	if (vfy == NULL || headers == NULL || body == NULL ||
	    msgfile_split(msg, len, headers, body) != 0) {
		fprintf(stderr, "%s: cannot store the message\n",
			argv[optind]);
		rc = 2;
	} else if (smime_verify_eom(vfy, headers, body, &info, &err) !=
		   SMX_OK) {
		fprintf(stderr, "verify: %s\n", err.text);
		rc = 2;
	} else {
		print_results(vfy);
	}
	smime_verify_free(&vfy);
	smime_verifier_free(&v);
	hdrlist_free(&headers);
	spool_free(&body);
	free(msg);
	return rc;
}
