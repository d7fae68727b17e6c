/* SPDX-License-Identifier: BSD-2-Clause */
/* Private keys at rest: the master key file, AES-256-GCM sealing bound
 * to the certificate's fingerprint, and the key rows.
 *
 * Master key file: 64 hexadecimal digits (32 bytes) and a newline, mode
 * 0600 (0400 is fine too); anything readable by group or others is
 * refused. The store holds a key-check record sealed under the master key,
 * so a wrong key file is recognised at open by its GCM tag. */
#include "store-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <smx/log.h>
#include <smx/x509.h>

#define SEAL_VERSION 0x01
#define NONCE_LEN 12
#define TAG_LEN 16
#define KEY_CHECK_AAD "smime-milter/key-check/v1"
#define KEY_CHECK_TEXT "smime-milter master key check"

static int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static enum smx_status create_key_file(struct store *store)
{
	unsigned char key[STORE_MASTER_KEY_LEN];
	char text[2 * STORE_MASTER_KEY_LEN + 2];
	enum smx_status st = SMX_TEMPFAIL;
	if (RAND_priv_bytes(key, sizeof(key)) != 1)
		goto done;
	for (size_t i = 0; i < sizeof(key); i++)
		snprintf(text + 2 * i, 3, "%02x", key[i]);
	text[2 * sizeof(key)] = '\n';
	int fd = open(store->key_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		      0600);
	if (fd < 0) {
		smx_log(LOG_ERR, "%s: cannot create the master key file: %s",
			store->key_file, strerror(errno));
		st = SMX_CONFIG;
		goto done;
	}
	ssize_t n = write(fd, text, sizeof(text) - 1);
	if (n != (ssize_t)sizeof(text) - 1 || fsync(fd) != 0 || close(fd) != 0) {
		smx_log(LOG_ERR, "%s: cannot write the master key file",
			store->key_file);
		unlink(store->key_file);
		st = SMX_CONFIG;
		goto done;
	}
	smx_log(LOG_INFO, "%s: created a new master key (mode 0600)",
		store->key_file);
	st = SMX_OK;
done:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(text, sizeof(text));
	return st;
}

static enum smx_status parse_key_text(struct store *store, const char *text,
				      size_t len)
{
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	if (len != 2 * STORE_MASTER_KEY_LEN)
		goto bad;
	for (size_t i = 0; i < STORE_MASTER_KEY_LEN; i++) {
		int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
		if (hi < 0 || lo < 0)
			goto bad;
		store->master_key[i] = (unsigned char)(hi << 4 | lo);
	}
	return SMX_OK;
bad:
	smx_log(LOG_ERR, "%s: not a master key file (expected 64 hexadecimal "
		"digits)", store->key_file);
	OPENSSL_cleanse(store->master_key, sizeof(store->master_key));
	return SMX_CONFIG;
}

static enum smx_status read_key_file(struct store *store, int fd)
{
	struct stat sb;
	char text[2 * STORE_MASTER_KEY_LEN + 8];
	enum smx_status st = SMX_CONFIG;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		smx_log(LOG_ERR, "%s: the master key file is not a regular "
			"file", store->key_file);
		goto done;
	}
	if ((sb.st_mode & 077) != 0) {
		smx_log(LOG_ERR, "%s: the master key file is accessible by "
			"group or others (mode %04o): run chmod 600 on it",
			store->key_file, (unsigned)(sb.st_mode & 07777));
		goto done;
	}
	ssize_t n = read(fd, text, sizeof(text));
	if (n < 0) {
		smx_log(LOG_ERR, "%s: %s", store->key_file, strerror(errno));
		goto done;
	}
	st = parse_key_text(store, text, (size_t)n);
done:
	OPENSSL_cleanse(text, sizeof(text));
	return st;
}

enum smx_status store_master_key_load(struct store *store, bool create)
{
	store->key_status = SMX_NOTFOUND;
	if (store->key_file == NULL)
		return SMX_OK;
	int fd = open(store->key_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT && create) {
		enum smx_status st = create_key_file(store);
		if (st != SMX_OK)
			return st;
		fd = open(store->key_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0) {
		if (errno == ENOENT) {
			smx_log(LOG_DEBUG, "%s: no master key file: private "
				"keys are unavailable", store->key_file);
			return SMX_OK;
		}
		smx_log(LOG_ERR, "%s: cannot open the master key file: %s",
			store->key_file, strerror(errno));
		return SMX_CONFIG;
	}
	enum smx_status st = read_key_file(store, fd);
	close(fd);
	if (st == SMX_OK)
		store->key_status = SMX_OK;
	return st;
}

/* --- sealing ----------------------------------------------------------- */

static enum smx_status gcm(const struct store *store, bool enc,
			   const unsigned char *nonce, const char *aad,
			   const unsigned char *in, size_t len,
			   unsigned char *out, unsigned char *tag)
{
	enum smx_status st = enc ? SMX_TEMPFAIL : SMX_CONFIG;
	int n = 0, fin = 0;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL || len > INT32_MAX)
		goto done;
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, store->master_key,
			      nonce, enc ? 1 : 0) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)aad,
			     (int)strlen(aad)) != 1 ||
	    EVP_CipherUpdate(ctx, out, &n, in, (int)len) != 1)
		goto done;
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
					tag) != 1)
		goto done;
	if (EVP_CipherFinal_ex(ctx, out + n, &fin) != 1)
		goto done;
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
				       tag) != 1)
		goto done;
	st = SMX_OK;
done:
	EVP_CIPHER_CTX_free(ctx);
	return st;
}

enum smx_status store_seal(const struct store *store, const char *aad,
			   const unsigned char *in, size_t len,
			   unsigned char **out_r, size_t *len_r)
{
	size_t total = 1 + NONCE_LEN + len + TAG_LEN;
	unsigned char *out = malloc(total);
	if (out == NULL)
		return SMX_TEMPFAIL;
	out[0] = SEAL_VERSION;
	if (RAND_bytes(out + 1, NONCE_LEN) != 1 ||
	    gcm(store, true, out + 1, aad, in, len, out + 1 + NONCE_LEN,
		out + 1 + NONCE_LEN + len) != SMX_OK) {
		free(out);
		return SMX_TEMPFAIL;
	}
	*out_r = out;
	*len_r = total;
	return SMX_OK;
}

enum smx_status store_unseal(const struct store *store, const char *aad,
			     const unsigned char *in, size_t len,
			     unsigned char **out_r, size_t *len_r)
{
	if (len < 1 + NONCE_LEN + TAG_LEN || in[0] != SEAL_VERSION)
		return SMX_CONFIG;
	size_t clen = len - 1 - NONCE_LEN - TAG_LEN;
	unsigned char *out = malloc(clen + 1);
	unsigned char tag[TAG_LEN];
	if (out == NULL)
		return SMX_TEMPFAIL;
	memcpy(tag, in + len - TAG_LEN, TAG_LEN);
	enum smx_status st = gcm(store, false, in + 1, aad, in + 1 + NONCE_LEN,
				 clen, out, tag);
	if (st != SMX_OK) {
		store_secret_free(&out, clen);
		return st;
	}
	*out_r = out;
	*len_r = clen;
	return SMX_OK;
}

void store_secret_free(unsigned char **p, size_t len)
{
	if (p == NULL || *p == NULL)
		return;
	OPENSSL_cleanse(*p, len);
	free(*p);
	*p = NULL;
}

/* --- the key-check record ---------------------------------------------- */

static const char sql_meta_get[] = "SELECT value FROM store_meta WHERE name = $1";
static const char sql_meta_put[] =
	"INSERT INTO store_meta (name, value) VALUES ($1, $2) "
	"ON CONFLICT (name) DO NOTHING";

static enum smx_status key_check_txn(struct store *store, struct store_conn *c,
				     void *arg)
{
	struct store_rows rows = { .n_cols = 1 };
	struct store_value p[2] = { SV_TEXT("key_check"), SV_NULL };
	unsigned char *blob = NULL, *plain = NULL;
	size_t blen = 0, plen = 0;
	(void)arg;
	enum smx_status st = store_exec(c, store, sql_meta_get, p, 1, &rows, NULL);
	if (st != SMX_OK)
		goto done;
	if (rows.n_rows == 0) {
		st = store_seal(store, KEY_CHECK_AAD,
				(const unsigned char *)KEY_CHECK_TEXT,
				strlen(KEY_CHECK_TEXT), &blob, &blen);
		p[1] = SV_BLOB(blob, blen);
		if (st == SMX_OK)
			st = store_exec(c, store, sql_meta_put, p, 2, NULL, NULL);
		goto done;
	}
	const unsigned char *v = store_rows_blob(&rows, 0, 0, &blen);
	if (v == NULL || store_unseal(store, KEY_CHECK_AAD, v, blen, &plain,
				      &plen) != SMX_OK ||
	    plen != strlen(KEY_CHECK_TEXT) ||
	    memcmp(plain, KEY_CHECK_TEXT, plen) != 0) {
		smx_log(LOG_ERR, "%s: this master key does not belong to the "
			"store (authentication failed): private keys are "
			"unavailable", store->key_file);
		store->key_status = SMX_CONFIG;
	}
done:
	store_secret_free(&plain, plen);
	free(blob);
	store_rows_clear(&rows);
	return st;
}

enum smx_status store_master_key_verify(struct store *store)
{
	return store_txn(store, true, key_check_txn, NULL);
}

/* --- key rows ---------------------------------------------------------- */

enum smx_status store_key_matches(const unsigned char *cert_der,
				  size_t cert_len, const unsigned char *pkcs8,
				  size_t key_len)
{
	X509 *x = smx_x509_parse(cert_der, cert_len, NULL, 0);
	EVP_PKEY *pk = smx_x509_key_parse(pkcs8, key_len, NULL, 0);
	enum smx_status st = smx_x509_key_matches(x, pk) ? SMX_OK : SMX_PERMFAIL;
	X509_free(x);
	EVP_PKEY_free(pk);
	return st;
}

struct key_args {
	const char *fp;
	char aad[96];
	const unsigned char *in;
	size_t in_len;
	unsigned char *out;
	size_t out_len;
};

static const char sql_cert_der[] = "SELECT der FROM certs WHERE fingerprint = $1";
static const char sql_key_put[] =
	"INSERT INTO cert_keys (fingerprint, sealed, created) VALUES ($1, $2, $3) "
	"ON CONFLICT (fingerprint) DO UPDATE SET sealed = excluded.sealed, "
	"created = excluded.created, token_uri = NULL";
static const char sql_key_get[] =
	"SELECT sealed, token_uri FROM cert_keys WHERE fingerprint = $1";
/* A key in a PKCS#11 token: the row names it and holds no key material
 * (an empty sealed value; the column predates tokens and is NOT NULL). */
static const char sql_key_put_token[] =
	"INSERT INTO cert_keys (fingerprint, sealed, created, token_uri) "
	"VALUES ($1, $2, $3, $4) ON CONFLICT (fingerprint) DO UPDATE SET "
	"sealed = excluded.sealed, created = excluded.created, "
	"token_uri = excluded.token_uri";
static const char sql_key_token_uri[] =
	"SELECT token_uri FROM cert_keys WHERE fingerprint = $1";
static const char sql_key_del[] = "DELETE FROM cert_keys WHERE fingerprint = $1";

static enum smx_status key_put_txn(struct store *store, struct store_conn *c,
				   void *arg)
{
	struct key_args *a = arg;
	struct store_rows rows = { .n_cols = 1 };
	struct store_value p[3] = { SV_TEXT(a->fp), SV_NULL,
				    SV_INT((int64_t)time(NULL)) };
	unsigned char *sealed = NULL;
	size_t slen = 0, dlen = 0;
	enum smx_status st = store_exec(c, store, sql_cert_der, p, 1, &rows, NULL);
	if (st != SMX_OK)
		goto done;
	const unsigned char *der = store_rows_blob(&rows, 0, 0, &dlen);
	if (der == NULL) {
		smx_log(LOG_ERR, "store: no certificate %s for this key", a->fp);
		st = SMX_NOTFOUND;
		goto done;
	}
	if (store_key_matches(der, dlen, a->in, a->in_len) != SMX_OK) {
		smx_log(LOG_ERR, "store: the private key does not match "
			"certificate %s", a->fp);
		st = SMX_PERMFAIL;
		goto done;
	}
	st = store_seal(store, a->aad, a->in, a->in_len, &sealed, &slen);
	p[1] = SV_BLOB(sealed, slen);
	if (st == SMX_OK)
		st = store_exec(c, store, sql_key_put, p, 3, NULL, NULL);
done:
	free(sealed);
	store_rows_clear(&rows);
	return st;
}

static enum smx_status key_ready(const struct store *store, const char *what)
{
	if (store->key_status == SMX_NOTFOUND)
		smx_log(LOG_ERR, "%s: no master key file: cannot %s private "
			"keys (run smimectl init)", store->key_file ?
			store->key_file : "keys.master_key_file", what);
	else if (store->key_status != SMX_OK)
		smx_log(LOG_ERR, "%s: the master key does not match the "
			"store: cannot %s private keys", store->key_file, what);
	return store->key_status;
}

enum smx_status store_key_put(struct store *store, const char *fingerprint,
			      const unsigned char *pkcs8, size_t len)
{
	char fp[65];
	struct key_args a = { .fp = fp, .in = pkcs8, .in_len = len };
	enum smx_status st = key_ready(store, "store");
	if (st != SMX_OK)
		return st;
	if (!store_fingerprint_normalize(fingerprint, fp))
		return SMX_PERMFAIL;
	snprintf(a.aad, sizeof(a.aad), "smime-milter/key/v1/%s", fp);
	return store_txn(store, true, key_put_txn, &a);
}

static enum smx_status key_get_txn(struct store *store, struct store_conn *c,
				   void *arg)
{
	struct key_args *a = arg;
	struct store_rows rows = { .n_cols = 1 };
	struct store_value p = SV_TEXT(a->fp);
	size_t blen = 0;
	enum smx_status st = store_exec(c, store, sql_key_get, &p, 1, &rows,
					NULL);
	if (st != SMX_OK)
		goto done;
	const unsigned char *blob = store_rows_blob(&rows, 0, 0, &blen);
	size_t ulen = 0;
	if (blob == NULL || blen == 0 ||
	    store_rows_blob(&rows, 0, 1, &ulen) != NULL) {
		st = SMX_NOTFOUND;	/* none, or in a token */
		goto done;
	}
	st = store_unseal(store, a->aad, blob, blen, &a->out, &a->out_len);
	if (st == SMX_CONFIG)
		smx_log(LOG_ERR, "store: the private key of %s does not open "
			"with master key %s (authentication failed: wrong key "
			"file or altered row)", a->fp, store->key_file);
done:
	store_rows_clear(&rows);
	return st;
}

enum smx_status store_key_get(struct store *store, const char *fingerprint,
			      unsigned char **pkcs8_r, size_t *len_r)
{
	char fp[65];
	struct key_args a = { .fp = fp };
	*pkcs8_r = NULL;
	*len_r = 0;
	if (!store_fingerprint_normalize(fingerprint, fp))
		return SMX_NOTFOUND;
	enum smx_status st = key_ready(store, "use");
	if (st != SMX_OK)
		return st == SMX_NOTFOUND ? SMX_NOTFOUND : st;
	snprintf(a.aad, sizeof(a.aad), "smime-milter/key/v1/%s", fp);
	st = store_txn(store, false, key_get_txn, &a);
	if (st == SMX_OK) {
		*pkcs8_r = a.out;
		*len_r = a.out_len;
	} else {
		store_secret_free(&a.out, a.out_len);
	}
	return st;
}

struct token_args {
	const char *fp;
	const char *uri;	/* put: the URI to record */
	char *found;		/* get: the URI recorded, or NULL */
	bool held;		/* get: a key row exists */
};

static enum smx_status key_put_token_txn(struct store *store,
					 struct store_conn *c, void *arg)
{
	static const unsigned char nothing[1];
	struct token_args *a = arg;
	struct store_rows rows = { .n_cols = 1 };
	struct store_value p[4] = { SV_TEXT(a->fp),
				    { .type = STORE_V_BLOB, .p = nothing },
				    SV_INT((int64_t)time(NULL)),
				    SV_TEXT(a->uri) };
	enum smx_status st = store_exec(c, store, sql_cert_der, p, 1, &rows,
					NULL);
	if (st == SMX_OK && rows.n_rows == 0) {
		smx_log(LOG_ERR, "store: no certificate %s for this key", a->fp);
		st = SMX_NOTFOUND;
	}
	if (st == SMX_OK)
		st = store_exec(c, store, sql_key_put_token, p, 4, NULL, NULL);
	store_rows_clear(&rows);
	return st;
}

enum smx_status store_key_put_token(struct store *store,
				    const char *fingerprint,
				    const char *token_uri)
{
	char fp[65];
	struct token_args a = { .fp = fp, .uri = token_uri };
	if (!store_fingerprint_normalize(fingerprint, fp) || token_uri == NULL ||
	    strncmp(token_uri, "pkcs11:", 7) != 0)
		return SMX_PERMFAIL;
	return store_txn(store, true, key_put_token_txn, &a);
}

static enum smx_status key_token_uri_txn(struct store *store,
					 struct store_conn *c, void *arg)
{
	struct token_args *a = arg;
	struct store_rows rows = { .n_cols = 1 };
	struct store_value p = SV_TEXT(a->fp);
	size_t len = 0;
	free(a->found);		/* a retried transaction starts afresh */
	a->found = NULL;
	enum smx_status st = store_exec(c, store, sql_key_token_uri, &p, 1,
					&rows, NULL);
	const unsigned char *uri = store_rows_blob(&rows, 0, 0, &len);
	a->held = st == SMX_OK && rows.n_rows > 0;
	if (uri != NULL && (a->found = strndup((const char *)uri, len)) == NULL)
		st = SMX_TEMPFAIL;
	store_rows_clear(&rows);
	return st;
}

enum smx_status store_key_token_uri(struct store *store,
				    const char *fingerprint,
				    char **token_uri_r)
{
	char fp[65];
	struct token_args a = { .fp = fp };
	*token_uri_r = NULL;
	if (!store_fingerprint_normalize(fingerprint, fp))
		return SMX_NOTFOUND;
	enum smx_status st = store_txn(store, false, key_token_uri_txn, &a);
	if (st == SMX_OK && !a.held)
		st = SMX_NOTFOUND;
	if (st == SMX_OK)
		*token_uri_r = a.found;
	else
		free(a.found);
	return st;
}

static enum smx_status key_del_txn(struct store *store, struct store_conn *c,
				   void *arg)
{
	struct store_value p = SV_TEXT((const char *)arg);
	int64_t changes = 0;
	enum smx_status st = store_exec(c, store, sql_key_del, &p, 1, NULL,
					&changes);
	return (st == SMX_OK && changes == 0) ? SMX_NOTFOUND : st;
}

enum smx_status store_key_remove(struct store *store, const char *fingerprint)
{
	char fp[65];
	if (!store_fingerprint_normalize(fingerprint, fp))
		return SMX_NOTFOUND;
	return store_txn(store, true, key_del_txn, fp);
}
