// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libFuzzer target: the credential finder (user/lib/credfind.h) on arbitrary
 * file contents. Every finding must lie inside the input, be non-empty, be
 * ordered by offset without overlaps, and name a kind; the scan must stay
 * within its limits (never a crash, a leak or a timeout).
 */
#include <stdint.h>
#include <stdlib.h>

#include "credfind.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sl_credfind *cf;
	struct sl_cred out[64];
	int n;

	if (!cf && sl_credfind_new(&cf))
		abort();
	n = sl_credfind_scan(cf, (const char *)data, size, out, 64, NULL);
	if (n < 0)
		abort();
	for (int i = 0; i < n; i++) {
		if (!out[i].len || out[i].off + out[i].len > size ||
		    out[i].kind >= SL_CRED_KIND_MAX)
			abort();
		if (i && out[i].off < out[i - 1].off + out[i - 1].len)
			abort();
	}
	return 0;
}
