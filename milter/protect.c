/* SPDX-License-Identifier: BSD-2-Clause */
/* Header protection of outbound mail: the milter's side. The MIME work
 * is smx/smime-hp.h's. */
#include "protect.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <smx/smime-hp.h>

/* The Subject as it leaves: without the subject tag when d strips it,
 * with the leading space of a milter value. NULL: unchanged. */
static char *sent_subject(const struct conn *c, const struct policy_decision *d,
			  const char *value)
{
	if (!d->strip_subject_tag)
		return NULL;
	char *stripped = policy_strip_subject_tag(c->cfg->policy, value);
	char *spaced = stripped ? malloc(strlen(stripped) + 2) : NULL;
	if (spaced != NULL) {
		spaced[0] = ' ';
		strcpy(spaced + 1, stripped);
	}
	free(stripped);
	return spaced;
}

int protect_headers_prepare(struct conn *c, const struct policy_decision *d)
{
	struct msg *m = c->msg;
	smime_hp_free(&m->hp);
	if (d->header_protection != POLICY_HP_BASELINE ||
	    (!d->sign && !d->encrypt))
		return 0;
	m->hp = smime_hp_new(d->encrypt ? SMIME_HP_CIPHER : SMIME_HP_CLEAR);
	if (m->hp == NULL)
		return -1;
	const char *trigger = d->strip_trigger_header
		? policy_trigger_header(c->cfg->policy) : NULL;
	bool first_subject = true;
	for (size_t i = 0; i < hdrlist_count(m->headers); i++) {
		const char *name = hdrlist_name(m->headers, i);
		const char *value = hdrlist_value(m->headers, i);
		char *subject = NULL;
		if (trigger != NULL && strcasecmp(name, trigger) == 0)
			continue;
		if (first_subject && strcasecmp(name, "Subject") == 0) {
			first_subject = false;
			subject = sent_subject(c, d, value);
		}
		enum smx_status st = smime_hp_header(m->hp, name, subject ?
				subject : value);
		free(subject);
		if (st != SMX_OK) {
			smime_hp_free(&m->hp);
			return -1;
		}
	}
	return 0;
}

bool protect_headers_hide_subject(const struct msg *m)
{
	return m->hp != NULL && smime_hp_mode(m->hp) == SMIME_HP_CIPHER;
}
