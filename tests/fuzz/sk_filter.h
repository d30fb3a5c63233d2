/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The redactor stand-in of the record-writer fuzz targets (a jwriter
 * filter, jwriter.h): "SK" is replaced by "[s]", so a target can check that
 * no value it wrote still holds "SK".
 */
#ifndef SL_FUZZ_SK_FILTER_H
#define SL_FUZZ_SK_FILTER_H

#include <stddef.h>
#include <string.h>

static char fbuf[1 << 17];

static int filter(void *ctx, const void *in, size_t len, const void **out, size_t *outlen)
{
	const char *s = in;
	size_t o = 0;

	(void)ctx;
	if (!memmem(in, len, "SK", 2))
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (o + 3 > sizeof(fbuf))
			return -1;
		if (i + 1 < len && s[i] == 'S' && s[i + 1] == 'K') {
			memcpy(fbuf + o, "[s]", 3);
			o += 3;
			i++;
		} else {
			fbuf[o++] = s[i];
		}
	}
	*out = fbuf;
	*outlen = o;
	return 0;
}

#endif
