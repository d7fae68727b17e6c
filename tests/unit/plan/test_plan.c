/* SPDX-License-Identifier: BSD-2-Clause */
/* Gathering the facts of a message without a store: the From identity,
 * client protection checked against the body, the triggers, and what is
 * looked up (nothing for inbound mail, "unknown" without a store); and
 * the decision made from those facts, a table of messages whose expected
 * outcome is written out (what the milter does with each). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <smx/cfg.h>
#include <smx/plan.h>
#include <smx/spool.h>

struct fields {
	const char *const *pairs;	/* name, value, ..., NULL */
};

static const char *header(const void *msg, const char *name, size_t *count_r)
{
	const struct fields *f = msg;
	const char *first = NULL;
	size_t n = 0;
	for (size_t i = 0; f->pairs[i] != NULL; i += 2)
		if (strcasecmp(f->pairs[i], name) == 0 && n++ == 0)
			first = f->pairs[i + 1];
	*count_r = n;
	return first;
}

static struct cfg *load(void)
{
	const char *dir = getenv("SMX_TEST_DIR");
	char path[1024];
	snprintf(path, sizeof(path), "%s/plan.conf", dir ? dir : ".");
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("milter: { internal_domains = [ \"example.com\" ]; };\n"
	      "policy: { triggers: { subject_tag = \"[secure]\";\n"
	      "                      header = \"X-Encrypt\"; }; };\n", f);
	fclose(f);
	struct cfg_errors errors = { 0 };
	struct cfg *cfg = cfg_load(path, &errors);
	cfg_errors_free(&errors);
	assert_non_null(cfg);
	return cfg;
}

static void gather(const struct cfg *cfg, enum policy_direction dir,
		   const char *const *pairs, struct spool *body,
		   struct plan *p)
{
	static char bob[] = "bob@partner.example";
	static char *rcpts[] = { bob };
	struct fields f = { pairs };
	struct plan_message m = {
		.direction = dir, .sender = "alice@example.com",
		.rcpts = rcpts, .n_rcpts = 1, .auth_login = "alice@example.com",
		.header = header, .msg = &f, .body = body,
	};
	assert_int_equal(plan_gather(cfg, NULL, &m, p), 0);
}

static void from_identity(void **state)
{
	(void)state;
	struct cfg *cfg = load();
	struct plan p;
	const char *one[] = { "From", "Carol <Carol@Example.com>", NULL };
	gather(cfg, POLICY_OUTBOUND, one, NULL, &p);
	assert_string_equal(p.from, "carol@example.com");
	assert_string_equal(p.in.from, "carol@example.com");
	assert_string_equal(p.in.sender, "alice@example.com");
	assert_int_equal(p.in.signing_key, POLICY_UNKNOWN);	/* no store */
	assert_int_equal(p.rcpts[0].cert, POLICY_UNKNOWN);
	plan_release(&p);
	const char *two[] = { "From", "a@example.com", "From", "b@example.com",
			      NULL };
	gather(cfg, POLICY_OUTBOUND, two, NULL, &p);
	assert_null(p.from);
	plan_release(&p);
	const char *group[] = { "From", "a@example.com, b@example.com", NULL };
	gather(cfg, POLICY_OUTBOUND, group, NULL, &p);
	assert_null(p.from);
	plan_release(&p);
	cfg_unref(&cfg);
}

static void inbound_looks_nothing_up(void **state)
{
	(void)state;
	struct cfg *cfg = load();
	struct plan p;
	const char *h[] = { "From", "x@remote.test", NULL };
	gather(cfg, POLICY_INBOUND, h, NULL, &p);
	assert_int_equal(p.in.signing_key, POLICY_MISSING);
	assert_int_equal(p.rcpts[0].cert, POLICY_MISSING);
	assert_null(p.signing);
	assert_null(p.rcpts[0].sel);
	plan_release(&p);
	cfg_unref(&cfg);
}

static void triggers_and_claims(void **state)
{
	(void)state;
	struct cfg *cfg = load();
	struct plan p;
	const char *h[] = {
		"From", "alice@example.com", "Subject", "[secure] offer",
		"X-Encrypt", "yes",
		"Content-Type", "application/pkcs7-mime; "
				"smime-type=enveloped-data",
		NULL };
	struct spool *body = spool_new(1024, NULL, 0);
	assert_non_null(body);
	assert_int_equal(spool_append(body, "not encrypted\r\n", 15), 0);
	gather(cfg, POLICY_OUTBOUND, h, body, &p);
	assert_string_equal(p.in.subject, "[secure] offer");
	assert_string_equal(p.in.trigger_header, "yes");
	/* The claim is not borne out by the body: not exempt. */
	assert_false(p.in.client_encrypted);
	assert_true(p.in.encryption_claim_false);
	plan_release(&p);
	/* Without a body a claim is not believed either. */
	gather(cfg, POLICY_OUTBOUND, h, NULL, &p);
	assert_false(p.in.client_encrypted);
	assert_true(p.in.encryption_claim_false);
	plan_release(&p);
	spool_free(&body);
	cfg_unref(&cfg);
}

/* --- the decision: facts in, what happens to the message out ---------- */

/* The organization's policy for the table below. */
static const char table_policy[] =
	"milter: { internal_domains = [ \"example.com\" ]; };\n"
	"policy: {\n"
	"  default: { sign = \"always\"; encrypt = \"opportunistic\";\n"
	"             on_missing_certificate = \"reject\";\n"
	"             on_sign_failure = \"tempfail\"; };\n"
	"  domains: (\n"
	"    { domain = \"partner.example\"; encrypt = \"required\"; },\n"
	"    { domain = \"hold.example\"; encrypt = \"required\";\n"
	"      on_missing_certificate = \"hold\"; },\n"
	"    { domain = \"plain.example\"; encrypt = \"never\"; }\n"
	"  );\n"
	"  addresses: (\n"
	"    { address = \"lawyer@example.com\"; encrypt = \"required\"; },\n"
	"    { address = \"ceo@example.com\"; sign = \"never\"; },\n"
	"    { address = \"nokey@example.com\"; on_sign_failure = \"send\"; }\n"
	"  );\n"
	"  triggers: { subject_tag = \"[secure]\"; header = \"X-Encrypt\"; };\n"
	"};\n";

/* The body of a message: plain text, PGP/MIME encryption the client
 * applied, or a Content-Type that claims S/MIME encryption over a plain
 * body. */
enum body { PLAIN, PGP_ENCRYPTED, FALSE_CLAIM };

static const char pgp_type[] =
	"multipart/encrypted; protocol=\"application/pgp-encrypted\"; "
	"boundary=\"b\"";
static const char pgp_body[] =
	"--b\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n"
	"\r\n--b\r\nContent-Type: application/octet-stream\r\n\r\n"
	"-----BEGIN PGP MESSAGE-----\r\n\r\n"
	"hQEMAwAAAAAAAAAAAQf/AAAAAAAAAAAAAAAAAAAAAAAA\r\n"
	"-----END PGP MESSAGE-----\r\n\r\n--b--\r\n";

/* What the milter does with the message. */
struct outcome {
	enum policy_action action;
	bool process;		/* false: passed unchanged */
	bool sign, needs_key, encrypt;
	bool strip_tag, strip_header;
};

#define SEND POLICY_ACTION_SEND
#define TEMPFAIL POLICY_ACTION_TEMPFAIL
#define HOLD POLICY_ACTION_HOLD
#define REJECT POLICY_ACTION_REJECT
#define HAS POLICY_AVAILABLE
#define NONE POLICY_MISSING
#define DOWN POLICY_UNKNOWN

struct fact_row {
	const char *what;
	enum policy_direction dir;
	const char *from;		/* the From: header; NULL: alice */
	bool two_froms;			/* a second From: header */
	const char *login;		/* NULL: alice; "": unauthenticated */
	const char *subject;		/* NULL: a plain one */
	const char *x_encrypt;		/* the trigger header, or NULL */
	enum body body;
	const char *rcpt[2];
	enum policy_availability cert[2];	/* per recipient */
	enum policy_availability key;	/* the From identity's signing key */
	struct outcome want;
};

static const struct fact_row fact_rows[] = {
	/* The signing key. */
	{ "key present: signed", POLICY_OUTBOUND,
	  .rcpt = { "bob@one.example" }, .cert = { NONE }, .key = HAS,
	  .want = { SEND, .process = true, .sign = true } },
	{ "key missing: tempfailed, a key may be enrolled", POLICY_OUTBOUND,
	  .rcpt = { "bob@one.example" }, .cert = { NONE }, .key = NONE,
	  .want = { TEMPFAIL, .process = true, .needs_key = true } },
	{ "key missing, on_sign_failure send: sent unsigned", POLICY_OUTBOUND,
	  .from = "nokey@example.com", .login = "nokey@example.com",
	  .rcpt = { "bob@one.example" }, .cert = { NONE }, .key = NONE,
	  .want = { SEND, .process = true, .needs_key = true } },
	{ "store down for the key: tempfailed", POLICY_OUTBOUND,
	  .rcpt = { "bob@one.example" }, .cert = { NONE }, .key = DOWN,
	  .want = { TEMPFAIL, .process = true, .needs_key = true } },
	{ "sign never: no key needed", POLICY_OUTBOUND,
	  .from = "ceo@example.com", .login = "ceo@example.com",
	  .rcpt = { "bob@one.example" }, .cert = { NONE }, .key = NONE,
	  .want = { SEND, .process = true } },
	{ "login may not sign as From: unsigned, no key wanted",
	  POLICY_OUTBOUND, .login = "mallory@example.com",
	  .rcpt = { "bob@one.example" }, .cert = { NONE }, .key = HAS,
	  .want = { SEND, .process = true } },
	{ "unauthenticated client: unsigned", POLICY_OUTBOUND, .login = "",
	  .rcpt = { "bob@one.example" }, .cert = { NONE }, .key = HAS,
	  .want = { SEND, .process = true } },
	{ "two From: headers: no signing identity", POLICY_OUTBOUND,
	  .two_froms = true,
	  .rcpt = { "bob@one.example" }, .cert = { NONE }, .key = HAS,
	  .want = { SEND, .process = true } },

	/* Opportunistic encryption. */
	{ "opportunistic, certificate: encrypted", POLICY_OUTBOUND,
	  .rcpt = { "bob@one.example" }, .cert = { HAS }, .key = HAS,
	  .want = { SEND, .process = true, .sign = true, .encrypt = true } },
	{ "opportunistic, every recipient has one: encrypted",
	  POLICY_OUTBOUND,
	  .rcpt = { "bob@one.example", "carl@two.example" },
	  .cert = { HAS, HAS }, .key = HAS,
	  .want = { SEND, .process = true, .sign = true, .encrypt = true } },
	{ "opportunistic, one recipient without: in clear", POLICY_OUTBOUND,
	  .rcpt = { "bob@one.example", "carl@two.example" },
	  .cert = { HAS, NONE }, .key = HAS,
	  .want = { SEND, .process = true, .sign = true } },
	{ "opportunistic, lookup failed: in clear", POLICY_OUTBOUND,
	  .rcpt = { "bob@one.example" }, .cert = { DOWN }, .key = HAS,
	  .want = { SEND, .process = true, .sign = true } },
	{ "never, certificate known: in clear", POLICY_OUTBOUND,
	  .rcpt = { "pat@plain.example" }, .cert = { HAS }, .key = HAS,
	  .want = { SEND, .process = true, .sign = true } },

	/* Required encryption. */
	{ "required, certificate: encrypted", POLICY_OUTBOUND,
	  .rcpt = { "bob@partner.example" }, .cert = { HAS }, .key = HAS,
	  .want = { SEND, .process = true, .sign = true, .encrypt = true } },
	{ "required, no certificate: rejected", POLICY_OUTBOUND,
	  .rcpt = { "bob@partner.example" }, .cert = { NONE }, .key = HAS,
	  .want = { REJECT, .process = true, .sign = true } },
	{ "required, lookup failed: tempfailed", POLICY_OUTBOUND,
	  .rcpt = { "bob@partner.example" }, .cert = { DOWN }, .key = HAS,
	  .want = { TEMPFAIL, .process = true, .sign = true } },
	{ "required with hold, no certificate: held", POLICY_OUTBOUND,
	  .rcpt = { "hal@hold.example" }, .cert = { NONE }, .key = HAS,
	  .want = { HOLD, .process = true, .sign = true } },
	{ "required beside a recipient without one: rejected",
	  POLICY_OUTBOUND,
	  .rcpt = { "bob@partner.example", "carl@two.example" },
	  .cert = { HAS, NONE }, .key = HAS,
	  .want = { REJECT, .process = true, .sign = true } },
	{ "required, certificate, key missing: tempfailed, not in clear",
	  POLICY_OUTBOUND,
	  .rcpt = { "bob@partner.example" }, .cert = { HAS }, .key = NONE,
	  .want = { TEMPFAIL, .process = true, .needs_key = true } },

	/* Triggers make encryption required. */
	{ "subject tag, no certificate: rejected", POLICY_OUTBOUND,
	  .subject = "[secure] figures",
	  .rcpt = { "bob@one.example" }, .cert = { NONE }, .key = HAS,
	  .want = { REJECT, .process = true, .sign = true,
		    .strip_tag = true } },
	{ "subject tag, certificate: encrypted, tag removed",
	  POLICY_OUTBOUND, .subject = "[secure] figures",
	  .rcpt = { "bob@one.example" }, .cert = { HAS }, .key = HAS,
	  .want = { SEND, .process = true, .sign = true, .encrypt = true,
		    .strip_tag = true } },
	{ "trigger header, no certificate: rejected", POLICY_OUTBOUND,
	  .x_encrypt = "yes",
	  .rcpt = { "bob@one.example" }, .cert = { NONE }, .key = HAS,
	  .want = { REJECT, .process = true, .sign = true,
		    .strip_header = true } },
	{ "trigger header saying no: opportunistic, header removed",
	  POLICY_OUTBOUND, .x_encrypt = "no",
	  .rcpt = { "bob@one.example" }, .cert = { NONE }, .key = HAS,
	  .want = { SEND, .process = true, .sign = true,
		    .strip_header = true } },
	{ "subject tag on a never recipient with a certificate: encrypted",
	  POLICY_OUTBOUND, .subject = "[secure] figures",
	  .rcpt = { "pat@plain.example" }, .cert = { HAS }, .key = HAS,
	  .want = { SEND, .process = true, .sign = true, .encrypt = true,
		    .strip_tag = true } },

	/* Mail the client encrypted itself. */
	{ "client-encrypted to a required recipient: left as is",
	  POLICY_OUTBOUND, .body = PGP_ENCRYPTED,
	  .rcpt = { "bob@partner.example" }, .cert = { NONE }, .key = NONE,
	  .want = { SEND, .process = false } },
	{ "claimed encryption over a plain body: rejected as any other",
	  POLICY_OUTBOUND, .body = FALSE_CLAIM,
	  .rcpt = { "bob@partner.example" }, .cert = { NONE }, .key = HAS,
	  .want = { REJECT, .process = true, .sign = true } },
	{ "claimed encryption over a plain body: encrypted as any other",
	  POLICY_OUTBOUND, .body = FALSE_CLAIM,
	  .rcpt = { "bob@one.example" }, .cert = { HAS }, .key = HAS,
	  .want = { SEND, .process = true, .sign = true, .encrypt = true } },

	/* Directions. */
	{ "inbound: passed unchanged", POLICY_INBOUND,
	  .from = "x@remote.example", .login = "",
	  .rcpt = { "alice@example.com" }, .cert = { NONE }, .key = NONE,
	  .want = { SEND, .process = false } },
	{ "inbound with a subject tag: passed unchanged", POLICY_INBOUND,
	  .from = "x@remote.example", .login = "",
	  .subject = "[secure] figures",
	  .rcpt = { "alice@example.com" }, .cert = { NONE }, .key = NONE,
	  .want = { SEND, .process = false } },
	{ "internal, internal_mail pass: passed unchanged", POLICY_INTERNAL,
	  .rcpt = { "dan@example.com" }, .cert = { NONE }, .key = HAS,
	  .want = { SEND, .process = false } },
	{ "internal to a required recipient without one: rejected",
	  POLICY_INTERNAL,
	  .rcpt = { "lawyer@example.com" }, .cert = { NONE }, .key = HAS,
	  .want = { REJECT, .process = true, .sign = true } },
	{ "internal with a subject tag and a certificate: encrypted",
	  POLICY_INTERNAL, .subject = "[secure] figures",
	  .rcpt = { "dan@example.com" }, .cert = { HAS }, .key = HAS,
	  .want = { SEND, .process = true, .sign = true, .encrypt = true,
		    .strip_tag = true } },
};

/* The recipients' availability as the milter found it at RCPT time. */
static enum policy_availability row_availability(void *ctx, const char *rcpt)
{
	const struct fact_row *row = ctx;
	for (size_t i = 0; i < 2 && row->rcpt[i] != NULL; i++)
		if (strcmp(row->rcpt[i], rcpt) == 0)
			return row->cert[i];
	fail_msg("asked about <%s>, not a recipient", rcpt);
	return POLICY_UNKNOWN;
}

static void check_outcome(const struct fact_row *row,
			  const struct policy_decision *d)
{
	const struct outcome *w = &row->want;
	if (d->action != w->action || d->process != w->process ||
	    d->sign != w->sign || d->needs_key != w->needs_key ||
	    d->encrypt != w->encrypt || d->strip_subject_tag != w->strip_tag ||
	    d->strip_trigger_header != w->strip_header)
		fail_msg("%s:\n  expected %s process=%d sign=%d needs_key=%d "
			 "encrypt=%d strip_tag=%d strip_header=%d\n"
			 "  decided  %s process=%d sign=%d needs_key=%d "
			 "encrypt=%d strip_tag=%d strip_header=%d\n"
			 "  reason: %s", row->what,
			 policy_action_name(w->action), w->process, w->sign,
			 w->needs_key, w->encrypt, w->strip_tag,
			 w->strip_header, policy_action_name(d->action),
			 d->process, d->sign, d->needs_key, d->encrypt,
			 d->strip_subject_tag, d->strip_trigger_header,
			 d->reason);
	/* Never in clear while a recipient's level is required. */
	for (size_t i = 0; i < d->n_rcpts; i++)
		if (d->rcpts[i].level.encrypt.value == POLICY_ENCRYPT_REQUIRED &&
		    d->action == POLICY_ACTION_SEND && d->process &&
		    !d->encrypt)
			fail_msg("%s: sent in clear to <%s>, which requires "
				 "encryption", row->what, d->rcpts[i].address);
}

static void decide_row(const struct cfg *cfg, const struct fact_row *row)
{
	const char *from = row->from ? row->from : "alice@example.com";
	const char *headers[16];
	size_t n = 0;
	headers[n++] = "From";
	headers[n++] = from;
	if (row->two_froms) {
		headers[n++] = "From";
		headers[n++] = "bob@example.com";
	}
	headers[n++] = "Subject";
	headers[n++] = row->subject ? row->subject : "Quarterly figures";
	if (row->x_encrypt != NULL) {
		headers[n++] = "X-Encrypt";
		headers[n++] = row->x_encrypt;
	}
	struct spool *body = spool_new(4096, NULL, 0);
	assert_non_null(body);
	if (row->body == PGP_ENCRYPTED) {
		headers[n++] = "Content-Type";
		headers[n++] = pgp_type;
		assert_int_equal(spool_append(body, pgp_body,
					      strlen(pgp_body)), 0);
	} else {
		if (row->body == FALSE_CLAIM) {
			headers[n++] = "Content-Type";
			headers[n++] = "application/pkcs7-mime; "
				       "smime-type=enveloped-data";
		}
		assert_int_equal(spool_append(body, "Hello\r\n", 7), 0);
	}
	headers[n] = NULL;

	char r0[64], r1[64];
	snprintf(r0, sizeof(r0), "%s", row->rcpt[0]);
	snprintf(r1, sizeof(r1), "%s", row->rcpt[1] ? row->rcpt[1] : "");
	char *rcpts[2] = { r0, r1 };
	struct fact_row facts = *row;	/* the availability callback's */
	struct fields f = { headers };
	struct plan_message m = {
		.direction = row->dir, .sender = from,
		.rcpts = rcpts, .n_rcpts = row->rcpt[1] != NULL ? 2 : 1,
		.auth_login = row->login == NULL ? "alice@example.com"
			      : row->login[0] != '\0' ? row->login : NULL,
		.header = header, .msg = &f, .body = body,
		.availability = row_availability, .availability_ctx = &facts,
	};
	struct plan p;
	assert_int_equal(plan_gather(cfg, NULL, &m, &p), 0);
	/* Without a store the key is "unknown": the row says what the
	 * store would have answered. */
	if (p.from != NULL && (row->dir == POLICY_OUTBOUND ||
			       row->dir == POLICY_INTERNAL))
		p.in.signing_key = row->key;
	struct policy_decision d;
	assert_int_equal(plan_decide(cfg, &p, &d), 0);
	check_outcome(row, &d);
	policy_decision_release(&d);
	plan_release(&p);
	spool_free(&body);
}

static void decisions_from_facts(void **state)
{
	(void)state;
	const char *dir = getenv("SMX_TEST_DIR");
	char path[1024];
	snprintf(path, sizeof(path), "%s/plan-table.conf", dir ? dir : ".");
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(table_policy, f);
	fclose(f);
	struct cfg_errors errors = { 0 };
	struct cfg *cfg = cfg_load(path, &errors);
	for (size_t i = 0; i < errors.count; i++)
		print_error("%s\n", errors.lines[i]);
	cfg_errors_free(&errors);
	assert_non_null(cfg);
	for (size_t i = 0; i < sizeof(fact_rows) / sizeof(fact_rows[0]); i++)
		decide_row(cfg, &fact_rows[i]);
	cfg_unref(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(from_identity),
		cmocka_unit_test(inbound_looks_nothing_up),
		cmocka_unit_test(triggers_and_claims),
		cmocka_unit_test(decisions_from_facts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
