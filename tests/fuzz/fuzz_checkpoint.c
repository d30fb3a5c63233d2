// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libFuzzer target: checkpoint lines (user/lib/checkpoint.h) as `scopelock
 * verify --checkpoints` reads them from a file an attacker may have written.
 * Each line is parsed; what parses is checked against a fixed verification
 * key (epochs below 4096 only: a higher epoch costs one SHA-256 per epoch,
 * bounded by SL_CKPT_EPOCH_MAX, and would only slow the fuzzer), formatted
 * again and parsed back to the same checkpoint.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t k0[SL_CKPT_KEY_LEN] = {1, 2, 3};
	struct sl_ckpt_verifier v;
	size_t start = 0;

	sl_ckpt_verifier_init(&v, k0);
	while (start < size) {
		const uint8_t *nl = memchr(data + start, '\n', size - start);
		size_t len = nl ? (size_t)(nl - (data + start)) : size - start;
		struct sl_ckpt c, back;
		char why[256];

		if (!sl_ckpt_parse((const char *)data + start, len, &c, why, sizeof(why))) {
			char *line = sl_ckpt_format(&c);

			if (line) {
				if (sl_ckpt_parse(line, strlen(line), &back, why, sizeof(why)) ||
				    memcmp(&back, &c, sizeof(c)))
					abort();
				free(line);
			}
			if (c.epoch < 4096)
				(void)sl_ckpt_verify_mac(&v, &c);
		}
		start += len + 1;
	}
	return 0;
}
