/* SPDX-License-Identifier: BSD-2-Clause */
/* The request check: the only code of the key process that reads bytes
 * sent by the mail-handling process (which may be compromised). */
#include <smx/keyproc.h>

#include <stdio.h>
#include <string.h>

#include <openssl/rsa.h>

static const struct {
	const char *name;
	size_t size;
} digests[] = {
	{ "sha1", 20 }, { "sha224", 28 }, { "sha256", 32 },
	{ "sha384", 48 }, { "sha512", 64 },
};

static size_t md_size(const char *name)
{
	for (size_t i = 0; i < sizeof(digests) / sizeof(digests[0]); i++)
		if (strcmp(name, digests[i].name) == 0)
			return digests[i].size;
	return 0;
}

bool keyproc_md_known(const char *name)
{
	return name[0] == '\0' || md_size(name) != 0;
}

static bool name_ok(const char *name)
{
	return memchr(name, '\0', KEYPROC_NAME_LEN) != NULL &&
	       keyproc_md_known(name);
}

static bool fingerprint_ok(const char *fp)
{
	for (size_t i = 0; i < 64; i++)
		if (!((fp[i] >= '0' && fp[i] <= '9') ||
		      (fp[i] >= 'a' && fp[i] <= 'f')))
			return false;
	return fp[64] == '\0';
}

static bool sign_ok(const struct keyproc_request *rq, char *why, size_t size)
{
	if (rq->padding != 0 && rq->padding != RSA_PKCS1_PADDING) {
		snprintf(why, size, "signature padding %d", (int)rq->padding);
		return false;
	}
	if (rq->md[0] == '\0' || rq->in_len != md_size(rq->md)) {
		snprintf(why, size, "digest of %u bytes for \"%s\"",
			 (unsigned)rq->in_len, rq->md);
		return false;
	}
	return true;
}

static bool decrypt_ok(const struct keyproc_request *rq, char *why,
		       size_t size)
{
	if (rq->padding != RSA_PKCS1_PADDING &&
	    rq->padding != RSA_PKCS1_OAEP_PADDING) {
		snprintf(why, size, "decryption padding %d", (int)rq->padding);
		return false;
	}
	if (rq->in_len == 0) {
		snprintf(why, size, "nothing to decrypt");
		return false;
	}
	return true;
}

static bool derive_ok(const struct keyproc_request *rq, char *why,
		      size_t size)
{
	if (rq->padding != 0 && rq->padding != 1) {
		snprintf(why, size, "cofactor mode %d", (int)rq->padding);
		return false;
	}
	if (rq->md[0] == '\0' || rq->out_len < 16 || rq->out_len > 64) {
		snprintf(why, size, "key derivation of %u bytes with \"%s\"",
			 (unsigned)rq->out_len, rq->md);
		return false;
	}
	if (rq->in_len == 0 || rq->in_len > KEYPROC_MAX_POINT) {
		snprintf(why, size, "public point of %u bytes",
			 (unsigned)rq->in_len);
		return false;
	}
	return true;
}

/* An address: printable ASCII with one '@' not at either end. */
static bool enroll_ok(const struct keyproc_request *rq, char *why, size_t size)
{
	size_t ats = 0, at = 0;
	for (size_t i = 0; i < rq->in_len; i++) {
		if (rq->in[i] <= ' ' || rq->in[i] >= 0x7f) {
			snprintf(why, size, "address with a byte 0x%02x",
				 rq->in[i]);
			return false;
		}
		if (rq->in[i] == '@') {
			ats++;
			at = i;
		}
	}
	if (rq->in_len == 0 || rq->in_len > KEYPROC_MAX_ADDRESS || ats != 1 ||
	    at == 0 || at + 1 == rq->in_len) {
		snprintf(why, size, "not an address");
		return false;
	}
	return true;
}

bool keyproc_request_check(const void *buf, size_t len,
			   struct keyproc_request *rq, char *why, size_t size)
{
	if (len != sizeof(*rq)) {
		snprintf(why, size, "request of %zu bytes", len);
		return false;
	}
	memcpy(rq, buf, sizeof(*rq));
	if (rq->magic != KEYPROC_MAGIC) {
		snprintf(why, size, "bad magic");
		return false;
	}
	if (rq->op != KEYPROC_OP_ENROLL && !fingerprint_ok(rq->fingerprint)) {
		snprintf(why, size, "malformed fingerprint");
		return false;
	}
	if (!name_ok(rq->md) || !name_ok(rq->mgf1)) {
		snprintf(why, size, "unknown digest name");
		return false;
	}
	if (rq->in_len > KEYPROC_MAX_IN || rq->label_len > KEYPROC_MAX_LABEL) {
		snprintf(why, size, "length out of range");
		return false;
	}
	switch (rq->op) {
	case KEYPROC_OP_SIGN:
		return sign_ok(rq, why, size);
	case KEYPROC_OP_DECRYPT:
		return decrypt_ok(rq, why, size);
	case KEYPROC_OP_ENROLL:
		return enroll_ok(rq, why, size);
	case KEYPROC_OP_DERIVE:
		return derive_ok(rq, why, size);
	default:
		snprintf(why, size, "unknown operation %u", (unsigned)rq->op);
		return false;
	}
}
