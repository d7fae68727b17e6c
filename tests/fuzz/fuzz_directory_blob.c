/* SPDX-License-Identifier: BSD-2-Clause */
/* Fuzzes what an LDAP server hands the directory client: attribute values
 * that should be DER certificates or PKCS#7 certs-only blobs, and the
 * address escaped into the search filter. Invariants checked: parsing
 * never fails except for memory, every returned certificate is non-empty
 * DER, and the escaped filter never carries a special character
 * unescaped (an injection). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <smx/directory.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The value part of "(mail=VALUE)" must hold no '(' ')' '*' or NUL, and
 * every '\' must start a two-hex-digit escape. */
static void check_escaped(const uint8_t *data, size_t size)
{
	char value[512], filter[2048];
	size_t n = size < sizeof(value) - 1 ? size : sizeof(value) - 1;
	memcpy(value, data, n);
	value[n] = '\0';
	int len = directory_filter_format(filter, sizeof(filter), "(mail=%s)",
					  value);
	if (len < 0)
		abort();	/* 3 bytes per input byte always fit */
	const char *v = filter + 6, *end = filter + len - 1;
	for (const char *p = v; p < end; p++) {
		if (*p == '(' || *p == ')' || *p == '*')
			abort();
		if (*p == '\\') {
			if (!strchr("0123456789abcdef", p[1]) || p[1] == '\0' ||
			    !strchr("0123456789abcdef", p[2]) || p[2] == '\0')
				abort();
			p += 2;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct directory_result *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return 0;
	/* a fixed "now" (2025-01-01) keeps runs reproducible */
	enum smx_status st = directory_parse_value(
		"alice@example.com", data, size, "userSMIMECertificate",
		"uid=alice,dc=example,dc=com", 1735689600LL, r);
	if (st != SMX_OK && st != SMX_TEMPFAIL)
		abort();
	for (size_t i = 0; i < r->n_certs; i++)
		if (r->certs[i].der == NULL || r->certs[i].der_len == 0)
			abort();
	directory_result_free(&r);
	check_escaped(data, size);
	return 0;
}
