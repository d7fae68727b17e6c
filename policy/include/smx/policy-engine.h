/* SPDX-License-Identifier: BSD-2-Clause */
/* The organization's S/MIME policy: layered properties read from the
 * `policy` configuration group, and the pure decision function that turns
 * (sender, recipients, headers, certificate availability) into what to do
 * with a message. No I/O, no locks: the caller looks certificates up and
 * passes their availability in; every outcome comes with its reasons. */
#ifndef SMX_POLICY_ENGINE_H
#define SMX_POLICY_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

#include <smx/policy.h>

struct config_setting_t;	/* libconfig's, for line numbers only */
struct policy;

/* Property values. UNSET means "this layer says nothing". Encryption
 * levels are ordered: a higher level raises a lower one. */
enum policy_sign { POLICY_SIGN_UNSET, POLICY_SIGN_NEVER,
		   POLICY_SIGN_ON_REQUEST, POLICY_SIGN_ALWAYS };
enum policy_encrypt { POLICY_ENCRYPT_UNSET, POLICY_ENCRYPT_NEVER,
		      POLICY_ENCRYPT_OPPORTUNISTIC, POLICY_ENCRYPT_REQUIRED };
enum policy_action { POLICY_ACTION_UNSET, POLICY_ACTION_SEND,
		     POLICY_ACTION_TEMPFAIL, POLICY_ACTION_HOLD,
		     POLICY_ACTION_REJECT };
enum policy_mixed { POLICY_MIXED_ALL_OR_NOTHING, POLICY_MIXED_SPLIT };
enum policy_internal { POLICY_INTERNAL_PASS, POLICY_INTERNAL_SIGN,
		       POLICY_INTERNAL_OUTBOUND };
/* Header protection (RFC 9788): off, or the baseline header
 * confidentiality policy. Ordered: the stricter value is the higher. */
enum policy_header_protection { POLICY_HP_UNSET, POLICY_HP_OFF,
				POLICY_HP_BASELINE };

/* What the caller found out about a certificate or key. */
enum policy_availability {
	POLICY_AVAILABLE,	/* a usable one exists */
	POLICY_MISSING,		/* every source answered: there is none */
	POLICY_UNKNOWN,		/* a source could not answer (tempfail) */
};

/* Reports one configuration problem at where (may be NULL). */
typedef void policy_report_fn(void *ctx, const struct config_setting_t *where,
			      const char *message);

/* Builds the policy from the libconfig `policy` group (NULL: built-in
 * defaults only). Every problem is passed to report, with the element it
 * concerns; returns NULL if there was any (or out of memory). The caller
 * owns the result and frees it with policy_free. */
struct policy *policy_from_config(const struct config_setting_t *group,
				  policy_report_fn *report, void *ctx);

/* Reports, through warn, settings of a valid policy (built from group)
 * that work but weaken it: on_missing_certificate = "hold" where
 * encryption can be required (a held message waits in clear in the MTA's
 * queue). Warnings are not errors. */
void policy_warnings(const struct policy *policy,
		     const struct config_setting_t *group,
		     policy_report_fn *warn, void *ctx);

/* Frees the policy and sets *policy to NULL. NULL-safe. */
void policy_free(struct policy **policy);

/* Lets the SASL login sign as address (an address, or "@domain" for
 * every address of that domain), as a milter.signer_map line says; adds
 * to policy.signers.logins. Returns 0, or -1 when out of memory. */
int policy_add_signer(struct policy *policy, const char *login,
		      const char *address);

/* The keys the `policy` group accepts, for documentation checks: the
 * i-th as a path below "policy" ("triggers.header"; "layer.sign" stands
 * for a property of default or of a domains or addresses entry), with a
 * setting the parser accepts in *example_r (may be NULL); NULL past the
 * end. */
const char *policy_key_name(size_t i, const char **example_r);

/* Policy-wide switches used by other parts of the gateway. */
bool policy_harvest_untrusted(const struct policy *policy);
bool policy_decrypt_inbound(const struct policy *policy);
bool policy_encrypt_to_sender(const struct policy *policy);
enum policy_mixed policy_mixed_recipients(const struct policy *policy);
enum policy_internal policy_internal_mail(const struct policy *policy);
/* Harvest only with dmarc=pass from one of these authserv-ids. */
bool policy_harvest_require_dmarc(const struct policy *policy);
char *const *policy_dmarc_authserv_ids(const struct policy *policy,
				       size_t *n_r);
/* The name of the trigger header, or NULL. */
const char *policy_trigger_header(const struct policy *policy);
/* Path or fingerprint of the archive certificate, or NULL. */
const char *policy_archive_certificate(const struct policy *policy);

/* One resolved property: its value and the layer that set it, such as
 * "built-in", "default", "domain partner.example", "address a@b.example",
 * "sender domain example.com", "trigger subject tag". Static text or text
 * owned by the policy: valid as long as the policy is. */
struct policy_source {
	int value;
	const char *layer;
};

/* The encryption level for a recipient: the recipient's layers, raised
 * by the sender's layers. (Triggers raise it further at end of message:
 * see policy_decide.) on_missing is the action when the level is
 * required and no certificate exists. */
struct policy_rcpt_level {
	struct policy_source encrypt;
	struct policy_source on_missing;
	struct policy_source legacy_interop;
	struct policy_source header_protection;	/* raised by the sender's
						 * own layers, like encrypt */
};
void policy_rcpt_level(const struct policy *policy, const char *sender,
		       const char *rcpt, struct policy_rcpt_level *out);

/* What to answer at RCPT time, before headers exist. */
enum policy_rcpt_verdict {
	POLICY_RCPT_ACCEPT,	/* group: encrypted or plain */
	POLICY_RCPT_REJECT,	/* 550 5.7.1: required, no certificate */
	POLICY_RCPT_TEMPFAIL,	/* 450 4.7.1: required, directory unsure */
	POLICY_RCPT_SPLIT,	/* 452 4.5.3: send in another transaction */
};
enum policy_group { POLICY_GROUP_NONE, POLICY_GROUP_PLAIN,
		    POLICY_GROUP_ENCRYPTED };

/* Decides a recipient at RCPT time. first_group is the group of the
 * transaction so far (NONE for the first recipient); *group_r receives
 * this recipient's group. A required recipient without certificate is
 * refused with its on_missing action mapped to REJECT (reject, hold) or
 * TEMPFAIL (tempfail, unknown). SPLIT only with mixed_recipients =
 * "split". reason gets text naming the recipient. */
enum policy_rcpt_verdict policy_rcpt_decide(const struct policy *policy,
					    const char *sender,
					    const char *rcpt,
					    enum policy_availability cert,
					    enum policy_group first_group,
					    enum policy_group *group_r,
					    char *reason, size_t size);

struct policy_rcpt_input {
	const char *address;		/* normalized */
	enum policy_availability cert;	/* usable encryption certificate */
};

struct policy_message_input {
	enum policy_direction direction;
	const char *sender;		/* envelope sender, normalized */
	const char *from;		/* From: address, normalized; NULL if
					 * absent or not exactly one */
	const char *auth_login;		/* SASL login or NULL */
	const char *subject;		/* Subject value or NULL, as received
					 * (folded, RFC 2047 encoded): the
					 * tag is matched on its decoded text */
	const char *trigger_header;	/* value of the trigger header or
					 * NULL, as received, likewise */
	const struct policy_rcpt_input *rcpts;
	size_t n_rcpts;
	enum policy_availability signing_key;	/* key for `from` */
	bool can_sign;			/* false: this build cannot sign */
	bool client_signed;		/* the client sent S/MIME signed mail */
	bool client_encrypted;		/* ... or encrypted mail: left as is */
	bool encryption_claim_false;	/* the Content-Type says encrypted,
					 * the body is not: noted in the
					 * reason, handled like any other */
};

struct policy_rcpt_decision {
	const char *address;		/* from the input */
	struct policy_rcpt_level level;	/* after triggers */
	enum policy_availability cert;
	bool encrypt_to;		/* included in the envelope */
};

/* The decision for a whole message at end of message. */
struct policy_decision {
	enum policy_action action;	/* SEND, TEMPFAIL, HOLD or REJECT */
	bool process;			/* false: pass unchanged (inbound...) */
	bool sign;
	bool needs_key;			/* sign wanted and allowed, no key:
					 * the caller may enroll one */
	bool encrypt;
	bool legacy_interop;		/* some recipient needs legacy forms */
	/* Header protection for the whole message: the stricter of the
	 * recipients' settings wins (one message, one header); OFF when
	 * the message is neither signed nor encrypted. hp_source names the
	 * recipient's layer that decided it. */
	enum policy_header_protection header_protection;
	struct policy_source hp_source;
	bool strip_subject_tag;		/* remove the tag from Subject */
	bool strip_trigger_header;	/* remove the trigger header */
	struct policy_source sign_source;
	struct policy_source on_sign_failure;	/* if signing fails later */
	struct policy_rcpt_decision *rcpts;	/* n_rcpts entries */
	size_t n_rcpts;
	char reason[512];		/* why, for the log line */
};

/* Decides what to do with a message. Returns 0, or -1 when out of
 * memory; then *out is untouched. The caller frees the decision with
 * policy_decision_release. Never decides SEND with encrypt false while a
 * recipient's level is required. */
int policy_decide(const struct policy *policy,
		  const struct policy_message_input *in,
		  struct policy_decision *out);

/* Frees what policy_decide allocated inside decision. */
void policy_decision_release(struct policy_decision *decision);

/* The Subject value (as received: folded, RFC 2047 encoded words) with
 * the first occurrence of the subject tag (and one adjacent space)
 * removed from its decoded text, encoded again (RFC 2047 where not plain
 * ASCII) and folded with "\n" and white space; newly allocated, without
 * a leading space. NULL when there is no tag or out of memory. */
char *policy_strip_subject_tag(const struct policy *policy,
			       const char *subject);

/* The text of a header value as a reader sees it, as the triggers are
 * matched on it: folding and leading white space removed, RFC 2047
 * encoded words decoded (what does not decode is kept as it stands),
 * UTF-8; newly allocated, NULL when raw is NULL or out of memory. */
char *policy_header_text(const char *raw);

/* An SMTP reply: code and enhanced code (both NULL: none, the message
 * or recipient goes on), and the word for the log line's action= (NULL
 * for an accepted recipient, which is not logged). */
struct policy_reply {
	const char *code;
	const char *xcode;
	const char *action;
};

/* The reply to a recipient at RCPT time: none (accepted), 550 5.7.1
 * "reject", 450 4.7.1 "tempfail", 452 4.5.3 "defer". */
struct policy_reply policy_rcpt_reply(enum policy_rcpt_verdict verdict);

/* The reply at the end of a message decided d: 550 5.7.1 "reject",
 * 451 4.7.1 "tempfail", none for "hold" (the message is quarantined) and
 * for a message sent: "sign+encrypt", "encrypt", "sign" or "pass". */
struct policy_reply policy_message_reply(const struct policy_decision *d);

/* How carrying out a decision failed: the store or the system
 * (temporary), or this message, key or certificate (permanent). */
enum policy_failure { POLICY_FAILURE_TEMPORARY, POLICY_FAILURE_PERMANENT };

/* Should a message whose signing failed this way be sent encrypted but
 * unsigned? Only when it was to be signed and encrypted, the failure is
 * permanent and on_sign_failure says "send". */
bool policy_retry_unsigned(const struct policy_decision *d,
			   enum policy_failure failure);

/* Signing or encryption failed this way: d no longer signs or encrypts,
 * and its action becomes what the configuration says. A message that
 * was to be encrypted is tempfailed (never sent in clear); a signing
 * failure sends it unsigned with on_sign_failure "send" (when
 * permanent), rejects it with "reject" (when permanent), and tempfails
 * it otherwise. */
void policy_protection_failed(struct policy_decision *d,
			      enum policy_failure failure);

/* Names for logs: "always", "required", "tempfail", ... */
const char *policy_sign_name(enum policy_sign value);
const char *policy_encrypt_name(enum policy_encrypt value);
const char *policy_action_name(enum policy_action value);
const char *policy_hp_name(enum policy_header_protection value);

#endif
