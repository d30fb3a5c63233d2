// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The ingest room (ingest.h): ring buffer records -> audit records. Every
 * record the kernel hands over is written: a record that does not decode is
 * written as "decode_error" with its raw bytes; kernel-side losses are
 * written as "loss" records. The decoders are ingest_*.c (ingest_decode.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include <bpf/libbpf.h>

#include "clock.h"
#include "ingest.h"
#include "ingest_decode.h"
#include "journal.h"
#include "jsonbytes.h"
#include "kernel.h"
#include "log.h"
#include "policy.h"
#include "policy_store.h"
#include "sessions.h"
#include "tls.h"
#include "util.h"
#include "verdicts.h"

/* records of the bulk ring handled between two looks at the verdict ring */
#define SL_VERDICT_POLL_EVERY 256

struct sl_ingest {
	struct sl_kernel *kernel;
	struct sl_sessions *sessions;
	struct sl_policy_store *store;
	struct sl_journal *journal;
	struct sl_verdicts *verdicts;
	struct sl_tls *tls;
	struct ring_buffer *rb;	 /* sl_events: bulk telemetry */
	struct ring_buffer *vrb; /* sl_verdicts: drained first */
	unsigned int since_vrb;	 /* records of rb since vrb was last drained */
	bool in_vrb;		 /* draining vrb (its callback is the same) */
	bool paused;		 /* rb is not read: sessions are frozen for the audit log */
	bool stopping;		 /* the daemon is stopping: rb is read even when paused */
	int epfd;
	uint64_t tag_events;
	/* loss accounting: last totals written to the audit log */
	uint64_t loss_reported[SL_LOSS_MAX][SL_OP_MAX];
	uint64_t decode_errors;
};

static const sl_decode_fn decoders[SL_OP_MAX] = {
    [SL_OP_EXEC] = sl_decode_exec,	    [SL_OP_EXEC_FAILED] = sl_decode_exec_failed,
    [SL_OP_OPEN] = sl_decode_open,	    [SL_OP_CONNECT] = sl_decode_net,
    [SL_OP_CONNECT_RESULT] = sl_decode_net, [SL_OP_UDP_SEND] = sl_decode_net,
    [SL_OP_TLS_WRITE] = sl_decode_tls,	    [SL_OP_TLS_READ] = sl_decode_tls,
    [SL_OP_EXIT] = sl_decode_exit,
};

static void write_decode_error(struct sl_ingest *in, const void *data, size_t len, const char *why)
{
	json_t *rec = json_object();

	in->decode_errors++;
	if (!rec)
		return;
	json_object_set_new(rec, "type", json_string("decode_error"));
	json_object_set_new(rec, "reason", json_string(why));
	json_object_set_new(rec, "size", json_integer((json_int_t)len));
	sl_json_set_bytes(rec, "raw", data, len);
	sl_journal_write(in->journal, rec);
	json_decref(rec);
}

static void after_exec(struct sl_ingest *in, const struct sl_exec_event *e, size_t len,
		       const struct sl_session *s)
{
	char path[SL_PATH_MAX + 1];
	size_t n = e->filename_len;

	if (!in->tls || sizeof(*e) + n > len || n > SL_PATH_MAX)
		return;
	memcpy(path, e->data, n);
	path[n] = '\0';
	sl_tls_on_exec(in->tls, (pid_t)e->hdr.pid, e->hdr.exec_id, e->hdr.cgroup_id, path,
		       s ? sl_session_id(s) : NULL);
}

/*
 * Path labels with wildcards inside a component cannot live in the kernel's
 * LPM trie: the daemon matches them on open records and taints the session
 * itself (evidence and later verdicts; the open itself is not stopped).
 */
static void label_open_glob(struct sl_ingest *in, struct sl_session *s, json_t *rec)
{
	const struct sl_policy *p = sl_policy_store_current(in->store);
	const char *path = json_string_value(json_object_get(rec, "path"));
	uint64_t env;

	if (!p || !path || json_integer_value(json_object_get(rec, "env_mask")))
		return;
	env = sl_policy_env_for_path(p, path);
	if (!env)
		return;
	json_object_set_new(rec, "env_mask", json_integer((json_int_t)env));
	json_object_set_new(rec, "labelled_by", json_string("daemon"));
	sl_session_kernel_update(in->sessions, s, 0, 0, env);
}

/* what a later verdict or alert needs: capture records, labelled opens */
static void keep_evidence(struct sl_ingest *in, const struct sl_event_hdr *h, const void *data,
			  size_t len, json_t *rec, struct sl_session *s)
{
	json_int_t env_mask;

	switch (h->op) {
	case SL_OP_TLS_WRITE:
		sl_verdicts_evidence_keep(in->verdicts, h,
					  ((const struct sl_tls_event *)data)->conn, rec);
		break;
	case SL_OP_EXEC:
	case SL_OP_CONNECT:
	case SL_OP_UDP_SEND:
		sl_verdicts_evidence_keep(in->verdicts, h, 0, rec);
		break;
	case SL_OP_OPEN:
		sl_verdicts_evidence_keep(in->verdicts, h, 0, rec);
		env_mask = json_integer_value(json_object_get(rec, "env_mask"));
		if (env_mask && s)
			sl_session_note_taint_file(s, rec);
		break;
	}
}

static void drain_verdicts(struct sl_ingest *in);

static int handle_record(struct sl_ingest *in, void *data, size_t len)
{
	const struct sl_event_hdr *h = data;
	struct sl_session *s;
	const char *type;
	json_t *rec;
	int err;

	if (len < sizeof(*h)) {
		write_decode_error(in, data, len, "shorter than the event header");
		return 0;
	}
	if (h->size != len) {
		write_decode_error(in, data, len, "header size does not match record size");
		return 0;
	}
	if (!in->in_vrb && ++in->since_vrb >= SL_VERDICT_POLL_EVERY)
		drain_verdicts(in);
	/* the bulk ring has reached past these verdicts: their evidence is in */
	if (!in->in_vrb && sl_verdicts_pending(in->verdicts))
		sl_verdicts_flush(in->verdicts, h->ktime_ns);
	if (h->op == SL_OP_VERDICT) {
		if (sl_verdicts_handle(in->verdicts, data, len))
			write_decode_error(in, data, len, "verdict record too short");
		return 0;
	}
	/* the TLS gate holds a process mapping a new file: for the TLS room only */
	if (h->op == SL_OP_TLS_MAP) {
		if (len < sizeof(struct sl_tls_map_event))
			write_decode_error(in, data, len, "tls_map record too short");
		else if (in->tls)
			sl_tls_on_map(in->tls, data,
				      (s = sl_session_by_cgroup(in->sessions, h->cgroup_id))
					  ? sl_session_id(s)
					  : NULL);
		return 0;
	}
	type = sl_op_type(h->op);
	if (!type || h->op >= SL_OP_MAX || !decoders[h->op]) {
		write_decode_error(in, data, len, "unknown op");
		return 0;
	}
	rec = json_object();
	if (!rec)
		return 0; /* 0: keep consuming; the failure is counted below */
	s = sl_session_by_cgroup(in->sessions, h->cgroup_id);
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
		write_decode_error(in, data, len,
				   err == -EBADMSG ? "inconsistent lengths" : "decoder failed");
		return 0;
	}
	if (h->op == SL_OP_OPEN && s)
		label_open_glob(in, s, rec);
	if (json_integer_value(json_object_get(rec, "env_mask")))
		json_object_set_new(rec, "env",
				    sl_env_names_json(sl_policy_store_current(in->store),
						      (uint64_t)json_integer_value(
							  json_object_get(rec, "env_mask"))));
	sl_journal_write(in->journal, rec);
	keep_evidence(in, h, data, len, rec, s);
	json_decref(rec);
	if (h->op == SL_OP_EXEC)
		after_exec(in, data, len, s);
	return 0;
}

static int events_handle(void *ctx, void *data, size_t len)
{
	struct sl_ingest *in = ctx;

	handle_record(in, data, len);
	/*
	 * Sessions were just frozen for the audit log: stop after this record
	 * (libbpf counts it consumed), the rest waits in the kernel ring. The
	 * verdict ring is not paused.
	 */
	return in->paused && !in->stopping && !in->in_vrb ? -EAGAIN : 0;
}

/* Write a "loss" record for every (cause, op) whose counter moved. */
int sl_ingest_loss_poll(struct sl_ingest *in)
{
	uint64_t emitted[SL_OP_MAX], loss[SL_LOSS_MAX][SL_OP_MAX];
	int err;

	if (!in || !in->kernel)
		return 0;
	err = sl_kernel_stats_read(in->kernel, emitted, loss);
	if (err)
		return sl_err_ret(err, "read kernel statistics");
	for (int k = 0; k < SL_LOSS_MAX; k++) {
		for (int op = 0; op < SL_OP_MAX; op++) {
			uint64_t delta = loss[k][op] - in->loss_reported[k][op];
			json_t *rec;

			if (!delta)
				continue;
			rec = json_object();
			if (!rec)
				return -ENOMEM;
			json_object_set_new(rec, "type", json_string("loss"));
			json_object_set_new(rec, "cause", json_string(sl_loss_cause_name(k)));
			json_object_set_new(rec, "op", json_string(sl_op_type(op) ?: "unknown"));
			json_object_set_new(rec, "count", json_integer((json_int_t)delta));
			json_object_set_new(rec, "total", json_integer((json_int_t)loss[k][op]));
			if (k == SL_LOSS_RINGBUF_FULL)
				log_warn("ring buffer full: %llu %s events lost (%llu in all)",
					 (unsigned long long)delta, sl_op_type(op) ?: "?",
					 (unsigned long long)loss[k][op]);
			err = sl_journal_write(in->journal, rec);
			json_decref(rec);
			if (err)
				return err;
			in->loss_reported[k][op] = loss[k][op];
		}
	}
	return 0;
}

/* the verdict ring, whole (not from inside its own callback) */
static void drain_verdicts(struct sl_ingest *in)
{
	int n;

	if (!in->vrb || in->in_vrb)
		return;
	in->in_vrb = true;
	in->since_vrb = 0;
	n = ring_buffer__consume(in->vrb);
	in->in_vrb = false;
	if (n < 0 && n != -EAGAIN)
		log_err("verdict ring buffer consume: %s", strerror(-n));
}

/*
 * Consume everything waiting: the verdict ring first, then the bulk ring,
 * looking at the verdict ring again every SL_VERDICT_POLL_EVERY records
 * (events_handle): a kill under a flood is carried out within a few
 * hundred records, not after the whole backlog. The verdict ring is read
 * also while the bulk ring is paused for the audit log: verdicts are acted
 * on, their records wait in the audit buffer like any other.
 */
void sl_ingest_drain(struct sl_ingest *in)
{
	struct timespec ts;
	uint64_t before;
	int n;

	if (!in)
		return;
	drain_verdicts(in);
	/* sessions frozen for the audit log: their records wait in the kernel ring */
	if (!in->rb || (in->paused && !in->stopping))
		return;
	/* what the kernel wrote before this moment is read by the consume */
	clock_gettime(CLOCK_BOOTTIME, &ts);
	before = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	n = ring_buffer__consume(in->rb);
	if (n < 0 && n != -EAGAIN)
		log_err("ring buffer consume: %s", strerror(-n));
	/* the alerts of verdicts taken before it: their evidence has been read */
	sl_verdicts_flush(in->verdicts, before);
}

int sl_ingest_open(struct sl_kernel *k, struct sl_sessions *ss, struct sl_policy_store *ps,
		   struct sl_journal *j, struct sl_verdicts *vr, int epfd, uint64_t tag_events,
		   uint64_t tag_verdicts, struct sl_ingest **out)
{
	struct sl_ingest *in = calloc(1, sizeof(*in));
	struct epoll_event ev = {.events = EPOLLIN};

	if (!in)
		return -ENOMEM;
	in->kernel = k;
	in->sessions = ss;
	in->store = ps;
	in->journal = j;
	in->verdicts = vr;
	in->epfd = epfd;
	in->tag_events = tag_events;
	/* from here a failure leaves what was done for sl_ingest_close */
	*out = in;
	in->vrb = ring_buffer__new(sl_kernel_verdicts_fd(k), events_handle, in, NULL);
	if (!in->vrb)
		return sl_err_ret(-errno, "verdict ring buffer");
	in->rb = ring_buffer__new(sl_kernel_events_fd(k), events_handle, in, NULL);
	if (!in->rb)
		return sl_err_ret(-errno, "ring buffer");
	ev.data.u64 = tag_verdicts;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, ring_buffer__epoll_fd(in->vrb), &ev))
		return sl_err_ret(-errno, "epoll_ctl");
	ev.data.u64 = tag_events;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, ring_buffer__epoll_fd(in->rb), &ev))
		return sl_err_ret(-errno, "epoll_ctl");
	return 0;
}

void sl_ingest_set_tls(struct sl_ingest *in, struct sl_tls *t)
{
	in->tls = t;
}

void sl_ingest_close(struct sl_ingest *in)
{
	if (!in)
		return;
	ring_buffer__free(in->rb);
	ring_buffer__free(in->vrb);
	free(in);
}

/* stop or restart reading the bulk ring (its epoll registration) */
void sl_ingest_pause(struct sl_ingest *in, bool pause)
{
	struct epoll_event ev = {.events = pause ? 0 : EPOLLIN, .data.u64 = in->tag_events};

	in->paused = pause;
	if (in->rb && epoll_ctl(in->epfd, EPOLL_CTL_MOD, ring_buffer__epoll_fd(in->rb), &ev))
		log_err("ring buffer: epoll_ctl: %s", strerror(errno));
}

bool sl_ingest_paused(const struct sl_ingest *in)
{
	return in && in->paused;
}

void sl_ingest_stopping(struct sl_ingest *in)
{
	if (in)
		in->stopping = true;
}

uint64_t sl_ingest_decode_errors(const struct sl_ingest *in)
{
	return in ? in->decode_errors : 0;
}
