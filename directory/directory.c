#include <smx/directory.h>

#include <ldap.h>
#include <stdio.h>

const char *directory_library_version(char *buf, size_t size)
{
	LDAPAPIInfo info = { .ldapai_info_version = LDAP_API_INFO_VERSION };
	if (ldap_get_option(NULL, LDAP_OPT_API_INFO, &info) !=
	    LDAP_OPT_SUCCESS) {
		snprintf(buf, size, "LDAP (unknown version)");
		return buf;
	}
	snprintf(buf, size, "%s %d.%d.%d", info.ldapai_vendor_name,
		 info.ldapai_vendor_version / 10000,
		 info.ldapai_vendor_version / 100 % 100,
		 info.ldapai_vendor_version % 100);
	ldap_memfree(info.ldapai_vendor_name);
	ber_memvfree((void **)info.ldapai_extensions);
	return buf;
}
