/* S/MIME: building and checking signed and encrypted MIME entities with
 * OpenSSL CMS and GMime. Protocol-free: nothing here knows libmilter. */
#ifndef SMX_SMIME_H
#define SMX_SMIME_H

#include <stddef.h>

/* Writes the versions of the cryptographic and MIME libraries in use
 * ("OpenSSL 3.0.x, GMime 3.2.x") into buf. Returns buf. */
const char *smime_library_versions(char *buf, size_t size);

#endif
