/* SPDX-License-Identifier: BSD-2-Clause */
#include <smx/smime-fromaddr.h>

#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>

#include <smx/mailaddr.h>

char *from_header_mailbox(const char *value)
{
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

char *from_header_address(const char *value)
{
	char *mailbox = from_header_mailbox(value);
	if (mailbox == NULL)
		return NULL;
	char *out = mailaddr_normalize(mailbox);
	free(mailbox);
	return out;
}
