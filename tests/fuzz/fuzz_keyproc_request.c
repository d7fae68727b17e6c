/* SPDX-License-Identifier: BSD-2-Clause */
/* Fuzz target: the key process's request check, the only code of the
 * process holding the private keys that reads bytes sent to it. The input
 * is checked as it came (every size but one is refused) and again cut or
 * zero-padded to the request's size, so that the fields themselves are
 * explored.
 *
 * Invariants: an accepted request has exactly the request's size and the
 * magic; its lengths stay within their arrays; its digest names are ones
 * the key process knows and are NUL-terminated; a signature's digest has
 * the named digest's size; a key derivation asks for 16 to 64 bytes from
 * a point of at most 133; a fingerprint (signing, decryption) is 64
 * lower-case hexadecimal digits; an enrollment's address is printable
 * ASCII with one '@' inside. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <smx/keyproc.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* make-seeds-keyproc-request.sh packs requests with this layout. */
_Static_assert(sizeof(struct keyproc_request) == 1404,
	       "the seed script's request layout");

static void check_fingerprint(const char *fp)
{
	for (size_t i = 0; i < 64; i++)
		if (!((fp[i] >= '0' && fp[i] <= '9') ||
		      (fp[i] >= 'a' && fp[i] <= 'f')))
			abort();
	if (fp[64] != '\0')
		abort();
}

static void check_accepted(const struct keyproc_request *rq)
{
	if (rq->magic != KEYPROC_MAGIC || rq->in_len > KEYPROC_MAX_IN ||
	    rq->label_len > KEYPROC_MAX_LABEL ||
	    memchr(rq->md, '\0', sizeof(rq->md)) == NULL ||
	    memchr(rq->mgf1, '\0', sizeof(rq->mgf1)) == NULL ||
	    !keyproc_md_known(rq->md) || !keyproc_md_known(rq->mgf1))
		abort();
	switch (rq->op) {
	case KEYPROC_OP_SIGN:
		check_fingerprint(rq->fingerprint);
		if (rq->md[0] == '\0' || rq->in_len < 20 || rq->in_len > 64)
			abort();
		break;
	case KEYPROC_OP_DECRYPT:
		check_fingerprint(rq->fingerprint);
		if (rq->in_len == 0)
			abort();
		break;
	case KEYPROC_OP_DERIVE:
		check_fingerprint(rq->fingerprint);
		if (rq->md[0] == '\0' || rq->in_len == 0 ||
		    rq->in_len > KEYPROC_MAX_POINT || rq->out_len < 16 ||
		    rq->out_len > 64 || (rq->padding != 0 && rq->padding != 1))
			abort();
		break;
	case KEYPROC_OP_ENROLL:
		if (rq->in_len == 0 || rq->in_len > KEYPROC_MAX_ADDRESS ||
		    memchr(rq->in, '@', rq->in_len) == NULL)
			abort();
		for (size_t i = 0; i < rq->in_len; i++)
			if (rq->in[i] <= ' ' || rq->in[i] >= 0x7f)
				abort();
		break;
	default:
		abort();
	}
}

static void check(const void *buf, size_t len)
{
	struct keyproc_request rq;
	char why[128];
	if (keyproc_request_check(buf, len, &rq, why, sizeof(why))) {
		if (len != sizeof(rq))
			abort();
		check_accepted(&rq);
	} else if (memchr(why, '\0', sizeof(why)) == NULL || why[0] == '\0') {
		abort();	/* every refusal says why */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char exact[sizeof(struct keyproc_request)];
	check(data, size);
	memset(exact, 0, sizeof(exact));
	memcpy(exact, data, size < sizeof(exact) ? size : sizeof(exact));
	check(exact, sizeof(exact));
	return 0;
}
