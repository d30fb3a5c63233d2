// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * scopelock report SESSION LOG...: a session's credential inventory from
 * the audit log. Every credential the session touched, registered or
 * discovered (credential_found records, and the `secrets` member scopelock
 * adds to every record whose values it redacted), with its kind,
 * environment and where it was found; the hosts it was sent to (TLS and
 * plaintext writes that carried it); the actions that carried it and what
 * was decided (alerts, their verdicts); and the files of other
 * environments than the session's scope that the session read. Values are
 * never in the log, so never here: fingerprints only.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "cli.h"
#include "jsonbytes.h"
#include "logread.h"

static const char report_usage[] =
    "Usage: scopelock report [--json] SESSION LOG...\n"
    "\n"
    "The credential inventory of a session, from its audit log: each credential\n"
    "it touched (fingerprint, kind, environment, where and when it was found),\n"
    "the hosts it was sent to, the actions that carried it and what was decided;\n"
    "then the files of other environments than the session's scope that it read.\n"
    "SESSION is a session id or the --name it was started with. LOG is an audit\n"
    "log segment (.jsonl, .jsonl.zst, .jsonl.gz) or an audit directory. No value\n"
    "of a credential is in the log, so none is printed: fingerprints only.\n"
    "\n"
    "Options:\n"
    "  -j, --json   one JSON object\n"
    "  -h, --help   show this help\n"
    "\n"
    "Exit status: 0 the session was found, 1 it is not in the logs, 2 an error.\n"
    "\n"
    "Examples:\n"
    "  sudo scopelock report 3f9a0c12be7d4411 /var/log/scopelock\n"
    "  sudo scopelock report --json fix-1234 /var/log/scopelock | jq .credentials\n";

struct report {
	const char *want; /* id or name */
	char *sid;	  /* the session's id, once its session_start is seen */
	json_t *start, *end, *killed;
	json_t *creds;	/* fingerprint -> {..., "sent_to": {host: writes}, "actions": [...]} */
	json_t *files;	/* path -> {"env": [...], "first": time, "opens": n} */
	json_t *alerts; /* every alert of the session, short */
	uint64_t records;
};

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* the credential entry of fingerprint fp, made from what e says when new */
static json_t *cred_of(struct report *r, const char *fp, json_t *e)
{
	static const char *const keep[] = {"kind",	  "key",	"env", "source",
					   "source_file", "source_env", "dev", "ino"};
	json_t *c = json_object_get(r->creds, fp);

	if (!c) {
		c = json_pack("{s:s, s:{}, s:[]}", "fingerprint", fp, "sent_to", "actions");
		if (!c || json_object_set_new(r->creds, fp, c))
			return NULL;
	}
	/* what is known of it: the first word on each member stays */
	for (size_t i = 0; e && i < sizeof(keep) / sizeof(keep[0]); i++) {
		json_t *v = json_object_get(e, keep[i]);

		if (v && !json_object_get(c, keep[i]))
			json_object_set(c, keep[i], v);
	}
	return c;
}

/* where a write went: its server name, else its peer */
static char *write_host(json_t *rec)
{
	json_t *peer = json_object_get(rec, "peer");
	char *sni = NULL, *out = NULL;
	size_t n;

	if (!sl_json_bytes_decode(json_object_get(rec, "sni"), &sni, &n) && n) {
		out = sni;
		return out;
	}
	free(sni);
	if (json_is_object(peer) && str(peer, "addr") &&
	    asprintf(&out, "%s:%lld", str(peer, "addr"),
		     (long long)json_integer_value(json_object_get(peer, "port"))) < 0)
		out = NULL;
	return out;
}

static void note_action(json_t *c, json_t *rec)
{
	const char *type = str(rec, "type");
	json_t *a = json_pack("{s:s?, s:s?}", "time", str(rec, "time"), "record", type);

	if (!a)
		return;
	if (!strcmp(type, "alert")) {
		json_object_set(a, "rule", json_object_get(rec, "rule"));
		json_object_set(a, "channel", json_object_get(rec, "channel"));
		json_object_set(a, "verdict", json_object_get(rec, "verdict"));
		json_object_set(a, "target", json_object_get(rec, "target"));
	} else {
		json_object_set(a, "seq", json_object_get(rec, "seq"));
		json_object_set(a, "pid", json_object_get(rec, "pid"));
	}
	json_array_append_new(json_object_get(c, "actions"), a);
}

/* a record of the session that names credentials (secrets) or the alert's evidence */
static void on_credentials(struct report *r, json_t *rec, json_t *list)
{
	const char *type = str(rec, "type");
	bool write = !strcmp(type, "tls_write") || !strcmp(type, "plain_write");
	bool action =
	    write || !strcmp(type, "exec") || !strcmp(type, "alert") || !strcmp(type, "connect");
	size_t i;
	json_t *e;

	json_array_foreach (list, i, e) {
		const char *fp = str(e, "fingerprint");
		json_t *c;

		if (!fp || !(c = cred_of(r, fp, e)))
			continue;
		if (write) {
			char *host = write_host(rec);

			if (host) {
				json_t *sent = json_object_get(c, "sent_to");

				json_object_set_new(
				    sent, host,
				    json_integer(json_integer_value(json_object_get(sent, host)) +
						 1));
				free(host);
			}
		}
		/* writes are counted per host; alerts and execs are the decisions */
		if (action && !write)
			note_action(c, rec);
	}
}

static void on_open(struct report *r, json_t *rec)
{
	const char *scope = str(r->start, "scope");
	json_t *envs = json_object_get(rec, "env"), *x, *f;
	char *path = NULL;
	bool other = false;
	size_t i, n;

	json_array_foreach (envs, i, x)
		if (json_is_string(x) && (!scope || strcmp(json_string_value(x), scope)))
			other = true;
	if (!other || sl_json_bytes_decode(json_object_get(rec, "path"), &path, &n) || !n) {
		free(path);
		return;
	}
	f = json_object_get(r->files, path);
	if (!f) {
		f = json_pack("{s:O, s:s?, s:i}", "env", envs, "first", str(rec, "time"), "opens",
			      0);
		if (!f || json_object_set_new(r->files, path, f)) {
			free(path);
			return;
		}
	}
	json_object_set_new(f, "opens",
			    json_integer(json_integer_value(json_object_get(f, "opens")) + 1));
	free(path);
}

static void on_record(void *ctx, json_t *rec)
{
	struct report *r = ctx;
	const char *type = str(rec, "type"), *sess = str(rec, "session");
	json_t *ev;

	if (!type || !sess)
		return;
	if (!r->sid) {
		/* the session this report is about: its id or its name */
		if (strcmp(type, "session_start") ||
		    (strcmp(sess, r->want) &&
		     (!str(rec, "name") || strcmp(str(rec, "name"), r->want))))
			return;
		r->sid = strdup(sess);
		r->start = json_incref(rec);
		return;
	}
	if (strcmp(sess, r->sid))
		return;
	r->records++;
	if (!strcmp(type, "session_end")) {
		json_decref(r->end);
		r->end = json_incref(rec);
	} else if (!strcmp(type, "session_killed")) {
		json_decref(r->killed);
		r->killed = json_incref(rec);
	} else if (!strcmp(type, "credential_found")) {
		json_t *c = cred_of(r, str(rec, "fingerprint") ?: "", rec);

		if (c && !json_object_get(c, "found"))
			json_object_set(c, "found", json_object_get(rec, "time"));
		if (c && str(rec, "source_file") && !json_object_get(c, "source"))
			json_object_set_new(c, "source", json_string("discovered"));
	} else if (!strcmp(type, "open")) {
		on_open(r, rec);
	}
	if (!strcmp(type, "alert")) {
		json_array_append_new(r->alerts,
				      json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?}", "time",
						str(rec, "time"), "rule", str(rec, "rule"),
						"channel", str(rec, "channel"), "verdict",
						str(rec, "verdict"), "target", str(rec, "target")));
		ev = json_object_get(json_object_get(rec, "evidence"), "credentials");
		if (json_is_array(ev))
			on_credentials(r, rec, ev);
	}
	if (json_is_array(json_object_get(rec, "secrets")))
		on_credentials(r, rec, json_object_get(rec, "secrets"));
}

static json_t *report_json(struct report *r)
{
	json_t *creds = json_array(), *c;
	const char *fp;

	json_object_foreach (r->creds, fp, c)
		json_array_append(creds, c);
	return json_pack("{s:s, s:O, s:O?, s:O?, s:I, s:o, s:O, s:O}", "session", r->sid,
			 "session_start", r->start, "session_end", r->end, "session_killed",
			 r->killed, "records", (json_int_t)r->records, "credentials", creds,
			 "other_environment_files", r->files, "alerts", r->alerts);
}

static void print_text(struct report *r)
{
	const char *fp, *path, *host;
	json_t *c, *f, *v;
	size_t i;

	printf("session %s (scope %s, user %s%s%s), started %s\n", r->sid,
	       str(r->start, "scope") ?: "?", str(r->start, "user") ?: "?",
	       str(r->start, "name") ? ", name " : "", str(r->start, "name") ?: "",
	       str(r->start, "time") ?: "?");
	if (r->killed)
		printf("  killed: %s\n", str(r->killed, "reason") ?: "?");
	if (r->end)
		printf("  ended %s after %lld events\n", str(r->end, "time") ?: "?",
		       (long long)json_integer_value(json_object_get(r->end, "events")));
	else
		printf("  no session_end in these logs: running, or its end is in another log\n");
	printf("credentials touched: %zu\n", json_object_size(r->creds));
	json_object_foreach (r->creds, fp, c) {
		json_t *sent = json_object_get(c, "sent_to"), *acts = json_object_get(c, "actions");

		printf("  %s  %s%s%s%s  environment %s\n", fp, str(c, "kind") ?: "credential",
		       str(c, "key") ? " (" : "", str(c, "key") ?: "", str(c, "key") ? ")" : "",
		       str(c, "env") ?: "?");
		if (str(c, "source_file"))
			printf("    found in %s%s%s\n", str(c, "source_file"),
			       str(c, "found") ? " at " : "", str(c, "found") ?: "");
		else if (str(c, "source_env"))
			printf("    found in the session's environment\n");
		else if (str(c, "source"))
			printf("    source: %s\n", str(c, "source"));
		json_object_foreach (sent, host, v)
			printf("    sent to %s (%lld writes)\n", host,
			       (long long)json_integer_value(v));
		if (!json_object_size(sent))
			printf("    sent to no host in these logs\n");
		json_array_foreach (acts, i, v) {
			if (str(v, "rule"))
				printf("    %s: rule '%s' on %s: %s (target %s)\n",
				       str(v, "time") ?: "?", str(v, "rule"),
				       str(v, "channel") ?: "?", str(v, "verdict") ?: "?",
				       str(v, "target") ?: "?");
			else
				printf("    %s: %s (seq %lld, pid %lld)\n", str(v, "time") ?: "?",
				       str(v, "record") ?: "?",
				       (long long)json_integer_value(json_object_get(v, "seq")),
				       (long long)json_integer_value(json_object_get(v, "pid")));
		}
	}
	printf("files of other environments read: %zu\n", json_object_size(r->files));
	json_object_foreach (r->files, path, f) {
		char envs[256] = "";
		size_t off = 0;

		json_array_foreach (json_object_get(f, "env"), i, v)
			if (json_is_string(v) && off < sizeof(envs))
				off += (size_t)snprintf(envs + off, sizeof(envs) - off, "%s%s",
							i ? ", " : "", json_string_value(v));
		printf("  %s  (%s) first %s, %lld opens\n", path, envs, str(f, "first") ?: "?",
		       (long long)json_integer_value(json_object_get(f, "opens")));
	}
	printf("alerts: %zu\n", json_array_size(r->alerts));
	json_array_foreach (r->alerts, i, v)
		printf("  %s: rule '%s' on %s: %s (target %s)\n", str(v, "time") ?: "?",
		       str(v, "rule") ?: "?", str(v, "channel") ?: "?", str(v, "verdict") ?: "?",
		       str(v, "target") ?: "?");
}

int cmd_report(const struct sl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct report r = {0};
	bool json = false;
	int c, ret = 2;

	(void)cli;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(report_usage, stdout);
			return 0;
		default:
			fputs(report_usage, stderr);
			return 2;
		}
	}
	if (argc - optind < 2) {
		fprintf(stderr, "scopelock report: %s\n%s",
			optind >= argc ? "no SESSION given" : "no LOG given", report_usage);
		return 2;
	}
	r.want = argv[optind];
	r.creds = json_object();
	r.files = json_object();
	r.alerts = json_array();
	if (!r.creds || !r.files || !r.alerts)
		goto out;
	for (int i = optind + 1; i < argc; i++)
		if (sl_log_read_path("scopelock report", argv[i], on_record, &r))
			goto out;
	if (!r.sid) {
		fprintf(stderr, "scopelock report: no session '%s' (by id or name) in these logs\n",
			r.want);
		ret = 1;
		goto out;
	}
	if (json) {
		json_t *o = report_json(&r);

		if (!o || json_dumpf(o, stdout, JSON_INDENT(2)) || putchar('\n') == EOF) {
			json_decref(o);
			goto out;
		}
		json_decref(o);
	} else {
		print_text(&r);
	}
	ret = 0;
out:
	free(r.sid);
	json_decref(r.start);
	json_decref(r.end);
	json_decref(r.killed);
	json_decref(r.creds);
	json_decref(r.files);
	json_decref(r.alerts);
	return ret;
}
