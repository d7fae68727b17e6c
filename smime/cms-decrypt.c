/* SPDX-License-Identifier: BSD-2-Clause */
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
#include <openssl/evp.h>

#include "hp-private.h"
#include "smime-private.h"

#include <smx/smime-hp.h>

#define DEFAULT_MAX_BYTES (64u * 1024u * 1024u)
#define DEFAULT_MAX_CERTIFICATES 32u
#define INNER_HEADER_MAX (64u * 1024u)	/* bytes of the inner header block */
#define READ_CHUNK 65536

struct smime_decrypt {
	size_t max_bytes, threshold;
	unsigned max_certificates;
	char *spool_dir;
	struct hdrlist *outer;	/* as given */
	struct hdrlist *inner;	/* Content-* of the decrypted entity */
	struct hdrlist *protected;	/* its protected fields (header
					 * protection), or none */
	char *note;	/* the SMIME_DECRYPTED_HEADER's value, once run */
	CMS_ContentInfo *cms;
	const char *kind;
	bool ran;
	bool done;	/* run succeeded: edits and body are valid */
	struct spool *plain;	/* the content as the first key opened it */
	unsigned char digest[EVP_MAX_MD_SIZE];	/* its SHA-256 */
	size_t n_opened;	/* keys that opened it to that content */
	const char *refusal;	/* why it is refused; NULL: not refused */
	struct smime_header_edit *edits;
	size_t n_edits;
	struct hdrlist *result;	/* the header the reader gets */
	struct spool *body;
};

static bool is_content_header(const char *name)
{
	return strncasecmp(name, "Content-", 8) == 0;
}

/* A list for fields taken from the decrypted entity. Its header block
 * is at most INNER_HEADER_MAX bytes and header protection yields a few
 * dozen fields, so the common bounds are not reached in practice; were
 * they, the protected fields past them are not taken (the outer values
 * stay). */
static struct hdrlist *new_inner_list(void)
{
	return hdrlist_new(HDRLIST_MAX_COUNT, HDRLIST_MAX_BYTES);
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
	d->max_certificates = o.max_certificates ? o.max_certificates
						 : DEFAULT_MAX_CERTIFICATES;
	d->threshold = o.mem_threshold ? o.mem_threshold
				       : SMIME_DEFAULT_THRESHOLD;
	d->spool_dir = strdup(o.spool_dir ? o.spool_dir : "/tmp");
	d->inner = new_inner_list();
	d->protected = new_inner_list();
	if (d->spool_dir == NULL || d->inner == NULL || d->protected == NULL) {
		smime_decrypt_free(&d);
		return SMX_TEMPFAIL;
	}
	*dec_r = d;
	return SMX_OK;
}

/* Copies the outer headers but any SMIME_DECRYPTED_HEADER: only the
 * gateway that decrypts writes one, so one that came with the message is
 * forged (and the milter removes it). The copy has no bounds of its own:
 * headers is bounded by whoever filled it, and the edits must see every
 * field of it. */
static int take_outer(struct smime_decrypt *dec, const struct hdrlist *headers)
{
	hdrlist_free(&dec->outer);
	dec->outer = hdrlist_new(0, 0);
	for (size_t i = 0; dec->outer != NULL && i < hdrlist_count(headers);
	     i++) {
		const char *name = hdrlist_name(headers, i);
		if (strcasecmp(name, SMIME_DECRYPTED_HEADER) != 0 &&
		    hdrlist_append(dec->outer, name,
				   hdrlist_value(headers, i)) != 0)
			hdrlist_free(&dec->outer);
	}
	return dec->outer != NULL ? 0 : -1;
}

static const char *outer_header(const struct smime_decrypt *dec,
				const char *name)
{
	return dec->outer != NULL ? hdrlist_get(dec->outer, name) : NULL;
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
				struct smx_error *err)
{
	size_t size = spool_size(body), len = 0;
	if (size > dec->max_bytes) {
		smx_error_set(err, "encrypted body of %zu bytes is over the "
			      "limit of %zu", size, dec->max_bytes);
		return SMX_PERMFAIL;
	}
	unsigned char *der = malloc(size + 1);
	if (der == NULL || spool_rewind(body) != 0) {
		free(der);
		smx_error_set(err, "out of memory or spool unreadable");
		return SMX_TEMPFAIL;
	}
	int rc = is_base64(outer_header(dec, "Content-Transfer-Encoding"))
			 ? decode_base64(body, der, &len)
			 : read_raw(body, der, size, &len);
	const unsigned char *p = der;
	struct cms_census census;
	bool counted = rc == 0 &&
		       cms_census(der, len, dec->max_certificates, &census);
	if (rc == 0 && census.enveloped &&
	    (!counted || census.n_certs > dec->max_certificates ||
	     census.n_crls > dec->max_certificates)) {
		/* OpenSSL's parser would decode and hash every one */
		free(der);
		dec->refusal = "limit";
		smx_error_set(err, counted ? "more than %u certificates or "
			      "CRLs in its OriginatorInfo"
			      : "its OriginatorInfo cannot be read",
			      dec->max_certificates);
		return SMX_PERMFAIL;
	}
	if (rc == 0)
		dec->cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	free(der);
	if (dec->cms == NULL) {
		smime_err_ssl(err, "the body is not a CMS object");
		return SMX_PERMFAIL;
	}
	return SMX_OK;
}

enum smx_status smime_decrypt_parse(struct smime_decrypt *dec,
				    const struct hdrlist *headers,
				    struct spool *body,
				    struct smx_error *err)
{
	smime_init();
	if (dec->cms != NULL) {
		smx_error_set(err, "the message was parsed already");
		return SMX_PERMFAIL;
	}
	if (take_outer(dec, headers) != 0) {
		smx_error_set(err, "out of memory");
		return SMX_TEMPFAIL;
	}
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
		return *state == INNER_KEPT &&
				       hdrlist_fold_last(dec->inner, line) != 0
			       ? -1 : 0;
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
		return hdrlist_append(dec->inner, line, value) != 0 ? -1 : 0;
	char *spaced = malloc(strlen(value) + 2);
	if (spaced == NULL)
		return -1;
	spaced[0] = ' ';
	strcpy(spaced + 1, value);
	int rc = hdrlist_append(dec->inner, line, spaced);
	free(spaced);
	return rc != 0 ? -1 : 0;
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

static bool takes_protected(const struct smime_decrypt *dec,
			    const char *name, const char *value);

/* The header fields the decrypted entity protects (RFC 9788, or the
 * older protected-headers="v1"): looked for in its first block, or in
 * the whole of it when an opaque signature wraps them. */
static enum smx_status find_protected(struct smime_decrypt *dec,
				      struct spool *plain, const char *block,
				      size_t block_len)
{
	const char *type = NULL;	/* the last Content-Type */
	size_t n_inner = hdrlist_count(dec->inner);
	for (size_t i = hdrlist_find(dec->inner, "Content-Type", 0);
	     i < n_inner; i = hdrlist_find(dec->inner, "Content-Type", i + 1))
		type = hdrlist_value(dec->inner, i);
	char *whole = NULL;
	size_t len = block_len;
	if (type != NULL && strcasestr(type, "pkcs7-mime") != NULL) {
		size_t size = spool_size(plain);
		whole = size <= dec->max_bytes ? malloc(size + 1) : NULL;
		ssize_t got = whole != NULL && spool_rewind(plain) == 0
				      ? spool_read(plain, whole, size) : -1;
		if (got < 0) {
			free(whole);
			return SMX_TEMPFAIL;
		}
		len = (size_t)got;
	}
	struct smime_hp_found *found = NULL;
	int n = smime_hp_find(whole != NULL ? whole : block, len, &found);
	free(whole);
	enum smx_status st = n < 0 ? SMX_TEMPFAIL : SMX_OK;
	for (int i = 0; i < n && st == SMX_OK; i++)
		if (takes_protected(dec, found[i].name, found[i].value) &&
		    hdrlist_append(dec->protected, found[i].name,
				   found[i].value) < 0)
			st = SMX_TEMPFAIL;
	smime_hp_found_free(found, n > 0 ? (size_t)n : 0);
	return st;
}

/* Splits the plaintext into the inner headers and the new body. */
static enum smx_status split_plain(struct smime_decrypt *dec,
				   struct spool *plain,
				   struct smx_error *err)
{
	char *buf = malloc(INNER_HEADER_MAX + 1);
	ssize_t got = buf && spool_rewind(plain) == 0
			      ? spool_read(plain, buf, INNER_HEADER_MAX) : -1;
	dec->body = spool_new(dec->threshold, dec->spool_dir, 0);
	if (got < 0 || dec->body == NULL) {
		free(buf);
		smx_error_set(err, "out of memory or spool unreadable");
		return SMX_TEMPFAIL;
	}
	size_t hlen = header_block_len(buf, (size_t)got);
	if (hlen == 0 || parse_inner_headers(dec, buf, hlen) != 0) {
		free(buf);
		smx_error_set(err, "the decrypted content is not a MIME entity");
		return SMX_PERMFAIL;
	}
	/* The header block was cut into strings: read it again for the
	 * look at header protection, and again after it. */
	if (spool_rewind(plain) != 0 ||
	    spool_read(plain, buf, (size_t)got) != got ||
	    find_protected(dec, plain, buf, (size_t)got) != SMX_OK ||
	    spool_rewind(plain) != 0 ||
	    spool_read(plain, buf, (size_t)got) != got) {
		free(buf);
		smx_error_set(err, "out of memory or spool unreadable");
		return SMX_TEMPFAIL;
	}
	bool cr = false;
	int rc = append_crlf(dec->body, buf + hlen, (size_t)got - hlen, &cr);
	ssize_t n = 0;
	while (rc == 0 && (n = spool_read(plain, buf, INNER_HEADER_MAX)) > 0)
		rc = append_crlf(dec->body, buf, (size_t)n, &cr);
	free(buf);
	if (rc != 0 || n < 0) {
		smx_error_set(err, "cannot write the decrypted body");
		return SMX_TEMPFAIL;
	}
	return SMX_OK;
}

/* --- edits ------------------------------------------------------------------ */

/* Which occurrence of its name field i of l is (1 for the first). */
static unsigned occurrence(const struct hdrlist *l, size_t i)
{
	unsigned n = 0;
	for (size_t j = 0; j <= i; j++)
		if (strcasecmp(hdrlist_name(l, j), hdrlist_name(l, i)) == 0)
			n++;
	return n;
}

/* The protected value of name, or NULL when the message protects no
 * such field. */
static const char *protected_value(const struct smime_decrypt *dec,
				   const char *name)
{
	return hdrlist_get(dec->protected, name);
}

/* Whether field i is the first protected field of its name (a repeat
 * does not count). */
static bool first_protected(const struct smime_decrypt *dec, size_t i)
{
	return hdrlist_find(dec->protected, hdrlist_name(dec->protected, i),
			    0) == i;
}

/* The sender fields vouched for outside (SPF, DKIM, DMARC judge the
 * outer From) are not replaced by other mailboxes from inside, which
 * anyone may write: a protected From, Sender or Reply-To is taken only
 * when it names the same addresses, and then gives the display names. */
static bool takes_protected(const struct smime_decrypt *dec,
			    const char *name, const char *value)
{
	static const char *const senders[] = { "From", "Sender", "Reply-To" };
	for (size_t k = 0; k < 3; k++) {
		if (strcasecmp(name, senders[k]) != 0)
			continue;
		const char *outer = outer_header(dec, senders[k]);
		return outer != NULL && hp_same_mailboxes(outer, value);
	}
	return true;
}

static void put_edit(struct smime_decrypt *dec, enum smime_edit_op op,
		     const char *name, unsigned index, const char *value)
{
	dec->edits[dec->n_edits++] = (struct smime_header_edit){
		op, name, index, value };
}

/* With header protection, every outer field the message protects gets
 * the protected value: the first changed in place, any other occurrence
 * deleted (highest first, after the Content-* deletions), and protected
 * fields the outside lacks (removed by the sender's policy) added. The
 * result lists what the reader gets. */
static int build_edits(struct smime_decrypt *dec)
{
	size_t n_outer = hdrlist_count(dec->outer);
	size_t n_inner = hdrlist_count(dec->inner);
	size_t n_protected = hdrlist_count(dec->protected);
	size_t max = n_outer + n_inner + n_protected + 1;
	dec->edits = calloc(max + n_outer, sizeof(*dec->edits));
	dec->result = hdrlist_new(0, 0);
	if (dec->edits == NULL || dec->result == NULL)
		return -1;
	for (size_t i = n_outer; i-- > 0;) {
		const char *name = hdrlist_name(dec->outer, i);
		unsigned index = occurrence(dec->outer, i);
		if (is_content_header(name) ||
		    (protected_value(dec, name) != NULL && index > 1))
			put_edit(dec, SMIME_EDIT_DELETE, name, index, NULL);
	}
	int rc = 0;
	for (size_t i = 0; i < n_outer && rc == 0; i++) {
		const char *name = hdrlist_name(dec->outer, i);
		const char *value = hdrlist_value(dec->outer, i);
		const char *p = protected_value(dec, name);
		if (is_content_header(name) ||
		    (p != NULL && occurrence(dec->outer, i) > 1))
			continue;
		if (p != NULL && strcmp(p, value) != 0)
			put_edit(dec, SMIME_EDIT_CHANGE, name, 1, p);
		rc = hdrlist_append(dec->result, name, p != NULL ? p : value);
	}
	for (size_t i = 0; i < n_protected && rc == 0; i++) {
		const char *name = hdrlist_name(dec->protected, i);
		const char *value = hdrlist_value(dec->protected, i);
		if (outer_header(dec, name) != NULL || !first_protected(dec, i))
			continue;	/* changed above, or a repeat */
		put_edit(dec, SMIME_EDIT_ADD, name, 0, value);
		rc = hdrlist_append(dec->result, name, value);
	}
	for (size_t i = 0; i < n_inner && rc == 0; i++) {
		const char *name = hdrlist_name(dec->inner, i);
		const char *value = hdrlist_value(dec->inner, i);
		put_edit(dec, SMIME_EDIT_ADD, name, 0, value);
		rc = hdrlist_append(dec->result, name, value);
	}
	if (dec->note != NULL && rc == 0) {
		put_edit(dec, SMIME_EDIT_ADD, SMIME_DECRYPTED_HEADER, 0,
			 dec->note);
		rc = hdrlist_append(dec->result, SMIME_DECRYPTED_HEADER,
				    dec->note);
	}
	return rc != 0 ? -1 : 0;
}

/* --- whose keys open the message -------------------------------------------
 * RecipientInfos are not authenticated: anyone can add one for any
 * certificate to a ciphertext, wrapping any key. So a message is opened
 * for a recipient only with that recipient's own RecipientInfo and own
 * private key, and when several recipients' keys are opened, every one
 * must decrypt the content to the same bytes (the same content key). */

/* Recipient entries: one per RecipientInfo, one per recipient of a key
 * agreement. */
static size_t recipient_entries(CMS_ContentInfo *cms)
{
	STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(cms);
	size_t n = 0;
	for (int i = 0; ris && i < sk_CMS_RecipientInfo_num(ris); i++) {
		CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(ris, i);
		STACK_OF(CMS_RecipientEncryptedKey) *reks =
			CMS_RecipientInfo_type(ri) == CMS_RECIPINFO_AGREE
				? CMS_RecipientInfo_kari_get0_reks(ri) : NULL;
		int k = reks ? sk_CMS_RecipientEncryptedKey_num(reks) : 0;
		n += k > 1 ? (size_t)k : 1;
	}
	return n;
}

static enum smx_status refuse(struct smime_decrypt *dec, const char *reason,
			      struct smx_error *err, const char *text)
{
	dec->refusal = reason;
	smx_error_set(err, "%s", text);
	ERR_clear_error();
	return SMX_PERMFAIL;
}

enum smx_status smime_decrypt_check_limits(struct smime_decrypt *dec,
					   struct smx_error *err)
{
	size_t n = dec->cms ? recipient_entries(dec->cms) : 0;
	if (n <= SMIME_DECRYPT_MAX_RECIPIENTS)
		return SMX_OK;
	dec->refusal = "limit";
	smx_error_set(err, "%zu recipient entries, over the limit of %d", n,
		      SMIME_DECRYPT_MAX_RECIPIENTS);
	return SMX_PERMFAIL;
}

/* The first RecipientInfo that names cert (for key agreement, with its
 * entry for cert in *rek_r). Only this one is tried: a message that
 * repeats a recipient costs one private-key operation, not one each. */
static CMS_RecipientInfo *own_recipient_info(CMS_ContentInfo *cms, X509 *cert,
					     CMS_RecipientEncryptedKey **rek_r)
{
	STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(cms);
	*rek_r = NULL;
	for (int i = 0; ris && i < sk_CMS_RecipientInfo_num(ris); i++) {
		CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(ris, i);
		int type = CMS_RecipientInfo_type(ri);
		if (type == CMS_RECIPINFO_TRANS &&
		    CMS_RecipientInfo_ktri_cert_cmp(ri, cert) == 0)
			return ri;
		STACK_OF(CMS_RecipientEncryptedKey) *reks =
			type == CMS_RECIPINFO_AGREE
				? CMS_RecipientInfo_kari_get0_reks(ri) : NULL;
		for (int k = 0; reks && k < sk_CMS_RecipientEncryptedKey_num(reks);
		     k++) {
			CMS_RecipientEncryptedKey *rek =
				sk_CMS_RecipientEncryptedKey_value(reks, k);
			if (CMS_RecipientEncryptedKey_cert_cmp(rek, cert) == 0) {
				*rek_r = rek;
				return ri;
			}
		}
	}
	return NULL;
}

/* Unwraps the content key of ri with key into the CMS object (where the
 * content decryption takes it from). Returns 1 when it unwrapped. */
static int unwrap_content_key(CMS_ContentInfo *cms, CMS_RecipientInfo *ri,
			      CMS_RecipientEncryptedKey *rek, EVP_PKEY *key)
{
	int ok = 0;
	if (rek != NULL) {
		if (CMS_RecipientInfo_kari_set0_pkey_and_peer(ri, key, NULL) == 1)
			ok = CMS_RecipientInfo_kari_decrypt(cms, ri, rek);
		CMS_RecipientInfo_kari_set0_pkey(ri, NULL);
		return ok == 1;
	}
	if (EVP_PKEY_up_ref(key) != 1)
		return 0;
	CMS_RecipientInfo_set0_pkey(ri, key);	/* takes the reference */
	ok = CMS_RecipientInfo_decrypt(cms, ri);
	CMS_RecipientInfo_set0_pkey(ri, NULL);
	return ok == 1;
}

/* Decrypts the content with the key unwrapped last into sink, and puts
 * the plaintext's SHA-256 into md. Returns 1, 0 (does not decrypt: bad
 * padding, authentication tag) or -1 (memory). */
static int decrypt_content(CMS_ContentInfo *cms, BIO *sink,
			   unsigned char md[EVP_MAX_MD_SIZE])
{
	/* A fetched (not const) digest: BIO_set_md's macro casts away
	 * const, which the warnings refuse. Freed after the BIO. */
	EVP_MD *sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	BIO *mdbio = sha256 != NULL ? BIO_new(BIO_f_md()) : NULL;
	if (mdbio == NULL || BIO_set_md(mdbio, sha256) != 1) {
		BIO_free(mdbio);
		EVP_MD_free(sha256);
		return -1;
	}
	BIO_push(mdbio, sink);
	int ok = CMS_decrypt(cms, NULL, NULL, NULL, mdbio, 0) == 1 &&
		 BIO_gets(mdbio, (char *)md, EVP_MAX_MD_SIZE) == 32;
	BIO_pop(mdbio);
	BIO_free(mdbio);
	EVP_MD_free(sha256);
	return ok;
}

/* The content as the unwrapped key decrypts it: into dec->plain for the
 * first key, compared with its digest for every other. */
static enum smx_status open_content(struct smime_decrypt *dec,
				    struct smx_error *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	bool first = dec->n_opened == 0;
	if (first)
		dec->plain = spool_new(dec->threshold, dec->spool_dir,
				       dec->max_bytes);
	BIO *sink = first ? (dec->plain ? smime_bio_spool_sink(dec->plain, false)
					: NULL)
			  : BIO_new(BIO_s_null());
	int ok = sink ? decrypt_content(dec->cms, sink, md) : -1;
	BIO_free(sink);
	if (ok < 0) {
		smx_error_set(err, "out of memory");
		return SMX_TEMPFAIL;
	}
	if (ok == 0)
		return refuse(dec, "unopened", err, "the content key of its "
			      "RecipientInfo does not decrypt the content");
	if (first)
		memcpy(dec->digest, md, sizeof(md));
	else if (CRYPTO_memcmp(dec->digest, md, 32) != 0)
		return refuse(dec, "mismatch", err, "its RecipientInfo holds a "
			      "different content key");
	dec->n_opened++;
	return SMX_OK;
}

enum smx_status smime_decrypt_open(struct smime_decrypt *dec, X509 *cert,
				   EVP_PKEY *key, struct smx_error *err)
{
	if (dec->cms == NULL || dec->ran || dec->refusal != NULL) {
		smx_error_set(err, "nothing to decrypt");
		return SMX_PERMFAIL;
	}
	enum smx_status st = smime_decrypt_check_limits(dec, err);
	if (st != SMX_OK)
		return st;
	CMS_RecipientEncryptedKey *rek = NULL;
	CMS_RecipientInfo *ri = own_recipient_info(dec->cms, cert, &rek);
	if (ri == NULL)
		return refuse(dec, "unopened", err, "no RecipientInfo names "
			      "the certificate");
	if (!unwrap_content_key(dec->cms, ri, rek, key))
		return refuse(dec, "unopened", err, "its RecipientInfo does "
			      "not open with its key");
	return open_content(dec, err);
}

const char *smime_decrypt_refusal(const struct smime_decrypt *dec)
{
	return dec->refusal;
}

/* note, and when header protection gave the header its values, which:
 * "; protected headers: Subject, From, To". */
static char *protected_note(const struct smime_decrypt *dec, const char *note)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		return NULL;
	fputs(note, f);
	for (size_t i = 0; i < hdrlist_count(dec->protected); i++)
		if (first_protected(dec, i))
			fprintf(f, "%s%s", i == 0 ? "; protected headers: "
				: ", ", hdrlist_name(dec->protected, i));
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

enum smx_status smime_decrypt_finish(struct smime_decrypt *dec,
				     const char *note,
				     struct smx_error *err)
{
	if (dec->n_opened == 0 || dec->refusal != NULL || dec->ran) {
		smx_error_set(err, "nothing to decrypt");
		return SMX_PERMFAIL;
	}
	dec->ran = true;
	enum smx_status st = split_plain(dec, dec->plain, err);
	spool_free(&dec->plain);
	if (st == SMX_OK && note != NULL) {
		dec->note = protected_note(dec, note);
		if (dec->note == NULL)
			st = SMX_TEMPFAIL;
	}
	if (st == SMX_OK && build_edits(dec) != 0)
		st = SMX_TEMPFAIL;
	if (st == SMX_TEMPFAIL && err != NULL && err->text[0] == '\0')
		smx_error_set(err, "out of memory");
	dec->done = st == SMX_OK;
	return st;
}

enum smx_status smime_decrypt_run(struct smime_decrypt *dec, X509 *cert,
				  EVP_PKEY *key, const char *note,
				  struct smx_error *err)
{
	enum smx_status st = smime_decrypt_open(dec, cert, key, err);
	if (st != SMX_OK) {
		dec->ran = true;
		return st;
	}
	return smime_decrypt_finish(dec, note, err);
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

const struct hdrlist *smime_decrypt_result_headers(
	const struct smime_decrypt *dec)
{
	return dec->done ? dec->result : NULL;
}

size_t smime_decrypt_protected_count(const struct smime_decrypt *dec)
{
	return dec->done ? hdrlist_count(dec->protected) : 0;
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
	hdrlist_free(&d->outer);
	hdrlist_free(&d->inner);
	hdrlist_free(&d->protected);
	free(d->note);
	CMS_ContentInfo_free(d->cms);
	free(d->edits);
	hdrlist_free(&d->result);
	spool_free(&d->body);
	spool_free(&d->plain);
	free(d->spool_dir);
	free(d);
	*dec = NULL;
}
