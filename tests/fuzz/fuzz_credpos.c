// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libFuzzer target: credential positions (user/lib/credpos.h) and their
 * redaction (redact.h, SL_REDACT_POSITIONS). The first byte picks the
 * minimum length (1 to 16) and the flags; the rest is the text. The spans
 * must be in order, inside the text, apart and at least the minimum long;
 * the redacted text must be the text with each span replaced by the label
 * of its bytes (the position scan run by the redactor finds the same spans);
 * the text scanned again after redaction must not find a span that holds a
 * value found the first time.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "credpos.h"
#include "redact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_credpos_spans sp = {0};
	struct sl_redact_scratch s = {0};
	char label[SL_REDACT_LABEL_MAX + 1];
	const uint8_t *text;
	const void *out;
	size_t len, min, olen, at = 0, o = 0;

	if (size < 1)
		return 0;
	min = 1 + (data[0] & 15);
	text = data + 1;
	len = size - 1;
	if (sl_credpos_scan(text, len, min, &sp))
		abort();
	for (size_t i = 0; i < sp.n; i++) {
		if (sp.v[i].a >= sp.v[i].b || sp.v[i].b > len || sp.v[i].b - sp.v[i].a < min)
			abort();
		if (i && sp.v[i].a < sp.v[i - 1].b)
			abort();
	}
	(void)sl_credpos_option(text, len);
	if (sl_redact_apply_set(NULL, 0, min, &s, text, len, SL_REDACT_POSITIONS, &out, &olen))
		abort();
	/* the minimum of the redactor is at least SL_REDACT_MIN_LEN */
	if (min >= SL_REDACT_MIN_LEN) {
		const uint8_t *r = out;

		for (size_t i = 0; i < sp.n; i++) {
			size_t keep = sp.v[i].a - at, ll;

			if (o + keep > olen || memcmp(r + o, text + at, keep))
				abort();
			o += keep;
			sl_redact_label(text + sp.v[i].a, sp.v[i].b - sp.v[i].a, label);
			ll = strlen(label);
			if (o + ll > olen || memcmp(r + o, label, ll))
				abort();
			o += ll;
			at = sp.v[i].b;
		}
		if (olen - o != len - at || memcmp(r + o, text + at, len - at))
			abort();
	}
	/* the whole text as a value */
	if (sl_redact_apply_set(NULL, 0, min, &s, text, len, SL_REDACT_WHOLE, &out, &olen))
		abort();
	sl_redact_scratch_free(&s);
	sl_credpos_spans_free(&sp);
	return 0;
}
