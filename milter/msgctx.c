/* SPDX-License-Identifier: BSD-2-Clause */
#include "msgctx.h"

#include "runtime.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <smx/log.h>
#include <smx/mailaddr.h>
#include <smx/smime.h>
#include <smx/smime-decrypt.h>
#include <smx/smime-hp.h>

static void describe_client(struct conn *c, const struct sockaddr *sa)
{
	const void *addr = NULL;
	if (sa->sa_family == AF_INET)
		addr = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		addr = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (addr == NULL ||
	    inet_ntop(sa->sa_family, addr, c->client_text,
		      sizeof(c->client_text)) == NULL)
		snprintf(c->client_text, sizeof(c->client_text), "unknown");
}

struct conn *conn_new(const struct sockaddr *client)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->cfg = runtime_config();
	snprintf(c->client_text, sizeof(c->client_text), "local");
	if (client != NULL && (client->sa_family == AF_INET ||
			       client->sa_family == AF_INET6)) {
		size_t len = client->sa_family == AF_INET
				     ? sizeof(struct sockaddr_in)
				     : sizeof(struct sockaddr_in6);
		memcpy(&c->client, client, len);
		c->has_client = true;
		describe_client(c, client);
	}
	return c;
}

void conn_free(struct conn **cp)
{
	struct conn *c = *cp;
	if (c == NULL)
		return;
	msg_end(c);
	cfg_unref(&c->cfg);
	free(c);
	*cp = NULL;
}

static void msg_free(struct msg **mp)
{
	struct msg *m = *mp;
	if (m == NULL)
		return;
	free(m->sender);
	free(m->auth_authen);
	for (size_t i = 0; i < m->n_rcpts; i++)
		free(m->rcpts[i]);
	free(m->rcpts);
	free(m->rcpt_certs);
	hdrlist_free(&m->headers);
	free(m->ar_ours);
	spool_free(&m->body);
	smime_hp_free(&m->hp);
	free(m);
	*mp = NULL;
}

void msg_end(struct conn *c)
{
	if (c->msg == NULL)
		return;
	msg_free(&c->msg);
	runtime_message_end();
}

int msg_begin(struct conn *c, const char *sender_path,
	      const char *auth_authen)
{
	msg_end(c);
	struct cfg *fresh = runtime_config();
	if (fresh != NULL) {
		cfg_unref(&c->cfg);
		c->cfg = fresh;
	}
	struct msg *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return -1;
	const struct cfg_milter *mc = &c->cfg->milter;
	m->sender = mailaddr_normalize(sender_path);
	m->auth_authen = auth_authen != NULL ? strdup(auth_authen) : NULL;
	m->body = spool_new(mc->spool_threshold, mc->spool_directory,
			    mc->max_message_size);
	m->headers = hdrlist_new(HDRLIST_MAX_COUNT, HDRLIST_MAX_BYTES);
	if (m->sender == NULL || m->body == NULL || m->headers == NULL ||
	    (auth_authen != NULL && m->auth_authen == NULL)) {
		msg_free(&m);
		return -1;
	}
	c->msg = m;
	runtime_message_begin();
	return 0;
}

/* Grows an array of elem-sized items to hold one more. */
static int reserve_one(void **items, size_t *cap, size_t count, size_t elem)
{
	if (count < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 8;
	void *grown = realloc(*items, ncap * elem);
	if (grown == NULL)
		return -1;
	*items = grown;
	*cap = ncap;
	return 0;
}

int msg_add_rcpt(struct msg *m, const char *rcpt_path, int cert_state)
{
	char *addr = mailaddr_normalize(rcpt_path);
	if (addr == NULL || reserve_one((void **)&m->rcpts, &m->cap_rcpts,
					m->n_rcpts, sizeof(*m->rcpts)) != 0 ||
	    reserve_one((void **)&m->rcpt_certs, &m->cap_rcpt_certs,
			m->n_rcpts, sizeof(*m->rcpt_certs)) != 0) {
		free(addr);
		return -1;
	}
	m->rcpt_certs[m->n_rcpts] = (signed char)cert_state;
	m->rcpts[m->n_rcpts++] = addr;
	return 0;
}

const char *msg_header(const struct msg *m, const char *name)
{
	const char *v = hdrlist_get(m->headers, name);
	while (v != NULL && (*v == ' ' || *v == '\t'))
		v++;
	return v;
}

int msg_add_header(struct msg *m, const char *name, const char *value)
{
	return hdrlist_append(m->headers, name, value) < 0 ? -1 : 0;
}

int msg_track_auth_results(struct msg *m, const char *authserv_id,
			   const char *name, const char *value)
{
	if (strcasecmp(name, SMIME_DECRYPTED_HEADER) == 0) {
		if (m->decrypted_seen == INT_MAX) {
			m->ar_overflow = true;
			return 0;
		}
		m->decrypted_seen++;
		return 0;
	}
	if (strcasecmp(name, "Authentication-Results") != 0)
		return 0;
	if (m->ar_seen == INT_MAX) {	/* smfi_chgheader takes an int */
		m->ar_overflow = true;
		return 0;
	}
	m->ar_seen++;
	if (!smime_ar_authserv_id_is(value, authserv_id))
		return 0;
	if (m->n_ar_ours >= MSG_AR_OURS_MAX) {
		m->ar_overflow = true;
		return 0;
	}
	if (reserve_one((void **)&m->ar_ours, &m->cap_ar_ours, m->n_ar_ours,
			sizeof(*m->ar_ours)) != 0)
		return -1;
	m->ar_ours[m->n_ar_ours++] = m->ar_seen;
	return 0;
}

int msg_add_body(struct conn *c, const char *qid, const void *data,
		 size_t len)
{
	struct msg *m = c->msg;
	m->body_bytes += len;
	if (m->body_too_large)
		return 0;
	bool was_on_disk = spool_on_disk(m->body);
	if (spool_append(m->body, data, len) == 0) {
		if (!was_on_disk && spool_on_disk(m->body))
			smx_log(LOG_DEBUG, "%s: body over %zu bytes: spooled "
				"to a private file in %s", qid,
				c->cfg->milter.spool_threshold,
				c->cfg->milter.spool_directory);
		return 0;
	}
	if (errno == EFBIG) {
		m->body_too_large = true;
		return 0;
	}
	return -1;
}
