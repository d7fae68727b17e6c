/* SPDX-License-Identifier: BSD-2-Clause */
/* Fuzzes the SMIMECapabilities parser: the DER comes from signatures of
 * anyone who ever sent signed mail, through the store. Invariants: the
 * result is SMX_OK or SMX_PERMFAIL; a refusal leaves no flag set; an
 * answer for non-empty input says KNOWN and sets only defined flags; the
 * parser never reads past size (ASan) and gives the same answer twice. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <smx/smime-encrypt.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned all = SMIME_CAP_KNOWN | SMIME_CAP_AES256_GCM |
		SMIME_CAP_AES256_CBC | SMIME_CAP_RSAES_OAEP;
	/* an exact-size copy, so ASan sees any read beyond size */
	uint8_t *copy = malloc(size > 0 ? size : 1);
	if (copy == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);
	unsigned caps = 0xdead, again = 0xbeef;
	enum smx_status st = smime_caps_parse(size > 0 ? copy : NULL, size,
					      &caps);
	if (st != SMX_OK && st != SMX_PERMFAIL)
		abort();
	if (st == SMX_PERMFAIL && caps != 0)
		abort();
	if (st == SMX_OK && size > 0 && ((caps & ~all) != 0 ||
					 !(caps & SMIME_CAP_KNOWN)))
		abort();
	if (st == SMX_OK && size > SMIME_CAPS_MAX_LEN)
		abort();
	if (smime_caps_parse(size > 0 ? copy : NULL, size, &again) != st ||
	    again != caps)
		abort();
	free(copy);
	return 0;
}
