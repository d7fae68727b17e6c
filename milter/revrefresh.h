/* SPDX-License-Identifier: BSD-2-Clause */
/* The background refresh of revocation statuses: a thread that checks
 * again, before they expire, the statuses the store keeps, so that mail
 * seldom waits for a responder. */
#ifndef SMX_MILTER_REVREFRESH_H
#define SMX_MILTER_REVREFRESH_H

/* Starts the thread (after the fork, like every thread). Returns 0 or
 * -1 (logged; statuses are then learned when mail needs them). */
int revrefresh_start(void);

/* Stops it and waits for the check in progress (bounded by
 * revocation.fetch_timeout per request). NULL-safe to call when it did
 * not start. */
void revrefresh_stop(void);

#endif
