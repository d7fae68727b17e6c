/* SPDX-License-Identifier: BSD-2-Clause */
/* Fuzz target: PKCS#12 import as `smimectl import-p12` does it
 * (ctl/p12.c: parse, integrity check, decryption, key and certificate
 * extraction; then the checks import_checked makes before storing: the
 * certificate parses as the store's record, the key matches it, the key
 * converts to PKCS#8), tried with the right password ("seed-pass", what
 * the seeds were made with), a wrong one and the empty one. An identity
 * that imports is exported again with p12_write (modern and legacy
 * forms), which reads its own file back.
 *
 * Invariants: a successful read yields a key and a certificate, a
 * failed one leaves nothing behind; an identity that passes the import
 * checks exports in both forms and reads back as itself.
 *
 * ctl_error prints every refusal on stderr; the harness points the
 * stdio stream elsewhere so that libFuzzer's output stays readable
 * (sanitizer reports go to file descriptor 2 directly, unaffected). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include <smx/store.h>

#include "fuzz_util.h"
#include "p12.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct p12_providers providers;
static bool ready;

static void setup(void)
{
	if (ready)
		return;
	p12_load_providers(&providers);
	if (getenv("FUZZ_P12_VERBOSE") == NULL) {
		FILE *sink = fopen("/dev/null", "w");
		if (sink != NULL)
			stderr = sink;
	}
	ready = true;
}

/* The checks smimectl makes on an identity before it stores it. */
static bool importable(const struct p12_identity *id)
{
	unsigned char *der = NULL;
	int len = i2d_X509(id->cert, &der);
	struct store_cert *c = NULL;
	bool ok = len > 0 &&
		  store_cert_parse(der, (size_t)len, &c) == SMX_OK &&
		  c->n_emails > 0 &&
		  X509_check_private_key(id->cert, id->key) == 1;
	if (ok) {
		PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(id->key);
		unsigned char *p8der = NULL;
		int p8len = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, &p8der) : -1;
		ok = p8len > 0;
		OPENSSL_clear_free(p8der, p8len > 0 ? (size_t)p8len : 0);
		PKCS8_PRIV_KEY_INFO_free(p8);
	}
	store_cert_free(&c);
	OPENSSL_free(der);
	ERR_clear_error();
	return ok;
}

/* Exports the identity and checks the file reads back as the same one
 * (p12_write compares key and certificate itself). */
static void export_again(const struct p12_identity *id, bool legacy)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/export.p12", fuzz_scratch_dir());
	unlink(path);
	if (p12_write(path, "export-pass", "fuzz@example.com", id,
		      legacy) != 0)
		abort();
	unlink(path);
}

static void try_password(const char *path, const char *pass, bool *imported)
{
	struct p12_identity id;
	memset(&id, 0x5a, sizeof(id));
	int rc = p12_read(path, pass, &id);
	if (rc != 0) {
		if (id.key != NULL || id.cert != NULL || id.chain != NULL)
			abort();	/* a failure leaves nothing behind */
		return;
	}
	if (id.key == NULL || id.cert == NULL)
		abort();
	if (importable(&id) && !*imported) {
		*imported = true;
		export_again(&id, false);
		export_again(&id, true);
	}
	p12_identity_clear(&id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	int fd = memfd_create("fuzz-p12", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	bool imported = false;
	try_password(path, "seed-pass", &imported);
	try_password(path, "wrong-pass", &imported);
	try_password(path, "", &imported);
	close(fd);
	ERR_clear_error();
	return 0;
}
