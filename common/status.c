/* SPDX-License-Identifier: BSD-2-Clause */
#include <smx/status.h>

const char *smx_status_name(enum smx_status status)
{
	switch (status) {
	case SMX_OK: return "ok";
	case SMX_NOTFOUND: return "notfound";
	case SMX_TEMPFAIL: return "tempfail";
	case SMX_PERMFAIL: return "permfail";
	case SMX_CONFIG: return "config";
	}
	return "unknown";
}
