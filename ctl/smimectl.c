/* SPDX-License-Identifier: BSD-2-Clause */
/* smimectl: the administrator's tool. main parses the global options
 * and dispatches; only check and version are answered here. Every other
 * command group lives in its own file: cmd-identity.c (init, import-p12,
 * export-p12), cmd-certs.c (import-cert, list, show, remove),
 * cmd-trust.c (trust, stats), cmd-ca.c, cmd-lookup.c (lookup, publish),
 * cmd-explain.c, cmd-revocation.c, cmd-verify.c. Exit codes: 0 success,
 * 1 usage or configuration error, 2 runtime failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <smx/directory.h>
#include <smx/log.h>
#include <smx/smime.h>

#include "ctl.h"

#define DEFAULT_CONFIG "/etc/smime-milter/smime-milter.conf"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: smimectl [-c FILE] [--json] COMMAND [ARGS]\n"
		"       smimectl -V\n"
		"commands:\n"
		"  check                  validate the configuration file\n"
		"  version                print versions of smimectl and its libraries\n"
		"  init                   create the store schema and the master key\n"
		"  import-p12 FILE [--password-file F] [--to-token [--token-label L]]\n"
		"  export-p12 EMAIL OUT [--password-file F] [--legacy] [--delete-key]\n"
		"                         [--fingerprint FP]\n"
		"  import-cert [--pin] FILE...   PEM, DER or PKCS#7 certificates\n"
		"  list [EMAIL] [--expiring DAYS]   certificates, newest first\n"
		"  show FINGERPRINT       one certificate in detail\n"
		"  remove FINGERPRINT [--force]\n"
		"  trust add FILE... | trust list | trust remove FINGERPRINT\n"
		"  trust pin FINGERPRINT | trust unpin FINGERPRINT\n"
		"  stats                  store figures and counters\n"
		"  ca init [--subject DN] [--key-type T] [--lifetime D]\n"
		"  ca import FILE.p12 [--password-file F]\n"
		"  ca issue EMAIL [--separate-encryption] [--force]\n"
		"  ca cert                the organization CA certificate (PEM)\n"
		"  ca revoke FINGERPRINT [--reason R]\n"
		"  ca crl [--out FILE] [--der]\n"
		"  lookup EMAIL           the certificates encryption to EMAIL would use\n"
		"  publish EMAIL [--dry-run]   write EMAIL's certificates to the directory\n"
		"  revocation refresh [FINGERPRINT|EMAIL]   check revocation now\n"
		"  explain --from S --to R... [--subject T] [--header N:V] [--login L]\n"
		"          [--client inbound|outbound]   the decision for a message\n"
		"  verify FILE            verify a message file as the milter would\n"
		"--json prints machine-readable output.\n");
}

static int cmd_version(void)
{
	char a[160], b[96], c[96];
	printf("smimectl %s\n  %s\n  %s\n  %s\n", SMX_VERSION,
	       smime_library_versions(a, sizeof(a)),
	       store_library_versions(b, sizeof(b)),
	       directory_library_version(c, sizeof(c)));
	return CTL_OK;
}

static int cmd_check(struct ctl *ctl, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (ctl_load_cfg(ctl) != CTL_OK)
		return CTL_USAGE;
	printf("%s: configuration OK\n", ctl->config_path);
	return CTL_OK;
}

int ctl_cmd_ca(struct ctl *ctl, int argc, char **argv);	/* cmd-ca.c */

static const struct {
	const char *name;
	ctl_cmd_fn *fn;
} commands[] = {
	{ "check", cmd_check },
	{ "init", ctl_cmd_init },
	{ "import-p12", ctl_cmd_import_p12 },
	{ "export-p12", ctl_cmd_export_p12 },
	{ "import-cert", ctl_cmd_import_cert },
	{ "list", ctl_cmd_list },
	{ "show", ctl_cmd_show },
	{ "remove", ctl_cmd_remove },
	{ "trust", ctl_cmd_trust },
	{ "stats", ctl_cmd_stats },
	{ "ca", ctl_cmd_ca },
	{ "lookup", ctl_cmd_lookup },
	{ "publish", ctl_cmd_publish },
	{ "explain", ctl_cmd_explain },
	{ "revocation", ctl_cmd_revocation },
	{ "verify", ctl_cmd_verify },
};

/* Removes every "--json" from argv; returns the new argc. */
static int take_json(int argc, char **argv, bool *json)
{
	int out = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			*json = true;
		else
			argv[out++] = argv[i];
	}
	argv[out] = NULL;
	return out;
}

int main(int argc, char **argv)
{
	struct ctl ctl = { .config_path = DEFAULT_CONFIG };
	int ch;
	argc = take_json(argc, argv, &ctl.json);
	while ((ch = getopt(argc, argv, "+c:Vh")) != -1) {
		switch (ch) {
		case 'c': ctl.config_path = optarg; break;
		case 'V': return cmd_version();
		case 'h': usage(stdout); return CTL_OK;
		default: usage(stderr); return CTL_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_USAGE;
	}
	const char *cmd = argv[optind];
	if (strcmp(cmd, "version") == 0)
		return cmd_version();
	smx_log_open("smimectl", SMX_LOG_STDERR, 0);
	smx_log_set_level(LOG_NOTICE);
	int rc = -1;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(cmd, commands[i].name) == 0)
			rc = commands[i].fn(&ctl, argc - optind, argv + optind);
	if (rc < 0) {
		ctl_error("unknown command '%s'", cmd);
		usage(stderr);
		rc = CTL_USAGE;
	}
	store_close(&ctl.store);
	cfg_unref(&ctl.cfg);
	return rc;
}
