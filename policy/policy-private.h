/* SPDX-License-Identifier: BSD-2-Clause */
/* The policy as loaded: shared by the loader and the decision code. */
#ifndef SMX_POLICY_PRIVATE_H
#define SMX_POLICY_PRIVATE_H

#include <smx/policy-engine.h>

/* legacy_interop is a tri-state: 0 unset, 1 false, 2 true. */
struct policy_layer {
	char *key;		/* domain or address, lower case */
	char *label;		/* "domain x", "address y", "default" */
	int sign;		/* enum policy_sign */
	int encrypt;		/* enum policy_encrypt */
	int on_missing;		/* enum policy_action */
	int on_sign_failure;	/* enum policy_action */
	int legacy_interop;
	int header_protection;	/* enum policy_header_protection */
};

struct policy_login {
	char *login;
	char **addresses;
	size_t n_addresses;
};

struct policy {
	struct policy_layer builtin;
	struct policy_layer defaults;
	struct policy_layer *domains;
	size_t n_domains;
	struct policy_layer *addresses;
	size_t n_addresses;
	char *subject_tag;
	char *trigger_header;
	char **allow_unauthenticated;
	size_t n_allow_unauthenticated;
	struct policy_login *logins;
	size_t n_logins;
	enum policy_mixed mixed;
	enum policy_internal internal_mail;
	bool encrypt_to_sender;
	bool harvest_untrusted;
	bool decrypt_inbound;
	bool harvest_require_dmarc;
	char **dmarc_authserv_ids;
	size_t n_dmarc_authserv_ids;
	char *archive_certificate;
};

/* The layers that apply to addr, least specific first: built-in, default,
 * the best matching domain layer, the address layer. Returns the count
 * (2..4) written to layers. */
size_t policy_layers_for(const struct policy *policy, const char *addr,
			 const struct policy_layer *layers[4]);

/* Does the decoded Subject hold the subject tag (ASCII case ignored)? */
bool policy_subject_has_tag(const struct policy *policy, const char *subject);

/* Does the decoded trigger header value ask for encryption? Anything but
 * a plain "no", "false", "0" or "off" does. */
bool policy_header_triggers(const struct policy *policy, const char *value);

#endif
