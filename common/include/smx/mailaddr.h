/* SPDX-License-Identifier: BSD-2-Clause */
/* Mail addresses as the MTA hands them over: "<User@Example.COM>", bare
 * addresses, the null sender "<>", and ESMTP parameters after the path. */
#ifndef SMX_MAILADDR_H
#define SMX_MAILADDR_H

#include <stdbool.h>
#include <stddef.h>

/* Returns a newly allocated lower-case copy of the address in an SMTP
 * path, without angle brackets, source route or parameters; "" for the
 * null sender. Returns NULL when out of memory or when the path is not an
 * address at all (embedded NUL, control characters, over 998 octets).
 * The caller owns the result and frees it with free(). */
char *mailaddr_normalize(const char *path);

/* The domain part of a normalized address (after the last '@'), or NULL
 * when there is none. Points into addr. */
const char *mailaddr_domain(const char *addr);

/* True when domain equals one of the n domains, ignoring case. A list
 * entry ".example.com" also matches every subdomain of example.com. */
bool mailaddr_domain_in(const char *domain, char *const *domains, size_t n);

#endif
