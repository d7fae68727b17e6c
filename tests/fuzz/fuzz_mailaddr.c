/* SPDX-License-Identifier: BSD-2-Clause */
/* Fuzz target: the addresses the milter takes from strangers. The input
 * is used whole as a From: header value (smime/fromaddr.c: GMime's
 * address-list parser, then normalization: the signing identity) and as
 * an SMTP path (common/mailaddr.c: the envelope sender and recipients),
 * whose domain is then matched against internal domain lists.
 *
 * Invariants: a normalized address is lower case (ASCII), holds no
 * control character and is at most 998 octets; a From: identity also
 * holds an '@' with a non-empty domain after it (it names a mailbox);
 * the domain is the text after the last '@'; a domain matches a list
 * holding itself, and a ".parent" entry matches its subdomains, never the
 * parent itself. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <smx/mailaddr.h>
#include <smx/smime-fromaddr.h>
#include <smx/smime.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_normalized(const char *addr)
{
	size_t len = strlen(addr);
	if (len > 998)
		abort();
	for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
		if (*p < 0x20 || *p == 0x7f || (*p >= 'A' && *p <= 'Z'))
			abort();
}

static void check_domain(const char *addr)
{
	const char *domain = mailaddr_domain(addr);
	const char *at = strrchr(addr, '@');
	if (domain == NULL) {
		if (at != NULL && at[1] != '\0')
			abort();
		if (mailaddr_domain_in(NULL, NULL, 0))
			abort();
		return;
	}
	if (at == NULL || domain != at + 1 || *domain == '\0')
		abort();
	size_t n = strlen(domain);
	char *self = strdup(domain), *parent = malloc(n + 2),
	     *sub = malloc(n + 3);
	if (self != NULL && parent != NULL && sub != NULL) {
		char *selves[] = { self };
		if (domain[0] != '.' && !mailaddr_domain_in(domain, selves, 1))
			abort();	/* a domain is in a list holding it */
		snprintf(parent, n + 2, ".%s", domain);
		snprintf(sub, n + 3, "x.%s", domain);
		char *list[] = { parent };
		if (mailaddr_domain_in(domain, list, 1))
			abort();	/* ".d" never matches d itself */
		if (!mailaddr_domain_in(sub, list, 1))
			abort();	/* ".d" matches x.d */
	}
	free(self);
	free(parent);
	free(sub);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	smime_init();	/* GMime, as the milter initializes it */
	char *text = fuzz_strndup(data, size);
	if (text == NULL)
		return 0;
	char *from = from_header_address(text);
	if (from != NULL) {
		check_normalized(from);
		const char *domain = mailaddr_domain(from);
		if (domain == NULL || strchr(from, '@') == NULL)
			abort();	/* the identity is not a mailbox */
		check_domain(from);
		free(from);
	}
	char *path = mailaddr_normalize(text);
	if (path != NULL) {
		check_normalized(path);
		check_domain(path);
		free(path);
	}
	free(text);
	return 0;
}
