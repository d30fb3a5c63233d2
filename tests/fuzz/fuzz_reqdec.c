// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libFuzzer target: the request decoder (user/lib/reqdec.h) on arbitrary
 * client bytes, fed in pieces whose size the first input byte picks, with
 * small limits so that every limit path is reached. Each request is rendered
 * as a record member and a summary line; the decoder must never crash, leak
 * or hand out a request whose status and reason disagree.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "jwriter.h"
#include "reqdec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void drain(struct sl_reqdec *d)
{
	struct sl_rq *r;

	while ((r = sl_reqdec_next(d))) {
		struct sl_jw w;
		const char *t;
		size_t tl;
		char line[256];

		if ((r->status == SL_RQ_DECODED) != (r->reason == SL_RQ_R_NONE))
			__builtin_trap();
		if (!r->text || strlen(r->text) > r->text_len)
			__builtin_trap();
		sl_jw_init(&w, NULL, NULL);
		sl_rq_record(&w, "request", r, 64);
		if (sl_jw_members(&w, &t, &tl) != 0)
			__builtin_trap();
		sl_jw_free(&w);
		sl_rq_summary(r, line, sizeof(line));
		sl_rq_free(r);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_reqdec_limits lim;
	struct sl_reqdec *d;
	bool skips;
	size_t step;

	if (size < 1)
		return 0;
	skips = data[0] & 0x40;
	step = (size_t)data[0] % 64 + 1;
	if (data[0] >= 0xc0)
		step = size;
	data++;
	size--;
	sl_reqdec_limits_default(&lim);
	lim.max_memory = 1u << 20;
	lim.max_body = 256u << 10;
	lim.max_wire_body = 64u << 10;
	lim.max_text = 256u << 10;
	lim.max_depth = 32;
	lim.max_items = 64;
	lim.max_pending = 64;
	if (sl_reqdec_new(&lim, &d))
		return 0;
	sl_reqdec_set_origin(d, "https", "fuzz.test");
	/* with bit 6 of the first byte, every third piece is reported as not
	 * seen (sl_reqdec_skip) where the decoder can keep the framing */
	for (size_t i = 0, k = 0; i < size; i += step, k++) {
		size_t n = size - i < step ? size - i : step;

		if (!(skips && k % 3 == 2 && sl_reqdec_skip(d, n) == 0))
			sl_reqdec_feed(d, data + i, n);
		drain(d);
	}
	sl_reqdec_finish(d);
	drain(d);
	sl_reqdec_free(d);
	return 0;
}
