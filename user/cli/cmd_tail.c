// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* scopelock tail: audit records as they are written, for people or machines. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "jsonbytes.h"
#include "log.h"
#include "proto.h"
#include "util.h"

static const char usage_text[] =
    "Usage: scopelock tail [--json] [--follow] [--alerts] [--session ID] [--lines N]\n"
    "\n"
    "Show the most recent audit records, one line each: time, session, pid and what\n"
    "happened; with --follow keep showing records as scopelockd writes them.\n"
    "\n"
    "Options:\n"
    "  -f, --follow        keep printing new records until interrupted\n"
    "  -s, --session ID    only records of session ID\n"
    "  -a, --alerts        only alerts, hold decisions and session kills\n"
    "  -n, --lines N       recent records to show first (default 10, max 512)\n"
    "  -j, --json          print the records as written (JSON Lines)\n"
    "  -h, --help          this help\n"
    "\n"
    "Examples:\n"
    "  scopelock tail --follow\n"
    "  scopelock tail --follow --session 3f9a0c12be7d4411\n"
    "  scopelock tail --alerts --follow\n"
    "  scopelock tail --json -n 100 | jq 'select(.type == \"tls_write\")'\n";

/* printable, single-line rendering of a bytes value, at most max chars */
static void put_bytes(FILE *out, json_t *v, size_t max)
{
	char *b = NULL;
	size_t len, i;

	if (!v || json_is_null(v) || sl_json_bytes_decode(v, &b, &len)) {
		fputs("-", out);
		return;
	}
	for (i = 0; i < len && i < max; i++) {
		unsigned char c = (unsigned char)b[i];

		if (c == '\n')
			fputs("\\n", out);
		else if (c == '\r')
			fputs("\\r", out);
		else if (c == '\t')
			fputs("\\t", out);
		else if (c == '\\')
			fputs("\\\\", out);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
	if (len > max)
		fputs("...", out);
	free(b);
}

static void put_argv(FILE *out, json_t *argv)
{
	size_t i;
	json_t *v;

	json_array_foreach (argv, i, v) {
		char *b = NULL;
		size_t len;
		bool quote = false;

		if (sl_json_bytes_decode(v, &b, &len) == 0) {
			for (size_t j = 0; j < len; j++)
				if (isspace((unsigned char)b[j]) || b[j] == '\'' || b[j] == '"')
					quote = true;
			free(b);
		}
		fputs(i ? " " : "", out);
		if (quote || len == 0)
			fputc('\'', out);
		put_bytes(out, v, 200);
		if (quote || len == 0)
			fputc('\'', out);
	}
}

static long long num(json_t *r, const char *k)
{
	return json_integer_value(json_object_get(r, k));
}

static const char *s(json_t *r, const char *k)
{
	const char *v = json_string_value(json_object_get(r, k));

	return v ? v : "-";
}

static void put_peer(FILE *out, json_t *r)
{
	json_t *peer = json_object_get(r, "peer");

	if (json_is_string(json_object_get(r, "sni")) || json_is_object(json_object_get(r, "sni")))
		fprintf(out, " sni=%s", s(r, "sni"));
	if (json_is_object(peer))
		fprintf(out, " peer=%s:%lld", s(peer, "addr"), num(peer, "port"));
}

/* "ALERT a1 rule=R verdict=killed scope=staging target=outside_scope(production) tls: ..." */
static void print_alert(FILE *out, json_t *r)
{
	json_t *ev = json_object_get(r, "evidence"), *v;
	size_t i;

	fprintf(out, "ALERT %s rule=%s verdict=%s scope=%s target=%s", s(r, "alert_id"),
		s(r, "rule"), s(r, "verdict"), s(r, "scope"), s(r, "target"));
	json_array_foreach (json_object_get(r, "target_env"), i, v)
		fprintf(out, "%s%s", i ? "," : "(", json_string_value(v));
	if (json_array_size(json_object_get(r, "target_env")))
		fputc(')', out);
	fprintf(out, " %s:", s(r, "channel"));
	if (json_object_get(ev, "request_line")) {
		fputc(' ', out);
		put_bytes(out, json_object_get(ev, "request_line"), 120);
	}
	if (json_object_get(ev, "graphql")) {
		fputc(' ', out);
		put_bytes(out, json_object_get(ev, "graphql"), 160);
	}
	if (json_object_get(ev, "argv")) {
		fputc(' ', out);
		put_argv(out, json_object_get(ev, "argv"));
	}
	if (json_object_get(ev, "addr"))
		fprintf(out, " %s port %lld", s(ev, "addr"), num(ev, "port"));
	if (json_object_get(ev, "path")) {
		fputc(' ', out);
		put_bytes(out, json_object_get(ev, "path"), 200);
	}
	json_array_foreach (json_object_get(ev, "credentials"), i, v) {
		fprintf(out, "; %s credential %s", s(v, "env"), s(v, "fingerprint"));
		if (json_object_get(v, "source_file"))
			fprintf(out, " from %s", s(v, "source_file"));
	}
	json_array_foreach (json_object_get(r, "taint_files"), i, v) {
		fputs("; session read ", out);
		put_bytes(out, json_object_get(v, "path"), 200);
	}
	if (json_object_get(r, "hold_id"))
		fprintf(out, "; HELD as %s: scopelock approve %s | scopelock deny %s",
			s(r, "hold_id"), s(r, "hold_id"), s(r, "hold_id"));
}

static void print_human(FILE *out, json_t *r)
{
	const char *type = s(r, "type"), *time = s(r, "time");
	const char *sess = json_string_value(json_object_get(r, "session"));
	char when[32] = "";

	/* 2026-11-22T02:19:47.123456789Z -> 02:19:47.123 */
	if (strlen(time) >= 23)
		snprintf(when, sizeof(when), "%.12s", time + 11);
	if (json_is_integer(json_object_get(r, "pid")))
		fprintf(out, "%-12s %-16s %7lld  ", when, sess ? sess : "-", num(r, "pid"));
	else
		fprintf(out, "%-12s %-16s %7s  ", when, sess ? sess : "-", "-");

	if (!strcmp(type, "exec")) {
		fputs("exec ", out);
		put_argv(out, json_object_get(r, "argv"));
		if (json_is_true(json_object_get(r, "args_truncated")))
			fputs(" [argv truncated]", out);
	} else if (!strcmp(type, "exec_failed")) {
		fputs("exec failed ", out);
		put_bytes(out, json_object_get(r, "filename"), 300);
		fprintf(out, ": %s", s(r, "error"));
	} else if (!strcmp(type, "open")) {
		fprintf(out, "open %s ", s(r, "flags_text"));
		if (num(r, "result") >= 0) {
			put_bytes(out, json_object_get(r, "path"), 300);
			fprintf(out, " = fd %lld", num(r, "result"));
		} else {
			put_bytes(out, json_object_get(r, "requested"), 300);
			fprintf(out, ": %s", s(r, "error"));
		}
	} else if (!strcmp(type, "connect") || !strcmp(type, "udp_send")) {
		fprintf(out, "%s %s %s port %lld",
			!strcmp(type, "connect") ? "connect" : "udp send", s(r, "protocol"),
			s(r, "addr"), num(r, "port"));
	} else if (!strcmp(type, "connect_result")) {
		fprintf(out, "connect returned %lld%s%s", num(r, "result"),
			num(r, "result") < 0 ? " " : "", num(r, "result") < 0 ? s(r, "error") : "");
	} else if (!strcmp(type, "tls_write") || !strcmp(type, "tls_read") ||
		   !strcmp(type, "plain_write")) {
		fprintf(out, "%s %lld bytes",
			!strcmp(type, "tls_write")     ? "tls write"
			: !strcmp(type, "plain_write") ? "plaintext write"
						       : "tls read",
			num(r, "len"));
		put_peer(out, r);
		/* the decoded request, one readable line (docs/requests.md) */
		if (json_is_string(json_object_get(json_object_get(r, "request"), "summary"))) {
			fprintf(out, ": %s", s(json_object_get(r, "request"), "summary"));
			if (json_array_size(json_object_get(r, "requests")) > 1)
				fprintf(out, " (+%zu more requests)",
					json_array_size(json_object_get(r, "requests")) - 1);
		} else {
			fputs(": ", out);
			put_bytes(out, json_object_get(r, "data"), 160);
		}
		if (json_is_true(json_object_get(r, "held_for_decoding")))
			fputs(" [held for decoding]", out);
	} else if (!strcmp(type, "verdict") && json_is_true(json_object_get(r, "decoded")) &&
		   !strcmp(s(r, "verdict"), "released")) {
		fprintf(out,
			"RELEASED held write after %lld us (%lld requests decoded, none "
			"stopped)",
			num(r, "hold_us"), num(r, "requests"));
	} else if (!strcmp(type, "exit")) {
		if (json_integer_value(json_object_get(r, "signal")))
			fprintf(out, "exit: killed by signal %lld", num(r, "signal"));
		else
			fprintf(out, "exit %lld", num(r, "exit_code"));
	} else if (!strcmp(type, "session_start")) {
		fprintf(out, "SESSION START scope=%s user=%s: ", s(r, "scope"), s(r, "user"));
		put_argv(out, json_object_get(r, "argv"));
	} else if (!strcmp(type, "session_end")) {
		fprintf(out, "SESSION END (%lld events, %lld ms)", num(r, "events"),
			num(r, "duration_ms"));
	} else if (!strcmp(type, "loss")) {
		fprintf(out, "LOSS %lld %s events: %s (total %lld)", num(r, "count"), s(r, "op"),
			s(r, "cause"), num(r, "total"));
	} else if (!strcmp(type, "alert")) {
		print_alert(out, r);
	} else if (!strcmp(type, "hold_approved") || !strcmp(type, "hold_denied")) {
		fprintf(out, "%s %s (alert %s, rule %s): %s",
			!strcmp(type, "hold_approved") ? "APPROVED" : "DENIED", s(r, "hold_id"),
			s(r, "alert_id"), s(r, "rule"), s(r, "reason"));
	} else if (!strcmp(type, "session_killed")) {
		fprintf(out, "SESSION KILLED: %s", s(r, "reason"));
	} else if (!strcmp(type, "confine_refused")) {
		fprintf(out, "CONFINE REFUSED %s", s(r, "syscall"));
		if (json_object_get(r, "request"))
			fprintf(out, " %s", s(r, "request"));
		if (json_object_get(r, "flags"))
			fprintf(out, " %s", s(r, "flags"));
		if (json_is_integer(json_object_get(r, "target_pid"))) {
			fprintf(out, " of pid %lld (", num(r, "target_pid"));
			put_bytes(out, json_object_get(r, "target_comm"), 64);
			fprintf(out, ", cgroup %s)", s(r, "target_cgroup"));
		}
		fprintf(out, ": %s", s(r, "reason"));
	} else if (!strcmp(type, "session_confined")) {
		fprintf(out, "SESSION CONFINED:%s%s landlock ABI %lld%s",
			json_is_true(json_object_get(r, "ptrace")) ? " ptrace" : "",
			json_is_true(json_object_get(r, "userns")) ? " userns" : "",
			num(r, "landlock_abi"),
			json_is_true(json_object_get(r, "no_new_privs")) ? ", no_new_privs" : "");
	} else if (!strcmp(type, "tls_blind_spot")) {
		fputs("TLS BLIND SPOT ", out);
		put_bytes(out, json_object_get(r, "path"), 300);
		fprintf(out, ": %s", s(r, "reason"));
	} else {
		json_t *copy = json_deep_copy(r);
		char *t;

		json_object_del(copy, "seq");
		json_object_del(copy, "hash");
		json_object_del(copy, "time");
		json_object_del(copy, "type");
		t = json_dumps(copy, JSON_COMPACT);
		fprintf(out, "%s %s", type, t ? t : "");
		free(t);
		json_decref(copy);
	}
	fputc('\n', out);
}

static volatile sig_atomic_t g_stop;

static void on_sigint(int sig)
{
	g_stop = 1;
}

int cmd_tail(const struct sl_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"follow", no_argument, NULL, 'f'},
	    {"alerts", no_argument, NULL, 'a'},
	    {"session", required_argument, NULL, 's'},
	    {"lines", required_argument, NULL, 'n'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct sigaction sa = {.sa_handler = on_sigint};
	const char *session = NULL;
	bool follow = false, as_json = false, alerts = false;
	uint64_t lines = 10;
	json_t *req = NULL, *msg = NULL;
	int c, fd = -1, err, ret = 1;

	while ((c = getopt_long(argc, argv, "fas:n:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			follow = true;
			break;
		case 'a':
			alerts = true;
			break;
		case 's':
			session = optarg;
			break;
		case 'n':
			if (sl_parse_u64(optarg, 0, 512, &lines)) {
				log_err("tail: --lines '%s': expected a number from 0 to 512",
					optarg);
				return 2;
			}
			break;
		case 'j':
			as_json = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'scopelock tail --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		log_err("tail: unexpected argument '%s'", argv[optind]);
		return 2;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (sl_client_connect(cli, "tail", &fd))
		return 1;
	req = json_pack("{s:s, s:b, s:I}", "op", "tail", "follow", follow, "count",
			(json_int_t)lines);
	if (session)
		json_object_set_new(req, "session", json_string(session));
	if (alerts)
		json_object_set_new(req, "alerts", json_true());
	err = sl_proto_send(fd, req, -1);
	if (!err)
		err = sl_proto_recv(fd, &msg, NULL);
	if (err) {
		log_err("tail: talking to scopelockd: %s", strerror(-err));
		goto out;
	}
	if (!json_is_true(json_object_get(msg, "ok"))) {
		log_err("tail: %s", s(msg, "error"));
		goto out;
	}
	for (;;) {
		char *line = NULL;
		size_t len;
		json_t *r;

		if (g_stop) {
			ret = 0;
			break;
		}
		err = sl_proto_recv_raw(fd, &line, &len, NULL);
		if (err == -ECONNRESET) {
			ret = 0; /* all sent (no --follow) */
			if (follow) {
				log_err("tail: scopelockd closed the connection");
				ret = 1;
			}
			break;
		}
		if (err == -EINTR || (err && g_stop)) {
			ret = 0;
			break;
		}
		if (err) {
			log_err("tail: %s", strerror(-err));
			break;
		}
		r = json_loadb(line, len, 0, NULL);
		if (r && !json_object_get(r, "seq") && json_object_get(r, "error")) {
			log_err("tail: %s", s(r, "error"));
			json_decref(r);
			free(line);
			break;
		}
		if (as_json) {
			fwrite(line, 1, len, stdout);
			if (len == 0 || line[len - 1] != '\n')
				fputc('\n', stdout);
		} else if (r) {
			print_human(stdout, r);
		}
		fflush(stdout);
		json_decref(r);
		free(line);
		if (ferror(stdout)) {
			ret = 0; /* reader went away (pipe closed) */
			break;
		}
	}
out:
	json_decref(req);
	json_decref(msg);
	if (fd >= 0)
		close(fd);
	return ret;
}
