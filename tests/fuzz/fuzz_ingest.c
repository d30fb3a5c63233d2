// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libFuzzer target: the ingest room's decoders of ring buffer records
 * (user/daemon/ingest_decode.h), the code that reads what the kernel side
 * wrote. The first input byte picks the record type, the rest is the
 * record (header included); the header's size is set to the length, as the
 * core checks it before any decoder runs. A decoder must accept the record
 * (0) or refuse it (-EBADMSG), never read past it (ASan: the record is its
 * own allocation), and what it accepted must be a JSON object's members
 * that repeat none of its own nor one the core writes, with every string
 * passed through the redactor (a filter that replaces "SK": no value may
 * decode to bytes that still hold it).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "ingest_decode.h"
#include "jsonbytes.h"
#include "sk_filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
	unsigned int op;
	sl_decode_fn fn;
} ops[] = {
    {SL_OP_EXEC, sl_decode_exec},	   {SL_OP_EXEC_FAILED, sl_decode_exec_failed},
    {SL_OP_OPEN, sl_decode_open},	   {SL_OP_CONNECT, sl_decode_net},
    {SL_OP_CONNECT_RESULT, sl_decode_net}, {SL_OP_UDP_SEND, sl_decode_net},
    {SL_OP_TLS_WRITE, sl_decode_tls},	   {SL_OP_TLS_READ, sl_decode_tls},
    {SL_OP_EXIT, sl_decode_exit},	   {SL_OP_PLAIN_WRITE, sl_decode_tls},
};

/* the members the core writes itself */
static const char *const core[] = {"type", "time", "session", "pid",
				   "tid",  "uid",  "comm",    "exec_id"};

/* every string at any depth, decoded as bytes, is free of "SK" */
static void check_redacted(const json_t *v)
{
	const char *key;
	json_t *m;
	size_t i;

	if (json_is_object(v)) {
		/* a bytes value that is not text: {"base64": ...} or similar */
		char *b = NULL;
		size_t bl;

		if (!sl_json_bytes_decode(v, &b, &bl)) {
			if (memmem(b, bl, "SK", 2))
				abort();
			free(b);
			return;
		}
		json_object_foreach ((json_t *)v, key, m)
			check_redacted(m);
	} else if (json_is_array(v)) {
		json_array_foreach (v, i, m)
			check_redacted(m);
	} else if (json_is_string(v)) {
		if (memmem(json_string_value(v), json_string_length(v), "SK", 2))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_event_hdr *h;
	struct sl_jw w;
	const char *text;
	size_t len;
	char *doc;
	json_t *rec;
	void *e;
	int err;

	if (size < 1)
		return 0;
	size--;
	/* exactly the record's bytes: ASan catches a read past them */
	e = malloc(size ? size : 1);
	if (!e)
		abort();
	memcpy(e, data + 1, size);
	if (size >= sizeof(*h)) {
		h = e;
		h->op = ops[data[0] % (sizeof(ops) / sizeof(ops[0]))].op;
		h->size = (uint32_t)size;
	}
	sl_jw_init(&w, filter, NULL);
	err = ops[data[0] % (sizeof(ops) / sizeof(ops[0]))].fn(e, size, &w);
	if (err && err != -EBADMSG && err != -ENOMEM)
		abort();
	if (!err && size < sizeof(*h))
		abort(); /* accepted a record shorter than its header */
	if (!err && !sl_jw_members(&w, &text, &len)) {
		doc = malloc(len + 2);
		if (!doc)
			abort();
		doc[0] = '{';
		memcpy(doc + 1, text, len);
		doc[len + 1] = '}';
		rec = json_loadb(doc, len + 2, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
		if (!rec)
			abort(); /* not JSON, or a member written twice */
		for (size_t i = 0; i < sizeof(core) / sizeof(core[0]); i++)
			if (json_object_get(rec, core[i]))
				abort();
		check_redacted(rec);
		json_decref(rec);
		free(doc);
	}
	sl_jw_free(&w);
	free(e);
	return 0;
}
