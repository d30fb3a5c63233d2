// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libFuzzer target: the requests room (user/daemon/requests.h) as the ingest
 * room drives it, on arbitrary sequences of capture records. The input is a
 * list of writes, each
 *
 *	u8 flags, u8 conn, u16 len (little endian), len bytes of data
 *
 * flags: bit 0 plaintext (SL_OP_PLAIN_WRITE, else SL_OP_TLS_WRITE), bit 1
 * held for decoding (SL_EVF_DECODE_HOLD), bit 2 the call was longer than
 * captured (the room reads the rest from the writer, which does not exist
 * here: a gap), bit 3 read fault, bit 4 the kernel's verdict record comes
 * before the capture, bit 5 after it, bit 6 a forked writer (another pid on
 * the same connection), bit 7 the program image changed (exec). conn picks
 * one of four connections (SSL* or socket inode); a connection's stream is
 * reassembled across writes, requests are decoded, held writes judged on the
 * shipped default policy (policies/default.yaml, run.sh runs from the
 * repository's root) and decided. The room must never crash, leak, or put
 * something that is not a JSON value into a record.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "policy_store.h"
#include "requests.h"
#include "scopelock_abi.h"
#include "scopelock_events.h"
#include "scopelock_policy.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sl_policy_store *store;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (sl_policy_store_open("policies/default.yaml", &store)) {
		fprintf(stderr, "fuzz_requests: policies/default.yaml does not load (run from the "
				"repository's root)\n");
		exit(2);
	}
	return 0;
}

/* one capture record of SL_TLS_CAPTURE_MAX bytes at most */
static union {
	struct sl_tls_event e;
	uint8_t raw[sizeof(struct sl_tls_event) + SL_TLS_CAPTURE_MAX];
} rec;

static void verdict(struct sl_requests *rq, const struct sl_tls_event *e)
{
	struct sl_verdict_event v;

	memset(&v, 0, sizeof(v));
	v.hdr = e->hdr;
	v.hdr.op = SL_OP_VERDICT;
	v.hdr.size = sizeof(v);
	v.conn = e->conn;
	v.channel = SL_KCH_TLS;
	v.trigger_op = e->hdr.op;
	v.rule = SL_RULE_DECODE;
	v.action = SL_KACT_FREEZE;
	v.flags = SL_VERDICT_DECODE | SL_VERDICT_ENFORCED;
	v.file_ino = e->hdr.ktime_ns;
	sl_requests_hold_verdict(rq, &v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sl_requests *rq = NULL;
	uint64_t ktime = 1000;
	size_t i = 0;

	if (sl_requests_new(NULL, NULL, store, NULL, NULL, &rq))
		return 0;
	while (i + 4 <= size) {
		uint8_t flags = data[i], conn = data[i + 1] & 3;
		size_t n = (size_t)data[i + 2] | (size_t)data[i + 3] << 8;
		struct sl_tls_event *e = &rec.e;
		json_t *out;

		i += 4;
		if (n > size - i)
			n = size - i;
		if (n > SL_TLS_CAPTURE_MAX)
			n = SL_TLS_CAPTURE_MAX;
		memset(e, 0, sizeof(*e));
		e->hdr.op = flags & 1 ? SL_OP_PLAIN_WRITE : SL_OP_TLS_WRITE;
		e->hdr.size = (uint32_t)(sizeof(*e) + n);
		e->hdr.ktime_ns = ktime++;
		e->hdr.cgroup_id = 1;
		e->hdr.pid = flags & 0x40 ? 2 : 1;
		e->hdr.tid = e->hdr.pid;
		e->hdr.exec_id = flags & 0x80 ? 2 : 1;
		if (flags & 2)
			e->hdr.flags |= SL_EVF_DECODE_HOLD;
		if (flags & 8)
			e->hdr.flags |= SL_EVF_READ_FAULT;
		e->conn = flags & 1 ? 1000 + conn : 0x7f0000001000ULL + conn * 64;
		e->len = n + (flags & 4 ? 100 : 0);
		if (e->len > n)
			e->hdr.flags |= SL_EVF_TRUNCATED;
		e->lib = flags & 1 ? SL_TLS_PLAIN : SL_TLS_OPENSSL;
		e->fn = flags & 1 ? SL_NET_FN_WRITE : SL_TLS_FN_SSL_WRITE_EX;
		e->peer_family = 2;
		e->peer_addr[0] = 127;
		e->peer_addr[3] = 1;
		e->peer_port = 8080;
		if (!(flags & 1)) {
			memcpy(e->sni, "api.fuzz.test", 13);
			e->sni_len = 13;
		}
		e->data_len = (uint32_t)n;
		memcpy(e->data, data + i, n);
		i += n;
		if ((flags & 2) && (flags & 0x10))
			verdict(rq, e);
		out = json_object();
		if (!out)
			break;
		sl_requests_tls_write(rq, NULL, e, sizeof(*e) + n, out);
		/* what the ingest room writes into the record must be JSON */
		free(json_dumps(out, 0));
		json_decref(out);
		sl_requests_act(rq);
		if ((flags & 2) && (flags & 0x20))
			verdict(rq, e);
	}
	sl_requests_free(rq);
	return 0;
}
