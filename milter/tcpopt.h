/* SPDX-License-Identifier: BSD-2-Clause */
/* TCP_NODELAY on the milter's inet: and inet6: connections.
 *
 * libmilter accepts the MTA's connections itself and never shows the
 * socket to the filter, and it never turns Nagle's algorithm off. The
 * milter protocol is a strict request/reply exchange of small packets,
 * where Nagle holding back a reply until the peer's delayed ACK arrives
 * costs about 40 ms per exchange (measured through Postfix 3.7: a
 * signing filter fell from ~470 to ~215 messages/s on inet:).
 *
 * tcpopt.c therefore defines accept() and accept4() in the executable.
 * The executable comes first in the dynamic linker's lookup order, so
 * libmilter's call to accept() reaches this definition (the same
 * mechanism as sigpark.c). Each one calls the C library's function,
 * found with dlsym(RTLD_NEXT), and sets TCP_NODELAY when the accepted
 * socket is an AF_INET or AF_INET6 stream socket; unix sockets and
 * every other use of accept() are untouched.
 *
 * Why not something else: libmilter has no option or hook for socket
 * options (8.17); setting TCP_NODELAY on the listening socket (which
 * Linux copies to accepted sockets) would need that socket, which
 * libmilter does not expose either; LD_PRELOAD would depend on how the
 * daemon is started. */
#ifndef SMX_MILTER_TCPOPT_H
#define SMX_MILTER_TCPOPT_H

/* Sets TCP_NODELAY on FD when it is a TCP (IPv4 or IPv6) stream socket.
 * Returns 1 when set, 0 when FD is no TCP socket, -1 when setsockopt
 * failed (errno kept). Never changes errno on success. */
int tcpopt_nodelay_if_tcp(int fd);

#endif
