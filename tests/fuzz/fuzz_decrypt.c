/* SPDX-License-Identifier: BSD-2-Clause */
/* Fuzz target: inbound decryption (smx/smime-decrypt.h) as the milter
 * drives it: the outer headers, the body (base64 or binary DER) parsed
 * as CMS EnvelopedData or AuthEnvelopedData, the RecipientInfo matching
 * against the gateway's keys, decryption, and the inner entity split
 * into Content-* headers and a CRLF body.
 *
 * Two kinds of input:
 *  - a whole message (headers, empty line, body): what a stranger sends;
 *    the seeds are encrypted to the two identities below;
 *  - "\0", an options byte, then a MIME entity: the harness encrypts the
 *    entity to one of its own identities first, so the fuzzer reaches
 *    the parsing of the decrypted content, which anyone holding our
 *    public certificate controls. Options: bit 0 AES-256-GCM
 *    (AuthEnvelopedData) instead of AES-256-CBC, bit 1 binary body
 *    instead of base64, bit 2 the EC identity instead of the RSA one.
 *
 * The identities (RSA 2048 and EC P-256, certificate and key in one PEM
 * file each) are made by make-seeds-decrypt.sh in FUZZ_DECRYPT_IDS.
 *
 * Invariants: statuses are the documented ones; a message the harness
 * encrypted itself always parses and is always for the identity used,
 * and its decryption never fails as such; after a successful run no
 * outer Content-* header survives, every added header is a Content-*
 * one or the note, and the body is the plaintext's body with every bare
 * LF made CRLF. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <smx/smime-decrypt.h>
#include <smx/spool.h>

#include "fuzz_util.h"

#ifndef FUZZ_DECRYPT_IDS
#error "FUZZ_DECRYPT_IDS must name the directory of the identities"
#endif

#define MAX_BODY (1024 * 1024)
#define MEM_THRESHOLD 4096	/* small: bigger plaintexts go to a file */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct identity {
	X509 *cert;
	EVP_PKEY *key;
};

static struct identity ids[2];	/* RSA, EC */

static void load_identity(struct identity *id, const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", FUZZ_DECRYPT_IDS, name);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		perror(path);
		abort();
	}
	id->cert = PEM_read_X509(f, NULL, NULL, NULL);
	rewind(f);
	id->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (id->cert == NULL || id->key == NULL) {
		fprintf(stderr, "%s: no certificate and key\n", path);
		abort();
	}
}

static void load_identities(void)
{
	if (ids[0].cert != NULL)
		return;
	load_identity(&ids[0], "rsa.pem");
	load_identity(&ids[1], "ec.pem");
}

/* --- a message from the fuzz input --------------------------------------- */

struct message {
	struct smime_decrypt *dec;
	struct hdrlist *headers;	/* bounded as the milter's */
	struct spool *body;
	const char *plain;	/* the entity encrypted by the harness, or NULL */
	size_t plain_len;
	const struct identity *own;	/* the identity it was encrypted to */
};

static void give_header(void *ctx, const char *name, const char *value)
{
	struct message *m = ctx;
	if (hdrlist_append(m->headers, name, value) < 0)
		abort();	/* only memory can fail, and strdup did not */
}

/* Encrypts the entity to the identity the options choose and gives the
 * result as a message. OpenSSL refusing to encrypt means the harness is
 * broken: abort. */
static void encrypt_entity(struct message *m, unsigned options)
{
	m->own = &ids[(options & 4) ? 1 : 0];
	const EVP_CIPHER *cipher = (options & 1) ? EVP_aes_256_gcm()
						 : EVP_aes_256_cbc();
	STACK_OF(X509) *rcpts = sk_X509_new_null();
	BIO *in = BIO_new_mem_buf(m->plain, (int)m->plain_len);
	if (rcpts == NULL || in == NULL || !sk_X509_push(rcpts, m->own->cert))
		abort();
	CMS_ContentInfo *cms = CMS_encrypt(rcpts, in, cipher, CMS_BINARY);
	unsigned char *der = NULL;
	int len = cms ? i2d_CMS_ContentInfo(cms, &der) : -1;
	if (len <= 0)
		abort();
	give_header(m, "Content-Type", " application/pkcs7-mime; "
		    "smime-type=enveloped-data; name=\"smime.p7m\"");
	if (options & 2) {
		if (spool_append(m->body, der, (size_t)len) != 0)
			abort();
	} else {
		give_header(m, "Content-Transfer-Encoding", " base64");
		unsigned char line[80];
		for (int off = 0; off < len; off += 57) {
			int n = EVP_EncodeBlock(line, der + off,
						len - off < 57 ? len - off : 57);
			line[n++] = '\r';
			line[n++] = '\n';
			if (spool_append(m->body, line, (size_t)n) != 0)
				abort();
		}
	}
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	sk_X509_free(rcpts);
}

/* --- checks after a successful run ------------------------------------ */

static bool is_content(const char *name)
{
	return strncasecmp(name, "Content-", 8) == 0;
}

static void check_headers(const struct smime_decrypt *dec)
{
	size_t n = smime_decrypt_edit_count(dec);
	bool note = false;
	for (size_t i = 0; i < n; i++) {
		const struct smime_header_edit *e = smime_decrypt_edit(dec, i);
		if (e == NULL || e->name == NULL)
			abort();
		if (e->op == SMIME_EDIT_DELETE && !is_content(e->name))
			abort();	/* only outer Content-* go */
		if (e->op == SMIME_EDIT_ADD) {
			if (e->value == NULL)
				abort();
			if (strcmp(e->name, SMIME_DECRYPTED_HEADER) == 0)
				note = true;
			else if (!is_content(e->name))
				abort();	/* inner non-Content-* kept */
		}
	}
	if (!note)
		abort();
	const struct hdrlist *result = smime_decrypt_result_headers(dec);
	if (result == NULL)
		abort();
	for (size_t i = 0; i < hdrlist_count(result); i++)
		if (hdrlist_name(result, i) == NULL ||
		    hdrlist_value(result, i) == NULL)
			abort();
}

/* data with every CRLF made LF: equal for the input and the output of a
 * correct "bare LF to CRLF" conversion. */
static size_t squash_crlf(const char *in, size_t n, char *out)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (in[i] == '\r' && i + 1 < n && in[i + 1] == '\n')
			continue;
		out[k++] = in[i];
	}
	return k;
}

/* Where the body of the entity starts: after its first empty line. */
static size_t entity_body_offset(const char *p, size_t n)
{
	if (n >= 1 && p[0] == '\n')
		return 1;
	if (n >= 2 && p[0] == '\r' && p[1] == '\n')
		return 2;
	for (size_t i = 0; i + 1 < n; i++) {
		if (p[i] != '\n')
			continue;
		if (p[i + 1] == '\n')
			return i + 2;
		if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')
			return i + 3;
	}
	return n;
}

static void check_body(struct smime_decrypt *dec, const struct message *m)
{
	struct spool *body = smime_decrypt_result_body(dec);
	if (body == NULL || spool_rewind(body) != 0)
		abort();
	size_t size = spool_size(body);
	char *got = malloc(size + 1);
	if (got == NULL)
		return;
	size_t have = 0;
	ssize_t r;
	while (have < size && (r = spool_read(body, got + have, size - have)) > 0)
		have += (size_t)r;
	if (have != size)
		abort();
	for (size_t i = 0; i < size; i++)
		if (got[i] == '\n' && (i == 0 || got[i - 1] != '\r'))
			abort();	/* a bare LF left */
	if (m->plain != NULL) {
		size_t off = entity_body_offset(m->plain, m->plain_len);
		size_t want_len = m->plain_len - off;
		char *want = malloc(want_len + 1);
		if (want != NULL) {
			size_t a = squash_crlf(m->plain + off, want_len, want);
			size_t b = squash_crlf(got, size, got);
			if (a != b || memcmp(want, got, a) != 0)
				abort();	/* the body changed */
		}
		free(want);
	}
	free(got);
}

/* --- the run --------------------------------------------------------------- */

static const struct identity *recipient_of(const struct smime_decrypt *dec)
{
	for (size_t i = 0; i < 2; i++)
		if (smime_decrypt_is_for(dec, ids[i].cert))
			return &ids[i];
	return NULL;
}

static void decrypt_message(struct message *m)
{
	struct smx_error err = { { 0 } };
	enum smx_status st = smime_decrypt_parse(m->dec, m->headers, m->body,
						 &err);
	if (st != SMX_OK && st != SMX_NOTFOUND && st != SMX_PERMFAIL &&
	    st != SMX_TEMPFAIL)
		abort();
	if (m->plain != NULL && st != SMX_OK)
		abort();	/* our own encryption must parse */
	if (st != SMX_OK)
		return;
	const char *kind = smime_decrypt_kind(m->dec);
	if (kind == NULL || (strcmp(kind, "enveloped-data") != 0 &&
			     strcmp(kind, "authEnveloped-data") != 0))
		abort();
	(void)smime_decrypt_recipient_info_count(m->dec);
	const struct identity *use = recipient_of(m->dec);
	if (m->plain != NULL && use != m->own)
		abort();	/* it is for the identity we used */
	if (use == NULL)
		return;		/* the milter stops here too */
	st = smime_decrypt_run(m->dec, use->cert, use->key,
			       "fuzz; decrypted", &err);
	if (st == SMX_OK) {
		check_headers(m->dec);
		check_body(m->dec, m);
	} else if (st != SMX_PERMFAIL && st != SMX_TEMPFAIL) {
		abort();
	} else if (m->plain != NULL && smime_decrypt_refusal(m->dec) != NULL) {
		abort();	/* our own encryption did not decrypt */
	}
	if (st != SMX_OK && smime_decrypt_result_body(m->dec) != NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	load_identities();
	struct smime_decrypt_options o = {
		.max_bytes = MAX_BODY, .mem_threshold = MEM_THRESHOLD,
		.spool_dir = fuzz_scratch_dir(),
	};
	struct message m = { 0 };
	if (smime_decrypt_new(&o, &m.dec) != SMX_OK)
		return 0;
	m.body = spool_new(MEM_THRESHOLD, o.spool_dir, 0);
	m.headers = hdrlist_new(HDRLIST_MAX_COUNT, HDRLIST_MAX_BYTES);
	if (m.body == NULL || m.headers == NULL) {
		smime_decrypt_free(&m.dec);
		spool_free(&m.body);
		hdrlist_free(&m.headers);
		return 0;
	}
	if (size >= 2 && data[0] == '\0') {
		m.plain = (const char *)data + 2;
		m.plain_len = size - 2;
		encrypt_entity(&m, data[1]);
	} else {
		size_t body = fuzz_split_headers((const char *)data, size,
						 give_header, &m);
		if (spool_append(m.body, data + body, size - body) != 0)
			abort();
	}
	decrypt_message(&m);
	smime_decrypt_free(&m.dec);
	spool_free(&m.body);
	hdrlist_free(&m.headers);
	ERR_clear_error();
	return 0;
}
