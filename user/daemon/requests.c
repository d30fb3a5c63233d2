// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The requests room (requests.h): a request decoder per session connection,
 * the `request` member of tls_write records, and the second stage of the
 * two-stage verdicts (a write the kernel held because it could not judge its
 * bytes is decoded, judged on the canonical text of its requests, then
 * released or stopped).
 *
 * Pairing. The capture record of a held write goes to the bulk ring (in
 * order with the connection's earlier writes, which the decoder needs
 * first), its verdict to the verdict ring; either may be read first. The
 * verdict's file_ino is the capture's ktime_ns: a held write is known by
 * (tid, that time). The decision is taken when the capture is read; a
 * verdict whose capture does not come within SL_REQ_CAPTURE_WAIT_MS (lost:
 * the bulk ring was full) becomes a hold for a person.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "clock.h"
#include "jsonbytes.h"
#include "journal.h"
#include "jwriter.h"
#include "kernel.h"
#include "log.h"
#include "policy.h"
#include "policy_store.h"
#include "reqdec.h"
#include "requests.h"
#include "sessions.h"
#include "verdicts.h"
#include "scopelock_decide.h"
#include "scopelock_events.h"
#include "scopelock_policy.h"

/* decoders kept at once (the least recently used goes first) */
#define SL_REQ_CONNS_MAX 4096
/* held writes waiting for their capture or their verdict */
#define SL_REQ_HELD_MAX 1024
/* a held write whose capture record did not come by then: lost */
#define SL_REQ_CAPTURE_WAIT_MS 5000
/* bytes of a held write read from the stopped process past the capture */
#define SL_REQ_READ_MAX (4U << 20)
/* body bytes in the request member */
#define SL_REQ_BODY_EXCERPT 512
/* requests of one write put in its record */
#define SL_REQ_PER_RECORD 16

struct req_conn {
	uint64_t cgid, exec_id, ptr; /* ptr: SSL* (tls_write), socket inode (plain_write) */
	uint32_t op;		     /* SL_OP_TLS_WRITE, SL_OP_PLAIN_WRITE */
	struct sl_reqdec *dec;
	int64_t used_ms;
	/* environments named by the connection's requests so far (a token sent
	 * in the upgrade request convicts the WebSocket messages after it) */
	uint64_t env;
	uint32_t env_gen; /* policy load env was computed under (a relabel keeps the ids) */
	uint64_t exposed; /* environments already alerted as credential_exposure */
	bool resync;	  /* bytes were missed: start afresh at the next write */
};

enum held_state {
	HELD_FREE = 0,
	HELD_WAIT_CAPTURE, /* the verdict came first */
	HELD_WAIT_VERDICT, /* decided on the capture; its verdict still to come */
};

struct req_held {
	enum held_state state;
	uint32_t tid;
	uint64_t ktime; /* of the capture record */
	int64_t since_ms;
	struct sl_verdict_event v; /* HELD_WAIT_CAPTURE: the kernel's verdict */
};

enum act_kind {
	ACT_RELEASE,  /* nothing stops it: the writer goes on */
	ACT_ALERT,    /* released, with an alert (a rule below freeze, or monitor) */
	ACT_STOP,     /* kill or hold for a person (verdicts room) */
	ACT_UNDECIDE, /* fail closed: held for a person */
};

struct req_act {
	enum act_kind kind;
	int push_fd; /* a held plaintext write: the writer's socket descriptor, else -1 */
	struct sl_verdict_event v;
	json_t *request; /* the deciding request's member (owned) */
	char why[256];
	uint64_t ktime;
	uint32_t n_requests;
};

#define SL_REQ_ACTS_MAX 64

/*
 * Per session: held writes decided, and processes whose write was released
 * but that stay stopped while another held write of the session is not
 * decided yet (the kernel's count, sl_decode_holds, is ahead).
 */
#define SL_REQ_SESSIONS_MAX 256
#define SL_REQ_DEFERRED_MAX 64
struct req_sess {
	uint64_t cgid; /* 0: free */
	uint64_t decided;
	pid_t deferred[SL_REQ_DEFERRED_MAX];
	uint32_t n_deferred;
};

struct sl_requests {
	struct sl_sessions *sessions;
	struct sl_kernel *kernel;
	struct sl_policy_store *store;
	struct sl_journal *journal;
	struct sl_verdicts *verdicts;
	struct req_conn *conns;
	size_t n_conns, cap_conns;
	struct req_held held[SL_REQ_HELD_MAX];
	struct req_act acts[SL_REQ_ACTS_MAX];
	size_t n_acts;
	uint64_t exposure_seq;
	struct req_sess sess[SL_REQ_SESSIONS_MAX];
	uint64_t lost_acts;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* the kernel's clock of record times (bpf_ktime_get_boot_ns) */
static uint64_t boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int sl_requests_new(struct sl_sessions *ss, struct sl_kernel *k, struct sl_policy_store *ps,
		    struct sl_journal *j, struct sl_verdicts *vr, struct sl_requests **out)
{
	struct sl_requests *rq = calloc(1, sizeof(*rq));

	if (!rq)
		return -ENOMEM;
	rq->sessions = ss;
	rq->kernel = k;
	rq->store = ps;
	rq->journal = j;
	rq->verdicts = vr;
	*out = rq;
	return 0;
}

static void act_clear(struct req_act *a)
{
	json_decref(a->request);
	a->request = NULL;
}

void sl_requests_free(struct sl_requests *rq)
{
	if (!rq)
		return;
	for (size_t i = 0; i < rq->n_conns; i++)
		sl_reqdec_free(rq->conns[i].dec);
	free(rq->conns);
	for (size_t i = 0; i < rq->n_acts; i++)
		act_clear(&rq->acts[i]);
	free(rq);
}

/* ---- connections ---- */

static void conn_drop(struct sl_requests *rq, size_t i)
{
	sl_reqdec_free(rq->conns[i].dec);
	rq->conns[i] = rq->conns[--rq->n_conns];
}

/* the origin requests default to: the SNI, else the peer address */
static void conn_origin(struct sl_reqdec *d, const struct sl_tls_event *e)
{
	char host[SL_SNI_MAX + 1], addr[INET6_ADDRSTRLEN];
	const char *scheme = e->hdr.op == SL_OP_PLAIN_WRITE ? "http" : "https";

	if (e->sni_len && e->sni_len < SL_SNI_MAX) {
		memcpy(host, e->sni, e->sni_len);
		host[e->sni_len] = '\0';
		sl_reqdec_set_origin(d, scheme, host);
	} else if ((e->peer_family == AF_INET || e->peer_family == AF_INET6) &&
		   inet_ntop(e->peer_family, e->peer_addr, addr, sizeof(addr))) {
		snprintf(host, sizeof(host), e->peer_family == AF_INET6 ? "[%s]:%u" : "%s:%u", addr,
			 e->peer_port);
		sl_reqdec_set_origin(d, scheme, host);
	}
}

/*
 * A header at a credential position, decoded (reqdec.h's hook, called while
 * the write is fed, before its record is begun): the journal learns the
 * value, and the HPACK Huffman code of the field's value (what an HTTP/2
 * client puts in the HEADERS frame, in the raw data of the write's record),
 * both labelled with the value's fingerprint. Authorization: the value is
 * the part after the scheme word, as the redaction of text labels it.
 */
static void on_credential(void *ctx, const char *name, size_t nlen, const char *value, size_t vlen)
{
	struct sl_requests *rq = ctx;
	const char *cred = value;
	size_t clen = vlen;
	uint8_t *huff = NULL;
	size_t hlen;

	if ((nlen == 13 && !strncasecmp(name, "authorization", 13)) ||
	    (nlen == 19 && !strncasecmp(name, "proxy-authorization", 19))) {
		const char *sp = memchr(value, ' ', vlen);

		if (sp && sp > value) {
			while (sp < value + vlen && *sp == ' ')
				sp++;
			if (sp < value + vlen) {
				cred = sp;
				clen = (size_t)(value + vlen - sp);
			}
		}
	}
	if (sl_journal_learn_credential(rq->journal, cred, clen, cred, clen))
		return; /* out of memory: the position in text still redacts it */
	if (!sl_rq_hpack_huffman(value, vlen, &huff, &hlen))
		sl_journal_learn_credential(rq->journal, huff, hlen, cred, clen);
	if (huff)
		OPENSSL_cleanse(huff, hlen);
	free(huff);
}

/*
 * The connection of a write: session, program image (a forked child keeps
 * its parent's exec id until it execs) and SSL*; made when missing.
 */
static struct req_conn *conn_get(struct sl_requests *rq, const struct sl_tls_event *e)
{
	struct req_conn *c;
	size_t lru = 0;

	for (size_t i = 0; i < rq->n_conns; i++) {
		c = &rq->conns[i];
		if (c->cgid == e->hdr.cgroup_id && c->exec_id == e->hdr.exec_id &&
		    c->ptr == e->conn && c->op == e->hdr.op) {
			c->used_ms = mono_ms();
			return c;
		}
		if (c->used_ms < rq->conns[lru].used_ms)
			lru = i;
	}
	if (rq->n_conns == SL_REQ_CONNS_MAX)
		conn_drop(rq, lru);
	if (rq->n_conns == rq->cap_conns) {
		size_t n = rq->cap_conns ? rq->cap_conns * 2 : 64;
		struct req_conn *v = realloc(rq->conns, n * sizeof(*v));

		if (!v)
			return NULL;
		rq->conns = v;
		rq->cap_conns = n;
	}
	c = &rq->conns[rq->n_conns];
	memset(c, 0, sizeof(*c));
	if (sl_reqdec_new(NULL, &c->dec))
		return NULL;
	if (rq->journal)
		sl_reqdec_set_credential_hook(c->dec, on_credential, rq);
	c->cgid = e->hdr.cgroup_id;
	c->exec_id = e->hdr.exec_id;
	c->ptr = e->conn;
	c->op = e->hdr.op;
	c->used_ms = mono_ms();
	conn_origin(c->dec, e);
	rq->n_conns++;
	return c;
}

/* ---- judging ---- */

static bool icase_contains(const char *h, size_t hl, const char *n)
{
	size_t nl = strlen(n);

	if (!nl || nl > hl)
		return false;
	for (size_t i = 0; i + nl <= hl; i++)
		if (!strncasecmp(h + i, n, nl))
			return true;
	return false;
}

/*
 * Environments of the credentials the daemon discovered (creds.h) in the
 * text: they judge the request like the kernel's automaton does; not a
 * credential_exposure (the model's own key is in the session's environment).
 */
static uint64_t discovered_env(const struct sl_policy *p, const char *t, size_t len)
{
	uint64_t env = 0;

	for (uint32_t i = 0; i < p->n_discovered; i++) {
		const struct sl_policy_discovered *d = &p->discovered[i];

		/* as the kernel: values found in files (the session's environment is redacted only)
		 */
		if (d->ino && d->value && d->len && d->env_id >= 1 && d->env_id <= SL_ENV_MAX &&
		    memmem(t, len, d->value, d->len))
			env |= 1ULL << d->env_id;
	}
	return env;
}

/*
 * Environments named by the text, as the kernel's automaton labels a
 * stream: credential values, resource ids, host names, path prefixes.
 */
static uint64_t text_env(const struct sl_policy *p, const char *t, size_t len)
{
	uint64_t env = 0;

	for (uint32_t i = 0; i < p->n_secrets; i++) {
		const struct sl_policy_secret *s = &p->secrets[i];

		if (s->value && s->len >= p->settings.secret_min_len && s->env_id >= 1 &&
		    s->env_id <= SL_ENV_MAX && memmem(t, len, s->value, s->len))
			env |= 1ULL << s->env_id;
	}
	for (uint32_t e = 0; e < p->n_envs; e++) {
		const struct sl_policy_env *en = &p->envs[e];
		uint64_t bit = 1ULL << en->id;

		for (uint32_t r = 0; r < en->n_resources && !(env & bit); r++)
			if (memmem(t, len, en->resources[r], strlen(en->resources[r])))
				env |= bit;
		for (uint32_t h = 0; h < en->n_hosts && !(env & bit); h++)
			if (en->hosts[h].name && icase_contains(t, len, en->hosts[h].name))
				env |= bit;
		for (uint32_t i = 0; i < en->n_paths && !(env & bit); i++) {
			const struct sl_policy_path *pa = &en->paths[i];
			size_t pl =
			    pa->kind == SL_PATH_PREFIX ? pa->prefix_len - 1 : strlen(pa->glob);

			if (pa->kind != SL_PATH_GLOB && pl && memmem(t, len, pa->glob, pl))
				env |= bit;
		}
	}
	return env;
}

/* the destination: SNI and peer address labels */
static uint64_t dest_env(const struct sl_policy *p, const struct sl_tls_event *e)
{
	char sni[SL_SNI_MAX + 1];
	uint64_t env = 0;

	if (e->sni_len && e->sni_len < SL_SNI_MAX) {
		memcpy(sni, e->sni, e->sni_len);
		sni[e->sni_len] = '\0';
		env |= sl_policy_env_for_host(p, sni, NULL, 0, 0);
	}
	if (e->peer_family == AF_INET || e->peer_family == AF_INET6)
		env |= sl_policy_env_for_host(p, NULL, e->peer_addr,
					      e->peer_family == AF_INET ? 4 : 6, e->peer_port);
	return env;
}

/* the `request` member of r, as a JSON value (credential values left out) */
static json_t *request_json(const struct sl_rq *r)
{
	struct sl_jw w;
	const char *text;
	json_t *obj = NULL, *v = NULL;
	size_t len;
	char *buf;

	sl_jw_init(&w, NULL, NULL);
	sl_rq_record(&w, "request", r, SL_REQ_BODY_EXCERPT);
	if (!sl_jw_members(&w, &text, &len)) {
		buf = malloc(len + 2);
		if (buf) {
			buf[0] = '{';
			memcpy(buf + 1, text, len);
			buf[len + 1] = '}';
			obj = json_loadb(buf, len + 2, 0, NULL);
			free(buf);
		}
	}
	sl_jw_free(&w);
	if (obj)
		v = json_incref(json_object_get(obj, "request"));
	json_decref(obj);
	if (v) {
		char line[256];

		sl_rq_summary(r, line, sizeof(line));
		json_object_set_new(v, "summary", json_string(line));
	}
	return v;
}

struct judged {
	bool have;     /* a rule decided */
	bool undecide; /* a request could not be decoded */
	struct sl_policy_decision d;
	uint64_t seen[SL_POLICY_KW_WORDS];
	json_t *request; /* of the deciding (or undecidable) request */
	char why[256];
};

static bool stops(const struct sl_policy_decision *d)
{
	return !d->monitor && d->action >= SL_ACT_FREEZE;
}

/*
 * judge one decoded request of session (info), the connection having named
 * conn_env so far; keep the strongest decision in j
 */
static void judge(const struct sl_policy *p, const struct sl_session_info *info,
		  const struct sl_tls_event *e, uint64_t conn_env, const struct sl_rq *r,
		  json_t *member, struct judged *j)
{
	uint64_t seen[SL_POLICY_KW_WORDS] = {0}, env;
	struct sl_policy_decision d;

	if (r->status != SL_RQ_DECODED) {
		if (!j->undecide) {
			j->undecide = true;
			snprintf(j->why, sizeof(j->why), "%s: %s", sl_rq_reason_name(r->reason),
				 r->detail);
			if (!j->have || !stops(&j->d)) {
				json_decref(j->request);
				j->request = json_incref(member);
			}
		}
		return;
	}
	sl_policy_keywords_scan(p, SL_CHAN_TLS, r->text, r->text_len, seen);
	env = conn_env | dest_env(p, e);
	sl_policy_decide(p, SL_CHAN_TLS, seen, env, info->taint, info->scope_env,
			 info->flags & SL_SESSION_MONITOR, false, &d);
	log_debug("requests: conn 0x%" PRIx64 " request %" PRIu64 ": env 0x%" PRIx64
		  " rule %d action %u target %u",
		  (uint64_t)e->conn, r->seq, env, d.rule, d.action, d.target_class);
	if (d.rule == -1)
		return;
	if (j->have && !sl_decide_rule_wins(1, j->d.action, j->d.monitor, d.action, d.monitor))
		return;
	j->have = true;
	j->d = d;
	memcpy(j->seen, seen, sizeof(seen));
	if (!j->undecide || stops(&d)) {
		json_decref(j->request);
		j->request = json_incref(member);
	}
}

/* ---- model providers ---- */

static bool to_provider(const struct sl_policy *p, const struct sl_tls_event *e)
{
	char sni[SL_SNI_MAX + 1];

	if (!p || !p->n_providers || !e->sni_len || e->sni_len >= SL_SNI_MAX)
		return false;
	memcpy(sni, e->sni, e->sni_len);
	/* "name." is the name (as the kernel takes it: sl_tls_sni_env) */
	sni[e->sni_len > 1 && e->sni[e->sni_len - 1] == '.' ? e->sni_len - 1 : e->sni_len] = '\0';
	return sl_policy_provider_match(p, sni);
}

/*
 * A provider's connection the kernel does not judge (sl_tls_provider): its
 * server name is a provider's and its peer address belongs to no
 * environment.
 */
static bool provider_conversation(const struct sl_policy *p, const struct sl_tls_event *e)
{
	if (!to_provider(p, e))
		return false;
	if (e->peer_family != AF_INET && e->peer_family != AF_INET6)
		return true;
	return !sl_policy_env_for_host(p, NULL, e->peer_addr, e->peer_family == AF_INET ? 4 : 6,
				       e->peer_port);
}

/* a (a host name, or "name:port" with a decimal port) is one of the model providers */
static bool provider_name(const struct sl_policy *p, const char *a, size_t len)
{
	char host[SL_SNI_MAX + 1];
	const char *colon;
	size_t n;

	if (!a || !len || *a == '[')
		return false;
	colon = memchr(a, ':', len);
	n = colon ? (size_t)(colon - a) : len;
	if (!n || n > SL_SNI_MAX || memchr(a, '\0', n))
		return false;
	if (colon) {
		size_t digits = len - n - 1;

		if (!digits || digits > 5)
			return false;
		for (size_t i = n + 1; i < len; i++)
			if (a[i] < '0' || a[i] > '9')
				return false;
	}
	if (n > 1 && a[n - 1] == '.')
		n--; /* "name." is the name */
	memcpy(host, a, n);
	host[n] = '\0';
	return sl_policy_provider_match(p, host);
}

/*
 * What the server gets of the request is what the decoder read: decoded,
 * or undecidable in its body only (its head read whole: a body limit or
 * bytes not captured, a coding, a JSON or GraphQL body that does not parse,
 * a stream the client reset before the body's end).
 * A connection the decoder lost (sl_reqdec_failed) is not taken here.
 */
static bool head_sure(const struct sl_rq *r)
{
	if (!r->head_done)
		return false;
	switch (r->status == SL_RQ_DECODED ? SL_RQ_R_NONE : r->reason) {
	case SL_RQ_R_NONE:
	case SL_RQ_R_LIMIT:
	case SL_RQ_R_BOMB:
	case SL_RQ_R_ENCODING:
	case SL_RQ_R_JSON:
	case SL_RQ_R_GRAPHQL:
	case SL_RQ_R_UTF8:
	case SL_RQ_R_INCOMPLETE: /* the client ended it (an HTTP/2 reset) before its body's end */
		return true;
	default:
		return false;
	}
}

/*
 * A request of the conversation: what the server gets of its head names
 * a provider as its authority (Host, :authority, or the absolute
 * target's) and in every Host header it has. Anything else (no authority,
 * an address, another name, a head the decoder could not read) is judged
 * like a request to any server, whatever its body: a body the decoder
 * cannot read whole does not hold the conversation for a person. *other:
 * the authority or Host value that is not a provider's, when there is one.
 */
static bool request_to_provider(const struct sl_policy *p, const struct sl_rq *r,
				const char **other, size_t *other_len)
{
	*other = NULL;
	*other_len = 0;
	if (!head_sure(r) || !r->authority)
		return false;
	if (!provider_name(p, r->authority, strlen(r->authority))) {
		*other = r->authority;
		*other_len = strlen(r->authority);
		return false;
	}
	for (uint32_t i = 0; i < r->n_headers; i++)
		if (!r->headers[i].trailer && !strcmp(r->headers[i].name, "host") &&
		    !provider_name(p, r->headers[i].value, r->headers[i].value_len)) {
			*other = r->headers[i].value;
			*other_len = r->headers[i].value_len;
			return false;
		}
	return true;
}

/* sl_reqdec_open_heads: the first head in progress not to a provider */
struct open_head {
	const struct sl_policy *p;
	const char *other;
	size_t other_len;
};

static bool open_head_check(void *ctx, const struct sl_rq *r)
{
	struct open_head *oh = ctx;
	const char *other;
	size_t len;

	if (request_to_provider(oh->p, r, &other, &len))
		return true;
	oh->other = other ? other : (r->authority ? r->authority : "");
	oh->other_len = other ? len : strlen(oh->other);
	return false;
}

/*
 * A labelled environment's credential in a request to a model provider: the
 * agent showed it to a third party. One alert per connection and
 * environment (a conversation repeats its history in every request).
 */
static uint64_t exposure_alert(struct sl_requests *rq, const struct sl_policy *p,
			       struct sl_session *s, const struct sl_tls_event *e,
			       const struct sl_rq *r, json_t *member, uint64_t env)
{
	json_t *rec = json_object(), *creds = json_array();
	char sni[SL_SNI_MAX + 1], id[32], summary[512];
	uint64_t seen = 0;
	size_t off;

	if (!rec || !creds)
		goto out;
	memcpy(sni, e->sni, e->sni_len);
	sni[e->sni_len] = '\0';
	for (uint32_t i = 0; i < p->n_secrets; i++) {
		const struct sl_policy_secret *sc = &p->secrets[i];
		const struct sl_policy_env *en;
		char fp[SL_POLICY_FP_STR_SIZE];
		json_t *c;

		if (!sc->value || sc->len < p->settings.secret_min_len || sc->env_id < 1 ||
		    sc->env_id > p->n_envs || !(env & (1ULL << sc->env_id)) ||
		    !memmem(r->text, r->text_len, sc->value, sc->len))
			continue;
		en = &p->envs[sc->env_id - 1];
		sl_policy_sha256_str(sc->sha256, fp);
		c = json_pack("{s:s, s:s}", "env", en->name, "fingerprint", fp);
		if (c && sc->src < en->n_secrets && en->secrets[sc->src].path)
			json_object_set_new(c, "source_file",
					    json_string(en->secrets[sc->src].path));
		json_array_append_new(creds, c);
		seen |= 1ULL << sc->env_id;
	}
	/* a host name or a resource id of the environment is no credential */
	if (!seen)
		goto out;
	snprintf(id, sizeof(id), "x%" PRIu64, ++rq->exposure_seq);
	json_object_set_new(rec, "type", json_string("alert"));
	json_object_set_new(rec, "time", sl_clock_json(e->hdr.ktime_ns));
	json_object_set_new(rec, "alert_id", json_string(id));
	json_object_set_new(rec, "session", json_string(sl_session_id(s)));
	json_object_set_new(rec, "scope", json_string(sl_session_scope(s)));
	json_object_set_new(rec, "rule", json_string("credential_exposure"));
	json_object_set_new(rec, "action", json_string("alert"));
	json_object_set_new(rec, "verdict", json_string("alert"));
	json_object_set_new(rec, "monitor", json_false());
	json_object_set_new(rec, "channel", json_string("tls"));
	json_object_set_new(rec, "destination", json_string(sni));
	json_object_set_new(rec, "destination_role", json_string("model_provider"));
	json_object_set_new(rec, "exposed_env", sl_env_names_json(p, seen));
	json_object_set_new(rec, "pid", json_integer(e->hdr.pid));
	json_object_set_new(rec, "tid", json_integer(e->hdr.tid));
	sl_json_set_bytes(rec, "comm", e->hdr.comm, strnlen(e->hdr.comm, sizeof(e->hdr.comm)));
	if (member)
		json_object_set(rec, "request", member);
	json_object_set_new(rec, "evidence", json_pack("{s:o}", "credentials", json_incref(creds)));
	off = (size_t)snprintf(summary, sizeof(summary),
			       "ALERT %s: credential_exposure, session %s (scope %s): a credential "
			       "sent to model provider %s",
			       id, sl_session_id(s), sl_session_scope(s), sni);
	for (size_t i = 0; i < json_array_size(creds) && off < sizeof(summary); i++) {
		json_t *c = json_array_get(creds, i);

		off += (size_t)snprintf(summary + off, sizeof(summary) - off, "; %s credential %s",
					json_string_value(json_object_get(c, "env")),
					json_string_value(json_object_get(c, "fingerprint")));
	}
	sl_journal_alert(rq->journal, rec, summary);
out:
	json_decref(rec);
	json_decref(creds);
	return seen;
}

/* ---- held writes ---- */

static struct req_held *held_find(struct sl_requests *rq, uint32_t tid, uint64_t ktime)
{
	for (size_t i = 0; i < SL_REQ_HELD_MAX; i++)
		if (rq->held[i].state != HELD_FREE && rq->held[i].tid == tid &&
		    rq->held[i].ktime == ktime)
			return &rq->held[i];
	return NULL;
}

static struct req_held *held_new(struct sl_requests *rq)
{
	size_t old = 0;

	for (size_t i = 0; i < SL_REQ_HELD_MAX; i++) {
		if (rq->held[i].state == HELD_FREE)
			return &rq->held[i];
		if (rq->held[i].since_ms < rq->held[old].since_ms)
			old = i;
	}
	/* full: the oldest waiting for a verdict goes (it was decided) */
	return &rq->held[old];
}

/* the bytes of a held write past its capture, from the stopped process */
static int read_rest(const struct sl_tls_event *e, uint8_t *dst, size_t n)
{
	char path[64];
	ssize_t got;
	int fd, err = 0;

	snprintf(path, sizeof(path), "/proc/%u/mem", e->hdr.tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	got = pread(fd, dst, n, (off_t)(e->buf + e->data_len));
	if (got < 0)
		err = -errno;
	else if ((size_t)got != n)
		err = -EIO;
	close(fd);
	return err;
}

static struct req_act *act_new(struct sl_requests *rq)
{
	struct req_act *a;

	if (rq->n_acts == SL_REQ_ACTS_MAX)
		sl_requests_act(rq);
	a = &rq->acts[rq->n_acts++];
	memset(a, 0, sizeof(*a));
	a->push_fd = -1;
	return a;
}

/* the verdict of the held write e, as the kernel would have reported it */
static void verdict_of(const struct sl_tls_event *e, uint32_t generation,
		       const struct sl_session_info *info, struct sl_verdict_event *v)
{
	memset(v, 0, sizeof(*v));
	v->hdr = e->hdr;
	v->hdr.op = SL_OP_VERDICT;
	v->hdr.size = sizeof(*v);
	v->hdr.flags = 0;
	v->conn = e->conn;
	v->channel = SL_KCH_TLS;
	v->trigger_op = e->hdr.op;
	v->generation = generation;
	v->taint = info->taint;
	v->file_ino = e->hdr.ktime_ns;
	v->file_fd = -1;
}

void sl_requests_tls_write(struct sl_requests *rq, struct sl_session *s,
			   const struct sl_tls_event *e, size_t len, json_t *rec)
{
	const struct sl_policy *p = sl_policy_store_current(rq->store);
	bool held = e->hdr.flags & SL_EVF_DECODE_HOLD;
	struct sl_session_info info = {0};
	struct judged j = {0};
	uint8_t *whole = NULL;
	const void *bytes = e->data;
	size_t n = e->data_len;
	uint32_t count = 0;
	json_t *arr = NULL;
	struct req_conn *c;
	struct sl_rq *r;
	bool gap = false, provider = false, conversation = false;

	if (!rq || len < sizeof(*e) || !SL_OP_STREAM_WRITE(e->hdr.op))
		return;
	if (s)
		sl_kernel_session_get(rq->kernel, sl_session_cgroup_id(s), &info);
	if (held && e->len > e->data_len && !(e->hdr.flags & SL_EVF_READ_FAULT)) {
		/* the writer is stopped: its buffer is what it will send */
		size_t total = e->len > SL_REQ_READ_MAX ? SL_REQ_READ_MAX : (size_t)e->len;

		whole = malloc(total);
		if (whole && total > e->data_len) {
			memcpy(whole, e->data, e->data_len);
			/* over SL_REQ_READ_MAX: what was read is fed, the rest is
			 * skipped where the framing allows (below) */
			if (!read_rest(e, whole + e->data_len, total - e->data_len)) {
				bytes = whole;
				n = total;
			}
		}
	}
	/* a plaintext writev/sendmsg with more iovecs than the kernel read is
	 * truncated with data_len == len: its length is not known either */
	if (n < e->len || (e->hdr.flags & SL_EVF_READ_FAULT) ||
	    ((e->hdr.flags & SL_EVF_TRUNCATED) && e->data_len == e->len))
		gap = true;
	c = conn_get(rq, e);
	if (!c) {
		if (held) {
			j.undecide = true;
			snprintf(j.why, sizeof(j.why), "no decoder (out of memory)");
		}
		goto decide;
	}
	if (c->resync) {
		sl_reqdec_reset(c->dec);
		c->resync = false;
	}
	sl_reqdec_feed(c->dec, bytes, n);
	/*
	 * Bytes were missed: inside an HTTP/1.1 body of known length or an
	 * HTTP/2 DATA frame the framing goes on (that request is undecidable,
	 * with its head; the next ones are decoded); elsewhere the stream
	 * starts again at the next write, and a held write is then for a
	 * person: what it sends was not all read.
	 */
	if (gap && ((e->hdr.flags & SL_EVF_READ_FAULT) || n >= e->len ||
		    sl_reqdec_skip(c->dec, e->len - n))) {
		c->resync = true;
		if (held) {
			j.undecide = true;
			snprintf(j.why, sizeof(j.why),
				 "the write's %" PRIu64 " bytes could not be read whole (%zu read)",
				 (uint64_t)e->len, n);
		}
	}
	/* the decoder lost the connection in this write: the requests it gave
	 * up with it (their heads read whole) do not say what it sends */
	if (held && sl_reqdec_failed(c->dec) && !j.undecide) {
		j.undecide = true;
		snprintf(j.why, sizeof(j.why), "the decoder lost the connection in this write");
	}
	arr = json_array();
	if (p && c->env_gen != sl_policy_store_load(rq->store)) {
		c->env = 0;
		c->exposed = 0;
		c->env_gen = sl_policy_store_load(rq->store);
	}
	provider = to_provider(p, e);
	if (provider)
		json_object_set_new(rec, "destination_role", json_string("model_provider"));
	conversation = held && provider_conversation(p, e);
	while ((r = sl_reqdec_next(c->dec))) {
		json_t *m = request_json(r);
		const char *other;
		size_t other_len;

		if (m && count < SL_REQ_PER_RECORD && arr)
			json_array_append(arr, m);
		count++;
		if (p && r->text) {
			uint64_t env = text_env(p, r->text, r->text_len);

			c->env |= env | discovered_env(p, r->text, r->text_len);
			if (provider && s && (env & ~c->exposed))
				c->exposed |= exposure_alert(rq, p, s, e, r, m, env & ~c->exposed);
		}
		/* held on a provider's connection (a write the rules would stop):
		 * a request to the provider is the conversation, one whose Host
		 * is another server's is judged as any request to it */
		if (held && p && !(conversation && request_to_provider(p, r, &other, &other_len))) {
			if (conversation && other &&
			    !json_object_get(rec, "provider_host_mismatch"))
				sl_json_set_bytes(rec, "provider_host_mismatch", other, other_len);
			judge(p, &info, e, c->env, r, m, &j);
		}
		json_decref(m);
		sl_rq_free(r);
	}
	if (count == 1)
		json_object_set(rec, "request", json_array_get(arr, 0));
	else if (count > 1) {
		json_object_set(rec, "request", json_array_get(arr, 0));
		json_object_set(rec, "requests", arr);
		if (count > SL_REQ_PER_RECORD)
			json_object_set_new(rec, "requests_total", json_integer(count));
	}
	if (held && !count)
		json_object_set_new(rec, "request_in_progress", json_true());
	/* a head sent before its body: a server may act on it at once */
	if (held && p && conversation) {
		struct open_head oh = {.p = p};

		sl_reqdec_open_heads(c->dec, open_head_check, &oh);
		if (oh.other) {
			if (!json_object_get(rec, "provider_host_mismatch"))
				sl_json_set_bytes(rec, "provider_host_mismatch", oh.other,
						  oh.other_len);
			if (!j.undecide && !(j.have && stops(&j.d))) {
				j.undecide = true;
				snprintf(j.why, sizeof(j.why),
					 "a request to %.*s sent before its body, on a model "
					 "provider's connection",
					 (int)(oh.other_len > 200 ? 200 : oh.other_len), oh.other);
			}
		}
	}
decide:
	if (held) {
		struct req_act *a = act_new(rq);

		if (!p) {
			j.undecide = true;
			snprintf(j.why, sizeof(j.why), "no policy");
		}
		json_object_set_new(rec, "held_for_decoding", json_true());
		a->ktime = e->hdr.ktime_ns;
		a->n_requests = count;
		a->push_fd = e->hdr.op == SL_OP_PLAIN_WRITE ? e->fd : -1;
		verdict_of(e, sl_policy_store_generation(rq->store), &info, &a->v);
		if (j.have) {
			a->v.rule = (uint32_t)j.d.rule;
			a->v.action = j.d.action;
			a->v.target_class = j.d.target_class;
			a->v.target_env = j.d.target_env;
			memcpy(a->v.kw, j.seen, sizeof(a->v.kw));
			memcpy(a->v.patterns, j.d.patterns, sizeof(a->v.patterns));
			a->v.flags = SL_VERDICT_DECODE | (j.d.partial ? SL_VERDICT_PARTIAL : 0) |
				     (j.d.monitor ? SL_VERDICT_MONITOR : 0);
		}
		if (j.have && stops(&j.d)) {
			a->kind = ACT_STOP;
			a->v.flags |= SL_VERDICT_ENFORCED;
			/* a located function not yet confirmed: never a kill (scopelock_abi.h) */
			if ((e->hdr.flags & SL_EVF_UNCONFIRMED) &&
			    sl_decide_unconfirmed(a->v.action) != a->v.action) {
				a->v.action = sl_decide_unconfirmed(a->v.action);
				a->v.flags |= SL_VERDICT_UNCONFIRMED;
			}
		} else if (j.undecide) {
			/* fail closed: a person decides */
			a->kind = ACT_UNDECIDE;
			a->v.rule = SL_RULE_DECODE;
			a->v.action = SL_KACT_FREEZE;
			a->v.flags = SL_VERDICT_DECODE | SL_VERDICT_ENFORCED;
			snprintf(a->why, sizeof(a->why), "%s", j.why);
		} else if (j.have) {
			a->kind = ACT_ALERT;
		} else {
			a->kind = ACT_RELEASE;
		}
		a->request = j.request;
		j.request = NULL;
	}
	json_decref(j.request);
	json_decref(arr);
	free(whole);
}

static struct req_sess *sess_get(struct sl_requests *rq, uint64_t cgid)
{
	struct req_sess *free_slot = NULL;

	for (size_t i = 0; i < SL_REQ_SESSIONS_MAX; i++) {
		if (rq->sess[i].cgid == cgid)
			return &rq->sess[i];
		if (!rq->sess[i].cgid && !free_slot)
			free_slot = &rq->sess[i];
	}
	if (free_slot) {
		memset(free_slot, 0, sizeof(*free_slot));
		free_slot->cgid = cgid;
	}
	return free_slot;
}

static void cont(struct sl_session *s, pid_t pid)
{
	/* the held process is inside a session cgroup this daemon created */
	if (kill(pid, SIGCONT) && errno != ESRCH)
		log_warn("session %s: release pid %d: %s", sl_session_id(s), pid, strerror(errno));
}

/*
 * A released plaintext write: its bytes were queued in the socket by the
 * system call, and their first transmission was dropped with the session's
 * egress; TCP would send them again only at its retransmission timer (200 ms
 * and more). Uncorking the socket (TCP_CORK 0, done only when it is not
 * corked: nothing else changes) pushes them now. The writer is still
 * stopped: fd is the socket it wrote to. A failure leaves it to the timer.
 */
static void push_socket(struct sl_session *s, pid_t pid, int fd)
{
	socklen_t len = sizeof(int);
	int pfd, sfd, cork = 1;

	pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0)
		return;
	sfd = (int)syscall(SYS_pidfd_getfd, pfd, fd, 0);
	close(pfd);
	if (sfd < 0) {
		log_debug("session %s: push the released write of pid %d (fd %d): %s",
			  sl_session_id(s), pid, fd, strerror(errno));
		return;
	}
	if (!getsockopt(sfd, IPPROTO_TCP, TCP_CORK, &cork, &len) && !cork)
		setsockopt(sfd, IPPROTO_TCP, TCP_CORK, &cork, sizeof(cork));
	close(sfd);
}

static void set_held(struct sl_requests *rq, struct sl_session *s, bool held)
{
	sl_session_kernel_update(rq->sessions, s, held ? SL_SESSION_HELD : 0,
				 held ? 0 : SL_SESSION_HELD, 0);
	sl_kernel_held_set(rq->kernel, sl_session_cgroup_id(s), held);
}

/* the kernel held no more writes of the session than were decided */
static bool all_decided(struct sl_requests *rq, const struct req_sess *rs)
{
	uint64_t n = 0;

	return !sl_kernel_decode_holds(rq->kernel, rs->cgid, &n) && n <= rs->decided;
}

/*
 * A held write was decided (release: its writer pid goes on). The egress is
 * opened first (unless a person's hold keeps it), then the kernel's count
 * is read: a write held since then is known by it before its writer stops,
 * so when the count is ahead the egress is held again and the writers stay
 * stopped (a SIGCONT would resume that thread too) until it is decided.
 */
static void decided(struct sl_requests *rq, struct sl_session *s, pid_t release, int push_fd)
{
	struct req_sess *rs = sess_get(rq, sl_session_cgroup_id(s));
	bool person = sl_verdicts_session_held(rq->verdicts, sl_session_id(s));

	if (!rs) {
		/* no room to account: fail closed, a person decides (writer stays) */
		log_err("session %s: too many sessions with held writes", sl_session_id(s));
		return;
	}
	rs->decided++;
	if (release && !person)
		set_held(rq, s, false);
	if (!all_decided(rq, rs)) {
		if (release && !person)
			set_held(rq, s, true);
		if (release && rs->n_deferred < SL_REQ_DEFERRED_MAX)
			rs->deferred[rs->n_deferred++] = release;
		else if (release)
			log_err("session %s: pid %d stays stopped (too many released writers "
				"waiting)",
				sl_session_id(s), release);
		return;
	}
	if (release && push_fd >= 0 && !person)
		push_socket(s, release, push_fd);
	if (release)
		cont(s, release);
	for (uint32_t i = 0; i < rs->n_deferred; i++)
		if (rs->deferred[i] != release)
			cont(s, rs->deferred[i]);
	rs->n_deferred = 0;
}

static void released_record(struct sl_requests *rq, struct sl_session *s, const struct req_act *a,
			    int64_t hold_us)
{
	json_t *rec = json_object();
	char conn[2 + 16 + 1];

	if (!rec)
		return;
	snprintf(conn, sizeof(conn), "0x%" PRIx64, (uint64_t)a->v.conn);
	json_object_set_new(rec, "type", json_string("verdict"));
	json_object_set_new(rec, "session", json_string(sl_session_id(s)));
	json_object_set_new(rec, "rule", json_null());
	json_object_set_new(rec, "verdict", json_string("released"));
	json_object_set_new(rec, "decoded", json_true());
	json_object_set_new(rec, "channel", json_string("tls"));
	json_object_set_new(rec, "pid", json_integer(a->v.hdr.pid));
	json_object_set_new(rec, "tid", json_integer(a->v.hdr.tid));
	json_object_set_new(rec, "conn", json_string(conn));
	json_object_set_new(rec, "requests", json_integer(a->n_requests));
	json_object_set_new(rec, "hold_us", json_integer(hold_us));
	sl_journal_write(rq->journal, rec);
	json_decref(rec);
}

void sl_requests_act(struct sl_requests *rq)
{
	size_t n;

	if (!rq)
		return;
	n = rq->n_acts;
	rq->n_acts = 0;
	for (size_t i = 0; i < n; i++) {
		struct req_act *a = &rq->acts[i];
		/* no sessions room: a room driven alone (tests/fuzz/fuzz_requests.c) */
		struct sl_session *s =
		    rq->sessions ? sl_session_by_cgroup(rq->sessions, a->v.hdr.cgroup_id) : NULL;
		uint64_t now = boot_ns();
		int64_t hold_us = now > a->ktime ? (int64_t)((now - a->ktime) / 1000) : 0;
		struct req_held *h = held_find(rq, a->v.hdr.tid, a->ktime);

		/* pair with the verdict record: seen already, or still to come */
		if (h && h->state == HELD_WAIT_CAPTURE) {
			h->state = HELD_FREE;
		} else if (!h) {
			h = held_new(rq);
			h->state = HELD_WAIT_VERDICT;
			h->tid = a->v.hdr.tid;
			h->ktime = a->ktime;
			h->since_ms = mono_ms();
		}
		if (!s || !sl_session_active(s)) {
			act_clear(a);
			continue;
		}
		switch (a->kind) {
		case ACT_RELEASE:
			decided(rq, s, (pid_t)a->v.hdr.pid, a->push_fd);
			released_record(rq, s, a, hold_us);
			break;
		case ACT_ALERT:
			decided(rq, s, (pid_t)a->v.hdr.pid, a->push_fd);
			sl_verdicts_decoded(rq->verdicts, &a->v, a->request, NULL, hold_us);
			break;
		case ACT_STOP:
			sl_verdicts_decoded(rq->verdicts, &a->v, a->request, NULL, hold_us);
			decided(rq, s, 0, -1);
			break;
		case ACT_UNDECIDE:
			log_warn("session %s: a held write could not be decided (%s): held for a "
				 "person",
				 sl_session_id(s), a->why);
			sl_verdicts_decoded(rq->verdicts, &a->v, a->request, a->why, hold_us);
			decided(rq, s, 0, -1);
			break;
		}
		act_clear(a);
	}
}

void sl_requests_hold_verdict(struct sl_requests *rq, const struct sl_verdict_event *v)
{
	struct req_held *h;

	if (!rq || !(v->flags & SL_VERDICT_DECODE))
		return;
	h = held_find(rq, v->hdr.tid, v->file_ino);
	if (h) {
		/* its capture was read and decided */
		h->state = HELD_FREE;
		return;
	}
	h = held_new(rq);
	h->state = HELD_WAIT_CAPTURE;
	h->tid = v->hdr.tid;
	h->ktime = v->file_ino;
	h->since_ms = mono_ms();
	h->v = *v;
}

void sl_requests_tick(struct sl_requests *rq)
{
	int64_t now;

	if (!rq)
		return;
	now = mono_ms();
	for (size_t i = 0; i < SL_REQ_HELD_MAX; i++) {
		struct req_held *h = &rq->held[i];
		struct sl_verdict_event v;
		struct sl_session *s;
		uint64_t bn;

		if (h->state == HELD_WAIT_VERDICT && now - h->since_ms > 60000)
			h->state = HELD_FREE; /* its verdict was lost: nothing to do */
		if (h->state != HELD_WAIT_CAPTURE || now - h->since_ms < SL_REQ_CAPTURE_WAIT_MS)
			continue;
		/* the capture never came: the daemon cannot decide, a person does */
		v = h->v;
		v.rule = SL_RULE_DECODE;
		v.action = SL_KACT_FREEZE;
		v.flags = SL_VERDICT_DECODE | SL_VERDICT_ENFORCED;
		h->state = HELD_FREE;
		bn = boot_ns();
		sl_verdicts_decoded(rq->verdicts, &v, NULL,
				    "the capture record of the held write was not received "
				    "(lost or the bulk ring is paused)",
				    bn > h->ktime ? (int64_t)((bn - h->ktime) / 1000) : 0);
		s = sl_session_by_cgroup(rq->sessions, v.hdr.cgroup_id);
		if (s && sl_session_active(s))
			decided(rq, s, 0, -1);
	}
	for (size_t i = 0; i < SL_REQ_SESSIONS_MAX; i++) {
		struct sl_session *s =
		    rq->sess[i].cgid ? sl_session_by_cgroup(rq->sessions, rq->sess[i].cgid) : NULL;
		if (rq->sess[i].cgid && (!s || !sl_session_active(s)))
			rq->sess[i].cgid = 0;
	}
	/* decoders of sessions that ended */
	for (size_t i = 0; i < rq->n_conns;) {
		struct sl_session *s = sl_session_by_cgroup(rq->sessions, rq->conns[i].cgid);

		if (!s || !sl_session_active(s))
			conn_drop(rq, i);
		else
			i++;
	}
}
