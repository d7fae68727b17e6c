/* SPDX-License-Identifier: BSD-2-Clause */
/* Process-wide state every message reads: the current configuration
 * snapshot, the shared store and directory, the connections and messages
 * in flight and whether the daemon is draining; each is guarded here.
 * Other process-wide state stays with the file that uses it (the signer
 * cache in outbound.c, the shared verifier in inbound.c, the enrollment
 * limiter in enroll.c, the warnings already given in expiry.c, the
 * background threads of revrefresh.c and expiry-watch.c, the reload
 * request in smime-milter.c, libc's accept in tcpopt.c). */
#ifndef SMX_MILTER_RUNTIME_H
#define SMX_MILTER_RUNTIME_H

#include <stdbool.h>

#include <smx/cfg.h>

/* Installs cfg as the current snapshot (takes over the caller's
 * reference) and drops the reference to the previous one. */
void runtime_set_config(struct cfg *cfg);

/* Returns a new reference to the current snapshot; release it with
 * cfg_unref(). Never NULL once runtime_set_config has run. */
struct cfg *runtime_config(void);

struct store;

/* Opens the store of cfg (at start-up, after the privilege drop). A
 * store that cannot be opened now is retried later by runtime_store. */
void runtime_open_store(const struct cfg *cfg);

/* The shared store, or NULL while it cannot be opened (then certificate
 * and key lookups are "unknown", and policy fails closed). Retries the
 * opening at most every 30 seconds. The store lives until
 * runtime_close_store. */
struct store *runtime_store(void);

/* Closes the store (and the directory) at shutdown, when no message is
 * in flight. */
void runtime_close_store(void);

struct directory;

/* Opens the LDAP directory of cfg (when ldap.uri is set; before the
 * threads start). Connections are made on first use. */
void runtime_open_directory(const struct cfg *cfg);

/* The shared directory, or NULL when none is configured. */
struct directory *runtime_directory(void);

/* Counts a message entering (envfrom) and leaving (eom/abort/close). */
void runtime_message_begin(void);
void runtime_message_end(void);

/* Admits one more MTA connection unless limit are open already (then
 * returns false and counts nothing); every admitted connection ends with
 * runtime_connection_end. */
bool runtime_connection_begin(unsigned limit);
void runtime_connection_end(void);

/* Stops admitting new work, then waits up to timeout_s seconds for the
 * messages in flight to finish. Returns true if all finished. */
bool runtime_drain(unsigned timeout_s);

/* True once runtime_drain has started. */
bool runtime_draining(void);

#endif
