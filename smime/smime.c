/* SPDX-License-Identifier: BSD-2-Clause */
#include <smx/smime.h>

#include <gmime/gmime.h>
#include <openssl/crypto.h>
#include <stdio.h>

const char *smime_library_versions(char *buf, size_t size)
{
	snprintf(buf, size, "%s, GMime %u.%u.%u",
		 OpenSSL_version(OPENSSL_VERSION), gmime_major_version,
		 gmime_minor_version, gmime_micro_version);
	return buf;
}
