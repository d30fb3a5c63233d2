// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * scopelock metrics [--textfile PATH]: the daemon's counters in the
 * Prometheus text exposition format (version 0.0.4), from `status`.
 * --textfile writes them atomically for node_exporter's textfile collector.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "cli.h"
#include "client.h"

static const char metrics_usage[] =
    "Usage: scopelock metrics [--textfile PATH]\n"
    "\n"
    "Print scopelockd's counters in the Prometheus text format: events by type,\n"
    "losses by cause and type, verdicts by outcome, sessions, pending holds, the\n"
    "audit log's state, checkpoints, TLS coverage, the daemon's CPU time and\n"
    "memory. Read from the daemon's status (the control socket), so any user who\n"
    "may run 'scopelock status' may run this.\n"
    "\n"
    "With --textfile PATH the metrics are written to PATH (a new file renamed over\n"
    "the old one, mode 0644) for node_exporter's textfile collector; when the\n"
    "daemon does not answer, PATH says scopelock_up 0 (so an alert can fire) and\n"
    "the exit status is 1.\n"
    "\n"
    "Options:\n"
    "      --textfile PATH  write to PATH instead of standard output\n"
    "  -h, --help           this help\n"
    "\n"
    "Exit status: 0 the daemon answered, 1 it did not, 2 usage or write error.\n"
    "\n"
    "EXAMPLES\n"
    "  scopelock metrics\n"
    "  scopelock metrics --textfile /var/lib/prometheus/node-exporter/scopelock.prom\n"
    "      (from a systemd timer or cron every 15 s; node_exporter\n"
    "      --collector.textfile.directory=/var/lib/prometheus/node-exporter)\n";

struct out {
	FILE *f;
};

static void help_type(struct out *o, const char *name, const char *type, const char *help)
{
	fprintf(o->f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* a label value: backslash, quote and newline escaped */
static void label_value(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void sample(struct out *o, const char *name, const char *k1, const char *v1, const char *k2,
		   const char *v2, double value)
{
	fputs(name, o->f);
	if (k1) {
		fprintf(o->f, "{%s=\"", k1);
		label_value(o->f, v1);
		fputc('"', o->f);
		if (k2) {
			fprintf(o->f, ",%s=\"", k2);
			label_value(o->f, v2);
			fputc('"', o->f);
		}
		fputc('}', o->f);
	}
	fprintf(o->f, " %.17g\n", value);
}

static double num(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	if (json_is_true(v))
		return 1;
	return json_is_number(v) ? json_number_value(v) : 0;
}

/* {"key": N, ...} as name{label="key"} N */
static void by_key(struct out *o, json_t *obj, const char *name, const char *type, const char *help,
		   const char *label)
{
	const char *k;
	json_t *v;

	help_type(o, name, type, help);
	json_object_foreach (obj, k, v)
		if (json_is_number(v))
			sample(o, name, label, k, NULL, NULL, json_number_value(v));
}

static void emit(struct out *o, json_t *st)
{
	json_t *audit = json_object_get(st, "audit"), *ck = json_object_get(st, "checkpoints");
	json_t *tls = json_object_get(st, "tls"), *dm = json_object_get(st, "daemon");
	json_t *loss = json_object_get(st, "loss"), *by_op;
	const char *cause;

	help_type(o, "scopelock_up", "gauge", "1 when scopelockd answered");
	sample(o, "scopelock_up", NULL, NULL, NULL, NULL, 1);
	help_type(o, "scopelock_info", "gauge", "the daemon's version and policy (always 1)");
	fputs("scopelock_info{version=\"", o->f);
	label_value(o->f, json_string_value(json_object_get(st, "version")) ?: "");
	fputs("\",policy_sha256=\"", o->f);
	label_value(o->f, json_string_value(json_object_get(st, "policy_sha256")) ?: "");
	fputs("\"} 1\n", o->f);
	help_type(o, "scopelock_uptime_seconds", "gauge", "seconds since scopelockd started");
	sample(o, "scopelock_uptime_seconds", NULL, NULL, NULL, NULL, num(st, "uptime_s"));
	help_type(o, "scopelock_policy_generation", "gauge", "policy loads since start");
	sample(o, "scopelock_policy_generation", NULL, NULL, NULL, NULL,
	       num(st, "policy_generation"));
	help_type(o, "scopelock_sessions", "gauge", "sessions running");
	sample(o, "scopelock_sessions", NULL, NULL, NULL, NULL,
	       (double)json_array_size(json_object_get(st, "sessions")));
	help_type(o, "scopelock_holds_pending", "gauge", "actions held for a person");
	sample(o, "scopelock_holds_pending", NULL, NULL, NULL, NULL,
	       (double)json_array_size(json_object_get(st, "holds")));
	by_key(o, json_object_get(st, "events"), "scopelock_events_total", "counter",
	       "kernel events read, by type", "type");
	help_type(o, "scopelock_lost_total", "counter",
		  "kernel events lost, by cause and type (also loss records in the audit log)");
	json_object_foreach (loss, cause, by_op) {
		const char *op;
		json_t *v;

		json_object_foreach (by_op, op, v)
			if (json_is_number(v))
				sample(o, "scopelock_lost_total", "cause", cause, "type", op,
				       json_number_value(v));
	}
	by_key(o, json_object_get(st, "verdicts"), "scopelock_verdicts_total", "counter",
	       "verdicts written, by outcome (killed, held, denied, alert, ...)", "verdict");
	help_type(o, "scopelock_decode_errors_total", "counter", "ring records not understood");
	sample(o, "scopelock_decode_errors_total", NULL, NULL, NULL, NULL,
	       num(st, "decode_errors"));
	help_type(o, "scopelock_audit_last_seq", "gauge", "seq of the last record chained");
	sample(o, "scopelock_audit_last_seq", NULL, NULL, NULL, NULL, num(audit, "last_seq"));
	help_type(o, "scopelock_audit_failing", "gauge",
		  "1 while the audit log cannot be written (records wait in memory)");
	sample(o, "scopelock_audit_failing", NULL, NULL, NULL, NULL,
	       strcmp(json_string_value(json_object_get(audit, "state")) ?: "", "writing") != 0);
	help_type(o, "scopelock_audit_buffered_bytes", "gauge", "record bytes waiting in memory");
	sample(o, "scopelock_audit_buffered_bytes", NULL, NULL, NULL, NULL,
	       num(audit, "buffered_bytes"));
	help_type(o, "scopelock_audit_dropped_records_total", "counter",
		  "records dropped because the log could not be written (gap records)");
	sample(o, "scopelock_audit_dropped_records_total", NULL, NULL, NULL, NULL,
	       num(audit, "dropped_records"));
	help_type(o, "scopelock_audit_errors_total", "counter",
		  "records that did not get into the chain");
	sample(o, "scopelock_audit_errors_total", NULL, NULL, NULL, NULL, num(st, "audit_errors"));
	help_type(o, "scopelock_audit_frozen_sessions", "gauge",
		  "sessions frozen because the audit log cannot be written");
	sample(o, "scopelock_audit_frozen_sessions", NULL, NULL, NULL, NULL,
	       (double)json_array_size(json_object_get(audit, "frozen_sessions")));
	help_type(o, "scopelock_checkpoints_enabled", "gauge", "1 when the chain is sealed");
	sample(o, "scopelock_checkpoints_enabled", NULL, NULL, NULL, NULL, num(ck, "enabled"));
	help_type(o, "scopelock_checkpoints_sealed_total", "counter", "checkpoints sealed");
	sample(o, "scopelock_checkpoints_sealed_total", NULL, NULL, NULL, NULL, num(ck, "sealed"));
	help_type(o, "scopelock_checkpoint_errors_total", "counter", "checkpoints not written");
	sample(o, "scopelock_checkpoint_errors_total", NULL, NULL, NULL, NULL, num(ck, "errors"));
	help_type(o, "scopelock_tls_targets", "gauge", "files whose TLS functions are probed");
	sample(o, "scopelock_tls_targets", NULL, NULL, NULL, NULL,
	       (double)json_array_size(json_object_get(tls, "targets")));
	help_type(o, "scopelock_tls_blind_spots", "gauge",
		  "executables doing TLS scopelock cannot see");
	sample(o, "scopelock_tls_blind_spots", NULL, NULL, NULL, NULL,
	       (double)json_array_size(json_object_get(tls, "blind_spots")));
	help_type(o, "scopelock_daemon_cpu_seconds_total", "counter", "scopelockd's CPU time");
	sample(o, "scopelock_daemon_cpu_seconds_total", "mode", "user", NULL, NULL,
	       num(dm, "cpu_user_s"));
	sample(o, "scopelock_daemon_cpu_seconds_total", "mode", "system", NULL, NULL,
	       num(dm, "cpu_system_s"));
	help_type(o, "scopelock_daemon_max_rss_bytes", "gauge", "scopelockd's peak memory");
	sample(o, "scopelock_daemon_max_rss_bytes", NULL, NULL, NULL, NULL,
	       num(dm, "max_rss_kb") * 1024);
}

static int write_textfile(const char *path, json_t *st)
{
	char tmp[4096];
	struct out o;
	int fd, err = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	o.f = fdopen(fd, "w");
	if (!o.f) {
		err = -errno;
		close(fd);
		unlink(tmp);
		return err;
	}
	if (st) {
		emit(&o, st);
	} else {
		help_type(&o, "scopelock_up", "gauge", "1 when scopelockd answered");
		sample(&o, "scopelock_up", NULL, NULL, NULL, NULL, 0);
	}
	if (fflush(o.f) || ferror(o.f) || fsync(fd))
		err = -(errno ? errno : EIO);
	if (fclose(o.f) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

int cmd_metrics(const struct sl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"textfile", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *textfile = NULL;
	json_t *req, *st = NULL;
	int c, err, ret;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			textfile = optarg;
			break;
		case 'h':
			fputs(metrics_usage, stdout);
			return 0;
		default:
			fprintf(stderr,
				"scopelock: metrics: unknown or misused option '%s'\n"
				"Try 'scopelock metrics --help'.\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr,
			"scopelock: metrics: unexpected argument '%s'\n"
			"Try 'scopelock metrics --help'.\n",
			argv[optind]);
		return 2;
	}
	req = json_pack("{s:s}", "op", "status");
	err = req ? sl_client_call(cli, "metrics", req, &st) : -ENOMEM;
	json_decref(req);
	ret = err ? 1 : 0;
	if (textfile) {
		int werr = write_textfile(textfile, err ? NULL : st);

		if (werr) {
			fprintf(stderr, "scopelock: metrics: write '%s': %s\n", textfile,
				strerror(-werr));
			ret = 2;
		}
	} else if (!err) {
		struct out o = {.f = stdout};

		emit(&o, st);
	}
	json_decref(st);
	return ret;
}
