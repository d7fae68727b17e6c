/* SPDX-License-Identifier: BSD-2-Clause */
/* The key process: the only process of the daemon that holds the master
 * key and unsealed private keys. The mail-handling process asks it over a
 * socketpair to sign a digest or to decrypt a key-transport block for an
 * identity named by fingerprint, and gets back only the result. Requests
 * and replies have one fixed size; nothing in them is parsed beyond
 * checking each field's range (keyproc_request_check). */
#ifndef SMX_KEYPROC_H
#define SMX_KEYPROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <smx/cfg.h>
#include <smx/status.h>

#define KEYPROC_MAGIC 0x534d584bu	/* "SMXK" */
#define KEYPROC_MAX_IN 1024		/* RSA up to 8192 bits */
#define KEYPROC_MAX_OUT 1024
#define KEYPROC_MAX_LABEL 256		/* OAEP label, ECDH shared info */
#define KEYPROC_NAME_LEN 16

enum keyproc_op {
	KEYPROC_OP_SIGN = 1,	/* in: the digest of the signed attributes */
	KEYPROC_OP_DECRYPT = 2,	/* in: an RSA-encrypted content key */
	KEYPROC_OP_ENROLL = 3,	/* in: an internal address (no NUL); the
				 * organization CA issues its identity */
	KEYPROC_OP_DERIVE = 4,	/* in: the originator's EC public point;
				 * out: the key-encryption key, by ECDH and
				 * the X9.63 KDF (md, label: shared info,
				 * out_len, padding: cofactor mode 0/1) */
};

#define KEYPROC_MAX_ADDRESS 320
#define KEYPROC_MAX_POINT 133		/* uncompressed P-521 */

/* How the key process answered; also the reply's status field. */
enum keyproc_result {
	KEYPROC_OK = 0,
	KEYPROC_REFUSED = 1,	/* no such usable identity, not allowed */
	KEYPROC_RATE = 2,	/* over keys.process_rate */
	KEYPROC_FAILED = 3,	/* the operation failed (bad block, ...) */
	KEYPROC_UNAVAILABLE = 4,/* store or master key not available */
	KEYPROC_BAD_REQUEST = 5,/* did not pass keyproc_request_check */
};

/* Padding codes: OpenSSL's RSA_PKCS1_PADDING and RSA_PKCS1_OAEP_PADDING;
 * 0 for a key that has no padding (EC); for derive, the ECDH cofactor
 * mode. */
struct keyproc_request {
	uint32_t magic;
	uint32_t op;
	char fingerprint[65];		/* 64 lower-case hex digits, NUL */
	char md[KEYPROC_NAME_LEN];	/* digest signed, or OAEP digest */
	char mgf1[KEYPROC_NAME_LEN];	/* OAEP MGF1 digest, or "" */
	int32_t padding;
	uint32_t out_len;		/* derive: the key length wanted */
	uint32_t label_len;
	unsigned char label[KEYPROC_MAX_LABEL];
	uint32_t in_len;
	unsigned char in[KEYPROC_MAX_IN];
};

struct keyproc_reply {
	uint32_t magic;
	int32_t result;			/* enum keyproc_result */
	uint32_t out_len;
	unsigned char out[KEYPROC_MAX_OUT];
};

/* Checks a received request of len bytes and copies it into *rq: the
 * exact size, the magic, a known operation, a well-formed fingerprint,
 * known digest names, lengths within their arrays, a digest of the named
 * digest's size. Returns false with why filled in otherwise. */
bool keyproc_request_check(const void *buf, size_t len,
			   struct keyproc_request *rq, char *why, size_t size);

/* The digest names a request may carry ("" for none). */
bool keyproc_md_known(const char *name);

/* --- the key process ---------------------------------------------------- */

/* The most lanes (socket pairs, each served by a thread of the key
 * process) the daemon opens: one per CPU up to this. */
#define KEYPROC_MAX_LANES 8

/* Runs the key process on the lanes fd, fd + 1, ... fd + lanes - 1 (ends
 * of SOCK_SEQPACKET socketpairs) with the configuration cfg (borrowed):
 * hardens itself, opens the store with the master key and answers
 * requests, each lane in its own thread, until the other ends close.
 * Returns the exit code. */
int keyproc_serve(int fd, unsigned lanes, const struct cfg *cfg);

/* --- the mail-handling process ------------------------------------------ */

/* Starts the key process (this program, re-executed with -K) and a thread
 * that restarts it whenever it dies. Installs the OpenSSL provider that
 * forwards private-key operations to it. Returns 0, or -1 with a log
 * line. */
int keyproc_client_start(const char *config_path, bool foreground);

/* Stops the key process and the restart thread, and unloads the key
 * handles' provider (call it after the caches holding handles are
 * cleared). */
void keyproc_client_stop(void);

/* Starts a new key process, which reads the configuration afresh, and
 * hands it the requests from now on; the old one ends when it has
 * answered (a reload). Nothing is refused meanwhile. */
void keyproc_client_replace(void);

/* Whether keyproc_client_start ran and private keys are reached through
 * the key process. */
bool keyproc_client_active(void);

/* Sends rq and waits for the reply. SMX_OK with *rp filled in (its result
 * may still be a refusal); SMX_TEMPFAIL when the key process could not be
 * reached or died meanwhile (it is being restarted). */
enum smx_status keyproc_call(const struct keyproc_request *rq,
			     struct keyproc_reply *rp);

/* A private-key handle for the identity with this fingerprint whose
 * certificate is cert: an EVP_PKEY that OpenSSL signs and decrypts with
 * like any other, through the key process. NULL on failure. */
EVP_PKEY *keyproc_pkey_new(const char *fingerprint, X509 *cert);

struct ca_issued;

/* Auto-enrollment through the key process, which alone can use the CA's
 * key and seal the new private key: ca_issue() for address. Returns what
 * ca_issue returned (SMX_TEMPFAIL when the key process did not answer),
 * with *out filled in on SMX_OK. */
enum smx_status keyproc_enroll(const char *address, struct ca_issued *out);

/* Whether the key process failed to answer (transport failure or death)
 * for an operation on this thread since the last call; clears the flag.
 * Lets a caller turn OpenSSL's generic failure into a temporary one. */
bool keyproc_take_failure(void);

#endif
