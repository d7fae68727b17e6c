/* SPDX-License-Identifier: BSD-2-Clause */
/* Fuzz target: inbound verification of a whole message (headers split at
 * the first blank line as the milter would give them, then the body):
 * the MIME walk, the cutting of signed bytes, CMS parsing and
 * verification, Authentication-Results reading and writing, and the
 * harvest decision. No trust anchors: chain building still runs. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <smx/smime.h>

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct smime_verifier *verifier;

static void make_verifier(void)
{
	static const char *const ids[] = { "mx.upstream" };
	struct smime_verify_options o = {
		.authserv_id = "mx.example.org", .ca_file = "",
		.harvest_untrusted = true, .harvest_require_dmarc = true,
		.dmarc_authserv_ids = ids, .n_dmarc_authserv_ids = 1,
		.max_bytes = 1024 * 1024,
	};
	if (smime_verifier_new(&o, &verifier, NULL) != SMX_OK)
		abort();
}

static void give_header(void *headers, const char *name, const char *value)
{
	if (hdrlist_append(headers, name, value) < 0)
		abort();	/* only memory can fail */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (verifier == NULL)
		make_verifier();
	struct smime_verify *vfy = smime_verify_begin(verifier);
	/* bounded as the milter's */
	struct hdrlist *headers = hdrlist_new(HDRLIST_MAX_COUNT,
					      HDRLIST_MAX_BYTES);
	struct spool *body = spool_new(1024 * 1024, fuzz_scratch_dir(), 0);
	if (vfy == NULL || headers == NULL || body == NULL)
		abort();
	size_t start = fuzz_split_headers((const char *)data, size,
					  give_header, headers);
	if (spool_append(body, data + start, size - start) != 0)
		abort();
	struct smime_verify_msginfo info = { "sender@example.net", false };
	if (smime_verify_eom(vfy, headers, body, &info, NULL) == SMX_OK &&
	    smime_verify_ar_value(vfy) == NULL)
		abort();
	smime_verify_free(&vfy);
	hdrlist_free(&headers);
	spool_free(&body);
	return 0;
}
