/* SPDX-License-Identifier: BSD-2-Clause */
/* Thin libmilter callbacks: each one finds the connection state and
 * hands over to msgctx (state) or decide (what to do with the message).
 * Nothing here may exit the process: a failure answers this one message
 * with a temporary failure and the daemon goes on. */
#include "callbacks.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <smx/log.h>
#include <smx/metrics.h>

#include "decide.h"
#include "msgctx.h"
#include "runtime.h"

/* libmilter's prototypes take char * for strings it never writes; these
 * writable copies keep the compiler's const checks on everywhere else. */
static char macro_queue_id[] = "i";
static char macro_auth_authen[] = "{auth_authen}";
static char filter_name[] = "smime-milter";

/* Negotiation comes before connect, which makes the connection state:
 * in between, the private pointer only notes that the MTA can skip a
 * body (SMFIP_SKIP), as the address of this mark. */
static char mta_skips_mark;

static struct conn *conn_of(SMFICTX *ctx)
{
	void *priv = smfi_getpriv(ctx);
	return priv == &mta_skips_mark ? NULL : priv;
}

static const char *queue_id(SMFICTX *ctx)
{
	const char *id = smfi_getsymval(ctx, macro_queue_id);
	return id != NULL ? id : "NOQUEUE";
}

/* Answers with a temporary failure and says why in the reply. */
static sfsistat tempfail(SMFICTX *ctx, const char *text)
{
	char rcode[] = "451", xcode[] = "4.3.0", msg[256];
	snprintf(msg, sizeof(msg), "%s", text);
	smfi_setreply(ctx, rcode, xcode, msg);
	return SMFIS_TEMPFAIL;
}

/* The steps whose reply the MTA need not wait for: the callbacks of these
 * steps never refuse anything. HELO is only noted; a header that cannot
 * be recorded (out of memory) fails the message at its end instead. The
 * rest must answer: connect (max_connections, shutting down), MAIL
 * (shutting down, bad sender), RCPT (policy), DATA (without its answer
 * Postfix's next packet waits for a delayed ACK on inet:) and body
 * chunks (a spool failure).
 * libmilter offers these flags to every MTA and answers "continue"
 * itself to one that does not know them, so the callbacks of these
 * steps always return SMFIS_NOREPLY. */
#define NO_REPLY_STEPS (SMFIP_NR_HELO | SMFIP_NR_HDR | SMFIP_NR_EOH)

static sfsistat on_negotiate(SMFICTX *ctx, unsigned long actions,
			     unsigned long steps, unsigned long f2,
			     unsigned long f3, unsigned long *actions_r,
			     unsigned long *steps_r, unsigned long *f2_r,
			     unsigned long *f3_r)
{
	(void)f2;
	(void)f3;
	/* Ask for the actions the decisions carry out (MILTER_ACTIONS: new
	 * body, changed and added headers, quarantine) as far as the MTA
	 * offers them. Header values must keep their leading space so that
	 * the message can later be rebuilt byte for byte. Unknown SMTP
	 * commands are of no use. An MTA that can skip the rest of a body
	 * is told so for the bodies nobody reads (decide_body_skip). */
	*actions_r = actions & MILTER_ACTIONS;
	*steps_r = steps & (SMFIP_HDR_LEADSPC | SMFIP_NOUNKNOWN |
			    NO_REPLY_STEPS | SMFIP_SKIP);
	smfi_setpriv(ctx, (steps & SMFIP_SKIP) ? &mta_skips_mark : NULL);
	*f2_r = 0;
	*f3_r = 0;
	return SMFIS_CONTINUE;
}

/* libmilter starts a thread for every connection and has no limit of
 * its own: above milter.max_connections a new connection is answered
 * with a temporary failure (the MTA retries the mail later) and holds
 * nothing but its short-lived thread. */
static bool admit_connection(void)
{
	struct cfg *cfg = runtime_config();
	unsigned limit = cfg->milter.max_connections;
	cfg_unref(&cfg);
	if (runtime_connection_begin(limit))
		return true;
	smx_metrics_connection_refused();
	smx_log(LOG_WARNING, "NOQUEUE: connect: %u connections open "
		"(milter.max_connections): temporary failure", limit);
	return false;
}

static sfsistat on_connect(SMFICTX *ctx, char *hostname,
			   struct sockaddr *client)
{
	(void)hostname;
	bool mta_skips = smfi_getpriv(ctx) == &mta_skips_mark;
	smfi_setpriv(ctx, NULL);
	if (runtime_draining())
		return tempfail(ctx, "smime-milter is shutting down");
	if (!admit_connection())
		return tempfail(ctx, "smime-milter: too many connections");
	struct conn *c = conn_new(client);
	if (c == NULL) {
		runtime_connection_end();
		smx_log(LOG_ERR, "NOQUEUE: connect: out of memory");
		return tempfail(ctx, "smime-milter: out of memory");
	}
	c->mta_skips = mta_skips;
	smfi_setpriv(ctx, c);
	return SMFIS_CONTINUE;
}

static sfsistat on_helo(SMFICTX *ctx, char *helo)
{
	(void)ctx;
	(void)helo;
	return SMFIS_NOREPLY;
}

static sfsistat on_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn *c = conn_of(ctx);
	if (c == NULL)
		return tempfail(ctx, "smime-milter: no connection state");
	if (runtime_draining())
		return tempfail(ctx, "smime-milter is shutting down");
	if (msg_begin(c, argv[0], smfi_getsymval(ctx, macro_auth_authen)) != 0) {
		smx_log(LOG_ERR, "%s: cannot start message from %s: %s",
			queue_id(ctx), c->client_text,
			errno == ENOMEM ? "out of memory" : "bad sender");
		return tempfail(ctx, "smime-milter: cannot process message");
	}
	decide_sender(c);
	return SMFIS_CONTINUE;
}

static sfsistat on_envrcpt(SMFICTX *ctx, char **argv)
{
	struct conn *c = conn_of(ctx);
	if (c == NULL || c->msg == NULL)
		return tempfail(ctx, "smime-milter: no message state");
	return decide_recipient(ctx, c, queue_id(ctx), argv[0]);
}

/* Registered only so that Postfix gets an answer after DATA instead of
 * waiting on a delayed ACK (a 40 ms stall per message on inet:). */
static sfsistat on_data(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

/* No reply (NO_REPLY_STEPS): a header that cannot be recorded marks the
 * message, and its end answers with a temporary failure. Without message
 * state the end of the message fails anyway. */
static sfsistat on_header(SMFICTX *ctx, char *name, char *value)
{
	struct conn *c = conn_of(ctx);
	if (c == NULL || c->msg == NULL || c->msg->lost_header)
		return SMFIS_NOREPLY;
	if (msg_track_auth_results(c->msg, c->cfg->milter.authserv_id, name,
				   value) != 0 ||
	    msg_add_header(c->msg, name, value) != 0) {
		smx_log(LOG_ERR, "%s: out of memory recording a header",
			queue_id(ctx));
		c->msg->lost_header = true;
	}
	return SMFIS_NOREPLY;
}

static sfsistat on_eoh(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_NOREPLY;
}

/* A body that nobody reads (decide_body_skip) is neither kept nor
 * asked for: at its first chunk the MTA is told to send no more, and it
 * delivers the body it holds, untouched. Only its size is counted. */
static sfsistat on_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
	struct conn *c = conn_of(ctx);
	if (c == NULL || c->msg == NULL)
		return tempfail(ctx, "smime-milter: no message state");
	struct msg *m = c->msg;
	if (!m->body_looked_at) {
		m->body_looked_at = true;
		m->body_skipped = decide_body_skip(c);
	}
	if (m->body_skipped) {
		m->body_bytes += len;
		return SMFIS_SKIP;
	}
	if (msg_add_body(c, queue_id(ctx), data, len) != 0) {
		smx_log(LOG_ERR, "%s: cannot spool message body in %s: %s",
			queue_id(ctx), c->cfg->milter.spool_directory,
			strerror(errno));
		return tempfail(ctx, "smime-milter: cannot spool message");
	}
	return SMFIS_CONTINUE;
}

static sfsistat on_eom(SMFICTX *ctx)
{
	struct conn *c = conn_of(ctx);
	if (c == NULL || c->msg == NULL)
		return tempfail(ctx, "smime-milter: no message state");
	if (c->msg->lost_header) {
		msg_end(c);
		return tempfail(ctx, "smime-milter: out of memory");
	}
	sfsistat rc = decide_message(ctx, c, queue_id(ctx));
	msg_end(c);
	return rc;
}

static sfsistat on_abort(SMFICTX *ctx)
{
	struct conn *c = conn_of(ctx);
	if (c != NULL)
		msg_end(c);
	return SMFIS_CONTINUE;
}

static sfsistat on_close(SMFICTX *ctx)
{
	struct conn *c = conn_of(ctx);
	if (c != NULL)	/* admitted by on_connect */
		runtime_connection_end();
	conn_free(&c);
	smfi_setpriv(ctx, NULL);	/* also the mark of on_negotiate */
	return SMFIS_CONTINUE;
}

struct smfiDesc milter_description = {
	.xxfi_name = filter_name,
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = MILTER_ACTIONS,
	.xxfi_connect = on_connect,
	.xxfi_helo = on_helo,
	.xxfi_envfrom = on_envfrom,
	.xxfi_envrcpt = on_envrcpt,
	.xxfi_header = on_header,
	.xxfi_eoh = on_eoh,
	.xxfi_body = on_body,
	.xxfi_eom = on_eom,
	.xxfi_abort = on_abort,
	.xxfi_close = on_close,
	.xxfi_data = on_data,
	.xxfi_negotiate = on_negotiate,
};
