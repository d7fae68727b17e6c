/* The shared certificate and key store. The backends (SQLite, PostgreSQL)
 * arrive with the store issue; until then only their versions are known. */
#ifndef SMX_STORE_H
#define SMX_STORE_H

#include <stddef.h>

/* Writes the versions of the database client libraries linked in. */
const char *store_library_versions(char *buf, size_t size);

#endif
