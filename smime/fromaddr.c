/* SPDX-License-Identifier: BSD-2-Clause */
#include <smx/smime-fromaddr.h>

#include <gmime/gmime.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <smx/mailaddr.h>

/* Whether the header value holds a control character other than folding
 * white space. GMime's lenient parser would skip it or end the address
 * there ("alice@exam<ESC>ple.com" reads as alice@exam): such a value has
 * no address. */
static bool has_control(const char *value)
{
	for (const unsigned char *p = (const unsigned char *)value; *p; p++)
		if ((*p < 0x20 && *p != '\t' && *p != '\r' && *p != '\n') ||
		    *p == 0x7f)
			return true;
	return false;
}

char *from_header_mailbox(const char *value)
{
	if (has_control(value))
		return NULL;
	InternetAddressList *list = internet_address_list_parse(NULL, value);
	if (list == NULL)
		return NULL;
	char *out = NULL;
	if (internet_address_list_length(list) == 1) {
		InternetAddress *ia = internet_address_list_get_address(list, 0);
		if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
			const char *addr = internet_address_mailbox_get_addr(
				INTERNET_ADDRESS_MAILBOX(ia));
			if (addr != NULL && strchr(addr, '@') != NULL)
				out = strdup(addr);
		}
	}
	g_object_unref(list);
	return out;
}

/* Whether the address is ASCII: a certificate's rfc822Name is an
 * IA5String, so another byte can only make the address look, in a mail
 * client, like something other than what is compared. */
static bool ascii_only(const char *addr)
{
	for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
		if (*p >= 0x80)
			return false;
	return true;
}

char *from_header_address(const char *value)
{
	char *mailbox = from_header_mailbox(value);
	if (mailbox == NULL)
		return NULL;
	/* refused, never cleaned: "al<CTRL>ice@x" is not alice@x */
	char *out = ascii_only(mailbox) ? mailaddr_normalize(mailbox) : NULL;
	free(mailbox);
	return out;
}
