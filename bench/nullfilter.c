/* SPDX-License-Identifier: BSD-2-Clause */
/* bench-nullfilter: the do-nothing reference filter of the benchmark.
 * It asks the MTA for everything smime-milter asks for (connection,
 * envelope, headers, body) and answers "continue" to all of it, so the
 * difference between the two is what smime-milter itself costs. It is
 * linked with milter/tcpopt.c like smime-milter, so that on inet: both
 * run with TCP_NODELAY and the comparison stays fair.
 *
 * usage: bench-nullfilter [--plain|--edit|--edit5] SOCKET
 * (SOCKET: inet:PORT@HOST, unix:/PATH)
 * --plain registers no DATA callback, like most filters; --edit adds a
 * header and replaces the body at end of message, as a signing filter
 * does (several replies in a row); --edit5 makes five header edits
 * instead of one (deletes MIME-Version, Content-Type and
 * Content-Transfer-Encoding, adds two headers: what smime-milter's
 * signing did before it changed headers in place), to show what each
 * header edit costs Postfix. bench/run also builds a copy without
 * tcpopt.c. Together they show the two inet: stalls that smime-milter
 * avoids. Like smime-milter, it negotiates no reply for HELO, the
 * headers and the end of headers (--plain keeps libmilter's defaults:
 * a reply to every step). SIGTERM stops it (libmilter's own signal
 * handling). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmilter/mfapi.h>

static sfsistat keep_going(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat on_connect(SMFICTX *ctx, char *host, struct sockaddr *sa)
{
	(void)host;
	(void)sa;
	return keep_going(ctx);
}

static sfsistat on_text(SMFICTX *ctx, char *text)
{
	(void)text;
	return keep_going(ctx);
}

static sfsistat on_args(SMFICTX *ctx, char **argv)
{
	(void)argv;
	return keep_going(ctx);
}

/* The steps smime-milter answers with no reply (milter/callbacks.c). */
#define NO_REPLY_STEPS (SMFIP_NR_HELO | SMFIP_NR_HDR | SMFIP_NR_EOH)

static sfsistat negotiate(SMFICTX *ctx, unsigned long actions,
			  unsigned long steps, unsigned long f2,
			  unsigned long f3, unsigned long *actions_r,
			  unsigned long *steps_r, unsigned long *f2_r,
			  unsigned long *f3_r)
{
	(void)ctx;
	(void)f2;
	(void)f3;
	*actions_r = actions & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY);
	*steps_r = steps & (SMFIP_HDR_LEADSPC | SMFIP_NOUNKNOWN |
			    NO_REPLY_STEPS);
	*f2_r = 0;
	*f3_r = 0;
	return SMFIS_CONTINUE;
}

static sfsistat no_reply_text(SMFICTX *ctx, char *text)
{
	(void)ctx;
	(void)text;
	return SMFIS_NOREPLY;
}

static sfsistat no_reply(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_NOREPLY;
}

static sfsistat on_header(SMFICTX *ctx, char *name, char *value)
{
	(void)name;
	(void)value;
	return keep_going(ctx);
}

static sfsistat no_reply_header(SMFICTX *ctx, char *name, char *value)
{
	(void)ctx;
	(void)name;
	(void)value;
	return SMFIS_NOREPLY;
}

static sfsistat on_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
	(void)data;
	(void)len;
	return keep_going(ctx);
}

/* What --edit writes: a header and a 12 KB body, about what signing a
 * 10 KB message sends back. */
static unsigned char edit_body[12 * 1024];

/* Lines of 76 characters; filled once, before libmilter starts threads. */
static void fill_edit_body(void)
{
	memset(edit_body, 'x', sizeof(edit_body));
	for (size_t i = 76; i + 1 < sizeof(edit_body); i += 78) {
		edit_body[i] = '\r';
		edit_body[i + 1] = '\n';
	}
}

static sfsistat edit5_message(SMFICTX *ctx)
{
	static char mv[] = "MIME-Version", ct[] = "Content-Type",
		    cte[] = "Content-Transfer-Encoding", one[] = " 1.0",
		    signed_type[] = " multipart/signed; boundary=\"x\"";
	if (smfi_chgheader(ctx, cte, 1, NULL) == MI_FAILURE ||
	    smfi_chgheader(ctx, ct, 1, NULL) == MI_FAILURE ||
	    smfi_chgheader(ctx, mv, 1, NULL) == MI_FAILURE ||
	    smfi_addheader(ctx, mv, one) == MI_FAILURE ||
	    smfi_addheader(ctx, ct, signed_type) == MI_FAILURE ||
	    smfi_replacebody(ctx, edit_body, (int)sizeof(edit_body)) == MI_FAILURE)
		return SMFIS_TEMPFAIL;
	return SMFIS_CONTINUE;
}

static sfsistat edit_message(SMFICTX *ctx)
{
	static char name[] = "X-Bench-Edit", value[] = "yes";
	if (smfi_addheader(ctx, name, value) == MI_FAILURE ||
	    smfi_replacebody(ctx, edit_body, (int)sizeof(edit_body)) == MI_FAILURE)
		return SMFIS_TEMPFAIL;
	return SMFIS_CONTINUE;
}

static char filter_name[] = "bench-nullfilter";

static struct smfiDesc null_filter = {
	.xxfi_name = filter_name,
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = 0,
	.xxfi_connect = on_connect,
	.xxfi_helo = no_reply_text,
	.xxfi_envfrom = on_args,
	.xxfi_envrcpt = on_args,
	.xxfi_header = no_reply_header,
	.xxfi_eoh = no_reply,
	.xxfi_body = on_body,
	.xxfi_eom = keep_going,
	.xxfi_abort = keep_going,
	.xxfi_close = keep_going,
	.xxfi_data = keep_going,
	.xxfi_negotiate = negotiate,
};

int main(int argc, char **argv)
{
	int plain = argc == 3 && strcmp(argv[1], "--plain") == 0;
	int edit = argc == 3 && strcmp(argv[1], "--edit") == 0;
	int edit5 = argc == 3 && strcmp(argv[1], "--edit5") == 0;
	if (argc != 2 && !plain && !edit && !edit5) {
		fprintf(stderr, "usage: bench-nullfilter [--plain|--edit|--edit5] "
			"SOCKET\n");
		return 1;
	}
	char *sock = argv[argc - 1];
	if (plain) {	/* libmilter's defaults: every step answered */
		null_filter.xxfi_data = NULL;
		null_filter.xxfi_negotiate = NULL;
		null_filter.xxfi_helo = on_text;
		null_filter.xxfi_header = on_header;
		null_filter.xxfi_eoh = keep_going;
	}
	if (edit || edit5) {
		null_filter.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS |
					 SMFIF_CHGBODY;
		null_filter.xxfi_eom = edit5 ? edit5_message : edit_message;
		fill_edit_body();
	}
	if (smfi_register(null_filter) == MI_FAILURE ||
	    smfi_setconn(sock) == MI_FAILURE ||
	    smfi_opensocket(1) == MI_FAILURE) {
		fprintf(stderr, "bench-nullfilter: cannot listen on %s\n",
			sock);
		return 2;
	}
	fprintf(stderr, "bench-nullfilter listening on %s\n", sock);
	return smfi_main() == MI_SUCCESS ? 0 : 2;
}
