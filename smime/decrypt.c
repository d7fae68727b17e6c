/* Decryption of an inbound EnvelopedData or AuthEnvelopedData message
 * (see smx/smime-decrypt.h). The ciphertext is decoded into memory
 * (bounded by max_bytes: OpenSSL's CMS parser needs the whole object);
 * the plaintext streams into a spool, from which the inner entity's
 * headers (bounded) and body are taken. */
#include <smx/smime-decrypt.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/cms.h>
#include <openssl/err.h>

#include "smime-private.h"

#define DEFAULT_MAX_BYTES (64u * 1024u * 1024u)
#define INNER_HEADER_MAX (64u * 1024u)	/* bytes of the inner header block */
#define READ_CHUNK 65536

struct hdr {
	char *name;
	char *value;
};

struct hdr_list {
	struct hdr *v;
	size_t n, cap;
};

struct smime_decrypt {
	size_t max_bytes, threshold;
	char *spool_dir;
	struct hdr_list outer;	/* as given */
	struct hdr_list inner;	/* Content-* of the decrypted entity */
	struct hdr note;	/* the SMIME_DECRYPTED_HEADER, once run */
	CMS_ContentInfo *cms;
	const char *kind;
	bool ran;
	bool done;	/* run succeeded: edits and body are valid */
	struct smime_header_edit *edits;
	size_t n_edits;
	struct hdr *result;	/* borrowed pointers: outer, inner, note */
	size_t n_result;
	struct spool *body;
};

static bool is_content_header(const char *name)
{
	return strncasecmp(name, "Content-", 8) == 0;
}

static int hdr_push(struct hdr_list *l, const char *name, const char *value)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct hdr *v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	struct hdr h = { strdup(name), strdup(value) };
	if (h.name == NULL || h.value == NULL) {
		free(h.name);
		free(h.value);
		return -1;
	}
	l->v[l->n++] = h;
	return 0;
}

static void hdr_list_free(struct hdr_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].value);
	}
	free(l->v);
	*l = (struct hdr_list){ 0 };
}

enum smx_status smime_decrypt_new(const struct smime_decrypt_options *opts,
				  struct smime_decrypt **dec_r)
{
	struct smime_decrypt_options o = opts ? *opts
					      : (struct smime_decrypt_options){ 0 };
	struct smime_decrypt *d = calloc(1, sizeof(*d));
	*dec_r = NULL;
	if (d == NULL)
		return SMX_TEMPFAIL;
	d->max_bytes = o.max_bytes ? o.max_bytes : DEFAULT_MAX_BYTES;
	d->threshold = o.mem_threshold ? o.mem_threshold
				       : SMIME_DEFAULT_THRESHOLD;
	d->spool_dir = strdup(o.spool_dir ? o.spool_dir : "/tmp");
	if (d->spool_dir == NULL) {
		free(d);
		return SMX_TEMPFAIL;
	}
	*dec_r = d;
	return SMX_OK;
}

enum smx_status smime_decrypt_header(struct smime_decrypt *dec,
				     const char *name, const char *value)
{
	return hdr_push(&dec->outer, name, value) == 0 ? SMX_OK
						       : SMX_TEMPFAIL;
}

static const char *outer_header(const struct smime_decrypt *dec,
				const char *name)
{
	for (size_t i = 0; i < dec->outer.n; i++)
		if (strcasecmp(dec->outer.v[i].name, name) == 0)
			return dec->outer.v[i].value;
	return NULL;
}

static bool ends_with_p7m(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n >= 4 && strcasecmp(s + n - 4, ".p7m") == 0;
}

/* The outer Content-Type announces an S/MIME object that may be
 * encrypted; the CMS content type decides in the end. */
static bool announces_pkcs7(const char *value)
{
	if (value == NULL)
		return false;
	GMimeContentType *ct = g_mime_content_type_parse(NULL, value);
	if (ct == NULL)
		return false;
	bool yes = g_mime_content_type_is_type(ct, "application", "pkcs7-mime") ||
		   g_mime_content_type_is_type(ct, "application", "x-pkcs7-mime");
	if (!yes && g_mime_content_type_is_type(ct, "application",
						"octet-stream"))
		yes = ends_with_p7m(g_mime_content_type_get_parameter(ct,
								      "name"));
	const char *type = g_mime_content_type_get_parameter(ct, "smime-type");
	if (yes && type != NULL && strcasecmp(type, "enveloped-data") != 0 &&
	    strcasecmp(type, "authEnveloped-data") != 0)
		yes = false;	/* signed-data, certs-only: not ours */
	g_object_unref(ct);
	return yes;
}

static bool is_base64(const char *cte)
{
	if (cte == NULL)
		return false;
	while (isspace((unsigned char)*cte))
		cte++;
	return strncasecmp(cte, "base64", 6) == 0;
}

static bool b64_char(unsigned char c)
{
	return isalnum(c) || c == '+' || c == '/' || c == '=';
}

/* Decodes base64 from the spool into der (capacity >= the spool's size:
 * decoding never grows). Characters outside the alphabet (line ends) are
 * skipped. */
static int decode_base64(struct spool *body, unsigned char *der,
			 size_t *len_r)
{
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	unsigned char in[READ_CHUNK], clean[READ_CHUNK];
	size_t len = 0;
	ssize_t n;
	int rc = -1;
	if (ctx == NULL)
		return -1;
	EVP_DecodeInit(ctx);
	while ((n = spool_read(body, in, sizeof(in))) > 0) {
		int m = 0, out = 0;
		for (ssize_t i = 0; i < n; i++)
			if (b64_char(in[i]))
				clean[m++] = in[i];
		if (EVP_DecodeUpdate(ctx, der + len, &out, clean, m) < 0)
			goto done;
		len += (size_t)out;
	}
	int out = 0;
	if (n == 0 && EVP_DecodeFinal(ctx, der + len, &out) == 1) {
		len += (size_t)out;
		*len_r = len;
		rc = 0;
	}
done:
	EVP_ENCODE_CTX_free(ctx);
	return rc;
}

static int read_raw(struct spool *body, unsigned char *der, size_t cap,
		    size_t *len_r)
{
	size_t len = 0;
	ssize_t n = 0;
	while (len < cap && (n = spool_read(body, der + len, cap - len)) > 0)
		len += (size_t)n;
	*len_r = len;
	return n < 0 ? -1 : 0;
}

static enum smx_status load_cms(struct smime_decrypt *dec, struct spool *body,
				struct smime_error *err)
{
	size_t size = spool_size(body), len = 0;
	if (size > dec->max_bytes) {
		smime_err_set(err, "encrypted body of %zu bytes is over the "
			      "limit of %zu", size, dec->max_bytes);
		return SMX_PERMFAIL;
	}
	unsigned char *der = malloc(size + 1);
	if (der == NULL || spool_rewind(body) != 0) {
		free(der);
		smime_err_set(err, "out of memory or spool unreadable");
		return SMX_TEMPFAIL;
	}
	int rc = is_base64(outer_header(dec, "Content-Transfer-Encoding"))
			 ? decode_base64(body, der, &len)
			 : read_raw(body, der, size, &len);
	const unsigned char *p = der;
	if (rc == 0)
		dec->cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	free(der);
	if (dec->cms == NULL) {
		smime_err_ssl(err, "the body is not a CMS object");
		return SMX_PERMFAIL;
	}
	return SMX_OK;
}

/* RecipientInfos looked at per envelope: each is compared with every key
 * of every recipient, and more than this is refused before any. */
#define DECRYPT_MAX_RECIPIENT_INFOS 1000

static bool too_many_recipient_infos(const struct smime_decrypt *dec,
				     struct smime_error *err)
{
	int n = sk_CMS_RecipientInfo_num(CMS_get0_RecipientInfos(dec->cms));
	if (n <= DECRYPT_MAX_RECIPIENT_INFOS)
		return false;
	smime_err_set(err, "more than %d recipient infos",
		      DECRYPT_MAX_RECIPIENT_INFOS);
	return true;
}

enum smx_status smime_decrypt_parse(struct smime_decrypt *dec,
				    struct spool *body,
				    struct smime_error *err)
{
	smime_init();
	if (!announces_pkcs7(outer_header(dec, "Content-Type")))
		return SMX_NOTFOUND;
	enum smx_status st = load_cms(dec, body, err);
	if (st != SMX_OK)
		return st;
	int nid = OBJ_obj2nid(CMS_get0_type(dec->cms));
	if (nid == NID_pkcs7_enveloped)
		dec->kind = "enveloped-data";
	else if (nid == NID_id_smime_ct_authEnvelopedData)
		dec->kind = "authEnveloped-data";
	else
		return SMX_NOTFOUND;
	if (CMS_get0_RecipientInfos(dec->cms) == NULL) {
		smime_err_ssl(err, "%s without recipients", dec->kind);
		return SMX_PERMFAIL;
	}
	if (too_many_recipient_infos(dec, err))
		return SMX_PERMFAIL;
	return SMX_OK;
}

const char *smime_decrypt_kind(const struct smime_decrypt *dec)
{
	return dec->kind;
}

size_t smime_decrypt_recipient_info_count(const struct smime_decrypt *dec)
{
	STACK_OF(CMS_RecipientInfo) *ris =
		dec->cms ? CMS_get0_RecipientInfos(dec->cms) : NULL;
	return ris ? (size_t)sk_CMS_RecipientInfo_num(ris) : 0;
}

static bool agreement_is_for(CMS_RecipientInfo *ri, X509 *cert)
{
	STACK_OF(CMS_RecipientEncryptedKey) *reks =
		CMS_RecipientInfo_kari_get0_reks(ri);
	for (int i = 0; reks && i < sk_CMS_RecipientEncryptedKey_num(reks); i++)
		if (CMS_RecipientEncryptedKey_cert_cmp(
			    sk_CMS_RecipientEncryptedKey_value(reks, i), cert) == 0)
			return true;
	return false;
}

bool smime_decrypt_is_for(const struct smime_decrypt *dec, X509 *cert)
{
	STACK_OF(CMS_RecipientInfo) *ris =
		dec->cms ? CMS_get0_RecipientInfos(dec->cms) : NULL;
	for (int i = 0; ris && i < sk_CMS_RecipientInfo_num(ris); i++) {
		CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(ris, i);
		int type = CMS_RecipientInfo_type(ri);
		if (type == CMS_RECIPINFO_TRANS &&
		    CMS_RecipientInfo_ktri_cert_cmp(ri, cert) == 0)
			return true;
		if (type == CMS_RECIPINFO_AGREE && agreement_is_for(ri, cert))
			return true;
	}
	ERR_clear_error();
	return false;
}

/* --- the inner entity ---------------------------------------------------- */

/* Length of the header block of buf (through its blank line), or 0 when
 * there is no blank line in it. */
static size_t header_block_len(const char *buf, size_t len)
{
	/* An entity without headers starts with its blank line. */
	if (len >= 1 && buf[0] == '\n')
		return 1;
	if (len >= 2 && buf[0] == '\r' && buf[1] == '\n')
		return 2;
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

enum inner_state { INNER_NONE, INNER_KEPT, INNER_DROPPED };

static int append_fold(struct hdr *h, const char *line)
{
	size_t a = strlen(h->value), b = strlen(line);
	char *v = realloc(h->value, a + b + 2);
	if (v == NULL)
		return -1;
	v[a] = '\n';
	memcpy(v + a + 1, line, b + 1);
	h->value = v;
	return 0;
}

/* One header line of the inner block (without its line end): a new
 * header, or the continuation of the previous one, kept as LF + the
 * line (the folding libmilter passes on). Only Content-* headers are
 * kept. */
static int inner_line(struct smime_decrypt *dec, char *line,
		      enum inner_state *state)
{
	if (*line == ' ' || *line == '\t') {
		if (*state == INNER_NONE)
			return -1;
		return *state == INNER_KEPT
			       ? append_fold(&dec->inner.v[dec->inner.n - 1], line)
			       : 0;
	}
	char *colon = strchr(line, ':');
	if (colon == NULL || colon == line)
		return -1;
	for (char *p = line; p < colon; p++)
		if (!isgraph((unsigned char)*p))
			return -1;
	*colon = '\0';
	*state = is_content_header(line) ? INNER_KEPT : INNER_DROPPED;
	if (*state == INNER_DROPPED)
		return 0;
	const char *value = colon + 1;
	if (*value == ' ' || *value == '\t')
		return hdr_push(&dec->inner, line, value);
	char *spaced = malloc(strlen(value) + 2);
	if (spaced == NULL)
		return -1;
	spaced[0] = ' ';
	strcpy(spaced + 1, value);
	int rc = hdr_push(&dec->inner, line, spaced);
	free(spaced);
	return rc;
}

static int parse_inner_headers(struct smime_decrypt *dec, char *block,
			       size_t len)
{
	enum inner_state state = INNER_NONE;
	char *p = block, *end = block + len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		char *stop = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
		*stop = '\0';
		if (stop > p && inner_line(dec, p, &state) != 0)
			return -1;
		p = nl + 1;
	}
	return 0;
}

/* Appends data to the body spool with every bare LF made CRLF; *cr
 * carries "the last byte was CR" across calls. */
static int append_crlf(struct spool *out, const char *data, size_t len,
		       bool *cr)
{
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n' && !(i > 0 ? data[i - 1] == '\r' : *cr)) {
			if (spool_append(out, data + start, i - start) != 0 ||
			    spool_append(out, "\r\n", 2) != 0)
				return -1;
			start = i + 1;
		}
	}
	if (len > 0)
		*cr = data[len - 1] == '\r';
	return spool_append(out, data + start, len - start);
}

/* Splits the plaintext into the inner headers and the new body. */
static enum smx_status split_plain(struct smime_decrypt *dec,
				   struct spool *plain,
				   struct smime_error *err)
{
	char *buf = malloc(INNER_HEADER_MAX + 1);
	ssize_t got = buf && spool_rewind(plain) == 0
			      ? spool_read(plain, buf, INNER_HEADER_MAX) : -1;
	dec->body = spool_new(dec->threshold, dec->spool_dir, 0);
	if (got < 0 || dec->body == NULL) {
		free(buf);
		smime_err_set(err, "out of memory or spool unreadable");
		return SMX_TEMPFAIL;
	}
	size_t hlen = header_block_len(buf, (size_t)got);
	if (hlen == 0 || parse_inner_headers(dec, buf, hlen) != 0) {
		free(buf);
		smime_err_set(err, "the decrypted content is not a MIME entity");
		return SMX_PERMFAIL;
	}
	bool cr = false;
	int rc = append_crlf(dec->body, buf + hlen, (size_t)got - hlen, &cr);
	ssize_t n = 0;
	while (rc == 0 && (n = spool_read(plain, buf, INNER_HEADER_MAX)) > 0)
		rc = append_crlf(dec->body, buf, (size_t)n, &cr);
	free(buf);
	if (rc != 0 || n < 0) {
		smime_err_set(err, "cannot write the decrypted body");
		return SMX_TEMPFAIL;
	}
	return SMX_OK;
}

/* --- edits ------------------------------------------------------------------ */

static unsigned occurrence(const struct hdr_list *l, size_t i)
{
	unsigned n = 0;
	for (size_t j = 0; j <= i; j++)
		if (strcasecmp(l->v[j].name, l->v[i].name) == 0)
			n++;
	return n;
}

static int build_edits(struct smime_decrypt *dec)
{
	size_t max = dec->outer.n + dec->inner.n + 1;
	dec->edits = calloc(max, sizeof(*dec->edits));
	dec->result = calloc(max, sizeof(*dec->result));
	if (dec->edits == NULL || dec->result == NULL)
		return -1;
	for (size_t i = dec->outer.n; i-- > 0;)
		if (is_content_header(dec->outer.v[i].name))
			dec->edits[dec->n_edits++] = (struct smime_header_edit){
				SMIME_EDIT_DELETE, dec->outer.v[i].name,
				occurrence(&dec->outer, i), NULL
			};
	for (size_t i = 0; i < dec->outer.n; i++)
		if (!is_content_header(dec->outer.v[i].name))
			dec->result[dec->n_result++] = dec->outer.v[i];
	for (size_t i = 0; i < dec->inner.n; i++) {
		dec->edits[dec->n_edits++] = (struct smime_header_edit){
			SMIME_EDIT_ADD, dec->inner.v[i].name, 0,
			dec->inner.v[i].value
		};
		dec->result[dec->n_result++] = dec->inner.v[i];
	}
	if (dec->note.value != NULL) {
		dec->edits[dec->n_edits++] = (struct smime_header_edit){
			SMIME_EDIT_ADD, dec->note.name, 0, dec->note.value
		};
		dec->result[dec->n_result++] = dec->note;
	}
	return 0;
}

static enum smx_status decrypt_into(struct smime_decrypt *dec, X509 *cert,
				    EVP_PKEY *key, struct spool *plain,
				    struct smime_error *err)
{
	BIO *out = smime_bio_spool_sink(plain, false);
	if (out == NULL) {
		smime_err_set(err, "out of memory");
		return SMX_TEMPFAIL;
	}
	int ok = CMS_decrypt(dec->cms, key, cert, NULL, out, 0);
	BIO_free(out);
	if (ok != 1) {
		smime_err_ssl(err, "cannot decrypt the %s", dec->kind);
		return SMX_PERMFAIL;
	}
	return SMX_OK;
}

enum smx_status smime_decrypt_run(struct smime_decrypt *dec, X509 *cert,
				  EVP_PKEY *key, const char *note,
				  struct smime_error *err)
{
	if (dec->cms == NULL || dec->ran) {
		smime_err_set(err, "nothing to decrypt");
		return SMX_PERMFAIL;
	}
	dec->ran = true;
	struct spool *plain = spool_new(dec->threshold, dec->spool_dir,
					dec->max_bytes);
	if (plain == NULL) {
		smime_err_set(err, "out of memory");
		return SMX_TEMPFAIL;
	}
	enum smx_status st = decrypt_into(dec, cert, key, plain, err);
	if (st == SMX_OK)
		st = split_plain(dec, plain, err);
	spool_free(&plain);
	if (st == SMX_OK && note != NULL) {
		dec->note.name = strdup(SMIME_DECRYPTED_HEADER);
		dec->note.value = strdup(note);
		if (dec->note.name == NULL || dec->note.value == NULL)
			st = SMX_TEMPFAIL;
	}
	if (st == SMX_OK && build_edits(dec) != 0)
		st = SMX_TEMPFAIL;
	if (st == SMX_TEMPFAIL && err != NULL && err->text[0] == '\0')
		smime_err_set(err, "out of memory");
	dec->done = st == SMX_OK;
	return st;
}

size_t smime_decrypt_edit_count(const struct smime_decrypt *dec)
{
	return dec->n_edits;
}

const struct smime_header_edit *smime_decrypt_edit(
	const struct smime_decrypt *dec, size_t i)
{
	return i < dec->n_edits ? &dec->edits[i] : NULL;
}

size_t smime_decrypt_result_header_count(const struct smime_decrypt *dec)
{
	return dec->n_result;
}

void smime_decrypt_result_header(const struct smime_decrypt *dec, size_t i,
				 const char **name_r, const char **value_r)
{
	*name_r = i < dec->n_result ? dec->result[i].name : NULL;
	*value_r = i < dec->n_result ? dec->result[i].value : NULL;
}

struct spool *smime_decrypt_result_body(struct smime_decrypt *dec)
{
	return dec->done ? dec->body : NULL;
}

void smime_decrypt_free(struct smime_decrypt **dec)
{
	struct smime_decrypt *d = *dec;
	if (d == NULL)
		return;
	hdr_list_free(&d->outer);
	hdr_list_free(&d->inner);
	free(d->note.name);
	free(d->note.value);
	CMS_ContentInfo_free(d->cms);
	free(d->edits);
	free(d->result);
	spool_free(&d->body);
	free(d->spool_dir);
	free(d);
	*dec = NULL;
}
