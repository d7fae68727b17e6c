/* SPDX-License-Identifier: BSD-2-Clause */
/* The From: address of a message: the single mailbox of its From: header.
 * The signing identity of outbound mail and the address a verified
 * signature must match on inbound mail are read by the same rule. */
#ifndef SMX_SMIME_FROMADDR_H
#define SMX_SMIME_FROMADDR_H

/* Parses a From: header value (RFC 5322 mailbox-list, encoded words and
 * comments allowed) and returns a newly allocated copy of its address as
 * written, when it holds exactly one mailbox whose address has an '@';
 * NULL otherwise (no address, a group, several mailboxes, a control
 * character other than folding white space anywhere in the value, out
 * of memory). */
char *from_header_mailbox(const char *value);

/* The same address normalized as an SMTP path is (lower case, see
 * mailaddr_normalize): the signing identity of outbound mail, and the
 * address a verified signer must have on inbound mail. NULL as above, or
 * when the address holds a control character or a non-ASCII byte or is
 * over 998 octets: such an address is refused, never cleaned into
 * another one. */
char *from_header_address(const char *value);

#endif
