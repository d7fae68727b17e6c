/* SPDX-License-Identifier: BSD-2-Clause */
/* Header protection internals shared by hp.c, hp-display.c, entity.c,
 * sign.c and encrypt.c. Not installed. */
#ifndef SMX_SMIME_HP_PRIVATE_H
#define SMX_SMIME_HP_PRIVATE_H

#include <stdbool.h>

#include <gmime/gmime.h>

#include <smx/smime-hp.h>

/* The Content-Type parameter of the protected root part: hp="cipher" or
 * hp="clear". */
const char *hp_content_type_param(const struct smime_hp *hp);

/* The legacy display element's text ("Subject: ..."), decoded (with
 * ascii_only, the field as it was written when the decoded text is not
 * ASCII); NULL when there is nothing to display (or out of memory). */
char *hp_legacy_lines(const struct smime_hp *hp, bool ascii_only);

/* Puts the legacy display element at the top of the main text part(s)
 * of top (text/plain, text/html; the first part of a multipart/mixed or
 * related, every text alternative of a multipart/alternative), marked
 * hp-legacy-display="1". Returns 1 when something was changed, 0 when
 * not (nothing to display, no text part), -1 on a read error. */
int hp_legacy_display(const struct smime_hp *hp, GMimeObject *top);

/* Appends the outer edits of hp (NULL: none) to the n edits of the
 * array edits (from calloc), which may move. Returns 0 or -1 (memory;
 * the array stays valid). */
int hp_append_edits(struct smime_header_edit **edits, size_t *n,
		    const struct smime_hp *hp);

/* Whether two address-list header values name the same mailboxes (the
 * display names aside), in the same order. */
bool hp_same_mailboxes(const char *a, const char *b);

/* The entity carries hp: its header block starts with the protected
 * fields and HP-Outer, its Content-Type gets the hp parameter, its main
 * text the legacy display element. */
struct smime_entity;
void entity_set_hp(struct smime_entity *entity, const struct smime_hp *hp);
const struct smime_hp *entity_hp(const struct smime_entity *entity);

#endif
