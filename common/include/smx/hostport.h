/* SPDX-License-Identifier: BSD-2-Clause */
/* Listening addresses written as "PORT", "ADDRESS:PORT" or "[IPV6]:PORT"
 * (milter.metrics_listen). Addresses are numeric: a host name would make
 * the listener depend on DNS at start-up. */
#ifndef SMX_HOSTPORT_H
#define SMX_HOSTPORT_H

#include <stdbool.h>
#include <sys/socket.h>

/* Parses text into *addr (and its length into *len). "PORT" alone means
 * 127.0.0.1:PORT. PORT is 1 to 65535. An IPv6 address needs brackets
 * ("[::1]:9464"), so that its colons are not taken for the port's.
 * Returns false, leaving *addr unspecified, for anything else. */
bool smx_hostport_parse(const char *text, struct sockaddr_storage *addr,
			socklen_t *len);

/* True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104: addresses only
 * this host can reach. */
bool smx_sockaddr_is_loopback(const struct sockaddr *sa);

#endif
