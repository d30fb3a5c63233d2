// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libFuzzer target: the audit log verifier (sl_audit_verify) on an arbitrary
 * segment: the input is written to a segment file in a private directory
 * and verified as a plain segment; with a first byte of 0x1f (gzip's magic)
 * also as a compressed one. Whatever the bytes, the verifier must
 * answer (0 or 1 with a reason, or -errno) without crashing, leaking or
 * running away.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void verify_as(const uint8_t *data, size_t size, const char *suffix)
{
	struct sl_verify_result res;
	char path[96];
	const char *paths[1] = {path};
	char dir[] = "/tmp/sl-fuzz-verify-XXXXXX";
	char file[128];
	FILE *f;

	/* verify takes file names: a private directory, one segment */
	if (!mkdtemp(dir))
		return;
	snprintf(file, sizeof(file), "%s/audit-00000000000000000001.jsonl%s", dir, suffix);
	f = fopen(file, "wb");
	if (f) {
		fwrite(data, 1, size, f);
		fclose(f);
		snprintf(path, sizeof(path), "%s", file);
		(void)sl_audit_verify(paths, 1, &res);
		sl_verify_result_release(&res);
		unlink(file);
	}
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	verify_as(data, size, "");
	if (size && data[0] == 0x1f)
		verify_as(data, size, ".gz");
	return 0;
}
