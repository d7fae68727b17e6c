/* SPDX-License-Identifier: BSD-2-Clause */
#include <smx/hostport.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <string.h>

/* A decimal port 1..65535 filling all of text. */
static bool parse_port(const char *text, unsigned short *port_r)
{
	unsigned long v = 0;
	size_t n = strlen(text);
	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)text[i]))
			return false;
		v = v * 10 + (unsigned long)(text[i] - '0');
	}
	if (v == 0 || v > 65535)
		return false;
	*port_r = (unsigned short)v;
	return true;
}

static bool fill_v4(const char *host, unsigned short port,
		    struct sockaddr_storage *addr, socklen_t *len)
{
	struct sockaddr_in *in = (struct sockaddr_in *)addr;
	memset(addr, 0, sizeof(*addr));
	in->sin_family = AF_INET;
	in->sin_port = htons(port);
	*len = sizeof(*in);
	return inet_pton(AF_INET, host, &in->sin_addr) == 1;
}

static bool fill_v6(const char *host, unsigned short port,
		    struct sockaddr_storage *addr, socklen_t *len)
{
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
	memset(addr, 0, sizeof(*addr));
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	*len = sizeof(*in6);
	return inet_pton(AF_INET6, host, &in6->sin6_addr) == 1;
}

bool smx_hostport_parse(const char *text, struct sockaddr_storage *addr,
			socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 2];
	unsigned short port = 0;
	if (text == NULL)
		return false;
	if (strchr(text, ':') == NULL)
		return parse_port(text, &port) &&
		       fill_v4("127.0.0.1", port, addr, len);
	const char *colon = strrchr(text, ':');
	size_t host_len = (size_t)(colon - text);
	if (host_len == 0 || host_len >= sizeof(host) ||
	    !parse_port(colon + 1, &port))
		return false;
	memcpy(host, text, host_len);
	host[host_len] = '\0';
	if (host[0] == '[') {
		if (host_len < 3 || host[host_len - 1] != ']')
			return false;
		host[host_len - 1] = '\0';
		return fill_v6(host + 1, port, addr, len);
	}
	/* An unbracketed host with another colon is IPv6 written ambiguously. */
	return strchr(host, ':') == NULL && fill_v4(host, port, addr, len);
}

bool smx_sockaddr_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family != AF_INET6)
		return false;
	const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (IN6_IS_ADDR_LOOPBACK(a))
		return true;
	return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
}
