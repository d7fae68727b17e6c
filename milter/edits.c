/* SPDX-License-Identifier: BSD-2-Clause */
#include "edits.h"

#include <stdlib.h>
#include <string.h>

#define REPLACE_CHUNK 65535	/* libmilter's largest body chunk */

int edit_apply(SMFICTX *ctx, const struct smime_header_edit *e)
{
	/* libmilter takes char *: copies keep the library's strings const. */
	char *name = strdup(e->name);
	char *value = e->value ? strdup(e->value) : NULL;
	int rc = name == NULL || (e->value && value == NULL) ? MI_FAILURE
		 : e->op == SMIME_EDIT_DELETE
			 ? smfi_chgheader(ctx, name, (int)e->index, NULL)
		 : e->op == SMIME_EDIT_CHANGE
			 ? smfi_chgheader(ctx, name, (int)e->index, value)
		 : e->op == SMIME_EDIT_INSERT
			 ? smfi_insheader(ctx, (int)e->index, name, value)
			 : smfi_addheader(ctx, name, value);
	free(name);
	free(value);
	return rc == MI_SUCCESS ? 0 : -1;
}

int edits_hand_over(SMFICTX *ctx, size_t n, edit_at_fn edit, const void *obj,
		    struct spool *body)
{
	for (size_t i = 0; i < n; i++)
		if (edit_apply(ctx, edit(obj, i)) != 0)
			return -1;
	unsigned char buf[REPLACE_CHUNK];
	ssize_t got;
	if (spool_rewind(body) != 0)
		return -1;
	while ((got = spool_read(body, buf, sizeof(buf))) > 0)
		if (smfi_replacebody(ctx, buf, (int)got) != MI_SUCCESS)
			return -1;
	return got == 0 ? 0 : -1;
}
