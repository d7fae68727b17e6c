/* SPDX-License-Identifier: BSD-2-Clause */
/* Private keys in a PKCS#11 token (an HSM), used by the key process
 * through libp11's OpenSSL engine ("pkcs11", libengine-pkcs11-openssl):
 * OpenSSL 3 on Debian 12 has no PKCS#11 provider. The engine returns an
 * EVP_PKEY whose operations the token performs; the key never leaves
 * it. The ENGINE API is deprecated in OpenSSL 3: this file alone uses
 * it, so it alone silences those warnings. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/engine.h>
#include <openssl/kdf.h>
#include <openssl/err.h>
#include <openssl/ui.h>

#include <smx/log.h>

#include "keyproc-private.h"

#define PIN_MAX 256
#define RETRY_SECONDS 60	/* between attempts to set up the engine */

struct keyproc_token {
	const char *module;	/* the configuration's */
	const char *pin_file;
	ENGINE *engine;		/* initialised, or NULL */
	UI_METHOD *no_prompt;	/* never asks anyone for a PIN */
	time_t tried;		/* last attempt to set it up */
	bool failing;		/* the last failure was logged */
};

/* The PIN: the first line of a regular file that neither group nor
 * others may access (as the master key file). Returns 0, or -1 after
 * logging why. */
static int read_pin(const char *path, char *pin, size_t size, int level)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		smx_log(level, "%s: cannot open the PKCS#11 PIN file: %s",
			path, strerror(errno));
		return -1;
	}
	int rc = -1;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		smx_log(level, "%s: the PKCS#11 PIN file is not a regular "
			"file", path);
	} else if ((sb.st_mode & 077) != 0) {
		smx_log(level, "%s: the PKCS#11 PIN file is accessible by "
			"group or others (mode %04o): run chmod 600 on it",
			path, (unsigned)(sb.st_mode & 07777));
	} else {
		ssize_t n = read(fd, pin, size - 1);
		if (n < 0)
			smx_log(level, "%s: %s", path, strerror(errno));
		else {
			pin[n] = '\0';
			pin[strcspn(pin, "\r\n")] = '\0';
			rc = pin[0] != '\0' ? 0 : -1;
			if (rc != 0)
				smx_log(level, "%s: the PKCS#11 PIN file is "
					"empty", path);
		}
	}
	close(fd);
	return rc;
}

static const char *openssl_reason(char *buf, size_t size)
{
	unsigned long e = ERR_peek_last_error();
	if (e == 0)
		return "no detail";
	ERR_error_string_n(e, buf, size);
	return buf;
}

/* Loads the engine, points it at the module, gives it the PIN and
 * initialises it (which loads the module). Logs what failed. */
static ENGINE *engine_setup(const struct keyproc_token *t, bool report)
{
	int level = report ? LOG_ERR : LOG_DEBUG;
	char pin[PIN_MAX], reason[160];
	ENGINE *e = ENGINE_by_id("pkcs11");
	if (e == NULL) {
		smx_log(level, "key process: the OpenSSL engine \"pkcs11\" "
			"(libengine-pkcs11-openssl) cannot be loaded (%s)",
			openssl_reason(reason, sizeof(reason)));
		ERR_clear_error();
		return NULL;
	}
	int ok = read_pin(t->pin_file, pin, sizeof(pin), level) == 0 &&
		 ENGINE_ctrl_cmd_string(e, "MODULE_PATH", t->module, 0) == 1 &&
		 ENGINE_ctrl_cmd_string(e, "PIN", pin, 0) == 1 &&
		 ENGINE_init(e) == 1;
	OPENSSL_cleanse(pin, sizeof(pin));
	if (!ok)
		smx_log(level, "key process: the PKCS#11 module %s cannot "
			"be used (%s)", t->module,
			openssl_reason(reason, sizeof(reason)));
	ERR_clear_error();
	ENGINE_free(e);		/* the functional reference stays */
	return ok ? e : NULL;
}

static void engine_drop(struct keyproc_token *t)
{
	if (t->engine != NULL)
		ENGINE_finish(t->engine);
	t->engine = NULL;
}

/* The engine, set up now or before; NULL while it cannot be (a module
 * that does not load, an unreadable PIN file: tried again at most once
 * every RETRY_SECONDS). */
static ENGINE *engine_ready(struct keyproc_token *t)
{
	if (t->engine != NULL)
		return t->engine;
	time_t now = time(NULL);
	if (t->tried != 0 && now - t->tried < RETRY_SECONDS)
		return NULL;
	t->tried = now;
	t->engine = engine_setup(t, !t->failing);
	return t->engine;
}

/* The PIN comes from the PIN file only: when the token refuses it, the
 * engine must not fall back to asking on a terminal. */
static int refuse_prompt(UI *ui, UI_STRING *uis)
{
	(void)ui;
	(void)uis;
	return -1;
}

struct keyproc_token *keyproc_token_open(const struct cfg *cfg)
{
	const char *module = cfg->keys.pkcs11_module;
	if (module == NULL || module[0] == '\0')
		return NULL;
	struct keyproc_token *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->module = module;
	t->pin_file = cfg->keys.pkcs11_pin_file;
	t->no_prompt = UI_create_method("smime-milter key process");
	if (t->no_prompt == NULL ||
	    UI_method_set_reader(t->no_prompt, refuse_prompt) != 0) {
		keyproc_token_close(&t);
		return NULL;
	}
	/* Before the seccomp filter and at start: a wrong module or PIN
	 * file shows in the log at once. */
	if (engine_ready(t) == NULL)
		t->failing = true;
	else
		smx_log(LOG_INFO, "key process: PKCS#11 module %s loaded",
			module);
	return t;
}

/* A failure is logged once until the token works again: a token that
 * is down must not flood the log with one line per message. */
static void note_failure(struct keyproc_token *t, const char *uri,
			 const char *why)
{
	if (!t->failing)
		smx_log(LOG_ERR, "key process: the key %s in the PKCS#11 "
			"token is unavailable (%s); signing and decryption "
			"with token keys fail until it is back", uri, why);
	t->failing = true;
}

EVP_PKEY *keyproc_token_key(struct keyproc_token *t, const char *uri)
{
	char reason[160];
	static bool no_module_logged;	/* under the key process's lock */
	if (t == NULL) {
		if (!no_module_logged)
			smx_log(LOG_ERR, "key process: the key %s is in a "
				"PKCS#11 token, but keys.pkcs11_module is not "
				"set", uri);
		no_module_logged = true;
		return NULL;
	}
	ENGINE *e = engine_ready(t);
	if (e == NULL) {
		note_failure(t, uri, "the module cannot be used");
		return NULL;
	}
	EVP_PKEY *key = ENGINE_load_private_key(e, uri, t->no_prompt, NULL);
	if (key == NULL) {
		/* The engine stays: libp11 forgets a PIN the token refused
		 * and then asks no_prompt, which refuses, so a wrong PIN is
		 * tried once, not at every message. */
		note_failure(t, uri, openssl_reason(reason, sizeof(reason)));
	} else if (t->failing) {
		smx_log(LOG_NOTICE, "key process: the PKCS#11 token is "
			"available again");
		t->failing = false;
	}
	ERR_clear_error();
	return key;
}

int keyproc_token_derive(EVP_PKEY_CTX *ctx, EVP_PKEY *peer, const char *md,
			 const unsigned char *ukm, size_t ukm_len,
			 int cofactor, unsigned char *out, size_t out_len)
{
	unsigned char z[133];	/* the shared secret: up to P-521 */
	size_t z_len = sizeof(z);
	int ok = EVP_PKEY_derive_init(ctx) == 1 &&
		 (cofactor == 0 ||
		  EVP_PKEY_CTX_set_ecdh_cofactor_mode(ctx, cofactor) == 1) &&
		 EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
		 EVP_PKEY_derive(ctx, z, &z_len) == 1;
	EVP_KDF *kdf = ok ? EVP_KDF_fetch(NULL, OSSL_KDF_NAME_X963KDF, NULL)
			  : NULL;
	EVP_KDF_CTX *kctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
	char digest[32];
	snprintf(digest, sizeof(digest), "%s", md);
	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string(OSSL_KDF_PARAM_DIGEST, digest,
				       strlen(digest)),
		OSSL_PARAM_octet_string(OSSL_KDF_PARAM_KEY, z, z_len),
		OSSL_PARAM_octet_string(OSSL_KDF_PARAM_INFO,
					(unsigned char *)(uintptr_t)ukm,
					ukm_len),
		OSSL_PARAM_END
	};
	if (ukm_len == 0)
		params[2] = (OSSL_PARAM)OSSL_PARAM_END;
	ok = kctx != NULL &&
	     EVP_KDF_derive(kctx, out, out_len, params) == 1;
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	OPENSSL_cleanse(z, sizeof(z));
	return ok ? 0 : -1;
}

bool keyproc_token_failing(const struct keyproc_token *t)
{
	return t == NULL || t->failing;
}

void keyproc_token_close(struct keyproc_token **t)
{
	if (t == NULL || *t == NULL)
		return;
	engine_drop(*t);
	UI_destroy_method((*t)->no_prompt);
	free(*t);
	*t = NULL;
}
