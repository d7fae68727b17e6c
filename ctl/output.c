/* SPDX-License-Identifier: BSD-2-Clause */
/* How smimectl shows certificates: one line per certificate for lists,
 * "key: value" lines for show, and JSON objects for --json. */
#include "ctl.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void ctl_json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)(s ? s : "");
	     *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static const char *status_of(const struct store_cert *c)
{
	time_t now = time(NULL);
	if (c->revoked)
		return "revoked";
	if (c->not_after < (int64_t)now)
		return "expired";
	if (c->not_before > (int64_t)now)
		return "not-yet-valid";
	return "valid";
}

static void ku_text(const struct store_cert *c, char *buf, size_t size)
{
	static const struct { unsigned bit; const char *name; } names[] = {
		{ STORE_KU_DIGITAL_SIGNATURE, "digitalSignature" },
		{ STORE_KU_NON_REPUDIATION, "nonRepudiation" },
		{ STORE_KU_KEY_ENCIPHERMENT, "keyEncipherment" },
		{ STORE_KU_DATA_ENCIPHERMENT, "dataEncipherment" },
		{ STORE_KU_KEY_AGREEMENT, "keyAgreement" },
		{ STORE_KU_KEY_CERT_SIGN, "keyCertSign" },
		{ STORE_KU_CRL_SIGN, "cRLSign" },
	};
	buf[0] = '\0';
	if (c->key_usage & STORE_KU_ABSENT) {
		snprintf(buf, size, "(none)");
		return;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (c->key_usage & names[i].bit) {
			size_t len = strlen(buf);
			snprintf(buf + len, size - len, "%s%s", len ? "," : "",
				 names[i].name);
		}
	}
}

static const char *eku_text(const struct store_cert *c)
{
	if (c->eku & STORE_EKU_ABSENT)
		return "(none)";
	if (c->eku & STORE_EKU_EMAIL)
		return (c->eku & ~STORE_EKU_EMAIL) ? "emailProtection,..."
						   : "emailProtection";
	return (c->eku & STORE_EKU_ANY) ? "anyExtendedKeyUsage" : "other";
}

void ctl_print_cert_line(FILE *out, const struct store_cert *c)
{
	char date[32];
	fprintf(out, "%s  %s  %-9s %-10s %-7s %s", c->fingerprint,
		ctl_date(c->not_after, date, sizeof(date)),
		store_source_name(c->source), store_trust_name(c->trust),
		c->has_key ? (c->key_in_token ? "token" : "key") : "-",
		status_of(c));
	for (size_t i = 0; i < c->n_emails; i++)
		fprintf(out, "%s%s", i ? "," : "  ", c->emails[i]);
	fputc('\n', out);
}

void ctl_print_cert_full(FILE *out, const struct store_cert *c)
{
	char a[32], b[32], ku[160];
	ku_text(c, ku, sizeof(ku));
	fprintf(out, "fingerprint:  %s (SHA-256)\n", c->fingerprint);
	fprintf(out, "subject:      %s\n", c->subject);
	fprintf(out, "issuer:       %s\n", c->issuer);
	fprintf(out, "serial:       %s\n", c->serial);
	fprintf(out, "valid:        %s .. %s (%s)\n",
		ctl_date(c->not_before, a, sizeof(a)),
		ctl_date(c->not_after, b, sizeof(b)), status_of(c));
	for (size_t i = 0; i < c->n_emails; i++)
		fprintf(out, "email:        %s\n", c->emails[i]);
	fprintf(out, "key type:     %s%s\n", c->key_type,
		c->is_ca ? " (CA certificate)" : "");
	fprintf(out, "key usage:    %s\n", ku);
	fprintf(out, "ext key use:  %s\n", eku_text(c));
	fprintf(out, "source:       %s\n", store_source_name(c->source));
	fprintf(out, "trust:        %s%s\n", store_trust_name(c->trust),
		c->revoked ? ", revoked" : "");
	fprintf(out, "private key:  %s\n", !c->has_key ? "none"
		: c->key_in_token ? "in a PKCS#11 token" : "held (encrypted)");
	fprintf(out, "capabilities: %s\n", c->smime_caps ? "recorded" : "none");
	fprintf(out, "first seen:   %s\n", ctl_date(c->first_seen, a, sizeof(a)));
	fprintf(out, "last seen:    %s\n", ctl_date(c->last_seen, a, sizeof(a)));
}

void ctl_json_cert(FILE *out, const struct store_cert *c)
{
	ctl_json_cert_fields(out, c);
	fputc('}', out);
}

void ctl_json_cert_fields(FILE *out, const struct store_cert *c)
{
	char ku[160];
	ku_text(c, ku, sizeof(ku));
	fprintf(out, "{\"fingerprint\":\"%s\",\"subject\":", c->fingerprint);
	ctl_json_string(out, c->subject);
	fprintf(out, ",\"issuer\":");
	ctl_json_string(out, c->issuer);
	fprintf(out, ",\"serial\":\"%s\",\"not_before\":%" PRId64
		",\"not_after\":%" PRId64 ",\"emails\":[", c->serial,
		c->not_before, c->not_after);
	for (size_t i = 0; i < c->n_emails; i++) {
		fputs(i ? "," : "", out);
		ctl_json_string(out, c->emails[i]);
	}
	fprintf(out, "],\"key_type\":\"%s\",\"is_ca\":%s,\"key_usage\":\"%s\","
		"\"eku\":\"%s\",\"source\":\"%s\",\"trust\":\"%s\","
		"\"revoked\":%s,\"status\":\"%s\",\"has_key\":%s,"
		"\"key_in_token\":%s,\"smime_capabilities\":%s,\"first_seen\":%" PRId64
		",\"last_seen\":%" PRId64, c->key_type,
		c->is_ca ? "true" : "false", ku, eku_text(c),
		store_source_name(c->source), store_trust_name(c->trust),
		c->revoked ? "true" : "false", status_of(c),
		c->has_key ? "true" : "false",
		c->key_in_token ? "true" : "false",
		c->smime_caps ? "true" : "false",
		c->first_seen, c->last_seen);
}

static bool is_hex_prefix(const char *arg, char *out, size_t size)
{
	size_t n = 0;
	for (const char *p = arg; *p != '\0'; p++) {
		if (*p == ':')
			continue;
		if (!isxdigit((unsigned char)*p) || n + 1 >= size)
			return false;
		out[n++] = (char)tolower((unsigned char)*p);
	}
	out[n] = '\0';
	return n >= 8;
}

int ctl_find_cert(struct ctl *ctl, const char *arg, struct store_cert **cert_r)
{
	char prefix[65];
	*cert_r = NULL;
	enum smx_status st = store_cert_get(ctl->store, arg, cert_r);
	if (st == SMX_OK)
		return CTL_OK;
	if (st != SMX_NOTFOUND || !is_hex_prefix(arg, prefix, sizeof(prefix))) {
		ctl_error("%s: %s", arg, st == SMX_NOTFOUND
			  ? "no such certificate (give its SHA-256 fingerprint)"
			  : "the store did not answer");
		return st == SMX_NOTFOUND ? CTL_FAIL : ctl_exit_of(st);
	}
	struct store_cert **all = NULL;
	size_t n = 0, hits = 0, hit = 0;
	if ((st = store_cert_list(ctl->store, NULL, &all, &n)) != SMX_OK) {
		ctl_error("%s: the store did not answer", arg);
		return ctl_exit_of(st);
	}
	for (size_t i = 0; i < n; i++) {
		if (strncmp(all[i]->fingerprint, prefix, strlen(prefix)) == 0) {
			hits++;
			hit = i;
		}
	}
	if (hits == 1) {
		*cert_r = all[hit];
		all[hit] = NULL;
	} else {
		ctl_error("%s: %s", arg, hits ? "ambiguous fingerprint prefix"
					      : "no such certificate");
	}
	store_cert_list_free(&all, n);
	return hits == 1 ? CTL_OK : CTL_FAIL;
}
