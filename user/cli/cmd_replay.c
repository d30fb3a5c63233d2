// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * scopelock replay LOG... --policy FILE: the recorded sessions' actions
 * judged again by a candidate policy through the user-side decision model
 * (user/lib/policy_match.c on include/scopelock_decide.h, the model the
 * kernel's matcher is tested against), and what it would have decided
 * differently from what the log says was decided.
 *
 * Per session (session_start: its scope), in the log's order: read opens
 * of labelled files taint the session; exec, tls_write (the connection's
 * stream so far), connect and open are actions. An action's evidence
 * environments are the candidate policy's labels of what the record holds:
 * label strings in the argv or stream (the compiled automaton, as the
 * kernel scans), the credentials the record names (`secrets`, by
 * environment name: the values themselves are redacted in the log), the
 * working directory and absolute path arguments of an exec, the server
 * name and peer of a TLS connection, the address of a connect, the file of
 * an open. The recorded decision is the alert or verdict record that
 * follows the action for the same session, process and channel.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <jansson.h>

#include "audit.h"
#include "cli.h"
#include "jsonbytes.h"
#include "logread.h"
#include "policy.h"
#include "policy_compile.h"

static const char replay_usage[] =
    "Usage: scopelock replay --policy FILE [--json] [--all] LOG...\n"
    "\n"
    "Run the actions of recorded sessions through a candidate policy and print\n"
    "what it would have decided differently: how a policy is tuned before it is\n"
    "deployed. LOG is an audit log segment (.jsonl, .jsonl.zst, .jsonl.gz) or an\n"
    "audit directory (its audit*.jsonl[.zst|.gz] files, oldest first).\n"
    "\n"
    "Every exec, TLS write, connect and open of every session in the logs is\n"
    "judged by the candidate policy's rules with the user-side decision model\n"
    "(the one the kernel's matcher is tested against): the session's scope from\n"
    "its session_start, its taint from the labelled files it read, the evidence\n"
    "environments from the candidate's labels of what the record holds. The\n"
    "recorded decision is the alert or verdict record that followed the action.\n"
    "Actions after a recorded kill did not happen and cannot be replayed.\n"
    "\n"
    "Options:\n"
    "  -p, --policy FILE  the candidate policy (layers and drop-ins as the daemon\n"
    "                     reads them; its secret files are read when readable)\n"
    "  -j, --json         one JSON object per changed action, then a summary object\n"
    "  -a, --all          print every action judged, not only the changed ones\n"
    "  -h, --help         show this help\n"
    "\n"
    "Exit status:\n"
    "  0  the candidate decides every recorded action as it was decided\n"
    "  1  some actions would be decided differently (printed)\n"
    "  2  usage error, a policy that does not load, or a log that cannot be read\n"
    "\n"
    "EXAMPLES\n"
    "  scopelock replay --policy /etc/scopelock/policy.yaml /var/log/scopelock\n"
    "      the running policy against the whole log: no output, exit 0, when it\n"
    "      decides as the daemon did\n"
    "  scopelock replay --policy candidate.yaml incident/audit.jsonl\n"
    "      what a modified policy would have done in a recorded incident\n"
    "  scopelock replay --json --policy candidate.yaml /var/log/scopelock |\n"
    "      jq -c 'select(.candidate)|[.session,.channel,.recorded.action,.candidate.action]'\n";

/* a decision as recorded or as the candidate takes it */
struct decision {
	char rule[128]; /* "" none */
	char action[16];
	bool monitor;
};

struct conn {
	char key[96]; /* session pid conn */
	char *data;
	size_t len;
	struct conn *next;
};

struct session {
	char id[40];
	char scope[80];
	uint32_t scope_env;
	uint64_t taint;
	struct session *next;
};

/* an action waiting for its recorded decision */
struct pending {
	bool used;
	uint64_t seq;
	char session[40];
	long long pid;
	const char *channel;
	char *subject;
	struct decision cand;
	struct decision rec;
	bool have_rec;
};

struct replay {
	struct sl_policy *p;
	struct sl_compiled_policy *c;
	bool json, all;
	struct session *sessions;
	struct conn *conns;
	struct pending *acts;
	size_t n_acts, cap_acts;
	uint64_t actions, changed, stronger, weaker, sessions_n;
};

static const char *action_rank[] = {"", "log", "alert", "deny", "freeze", "kill"};

static int rank(const char *a)
{
	for (size_t i = 0; i < sizeof(action_rank) / sizeof(action_rank[0]); i++)
		if (!strcmp(a, action_rank[i]))
			return (int)i;
	return 0;
}

static struct session *session_get(struct replay *r, const char *id, bool create)
{
	struct session *s;

	for (s = r->sessions; s; s = s->next)
		if (!strcmp(s->id, id))
			return s;
	if (!create || !(s = calloc(1, sizeof(*s))))
		return NULL;
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->next = r->sessions;
	r->sessions = s;
	return s;
}

static uint32_t env_id(const struct sl_policy *p, const char *name)
{
	for (uint32_t i = 0; name && i < p->n_envs; i++)
		if (!strcmp(p->envs[i].name, name))
			return p->envs[i].id;
	return 0;
}

/* a bytes member as a NUL-terminated string (malloc'd) or NULL */
static char *bytes_of(json_t *rec, const char *key, size_t *len)
{
	json_t *v = json_object_get(rec, key);
	char *out = NULL;
	size_t l = 0;

	if (!v || json_is_null(v) || sl_json_bytes_decode(v, &out, &l))
		return NULL;
	if (len)
		*len = l;
	return out;
}

/* the environments of the credentials the record names ("secrets": [{"env"}]) */
static uint64_t secrets_env(const struct sl_policy *p, json_t *rec)
{
	json_t *a = json_object_get(rec, "secrets"), *it;
	uint64_t env = 0;
	size_t i;

	json_array_foreach (a, i, it) {
		uint32_t id = env_id(p, json_string_value(json_object_get(it, "env")));

		if (id)
			env |= 1ULL << id;
	}
	return env;
}

/* label strings in buf, scanned as the kernel does; the policy's keywords seen */
static uint64_t scan(struct replay *r, uint32_t channel, const char *buf, size_t len,
		     uint64_t seen[SL_POLICY_KW_WORDS])
{
	uint64_t kw[SL_KW_WORDS] = {0}, env = 0;
	uint16_t cs = 0, ci = 0;

	sl_compiled_scan(r->c, &cs, &ci, buf, len, kw, &env);
	sl_policy_keywords_scan(r->p, channel, buf, len, seen);
	return env;
}

static void decide(struct replay *r, struct session *s, uint32_t channel,
		   const uint64_t seen[SL_POLICY_KW_WORDS], uint64_t evidence, bool unread,
		   struct decision *d)
{
	struct sl_policy_decision pd;

	sl_policy_decide(r->p, channel, seen, evidence, s->taint, s->scope_env, false, unread, &pd);
	memset(d, 0, sizeof(*d));
	if (pd.rule == -1)
		return;
	snprintf(d->rule, sizeof(d->rule), "%s",
		 pd.rule == SL_POLICY_RULE_UNREADABLE ? "unreadable-evidence"
						      : r->p->rules[pd.rule].name);
	snprintf(d->action, sizeof(d->action), "%s", sl_policy_action_name(pd.action));
	d->monitor = pd.monitor;
}

static struct pending *act_new(struct replay *r, json_t *rec, struct session *s,
			       const char *channel, char *subject)
{
	struct pending *a;

	if (r->n_acts == r->cap_acts) {
		size_t cap = r->cap_acts ? r->cap_acts * 2 : 256;
		struct pending *n = realloc(r->acts, cap * sizeof(*n));

		if (!n) {
			free(subject);
			return NULL;
		}
		r->acts = n;
		r->cap_acts = cap;
	}
	a = &r->acts[r->n_acts++];
	memset(a, 0, sizeof(*a));
	a->seq = (uint64_t)json_integer_value(json_object_get(rec, "seq"));
	snprintf(a->session, sizeof(a->session), "%s", s->id);
	a->pid = (long long)json_integer_value(json_object_get(rec, "pid"));
	a->channel = channel;
	a->subject = subject;
	r->actions++;
	return a;
}

static void on_exec(struct replay *r, json_t *rec, struct session *s)
{
	uint64_t seen[SL_POLICY_KW_WORDS] = {0}, ev;
	json_t *argv = json_object_get(rec, "argv"), *it;
	char **args = NULL, *subject = NULL, *cwd;
	size_t n = json_array_size(argv), len = 0, i;
	struct pending *a;

	args = calloc(n + 1, sizeof(*args));
	if (!args)
		return;
	json_array_foreach (argv, i, it)
		if (sl_json_bytes_decode(it, &args[i], &len))
			args[i] = strdup("");
	if (sl_policy_exec_subject(args, &subject, &len))
		goto out;
	ev = scan(r, SL_CHAN_EXEC, subject, len, seen) | secrets_env(r->p, rec);
	/* the working directory and the absolute paths among the arguments */
	cwd = bytes_of(rec, "cwd", NULL);
	if (cwd && *cwd)
		ev |= sl_policy_env_for_path(r->p, cwd);
	free(cwd);
	/* arguments: the kernel's path trie only (exact and DIR/ ** labels) */
	for (i = 1; i < n; i++)
		if (args[i] && args[i][0] == '/')
			ev |= sl_policy_env_for_arg(r->p, args[i]);
	a = act_new(r, rec, s, "exec", subject);
	subject = NULL;
	if (a)
		decide(r, s, SL_CHAN_EXEC, seen, ev,
		       json_is_true(json_object_get(rec, "args_truncated")), &a->cand);
out:
	for (i = 0; i < n; i++)
		free(args[i]);
	free(args);
	free(subject);
}

static uint64_t host_env(const struct sl_policy *p, const char *name, const char *addr, int port)
{
	uint8_t raw[16];
	int fam = 0;

	if (addr && inet_pton(AF_INET, addr, raw) == 1)
		fam = AF_INET;
	else if (addr && inet_pton(AF_INET6, addr, raw) == 1)
		fam = AF_INET6;
	return sl_policy_env_for_host(p, name, fam ? raw : NULL, fam, (uint16_t)port);
}

/* what a person reads of a write: its first line, and its end when it is long */
static char *tls_subject(const char *d, size_t len)
{
	size_t first = 0, o = 0;
	char *out = malloc(2 * 160 + 8);

	if (!out)
		return NULL;
	while (first < len && first < 160 && d[first] != '\r' && d[first] != '\n')
		first++;
	for (size_t i = 0; i < first; i++)
		out[o++] = d[i];
	if (len > first) {
		size_t from = len - first > 160 ? len - 160 : first;

		memcpy(out + o, from > first ? " ... " : " ", from > first ? 5 : 1);
		o += from > first ? 5 : 1;
		for (size_t i = from; i < len; i++)
			out[o++] = d[i];
	}
	out[o] = '\0';
	/* control characters (line ends, escapes) shown as spaces */
	for (size_t i = 0; i < o; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = ' ';
	return out;
}

static void on_tls(struct replay *r, json_t *rec, struct session *s)
{
	uint64_t seen[SL_POLICY_KW_WORDS] = {0}, ev;
	json_t *peer = json_object_get(rec, "peer");
	char key[96], *data, *sni, *subject;
	size_t len = 0;
	struct conn *c;
	struct pending *a;

	snprintf(key, sizeof(key), "%s %lld %s", s->id,
		 (long long)json_integer_value(json_object_get(rec, "pid")),
		 json_string_value(json_object_get(rec, "conn")) ?: "?");
	for (c = r->conns; c && strcmp(c->key, key); c = c->next)
		;
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return;
		snprintf(c->key, sizeof(c->key), "%s", key);
		c->next = r->conns;
		r->conns = c;
	}
	data = bytes_of(rec, "data", &len);
	if (data && len) {
		char *n = realloc(c->data, c->len + len + 1);

		if (n) {
			memcpy(n + c->len, data, len);
			c->len += len;
			n[c->len] = '\0';
			c->data = n;
		}
	}
	/* the stream so far, as the kernel's automaton state per connection carries it */
	ev = scan(r, SL_CHAN_TLS, c->data ?: "", c->len, seen) | secrets_env(r->p, rec);
	sni = bytes_of(rec, "sni", NULL);
	ev |= host_env(r->p, sni, json_string_value(json_object_get(peer, "addr")),
		       (int)json_integer_value(json_object_get(peer, "port")));
	free(sni);
	subject = tls_subject(data, data ? len : 0);
	free(data);
	a = act_new(r, rec, s, "tls", subject);
	if (a)
		decide(r, s, SL_CHAN_TLS, seen, ev, json_is_true(json_object_get(rec, "truncated")),
		       &a->cand);
}

static void on_connect(struct replay *r, json_t *rec, struct session *s)
{
	uint64_t seen[SL_POLICY_KW_WORDS] = {0}, ev;
	const char *addr = json_string_value(json_object_get(rec, "mapped_ipv4"))
			       ?: json_string_value(json_object_get(rec, "addr"));
	int port = (int)json_integer_value(json_object_get(rec, "port"));
	struct pending *a;
	char *subject = NULL;

	ev = host_env(r->p, NULL, addr, port);
	if (asprintf(&subject, "%s port %d", addr ?: "?", port) < 0)
		subject = NULL;
	a = act_new(r, rec, s, "connect", subject);
	if (a)
		decide(r, s, SL_CHAN_CONNECT, seen, ev, false, &a->cand);
}

static void on_open(struct replay *r, json_t *rec, struct session *s)
{
	uint64_t seen[SL_POLICY_KW_WORDS] = {0}, ev;
	long long flags = (long long)json_integer_value(json_object_get(rec, "flags"));
	char *path = bytes_of(rec, "path", NULL);
	struct pending *a;
	bool partial;

	if (!path)
		return; /* a failed open: nothing was opened */
	/* as the kernel decides it: a partial path (a tail) is no path label's,
	 * except a walk cut at its limits (every wildcard glob, fail closed) */
	partial = json_is_true(json_object_get(rec, "path_partial"));
	ev = sl_policy_env_for_open(r->p, path, partial,
				    partial && path[0] == '/' &&
					!json_is_true(json_object_get(rec, "read_fault")));
	a = act_new(r, rec, s, "open", strdup(path));
	if (a)
		decide(r, s, SL_CHAN_OPEN, seen, ev, false, &a->cand);
	/* a labelled file read taints the session (O_WRONLY does not) */
	if ((flags & 3) != 1)
		s->taint |= ev;
	free(path);
}

/* an alert or verdict: the decision of the last action of its session, process, channel */
static void on_decision(struct replay *r, json_t *rec)
{
	const char *sid = json_string_value(json_object_get(rec, "session"));
	const char *chan = json_string_value(json_object_get(rec, "channel"));
	const char *rule = json_string_value(json_object_get(rec, "rule"));
	const char *action = json_string_value(json_object_get(rec, "action"));
	long long pid = (long long)json_integer_value(json_object_get(rec, "pid"));

	if (!sid || !chan || !rule || !strcmp(rule, "credential_exposure") ||
	    !strcmp(rule, "session-killed") || !strcmp(rule, "undecidable-request"))
		return;
	for (size_t i = r->n_acts; i-- > 0;) {
		struct pending *a = &r->acts[i];

		if (a->pid != pid || strcmp(a->channel, chan) || strcmp(a->session, sid))
			continue;
		if (a->have_rec)
			return; /* its decision is already known: this one is not its */
		a->have_rec = true;
		snprintf(a->rec.rule, sizeof(a->rec.rule), "%s", rule);
		snprintf(a->rec.action, sizeof(a->rec.action), "%s", action ?: "");
		a->rec.monitor = json_is_true(json_object_get(rec, "monitor"));
		return;
	}
}

static void on_record(struct replay *r, json_t *rec)
{
	const char *type = json_string_value(json_object_get(rec, "type"));
	const char *sid = json_string_value(json_object_get(rec, "session"));
	struct session *s;

	if (!type)
		return;
	if (!strcmp(type, "alert") || !strcmp(type, "verdict")) {
		on_decision(r, rec);
		return;
	}
	if (!sid)
		return;
	if (!strcmp(type, "session_start")) {
		s = session_get(r, sid, true);
		if (!s)
			return;
		snprintf(s->scope, sizeof(s->scope), "%s",
			 json_string_value(json_object_get(rec, "scope")) ?: "");
		s->scope_env = env_id(r->p, s->scope);
		s->taint = 0;
		r->sessions_n++;
		if (!s->scope_env)
			fprintf(stderr,
				"scopelock replay: session %s: its scope '%s' is no environment of "
				"the candidate policy\n",
				sid, s->scope);
		return;
	}
	s = session_get(r, sid, false);
	if (!s)
		return; /* its session_start is not in the logs given */
	if (!strcmp(type, "exec"))
		on_exec(r, rec, s);
	else if (!strcmp(type, "tls_write"))
		on_tls(r, rec, s);
	else if (!strcmp(type, "connect"))
		on_connect(r, rec, s);
	else if (!strcmp(type, "open"))
		on_open(r, rec, s);
}

static void record_cb(void *ctx, json_t *rec)
{
	on_record(ctx, rec);
}

static json_t *decision_json(const struct decision *d)
{
	if (!d->rule[0])
		return json_null();
	return json_pack("{s:s, s:s, s:b}", "rule", d->rule, "action", d->action, "monitor",
			 d->monitor);
}

static void print_decision(const char *what, const struct decision *d)
{
	if (!d->rule[0])
		printf("    %-9s nothing (no rule matched)\n", what);
	else
		printf("    %-9s %s%s (rule %s)\n", what, d->action, d->monitor ? ", monitor" : "",
		       d->rule);
}

static void report(struct replay *r)
{
	for (size_t i = 0; i < r->n_acts; i++) {
		struct pending *a = &r->acts[i];
		bool same = !strcmp(a->rec.rule, a->cand.rule) &&
			    !strcmp(a->rec.action, a->cand.action) &&
			    a->rec.monitor == a->cand.monitor;
		/* a monitor decision stops nothing: it ranks below every action */
		int rr = a->rec.monitor ? 0 : rank(a->rec.action);
		int rc = a->cand.monitor ? 0 : rank(a->cand.action);

		if (!same) {
			r->changed++;
			if (rc > rr)
				r->stronger++;
			else if (rc < rr)
				r->weaker++;
		}
		if (same && !r->all)
			continue;
		if (r->json) {
			json_t *o = json_pack(
			    "{s:I, s:s, s:I, s:s, s:s, s:o, s:o, s:b}", "seq", (json_int_t)a->seq,
			    "session", a->session, "pid", (json_int_t)a->pid, "channel", a->channel,
			    "subject", a->subject ?: "", "recorded", decision_json(&a->rec),
			    "candidate", decision_json(&a->cand), "changed", !same);

			if (o) {
				json_dumpf(o, stdout, JSON_COMPACT);
				putchar('\n');
			}
			json_decref(o);
			continue;
		}
		/* what the agent chose, without its control characters (a terminal reads it) */
		for (char *c = a->subject; c && *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
		printf("seq %llu session %s pid %lld %s: %s\n", (unsigned long long)a->seq,
		       a->session, a->pid, a->channel, a->subject ?: "");
		print_decision("recorded", &a->rec);
		print_decision(same ? "same" : "candidate", &a->cand);
	}
	if (r->json) {
		json_t *o =
		    json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "type", "summary", "sessions",
			      (json_int_t)r->sessions_n, "actions", (json_int_t)r->actions,
			      "changed", (json_int_t)r->changed, "stronger",
			      (json_int_t)r->stronger, "weaker", (json_int_t)r->weaker);

		if (o) {
			json_dumpf(o, stdout, JSON_COMPACT);
			putchar('\n');
		}
		json_decref(o);
		return;
	}
	printf("replay: %llu actions in %llu sessions; %llu decided differently (%llu stronger, "
	       "%llu weaker)\n",
	       (unsigned long long)r->actions, (unsigned long long)r->sessions_n,
	       (unsigned long long)r->changed, (unsigned long long)r->stronger,
	       (unsigned long long)r->weaker);
}

static void replay_free(struct replay *r)
{
	while (r->sessions) {
		struct session *s = r->sessions;

		r->sessions = s->next;
		free(s);
	}
	while (r->conns) {
		struct conn *c = r->conns;

		r->conns = c->next;
		free(c->data);
		free(c);
	}
	for (size_t i = 0; i < r->n_acts; i++)
		free(r->acts[i].subject);
	free(r->acts);
	sl_compiled_policy_free(r->c);
	sl_policy_free(r->p);
}

int cmd_replay(const struct sl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"policy", required_argument, NULL, 'p'},
	    {"json", no_argument, NULL, 'j'},
	    {"all", no_argument, NULL, 'a'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct replay r = {0};
	struct sl_policy_errors errs;
	const char *policy = NULL;
	char cerr[512] = "";
	int c, ret = 2;

	(void)cli;
	while ((c = getopt_long(argc, argv, "p:jah", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			policy = optarg;
			break;
		case 'j':
			r.json = true;
			break;
		case 'a':
			r.all = true;
			break;
		case 'h':
			fputs(replay_usage, stdout);
			return 0;
		default:
			fputs(replay_usage, stderr);
			return 2;
		}
	}
	if (!policy || optind >= argc) {
		fprintf(stderr, "scopelock replay: %s\n%s",
			!policy ? "--policy FILE is required" : "no LOG given", replay_usage);
		return 2;
	}
	sl_policy_errors_init(&errs);
	if (sl_policy_load_file(policy, &r.p, &errs)) {
		sl_policy_errors_print(&errs, stderr);
		goto out;
	}
	/* credential values: their labels in argv and streams (fingerprints in the log) */
	if (sl_policy_load_secrets(r.p, &errs)) {
		fprintf(stderr,
			"scopelock replay: the candidate's secret files could not all be "
			"read; credentials are judged by the environments the records name:\n");
		sl_policy_errors_print(&errs, stderr);
	}
	if (sl_policy_compile(r.p, &r.c, cerr, sizeof(cerr))) {
		fprintf(stderr, "scopelock replay: %s: %s\n", policy, cerr[0] ? cerr : "compile");
		goto out;
	}
	for (int i = optind; i < argc; i++)
		if (sl_log_read_path("scopelock replay", argv[i], record_cb, &r))
			goto out;
	report(&r);
	ret = r.changed ? 1 : 0;
out:
	sl_policy_errors_free(&errs);
	replay_free(&r);
	return ret;
}
