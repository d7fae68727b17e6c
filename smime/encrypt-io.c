/* SPDX-License-Identifier: BSD-2-Clause */
/* The two BIOs of encryption: a source reading the entity to encrypt
 * (a prefix, then a spool or a finished entity) and a sink writing
 * base64 in 76-character CRLF lines into the result spool. OpenSSL's own
 * base64 filter writes 64-character lines with bare LF, and may be
 * flushed in the middle of a stream; this one is flushed only by
 * enc_b64_finish(). */
#include "encrypt-private.h"
#include "smime-private.h"

#include <pthread.h>
#include <string.h>

#define LINE_IN 57		/* bytes per base64 line of 76 */
#define LINES_PER_WRITE 64

static BIO_METHOD *source_method;
static BIO_METHOD *b64_method;
static pthread_once_t methods_once = PTHREAD_ONCE_INIT;

/* --- source ---------------------------------------------------------------- */

static int source_read(BIO *bio, char *buf, int len)
{
	struct enc_source *src = BIO_get_data(bio);
	if (len <= 0)
		return 0;
	if (src->prefix_pos < src->prefix_len) {
		size_t n = src->prefix_len - src->prefix_pos;
		if (n > (size_t)len)
			n = (size_t)len;
		memcpy(buf, src->prefix + src->prefix_pos, n);
		src->prefix_pos += n;
		return (int)n;
	}
	ssize_t n = src->spool != NULL ?
		spool_read(src->spool, buf, (size_t)len) :
		smime_entity_read(src->entity, buf, (size_t)len);
	return n < 0 ? -1 : (int)n;
}

/* --- base64 sink ----------------------------------------------------------- */

/* Encodes whole lines of in (n_lines * 57 bytes, or one shorter last
 * line when n_lines is 1 and len < 57) into the spool. */
static int put_lines(struct enc_b64 *b, const unsigned char *in, size_t len)
{
	unsigned char out[LINES_PER_WRITE * 78 + 4];
	size_t o = 0;
	while (len > 0) {
		size_t take = len < LINE_IN ? len : LINE_IN;
		o += (size_t)EVP_EncodeBlock(out + o, in, (int)take);
		out[o++] = '\r';
		out[o++] = '\n';
		in += take;
		len -= take;
		if (o + 78 > sizeof(out) || len == 0) {
			if (spool_append(b->out, out, o) != 0) {
				b->failed = 1;
				return -1;
			}
			o = 0;
		}
	}
	return 0;
}

static int b64_write(BIO *bio, const char *data, int len)
{
	struct enc_b64 *b = BIO_get_data(bio);
	const unsigned char *p = (const unsigned char *)data;
	size_t n = len > 0 ? (size_t)len : 0;
	if (b->n_carry > 0) {
		size_t take = LINE_IN - b->n_carry;
		if (take > n)
			take = n;
		memcpy(b->carry + b->n_carry, p, take);
		b->n_carry += take;
		p += take;
		n -= take;
		if (b->n_carry < LINE_IN)
			return len;
		if (put_lines(b, b->carry, LINE_IN) != 0)
			return -1;
		b->n_carry = 0;
	}
	size_t whole = n - n % LINE_IN;
	if (whole > 0 && put_lines(b, p, whole) != 0)
		return -1;
	memcpy(b->carry, p + whole, n - whole);
	b->n_carry = n - whole;
	return len;
}

int enc_b64_finish(struct enc_b64 *b)
{
	if (b->n_carry > 0 && put_lines(b, b->carry, b->n_carry) != 0)
		return -1;
	b->n_carry = 0;
	return b->failed ? -1 : 0;
}

/* --- methods --------------------------------------------------------------- */

static long plain_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
	(void)bio;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static void make_methods(void)
{
	source_method = BIO_meth_new(BIO_get_new_index() |
				     BIO_TYPE_SOURCE_SINK,
				     "smime encrypt source");
	if (source_method != NULL) {
		BIO_meth_set_read(source_method, source_read);
		BIO_meth_set_ctrl(source_method, plain_ctrl);
	}
	b64_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
				  "smime base64 76");
	if (b64_method != NULL) {
		BIO_meth_set_write(b64_method, b64_write);
		BIO_meth_set_ctrl(b64_method, plain_ctrl);
	}
}

static BIO *new_bio(BIO_METHOD **method, void *data)
{
	pthread_once(&methods_once, make_methods);
	BIO *bio = *method != NULL ? BIO_new(*method) : NULL;
	if (bio == NULL)
		return NULL;
	BIO_set_data(bio, data);
	BIO_set_init(bio, 1);
	return bio;
}

BIO *enc_source_bio(struct enc_source *src)
{
	src->prefix_pos = 0;
	if (src->spool != NULL ? spool_rewind(src->spool) != 0 :
	    smime_entity_rewind(src->entity) != 0)
		return NULL;
	return new_bio(&source_method, src);
}

BIO *enc_b64_bio(struct enc_b64 *b64)
{
	return new_bio(&b64_method, b64);
}
