/* SPDX-License-Identifier: BSD-2-Clause */
/* Fuzz target: policy loading and the decisions made from it. The input
 * is a configuration text (libconfig; its `policy` group is read by
 * policy_from_config exactly as cfg_load does), optionally followed by a
 * line "%%" and a message description, one item per line: From address,
 * Subject, trigger header value, SASL login, then up to MAX_RCPTS
 * recipients (defaults stand in for what is missing).
 *
 * For a policy that loads, every recipient's level is computed, the RCPT
 * verdict is taken for each certificate availability, and policy_decide
 * runs for every direction, every combination of recipient certificate
 * availability and every signing key availability.
 *
 * Invariants: a policy loads exactly when nothing was reported; a
 * required recipient without a usable certificate is never accepted at
 * RCPT time (unless its action is "hold": then the message is held); a decision never sends in clear while a recipient is
 * required, and never encrypts for a recipient without certificate; a
 * subject tag that is stripped is found and shortens the decoded
 * Subject, which is written back 7-bit (RFC 2047 encoded); the
 * reason is a terminated string. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include <smx/mailaddr.h>
#include <smx/policy-engine.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RCPTS 3

struct message {
	char *from, *subject, *trigger, *login;
	char *rcpts[MAX_RCPTS];
	size_t n_rcpts;
};

static void count_report(void *ctx, const struct config_setting_t *where,
			 const char *message)
{
	(void)where;
	if (message == NULL)
		abort();
	(*(unsigned *)ctx)++;
}

/* The next line of *p (up to '\n' or the end), newly allocated; NULL at
 * the end of the text. */
static char *next_line(const char **p)
{
	if (**p == '\0')
		return NULL;
	const char *nl = strchr(*p, '\n');
	size_t len = nl ? (size_t)(nl - *p) : strlen(*p);
	char *line = strndup(*p, len);
	*p += len + (nl != NULL);
	return line;
}

/* Addresses go through the normalization the milter applies first. */
static char *address_line(const char **p, const char *fallback)
{
	char *line = next_line(p);
	char *addr = mailaddr_normalize(line ? line : fallback);
	free(line);
	return addr;
}

static void read_message(const char *text, struct message *m)
{
	const char *p = text ? text : "";
	m->from = address_line(&p, "alice@example.com");
	m->subject = next_line(&p);
	m->trigger = next_line(&p);
	m->login = next_line(&p);
	char *addr;
	while (m->n_rcpts < MAX_RCPTS && *p != '\0')
		if ((addr = address_line(&p, "")) != NULL)
			m->rcpts[m->n_rcpts++] = addr;
	if (m->n_rcpts == 0 && (addr = strdup("bob@partner.example")) != NULL)
		m->rcpts[m->n_rcpts++] = addr;
}

static void free_message(struct message *m)
{
	free(m->from);
	free(m->subject);
	free(m->trigger);
	free(m->login);
	for (size_t i = 0; i < m->n_rcpts; i++)
		free(m->rcpts[i]);
}

static const enum policy_availability avail[] = {
	POLICY_AVAILABLE, POLICY_MISSING, POLICY_UNKNOWN,
};

static void check_rcpt_time(const struct policy *pol, const char *sender,
			    const char *rcpt)
{
	struct policy_rcpt_level lv;
	policy_rcpt_level(pol, sender, rcpt, &lv);
	if (lv.encrypt.layer == NULL || lv.on_missing.layer == NULL)
		abort();
	bool required = lv.encrypt.value == POLICY_ENCRYPT_REQUIRED;
	for (size_t a = 0; a < 3; a++) {
		char reason[256];
		enum policy_group group = POLICY_GROUP_NONE;
		enum policy_rcpt_verdict v = policy_rcpt_decide(
			pol, sender, rcpt, avail[a], POLICY_GROUP_NONE, &group,
			reason, sizeof(reason));
		if (memchr(reason, '\0', sizeof(reason)) == NULL)
			abort();
		/* "hold" accepts now and holds the message at its end */
		bool held = lv.on_missing.value == POLICY_ACTION_HOLD &&
			    avail[a] == POLICY_MISSING &&
			    v == POLICY_RCPT_ACCEPT;
		if (required && avail[a] != POLICY_AVAILABLE && !held &&
		    v != POLICY_RCPT_REJECT && v != POLICY_RCPT_TEMPFAIL)
			abort();	/* required, no certificate, accepted */
		if (required && avail[a] == POLICY_AVAILABLE &&
		    v == POLICY_RCPT_ACCEPT && group != POLICY_GROUP_ENCRYPTED)
			abort();	/* required, grouped with plain mail */
	}
}

static void check_decision(const struct policy *pol,
			   const struct policy_message_input *in,
			   const struct policy_decision *d)
{
	if (memchr(d->reason, '\0', sizeof(d->reason)) == NULL)
		abort();
	if (d->n_rcpts != in->n_rcpts)
		abort();
	for (size_t i = 0; i < d->n_rcpts; i++) {
		const struct policy_rcpt_decision *r = &d->rcpts[i];
		if (d->process && d->action == POLICY_ACTION_SEND &&
		    !d->encrypt && r->level.encrypt.value == POLICY_ENCRYPT_REQUIRED)
			abort();	/* sent in clear to a required one */
		if (d->process && d->action == POLICY_ACTION_SEND &&
		    d->encrypt && in->rcpts[i].cert != POLICY_AVAILABLE)
			abort();	/* encrypted for someone without cert */
	}
	if (d->strip_subject_tag) {
		/* Compared as decoded text: the stripped Subject is encoded
		 * again (RFC 2047) and may be longer on the wire. */
		char *stripped = policy_strip_subject_tag(pol, in->subject);
		char *before = policy_header_text(in->subject);
		char *after = policy_header_text(stripped);
		if (stripped == NULL || before == NULL || after == NULL ||
		    strlen(after) >= strlen(before))
			abort();
		for (const char *c = stripped; *c != '\0'; c++)
			if ((unsigned char)*c >= 0x80)
				abort();	/* not encoded */
		free(stripped);
		free(before);
		free(after);
	}
}

/* Every direction, every availability of each recipient's certificate
 * (3^n combinations) and of the signing key. */
static void check_decisions(const struct policy *pol, const struct message *m)
{
	static const enum policy_direction dirs[] = {
		POLICY_OUTBOUND, POLICY_INTERNAL, POLICY_INBOUND,
	};
	struct policy_rcpt_input rcpts[MAX_RCPTS];
	size_t combos = 1;
	for (size_t i = 0; i < m->n_rcpts; i++)
		combos *= 3;
	for (size_t dir = 0; dir < 3; dir++)
	for (size_t c = 0; c < combos; c++)
	for (size_t key = 0; key < 3; key++) {
		size_t code = c;
		for (size_t i = 0; i < m->n_rcpts; i++, code /= 3)
			rcpts[i] = (struct policy_rcpt_input){ m->rcpts[i],
							       avail[code % 3] };
		struct policy_message_input in = {
			.direction = dirs[dir], .sender = m->from,
			.from = m->from, .auth_login = m->login,
			.subject = m->subject, .trigger_header = m->trigger,
			.rcpts = rcpts, .n_rcpts = m->n_rcpts,
			.signing_key = avail[key], .can_sign = true,
		};
		struct policy_decision d;
		if (policy_decide(pol, &in, &d) != 0)
			continue;
		check_decision(pol, &in, &d);
		policy_decision_release(&d);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	if (text == NULL)
		return 0;
	char *sep = strstr(text, "\n%%\n");
	if (sep != NULL)
		*sep = '\0';
	config_t lc;
	config_init(&lc);
	/* relative @include names must not reach files of the cwd */
	config_set_include_dir(&lc, "/nonexistent/fuzz-include");
	if (config_read_string(&lc, text) == CONFIG_TRUE) {
		unsigned reports = 0;
		struct policy *pol = policy_from_config(
			config_lookup(&lc, "policy"), count_report, &reports);
		if ((pol == NULL) != (reports > 0))
			abort();	/* loaded despite errors, or failed silently */
		if (pol != NULL) {
			struct message m = { 0 };
			read_message(sep ? sep + 4 : NULL, &m);
			if (m.from != NULL) {
				for (size_t i = 0; i < m.n_rcpts; i++)
					check_rcpt_time(pol, m.from, m.rcpts[i]);
				check_decisions(pol, &m);
			}
			free_message(&m);
		}
		policy_free(&pol);
	}
	config_destroy(&lc);
	free(text);
	return 0;
}
