/* SPDX-License-Identifier: BSD-2-Clause */
/* Small helpers: the 7-bit scanner, error text, and the BIO adapters that
 * let OpenSSL stream from an entity and into a spool. */
#include "smime-private.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

/* --- scanner ----------------------------------------------------------- */

/* The exact rules, a byte at a time, for a stretch without '\n'. */
static void scan_slow(struct scan *sc, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];
		if (sc->pending_cr)
			sc->bare_cr = true;
		sc->pending_cr = false;
		if (c == '\r') {
			sc->pending_cr = true;
			continue;
		}
		if (c == 0)
			sc->nul = true;
		else if (c & 0x80)
			sc->eightbit = true;
		sc->line++;
	}
}

/* Whether p holds only bytes that need no rule (not NUL, CR or 8-bit):
 * eight bytes at a time, since nearly all mail is such text. */
static bool plain_stretch(const unsigned char *p, size_t n)
{
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t highs = ones * 0x80, crs = ones * '\r';
	uint64_t flags = 0;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w, x;
		memcpy(&w, p + i, sizeof(w));
		x = w ^ crs;
		/* high bit set; a zero byte; a CR byte */
		flags |= w | ((w - ones) & ~w) | ((x - ones) & ~x);
	}
	for (; i < n; i++)
		if (p[i] == 0 || p[i] == '\r' || (p[i] & 0x80))
			return false;
	return (flags & highs) == 0;
}

static void scan_stretch(struct scan *sc, const unsigned char *p, size_t n)
{
	if (n == 0)
		return;
	if (!plain_stretch(p, n)) {
		scan_slow(sc, p, n);
		return;
	}
	if (sc->pending_cr)
		sc->bare_cr = true;
	sc->pending_cr = false;
	sc->line += n;
}

/* Lines are found with memchr and checked a word at a time. */
void scan_bytes(struct scan *sc, const void *data, size_t len)
{
	const unsigned char *p = data, *end = p + len;
	while (p < end) {
		const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
		scan_stretch(sc, p, (size_t)((nl != NULL ? nl : end) - p));
		if (nl == NULL)
			return;
		sc->pending_cr = false;		/* CRLF */
		if (sc->line > sc->maxline)
			sc->maxline = sc->line;
		sc->line = 0;
		p = nl + 1;
	}
}

void scan_end(struct scan *sc)
{
	if (sc->pending_cr)
		sc->bare_cr = true;
	sc->pending_cr = false;
	if (sc->line > sc->maxline)
		sc->maxline = sc->line;
}

bool scan_clean(const struct scan *sc)
{
	return !sc->eightbit && !sc->nul && !sc->bare_cr && sc->maxline <= 998;
}

/* --- errors ------------------------------------------------------------ */

void smime_err_ssl(struct smx_error *err, const char *fmt, ...)
{
	unsigned long e = ERR_peek_error();
	if (err != NULL) {
		va_list ap;
		va_start(ap, fmt);
		smx_error_vset(err, fmt, ap);
		va_end(ap);
		size_t used = strlen(err->text);
		if (e != 0 && used + 3 < sizeof(err->text)) {
			char reason[200];
			ERR_error_string_n(e, reason, sizeof(reason));
			snprintf(err->text + used, sizeof(err->text) - used,
				 ": %s", reason);
		}
	}
	ERR_clear_error();
}

/* --- BIO: write into a spool ------------------------------------------ */

struct sink_state {
	struct spool *spool;
	bool lf_to_crlf;
};

/* OpenSSL's base64 filter ends its lines with a bare LF and writes no CR
 * at all, so every LF becomes CRLF. */
static int sink_write_crlf(struct spool *spool, const char *p, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\n')
			continue;
		if (spool_append(spool, p + start, i - start) != 0 ||
		    spool_append(spool, "\r\n", 2) != 0)
			return -1;
		start = i + 1;
	}
	return spool_append(spool, p + start, n - start);
}

static int sink_write(BIO *bio, const char *data, int len)
{
	struct sink_state *st = BIO_get_data(bio);
	if (len <= 0)
		return 0;
	int rc = st->lf_to_crlf ?
		sink_write_crlf(st->spool, data, (size_t)len) :
		spool_append(st->spool, data, (size_t)len);
	return rc == 0 ? len : -1;
}

static long sink_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
	(void)bio;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int sink_destroy(BIO *bio)
{
	free(BIO_get_data(bio));
	BIO_set_data(bio, NULL);
	return 1;
}

/* The two BIO method tables are immutable once made: created once per
 * process (pthread_once) and shared by all threads, like OpenSSL's own. */
static BIO_METHOD *sink_method;
static BIO_METHOD *source_method;
static pthread_once_t methods_once = PTHREAD_ONCE_INIT;

static int source_read(BIO *bio, char *buf, int len);

static void make_methods(void)
{
	sink_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
				   "smime spool sink");
	if (sink_method != NULL) {
		BIO_meth_set_write(sink_method, sink_write);
		BIO_meth_set_ctrl(sink_method, sink_ctrl);
		BIO_meth_set_destroy(sink_method, sink_destroy);
	}
	source_method = BIO_meth_new(BIO_get_new_index() |
				     BIO_TYPE_SOURCE_SINK,
				     "smime entity source");
	if (source_method != NULL) {
		BIO_meth_set_read(source_method, source_read);
		BIO_meth_set_ctrl(source_method, sink_ctrl);
	}
}

BIO *smime_bio_spool_sink(struct spool *spool, bool lf_to_crlf)
{
	pthread_once(&methods_once, make_methods);
	struct sink_state *st = calloc(1, sizeof(*st));
	if (st == NULL || sink_method == NULL) {
		free(st);
		return NULL;
	}
	st->spool = spool;
	st->lf_to_crlf = lf_to_crlf;
	BIO *bio = BIO_new(sink_method);
	if (bio == NULL) {
		free(st);
		return NULL;
	}
	BIO_set_data(bio, st);
	BIO_set_init(bio, 1);
	return bio;
}

/* --- BIO: read an entity ----------------------------------------------- */

static int source_read(BIO *bio, char *buf, int len)
{
	struct smime_entity *entity = BIO_get_data(bio);
	if (len <= 0)
		return 0;
	ssize_t n = smime_entity_read(entity, buf, (size_t)len);
	return n < 0 ? -1 : (int)n;
}

BIO *smime_bio_entity_source(struct smime_entity *entity)
{
	pthread_once(&methods_once, make_methods);
	if (source_method == NULL || smime_entity_rewind(entity) != 0)
		return NULL;
	BIO *bio = BIO_new(source_method);
	if (bio == NULL)
		return NULL;
	BIO_set_data(bio, entity);
	BIO_set_init(bio, 1);
	return bio;
}
