// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The verdicts room (verdicts.h). After the kernel decided: alerts with
 * evidence, whole-session kill or freeze, and holds that a person approves
 * or denies.
 *
 * The kernel has already acted when a verdict record arrives (SIGKILL before
 * the action, SIGSTOP and the session's egress dropped for a hold, EPERM for
 * a connect). The daemon widens that to the session (cgroup.kill /
 * cgroup.freeze), writes the alert everywhere it must go, and keeps holds.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "daemon.h"
#include "journal.h"
#include "jsonbytes.h"
#include "kernel.h"
#include "log.h"
#include "policy.h"
#include "policy_compile.h"
#include "policy_store.h"
#include "programs.h"
#include "sessions.h"
#include "util.h"
#include "verdicts.h"
#include "scopelock_policy.h"

#define EVIDENCE_TEXT_MAX 512

/* an action held for a person (freeze verdict) */
struct sl_hold {
	struct sl_hold *next;
	char id[24];
	char session[SL_SESSION_ID_LEN + 1];
	pid_t pid; /* the held process */
	uint64_t cgroup_id;
	int64_t deadline_ms; /* CLOCK_MONOTONIC */
	json_t *alert;	     /* the alert record (without seq/hash) */
};

/* a verdict acted on, its alert written when its evidence has been read */
#define SL_PENDING_VERDICTS 256
struct sl_pending_verdict {
	struct sl_verdict_event v;
	char hold_id[24]; /* the hold made for it, "" if none */
	int freeze_err;
	bool killed; /* the session was killed for it */
	/* evidence kept when it was acted on (references) */
	json_t *cap;   /* the capture record of the action */
	json_t *whole; /* TLS: the connection's plaintext so far */
	json_t *found; /* TLS: credentials seen on the connection so far */
	/* SL_VERDICT_IDENTIFY: 1 the file is a copy of a program (acted on),
	 * 2 it is not (let go), 3 it could not be compared (held for a person) */
	int identify;
	char identity_program[64];
	char identity_path[256];
	char identity_sha256[65];
	char identity_error[160];
	/* SL_VERDICT_DECODE: decided by the daemon on the decoded request */
	json_t *request;
	char undecidable[256];
	int64_t hold_us;
};

/* recent capture records, for the evidence of a verdict that follows */
#define SL_EVIDENCE_RING 256
struct sl_evidence {
	uint32_t pid;
	uint32_t tid;
	uint32_t op;
	uint64_t conn;
	json_t *rec;
	char *text; /* the record's members as written (parsed into rec when needed) */
	size_t text_len, text_cap;
};

struct sl_verdicts {
	struct sl_sessions *sessions;
	struct sl_kernel *kernel;
	struct sl_policy_store *store;
	struct sl_programs *programs;
	struct sl_journal *journal;
	struct sl_hold *holds;
	bool holds_changed;	    /* since sl_holds_take_changed: the state file is behind */
	void (*on_hold)(void *ctx); /* sl_verdicts_set_hold_hook */
	void *on_hold_ctx;
	uint64_t hold_seq, alert_seq;
	struct sl_evidence evidence[SL_EVIDENCE_RING];
	size_t evidence_next;
	struct sl_pending_verdict pending[SL_PENDING_VERDICTS];
	size_t npending;
	json_t *counts; /* {"killed": 3, ...}: verdicts written, by verdict (status, metrics) */
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sl_verdicts_evidence_keep(struct sl_verdicts *vr, const struct sl_event_hdr *h, uint64_t conn,
			       json_t *rec)
{
	struct sl_evidence *e = &vr->evidence[vr->evidence_next];

	json_decref(e->rec);
	e->text_len = 0;
	e->pid = h->pid;
	e->tid = h->tid;
	e->op = h->op;
	e->conn = conn;
	e->rec = json_incref(rec);
	vr->evidence_next = (vr->evidence_next + 1) % SL_EVIDENCE_RING;
}

void sl_verdicts_evidence_keep_text(struct sl_verdicts *vr, const struct sl_event_hdr *h,
				    uint64_t conn, const char *text, size_t len)
{
	struct sl_evidence *e = &vr->evidence[vr->evidence_next];

	json_decref(e->rec);
	e->rec = NULL;
	e->text_len = 0;
	if (len + 2 > e->text_cap) {
		char *p = realloc(e->text, len + 2);

		if (!p)
			return; /* the slot stays empty */
		e->text = p;
		e->text_cap = len + 2;
	}
	e->text[0] = '{';
	memcpy(e->text + 1, text, len);
	e->text[len + 1] = '}';
	e->text_len = len + 2;
	e->pid = h->pid;
	e->tid = h->tid;
	e->op = h->op;
	e->conn = conn;
	vr->evidence_next = (vr->evidence_next + 1) % SL_EVIDENCE_RING;
}

/* the kept record, parsed from its text the first time it is needed */
static json_t *ev_rec(struct sl_evidence *e)
{
	if (!e->rec && e->text_len)
		e->rec = json_loadb(e->text, e->text_len, JSON_ALLOW_NUL, NULL);
	return e->rec;
}

/* the newest kept capture record of (tid, op[, conn]) */
static json_t *evidence_find(struct sl_verdicts *vr, uint32_t tid, uint32_t op, uint64_t conn)
{
	for (size_t n = 0; n < SL_EVIDENCE_RING; n++) {
		size_t i = (vr->evidence_next + SL_EVIDENCE_RING - 1 - n) % SL_EVIDENCE_RING;
		struct sl_evidence *e = &vr->evidence[i];

		if (e->tid == tid && e->op == op && (!conn || e->conn == conn) && ev_rec(e))
			return e->rec;
	}
	return NULL;
}

/* the secrets seen in every kept record of (pid, conn): a token sent in the
 * headers convicts the body written after it */
/* add the credentials of from to found, each once */
static void merge_credentials(json_t *found, json_t *from)
{
	json_t *c, *o;
	size_t j, k;

	json_array_foreach (from, j, c) {
		bool dup = false;

		json_array_foreach (found, k, o)
			dup = dup || json_equal(o, c);
		if (!dup)
			json_array_append(found, c);
	}
}

static void conn_credentials(struct sl_verdicts *vr, uint32_t pid, uint64_t conn, json_t *found)
{
	for (size_t i = 0; i < SL_EVIDENCE_RING; i++) {
		struct sl_evidence *e = &vr->evidence[i];

		if (e->pid != pid || e->conn != conn || !SL_OP_STREAM_WRITE(e->op) || !ev_rec(e))
			continue;
		merge_credentials(found, json_object_get(e->rec, "secrets"));
	}
}

#define CONN_TEXT_MAX (64 * 1024)

/*
 * The connection's plaintext as far as it was kept, oldest first: a request
 * whose headers and body (or a keyword) were split across writes is shown
 * whole. Returns a copy of the newest capture record with "data" replaced,
 * or NULL.
 */
static json_t *conn_capture(struct sl_verdicts *vr, uint32_t pid, uint64_t conn, json_t *newest)
{
	char *buf = NULL;
	size_t len = 0;
	json_t *out;

	for (size_t n = 0; n < SL_EVIDENCE_RING; n++) {
		struct sl_evidence *e = &vr->evidence[(vr->evidence_next + n) % SL_EVIDENCE_RING];
		char *raw = NULL, *nb;
		size_t rl;

		if (e->pid != pid || e->conn != conn || !SL_OP_STREAM_WRITE(e->op) || !ev_rec(e))
			continue;
		if (sl_json_bytes_decode(json_object_get(e->rec, "data"), &raw, &rl))
			continue;
		if (len + rl > CONN_TEXT_MAX) {
			/* keep the newest bytes */
			free(buf);
			buf = NULL;
			len = 0;
			if (rl > CONN_TEXT_MAX)
				rl = CONN_TEXT_MAX;
		}
		nb = realloc(buf, len + rl + 1);
		if (!nb) {
			free(raw);
			break;
		}
		buf = nb;
		memcpy(buf + len, raw, rl);
		len += rl;
		free(raw);
	}
	if (!buf)
		return NULL;
	out = json_deep_copy(newest);
	if (out)
		sl_json_set_bytes(out, "data", buf, len);
	free(buf);
	return out;
}

/*
 * The request line and, for GraphQL, the mutation/query text. cap was
 * redacted when it was written (sl_journal_write): no secret is left in it.
 */
static void tls_evidence(json_t *cap, json_t *ev)
{
	char *red = NULL, *q;
	size_t rlen;

	json_object_set(ev, "sni", json_object_get(cap, "sni") ?: json_null());
	json_object_set(ev, "peer", json_object_get(cap, "peer") ?: json_null());
	json_object_set(ev, "function", json_object_get(cap, "function") ?: json_null());
	json_object_set(ev, "conn", json_object_get(cap, "conn") ?: json_null());
	if (sl_json_bytes_decode(json_object_get(cap, "data"), &red, &rlen))
		return;
	/* first line: "POST /graphql HTTP/1.1" */
	q = memchr(red, '\n', rlen);
	if (q && (size_t)(q - red) < 300 && memmem(red, (size_t)(q - red), "HTTP/", 5)) {
		size_t l = (size_t)(q - red);

		if (l && red[l - 1] == '\r')
			l--;
		sl_json_set_bytes(ev, "request_line", red, l);
	}
	q = memmem(red, rlen, "mutation", 8);
	if (!q)
		q = memmem(red, rlen, "query", 5);
	if (q) {
		size_t l = rlen - (size_t)(q - red);

		sl_json_set_bytes(ev, "graphql", q, l > 300 ? 300 : l);
	}
	sl_json_set_bytes(ev, "data", red, rlen > EVIDENCE_TEXT_MAX ? EVIDENCE_TEXT_MAX : rlen);
	free(red);
}

static json_t *names_of_bits(const uint64_t *bits, unsigned int nbits,
			     const char *(*name)(const struct sl_policy *, unsigned int),
			     const struct sl_policy *p)
{
	json_t *arr = json_array();

	for (unsigned int i = 0; arr && i < nbits; i++) {
		if (bits[i / 64] & (1ULL << (i % 64))) {
			const char *n = p ? name(p, i) : NULL;

			json_array_append_new(arr, n ? json_string(n) : json_sprintf("#%u", i));
		}
	}
	return arr;
}

static const char *pattern_name(const struct sl_policy *p, unsigned int i)
{
	return i < p->n_patterns ? p->patterns[i].name : NULL;
}

static const char *keyword_name(const struct sl_policy *p, unsigned int i)
{
	/* keywords are policy text, not secrets */
	return i < p->n_keywords ? (const char *)p->keywords[i].bytes : NULL;
}

bool sl_verdicts_session_held(const struct sl_verdicts *vr, const char *session_id)
{
	for (const struct sl_hold *h = vr->holds; h; h = h->next)
		if (!strcmp(h->session, session_id))
			return true;
	return false;
}

/* who/requester: the control client that asked (`end`, `deny`), else NULL */
static int session_kill(struct sl_verdicts *vr, struct sl_session *s, const char *why,
			const char *who, const json_t *requester)
{
	json_t *rec;
	int err;

	if (!sl_session_active(s))
		return -ESRCH;
	err = sl_session_kill_cgroup(s);
	rec = json_pack("{s:s, s:s, s:s, s:b}", "type", "session_killed", "session",
			sl_session_id(s), "reason", why, "ok", err == 0);
	if (rec) {
		if (who)
			json_object_set_new(rec, "by", json_string(who));
		if (requester)
			json_object_set_new(rec, "requester", json_deep_copy(requester));
		sl_journal_write(vr->journal, rec);
		json_decref(rec);
	}
	log_warn("session %s killed: %s", sl_session_id(s), why);
	return err;
}

static int session_kill_why(struct sl_verdicts *vr, struct sl_session *s, const char *why)
{
	return session_kill(vr, s, why, NULL, NULL);
}

static struct sl_hold **hold_find(struct sl_verdicts *vr, const char *id)
{
	for (struct sl_hold **pp = &vr->holds; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->id, id))
			return pp;
	return NULL;
}

/*
 * The alert (or verdict record) of a verdict that was acted on (act_now):
 * written once the capture records that came before it have been read, so
 * that its evidence (the request, the credentials of earlier writes on the
 * connection) is complete.
 */
static void verdict_write(struct sl_verdicts *vr, const struct sl_pending_verdict *pv)
{
	const struct sl_verdict_event *v = &pv->v;
	const struct sl_policy *p;
	uint32_t generation;
	struct sl_session *s;
	json_t *rec, *ev, *cap, *found;
	const char *rule, *verdict;
	bool monitor, enforced;
	char summary[1024], id[48];
	struct sl_hold *h;

	p = sl_policy_store_for(vr->store, v->generation, &generation);
	s = sl_session_by_cgroup(vr->sessions, v->hdr.cgroup_id);
	if (v->rule == SL_RULE_UNREADABLE)
		rule = "unreadable-evidence"; /* settings.unreadable decided */
	else if (v->rule == SL_RULE_DOOMED)
		rule = "session-killed"; /* an action of a session with a kill verdict */
	else if (v->rule == SL_RULE_DECODE)
		rule = "undecidable-request"; /* decoded by the daemon: it could not decide */
	else if (v->rule == SL_RULE_UNREAD_TLS)
		rule = "unread-tls"; /* a TLS record no located seal saw */
	else
		rule = p && v->rule < p->n_rules ? p->rules[v->rule].name : "?";
	monitor = v->flags & SL_VERDICT_MONITOR;
	enforced = v->flags & SL_VERDICT_ENFORCED;

	if (monitor)
		verdict = "monitor";
	else if (pv->identify == 2)
		verdict = "released"; /* not the program its size suggested */
	else if (pv->identify == 3)
		verdict = "held";
	else if (v->action == SL_KACT_KILL)
		verdict = enforced ? "killed" : "kill_failed";
	else if (v->action == SL_KACT_FREEZE)
		verdict = enforced ? "held" : "hold_failed";
	else if (v->action == SL_KACT_DENY)
		verdict = "denied";
	else
		verdict = sl_policy_action_name(v->action);

	if (vr->counts) {
		json_t *n = json_object_get(vr->counts, verdict);

		json_object_set_new(vr->counts, verdict,
				    json_integer(1 + (n ? json_integer_value(n) : 0)));
	}
	snprintf(id, sizeof(id), "a%" PRIu64, ++vr->alert_seq);
	rec = json_object();
	ev = json_object();
	found = json_array();
	if (!rec || !ev || !found)
		goto out;
	/* the actions of a doomed session are a consequence, not news: verdicts;
	 * so is an exec let go after its file was compared */
	json_object_set_new(rec, "type",
			    json_string((v->action >= SL_KACT_ALERT || monitor) &&
						v->rule != SL_RULE_DOOMED && pv->identify != 2
					    ? "alert"
					    : "verdict"));
	if (pv->identify) {
		json_t *idn = json_object();

		json_object_set_new(idn, "same_contents", json_boolean(pv->identify == 1));
		if (pv->identity_program[0])
			json_object_set_new(idn, "program", json_string(pv->identity_program));
		if (pv->identity_path[0])
			sl_json_set_bytes(idn, "program_file", pv->identity_path,
					  strlen(pv->identity_path));
		if (pv->identity_sha256[0])
			json_object_set_new(idn, "sha256", json_string(pv->identity_sha256));
		if (pv->identity_error[0])
			json_object_set_new(idn, "error", json_string(pv->identity_error));
		json_object_set_new(idn, "file_inode", json_integer((json_int_t)v->file_ino));
		json_object_set_new(idn, "script_fd",
				    v->file_fd >= 0 ? json_integer(v->file_fd) : json_null());
		json_object_set_new(rec, "identity", idn);
	}
	json_object_set_new(rec, "time", sl_clock_json(v->hdr.ktime_ns));
	json_object_set_new(rec, "alert_id", json_string(id));
	json_object_set_new(rec, "session", s ? json_string(sl_session_id(s)) : json_null());
	json_object_set_new(rec, "scope", s ? json_string(sl_session_scope(s)) : json_null());
	json_object_set_new(rec, "rule", json_string(rule));
	json_object_set_new(rec, "action", json_string(sl_policy_action_name(v->action)));
	json_object_set_new(rec, "verdict", json_string(verdict));
	json_object_set_new(rec, "monitor", json_boolean(monitor));
	json_object_set_new(rec, "channel", json_string(sl_policy_channel_name(v->channel)));
	json_object_set_new(rec, "target",
			    json_string(sl_policy_target_class_name(v->target_class)));
	json_object_set_new(rec, "target_env", sl_env_names_json(p, v->target_env));
	json_object_set_new(rec, "taint", sl_env_names_json(p, v->taint));
	if (s && sl_session_taint_files(s) && json_array_size(sl_session_taint_files(s)))
		json_object_set(rec, "taint_files", sl_session_taint_files(s));
	json_object_set_new(rec, "pid", json_integer(v->hdr.pid));
	json_object_set_new(rec, "tid", json_integer(v->hdr.tid));
	sl_json_set_bytes(rec, "comm", v->hdr.comm, strnlen(v->hdr.comm, sizeof(v->hdr.comm)));
	json_object_set_new(
	    rec, "patterns",
	    names_of_bits((const uint64_t *)v->patterns, SL_PAT_MAX, pattern_name, p));
	json_object_set_new(rec, "keywords",
			    names_of_bits((const uint64_t *)v->kw, SL_KW_MAX, keyword_name, p));
	if (v->flags & SL_VERDICT_SIGNAL_FAILED)
		json_object_set_new(rec, "signal_failed", json_true());
	if (v->unread) {
		json_t *u = json_array();

		if (v->unread & SL_UNREAD_LIMIT)
			json_array_append_new(u, json_string("past_scan_limit"));
		if (v->unread & SL_UNREAD_FAULT)
			json_array_append_new(u, json_string("read_fault"));
		if (v->unread & SL_UNREAD_PATH)
			json_array_append_new(u, json_string("path_unresolved"));
		if (v->unread & SL_UNREAD_ENV)
			json_array_append_new(u, json_string("environment_past_scan_limit"));
		json_object_set_new(rec, "unreadable", u);
		json_object_set_new(rec, "suspicious",
				    json_boolean(v->flags & SL_VERDICT_SUSPICIOUS));
	}
	if (v->flags & SL_VERDICT_PARTIAL)
		json_object_set_new(rec, "partial_match", json_true());
	/* two-stage: held by the kernel, decoded and judged by the daemon */
	if (v->flags & SL_VERDICT_DECODE) {
		json_object_set_new(rec, "decoded", json_true());
		json_object_set_new(rec, "hold_us", json_integer(pv->hold_us));
		if (pv->request)
			json_object_set(rec, "request", pv->request);
		if (pv->undecidable[0])
			json_object_set_new(rec, "undecidable", json_string(pv->undecidable));
	}
	/* captured by a located function not yet confirmed: a kill is a hold */
	if (v->flags & SL_VERDICT_UNCONFIRMED) {
		json_object_set_new(rec, "location_unconfirmed", json_true());
		json_object_set_new(rec, "held_instead_of", json_string("kill"));
	}
	/* the buffer changed while the write was being sent: judged again */
	if (v->flags & SL_VERDICT_RECHECK)
		json_object_set_new(rec, "rechecked_during_write", json_true());
	if (p && generation != v->generation)
		json_object_set_new(rec, "policy_generation_mismatch", json_true());
	/* a write judged on a plaintext socket, not through a TLS library */
	if (v->trigger_op == SL_OP_PLAIN_WRITE)
		json_object_set_new(rec, "trigger", json_string("plain_write"));

	/* the evidence kept now, or what was kept when the verdict was acted on
	 * (a flood of records since may have pushed it out of the ring) */
	cap = evidence_find(vr, v->hdr.tid, v->trigger_op,
			    SL_OP_STREAM_WRITE(v->trigger_op) ? v->conn : 0);
	if (!cap)
		cap = pv->cap;
	switch (v->trigger_op) {
	case SL_OP_TLS_WRITE:
	case SL_OP_PLAIN_WRITE:
		if (cap) {
			json_t *whole = conn_capture(vr, v->hdr.pid, v->conn, cap);

			tls_evidence(whole ? whole : pv->whole ? pv->whole : cap, ev);
			json_decref(whole);
		}
		conn_credentials(vr, v->hdr.pid, v->conn, found);
		if (pv->found)
			merge_credentials(found, pv->found);
		break;
	case SL_OP_EXEC:
		if (cap) {
			json_t *a;
			size_t i;

			json_array_foreach (json_object_get(cap, "secrets"), i, a)
				json_array_append(found, a);
			json_object_set(ev, "argv", json_object_get(cap, "argv") ?: json_null());
			json_object_set(ev, "cwd", json_object_get(cap, "cwd") ?: json_null());
			json_object_set(ev, "filename",
					json_object_get(cap, "filename") ?: json_null());
		}
		break;
	case SL_OP_OPEN:
		if (cap)
			json_object_set(ev, "path", json_object_get(cap, "path") ?: json_null());
		break;
	case SL_OP_CONNECT:
	case SL_OP_UDP_SEND:
		if (cap) {
			json_object_set(ev, "addr", json_object_get(cap, "addr") ?: json_null());
			json_object_set(ev, "port", json_object_get(cap, "port") ?: json_null());
			json_object_set(ev, "protocol",
					json_object_get(cap, "protocol") ?: json_null());
		}
		break;
	}
	if (!cap)
		json_object_set_new(ev, "missing",
				    json_string("the capture record of the action "
						"was not seen (lost or not yet "
						"decoded)"));
	json_object_set_new(ev, "credentials", json_incref(found));
	json_object_set_new(rec, "evidence", json_incref(ev));

	{
		size_t off = (size_t)snprintf(summary, sizeof(summary),
					      "ALERT %s: rule %s, %s, session %s (scope %s), "
					      "target %s",
					      id, rule, verdict, s ? sl_session_id(s) : "?",
					      s ? sl_session_scope(s) : "?",
					      sl_policy_target_class_name(v->target_class));
		json_t *c;
		size_t i;

		if (v->unread && off < sizeof(summary))
			off += (size_t)snprintf(
			    summary + off, sizeof(summary) - off,
			    "; evidence not read whole (%s%s%s%s)%s",
			    v->unread & SL_UNREAD_LIMIT ? "past the scan limit " : "",
			    v->unread & SL_UNREAD_FAULT ? "read fault " : "",
			    v->unread & SL_UNREAD_PATH ? "path unresolved " : "",
			    v->unread & SL_UNREAD_ENV ? "environment too long " : "",
			    v->flags & SL_VERDICT_SUSPICIOUS ? ", suspicious" : "");
		json_array_foreach (found, i, c) {
			const char *src = json_string_value(json_object_get(c, "source_file"));

			if (off < sizeof(summary))
				off += (size_t)snprintf(
				    summary + off, sizeof(summary) - off, "; %s credential %s%s%s",
				    json_string_value(json_object_get(c, "env")),
				    json_string_value(json_object_get(c, "fingerprint")),
				    src ? " from " : "", src ? src : "");
		}
	}

	if (pv->killed)
		json_object_set_new(rec, "session_killed", json_true());
	if (v->rule == SL_RULE_DOOMED || pv->identify == 2) {
		/* a consequence of a kill, or an exec let go: a verdict record */
		sl_journal_write(vr->journal, rec);
	} else if (pv->hold_id[0]) {
		uint32_t timeout = p ? p->settings.hold_timeout_s : SL_POLICY_HOLD_TIMEOUT_DEFAULT;

		json_object_set_new(rec, "hold_id", json_string(pv->hold_id));
		json_object_set_new(rec, "hold_timeout_s", json_integer(timeout));
		json_object_set_new(rec, "frozen", json_boolean(pv->freeze_err == 0));
		h = hold_find(vr, pv->hold_id) ? *hold_find(vr, pv->hold_id) : NULL;
		if (h && !h->alert)
			h->alert = json_deep_copy(rec);
		/* in the state file before its alert is written */
		if (vr->on_hold)
			vr->on_hold(vr->on_hold_ctx);
		snprintf(summary + strlen(summary), sizeof(summary) - strlen(summary),
			 "; held as %s: scopelock approve %s | scopelock deny %s", pv->hold_id,
			 pv->hold_id, pv->hold_id);
		sl_journal_alert(vr->journal, rec, summary);
	} else if (v->action >= SL_KACT_ALERT || monitor) {
		sl_journal_alert(vr->journal, rec, summary);
	} else {
		sl_journal_write(vr->journal, rec); /* log: a verdict record, no alert */
	}
out:
	json_decref(rec);
	json_decref(ev);
	json_decref(found);
}

/* freeze the session and open a hold for the action of v (a person decides) */
static void hold_make(struct sl_verdicts *vr, struct sl_session *s, struct sl_pending_verdict *pv,
		      const struct sl_verdict_event *v, uint32_t timeout)
{
	struct sl_hold *h;

	pv->freeze_err = sl_session_freeze(s, true);
	if (pv->freeze_err)
		log_err("session %s: cgroup.freeze: %s", sl_session_id(s),
			strerror(-pv->freeze_err));
	h = calloc(1, sizeof(*h));
	if (!h) {
		session_kill_why(vr, s, "hold could not be recorded (out of memory)");
		pv->killed = true;
		return;
	}
	snprintf(h->id, sizeof(h->id), "h%" PRIu64, ++vr->hold_seq);
	snprintf(h->session, sizeof(h->session), "%s", sl_session_id(s));
	h->pid = (pid_t)v->hdr.pid;
	h->cgroup_id = sl_session_cgroup_id(s);
	h->deadline_ms = mono_ms() + (int64_t)timeout * 1000;
	h->next = vr->holds;
	vr->holds = h;
	vr->holds_changed = true;
	snprintf(pv->hold_id, sizeof(pv->hold_id), "%s", h->id);
}

/*
 * Carry out what the kernel's verdict means for the whole session, now (the
 * alert follows when its evidence has been read): a kill verdict kills the
 * session's cgroup, a hold freezes it and records the hold, an action of a
 * session already doomed kills it if that was not done yet (its record
 * lost). Fills the pending entry.
 */
static void verdict_act(struct sl_verdicts *vr, struct sl_pending_verdict *pv)
{
	const struct sl_verdict_event *v = &pv->v;
	uint32_t generation;
	const struct sl_policy *p = sl_policy_store_for(vr->store, v->generation, &generation);
	struct sl_session *s = sl_session_by_cgroup(vr->sessions, v->hdr.cgroup_id);
	bool monitor = v->flags & SL_VERDICT_MONITOR, enforced = v->flags & SL_VERDICT_ENFORCED;
	uint32_t timeout = p ? p->settings.hold_timeout_s : SL_POLICY_HOLD_TIMEOUT_DEFAULT;

	if (!s || !sl_session_active(s) || monitor)
		return;
	if (v->flags & SL_VERDICT_IDENTIFY) {
		/* the kernel stopped the exec: is the file that runs the program? */
		struct sl_identity id;
		int r = sl_programs_identify(vr->programs, v, &id);

		snprintf(pv->identity_program, sizeof(pv->identity_program), "%s", id.program);
		snprintf(pv->identity_path, sizeof(pv->identity_path), "%s", id.path);
		snprintf(pv->identity_sha256, sizeof(pv->identity_sha256), "%s", id.sha256);
		snprintf(pv->identity_error, sizeof(pv->identity_error), "%s", id.error);
		if (r == 0) {
			pv->identify = 2;
			/* the held process is inside a session cgroup this daemon created */
			if (kill((pid_t)v->hdr.pid, SIGCONT) && errno != ESRCH)
				log_warn("session %s: let pid %u go: %s", sl_session_id(s),
					 v->hdr.pid, strerror(errno));
			return;
		}
		pv->identify = r > 0 ? 1 : 3;
		/* could not compare: fail closed, a person decides */
		if (r < 0 || v->action == SL_KACT_FREEZE) {
			sl_session_kernel_update(vr->sessions, s, SL_SESSION_HELD, 0, 0);
			sl_kernel_held_set(vr->kernel, sl_session_cgroup_id(s), true);
			hold_make(vr, s, pv, v, timeout);
			return;
		}
		/* a copy of the program: the verdict it would have had (kill) */
		session_kill_why(vr, s, "kill verdict (the file that runs is a copy of a program)");
		pv->killed = true;
		return;
	}
	if (v->rule == SL_RULE_DOOMED) {
		if (!sl_session_killed(s))
			session_kill_why(vr, s, "an action after a kill verdict in the kernel");
		return;
	}
	if (v->action == SL_KACT_KILL) {
		session_kill_why(vr, s, "kill verdict");
		pv->killed = true;
		return;
	}
	if (v->action != SL_KACT_FREEZE || !enforced)
		return;
	hold_make(vr, s, pv, v, timeout);
}

static void pending_release(struct sl_pending_verdict *pv)
{
	json_decref(pv->request);
	pv->request = NULL;
	json_decref(pv->cap);
	json_decref(pv->whole);
	json_decref(pv->found);
	pv->cap = pv->whole = pv->found = NULL;
}

void sl_verdicts_flush(struct sl_verdicts *vr, uint64_t before_ns)
{
	size_t n = 0;

	while (n < vr->npending && vr->pending[n].v.hdr.ktime_ns < before_ns) {
		verdict_write(vr, &vr->pending[n]);
		pending_release(&vr->pending[n++]);
	}
	memmove(vr->pending, vr->pending + n, (vr->npending - n) * sizeof(vr->pending[0]));
	vr->npending -= n;
}

/* a free pending entry (the oldest written out when full), zeroed */
static struct sl_pending_verdict *pending_add(struct sl_verdicts *vr)
{
	struct sl_pending_verdict *pv;

	if (vr->npending == SL_PENDING_VERDICTS) {
		/* full: the oldest is written with the evidence there is */
		verdict_write(vr, &vr->pending[0]);
		pending_release(&vr->pending[0]);
		memmove(vr->pending, vr->pending + 1, (vr->npending - 1) * sizeof(vr->pending[0]));
		vr->npending--;
	}
	pv = &vr->pending[vr->npending++];
	memset(pv, 0, sizeof(*pv));
	return pv;
}

static void pending_evidence(struct sl_verdicts *vr, struct sl_pending_verdict *pv)
{
	/* what is known of the action now: its capture record came just before
	 * (on the verdict ring), earlier writes of its connection may follow */
	pv->cap = evidence_find(vr, pv->v.hdr.tid, pv->v.trigger_op,
				SL_OP_STREAM_WRITE(pv->v.trigger_op) ? pv->v.conn : 0);
	json_incref(pv->cap);
	if (pv->cap && SL_OP_STREAM_WRITE(pv->v.trigger_op)) {
		pv->whole = conn_capture(vr, pv->v.hdr.pid, pv->v.conn, pv->cap);
		pv->found = json_array();
		if (pv->found)
			conn_credentials(vr, pv->v.hdr.pid, pv->v.conn, pv->found);
	}
}

int sl_verdicts_decoded(struct sl_verdicts *vr, const struct sl_verdict_event *v, json_t *request,
			const char *undecidable, int64_t hold_us)
{
	struct sl_pending_verdict *pv;

	if (!(v->flags & SL_VERDICT_DECODE))
		return -EBADMSG;
	pv = pending_add(vr);
	pv->v = *v;
	pv->request = json_incref(request);
	pv->hold_us = hold_us;
	if (undecidable)
		snprintf(pv->undecidable, sizeof(pv->undecidable), "%s", undecidable);
	verdict_act(vr, pv);
	pending_evidence(vr, pv);
	return 0;
}

int sl_verdicts_handle(struct sl_verdicts *vr, const void *data, size_t len)
{
	struct sl_pending_verdict *pv;

	if (len < sizeof(struct sl_verdict_event))
		return -EBADMSG;
	pv = pending_add(vr);
	memcpy(&pv->v, data, sizeof(pv->v));
	verdict_act(vr, pv);
	pending_evidence(vr, pv);
	return 0;
}

/* the decision's record (alert channels too), then the hold is gone */
static void hold_finish(struct sl_verdicts *vr, struct sl_hold *h, bool approve, const char *who,
			const json_t *requester, const char *reason)
{
	vr->holds_changed = true;
	json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "type",
				approve ? "hold_approved" : "hold_denied", "hold_id", h->id,
				"session", h->session, "by", who, "reason", reason, "pid", h->pid);

	if (rec) {
		json_object_set(rec, "alert_id", json_object_get(h->alert, "alert_id"));
		json_object_set(rec, "rule", json_object_get(h->alert, "rule"));
		if (requester)
			json_object_set_new(rec, "requester", json_deep_copy(requester));
		sl_journal_alert(vr->journal, rec, approve ? "hold approved" : "hold denied");
		json_decref(rec);
	}
	log_warn("hold %s (session %s) %s by %s: %s", h->id, h->session,
		 approve ? "APPROVED" : "DENIED", who, reason);
	json_decref(h->alert);
	free(h);
}

int sl_hold_decide(struct sl_verdicts *vr, const char *id, bool approve, const char *who,
		   const json_t *requester, const char *reason, char *err, size_t errlen)
{
	struct sl_hold **pp = hold_find(vr, id), *h;
	struct sl_session *s;
	int ret = 0;

	if (!pp) {
		snprintf(err, errlen, "no pending hold '%s' (see 'scopelock status')", id);
		return -ENOENT;
	}
	h = *pp;
	*pp = h->next;
	s = sl_session_by_id(vr->sessions, h->session);
	if (!s || !sl_session_active(s)) {
		snprintf(err, errlen, "session %s of hold %s has ended", h->session, id);
		ret = -ESRCH;
	} else if (approve) {
		/* egress first, then thaw, then let the held call continue */
		sl_session_kernel_update(vr->sessions, s, 0, SL_SESSION_HELD, 0);
		ret = sl_kernel_held_set(vr->kernel, sl_session_cgroup_id(s), false);
		if (ret && ret != -ENOENT)
			log_err("hold %s: release egress of session %s: %s", id, sl_session_id(s),
				strerror(-ret));
		ret = 0;
		/* frozen for the audit log as well: thawed when the log is written */
		if (sl_session_audit_frozen(s))
			log_warn("hold %s approved: session %s stays frozen until the audit log "
				 "can be written",
				 id, sl_session_id(s));
		else
			ret = sl_session_freeze(s, false);
		if (ret)
			snprintf(err, errlen, "thaw session %s: %s", sl_session_id(s),
				 strerror(-ret));
		/* the held process is inside a session cgroup this daemon created */
		if (kill(h->pid, SIGCONT) && errno != ESRCH)
			log_warn("hold %s: SIGCONT to pid %d: %s", id, h->pid, strerror(errno));
	} else {
		ret = session_kill(vr, s, reason, requester ? who : NULL, requester);
		if (ret)
			snprintf(err, errlen, "kill session %s: %s", sl_session_id(s),
				 strerror(-ret));
	}
	hold_finish(vr, h, approve, who, requester, reason);
	return ret;
}

static int hold_resolve(struct sl_verdicts *vr, const char *id, bool approve, const char *who,
			const char *reason, char *err, size_t errlen)
{
	return sl_hold_decide(vr, id, approve, who, NULL, reason, err, errlen);
}

int sl_verdicts_end_session(struct sl_verdicts *vr, struct sl_session *s, const char *who,
			    const json_t *requester, const char *reason, char *err, size_t errlen)
{
	int ret = session_kill(vr, s, reason, who, requester);

	if (ret)
		snprintf(err, errlen, "kill session %s: %s", sl_session_id(s), strerror(-ret));
	/* its pending holds are decided by the same person: denied */
	for (struct sl_hold **pp = &vr->holds; *pp;) {
		struct sl_hold *h = *pp;

		if (strcmp(h->session, sl_session_id(s))) {
			pp = &h->next;
			continue;
		}
		*pp = h->next;
		hold_finish(vr, h, false, who, requester, reason);
	}
	return ret;
}

void sl_holds_tick(struct sl_verdicts *vr)
{
	int64_t now = mono_ms();
	char err[256];

	for (struct sl_hold *h = vr->holds, *next; h; h = next) {
		next = h->next;
		if (h->deadline_ms <= now)
			hold_resolve(vr, h->id, false, "scopelockd", "timeout: nobody approved",
				     err, sizeof(err));
	}
}

json_t *sl_holds_json(struct sl_verdicts *vr)
{
	json_t *arr = json_array();
	int64_t now = mono_ms();

	for (struct sl_hold *h = vr->holds; arr && h; h = h->next) {
		json_t *o = json_deep_copy(h->alert);

		if (!o)
			continue;
		json_object_set_new(o, "expires_in_s", json_integer((h->deadline_ms - now) / 1000));
		json_array_append_new(arr, o);
	}
	return arr;
}

int sl_verdicts_new(struct sl_sessions *ss, struct sl_kernel *k, struct sl_policy_store *ps,
		    struct sl_programs *pr, struct sl_journal *j, struct sl_verdicts **out)
{
	struct sl_verdicts *vr = calloc(1, sizeof(*vr));

	if (!vr)
		return -ENOMEM;
	vr->sessions = ss;
	vr->kernel = k;
	vr->store = ps;
	vr->programs = pr;
	vr->journal = j;
	vr->counts = json_object();
	if (!vr->counts) {
		free(vr);
		return -ENOMEM;
	}
	*out = vr;
	return 0;
}

json_t *sl_verdicts_counts_json(const struct sl_verdicts *vr)
{
	return json_deep_copy(vr->counts);
}

size_t sl_verdicts_pending(const struct sl_verdicts *vr)
{
	return vr->npending;
}

void sl_verdicts_set_hold_hook(struct sl_verdicts *vr, void (*fn)(void *ctx), void *ctx)
{
	vr->on_hold = fn;
	vr->on_hold_ctx = ctx;
}

bool sl_holds_take_changed(struct sl_verdicts *vr)
{
	bool c = vr && vr->holds_changed;

	if (vr)
		vr->holds_changed = false;
	return c;
}

json_t *sl_holds_state(const struct sl_verdicts *vr)
{
	json_t *arr = json_array();
	int64_t now = mono_ms();

	for (struct sl_hold *h = vr->holds; arr && h; h = h->next)
		json_array_append_new(arr,
				      json_pack("{s:s, s:s, s:i, s:I, s:I, s:O}", "hold_id", h->id,
						"session", h->session, "pid", (int)h->pid,
						"cgroup_id", (json_int_t)h->cgroup_id,
						"expires_in_ms", (json_int_t)(h->deadline_ms - now),
						"alert", h->alert ? h->alert : json_null()));
	return arr;
}

int sl_holds_adopt(struct sl_verdicts *vr, const json_t *state)
{
	size_t i;
	json_t *o;
	int n = 0;

	json_array_foreach (state, i, o) {
		const char *id = json_string_value(json_object_get(o, "hold_id"));
		const char *sid = json_string_value(json_object_get(o, "session"));
		struct sl_session *s = sid ? sl_session_by_id(vr->sessions, sid) : NULL;
		struct sl_hold *h;
		uint64_t seq;

		if (!id || !s || !sl_session_active(s) || hold_find(vr, id))
			continue; /* its session is gone: nothing waits any more */
		h = calloc(1, sizeof(*h));
		if (!h)
			return -ENOMEM;
		snprintf(h->id, sizeof(h->id), "%s", id);
		snprintf(h->session, sizeof(h->session), "%s", sid);
		h->pid = (pid_t)json_integer_value(json_object_get(o, "pid"));
		h->cgroup_id = sl_session_cgroup_id(s);
		/* the time left when the previous daemon stopped: the time away is not counted */
		h->deadline_ms =
		    mono_ms() + (int64_t)json_integer_value(json_object_get(o, "expires_in_ms"));
		h->alert = json_is_object(json_object_get(o, "alert"))
			       ? json_deep_copy(json_object_get(o, "alert"))
			       : json_object();
		if (sscanf(id, "h%" SCNu64, &seq) == 1 && seq > vr->hold_seq)
			vr->hold_seq = seq;
		h->next = vr->holds;
		vr->holds = h;
		n++;
	}
	return n;
}

void sl_holds_deny_all(struct sl_verdicts *vr, const char *who, const char *reason)
{
	/* a held action never proceeds without a person: deny what is pending */
	while (vr->holds) {
		char why[128];

		if (hold_resolve(vr, vr->holds->id, false, who, reason, why, sizeof(why)) ==
		    -ENOENT)
			break;
	}
}

void sl_verdicts_free(struct sl_verdicts *vr)
{
	if (!vr)
		return;
	json_decref(vr->counts);
	while (vr->holds) {
		struct sl_hold *h = vr->holds;

		vr->holds = h->next;
		json_decref(h->alert);
		free(h);
	}
	for (size_t i = 0; i < SL_EVIDENCE_RING; i++) {
		json_decref(vr->evidence[i].rec);
		vr->evidence[i].rec = NULL;
		free(vr->evidence[i].text);
		vr->evidence[i].text = NULL;
	}
	for (size_t i = 0; i < vr->npending; i++)
		pending_release(&vr->pending[i]);
	free(vr);
}
