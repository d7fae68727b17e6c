/* Fuzz target: inbound verification of a whole message (headers split at
 * the first blank line as the milter would give them, then the body):
 * the MIME walk, the cutting of signed bytes, CMS parsing and
 * verification, Authentication-Results reading and writing, and the
 * harvest decision. No trust anchors: chain building still runs. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <smx/smime.h>

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

/* Gives header lines (with their continuation lines) one by one. */
static size_t feed_headers(struct smime_verify *vfy, const char *p, size_t n)
{
	size_t pos = 0;
	while (pos < n && p[pos] != '\n' && p[pos] != '\r') {
		size_t start = pos;
		do {
			while (pos < n && p[pos] != '\n')
				pos++;
			if (pos < n)
				pos++;
		} while (pos < n && (p[pos] == ' ' || p[pos] == '\t'));
		char *field = strndup(p + start, pos - start);
		char *colon = field ? strchr(field, ':') : NULL;
		if (colon != NULL) {
			*colon = '\0';
			smime_verify_header(vfy, field, colon + 1);
		}
		free(field);
	}
	if (pos < n && p[pos] == '\r')
		pos++;
	if (pos < n && p[pos] == '\n')
		pos++;
	return pos;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (verifier == NULL)
		make_verifier();
	struct smime_verify *vfy = smime_verify_begin(verifier);
	if (vfy == NULL)
		return 0;
	size_t body = feed_headers(vfy, (const char *)data, size);
	struct smime_verify_msginfo info = { "sender@example.net", false };
	if (smime_verify_body(vfy, data + body, size - body) == SMX_OK &&
	    smime_verify_eom(vfy, &info, NULL) == SMX_OK &&
	    smime_verify_ar_value(vfy) == NULL)
		abort();
	smime_verify_free(&vfy);
	return 0;
}
