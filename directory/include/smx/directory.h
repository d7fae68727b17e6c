/* The organization's LDAP directory as a certificate source. Lookups and
 * publishing arrive with the directory issue. */
#ifndef SMX_DIRECTORY_H
#define SMX_DIRECTORY_H

#include <stddef.h>

/* Writes the version of the LDAP client library linked in. */
const char *directory_library_version(char *buf, size_t size);

#endif
