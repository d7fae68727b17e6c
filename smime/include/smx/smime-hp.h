/* SPDX-License-Identifier: BSD-2-Clause */
/* Header protection (RFC 9788) of the messages the gateway signs or
 * encrypts, and its reading on the messages it decrypts.
 *
 * Outbound, the header fields the sender wrote travel inside the
 * cryptographic payload, on the root part that is signed or encrypted,
 * whose Content-Type gets hp="clear" (signed only) or hp="cipher"
 * (encrypted). For encrypted mail the outer header is then reduced by the
 * baseline header confidentiality policy: Subject becomes "[...]",
 * Comments and Keywords are removed, every other field stays as it is;
 * each field left outside is recorded inside as "HP-Outer: Name: value",
 * and the real Subject is repeated at the top of the main text part (the
 * legacy display element, marked hp-legacy-display="1") for clients that
 * only show the outer header.
 *
 *	hp = smime_hp_new(mode)
 *	smime_hp_header(hp, name, value)	every header, in order, as
 *						the message will carry it
 *	smime_sign_protect(sign, hp) or smime_encrypt_protect(enc, hp)
 *		before the first header of the message is given to them;
 *		the outer edits (Subject, Comments, Keywords) join theirs
 *	smime_hp_free(&hp)			after sign/encrypt are freed
 *
 * Trace and transport fields (Received, Return-Path, DKIM-Signature,
 * Authentication-Results, ARC-*, Delivered-To, X-Original-To) and Bcc
 * are not copied inside: they are not the sender's, or must not reach
 * every recipient. */
#ifndef SMX_SMIME_HP_H
#define SMX_SMIME_HP_H

#include <stdbool.h>
#include <stddef.h>

#include <smx/smime.h>
#include <smx/status.h>

enum smime_hp_mode {
	SMIME_HP_CLEAR,		/* signed only: hp="clear", outside unchanged */
	SMIME_HP_CIPHER,	/* encrypted: hp="cipher", baseline policy */
};

struct smime_hp;

/* A new, empty header protection; NULL when out of memory. */
struct smime_hp *smime_hp_new(enum smime_hp_mode mode);

enum smime_hp_mode smime_hp_mode(const struct smime_hp *hp);

/* Records one header of the message (value as the milter has it: may
 * start with a space and contain folding). Returns SMX_OK or
 * SMX_TEMPFAIL (memory). */
enum smx_status smime_hp_header(struct smime_hp *hp, const char *name,
				const char *value);

/* The edits of the outer header (CHANGE of each Subject to " [...]",
 * DELETE of Comments and Keywords, highest index first); none in
 * SMIME_HP_CLEAR mode. Valid as long as hp. */
size_t smime_hp_edit_count(const struct smime_hp *hp);
const struct smime_header_edit *smime_hp_edit(const struct smime_hp *hp,
					      size_t i);

/* The header block written inside (protected fields, then HP-Outer),
 * "Name: value" lines with CRLF; newly allocated, NULL when out of
 * memory. For tests and logs. */
char *smime_hp_inner_block(const struct smime_hp *hp);

/* Frees hp; sets *hp to NULL. NULL-safe. */
void smime_hp_free(struct smime_hp **hp);

struct smime_sign;
struct smime_encrypt;

/* Makes the entity signed or encrypted carry hp (which must outlive
 * sign or enc), and its outer edits join those of sign or enc. Call
 * before any header is given. */
void smime_sign_protect(struct smime_sign *sign, const struct smime_hp *hp);
void smime_encrypt_protect(struct smime_encrypt *enc,
			   const struct smime_hp *hp);

/* --- reading, after decryption --------------------------------------------
 * The header fields a decrypted message protects: those of the root part
 * of its cryptographic payload when its Content-Type carries hp="cipher"
 * or hp="clear" (RFC 9788) or protected-headers="v1" (the draft form
 * several clients send), looked for in the decrypted entity itself, in
 * the signed part of a multipart/signed, or in the content of an opaque
 * signed-data inside it. Only the fields a reader sees or threads by are
 * taken: Subject, From, To, Cc, Reply-To, Date, Message-ID, In-Reply-To,
 * References, Keywords, Comments. */
struct smime_hp_found {
	char *name;
	char *value;	/* with a leading space, folding as LF + blank */
};

/* Whether a field of that name (any case) is one the reading takes:
 * the list above. */
bool smime_hp_restorable(const char *name);

/* Looks at entity (the decrypted MIME entity, headers and body, at most
 * max_bytes are read). Returns the number of fields found (0: none, or
 * not protected) into a new array *found_r (free with
 * smime_hp_found_free), or -1 when out of memory. Never fails on
 * malformed input: what cannot be read protects nothing. */
int smime_hp_find(const void *entity, size_t len,
		  struct smime_hp_found **found_r);
void smime_hp_found_free(struct smime_hp_found *found, size_t n);

#endif
