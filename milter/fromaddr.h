/* SPDX-License-Identifier: BSD-2-Clause */
/* The signing identity: the single address of the From: header. */
#ifndef SMX_MILTER_FROMADDR_H
#define SMX_MILTER_FROMADDR_H

/* Parses a From: header value (RFC 5322 mailbox-list, encoded words and
 * comments allowed) and returns its address in lower case, newly
 * allocated, when it holds exactly one mailbox; NULL otherwise (no
 * address, a group, several mailboxes, out of memory). */
char *from_header_address(const char *value);

#endif
