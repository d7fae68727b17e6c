/* SPDX-License-Identifier: BSD-2-Clause */
#include <smx/mailaddr.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAILADDR_MAX 998

/* Skips "@a,@b:" source routes (RFC 5321 allows them; nobody should
 * still send them, but they must not confuse the domain lookup). */
static const char *skip_source_route(const char *p, const char *end)
{
	if (p < end && *p == '@') {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		if (colon != NULL)
			return colon + 1;
	}
	return p;
}

/* Finds the end of the address: the closing '>' of a bracketed path, or
 * the first space (ESMTP parameters follow) of a bare one. Quoted local
 * parts may contain both, so quotes are honoured. */
static const char *address_end(const char *p, bool bracketed)
{
	bool quoted = false;
	for (; *p != '\0'; p++) {
		if (*p == '\\' && quoted && p[1] != '\0') {
			p++;
			continue;
		}
		if (*p == '"')
			quoted = !quoted;
		else if (!quoted && bracketed && *p == '>')
			return p;
		else if (!quoted && !bracketed && (*p == ' ' || *p == '\t'))
			return p;
	}
	return p;
}

char *mailaddr_normalize(const char *path)
{
	const char *p = path;
	while (*p == ' ' || *p == '\t')
		p++;
	bool bracketed = (*p == '<');
	if (bracketed)
		p++;
	const char *end = address_end(p, bracketed);
	p = skip_source_route(p, end);
	size_t len = (size_t)(end - p);
	if (len > MAILADDR_MAX)
		return NULL;
	char *out = malloc(len + 1);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c < 0x20 || c == 0x7f) {
			free(out);
			return NULL;
		}
		out[i] = (char)tolower(c);
	}
	out[len] = '\0';
	return out;
}

const char *mailaddr_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');
	if (at == NULL || at[1] == '\0')
		return NULL;
	return at + 1;
}

static bool domain_matches(const char *domain, const char *entry)
{
	if (entry[0] != '.')
		return strcasecmp(domain, entry) == 0;
	size_t dlen = strlen(domain), elen = strlen(entry);
	return dlen > elen && strcasecmp(domain + dlen - elen, entry) == 0;
}

bool mailaddr_domain_in(const char *domain, char *const *domains, size_t n)
{
	if (domain == NULL)
		return false;
	for (size_t i = 0; i < n; i++)
		if (domain_matches(domain, domains[i]))
			return true;
	return false;
}
