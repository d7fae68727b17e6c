/* SPDX-License-Identifier: BSD-2-Clause */
/* Fuzz target: the configuration loader (libconfig parsing, the key
 * table, every value parser and the cross-key checks). The input is the
 * whole file; @include is neutralised by the unreadable include dir. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include <smx/cfg.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-cfg", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct cfg_errors errors = { 0 };
	struct cfg *cfg = cfg_load(path, &errors);
	cfg_unref(&cfg);
	cfg_errors_free(&errors);
	close(fd);
	return 0;
}
