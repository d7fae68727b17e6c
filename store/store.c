#include <smx/store.h>

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>

const char *store_library_versions(char *buf, size_t size)
{
	int pq = PQlibVersion();
	snprintf(buf, size, "SQLite %s, libpq %d.%d", sqlite3_libversion(),
		 pq / 10000, pq % 10000);
	return buf;
}
