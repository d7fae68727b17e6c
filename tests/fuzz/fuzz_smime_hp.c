/* SPDX-License-Identifier: BSD-2-Clause */
/* Fuzzes the reading of header protection on a decrypted message
 * (smime_hp_find): the plaintext comes from anyone who can encrypt to a
 * user. Invariants: the answer is a count >= 0 (-1 only when out of
 * memory); every field found is one the reader sees (never a trace or
 * security field) with a value that starts with a space and holds no CR;
 * the same input gives the same answer twice. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <smx/smime-hp.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, so ASan sees any read beyond size */
	uint8_t *copy = malloc(size > 0 ? size : 1);
	if (copy == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);
	struct smime_hp_found *f = NULL, *g = NULL;
	int n = smime_hp_find(copy, size, &f);
	if (n < -1)
		abort();
	for (int i = 0; i < n; i++)
		if (!smime_hp_restorable(f[i].name) || f[i].value[0] != ' ' ||
		    strchr(f[i].value, '\r') != NULL)
			abort();
	int m = smime_hp_find(copy, size, &g);
	if (m != n)
		abort();
	for (int i = 0; i < n; i++)
		if (strcmp(f[i].name, g[i].name) != 0 ||
		    strcmp(f[i].value, g[i].value) != 0)
			abort();
	smime_hp_found_free(f, n > 0 ? (size_t)n : 0);
	smime_hp_found_free(g, m > 0 ? (size_t)m : 0);
	free(copy);
	return 0;
}
