/* SPDX-License-Identifier: BSD-2-Clause */
/* IPv4 and IPv6 networks in CIDR notation, for trusted_networks. */
#ifndef SMX_CIDR_H
#define SMX_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct cidr {
	int family;		/* AF_INET or AF_INET6 */
	unsigned char addr[16];	/* network address, host bits cleared */
	unsigned prefix;	/* 0..32 or 0..128 */
};

/* Parses "192.0.2.0/24", "2001:db8::/32" or a single address (a full-length
 * prefix). Returns false for anything else, including host bits set
 * beyond the prefix ("10.0.0.1/8" is refused: it is usually a typo). */
bool cidr_parse(const char *text, struct cidr *out);

/* True when the socket address lies inside the network. An IPv4-mapped
 * IPv6 address (::ffff:192.0.2.1) matches IPv4 networks, because a dual-
 * stack MTA may report IPv4 clients that way. */
bool cidr_contains(const struct cidr *net, const struct sockaddr *sa);

/* True when any of the n networks contains the socket address. */
bool cidr_list_contains(const struct cidr *nets, size_t n,
			const struct sockaddr *sa);

#endif
