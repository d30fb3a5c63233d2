// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* scopelock status: what the daemon uses, watches, and has lost. */
#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "client.h"
#include "jsonbytes.h"
#include "log.h"

static const char usage_text[] =
    "Usage: scopelock status [--json]\n"
    "\n"
    "Show whether scopelockd is up, the kernel features it uses and cannot use, the\n"
    "state of the audit log (writing, or failing since when and why, with the records\n"
    "waiting in memory, the sessions frozen for it and the records dropped), the\n"
    "active sessions, whether the system-call hooks are attached (only while a\n"
    "session exists: then every process on the host takes the kernel's slow\n"
    "system-call path) and how many sessions hold them, the TLS libraries it\n"
    "instruments (and executables it cannot), and every loss counter. Exit status 0\n"
    "when the daemon answered, 1 otherwise.\n"
    "\n"
    "Options:\n"
    "  -j, --json   machine-readable output (one JSON object)\n"
    "  -h, --help   this help\n"
    "\n"
    "Examples:\n"
    "  scopelock status\n"
    "  scopelock --socket /tmp/sl.sock status --json | jq .loss\n"
    "  scopelock status --json | jq .audit.state     # \"writing\" or \"failing\"\n"
    "  scopelock status --json | jq .syscall_tracepoints.attached\n";

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "-";
}

static void print_argv(json_t *argv)
{
	size_t i;
	json_t *v;

	json_array_foreach (argv, i, v) {
		char *b = NULL;
		size_t len;

		if (sl_json_bytes_decode(v, &b, &len) == 0) {
			printf("%s%s", i ? " " : "", b);
			free(b);
		}
	}
}

static long long num(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

/* the audit log's state: writing, or failing with what waits and what was lost */
static void print_audit(json_t *au)
{
	json_t *v;
	const char *k;
	size_t i;
	int n = 0;

	if (!json_is_object(au))
		return;
	if (!strcmp(str(au, "state"), "failing"))
		printf("audit:      FAILING since %s: %s: %s (%s), %lld retries\n",
		       str(au, "failing_since"), str(au, "operation"), str(au, "error"),
		       str(au, "errno"), num(au, "retries"));
	else
		printf("audit:      writing\n");
	printf("            buffered %lld records, %lld of %lld bytes (settings.audit_buffer); "
	       "written up to seq %lld of %lld; on_audit_failure: %s\n",
	       num(au, "buffered_records"), num(au, "buffered_bytes"), num(au, "buffer_limit"),
	       num(au, "written_seq"), num(au, "last_seq"), str(au, "on_audit_failure"));
	if (json_array_size(json_object_get(au, "frozen_sessions"))) {
		printf("            sessions frozen until the log is written:");
		json_array_foreach (json_object_get(au, "frozen_sessions"), i, v)
			printf(" %s", json_string_value(v));
		printf("\n");
	}
	printf("            dropped %lld records", num(au, "dropped_records"));
	json_object_foreach (json_object_get(au, "dropped_types"), k, v)
		printf("%s%s %lld", n++ ? ", " : " (", k, json_integer_value(v));
	printf("%s", n ? ")" : "");
	if (num(au, "dropped_pending"))
		printf(", %lld not yet stated by a gap record", num(au, "dropped_pending"));
	printf("\n");
}

/* what a session is kept from, and whether scopelockd supervises it */
static void print_confine(json_t *c)
{
	bool ptrace = json_is_true(json_object_get(c, "ptrace"));
	bool userns = json_is_true(json_object_get(c, "userns"));

	if (!json_is_object(c))
		return;
	if (!ptrace && !userns) {
		printf("    not confined (the policy opts this scope out)\n");
		return;
	}
	printf("    confined: %s%s%s; %s, Landlock ABI %lld%s, %lld refused\n",
	       ptrace ? "ptrace" : "", ptrace && userns ? ", " : "", userns ? "userns" : "",
	       json_is_true(json_object_get(c, "supervised")) ? "supervised" : "NOT SUPERVISED",
	       json_integer_value(json_object_get(c, "landlock_abi")),
	       json_is_true(json_object_get(c, "no_new_privs")) ? ", no_new_privs" : "",
	       json_integer_value(json_object_get(c, "refused")));
}

static void print_human(json_t *st)
{
	json_t *arr, *v, *loss, *per, *tls;
	const char *k, *k2;
	size_t i;
	int nloss = 0;

	printf("scopelockd %s (pid %lld), up %llds\n", str(st, "version"),
	       json_integer_value(json_object_get(st, "pid")),
	       json_integer_value(json_object_get(st, "uptime_s")));
	printf("policy:     %s (sha256 %.16s)\n", str(st, "policy"), str(st, "policy_sha256"));
	printf("audit log:  %s (last seq %lld, records not in the log %lld)\n",
	       str(st, "audit_log"), json_integer_value(json_object_get(st, "audit_last_seq")),
	       json_integer_value(json_object_get(st, "audit_errors")));
	print_audit(json_object_get(st, "audit"));
	printf("sessions under: %s\n", str(st, "cgroup_parent"));
	{
		json_t *en = json_object_get(st, "enforcement");

		if (json_is_object(en))
			printf("enforcement pinned in %s%s: kept if scopelockd stops "
			       "('scopelock shutdown' detaches); daemon_absent: %s after %lld ms\n",
			       str(en, "pin_dir"),
			       json_is_true(json_object_get(en, "adopted")) ? " (adopted)" : "",
			       str(en, "daemon_absent"), num(en, "daemon_absent_grace_ms"));
	}
	{
		json_t *sc = json_object_get(st, "syscall_tracepoints");

		if (json_is_object(sc))
			printf("syscall hooks: %s (%lld tracepoints; held by %lld session%s)%s\n",
			       json_is_true(json_object_get(sc, "attached"))
				   ? "ATTACHED: every process on the host takes the slow "
				     "system-call path"
				   : "detached: no session, processes outside sessions pay "
				     "nothing",
			       num(sc, "links"), num(sc, "sessions"),
			       num(sc, "sessions") == 1 ? "" : "s",
			       json_is_true(json_object_get(sc, "detaching")) ? ", detaching" : "");
	}
	printf("policy generation %lld, alerts: %s\n",
	       json_integer_value(json_object_get(st, "policy_generation")),
	       str(st, "alerts_file"));

	printf("\nkernel features:\n");
	arr = json_object_get(st, "features");
	json_array_foreach (arr, i, v) {
		bool avail = json_is_true(json_object_get(v, "available"));
		bool used = json_is_true(json_object_get(v, "used"));
		const char *detail = str(v, "detail");

		printf("  %-40s %s%s%s\n", str(v, "name"),
		       !avail ? "UNAVAILABLE"
		       : used ? "used"
			      : "available",
		       detail[0] && strcmp(detail, "-") ? ": " : "",
		       strcmp(detail, "-") ? detail : "");
	}

	arr = json_object_get(st, "sessions");
	printf("\nsessions: %zu\n", json_array_size(arr));
	json_array_foreach (arr, i, v) {
		printf("  %s  scope=%s user=%s pid=%lld events=%lld%s%s  ", str(v, "session"),
		       str(v, "scope"), str(v, "user"),
		       json_integer_value(json_object_get(v, "leader_pid")),
		       json_integer_value(json_object_get(v, "events")),
		       json_is_string(json_object_get(v, "name")) ? " name=" : "",
		       json_is_string(json_object_get(v, "name")) ? str(v, "name") : "");
		print_argv(json_object_get(v, "argv"));
		printf("\n");
		print_confine(json_object_get(v, "confine"));
		if (json_array_size(json_object_get(v, "taint"))) {
			json_t *t;
			size_t j;

			printf("    tainted by:");
			json_array_foreach (json_object_get(v, "taint"), j, t)
				printf(" %s", json_string_value(t));
			printf("%s\n", json_is_true(json_object_get(v, "held")) ? " (HELD)" : "");
		}
	}

	arr = json_object_get(st, "holds");
	printf("\nheld actions: %zu\n", json_array_size(arr));
	json_array_foreach (arr, i, v) {
		printf("  %s  session=%s rule=%s channel=%s target=%s, expires in %llds: "
		       "scopelock approve %s | scopelock deny %s\n",
		       str(v, "hold_id"), str(v, "session"), str(v, "rule"), str(v, "channel"),
		       str(v, "target"), json_integer_value(json_object_get(v, "expires_in_s")),
		       str(v, "hold_id"), str(v, "hold_id"));
	}

	tls = json_object_get(st, "tls");
	printf("\nTLS instrumentation:\n");
	if (!json_is_object(tls)) {
		printf("  NONE: TLS plaintext is not captured (see the daemon log)\n");
	} else {
		arr = json_object_get(tls, "targets");
		json_array_foreach (arr, i, v) {
			json_t *fns = json_object_get(v, "functions"), *f;
			size_t j;

			printf("  %-50s %-8s %s", str(v, "path"), str(v, "lib"), str(v, "status"));
			json_array_foreach (fns, j, f)
				printf("%s%s", j ? "," : " (", json_string_value(f));
			printf("%s\n", json_array_size(fns) ? ")" : "");
		}
		arr = json_object_get(tls, "blind_spots");
		if (json_array_size(arr))
			printf("  blind spots (TLS scopelock cannot see):\n");
		json_array_foreach (arr, i, v)
			printf("    %s (%s): %s\n", str(v, "path"), str(v, "impl"),
			       str(v, "reason"));
		printf("  gate: %lld held at exec, %lld at mmap, %lld ms analysing\n",
		       json_integer_value(json_object_get(tls, "gate_released")),
		       json_integer_value(json_object_get(tls, "gate_map_released")),
		       json_integer_value(json_object_get(tls, "gate_held_ms")));
	}

	printf("\nevents recorded by the kernel side:");
	json_object_foreach (json_object_get(st, "events"), k, v)
		printf(" %s=%lld", k, json_integer_value(v));
	printf("\nloss:");
	loss = json_object_get(st, "loss");
	json_object_foreach (loss, k, per) {
		json_object_foreach (per, k2, v) {
			if (json_integer_value(v)) {
				printf("%s %s/%s=%lld", nloss ? "," : "", k, k2,
				       json_integer_value(v));
				nloss++;
			}
		}
	}
	printf("%s (decode errors %lld)\n", nloss ? "" : " none",
	       json_integer_value(json_object_get(st, "decode_errors")));
}

int cmd_status(const struct sl_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	json_t *req, *st = NULL;
	bool as_json = false;
	int c, err;

	while ((c = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			as_json = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'scopelock status --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		log_err("status: unexpected argument '%s'", argv[optind]);
		return 2;
	}
	req = json_pack("{s:s}", "op", "status");
	err = sl_client_call(cli, "status", req, &st);
	json_decref(req);
	if (err)
		return 1;
	json_object_del(st, "ok");
	if (as_json) {
		char *s = json_dumps(st, JSON_INDENT(2));

		puts(s ? s : "{}");
		free(s);
	} else {
		print_human(st);
	}
	json_decref(st);
	return 0;
}
