/* SPDX-License-Identifier: BSD-2-Clause */
/* The libmilter registration: every callback, and the actions and
 * protocol steps this filter negotiates. */
#ifndef SMX_MILTER_CALLBACKS_H
#define SMX_MILTER_CALLBACKS_H

#include <libmilter/mfapi.h>

/* The filter description passed to smfi_register(). */
extern struct smfiDesc milter_description;

#endif
