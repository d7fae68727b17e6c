/* SPDX-License-Identifier: BSD-2-Clause */
#include <smx/cidr.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static bool parse_prefix(const char *text, unsigned max, unsigned *out)
{
	if (*text < '0' || *text > '9')
		return false;
	char *end;
	errno = 0;
	unsigned long v = strtoul(text, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

static bool host_bits_clear(const unsigned char *addr, unsigned bytes,
			    unsigned prefix)
{
	for (unsigned bit = prefix; bit < bytes * 8; bit++)
		if (addr[bit / 8] & (0x80u >> (bit % 8)))
			return false;
	return true;
}

bool cidr_parse(const char *text, struct cidr *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	size_t hlen = slash ? (size_t)(slash - text) : strlen(text);
	if (hlen == 0 || hlen >= sizeof(host))
		return false;
	memcpy(host, text, hlen);
	host[hlen] = '\0';

	memset(out, 0, sizeof(*out));
	unsigned bytes;
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		bytes = 4;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		bytes = 16;
	} else {
		return false;
	}
	out->prefix = bytes * 8;
	if (slash != NULL && !parse_prefix(slash + 1, bytes * 8, &out->prefix))
		return false;
	return host_bits_clear(out->addr, bytes, out->prefix);
}

static bool prefix_equal(const unsigned char *a, const unsigned char *b,
			 unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;
	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xffu << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

/* Extracts the address bytes; a v4-mapped v6 address is reported as v4. */
static int socket_address(const struct sockaddr *sa, unsigned char out[16])
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0,
						  0, 0, 0, 0, 0xff, 0xff };
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		memcpy(out, &in->sin_addr, 4);
		return AF_INET;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
			(const struct sockaddr_in6 *)sa;
		const unsigned char *b = in6->sin6_addr.s6_addr;
		if (memcmp(b, mapped, sizeof(mapped)) == 0) {
			memcpy(out, b + 12, 4);
			return AF_INET;
		}
		memcpy(out, b, 16);
		return AF_INET6;
	}
	return AF_UNSPEC;
}

bool cidr_contains(const struct cidr *net, const struct sockaddr *sa)
{
	unsigned char addr[16];
	if (sa == NULL || socket_address(sa, addr) != net->family)
		return false;
	return prefix_equal(addr, net->addr, net->prefix);
}

bool cidr_list_contains(const struct cidr *nets, size_t n,
			const struct sockaddr *sa)
{
	for (size_t i = 0; i < n; i++)
		if (cidr_contains(&nets[i], sa))
			return true;
	return false;
}
