/* SPDX-License-Identifier: BSD-2-Clause */
/* A message's header list as an MTA holds it, for applying the header
 * edits of smime/ the way Postfix does (smfi_chgheader, smfi_addheader,
 * smfi_insheader), so that tests read the headers a recipient gets. */
#ifndef SMX_TEST_HDRS_H
#define SMX_TEST_HDRS_H

#include <smx/hdrlist.h>
#include <smx/smime.h>
#include <smx/spool.h>

struct testhdrs;

/* From name/value pairs, NULL-terminated (values with their leading
 * space). Aborts the test on failure. */
struct testhdrs *testhdrs_new(const char *const *pairs);

/* Applies one edit; fails the test when it names a header that is not
 * there. */
void testhdrs_apply(struct testhdrs *h, const struct smime_header_edit *e);

/* The value of the first header called name (case-insensitive), or NULL. */
const char *testhdrs_get(const struct testhdrs *h, const char *name);

/* The number of headers called name. */
size_t testhdrs_count(const struct testhdrs *h, const char *name);

/* The i-th header's name and value (i < testhdrs_n). */
size_t testhdrs_n(const struct testhdrs *h);
const char *testhdrs_name(const struct testhdrs *h, size_t i);
const char *testhdrs_value(const struct testhdrs *h, size_t i);

/* "Name:value\r\n" for each MIME header (MIME-Version, Content-*), in
 * order. Caller frees. */
char *testhdrs_mime(const struct testhdrs *h);

void testhdrs_free(struct testhdrs **h);

/* The message as the smime end-of-message functions take it: a header
 * list of the pairs (NULL-terminated), or of h, and a spool holding len
 * bytes of data, appended in pieces of chunk bytes (0: at once) so that
 * a small threshold moves it to a file. The caller frees them. Abort the
 * test on failure. */
struct hdrlist *testhdrs_list(const char *const *pairs);
struct hdrlist *testhdrs_to_list(const struct testhdrs *h);
struct spool *testhdrs_spool(const void *data, size_t len, size_t chunk);

#endif
