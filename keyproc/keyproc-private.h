/* SPDX-License-Identifier: BSD-2-Clause */
/* Shared inside the keyproc library. Not installed. */
#ifndef SMX_KEYPROC_PRIVATE_H
#define SMX_KEYPROC_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>

#include <smx/ca.h>
#include <smx/cfg.h>
#include <smx/status.h>

/* The reply to an enrollment request, in its out bytes. */
struct keyproc_enrolled {
	int32_t status;		/* enum smx_status of ca_issue */
	struct ca_issued issued;
};

/* Keys in a PKCS#11 token (keyproc-token.c). */
struct keyproc_token;

/* Sets up the token of keys.pkcs11_module with the PIN of
 * keys.pkcs11_pin_file (logged when it cannot be; retried later).
 * NULL when no module is configured. */
struct keyproc_token *keyproc_token_open(const struct cfg *cfg);

/* The private key named by a PKCS#11 URI, whose operations the token
 * performs; the caller frees it. NULL when the token, its module or the
 * key cannot be used (logged once until it works again). The key
 * process's lanes call it, and keyproc_token_failing, under one lock. */
EVP_PKEY *keyproc_token_key(struct keyproc_token *t, const char *uri);

/* Whether the token's failure has been logged already (or no token is
 * configured): the caller need not log it again. */
bool keyproc_token_failing(const struct keyproc_token *t);

/* ECDH with a token's key (ctx made from it) and the originator's
 * public key peer, then the X9.63 KDF with digest md and shared info ukm
 * (ukm_len bytes; 0: none) into out_len bytes of out: the key-encryption
 * key. The shared secret stays in this function. Returns 0 or -1. */
int keyproc_token_derive(EVP_PKEY_CTX *ctx, EVP_PKEY *peer, const char *md,
			 const unsigned char *ukm, size_t ukm_len,
			 int cofactor, unsigned char *out, size_t out_len);

void keyproc_token_close(struct keyproc_token **t);

/* Installs the key process's seccomp filter (after NO_NEW_PRIVS).
 * Returns 0, or -1 with errno set. */
int keyproc_seccomp(void);

/* Registers and loads the forwarding provider (once). Returns 0 or -1. */
/* LeakSanitizer checks a process at exit by stopping its threads with
 * ptrace: a sanitizer build keeps the key process traceable (dumpable,
 * ptrace not filtered) so that the check can run. Release builds never
 * are. */
#if defined(__SANITIZE_ADDRESS__)
#define KEYPROC_TRACEABLE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define KEYPROC_TRACEABLE 1
#endif
#endif
#ifndef KEYPROC_TRACEABLE
#define KEYPROC_TRACEABLE 0
#endif

int keyproc_provider_load(void);

/* Unloads what keyproc_provider_load loaded: only once no key handle
 * is left (the daemon's caches are cleared before its client stops). */
void keyproc_provider_unload(void);

/* Marks a failure to reach the key process on this thread. */
void keyproc_note_failure(void);

#endif
