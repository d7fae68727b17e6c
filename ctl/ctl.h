/* SPDX-License-Identifier: BSD-2-Clause */
/* smimectl internals: the state every command gets, exit codes, and the
 * helpers the command groups share (files, passwords, output). */
#ifndef SMX_CTL_H
#define SMX_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <smx/cfg.h>
#include <smx/store.h>

/* Exit codes of every command. */
#define CTL_OK 0
#define CTL_USAGE 1	/* usage or configuration error */
#define CTL_FAIL 2	/* runtime failure */

struct ctl {
	const char *config_path;
	struct cfg *cfg;	/* loaded by ctl_load_cfg */
	struct store *store;	/* opened by ctl_open_store */
	bool json;		/* --json anywhere on the command line */
};

/* A command: argv[0] is its name. Returns an exit code. */
typedef int ctl_cmd_fn(struct ctl *ctl, int argc, char **argv);

/* The command groups. */
int ctl_cmd_init(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_import_p12(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_export_p12(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_import_cert(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_list(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_show(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_remove(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_trust(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_stats(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_lookup(struct ctl *ctl, int argc, char **argv);	/* cmd-lookup.c */
int ctl_cmd_publish(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_explain(struct ctl *ctl, int argc, char **argv);	/* cmd-explain.c */
int ctl_cmd_verify(struct ctl *ctl, int argc, char **argv);	/* cmd-verify.c */
int ctl_cmd_revocation(struct ctl *ctl, int argc, char **argv);	/* cmd-revocation.c */

/* The revocation status the store holds for a certificate: one line
 * "LABEL: good (ocsp, checked ..., next update ...)" or "not checked"
 * (human), or the JSON member ,"revocation":{...} / null. */
void ctl_print_revocation(FILE *out, struct store *store, const char *label,
			  const char *fingerprint);
void ctl_json_revocation(FILE *out, struct store *store,
			 const char *fingerprint);

/* Prints "smimectl: MESSAGE" on stderr. */
void ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Loads the configuration (errors printed); returns CTL_OK or CTL_USAGE. */
int ctl_load_cfg(struct ctl *ctl);

/* Loads the configuration and opens the store. Returns CTL_OK,
 * CTL_USAGE (configuration) or CTL_FAIL (database unreachable). */
int ctl_open_store(struct ctl *ctl, unsigned flags);

/* Maps a store status to an exit code. */
int ctl_exit_of(enum smx_status st);

/* Reads a whole file (up to 16 MiB) into *buf_r (NUL-terminated, owned
 * by the caller). Prints the error naming path and returns -1. */
int ctl_read_file(const char *path, unsigned char **buf_r, size_t *len_r);

/* A password from the first line of file, or else prompted on the
 * terminal without echo (twice when confirm). NULL after printing why.
 * The caller frees it with ctl_password_free. */
char *ctl_password(const char *file, const char *prompt, bool confirm);
void ctl_password_free(char **pw);

/* Resolves a fingerprint argument (full, with or without colons, or a
 * unique prefix of at least 8 hex digits) to a certificate. Prints the
 * error and returns its exit code, or CTL_OK with *cert_r set. */
int ctl_find_cert(struct ctl *ctl, const char *arg, struct store_cert **cert_r);

/* Output of records, human-readable or JSON. */
void ctl_print_cert_line(FILE *out, const struct store_cert *c);
void ctl_print_cert_full(FILE *out, const struct store_cert *c);
void ctl_json_cert(FILE *out, const struct store_cert *c);
/* The object's members without the closing brace, for more. */
void ctl_json_cert_fields(FILE *out, const struct store_cert *c);
void ctl_json_string(FILE *out, const char *s);

/* "2026-01-31" for a time (UTC). */
const char *ctl_date(long long t, char *buf, size_t size);

#endif
