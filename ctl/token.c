/* SPDX-License-Identifier: BSD-2-Clause */
/* smimectl import-p12 --to-token: the private key goes into the PKCS#11
 * token of keys.pkcs11_module (with OpenSC's pkcs11-tool), not into the
 * store; the store's key row names it by a PKCS#11 URI. The key object
 * is sensitive and not extractable: from then on only the token uses it
 * (through the daemon's key process). Its CKA_ID and label are the
 * certificate's SHA-256 fingerprint; the certificate goes in beside it
 * with the same ID (libp11 finds an EC key's public point there). */
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "token.h"

#define PKCS11_TOOL "pkcs11-tool"

/* Writes len bytes to a new file path (mode 0600). Returns 0 or -1. */
static int write_private_file(const char *path, const unsigned char *p,
			      size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, p, len);
	return (close(fd) == 0 && n == (ssize_t)len) ? 0 : -1;
}

#define PIN_VARIABLE "SMIMECTL_PKCS11_PIN"

/* Runs argv with the PIN in its environment, where pkcs11-tool reads it
 * (--pin env:NAME): on its command line every local user could read it,
 * and it does not read one from a pipe. Its output goes to our stderr.
 * Returns its exit status, or -1. */
static int run_with_pin(const char *const argv[], const char *pin)
{
	/* execvp's prototype predates const; it does not write argv. */
	union {
		const char *const *in;
		char *const *out;
	} args = { .in = argv };
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(STDERR_FILENO, STDOUT_FILENO);
		if (setenv(PIN_VARIABLE, pin, 1) != 0)
			_exit(127);
		execvp(argv[0], args.out);
		fprintf(stderr, "smimectl: cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* pkcs11-tool --write-object for one object in the token. */
static int write_object(const struct cfg_keys *k, const char *path,
			const char *type, const char *fp, const char *usage1,
			const char *usage2, const char *token_label,
			const char *pin)
{
	const char *argv[24];
	size_t n = 0;
	argv[n++] = PKCS11_TOOL;
	argv[n++] = "--module";
	argv[n++] = k->pkcs11_module;
	argv[n++] = "--login";
	argv[n++] = "--pin";
	argv[n++] = "env:" PIN_VARIABLE;
	argv[n++] = "--write-object";
	argv[n++] = path;
	argv[n++] = "--type";
	argv[n++] = type;
	argv[n++] = "--id";
	argv[n++] = fp;
	argv[n++] = "--label";
	argv[n++] = fp;
	if (strcmp(type, "privkey") == 0)
		argv[n++] = "--sensitive";
	if (usage1 != NULL)
		argv[n++] = usage1;
	if (usage2 != NULL)
		argv[n++] = usage2;
	if (token_label != NULL) {
		argv[n++] = "--token-label";
		argv[n++] = token_label;
	}
	argv[n] = NULL;
	return run_with_pin(argv, pin);
}

/* The URI of the key: its CKA_ID (the fingerprint's bytes), its label,
 * and the token's label when one was named (RFC 7512 percent-encoding
 * for everything but unreserved characters). */
static char *key_uri(const char *fp, const char *token_label)
{
	size_t size = 64 + 3 * 32 + 64 + (token_label ? 3 * strlen(token_label)
						       : 0);
	char *uri = malloc(size), *p = uri;
	if (uri == NULL)
		return NULL;
	p += sprintf(p, "pkcs11:");
	if (token_label != NULL) {
		p += sprintf(p, "token=");
		for (const unsigned char *c = (const unsigned char *)token_label;
		     *c != '\0'; c++)
			p += ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			      (*c >= '0' && *c <= '9') || strchr("-._~", *c))
				     ? sprintf(p, "%c", *c)
				     : sprintf(p, "%%%02X", *c);
		p += sprintf(p, ";");
	}
	p += sprintf(p, "id=");
	for (size_t i = 0; i < 64; i += 2)
		p += sprintf(p, "%%%c%c", fp[i], fp[i + 1]);
	sprintf(p, ";object=%s;type=private", fp);
	return uri;
}

static size_t to_der(EVP_PKEY *key, unsigned char **der_r)
{
	int len = i2d_PrivateKey(key, der_r);
	return len > 0 ? (size_t)len : 0;
}

/* Writes key and certificate into a private temporary directory,
 * then into the token; the files are removed whatever happens. */
static int write_to_token(const struct cfg_keys *k, EVP_PKEY *key,
			  const struct store_cert *c, const char *token_label,
			  const char *pin)
{
	const char *tmp = getenv("TMPDIR");
	char dir[4096], key_path[4200], cert_path[4200];
	snprintf(dir, sizeof(dir), "%s/smimectl-token-XXXXXX",
		 tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		ctl_error("%s: cannot create a temporary directory: %s", dir,
			  strerror(errno));
		return -1;
	}
	snprintf(key_path, sizeof(key_path), "%s/key.der", dir);
	snprintf(cert_path, sizeof(cert_path), "%s/cert.der", dir);
	unsigned char *der = NULL;
	size_t len = to_der(key, &der);
	bool rsa = EVP_PKEY_is_a(key, "RSA");
	int rc = -1;
	if (len == 0 || write_private_file(key_path, der, len) != 0 ||
	    write_private_file(cert_path, c->der, c->der_len) != 0)
		ctl_error("cannot write the key to a temporary file in %s", dir);
	else if (write_object(k, key_path, "privkey", c->fingerprint,
			      "--usage-sign",
			      rsa ? "--usage-decrypt" : "--usage-derive",
			      token_label, pin) != 0)
		ctl_error("%s --write-object failed for the private key "
			  "(module %s)", PKCS11_TOOL, k->pkcs11_module);
	else if (write_object(k, cert_path, "cert", c->fingerprint, NULL,
			      NULL, token_label, pin) != 0)
		ctl_error("%s --write-object failed for the certificate "
			  "(module %s)", PKCS11_TOOL, k->pkcs11_module);
	else
		rc = 0;
	if (der != NULL)
		OPENSSL_clear_free(der, len);
	unlink(key_path);
	unlink(cert_path);
	rmdir(dir);
	return rc;
}

enum smx_status ctl_token_put_key(struct ctl *ctl, EVP_PKEY *key,
				  const struct store_cert *c,
				  const char *token_label)
{
	const struct cfg_keys *k = &ctl->cfg->keys;
	if (k->pkcs11_module == NULL || k->pkcs11_module[0] == '\0') {
		ctl_error("--to-token: keys.pkcs11_module is not set in the "
			  "configuration");
		return SMX_CONFIG;
	}
	char *pin = ctl_password(k->pkcs11_pin_file, "PKCS#11 user PIN: ",
				 false);
	if (pin == NULL)
		return SMX_CONFIG;
	int rc = write_to_token(k, key, c, token_label, pin);
	ctl_password_free(&pin);
	if (rc != 0)
		return SMX_TEMPFAIL;
	char *uri = key_uri(c->fingerprint, token_label);
	enum smx_status st = uri != NULL ? store_key_put_token(
				ctl->store, c->fingerprint, uri) : SMX_TEMPFAIL;
	free(uri);
	return st;
}
