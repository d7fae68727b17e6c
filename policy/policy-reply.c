/* SPDX-License-Identifier: BSD-2-Clause */
/* What a decision, or a failure to carry it out, becomes at the MTA: the
 * SMTP reply and the word the log line records. Pure, like the decision:
 * the milter and smimectl explain read the same tables. */
#include <smx/policy-engine.h>

static const struct policy_reply none = { NULL, NULL, NULL };

struct policy_reply policy_rcpt_reply(enum policy_rcpt_verdict verdict)
{
	static const struct policy_reply replies[] = {
		[POLICY_RCPT_ACCEPT] = { NULL, NULL, NULL },
		[POLICY_RCPT_REJECT] = { "550", "5.7.1", "reject" },
		[POLICY_RCPT_TEMPFAIL] = { "450", "4.7.1", "tempfail" },
		[POLICY_RCPT_SPLIT] = { "452", "4.5.3", "defer" },
	};
	return (unsigned)verdict < sizeof(replies) / sizeof(replies[0])
		       ? replies[verdict] : none;
}

struct policy_reply policy_message_reply(const struct policy_decision *d)
{
	switch (d->action) {
	case POLICY_ACTION_REJECT:
		return (struct policy_reply){ "550", "5.7.1", "reject" };
	case POLICY_ACTION_TEMPFAIL:
		return (struct policy_reply){ "451", "4.7.1", "tempfail" };
	case POLICY_ACTION_HOLD:
		return (struct policy_reply){ NULL, NULL, "hold" };
	default:
		return (struct policy_reply){
			NULL, NULL,
			d->sign && d->encrypt ? "sign+encrypt"
			: d->encrypt	      ? "encrypt"
			: d->sign	      ? "sign"
					      : "pass" };
	}
}

bool policy_retry_unsigned(const struct policy_decision *d,
			   enum policy_failure failure)
{
	return failure == POLICY_FAILURE_PERMANENT && d->sign && d->encrypt &&
	       d->on_sign_failure.value == POLICY_ACTION_SEND;
}

void policy_protection_failed(struct policy_decision *d,
			      enum policy_failure failure)
{
	bool was_encrypting = d->encrypt;
	bool temporary = failure == POLICY_FAILURE_TEMPORARY;
	enum policy_action on_sign = (enum policy_action)d->on_sign_failure.value;
	d->sign = d->encrypt = false;
	if (!was_encrypting && !temporary && on_sign == POLICY_ACTION_SEND)
		return;		/* sent unsigned, as policy allows */
	/* Encryption never degrades to clear text; a signing failure is
	 * refused only when policy says reject and the failure is lasting,
	 * else retried later. */
	d->action = !was_encrypting && !temporary &&
				    on_sign == POLICY_ACTION_REJECT
			    ? POLICY_ACTION_REJECT
			    : POLICY_ACTION_TEMPFAIL;
}
