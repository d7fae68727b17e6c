/* SPDX-License-Identifier: BSD-2-Clause */
/* The result every fallible operation returns. NOTFOUND and TEMPFAIL are
 * different on purpose: "this recipient has no certificate" lets policy
 * reject, "the directory did not answer" must only ever tempfail. */
#ifndef SMX_STATUS_H
#define SMX_STATUS_H

enum smx_status {
	SMX_OK = 0,
	SMX_NOTFOUND,	/* the thing does not exist (an answer, not an error) */
	SMX_TEMPFAIL,	/* could not find out now; retry later */
	SMX_PERMFAIL,	/* will never work with this input */
	SMX_CONFIG,	/* the configuration is wrong */
};

/* A short lower-case name ("ok", "tempfail", ...) for logs. */
const char *smx_status_name(enum smx_status status);

#endif
