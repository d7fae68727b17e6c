/* SPDX-License-Identifier: BSD-2-Clause */
/* Per-connection and per-message state. A connection owns at most one
 * message; msg_end() is the only way a message is freed, and it is
 * reached from eom, abort and close alike. */
#ifndef SMX_MILTER_MSGCTX_H
#define SMX_MILTER_MSGCTX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <time.h>

#include <smx/cfg.h>
#include <smx/hdrlist.h>
#include <smx/policy-engine.h>
#include <smx/spool.h>

struct smime_hp;

struct msg {
	char *sender;		/* normalized envelope sender, "" for <> */
	char *auth_authen;	/* SASL login or NULL */
	char **rcpts;		/* normalized envelope recipients */
	size_t n_rcpts, cap_rcpts;
	signed char *rcpt_certs;	/* per recipient: the certificate
					 * availability found at RCPT time
					 * (AVAILABLE or MISSING), or -1 */
	size_t cap_rcpt_certs;
	time_t revocation_deadline;	/* when the message's revocation
					 * checks stop waiting; 0 until its
					 * first lookup */
	struct hdrlist *headers;	/* as received, leading space
					 * included; bounded (HDRLIST_MAX_*):
					 * hdrlist_truncated() when not all
					 * were kept */
	bool lost_header;	/* a header could not be recorded (out of
				 * memory): the message tempfails at its end */
	unsigned ar_seen;	/* Authentication-Results headers, all of
				 * them, kept or not */
	unsigned *ar_ours;	/* the occurrences (from 1) among them that
				 * name our authserv-id */
	size_t n_ar_ours, cap_ar_ours;
	bool ar_overflow;	/* more of ours than MSG_AR_OURS_MAX */
	unsigned decrypted_seen;	/* SMIME_DECRYPTED_HEADER headers, all
					 * of them: only this gateway may
					 * write one, so each is forged */
	struct spool *body;
	size_t body_bytes;	/* received, kept or not */
	bool body_too_large;	/* over max_message_size: not all kept */
	bool body_looked_at;	/* the first body chunk decided whether
				 * to read the rest (decide_body_skip) */
	bool body_skipped;	/* answered SMFIS_SKIP: the MTA sent no more
				 * of the body; nothing of it is kept, and
				 * body_bytes counts what came before */
	bool sender_trusted;	/* internal sender, trusted client: the
				 * policy applies from RCPT on */
	enum policy_group group;	/* of the recipients accepted so far */
	struct smime_hp *hp;	/* header protection when signed or
				 * encrypted with it (protect.h), or NULL */
};

struct conn {
	struct cfg *cfg;	/* snapshot for the current message */
	struct sockaddr_storage client;
	bool has_client;	/* false for locally injected mail */
	char client_text[64];	/* printable client address for logs */
	bool mta_skips;		/* the MTA offered SMFIP_SKIP: it stops
				 * sending a body when told to */
	struct msg *msg;
};

/* Creates the state of a new connection with a reference to the current
 * configuration. client may be NULL. Returns NULL when out of memory. */
struct conn *conn_new(const struct sockaddr *client);

/* Ends any message in progress and frees the connection; sets *conn to
 * NULL. NULL-safe. */
void conn_free(struct conn **conn);

/* Starts a message from the envelope sender path (as the MTA sent it).
 * Ends a previous one first, and takes the newest configuration snapshot
 * so a reload applies from the next message on. Returns 0 or -1 when out
 * of memory or when the path is not an address. */
int msg_begin(struct conn *conn, const char *sender_path,
	      const char *auth_authen);

/* Records a recipient path and its certificate availability as looked
 * up at RCPT time (-1: not looked up, or no definite answer), so that the
 * end of the message need not ask the store again. Returns 0 or -1 (out
 * of memory, bad path). */
int msg_add_rcpt(struct msg *msg, const char *rcpt_path, int cert_state);

/* Finds the first header called name (any case); its value without the
 * leading space, or NULL. */
const char *msg_header(const struct msg *msg, const char *name);

/* Records a header. Past the header limit the header is not kept and
 * the list is marked truncated; returns -1 only when out of memory. */
int msg_add_header(struct msg *msg, const char *name, const char *value);

/* The most Authentication-Results headers naming our authserv-id that
 * one message may carry; a message with more is refused rather than
 * delivered with one of them left in. */
#define MSG_AR_OURS_MAX 1000u

/* Notes an Authentication-Results header that names authserv_id, and
 * counts SMIME_DECRYPTED_HEADER headers (every header goes through here,
 * before msg_add_header, also past the header limit), so that each can
 * be removed at the end of the message. Returns 0 or -1 when out of
 * memory. */
int msg_track_auth_results(struct msg *msg, const char *authserv_id,
			   const char *name, const char *value);

/* Appends body bytes to the spool. Past max_message_size the bytes are
 * dropped and body_too_large is set (returns 0). Returns -1 with errno
 * when the spool cannot be written. */
int msg_add_body(struct conn *conn, const char *qid, const void *data,
		 size_t len);

/* Frees the message of the connection, if any. */
void msg_end(struct conn *conn);

#endif
