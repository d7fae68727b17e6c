/* SPDX-License-Identifier: BSD-2-Clause */
/* Header protection (RFC 9788) of outbound mail: which fields go inside,
 * what the outside keeps (the baseline header confidentiality policy),
 * the HP-Outer record and the legacy display element. */
#include "hp-private.h"
#include "smime-private.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OBSCURED_SUBJECT " [...]"

struct field {
	char *name;
	char *value;		/* as given: leading space, folding */
	unsigned index;		/* occurrence among fields of its name */
	bool inside;		/* copied into the protected header */
};

struct smime_hp {
	enum smime_hp_mode mode;
	struct field *fields;
	size_t n, cap;
	struct smime_header_edit *edits;
	size_t n_edits;
};

struct smime_hp *smime_hp_new(enum smime_hp_mode mode)
{
	struct smime_hp *hp = calloc(1, sizeof(*hp));
	if (hp != NULL)
		hp->mode = mode;
	return hp;
}

enum smime_hp_mode smime_hp_mode(const struct smime_hp *hp)
{
	return hp->mode;
}

/* Structural fields describe the MIME entity, not the message; trace and
 * transport fields are the MTAs'; Bcc must not reach every recipient. */
static bool copied_inside(const char *name)
{
	static const char *const outside[] = {
		"MIME-Version", "Received", "Return-Path", "Delivered-To",
		"X-Original-To", "DKIM-Signature", "Authentication-Results",
		"Bcc", "HP-Outer",
	};
	if (strncasecmp(name, "Content-", 8) == 0 ||
	    strncasecmp(name, "ARC-", 4) == 0)
		return false;
	for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++)
		if (strcasecmp(name, outside[i]) == 0)
			return false;
	return true;
}

static unsigned count_named(const struct smime_hp *hp, const char *name)
{
	unsigned n = 0;
	for (size_t i = 0; i < hp->n; i++)
		if (strcasecmp(hp->fields[i].name, name) == 0)
			n++;
	return n;
}

static int make_edits(struct smime_hp *hp);

enum smx_status smime_hp_header(struct smime_hp *hp, const char *name,
				const char *value)
{
	if (hp->n == hp->cap) {
		size_t cap = hp->cap ? hp->cap * 2 : 16;
		struct field *f = realloc(hp->fields, cap * sizeof(*f));
		if (f == NULL)
			return SMX_TEMPFAIL;
		hp->fields = f;
		hp->cap = cap;
	}
	struct field f = {
		strdup(name), strdup(value != NULL ? value : ""),
		count_named(hp, name) + 1, copied_inside(name)
	};
	if (f.name == NULL || f.value == NULL) {
		free(f.name);
		free(f.value);
		return SMX_TEMPFAIL;
	}
	hp->fields[hp->n++] = f;
	return make_edits(hp) == 0 ? SMX_OK : SMX_TEMPFAIL;
}

/* --- the baseline header confidentiality policy ------------------------- */

enum hcp_result { HCP_KEEP, HCP_OBSCURE, HCP_REMOVE };

static enum hcp_result hcp_baseline(const char *name)
{
	if (strcasecmp(name, "Subject") == 0)
		return HCP_OBSCURE;
	if (strcasecmp(name, "Comments") == 0 ||
	    strcasecmp(name, "Keywords") == 0)
		return HCP_REMOVE;
	return HCP_KEEP;
}

static enum hcp_result hcp(const struct smime_hp *hp, const struct field *f)
{
	return hp->mode == SMIME_HP_CIPHER && f->inside ? hcp_baseline(f->name)
							: HCP_KEEP;
}

/* Deletions last occurrence first (indexes stay valid), then changes. */
static int make_edits(struct smime_hp *hp)
{
	free(hp->edits);
	hp->n_edits = 0;
	hp->edits = calloc(hp->n + 1, sizeof(*hp->edits));
	if (hp->edits == NULL)
		return -1;
	for (size_t i = hp->n; i-- > 0;)
		if (hcp(hp, &hp->fields[i]) == HCP_REMOVE)
			hp->edits[hp->n_edits++] = (struct smime_header_edit){
				SMIME_EDIT_DELETE, hp->fields[i].name,
				hp->fields[i].index, NULL };
	for (size_t i = 0; i < hp->n; i++)
		if (hcp(hp, &hp->fields[i]) == HCP_OBSCURE)
			hp->edits[hp->n_edits++] = (struct smime_header_edit){
				SMIME_EDIT_CHANGE, hp->fields[i].name,
				hp->fields[i].index, OBSCURED_SUBJECT };
	return 0;
}

size_t smime_hp_edit_count(const struct smime_hp *hp)
{
	return hp != NULL ? hp->n_edits : 0;
}

const struct smime_header_edit *smime_hp_edit(const struct smime_hp *hp,
					      size_t i)
{
	return i < smime_hp_edit_count(hp) ? &hp->edits[i] : NULL;
}

int hp_append_edits(struct smime_header_edit **edits, size_t *n,
		    const struct smime_hp *hp)
{
	size_t k = smime_hp_edit_count(hp);
	if (k == 0)
		return 0;
	struct smime_header_edit *grown = realloc(*edits, (*n + k) *
						  sizeof(**edits));
	if (grown == NULL)
		return -1;
	memcpy(grown + *n, hp->edits, k * sizeof(*grown));
	*edits = grown;
	*n += k;
	return 0;
}

/* --- the protected header block ---------------------------------------- */

/* Writes "name:" and value with its line breaks made CRLF (the folding
 * the milter passes is LF + blank). */
static int put_field(FILE *f, const char *prefix, const char *name,
		     const char *value)
{
	fprintf(f, "%s%s:", prefix, name);
	if (*value != ' ' && *value != '\t')
		fputc(' ', f);
	while (*value != '\0') {
		size_t n = strcspn(value, "\r\n");
		fwrite(value, 1, n, f);
		value += n;
		if (*value == '\0')
			break;
		value += (value[0] == '\r' && value[1] == '\n') ? 2 : 1;
		fputs("\r\n", f);
	}
	fputs("\r\n", f);
	return ferror(f) ? -1 : 0;
}

char *smime_hp_inner_block(const struct smime_hp *hp)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		return NULL;
	int rc = 0;
	for (size_t i = 0; i < hp->n && rc == 0; i++)
		if (hp->fields[i].inside)
			rc = put_field(f, "", hp->fields[i].name,
				       hp->fields[i].value);
	/* What the outside shows of each field, so that a reader can tell
	 * what was hidden (a protected field without HP-Outer was
	 * removed). */
	for (size_t i = 0; i < hp->n && rc == 0 && hp->mode == SMIME_HP_CIPHER;
	     i++) {
		const struct field *fl = &hp->fields[i];
		enum hcp_result r = hcp(hp, fl);
		if (!fl->inside || r == HCP_REMOVE)
			continue;
		fprintf(f, "HP-Outer: ");
		rc = put_field(f, "", fl->name, r == HCP_OBSCURE
			       ? OBSCURED_SUBJECT : fl->value);
	}
	if (fclose(f) != 0 || rc != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

const char *hp_content_type_param(const struct smime_hp *hp)
{
	return hp->mode == SMIME_HP_CIPHER ? "hp=\"cipher\"" : "hp=\"clear\"";
}

/* The legacy display lines: the user-facing fields the outside does not
 * show as they are (with the baseline policy, the Subject), decoded;
 * NULL when there are none or in SMIME_HP_CLEAR mode. */
char *hp_legacy_lines(const struct smime_hp *hp, bool ascii_only)
{
	if (hp->mode != SMIME_HP_CIPHER)
		return NULL;
	for (size_t i = 0; i < hp->n; i++) {
		const struct field *f = &hp->fields[i];
		if (!f->inside || hcp(hp, f) != HCP_OBSCURE)
			continue;
		char *text = g_mime_utils_header_decode_text(NULL, f->value);
		if (text == NULL)
			return NULL;
		bool ascii = true;
		for (const char *p = text; *p != '\0'; p++)
			ascii &= ((unsigned char)*p & 0x80) == 0;
		const char *shown = ascii || !ascii_only ? text : f->value;
		while (*shown == ' ' || *shown == '\t')
			shown++;
		char *line = NULL;
		if (asprintf(&line, "Subject: %s", shown) < 0)
			line = NULL;
		/* Folding inside the encoded value becomes one line. */
		for (char *p = line; p != NULL && *p != '\0'; p++)
			if (*p == '\r' || *p == '\n')
				*p = ' ';
		g_free(text);
		return line;
	}
	return NULL;
}

void smime_hp_free(struct smime_hp **hp)
{
	if (hp == NULL || *hp == NULL)
		return;
	for (size_t i = 0; i < (*hp)->n; i++) {
		free((*hp)->fields[i].name);
		free((*hp)->fields[i].value);
	}
	free((*hp)->fields);
	free((*hp)->edits);
	free(*hp);
	*hp = NULL;
}
