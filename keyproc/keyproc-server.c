/* SPDX-License-Identifier: BSD-2-Clause */
/* The key process. It holds the master key and the private keys it has
 * unsealed, answers fixed-size requests on its lanes (one socket and one
 * thread each, so that parallel messages use every CPU), and does nothing
 * else: no listening socket, no mail, no core dumps, no new privileges,
 * and a seccomp filter that forbids running programs, tracing and
 * accepting connections. It signs only for identities of the store that
 * hold a key and are valid and not revoked now, and decrypts only with
 * keys of internal users' certificates; each refusal is logged. */
#include <smx/keyproc.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include <smx/ca.h>
#include <smx/log.h>
#include <smx/mailaddr.h>
#include <smx/store.h>
#include <smx/x509.h>

#include "keyproc-private.h"

#define KEY_TTL 300		/* seconds an unsealed key is kept */
#define KEY_SLOTS 64

struct held_key {
	char fingerprint[65];
	EVP_PKEY *key;
	time_t loaded;
};

/* Shared by the lanes' threads; lock guards everything below cfg (the
 * store itself is thread-safe once open). */
struct server {
	const struct cfg *cfg;
	pthread_mutex_t lock;
	struct store *store;
	struct held_key keys[KEY_SLOTS];
	double tokens;		/* rate limit: a bucket of keys.process_rate */
	struct timespec refilled;
	time_t store_tried;	/* last attempt to open a closed store */
	bool store_reported;	/* its failure was logged */
	struct keyproc_token *token;	/* keys.pkcs11_module, or NULL */
};

static void held_clear(struct held_key *h)
{
	EVP_PKEY_free(h->key);
	memset(h, 0, sizeof(*h));
}

/* The key of fp when its row names one in a PKCS#11 token: *in_token
 * says whether it does. */
static EVP_PKEY *token_key(struct server *sv, const char *fp, bool *in_token)
{
	char *uri = NULL;
	*in_token = store_key_token_uri(sv->store, fp, &uri) == SMX_OK &&
		    uri != NULL;
	EVP_PKEY *key = *in_token ? keyproc_token_key(sv->token, uri) : NULL;
	free(uri);
	return key;
}

static EVP_PKEY *unseal_key(struct server *sv, const char *fp,
			   bool *in_token)
{
	EVP_PKEY *from_token = token_key(sv, fp, in_token);
	if (*in_token)
		return from_token;
	unsigned char *pkcs8 = NULL;
	size_t len = 0;
	if (store_key_get(sv->store, fp, &pkcs8, &len) != SMX_OK)
		return NULL;
	EVP_PKEY *key = smx_x509_key_parse(pkcs8, len, NULL, 0);
	store_secret_free(&pkcs8, len);
	return key;
}

static EVP_PKEY *held_key_for(struct server *sv, const char *fp,
			      bool *in_token);

/* The key for fp, unsealed now or within KEY_TTL seconds; the caller
 * frees its reference (a slot may be reused by another lane meanwhile).
 * Without a key, the failure is logged, for a token's key only while
 * the token was not already known to fail. */
static EVP_PKEY *key_for(struct server *sv, const char *fp)
{
	bool in_token = false;
	pthread_mutex_lock(&sv->lock);
	EVP_PKEY *key = held_key_for(sv, fp, &in_token);
	if (key != NULL && EVP_PKEY_up_ref(key) != 1)
		key = NULL;
	if (key == NULL && (!in_token || !keyproc_token_failing(sv->token)))
		smx_log(LOG_ERR, "key process: the key of %s cannot be %s", fp,
			in_token ? "loaded from the PKCS#11 token"
				 : "unsealed");
	pthread_mutex_unlock(&sv->lock);
	return key;
}

/* key_for's work, with sv->lock held. */
static EVP_PKEY *held_key_for(struct server *sv, const char *fp,
			      bool *in_token)
{
	time_t now = time(NULL);
	size_t slot = 0;
	for (size_t i = 0; i < KEY_SLOTS; i++) {
		struct held_key *h = &sv->keys[i];
		if (h->key != NULL && strcmp(h->fingerprint, fp) == 0) {
			if (now - h->loaded < KEY_TTL)
				return h->key;
			held_clear(h);
		}
		if (sv->keys[i].key == NULL || h->loaded < sv->keys[slot].loaded)
			slot = i;
	}
	EVP_PKEY *key = unseal_key(sv, fp, in_token);
	if (key == NULL)
		return NULL;
	held_clear(&sv->keys[slot]);
	sv->keys[slot].key = key;
	sv->keys[slot].loaded = now;
	memcpy(sv->keys[slot].fingerprint, fp, 65);
	return key;
}

static bool internal(const struct cfg *cfg, const struct store_cert *c)
{
	for (size_t i = 0; i < c->n_emails; i++)
		if (mailaddr_domain_in(mailaddr_domain(c->emails[i]),
				       cfg->milter.internal_domains,
				       cfg->milter.n_internal_domains))
			return true;
	return false;
}

/* Whether the store allows op with fp's key now; why says why not. */
static enum keyproc_result allowed(struct server *sv,
				   const struct keyproc_request *rq,
				   char *why, size_t size)
{
	struct store_cert *c = NULL;
	enum smx_status st = store_cert_get(sv->store, rq->fingerprint, &c);
	enum keyproc_result r = KEYPROC_REFUSED;
	int64_t now = (int64_t)time(NULL);
	if (st != SMX_OK && st != SMX_NOTFOUND) {
		snprintf(why, size, "store unavailable (%s)",
			 smx_status_name(st));
		r = KEYPROC_UNAVAILABLE;
	} else if (c == NULL)
		snprintf(why, size, "no such certificate");
	else if (!c->has_key)
		snprintf(why, size, "no key held");
	else if (c->revoked)
		snprintf(why, size, "revoked");
	else if (rq->op == KEYPROC_OP_SIGN &&
		 (now < c->not_before || now > c->not_after))
		snprintf(why, size, "not valid now");
	else if (rq->op != KEYPROC_OP_SIGN && !internal(sv->cfg, c))
		snprintf(why, size, "not an internal user's certificate");
	else
		r = KEYPROC_OK;
	store_cert_free(&c);
	return r;
}

static bool take_token(struct server *sv);

static bool rate_ok(struct server *sv)
{
	pthread_mutex_lock(&sv->lock);
	bool ok = take_token(sv);
	pthread_mutex_unlock(&sv->lock);
	return ok;
}

/* rate_ok's work, with sv->lock held: one token of the bucket. */
static bool take_token(struct server *sv)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double rate = sv->cfg->keys.process_rate;
	double dt = (double)(now.tv_sec - sv->refilled.tv_sec) +
		    (double)(now.tv_nsec - sv->refilled.tv_nsec) / 1e9;
	sv->refilled = now;
	sv->tokens += dt * rate;
	if (sv->tokens > rate)
		sv->tokens = rate;
	if (sv->tokens < 1.0)
		return false;
	sv->tokens -= 1.0;
	return true;
}

static enum keyproc_result sign(EVP_PKEY *key, const struct keyproc_request *rq,
				struct keyproc_reply *rp)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
	size_t len = sizeof(rp->out);
	bool rsa = EVP_PKEY_is_a(key, "RSA");
	int ok = ctx != NULL && EVP_PKEY_sign_init(ctx) == 1 &&
		 (rsa == (rq->padding == RSA_PKCS1_PADDING)) &&
		 (!rsa || EVP_PKEY_CTX_set_rsa_padding(ctx, rq->padding) == 1) &&
		 EVP_PKEY_CTX_set_signature_md(ctx, EVP_get_digestbyname(rq->md))
			 == 1 &&
		 EVP_PKEY_sign(ctx, rp->out, &len, rq->in, rq->in_len) == 1;
	EVP_PKEY_CTX_free(ctx);
	rp->out_len = ok ? (uint32_t)len : 0;
	return ok ? KEYPROC_OK : KEYPROC_FAILED;
}

static int oaep_setup(EVP_PKEY_CTX *ctx, const struct keyproc_request *rq)
{
	if (rq->padding != RSA_PKCS1_OAEP_PADDING)
		return 1;
	if ((rq->md[0] && EVP_PKEY_CTX_set_rsa_oaep_md_name(ctx, rq->md,
							    NULL) != 1) ||
	    (rq->mgf1[0] && EVP_PKEY_CTX_set_rsa_mgf1_md_name(ctx, rq->mgf1,
							      NULL) != 1))
		return 0;
	if (rq->label_len == 0)
		return 1;
	unsigned char *label = OPENSSL_memdup(rq->label, rq->label_len);
	if (label == NULL || EVP_PKEY_CTX_set0_rsa_oaep_label(
			ctx, label, (int)rq->label_len) != 1) {
		OPENSSL_free(label);
		return 0;
	}
	return 1;
}

static enum keyproc_result decrypt(EVP_PKEY *key,
				   const struct keyproc_request *rq,
				   struct keyproc_reply *rp)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
	size_t len = sizeof(rp->out);
	int ok = ctx != NULL && EVP_PKEY_is_a(key, "RSA") &&
		 EVP_PKEY_decrypt_init(ctx) == 1 &&
		 EVP_PKEY_CTX_set_rsa_padding(ctx, rq->padding) == 1 &&
		 oaep_setup(ctx, rq) &&
		 EVP_PKEY_decrypt(ctx, rp->out, &len, rq->in, rq->in_len) == 1;
	EVP_PKEY_CTX_free(ctx);
	rp->out_len = ok ? (uint32_t)len : 0;
	return ok ? KEYPROC_OK : KEYPROC_FAILED;
}

static EVP_PKEY *peer_key(EVP_PKEY *key, const struct keyproc_request *rq)
{
	char group[64] = "";
	unsigned char point[KEYPROC_MAX_POINT];
	EVP_PKEY *peer = NULL;
	if (EVP_PKEY_get_group_name(key, group, sizeof(group), NULL) != 1)
		return NULL;
	memcpy(point, rq->in, rq->in_len);
	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group,
				       strlen(group)),
		OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point,
					rq->in_len),
		OSSL_PARAM_END
	};
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &peer, EVP_PKEY_PUBLIC_KEY, params) != 1)
		peer = NULL;
	EVP_PKEY_CTX_free(ctx);
	return peer;
}

/* ECDH with the originator's public key, then the X9.63 KDF: the
 * key-encryption key of a key-agreement RecipientInfo. */
static enum keyproc_result derive(EVP_PKEY *key,
				  const struct keyproc_request *rq,
				  struct keyproc_reply *rp)
{
	char kdf[] = OSSL_KDF_NAME_X963KDF, md[KEYPROC_NAME_LEN];
	unsigned char ukm[KEYPROC_MAX_LABEL];
	size_t outlen = rq->out_len, len = rq->out_len;
	int cofactor = rq->padding;
	memcpy(md, rq->md, sizeof(md));
	memcpy(ukm, rq->label, rq->label_len);
	OSSL_PARAM params[] = {
		OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_TYPE, kdf,
				       strlen(kdf)),
		OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_DIGEST, md,
				       strlen(md)),
		OSSL_PARAM_size_t(OSSL_EXCHANGE_PARAM_KDF_OUTLEN, &outlen),
		OSSL_PARAM_int(OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE,
			       &cofactor),
		OSSL_PARAM_octet_string(OSSL_EXCHANGE_PARAM_KDF_UKM, ukm,
					rq->label_len),
		OSSL_PARAM_END
	};
	if (rq->label_len == 0)
		params[4] = (OSSL_PARAM)OSSL_PARAM_END;
	EVP_PKEY *peer = EVP_PKEY_is_a(key, "EC") ? peer_key(key, rq) : NULL;
	EVP_PKEY_CTX *ctx = peer != NULL ? EVP_PKEY_CTX_new(key, NULL) : NULL;
	int ok;
	if (ctx != NULL && EVP_PKEY_get0_provider(key) == NULL)
		/* a token's key (engine, legacy): OpenSSL's legacy ECDH
		 * does not take the KDF as parameters */
		ok = keyproc_token_derive(ctx, peer, md, ukm, rq->label_len,
					  cofactor, rp->out, outlen) == 0;
	else
		ok = ctx != NULL && EVP_PKEY_derive_init(ctx) == 1 &&
		     EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
		     EVP_PKEY_CTX_set_params(ctx, params) == 1 &&
		     EVP_PKEY_derive(ctx, rp->out, &len) == 1 && len == outlen;
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	rp->out_len = ok ? (uint32_t)len : 0;
	return ok ? KEYPROC_OK : KEYPROC_FAILED;
}

static const char *op_name(uint32_t op)
{
	return op == KEYPROC_OP_SIGN ? "sign"
	       : op == KEYPROC_OP_DECRYPT ? "decrypt"
	       : op == KEYPROC_OP_DERIVE ? "derive" : "enroll";
}

/* The organization CA issues address's identity, when auto-enrollment
 * is on and the address is internal; the reply carries ca_issue's status
 * and what it issued. */
static enum keyproc_result enroll(struct server *sv,
				  const struct keyproc_request *rq,
				  struct keyproc_reply *rp)
{
	char address[KEYPROC_MAX_ADDRESS + 1];
	const struct cfg_milter *mc = &sv->cfg->milter;
	memcpy(address, rq->in, rq->in_len);
	address[rq->in_len] = '\0';
	if (!sv->cfg->ca.auto_enroll ||
	    !mailaddr_domain_in(mailaddr_domain(address), mc->internal_domains,
				mc->n_internal_domains)) {
		smx_log(LOG_WARNING, "key process: refused to enroll <%s>: %s",
			address, sv->cfg->ca.auto_enroll ? "not internal"
			: "ca.auto_enroll is off");
		return KEYPROC_REFUSED;
	}
	struct keyproc_enrolled e = { 0 };
	struct ca *ca = NULL;
	e.status = ca_open(sv->store, sv->cfg, &ca);
	if (e.status == SMX_OK)
		e.status = ca_issue(ca, address, 0, time(NULL), &e.issued);
	ca_free(&ca);
	memcpy(rp->out, &e, sizeof(e));
	rp->out_len = sizeof(e);
	return KEYPROC_OK;
}

/* The store, opened when first needed: a database that is down when the
 * key process starts (or restarts) must not make it exit and be started
 * again in a loop. At most one attempt a second; the failure is logged
 * once, its end once (the store logs the database's outage itself). */
static bool open_store(struct server *sv);

static bool store_ready(struct server *sv)
{
	pthread_mutex_lock(&sv->lock);
	bool ok = open_store(sv);
	pthread_mutex_unlock(&sv->lock);
	return ok;
}

/* store_ready's work, with sv->lock held. */
static bool open_store(struct server *sv)
{
	if (sv->store != NULL)
		return true;
	time_t now = time(NULL);
	if (sv->store_tried == now)
		return false;
	sv->store_tried = now;
	enum smx_status st = SMX_OK;
	sv->store = store_open(&sv->cfg->store_settings, 0, &st);
	if (sv->store == NULL && !sv->store_reported)
		smx_log(LOG_ERR, "key process: cannot open the store (%s); "
			"signing and decryption wait for it",
			smx_status_name(st));
	else if (sv->store != NULL && sv->store_reported)
		smx_log(LOG_NOTICE, "key process: the store is open");
	sv->store_reported = sv->store == NULL;
	return sv->store != NULL;
}

static enum keyproc_result answer(struct server *sv,
				  const struct keyproc_request *rq,
				  struct keyproc_reply *rp)
{
	char why[128] = "";
	if (!rate_ok(sv)) {
		smx_log(LOG_WARNING, "key process: refused to %s with %s: over "
			"keys.process_rate (%u a second)", op_name(rq->op),
			rq->fingerprint, sv->cfg->keys.process_rate);
		return KEYPROC_RATE;
	}
	if (!store_ready(sv))
		return KEYPROC_UNAVAILABLE;
	if (rq->op == KEYPROC_OP_ENROLL)
		return enroll(sv, rq, rp);
	enum keyproc_result r = allowed(sv, rq, why, sizeof(why));
	if (r != KEYPROC_OK) {
		smx_log(LOG_WARNING, "key process: refused to %s with %s: %s",
			op_name(rq->op), rq->fingerprint, why);
		return r;
	}
	EVP_PKEY *key = key_for(sv, rq->fingerprint);
	if (key == NULL)
		return KEYPROC_UNAVAILABLE;
	r = rq->op == KEYPROC_OP_SIGN ? sign(key, rq, rp)
	    : rq->op == KEYPROC_OP_DERIVE ? derive(key, rq, rp)
	    : decrypt(key, rq, rp);
	EVP_PKEY_free(key);
	if (r != KEYPROC_OK) {
		char reason[160] = "";
		ERR_error_string_n(ERR_peek_last_error(), reason,
				   sizeof(reason));
		smx_log(LOG_NOTICE, "key process: %s with %s failed (%s)",
			op_name(rq->op), rq->fingerprint, reason);
	}
	ERR_clear_error();
	return r;
}

struct lane {
	struct server *sv;
	int fd;
	pthread_t thread;
};

static void serve_loop(struct server *sv, int fd)
{
	unsigned char buf[sizeof(struct keyproc_request) + 1];
	struct keyproc_request rq;
	struct keyproc_reply rp;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0 || (n < 0 && errno != EINTR))
			break;
		if (n < 0)
			continue;
		char why[96];
		memset(&rp, 0, sizeof(rp));
		rp.magic = KEYPROC_MAGIC;
		if (!keyproc_request_check(buf, (size_t)n, &rq, why,
					   sizeof(why))) {
			smx_log(LOG_WARNING, "key process: refused a malformed "
				"request (%s)", why);
			rp.result = KEYPROC_BAD_REQUEST;
		} else {
			rp.result = answer(sv, &rq, &rp);
		}
		OPENSSL_cleanse(&rq, sizeof(rq));
		OPENSSL_cleanse(buf, sizeof(buf));
		ssize_t w = send(fd, &rp, sizeof(rp), MSG_NOSIGNAL);
		OPENSSL_cleanse(&rp, sizeof(rp));
		if (w != (ssize_t)sizeof(rp))
			break;
	}
}

/* No core dump, no ptrace or /proc/PID/mem by the mail process (same
 * user), no gaining privileges through exec. */
static int harden(void)
{
	struct rlimit none = { 0, 0 };
	if (setrlimit(RLIMIT_CORE, &none) != 0 ||
	    (!KEYPROC_TRACEABLE && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	return 0;
}

static void *serve_lane(void *arg)
{
	struct lane *l = arg;
	serve_loop(l->sv, l->fd);
	return NULL;
}

/* Lanes 1.. in threads of their own, lane 0 in this one; returns when
 * the daemon has closed them all (it closes them together). */
static int serve_lanes(struct server *sv, int first_fd, unsigned lanes)
{
	struct lane lane[KEYPROC_MAX_LANES];
	unsigned started = 1;
	for (; started < lanes; started++) {
		lane[started] = (struct lane){ sv, first_fd + (int)started, 0 };
		if (pthread_create(&lane[started].thread, NULL, serve_lane,
				   &lane[started]) != 0)
			break;
	}
	if (started == lanes)
		serve_loop(sv, first_fd);
	else
		smx_log(LOG_ERR, "key process: cannot start a thread for "
			"lane %u: %s", started, strerror(errno));
	for (unsigned i = 1; i < started; i++) {
		if (started != lanes)	/* its loop ends at once */
			shutdown(lane[i].fd, SHUT_RDWR);
		pthread_join(lane[i].thread, NULL);
	}
	return started == lanes ? 0 : 2;
}

int keyproc_serve(int fd, unsigned lanes, const struct cfg *cfg)
{
	struct server sv = { .cfg = cfg };
	if (lanes < 1 || lanes > KEYPROC_MAX_LANES ||
	    pthread_mutex_init(&sv.lock, NULL) != 0)
		return 2;
	/* It ends when the daemon closes the socket: a SIGTERM to the whole
	 * process group (systemd, a terminal) must not end it while the
	 * daemon finishes the messages in flight. */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	if (harden() != 0) {
		smx_log(LOG_ERR, "key process: cannot harden itself: %s",
			strerror(errno));
		return 2;
	}
	(void)store_ready(&sv);	/* if it cannot, the first request tries */
	sv.token = keyproc_token_open(cfg);	/* loads its module */
	if (keyproc_seccomp() != 0) {
		smx_log(LOG_ERR, "key process: cannot install the seccomp "
			"filter: %s", strerror(errno));
		store_close(&sv.store);
		keyproc_token_close(&sv.token);
		pthread_mutex_destroy(&sv.lock);
		return 2;
	}
	sv.tokens = cfg->keys.process_rate;
	clock_gettime(CLOCK_MONOTONIC, &sv.refilled);
	smx_log(LOG_INFO, "key process %ld ready: it alone holds the master "
		"key and private keys", (long)getpid());
	int rc = serve_lanes(&sv, fd, lanes);
	for (size_t i = 0; i < KEY_SLOTS; i++)
		held_clear(&sv.keys[i]);
	keyproc_token_close(&sv.token);
	store_close(&sv.store);
	pthread_mutex_destroy(&sv.lock);
	return rc;
}
