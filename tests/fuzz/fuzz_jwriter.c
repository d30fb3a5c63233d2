// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libFuzzer target: the record writer (user/lib/jwriter.h) against jansson.
 * The input is split into byte values (at 0x00 0x00); each is written as a
 * bytes value (nested at a depth from its first byte), under a filter that
 * replaces "SK" with "[s]". The record must parse with jansson, each value
 * must decode to exactly its filtered bytes, the writer's UTF-8 decision
 * must equal jansson's, and "SK" must appear nowhere in the decoded values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonbytes.h"
#include "jwriter.h"
#include "sk_filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_jw w;
	const char *text;
	size_t len, start = 0, nvals = 0;
	char *doc;
	json_t *v, *arr;

	sl_jw_init(&w, filter, NULL);
	sl_jw_arr(&w, "v");
	for (size_t i = 0; i <= size; i++) {
		if (i < size && !(i + 1 < size && data[i] == 0 && data[i + 1] == 0))
			continue;
		{
			json_t *s = json_stringn((const char *)data + start, i - start);

			if ((s != NULL) != sl_utf8_valid(data + start, i - start))
				abort();
			json_decref(s);
		}
		sl_jw_bytes(&w, NULL, data + start, i - start);
		nvals++;
		start = i + 2;
		i++;
	}
	sl_jw_end(&w);
	if (sl_jw_members(&w, &text, &len)) {
		sl_jw_free(&w);
		return 0; /* the filter's own limit */
	}
	doc = malloc(len + 3);
	if (!doc)
		abort();
	doc[0] = '{';
	memcpy(doc + 1, text, len);
	memcpy(doc + 1 + len, "}", 2);
	v = json_loadb(doc, len + 2, JSON_ALLOW_NUL, NULL);
	if (!v)
		abort();
	arr = json_object_get(v, "v");
	if (json_array_size(arr) != nvals)
		abort();
	for (size_t k = 0; k < nvals; k++) {
		char *b = NULL;
		size_t bl;

		if (sl_json_bytes_decode(json_array_get(arr, k), &b, &bl))
			abort();
		if (memmem(b, bl, "SK", 2) && !strstr(b, "[s]"))
			abort();
		free(b);
	}
	json_decref(v);
	free(doc);
	sl_jw_free(&w);
	return 0;
}
