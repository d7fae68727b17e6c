/* SPDX-License-Identifier: BSD-2-Clause */
/* Shared inside the keyproc library. Not installed. */
#ifndef SMX_KEYPROC_PRIVATE_H
#define SMX_KEYPROC_PRIVATE_H

#include <stdint.h>

#include <smx/ca.h>
#include <smx/status.h>

/* The reply to an enrollment request, in its out bytes. */
struct keyproc_enrolled {
	int32_t status;		/* enum smx_status of ca_issue */
	struct ca_issued issued;
};

/* Installs the key process's seccomp filter (after NO_NEW_PRIVS).
 * Returns 0, or -1 with errno set. */
int keyproc_seccomp(void);

/* Registers and loads the forwarding provider (once). Returns 0 or -1. */
/* LeakSanitizer checks a process at exit by stopping its threads with
 * ptrace: a sanitizer build keeps the key process traceable (dumpable,
 * ptrace not filtered) so that the check can run. Release builds never
 * are. */
#if defined(__SANITIZE_ADDRESS__)
#define KEYPROC_TRACEABLE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define KEYPROC_TRACEABLE 1
#endif
#endif
#ifndef KEYPROC_TRACEABLE
#define KEYPROC_TRACEABLE 0
#endif

int keyproc_provider_load(void);

/* Unloads what keyproc_provider_load loaded: only once no key handle
 * is left (the daemon's caches are cleared before its client stops). */
void keyproc_provider_unload(void);

/* Marks a failure to reach the key process on this thread. */
void keyproc_note_failure(void);

#endif
