/* SPDX-License-Identifier: BSD-2-Clause */
/* A stand-in for an upstream filter on the same MTA (a DMARC milter that
 * runs before smime-milter): it writes every header it is shown, in
 * order, one "name: value" line each, to LOGFILE, and at the end of each
 * message inserts one header at INDEX (smfi_insheader: 0 is the top).
 *
 *   header-milter SOCKET LOGFILE INDEX NAME VALUE
 *
 * For tests only: it runs in the foreground until killed. */
#include <libmilter/mfapi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *log_path, *add_name, *add_value;
static int add_index;

static sfsistat on_header(SMFICTX *ctx, char *name, char *value)
{
	(void)ctx;
	FILE *f = fopen(log_path, "a");
	if (f != NULL) {
		fprintf(f, "%s:%s\n", name, value);
		fclose(f);
	}
	return SMFIS_CONTINUE;
}

static sfsistat on_eom(SMFICTX *ctx)
{
	char *name = strdup(add_name), *value = strdup(add_value);
	int rc = name && value ? smfi_insheader(ctx, add_index, name, value)
			       : MI_FAILURE;
	free(name);
	free(value);
	FILE *f = fopen(log_path, "a");
	if (f != NULL) {
		fprintf(f, "--\n");
		fclose(f);
	}
	return rc == MI_SUCCESS ? SMFIS_CONTINUE : SMFIS_TEMPFAIL;
}

static char filter_name[] = "header-milter";

static struct smfiDesc desc = {
	.xxfi_name = filter_name,
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS,
	.xxfi_header = on_header,
	.xxfi_eom = on_eom,
};

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: header-milter SOCKET LOGFILE INDEX "
			"NAME VALUE\n");
		return 2;
	}
	log_path = argv[2];
	add_index = atoi(argv[3]);
	add_name = argv[4];
	add_value = argv[5];
	if (smfi_setconn(argv[1]) != MI_SUCCESS ||
	    smfi_register(desc) != MI_SUCCESS) {
		fprintf(stderr, "header-milter: cannot set up %s\n", argv[1]);
		return 1;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
