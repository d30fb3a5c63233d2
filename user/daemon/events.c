// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Ring buffer records -> audit records. Every record the kernel hands over
 * is written: a record that does not decode is written as "decode_error"
 * with its raw bytes; kernel-side losses are written as "loss" records.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/libbpf.h>

#include "clock.h"
#include "daemon.h"
#include "decode.h"
#include "guard.h"
#include "jsonbytes.h"
#include "kernel.h"
#include "journal.h"
#include "log.h"
#include "policy.h"
#include "policy_store.h"
#include "sessions.h"
#include "tls.h"
#include "util.h"
#include "verdicts.h"

static const char *const loss_cause_names[SL_LOSS_MAX] = {
    [SL_LOSS_RINGBUF_FULL] = "ringbuf_full",
    [SL_LOSS_READ_FAULT] = "read_fault",
    [SL_LOSS_TRUNCATED] = "truncated",
    [SL_LOSS_MAP_FULL] = "map_full",
};

const char *sl_loss_cause_name(unsigned int cause)
{
	return cause < SL_LOSS_MAX ? loss_cause_names[cause] : "unknown";
}

static const sl_decode_fn decoders[SL_OP_MAX] = {
    [SL_OP_EXEC] = sl_decode_exec,	    [SL_OP_EXEC_FAILED] = sl_decode_exec_failed,
    [SL_OP_OPEN] = sl_decode_open,	    [SL_OP_CONNECT] = sl_decode_net,
    [SL_OP_CONNECT_RESULT] = sl_decode_net, [SL_OP_UDP_SEND] = sl_decode_net,
    [SL_OP_TLS_WRITE] = sl_decode_tls,	    [SL_OP_TLS_READ] = sl_decode_tls,
    [SL_OP_EXIT] = sl_decode_exit,
};

static void write_decode_error(struct sl_daemon *d, const void *data, size_t len, const char *why)
{
	json_t *rec = json_object();

	d->decode_errors++;
	if (!rec)
		return;
	json_object_set_new(rec, "type", json_string("decode_error"));
	json_object_set_new(rec, "reason", json_string(why));
	json_object_set_new(rec, "size", json_integer((json_int_t)len));
	sl_json_set_bytes(rec, "raw", data, len);
	sl_journal_write(d->journal, rec);
	json_decref(rec);
}

static void after_exec(struct sl_daemon *d, const struct sl_exec_event *e, size_t len,
		       const struct sl_session *s)
{
	char path[SL_PATH_MAX + 1];
	size_t n = e->filename_len;

	if (!d->tls || sizeof(*e) + n > len || n > SL_PATH_MAX)
		return;
	memcpy(path, e->data, n);
	path[n] = '\0';
	sl_tls_on_exec(d->tls, (pid_t)e->hdr.pid, path, s ? sl_session_id(s) : NULL);
}

/*
 * Path labels with wildcards inside a component cannot live in the kernel's
 * LPM trie: the daemon matches them on open records and taints the session
 * itself (evidence and later verdicts; the open itself is not stopped).
 */
static void label_open_glob(struct sl_daemon *d, struct sl_session *s, json_t *rec)
{
	const struct sl_policy *p = sl_policy_store_current(d->store);
	const char *path = json_string_value(json_object_get(rec, "path"));
	uint64_t env;

	if (!p || !path || json_integer_value(json_object_get(rec, "env_mask")))
		return;
	env = sl_policy_env_for_path(p, path);
	if (!env)
		return;
	json_object_set_new(rec, "env_mask", json_integer((json_int_t)env));
	json_object_set_new(rec, "labelled_by", json_string("daemon"));
	sl_session_kernel_update(d->sessions, s, 0, 0, env);
}

/* what a later verdict or alert needs: capture records, labelled opens */
static void keep_evidence(struct sl_daemon *d, const struct sl_event_hdr *h, const void *data,
			  size_t len, json_t *rec, struct sl_session *s)
{
	json_int_t env_mask;

	switch (h->op) {
	case SL_OP_TLS_WRITE:
		sl_verdicts_evidence_keep(d->verdicts, h, ((const struct sl_tls_event *)data)->conn,
					  rec);
		break;
	case SL_OP_EXEC:
	case SL_OP_CONNECT:
	case SL_OP_UDP_SEND:
		sl_verdicts_evidence_keep(d->verdicts, h, 0, rec);
		break;
	case SL_OP_OPEN:
		sl_verdicts_evidence_keep(d->verdicts, h, 0, rec);
		env_mask = json_integer_value(json_object_get(rec, "env_mask"));
		if (env_mask && s)
			sl_session_note_taint_file(s, rec);
		break;
	}
}

static void drain_verdicts(struct sl_daemon *d);

static int handle_record(struct sl_daemon *d, void *data, size_t len)
{
	const struct sl_event_hdr *h = data;
	struct sl_session *s;
	const char *type;
	json_t *rec;
	int err;

	if (len < sizeof(*h)) {
		write_decode_error(d, data, len, "shorter than the event header");
		return 0;
	}
	if (h->size != len) {
		write_decode_error(d, data, len, "header size does not match record size");
		return 0;
	}
	if (!d->in_vrb && ++d->since_vrb >= SL_VERDICT_POLL_EVERY)
		drain_verdicts(d);
	/* the bulk ring has reached past these verdicts: their evidence is in */
	if (!d->in_vrb && sl_verdicts_pending(d->verdicts))
		sl_verdicts_flush(d->verdicts, h->ktime_ns);
	if (h->op == SL_OP_VERDICT) {
		if (sl_verdicts_handle(d->verdicts, data, len))
			write_decode_error(d, data, len, "verdict record too short");
		return 0;
	}
	type = sl_op_type(h->op);
	if (!type || h->op >= SL_OP_MAX || !decoders[h->op]) {
		write_decode_error(d, data, len, "unknown op");
		return 0;
	}
	rec = json_object();
	if (!rec)
		return 0; /* 0: keep consuming; the failure is counted below */
	s = sl_session_by_cgroup(d->sessions, h->cgroup_id);
	json_object_set_new(rec, "type", json_string(type));
	json_object_set_new(rec, "time", sl_clock_json(h->ktime_ns));
	if (s) {
		json_object_set_new(rec, "session", json_string(sl_session_id(s)));
		sl_session_count_event(s);
	} else {
		json_object_set_new(rec, "session", json_null());
		json_object_set_new(rec, "cgroup_id", json_integer((json_int_t)h->cgroup_id));
	}
	json_object_set_new(rec, "pid", json_integer(h->pid));
	json_object_set_new(rec, "tid", json_integer(h->tid));
	json_object_set_new(rec, "uid", json_integer(h->uid));
	sl_json_set_bytes(rec, "comm", h->comm, strnlen(h->comm, sizeof(h->comm)));
	json_object_set_new(rec, "exec_id", json_integer((json_int_t)h->exec_id));
	if (h->flags & SL_EVF_READ_FAULT)
		json_object_set_new(rec, "read_fault", json_true());

	err = decoders[h->op](data, len, rec);
	if (err) {
		json_decref(rec);
		write_decode_error(d, data, len,
				   err == -EBADMSG ? "inconsistent lengths" : "decoder failed");
		return 0;
	}
	if (h->op == SL_OP_OPEN && s)
		label_open_glob(d, s, rec);
	if (json_integer_value(json_object_get(rec, "env_mask")))
		json_object_set_new(rec, "env",
				    sl_env_names_json(sl_policy_store_current(d->store),
						      (uint64_t)json_integer_value(
							  json_object_get(rec, "env_mask"))));
	sl_journal_write(d->journal, rec);
	keep_evidence(d, h, data, len, rec, s);
	json_decref(rec);
	if (h->op == SL_OP_EXEC)
		after_exec(d, data, len, s);
	return 0;
}

int sl_events_handle(void *ctx, void *data, size_t len)
{
	struct sl_daemon *d = ctx;

	handle_record(d, data, len);
	/*
	 * Sessions were just frozen for the audit log: stop after this record
	 * (libbpf counts it consumed), the rest waits in the kernel ring. The
	 * verdict ring is not paused.
	 */
	return sl_guard_ring_paused(d->guard) && !d->stop && !d->in_vrb ? -EAGAIN : 0;
}

/* Write a "loss" record for every (cause, op) whose counter moved. */
int sl_loss_poll(struct sl_daemon *d)
{
	uint64_t emitted[SL_OP_MAX], loss[SL_LOSS_MAX][SL_OP_MAX];
	int err;

	if (!d->kernel)
		return 0;
	err = sl_kernel_stats_read(d->kernel, emitted, loss);
	if (err)
		return sl_err_ret(err, "read kernel statistics");
	for (int k = 0; k < SL_LOSS_MAX; k++) {
		for (int op = 0; op < SL_OP_MAX; op++) {
			uint64_t delta = loss[k][op] - d->loss_reported[k][op];
			json_t *rec;

			if (!delta)
				continue;
			rec = json_object();
			if (!rec)
				return -ENOMEM;
			json_object_set_new(rec, "type", json_string("loss"));
			json_object_set_new(rec, "cause", json_string(loss_cause_names[k]));
			json_object_set_new(rec, "op", json_string(sl_op_type(op) ?: "unknown"));
			json_object_set_new(rec, "count", json_integer((json_int_t)delta));
			json_object_set_new(rec, "total", json_integer((json_int_t)loss[k][op]));
			if (k == SL_LOSS_RINGBUF_FULL)
				log_warn("ring buffer full: %llu %s events lost (%llu in all)",
					 (unsigned long long)delta, sl_op_type(op) ?: "?",
					 (unsigned long long)loss[k][op]);
			err = sl_journal_write(d->journal, rec);
			json_decref(rec);
			if (err)
				return err;
			d->loss_reported[k][op] = loss[k][op];
		}
	}
	return 0;
}

/* the verdict ring, whole (not from inside its own callback) */
static void drain_verdicts(struct sl_daemon *d)
{
	int n;

	if (!d->vrb || d->in_vrb)
		return;
	d->in_vrb = true;
	d->since_vrb = 0;
	n = ring_buffer__consume(d->vrb);
	d->in_vrb = false;
	if (n < 0 && n != -EAGAIN)
		log_err("verdict ring buffer consume: %s", strerror(-n));
}

/*
 * Consume everything waiting: the verdict ring first, then the bulk ring,
 * looking at the verdict ring again every SL_VERDICT_POLL_EVERY records
 * (sl_events_handle): a kill under a flood is carried out within a few
 * hundred records, not after the whole backlog. The verdict ring is read
 * also while the bulk ring is paused for the audit log: verdicts are acted
 * on, their records wait in the audit buffer like any other.
 */
void sl_drain(struct sl_daemon *d)
{
	struct timespec ts;
	uint64_t before;
	int n;

	drain_verdicts(d);
	/* sessions frozen for the audit log: their records wait in the kernel ring */
	if (!d->rb || (sl_guard_ring_paused(d->guard) && !d->stop))
		return;
	/* what the kernel wrote before this moment is read by the consume */
	clock_gettime(CLOCK_BOOTTIME, &ts);
	before = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	n = ring_buffer__consume(d->rb);
	if (n < 0 && n != -EAGAIN)
		log_err("ring buffer consume: %s", strerror(-n));
	/* the alerts of verdicts taken before it: their evidence has been read */
	sl_verdicts_flush(d->verdicts, before);
}
