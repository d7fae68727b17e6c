/* SPDX-License-Identifier: BSD-2-Clause */
#include "p12.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>

#include "ctl.h"

void p12_load_providers(struct p12_providers *pv)
{
	/* Loading "legacy" replaces the implicit default: load both. */
	pv->def = OSSL_PROVIDER_load(NULL, "default");
	ERR_set_mark();
	pv->legacy = OSSL_PROVIDER_load(NULL, "legacy");
	ERR_pop_to_mark();
}

void p12_unload_providers(struct p12_providers *pv)
{
	if (pv->legacy != NULL)
		OSSL_PROVIDER_unload(pv->legacy);
	if (pv->def != NULL)
		OSSL_PROVIDER_unload(pv->def);
	pv->legacy = pv->def = NULL;
}

void p12_identity_clear(struct p12_identity *id)
{
	EVP_PKEY_free(id->key);
	X509_free(id->cert);
	sk_X509_pop_free(id->chain, X509_free);
	memset(id, 0, sizeof(*id));
}

static const char *ossl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	return r ? r : "unknown error";
}

static bool mac_ok(PKCS12 *p12, const char *pass)
{
	if (!PKCS12_mac_present(p12))
		return true;
	if (PKCS12_verify_mac(p12, pass, -1))
		return true;
	return pass[0] == '\0' && PKCS12_verify_mac(p12, NULL, 0);
}

static int parse_mem(const char *path, const unsigned char *buf, size_t len,
		     const char *pass, struct p12_identity *id)
{
	const unsigned char *p = buf;
	int rc = -1;
	PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)len);
	memset(id, 0, sizeof(*id));
	if (p12 == NULL) {
		ctl_error("%s: not a PKCS#12 file", path);
		goto done;
	}
	if (!mac_ok(p12, pass)) {
		ctl_error("%s: wrong password (the PKCS#12 integrity check "
			  "failed)", path);
		goto done;
	}
	if (!PKCS12_parse(p12, pass, &id->key, &id->cert, &id->chain)) {
		ctl_error("%s: cannot decrypt the PKCS#12 contents: %s", path,
			  ossl_reason());
		goto done;
	}
	if (id->key == NULL || id->cert == NULL) {
		ctl_error("%s: the PKCS#12 file holds no %s", path,
			  id->key ? "certificate" : "private key");
		goto done;
	}
	rc = 0;
done:
	if (rc != 0)
		p12_identity_clear(id);
	PKCS12_free(p12);
	ERR_clear_error();
	return rc;
}

int p12_read(const char *path, const char *pass, struct p12_identity *id)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	memset(id, 0, sizeof(*id));
	if (ctl_read_file(path, &buf, &len) != 0)
		return -1;
	int rc = parse_mem(path, buf, len, pass, id);
	OPENSSL_clear_free(buf, len);
	return rc;
}

static PKCS12 *build(const char *pass, const char *friendly,
		     const struct p12_identity *id, bool legacy)
{
	int nid = legacy ? NID_pbe_WithSHA1And3_Key_TripleDES_CBC : 0;
	PKCS12 *p12 = PKCS12_create(pass, friendly, id->key, id->cert,
				    id->chain, nid, nid, PKCS12_DEFAULT_ITER,
				    legacy ? -1 : PKCS12_DEFAULT_ITER, 0);
	if (p12 != NULL && legacy &&
	    !PKCS12_set_mac(p12, pass, -1, NULL, 0, PKCS12_DEFAULT_ITER,
			    EVP_sha1())) {
		PKCS12_free(p12);
		p12 = NULL;
	}
	return p12;
}

static int write_all(int fd, const unsigned char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads the written file back and checks it holds the same identity. */
static int verify_written(const char *tmp, const char *path, const char *pass,
			  const struct p12_identity *id)
{
	struct p12_identity back;
	if (p12_read(tmp, pass, &back) != 0) {
		ctl_error("%s: the written file does not read back", path);
		return -1;
	}
	int ok = X509_cmp(back.cert, id->cert) == 0 &&
		 EVP_PKEY_eq(back.key, id->key) == 1;
	p12_identity_clear(&back);
	if (!ok)
		ctl_error("%s: the written file holds a different identity",
			  path);
	return ok ? 0 : -1;
}

static void sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd = copy ? open(dirname(copy), O_RDONLY | O_DIRECTORY) : -1;
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

int p12_write(const char *path, const char *pass, const char *friendly,
	      const struct p12_identity *id, bool legacy)
{
	unsigned char *der = NULL;
	int len = -1, fd = -1, rc = -1;
	char tmp[4096];
	PKCS12 *p12 = build(pass, friendly, id, legacy);
	if (p12 == NULL || (len = i2d_PKCS12(p12, &der)) <= 0) {
		ctl_error("%s: cannot build the PKCS#12: %s", path,
			  ossl_reason());
		goto done;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= (int)sizeof(tmp) ||
	    (fd = mkstemp(tmp)) < 0) {
		ctl_error("%s: cannot create a file next to it: %s", path,
			  strerror(errno));
		goto done;
	}
	if (write_all(fd, der, (size_t)len) != 0 || fsync(fd) != 0 ||
	    close(fd) != 0) {
		fd = -1;
		ctl_error("%s: write error: %s", path, strerror(errno));
		goto unlink_tmp;
	}
	fd = -1;
	if (verify_written(tmp, path, pass, id) != 0)
		goto unlink_tmp;
	if (link(tmp, path) != 0) {
		ctl_error("%s: %s", path, errno == EEXIST
			  ? "exists already: will not overwrite it"
			  : strerror(errno));
		goto unlink_tmp;
	}
	sync_dir(path);
	rc = 0;
unlink_tmp:
	unlink(tmp);
done:
	if (fd >= 0)
		close(fd);
	if (der != NULL)
		OPENSSL_clear_free(der, (size_t)len);
	PKCS12_free(p12);
	ERR_clear_error();
	return rc;
}
