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
#include <signal.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "clock.h"
#include "creds.h"
#include "ingest.h"
#include "ingest_decode.h"
#include "journal.h"
#include "jsonbytes.h"
#include "kernel.h"
#include "log.h"
#include "policy.h"
#include "policy_store.h"
#include "requests.h"
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
	struct sl_creds *creds;	      /* the files a session opens, scanned for credentials */
	struct sl_requests *requests; /* decoders of session connections, held writes */
	struct ring_buffer *rb;	      /* sl_events: bulk telemetry */
	struct ring_buffer *vrb;      /* sl_verdicts: drained first */
	unsigned int since_vrb;	      /* records of rb since vrb was last drained */
	bool in_vrb;		      /* draining vrb (its callback is the same) */
	bool paused;		      /* rb is not read: sessions are frozen for the audit log */
	bool stopping;		      /* the daemon is stopping: rb is read even when paused */
	int epfd;
	uint64_t tag_events;
	/* loss accounting: last totals written to the audit log */
	uint64_t loss_reported[SL_LOSS_MAX][SL_OP_MAX];
	uint64_t decode_errors;
	uint64_t drain_ns; /* thread CPU spent in sl_ingest_drain (the journal's share included) */
};

static const sl_decode_fn decoders[SL_OP_MAX] = {
    [SL_OP_EXEC] = sl_decode_exec,	    [SL_OP_EXEC_FAILED] = sl_decode_exec_failed,
    [SL_OP_OPEN] = sl_decode_open,	    [SL_OP_CONNECT] = sl_decode_net,
    [SL_OP_CONNECT_RESULT] = sl_decode_net, [SL_OP_UDP_SEND] = sl_decode_net,
    [SL_OP_TLS_WRITE] = sl_decode_tls,	    [SL_OP_TLS_READ] = sl_decode_tls,
    [SL_OP_EXIT] = sl_decode_exit,	    [SL_OP_PLAIN_WRITE] = sl_decode_tls,
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
 * The environments of an open: the kernel's, every label (exact paths,
 * directories, wildcard globs, identities) decided at the open itself.
 */
static uint64_t label_open(const struct sl_open_event *e)
{
	return e->ret < 0 ? 0 : e->env;
}

/* a record's members' text as a tree */
static json_t *members_parse(const char *text, size_t len)
{
	char *buf = malloc(len + 2);
	json_t *rec;

	if (!buf)
		return NULL;
	buf[0] = '{';
	memcpy(buf + 1, text, len);
	buf[len + 1] = '}';
	rec = json_loadb(buf, len + 2, JSON_ALLOW_NUL, NULL);
	free(buf);
	return rec;
}

/* what a later verdict or alert needs: capture records, labelled opens */
static void keep_evidence(struct sl_ingest *in, const struct sl_event_hdr *h, const void *data,
			  const char *text, size_t len, struct sl_session *s, uint64_t env)
{
	json_t *rec;

	switch (h->op) {
	case SL_OP_TLS_WRITE:
	case SL_OP_PLAIN_WRITE:
		sl_verdicts_evidence_keep_text(
		    in->verdicts, h, ((const struct sl_tls_event *)data)->conn, text, len);
		break;
	case SL_OP_EXEC:
	case SL_OP_CONNECT:
	case SL_OP_UDP_SEND:
		sl_verdicts_evidence_keep_text(in->verdicts, h, 0, text, len);
		break;
	case SL_OP_OPEN:
		sl_verdicts_evidence_keep_text(in->verdicts, h, 0, text, len);
		if (!env || !s)
			break;
		/* rare (a labelled file): the record as a tree for the session */
		rec = members_parse(text, len);
		if (rec)
			sl_session_note_taint_file(s, rec);
		json_decref(rec);
		break;
	}
}

static void drain_verdicts(struct sl_ingest *in);

static int handle_record(struct sl_ingest *in, void *data, size_t len)
{
	const struct sl_event_hdr *h = data;
	char tbuf[SL_CLOCK_STR_SIZE];
	const char *type, *sid = NULL, *text;
	struct sl_session *s;
	struct sl_jw *w;
	json_t *extra = NULL;
	uint64_t env = 0;
	size_t tlen;
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
		/* a write held for decoding: the requests room decides it */
		if (len >= sizeof(struct sl_verdict_event) &&
		    (((const struct sl_verdict_event *)data)->flags & SL_VERDICT_DECODE)) {
			sl_requests_hold_verdict(in->requests, data);
			return 0;
		}
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
	/* the fast path: the record's text straight into the journal (no tree) */
	s = sl_session_by_cgroup(in->sessions, h->cgroup_id);
	/*
	 * The requests this write completes, members of its record: decoded
	 * before the record is begun, since deciding them may write records of
	 * their own (credential_exposure) through the journal's one writer.
	 */
	if (SL_OP_STREAM_WRITE(h->op)) {
		extra = json_object();
		if (extra)
			sl_requests_tls_write(in->requests, s, data, len, extra);
	}
	sl_clock_str(h->ktime_ns, tbuf);
	w = sl_journal_rec_begin(in->journal);
	sl_jw_str(w, "type", type);
	sl_jw_str(w, "time", tbuf);
	if (s) {
		sid = sl_session_id(s);
		sl_jw_str(w, "session", sid);
		sl_session_count_event(s);
	} else {
		sl_jw_null(w, "session");
		sl_jw_uint(w, "cgroup_id", h->cgroup_id);
	}
	sl_jw_int(w, "pid", h->pid);
	sl_jw_int(w, "tid", h->tid);
	sl_jw_int(w, "uid", h->uid);
	sl_jw_bytes(w, "comm", h->comm, strnlen(h->comm, sizeof(h->comm)));
	sl_jw_uint(w, "exec_id", h->exec_id);
	if (h->flags & SL_EVF_READ_FAULT)
		sl_jw_bool(w, "read_fault", true);

	err = decoders[h->op](data, len, w);
	if (err) {
		json_decref(extra);
		write_decode_error(in, data, len,
				   err == -EBADMSG ? "inconsistent lengths" : "decoder failed");
		if (SL_OP_STREAM_WRITE(h->op))
			sl_requests_act(in->requests);
		return 0;
	}
	if (h->op == SL_OP_OPEN)
		env = label_open(data);
	if (env) {
		json_t *names = sl_env_names_json(sl_policy_store_current(in->store), env);

		sl_jw_json(w, "env", names);
		json_decref(names);
	}
	if (extra) {
		const char *k;
		json_t *v;

		json_object_foreach (extra, k, v)
			sl_jw_json(w, k, v);
		json_decref(extra);
	}
	err = sl_journal_rec_end(in->journal, type, sid, tbuf, &text, &tlen);
	if (!err)
		keep_evidence(in, h, data, text, tlen, s, env);
	/* after the write's record: an alert finds it as evidence */
	if (SL_OP_STREAM_WRITE(h->op))
		sl_requests_act(in->requests);
	/* the probes attached for the process go (whether its record was written or not) */
	if (h->op == SL_OP_EXIT && in->tls)
		sl_tls_on_exit(in->tls, (pid_t)h->pid);
	if (err)
		return 0; /* counted by the journal */
	if (h->op == SL_OP_EXEC)
		after_exec(in, data, len, s);
	/* after its record: the file's credentials are found (and recorded) after the open */
	if (h->op == SL_OP_OPEN && s)
		sl_creds_on_open(in->creds, s, data, env);
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

void sl_ingest_loss_baseline(struct sl_ingest *in)
{
	uint64_t emitted[SL_OP_MAX], loss[SL_LOSS_MAX][SL_OP_MAX];

	if (in && in->kernel && !sl_kernel_stats_read(in->kernel, emitted, loss))
		memcpy(in->loss_reported, loss, sizeof(loss));
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
static uint64_t thread_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void drain(struct sl_ingest *in);

void sl_ingest_drain(struct sl_ingest *in)
{
	uint64_t t0;

	if (!in)
		return;
	t0 = thread_ns();
	drain(in);
	in->drain_ns += thread_ns() - t0;
}

uint64_t sl_ingest_cpu_ns(const struct sl_ingest *in)
{
	return in ? in->drain_ns : 0;
}

/* processes let go per call: the rest on the next drain */
#define SL_RESUME_BATCH 256
/* at close: rounds of SL_RESUME_BATCH (the kernel map holds at most 65536) */
#define SL_MAX_SESSION_PROCS_RESUME 256

/*
 * loss: throttle. The kernel stopped these session processes (SIGSTOP) when
 * their records left more than half of the ring waiting, or while no daemon
 * beat (daemon_absent: freeze); it is drained now: let them go. pidfd first, then the entry is read
 * again: the kernel removes it when the process exits, so a pid reused meanwhile is never
 * signalled. A process stopped after the drain began (before: CLOCK_BOOTTIME) waits for the next
 * drain: its record may still be in the ring.
 */
static void resume_throttled(struct sl_ingest *in, uint64_t before)
{
	uint32_t keys[SL_RESUME_BATCH], prev = 0;
	size_t n = 0;

	while (n < SL_RESUME_BATCH &&
	       !sl_kernel_throttled_next(in->kernel, n ? &prev : NULL, &keys[n])) {
		prev = keys[n];
		n++;
	}
	for (size_t i = 0; i < n; i++) {
		pid_t pid = (pid_t)keys[i];
		int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		struct sl_session *s;
		struct sl_throttle t;
		struct timespec now;

		if (pidfd < 0) {
			sl_kernel_throttled_del(in->kernel, keys[i]);
			continue;
		}
		if (sl_kernel_throttled_get(in->kernel, keys[i], &t)) {
			close(pidfd); /* it exited: the pidfd may be another process's */
			continue;
		}
		/* stopped for a record this drain may not have read: the next one */
		if (t.since_ns > before) {
			close(pidfd);
			continue;
		}
		sl_kernel_throttled_del(in->kernel, keys[i]);
		/* a process of a session this daemon created (sl_sessions) */
		if (syscall(SYS_pidfd_send_signal, pidfd, SIGCONT, NULL, 0) && errno != ESRCH)
			log_warn("throttle: let pid %d go: %s", (int)pid, strerror(errno));
		close(pidfd);
		s = sl_session_by_cgroup(in->sessions, t.cgroup_id);
		clock_gettime(CLOCK_BOOTTIME, &now);
		/* stopped for the daemon's absence: counted in unclean_shutdown */
		if (s && t.reason == SL_STOP_THROTTLE)
			sl_session_note_throttle(s, (uint64_t)now.tv_sec * 1000000000ULL +
							(uint64_t)now.tv_nsec - t.since_ns);
	}
}

static void drain(struct sl_ingest *in)
{
	struct timespec ts;
	uint64_t before;
	int n;

	drain_verdicts(in);
	/* sessions frozen for the audit log: their records wait in the kernel ring */
	if (!in->rb || (in->paused && !in->stopping)) {
		sl_journal_flush(in->journal);
		return;
	}
	/* what the kernel wrote before this moment is read by the consume */
	clock_gettime(CLOCK_BOOTTIME, &ts);
	before = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	n = ring_buffer__consume(in->rb);
	if (n < 0 && n != -EAGAIN)
		log_err("ring buffer consume: %s", strerror(-n));
	/* the alerts of verdicts taken before it: their evidence has been read */
	sl_verdicts_flush(in->verdicts, before);
	/* held writes whose capture never came: their records go in this batch */
	sl_requests_tick(in->requests);
	/* one write(2) for what this drain chained */
	sl_journal_flush(in->journal);
	resume_throttled(in, before);
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
	if (sl_requests_new(ss, k, ps, j, vr, &in->requests))
		return sl_err_ret(-ENOMEM, "request decoders");
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

void sl_ingest_set_creds(struct sl_ingest *in, struct sl_creds *c)
{
	in->creds = c;
}

void sl_ingest_close(struct sl_ingest *in)
{
	if (!in)
		return;
	/* nobody drains any more: nothing stays stopped for it */
	for (int i = 0; i < SL_MAX_SESSION_PROCS_RESUME; i++)
		resume_throttled(in, UINT64_MAX);
	ring_buffer__free(in->rb);
	ring_buffer__free(in->vrb);
	sl_requests_free(in->requests);
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
