// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * scopelockd: loads the BPF programs, owns the session cgroups, writes the
 * audit log and serves the control socket. Single-threaded epoll loop.
 *
 * main.c owns the loop and every ordering between the rooms
 * (docs/architecture.md); a room never calls main.c except through the
 * hooks registered here (journal: tail lines, alerts to the outputs and the
 * guard's check; guard:
 * pause and resume the kernel ring; control: policy reload).
 *
 * Start-up: lock the state dir, load the policy, mount bpffs/tracefs, the
 * loop's descriptors, the session parent cgroup, the journal (audit log,
 * then alerts file), the kernel (probe, load, attach at the session parent),
 * programs, verdicts, guard, confinement, the policy into the kernel maps,
 * the rings (ingest), TLS, daemon_start, the adoption of what a previous
 * daemon left pinned (sessions, holds, the rings' backlog, unclean_shutdown),
 * the system-call tracepoints settled (held by the adopted sessions, else
 * detached), and last the control socket.
 *
 * While running:
 *   - the verdict ring is drained before the bulk ring (ingest.h);
 *   - every wakeup of a tail client drains first: it sees records in order;
 *   - a session whose cgroup emptied ends only after a drain and a loss
 *     poll: everything it did is in the log before its session_end, and no
 *     session ends while the ring is paused for the audit log; the last
 *     session's end detaches the system-call tracepoints (kernel.h), a new
 *     session attaches them before its first process enters;
 *   - the guard pauses the bulk ring when it freezes the sessions, and on
 *     the thaw the ring is read again, drained and finished sessions end
 *     before any session runs again;
 *   - a reload writes policy_loaded/refused, then rescopes the sessions,
 *     reopens the alerts file and follows the policy's outputs;
 *   - an alert reaches the outputs (their threads) once it is in the chain;
 *   - the timer drains, ticks the journal, checks the guard, polls losses
 *     (1 s), times out holds, refreshes the clock (60 s) and the labels by
 *     identity (5 s), and looks for finished sessions (2 s).
 *
 * Shutdown: drain, write the alerts of every verdict acted on, poll losses;
 * kept (SIGTERM, the default): end the empty sessions, write the state file
 * the next daemon adopts (the others, the pending holds), the pins stay;
 * detached (scopelock shutdown): deny the pending holds, end (or abandon) the
 * sessions, remove the pins. Then the outputs deliver what waits (3 s),
 * daemon_stop, let the journal write what
 * waits; close confinement, control, rings, TLS, kernel, journal, the session
 * parent.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <openssl/evp.h>
#include <systemd/sd-daemon.h>

#include "audit.h"
#include "clock.h"
#include "confine.h"
#include "control.h"
#include "creds.h"
#include "daemon.h"
#include "feature.h"
#include "guard.h"
#include "ingest.h"
#include "journal.h"
#include "kernel.h"
#include "log.h"
#include "outputs.h"
#include "policy.h"
#include "policy_store.h"
#include "programs.h"
#include "sessions.h"
#include "tls.h"
#include "checkpoints.h"
#include "util.h"
#include "verdicts.h"

/* every room, and what the loop needs: the context main.c owns */
struct sl_opts {
	const char *policy;
	const char *audit_dir;
	const char *socket_path;
	const char *state_dir;
	const char *cgroup_parent; /* relative to the cgroup v2 mount */
	const char *socket_group;
	uint64_t ringbuf_size;
	uint64_t tls_capture;
	uint64_t argv_capture;
	uint64_t rotate_size;
	enum sl_fsync_mode fsync_mode;
	unsigned int fsync_interval_ms;
	const char *checkpoint_key;
	bool checkpoint_key_given;    /* --checkpoint-key: the key must be there */
	const char *checkpoints_file; /* NULL: AUDIT_DIR/checkpoints.jsonl */
	unsigned int checkpoint_interval_s;
	bool no_checkpoints;
	const char *instance;  /* NULL: derived from the state dir */
	bool stop_enforcement; /* --stop-enforcement: detach a pinned instance, exit */
	int verbose;
};

struct sl_daemon {
	struct sl_opts opts;
	int epfd, signal_fd, timer_fd, lock_fd;
	volatile int stop;
	bool keeping;	       /* stopping, the enforcement kept */
	bool running;	       /* started: what it enforces may be kept at the stop */
	bool detach;	       /* the stop detaches the enforcement (scopelock shutdown) */
	char *pin_dir;	       /* /sys/fs/bpf/scopelock/<instance> */
	char *state_file;      /* STATE_DIR/enforcement.json: what the next daemon adopts */
	json_t *prev_state;    /* a previous daemon's, read at start (adoption) */
	uint64_t base_emitted; /* kernel counters at the last state write */
	uint64_t base_lost;
	struct timespec started;
	/* the rooms (docs/architecture.md), each opaque here */
	struct sl_features *features;
	struct sl_policy_store *store;
	struct sl_sessions *sessions;
	struct sl_journal *journal;
	struct sl_kernel *kernel;
	struct sl_programs *programs;
	struct sl_verdicts *verdicts;
	struct sl_guard *guard;
	struct sl_confine *confine;
	struct sl_ingest *ingest;
	struct sl_tls *tls;
	struct sl_control *control;
	struct sl_checkpoints *checkpoints;
	struct sl_outputs *outputs;
	struct sl_creds *creds;
};

/* epoll tags */
enum sl_ep_kind {
	SL_EP_RINGBUF = 1,
	SL_EP_VERDICTS,
	SL_EP_LISTEN,
	SL_EP_INOTIFY,
	SL_EP_SIGNAL,
	SL_EP_TIMER,
	SL_EP_CONFINE,
};

/* timer tick: audit fsync batching, holds, and the ring buffer drain that
 * bounds the latency of records written without a wakeup */
#define TICK_MS 20

static const char usage_text[] =
    "Usage: scopelockd [OPTIONS]\n"
    "\n"
    "The scopelock daemon: captures exec, file opens, connects and TLS plaintext of\n"
    "processes in scopelock sessions from the kernel, and writes them to a\n"
    "tamper-evident audit log. Runs as root in the foreground.\n"
    "\n"
    "Options:\n"
    "  -p, --policy FILE          policy (default " SL_DEFAULT_POLICY ")\n"
    "  -a, --audit-dir DIR        audit log directory (default " SL_DEFAULT_AUDIT_DIR ")\n"
    "  -s, --socket PATH          control socket (default " SL_DEFAULT_SOCKET ")\n"
    "  -S, --state-dir DIR        lock and runtime state (default " SL_DEFAULT_STATE_DIR ")\n"
    "      --cgroup-parent NAME   session parent cgroup, relative to the cgroup v2 root\n"
    "                             (default: scopelock, or scopelock-<hash> for a\n"
    "                             non-default state dir)\n"
    "      --socket-group GROUP   let members of GROUP use the socket (mode 0660)\n"
    "      --ringbuf-size BYTES   kernel ring buffer size, power of two >= 4096\n"
    "                             (default 16M)\n"
    "      --tls-capture-bytes N  TLS plaintext captured per call (default 16384,\n"
    "                             max 32256)\n"
    "      --argv-capture-bytes N argv bytes captured per exec (default and max 16384)\n"
    "      --rotate-size BYTES    rotate the audit log at this size (default 64M, 0 = never)\n"
    "      --fsync MODE           always | batch | none (default batch)\n"
    "      --fsync-interval MS    batch interval (default 200)\n"
    "      --checkpoint-key FILE  seal the audit chain's head with this forward-secure\n"
    "                             key (scopelock checkpoint-setup; default\n"
    "                             " SL_DEFAULT_CHECKPOINT_KEY ";\n"
    "                             when the default is missing: no checkpoints)\n"
    "      --checkpoints FILE     where the seals go, besides syslog (default\n"
    "                             AUDIT_DIR/checkpoints.jsonl)\n"
    "      --checkpoint-interval SECONDS\n"
    "                             seal every SECONDS (default 60; 0: only at start and\n"
    "                             stop)\n"
    "      --no-checkpoints       do not seal the chain (status says so)\n"
    "      --instance NAME        the bpffs directory the enforcement is pinned in:\n"
    "                             /sys/fs/bpf/scopelock/NAME (default: derived from\n"
    "                             the state dir; [A-Za-z0-9._-], 1-64)\n"
    "      --stop-enforcement     detach the enforcement a stopped scopelockd of this\n"
    "                             instance left in the kernel (its pins), and exit;\n"
    "                             a running daemon: 'scopelock shutdown'\n"
    "  -v, --verbose              more logging (-vv: libbpf debug and verifier logs)\n"
    "  -h, --help                 this help\n"
    "  -V, --version              print the version\n"
    "\n"
    "Examples:\n"
    "  scopelockd --policy policies/default.yaml\n"
    "  scopelockd --audit-dir /tmp/sl/audit --socket /tmp/sl/sock --state-dir /tmp/sl/state\n"
    "  scopelockd --socket-group scopelock --fsync always -v\n"
    "  scopelockd --stop-enforcement --state-dir /tmp/sl/state\n"
    "\n"
    "Stopping: SIGTERM (systemctl stop, a crash, SIGKILL) leaves the enforcement in\n"
    "the kernel: running sessions stay enforced (kill, deny, hold) and the next\n"
    "scopelockd of the same instance adopts them. 'scopelock shutdown' (or\n"
    "--stop-enforcement once the daemon is gone) is the only way to detach it.\n";

static int parse_opts(int argc, char **argv, struct sl_opts *o)
{
	enum {
		OPT_CGROUP_PARENT = 256,
		OPT_SOCKET_GROUP,
		OPT_RINGBUF,
		OPT_TLS,
		OPT_ARGV,
		OPT_ROTATE,
		OPT_FSYNC,
		OPT_FSYNC_INT,
		OPT_CKPT_KEY,
		OPT_CKPT_FILE,
		OPT_CKPT_INT,
		OPT_NO_CKPT,
		OPT_INSTANCE,
		OPT_STOP_ENF,
	};
	static const struct option longopts[] = {
	    {"policy", required_argument, NULL, 'p'},
	    {"audit-dir", required_argument, NULL, 'a'},
	    {"socket", required_argument, NULL, 's'},
	    {"state-dir", required_argument, NULL, 'S'},
	    {"cgroup-parent", required_argument, NULL, OPT_CGROUP_PARENT},
	    {"socket-group", required_argument, NULL, OPT_SOCKET_GROUP},
	    {"ringbuf-size", required_argument, NULL, OPT_RINGBUF},
	    {"tls-capture-bytes", required_argument, NULL, OPT_TLS},
	    {"argv-capture-bytes", required_argument, NULL, OPT_ARGV},
	    {"rotate-size", required_argument, NULL, OPT_ROTATE},
	    {"fsync", required_argument, NULL, OPT_FSYNC},
	    {"fsync-interval", required_argument, NULL, OPT_FSYNC_INT},
	    {"checkpoint-key", required_argument, NULL, OPT_CKPT_KEY},
	    {"checkpoints", required_argument, NULL, OPT_CKPT_FILE},
	    {"checkpoint-interval", required_argument, NULL, OPT_CKPT_INT},
	    {"no-checkpoints", no_argument, NULL, OPT_NO_CKPT},
	    {"instance", required_argument, NULL, OPT_INSTANCE},
	    {"stop-enforcement", no_argument, NULL, OPT_STOP_ENF},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {0},
	};
	uint64_t v;
	int c, err;

	while ((c = getopt_long(argc, argv, "p:a:s:S:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o->policy = optarg;
			break;
		case 'a':
			o->audit_dir = optarg;
			break;
		case 's':
			o->socket_path = optarg;
			break;
		case 'S':
			o->state_dir = optarg;
			break;
		case OPT_CGROUP_PARENT:
			if (!optarg[0] || optarg[0] == '/' || strstr(optarg, "..")) {
				log_err("--cgroup-parent '%s': give a relative path without '..'",
					optarg);
				return 2;
			}
			o->cgroup_parent = optarg;
			break;
		case OPT_SOCKET_GROUP:
			o->socket_group = optarg;
			break;
		case OPT_RINGBUF:
			err = sl_parse_size(optarg, 4096, 1ULL << 30, &v);
			if (err || (v & (v - 1))) {
				log_err(
				    "--ringbuf-size '%s': expected a power of two from 4096 to 1G",
				    optarg);
				return 2;
			}
			o->ringbuf_size = v;
			break;
		case OPT_TLS:
			err = sl_parse_size(optarg, 1, SL_TLS_CAPTURE_MAX, &v);
			if (err) {
				log_err("--tls-capture-bytes '%s': expected 1..%d", optarg,
					SL_TLS_CAPTURE_MAX);
				return 2;
			}
			o->tls_capture = v;
			break;
		case OPT_ARGV:
			err = sl_parse_size(optarg, 64, SL_ARGV_MAX, &v);
			if (err) {
				log_err("--argv-capture-bytes '%s': expected 64..%d", optarg,
					SL_ARGV_MAX);
				return 2;
			}
			o->argv_capture = v;
			break;
		case OPT_ROTATE:
			err = sl_parse_size(optarg, 0, 1ULL << 40, &v);
			if (err || (v && v < 4096)) {
				log_err("--rotate-size '%s': expected 0 (never) or at least 4096 "
					"bytes (suffixes K, M, G)",
					optarg);
				return 2;
			}
			o->rotate_size = v;
			break;
		case OPT_FSYNC:
			if (!strcmp(optarg, "always"))
				o->fsync_mode = SL_FSYNC_ALWAYS;
			else if (!strcmp(optarg, "batch"))
				o->fsync_mode = SL_FSYNC_BATCH;
			else if (!strcmp(optarg, "none"))
				o->fsync_mode = SL_FSYNC_NONE;
			else {
				log_err("--fsync '%s': expected always, batch or none", optarg);
				return 2;
			}
			break;
		case OPT_FSYNC_INT:
			err = sl_parse_u64(optarg, 1, 60000, &v);
			if (err) {
				log_err("--fsync-interval '%s': expected milliseconds 1..60000",
					optarg);
				return 2;
			}
			o->fsync_interval_ms = (unsigned int)v;
			break;
		case OPT_CKPT_KEY:
			o->checkpoint_key = optarg;
			o->checkpoint_key_given = true;
			break;
		case OPT_NO_CKPT:
			o->no_checkpoints = true;
			break;
		case OPT_INSTANCE: {
			size_t n = strlen(optarg);
			bool ok = n >= 1 && n <= 64 && optarg[0] != '.';

			for (size_t i = 0; ok && i < n; i++)
				ok = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					    "0123456789._-",
					    optarg[i]) != NULL;
			if (!ok) {
				log_err("--instance '%s': expected 1-64 characters of "
					"[A-Za-z0-9._-], not starting with '.'",
					optarg);
				return 2;
			}
			o->instance = optarg;
			break;
		}
		case OPT_STOP_ENF:
			o->stop_enforcement = true;
			break;
		case OPT_CKPT_FILE:
			o->checkpoints_file = optarg;
			break;
		case OPT_CKPT_INT:
			err = sl_parse_u64(optarg, 0, 86400, &v);
			if (err) {
				log_err("--checkpoint-interval '%s': expected seconds 0..86400",
					optarg);
				return 2;
			}
			o->checkpoint_interval_s = (unsigned int)v;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 1;
		case 'V':
			printf("scopelockd %s\n", SL_VERSION);
			return 1;
		default:
			fprintf(stderr, "Try 'scopelockd --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		log_err("unexpected argument '%s'", argv[optind]);
		return 2;
	}
	if (o->no_checkpoints && (o->checkpoint_key_given || o->checkpoints_file)) {
		log_err(
		    "--no-checkpoints cannot be combined with --checkpoint-key or --checkpoints");
		return 2;
	}
	return 0;
}

static int lock_state_dir(struct sl_daemon *d)
{
	char path[4200], pidbuf[32], other[32] = "";
	int err, fd;

	err = sl_mkdir_p(d->opts.state_dir, 0755);
	if (err)
		return sl_err_ret(err, "create state directory '%s'", d->opts.state_dir);
	snprintf(path, sizeof(path), "%s/scopelockd.lock", d->opts.state_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return sl_err_ret(-errno, "open lock file '%s'", path);
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		ssize_t n = pread(fd, other, sizeof(other) - 1, 0);

		if (n > 0)
			other[strcspn(other, "\n")] = '\0';
		close(fd);
		return sl_err_ret(-EBUSY, "another scopelockd (pid %s) owns state directory '%s'",
				  other[0] ? other : "?", d->opts.state_dir);
	}
	snprintf(pidbuf, sizeof(pidbuf), "%d\n", getpid());
	if (ftruncate(fd, 0) || pwrite(fd, pidbuf, strlen(pidbuf), 0) < 0)
		log_warn("write pid to '%s': %s", path, strerror(errno));
	d->lock_fd = fd;
	return 0;
}

static void tls_report(void *ctx, json_t *rec)
{
	struct sl_daemon *d = ctx;
	json_t *copy = json_deep_copy(rec);

	if (copy) {
		sl_journal_write(d->journal, copy);
		json_decref(copy);
	}
}

/* a record is in the log: tail clients get its line */
static void journal_line(void *ctx, const char *line, size_t len, const char *session)
{
	struct sl_daemon *d = ctx;

	if (d->control)
		sl_control_broadcast(d->control, line, len, session);
}

/* an alert-class record is in the chain: the policy's outputs get its line */
static void journal_alert(void *ctx, const char *line, size_t len)
{
	struct sl_daemon *d = ctx;

	sl_outputs_alert(d->outputs, line, len);
}

/* after every append: the log may have started failing, filled up, or drained */
static void journal_after(void *ctx)
{
	struct sl_daemon *d = ctx;

	if (d->guard)
		sl_guard_check(d->guard);
}

static void reap_sessions(struct sl_daemon *d);

/* the guard froze the sessions for the audit log: their records wait in the kernel ring */
static void ring_pause(void *ctx)
{
	struct sl_daemon *d = ctx;

	if (d->ingest)
		sl_ingest_pause(d->ingest, true);
}

/*
 * The guard is about to thaw: what the sessions did before they froze goes
 * into the log first, and verdicts among it are acted on before anything runs
 * again; sessions that finished meanwhile end.
 */
static void ring_resume(void *ctx)
{
	struct sl_daemon *d = ctx;

	if (d->ingest)
		sl_ingest_pause(d->ingest, false);
	sl_ingest_drain(d->ingest);
	reap_sessions(d);
}

/* ---- enforcement that outlives the daemon (kernel.h: pins; the state file) ---- */

#define SL_PIN_ROOT "/sys/fs/bpf/scopelock"

/* /sys/fs/bpf/scopelock/<instance>: --instance, "default" for the default state
 * dir, else named by the state dir (daemons of other state dirs never share) */
static char *pin_dir_of(const struct sl_opts *o)
{
	char rp[PATH_MAX], *out = NULL;
	const char *sd = realpath(o->state_dir, rp) ? rp : o->state_dir;
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (o->instance) {
		if (asprintf(&out, "%s/%s", SL_PIN_ROOT, o->instance) < 0)
			return NULL;
		return out;
	}
	if (!strcmp(o->state_dir, SL_DEFAULT_STATE_DIR))
		return strdup(SL_PIN_ROOT "/default");
	if (!EVP_Digest(sd, strlen(sd), md, &mdlen, EVP_sha256(), NULL))
		return NULL;
	if (asprintf(&out, "%s/s-%02x%02x%02x%02x%02x%02x%02x%02x", SL_PIN_ROOT, md[0], md[1],
		     md[2], md[3], md[4], md[5], md[6], md[7]) < 0)
		return NULL;
	return out;
}

static int64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* events the kernel emitted and dropped for a full ring, since it was loaded */
static void kernel_totals(struct sl_daemon *d, uint64_t *emitted, uint64_t *lost)
{
	uint64_t em[SL_OP_MAX], loss[SL_LOSS_MAX][SL_OP_MAX];

	*emitted = *lost = 0;
	if (!d->kernel || sl_kernel_stats_read(d->kernel, em, loss))
		return;
	for (int op = 0; op < SL_OP_MAX; op++) {
		*emitted += em[op];
		*lost += loss[SL_LOSS_RINGBUF_FULL][op];
	}
}

/*
 * STATE_DIR/enforcement.json, written whole (temporary file, fsync, rename):
 * the sessions and holds the next daemon of this instance adopts, and a
 * heartbeat (updated_ns, the kernel's counters) that dates its absence.
 */
static void state_save(struct sl_daemon *d, bool clean)
{
	char tmp[PATH_MAX];
	uint64_t emitted, lost;
	json_t *st;
	char *txt = NULL;
	int fd = -1, err = 0;

	if (!d->state_file || !d->kernel || !sl_kernel_pin_dir(d->kernel))
		return;
	kernel_totals(d, &emitted, &lost);
	st =
	    json_pack("{s:i, s:i, s:b, s:I, s:s, s:s, s:o, s:o, s:{s:I, s:I}}", "version", 1, "pid",
		      (int)getpid(), "clean", clean, "updated_ns", (json_int_t)realtime_ns(),
		      "pin_dir", sl_kernel_pin_dir(d->kernel), "cgroup_parent",
		      d->opts.cgroup_parent, "sessions", sl_sessions_state(d->sessions), "holds",
		      d->verdicts ? sl_holds_state(d->verdicts) : json_array(), "kernel", "emitted",
		      (json_int_t)emitted, "lost", (json_int_t)lost);
	txt = st ? json_dumps(st, JSON_COMPACT) : NULL;
	json_decref(st);
	if (!txt) {
		err = -ENOMEM;
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", d->state_file);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (err = sl_write_all(fd, txt, strlen(txt))) || fsync(fd) ||
	    rename(tmp, d->state_file))
		err = err ? err : -errno;
out:
	if (fd >= 0)
		close(fd);
	free(txt);
	if (err) {
		static int last;

		if (err != last)
			log_err("state file '%s': %s (a restarted daemon could not adopt the "
				"sessions started since)",
				d->state_file, strerror(-err));
		last = err;
	}
}

static json_t *state_load(const char *path)
{
	json_error_t jerr;
	json_t *st = json_load_file(path, 0, &jerr);

	if (!st && access(path, F_OK) == 0)
		log_err("state file '%s' line %d: %s: its sessions cannot be adopted", path,
			jerr.line, jerr.text);
	if (st && !json_is_object(st)) {
		json_decref(st);
		st = NULL;
	}
	return st;
}

/* session processes the kernel stopped because no daemon beat (SL_STOP_ABSENT) */
static int absent_stopped(struct sl_daemon *d)
{
	uint32_t key, prev = 0;
	int n = 0, i = 0;

	/* the map holds at most 65536 (SL_MAX_PROCS of the BPF side) */
	while (i++ < 65536 && !sl_kernel_throttled_next(d->kernel, i > 1 ? &prev : NULL, &key)) {
		struct sl_throttle t;

		if (!sl_kernel_throttled_get(d->kernel, key, &t) && t.reason == SL_STOP_ABSENT)
			n++;
		prev = key;
	}
	return n;
}

/*
 * A hold was made: in the state file before its alert is written, so a hold
 * the log shows is one the next daemon adopts, however soon after it this
 * daemon dies.
 */
static void holds_to_state(void *ctx)
{
	struct sl_daemon *d = ctx;

	if (sl_holds_take_changed(d->verdicts))
		state_save(d, false);
}

/*
 * The kernel kept enforcing while no daemon ran (pinned maps and links):
 * adopt the previous daemon's sessions and holds, read what waited in the
 * rings, write what happened (unclean_shutdown after a crash or kill,
 * enforcement_adopted after a stop that kept it), thaw the sessions the
 * launchers froze (settings.daemon_absent) unless a hold keeps them.
 */
static void adopt(struct sl_daemon *d)
{
	json_t *prev = d->prev_state, *adopted = json_array(), *gone = json_array(), *rec;
	json_t *before = sl_verdicts_counts_json(d->verdicts), *after, *verdicts;
	bool clean = json_is_true(json_object_get(prev, "clean"));
	int64_t updated = json_integer_value(json_object_get(prev, "updated_ns"));
	json_t *pk = json_object_get(prev, "kernel");
	uint64_t emitted, lost, p_em, p_lost;
	int nholds = 0, nthawed = 0, nstopped;

	if (!adopted || !gone)
		goto out;
	if (prev) {
		sl_sessions_adopt(d->sessions, json_object_get(prev, "sessions"), adopted, gone);
		nholds = sl_holds_adopt(d->verdicts, json_object_get(prev, "holds"));
	}
	/* the processes the kernel stopped while no daemon beat: the drain lets them go */
	nstopped = absent_stopped(d);
	/* what the sessions did while no daemon ran, verdicts the kernel took among it */
	sl_ingest_drain(d->ingest);
	kernel_totals(d, &emitted, &lost);
	p_em = (uint64_t)json_integer_value(json_object_get(pk, "emitted"));
	p_lost = (uint64_t)json_integer_value(json_object_get(pk, "lost"));
	after = sl_verdicts_counts_json(d->verdicts);
	verdicts = json_object();
	if (after && before && verdicts) {
		const char *k;
		json_t *v;

		json_object_foreach (after, k, v) {
			json_int_t n =
			    json_integer_value(v) - json_integer_value(json_object_get(before, k));

			if (n > 0)
				json_object_set_new(verdicts, k, json_integer(n));
		}
	}
	json_decref(after);
	rec =
	    json_pack("{s:s, s:s, s:O, s:O, s:i, s:{s:I, s:I}, s:o}", "type",
		      prev && clean ? "enforcement_adopted" : "unclean_shutdown", "pin_dir",
		      sl_kernel_pin_dir(d->kernel), "sessions_adopted", adopted, "sessions_gone",
		      gone, "holds_adopted", nholds < 0 ? 0 : nholds, "kernel", "events_emitted",
		      (json_int_t)(prev && emitted >= p_em ? emitted - p_em : emitted),
		      "events_dropped", (json_int_t)(prev && lost >= p_lost ? lost - p_lost : lost),
		      "verdicts", verdicts ? verdicts : json_object());
	if (rec) {
		json_object_set_new(rec, "processes_stopped", json_integer(nstopped));
		if (prev) {
			json_object_set(rec, "previous_pid", json_object_get(prev, "pid"));
			json_object_set_new(rec, "away_ms",
					    json_integer((realtime_ns() - updated) / 1000000));
		} else {
			json_object_set_new(rec, "state",
					    json_string("missing: no session could be adopted"));
		}
		sl_journal_write(d->journal, rec);
		json_decref(rec);
	}
	/* losses up to here are in the record above */
	sl_ingest_loss_baseline(d->ingest);
	for (struct sl_session *s = sl_sessions_next(d->sessions, NULL); s;
	     s = sl_sessions_next(d->sessions, s)) {
		if (!sl_session_active(s) ||
		    sl_verdicts_session_held(d->verdicts, sl_session_id(s)))
			continue;
		if (!sl_session_freeze(s, false))
			nthawed++;
	}
	log_warn("adopted %zu sessions (%d thawed) and %d holds of scopelockd pid %lld (%s); %zu "
		 "sessions ended while no daemon ran",
		 json_array_size(adopted), nthawed, nholds < 0 ? 0 : nholds,
		 (long long)json_integer_value(json_object_get(prev, "pid")),
		 clean ? "stopped, enforcement kept" : "stopped uncleanly", json_array_size(gone));
	reap_sessions(d);
	state_save(d, false);
out:
	json_decref(before);
	json_decref(adopted);
	json_decref(gone);
}

/* scopelockd --stop-enforcement: no daemon of the instance runs; remove its pins */
static int stop_enforcement(struct sl_daemon *d)
{
	json_t *st;
	size_t n = 0;
	int err;

	err = lock_state_dir(d);
	if (err) {
		log_err("--stop-enforcement: a scopelockd runs for state directory '%s': stop it "
			"with 'scopelock shutdown' (which detaches its enforcement)",
			d->opts.state_dir);
		return 1;
	}
	st = state_load(d->state_file);
	n = json_array_size(json_object_get(st, "sessions"));
	json_decref(st);
	err = sl_kernel_unpin(d->pin_dir);
	if (err) {
		log_err("--stop-enforcement: remove '%s': %s", d->pin_dir, strerror(-err));
		return 1;
	}
	if (unlink(d->state_file) && errno != ENOENT)
		log_warn("remove '%s': %s", d->state_file, strerror(errno));
	log_info("enforcement of instance '%s' detached%s", d->pin_dir,
		 n ? ": its sessions still running are no longer monitored or enforced" : "");
	if (n)
		printf("%zu session(s) left running without enforcement (cgroups under the "
		       "session parent)\n",
		       n);
	return 0;
}

/* scopelock shutdown (control): stop, and detach the enforcement */
static void daemon_shutdown(void *ctx, const char *who)
{
	struct sl_daemon *d = ctx;

	(void)who;
	sd_notify(0, "STOPPING=1\nSTATUS=stopping: detaching the enforcement");
	d->detach = true;
	d->stop = 1;
	sl_ingest_stopping(d->ingest);
}

static int ep_add(struct sl_daemon *d, int fd, uint64_t tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};

	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev))
		return sl_err_ret(-errno, "epoll_ctl");
	return 0;
}

static int setup_fds(struct sl_daemon *d)
{
	struct itimerspec its = {
	    .it_interval = {0, TICK_MS * 1000000L},
	    .it_value = {0, TICK_MS * 1000000L},
	};
	sigset_t mask;
	int err;

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0)
		return sl_err_ret(-errno, "epoll_create1");
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return sl_err_ret(-errno, "sigprocmask");
	signal(SIGPIPE, SIG_IGN);
	d->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d->signal_fd < 0)
		return sl_err_ret(-errno, "signalfd");
	d->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (d->timer_fd < 0 || timerfd_settime(d->timer_fd, 0, &its, NULL))
		return sl_err_ret(-errno, "timerfd");
	if ((err = ep_add(d, d->signal_fd, SL_EP_SIGNAL)) ||
	    (err = ep_add(d, d->timer_fd, SL_EP_TIMER)))
		return err;
	return 0;
}

/*
 * Reload the policy (SIGHUP, or a control client: requester), write
 * policy_loaded or policy_refused, then rescope the sessions and reopen the
 * alerts file; on refusal *errors (malloc'd) lists every error.
 */
static int daemon_reload(void *ctx, const json_t *requester, char **errors)
{
	struct sl_daemon *d = ctx;
	json_t *rec;
	int err;

	err = sl_policy_store_reload(d->store, d->kernel, d->programs, errors);
	rec = json_pack("{s:s, s:s, s:b}", "type", err ? "policy_refused" : "policy_loaded",
			"policy", sl_policy_store_path(d->store), "ok", err == 0);
	if (rec) {
		if (!err) {
			json_object_set_new(rec, "sha256",
					    json_string(sl_policy_store_sha256(d->store)));
			json_object_set_new(rec, "generation",
					    json_integer(sl_policy_store_generation(d->store)));
		} else if (*errors) {
			json_object_set_new(rec, "errors", json_string(*errors));
		}
		json_object_set_new(rec, "via", json_string(requester ? "control" : "SIGHUP"));
		if (requester)
			json_object_set_new(rec, "requester", json_deep_copy(requester));
		sl_journal_write(d->journal, rec);
		json_decref(rec);
	}
	if (!err) {
		sl_sessions_rescope(d->sessions);
		sl_journal_alerts_open(d->journal);
		sl_outputs_configure(d->outputs, &sl_policy_store_current(d->store)->outputs);
	}
	return err;
}

/* a session ends once everything its processes did is in the log */
static void end_session(struct sl_daemon *d, struct sl_session *s)
{
	sl_ingest_drain(d->ingest);
	sl_ingest_loss_poll(d->ingest);
	sl_session_end(d->sessions, s);
}

static void reap_sessions(struct sl_daemon *d)
{
	sl_sessions_read_events(d->sessions);
	/* the ring is not read while frozen for the audit log (guard.h): a
	 * session ends once its records are in, at the next check after the thaw */
	if (sl_ingest_paused(d->ingest))
		return;
	/* cheap and robust: check every active session */
	for (struct sl_session *s = sl_sessions_next(d->sessions, NULL); s;
	     s = sl_sessions_next(d->sessions, s))
		if (sl_session_active(s) && !sl_session_populated(s))
			end_session(d, s);
}

static void on_signal(struct sl_daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			log_info("SIGHUP: reloading policy '%s'", d->opts.policy);
			char *errors = NULL;

			sd_notify(0, "RELOADING=1");
			if (daemon_reload(d, NULL, &errors))
				log_err(
				    "policy reload refused; the running policy stays in force:\n%s",
				    errors ? errors : "");
			free(errors);
			sd_notifyf(0, "READY=1\nSTATUS=enforcing policy %s",
				   sl_policy_store_loaded_sha256(d->store));
			continue;
		}
		log_info("%s received: shutting down", strsignal((int)si.ssi_signo));
		sd_notify(0, "STOPPING=1\nSTATUS=stopping: denying pending holds, draining");
		d->stop = 1;
		sl_ingest_stopping(d->ingest);
	}
}

/*
 * The heartbeat the kernel fails closed by: with settings.daemon_absent:
 * freeze, a session process is stopped at its next record once no beat has
 * come for the grace period (sl_daemon_beat), whoever launched the session.
 */
static void heartbeat(struct sl_daemon *d)
{
	const struct sl_policy *p = sl_policy_store_current(d->store);
	bool freeze = !p || p->settings.daemon_absent == SL_DAEMON_ABSENT_FREEZE;
	uint64_t grace_s = p ? p->settings.daemon_grace_s : SL_POLICY_DAEMON_GRACE_DEFAULT;
	static int last;
	int err;

	if (!d->kernel)
		return;
	err = sl_kernel_heartbeat(d->kernel, freeze ? grace_s * 1000000000ULL : 0);
	if (err && err != last)
		log_err("heartbeat: %s (sessions may be stopped as if no daemon ran)",
			strerror(-err));
	last = err;
}

static void on_timer(struct sl_daemon *d)
{
	static unsigned int ticks;
	static int last_err;
	uint64_t exp;
	int err;

	while (read(d->timer_fd, &exp, sizeof(exp)) == sizeof(exp))
		;
	ticks++;
	heartbeat(d);
	sl_ingest_drain(d->ingest);
	err = sl_journal_tick(d->journal);
	if (err && err != last_err)
		log_err("audit log '%s': periodic fsync/compression: %s",
			sl_journal_path(d->journal), strerror(-err));
	last_err = err;
	sl_guard_check(d->guard);
	sl_checkpoints_tick(d->checkpoints);
	if (ticks % (1000 / TICK_MS) == 0)
		sl_ingest_loss_poll(d->ingest);
	/* alerts an output dropped: recorded at most once a second */
	if (ticks % (1000 / TICK_MS) == 0)
		sl_outputs_tick(d->outputs);
	sl_holds_tick(d->verdicts);
	if (ticks % (1000 / TICK_MS) == 0)
		sl_tls_tick(d->tls);
	/* the heartbeat the next daemon dates this one's absence by; at once when
	 * a session started or ended or a hold was decided outside a drain */
	if (sl_sessions_take_changed(d->sessions) | sl_holds_take_changed(d->verdicts) ||
	    ticks % (1000 / TICK_MS) == 0)
		state_save(d, false);

	if (ticks % (60000 / TICK_MS) == 0)
		sl_clock_refresh();
	/* labelled directories created, replaced or renamed since */
	if (ticks % (5000 / TICK_MS) == 0)
		sl_policy_store_refresh_inodes(d->store, d->kernel);
	/* a missed inotify event must not keep a finished session open */
	if (ticks % (2000 / TICK_MS) == 0)
		reap_sessions(d);
}

static int run_loop(struct sl_daemon *d)
{
	struct epoll_event evs[32];

	while (!d->stop) {
		int n = epoll_wait(d->epfd, evs, SL_ARRAY_SIZE(evs), 1000);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return sl_err_ret(-errno, "epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;

			switch (tag) {
			case SL_EP_RINGBUF:
			case SL_EP_VERDICTS:
				sl_ingest_drain(d->ingest);
				break;
			case SL_EP_LISTEN:
				sl_control_accept(d->control);
				break;
			case SL_EP_INOTIFY:
				sl_ingest_drain(d->ingest);
				reap_sessions(d);
				break;
			case SL_EP_SIGNAL:
				on_signal(d);
				break;
			case SL_EP_TIMER:
				on_timer(d);
				break;
			case SL_EP_CONFINE:
				sl_confine_on_event(d->confine);
				break;
			default:
				/* drain first: a tail client sees records in order */
				sl_ingest_drain(d->ingest);
				sl_control_client_event(d->control, evs[i].data.ptr, evs[i].events);
				break;
			}
		}
		/* after the round: a client freed earlier could still be named in evs */
		sl_control_reap(d->control);
		/* credentials found in this round into the kernel (batched: creds.h) */
		sl_creds_flush(d->creds);
	}
	return 0;
}

static void write_daemon_record(struct sl_daemon *d, const char *type)
{
	json_t *rec = json_object();

	if (!rec)
		return;
	json_object_set_new(rec, "type", json_string(type));
	json_object_set_new(rec, "version", json_string(SL_VERSION));
	json_object_set_new(rec, "daemon_pid", json_integer(getpid()));
	json_object_set_new(rec, "policy", json_string(d->opts.policy));
	json_object_set_new(rec, "policy_sha256",
			    json_string(sl_policy_store_loaded_sha256(d->store)));
	if (!strcmp(type, "daemon_start")) {
		json_object_set_new(rec, "features", sl_features_json(d->features));
		json_object_set_new(rec, "ringbuf_size",
				    json_integer((json_int_t)d->opts.ringbuf_size));
		json_object_set_new(rec, "tls_capture_bytes",
				    json_integer((json_int_t)d->opts.tls_capture));
		json_object_set_new(rec, "cgroup_parent",
				    json_string(sl_sessions_cg_parent(d->sessions)));
		json_object_set_new(rec, "pin_dir", json_string(d->pin_dir));
		json_object_set_new(rec, "adopted", json_boolean(sl_kernel_adopted(d->kernel)));
	} else {
		json_object_set_new(rec, "records",
				    json_integer((json_int_t)sl_journal_records(d->journal)));
		json_object_set_new(rec, "enforcement",
				    json_string(d->keeping ? "kept" : "detached"));
	}
	sl_journal_write(d->journal, rec);
	json_decref(rec);
}

static char *default_cgroup_parent(const char *state_dir)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	char *out = NULL;

	if (!strcmp(state_dir, SL_DEFAULT_STATE_DIR))
		return strdup("scopelock");
	if (!EVP_Digest(state_dir, strlen(state_dir), md, &mdlen, EVP_sha256(), NULL))
		return NULL;
	if (asprintf(&out, "scopelock-%02x%02x%02x%02x", md[0], md[1], md[2], md[3]) < 0)
		return NULL;
	return out;
}

/* a checkpoint seal goes to the outputs like an alert: copies off the host */
static void seal_to_outputs(void *ctx, const char *line, size_t len)
{
	struct sl_daemon *d = ctx;

	sl_outputs_alert(d->outputs, line, len);
}

int main(int argc, char **argv)
{
	struct sl_daemon d = {
	    .opts =
		{
		    .policy = SL_DEFAULT_POLICY,
		    .audit_dir = SL_DEFAULT_AUDIT_DIR,
		    .socket_path = SL_DEFAULT_SOCKET,
		    .state_dir = SL_DEFAULT_STATE_DIR,
		    .ringbuf_size = 16 << 20,
		    .tls_capture = SL_TLS_CAPTURE_DEFAULT,
		    .argv_capture = SL_ARGV_DEFAULT,
		    .rotate_size = 64 << 20,
		    .fsync_mode = SL_FSYNC_BATCH,
		    .fsync_interval_ms = 200,
		    .checkpoint_key = SL_DEFAULT_CHECKPOINT_KEY,
		    .checkpoint_interval_s = 60,
		},
	    .epfd = -1,
	    .signal_fd = -1,
	    .timer_fd = -1,
	    .lock_fd = -1,
	};
	_cleanup_free_ char *cg_parent = NULL, *ckpt_file = NULL;
	struct sl_audit_opts aopts;
	bool keep = false;
	int err, ret = 1;

	sl_log_set_ident("scopelockd");
	err = parse_opts(argc, argv, &d.opts);
	if (err)
		return err == 1 ? 0 : 2;
	if (d.opts.verbose)
		sl_log_set_level(SL_LOG_DEBUG);
	if (geteuid() != 0) {
		log_err("must run as root (needs CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN)");
		return 1;
	}
	if (!d.opts.cgroup_parent) {
		cg_parent = default_cgroup_parent(d.opts.state_dir);
		if (!cg_parent) {
			log_err("out of memory");
			return 1;
		}
		d.opts.cgroup_parent = cg_parent;
	}
	d.pin_dir = pin_dir_of(&d.opts);
	if (!d.pin_dir || asprintf(&d.state_file, "%s/enforcement.json", d.opts.state_dir) < 0) {
		log_err("out of memory");
		return 1;
	}
	if (d.opts.stop_enforcement) {
		ret = stop_enforcement(&d);
		goto out_free;
	}
	if (sl_features_new(&d.features)) {
		log_err("out of memory");
		return 1;
	}
	clock_gettime(CLOCK_REALTIME, &d.started);
	sl_clock_refresh();

	if ((err = lock_state_dir(&d)) || (err = sl_policy_store_open(d.opts.policy, &d.store)) ||
	    (err = sl_kernel_fs_prepare()) || (err = setup_fds(&d)) ||
	    (err = sl_sessions_open(d.opts.cgroup_parent, &d.sessions)) ||
	    (err = ep_add(&d, sl_sessions_fd(d.sessions), SL_EP_INOTIFY)))
		goto out;

	aopts = (struct sl_audit_opts){
	    .dir = d.opts.audit_dir,
	    .rotate_bytes = d.opts.rotate_size,
	    .fsync_mode = d.opts.fsync_mode,
	    .fsync_interval_ms = d.opts.fsync_interval_ms,
	    .buffer_bytes = sl_policy_store_current(d.store)
				? sl_policy_store_current(d.store)->settings.audit_buffer
				: 0,
	};
	err = sl_journal_open(&aopts, d.store, &d.journal);
	if (err) {
		sl_err_ret(err, "open audit log in '%s'", d.opts.audit_dir);
		goto out;
	}
	sl_log_set_syslog(1);
	{
		struct sl_journal_hooks hooks = {
		    .line = journal_line,
		    .after = journal_after,
		    .alert = journal_alert,
		    .ctx = &d,
		};

		sl_journal_set_hooks(d.journal, &hooks);
	}
	err = sl_journal_alerts_open(d.journal);
	if (err)
		goto out;
	/* the policy's outputs (threads: after the signal mask of setup_fds) */
	err = sl_outputs_new(d.journal, &d.outputs);
	if (!err && sl_policy_store_current(d.store))
		err = sl_outputs_configure(d.outputs, &sl_policy_store_current(d.store)->outputs);
	if (err)
		goto out;
	{
		struct sl_checkpoints_opts ckopts = {
		    .key_path = d.opts.checkpoint_key,
		    .key_required = d.opts.checkpoint_key_given,
		    .file = d.opts.checkpoints_file,
		    .interval_s = d.opts.checkpoint_interval_s,
		    .on_seal = seal_to_outputs,
		    .on_seal_ctx = &d,
		};

		if (!ckopts.file) {
			if (asprintf(&ckpt_file, "%s/checkpoints.jsonl", d.opts.audit_dir) < 0) {
				ckpt_file = NULL;
				err = -ENOMEM;
				goto out;
			}
			ckopts.file = ckpt_file;
		}
		if (!d.opts.no_checkpoints) {
			err = sl_checkpoints_open(&ckopts, d.journal, &d.checkpoints);
			if (err)
				goto out;
		}
	}
	{
		struct sl_kernel_opts kopts = {
		    .session_level = sl_sessions_level(d.sessions),
		    .cg_parent_fd = sl_sessions_cg_parent_fd(d.sessions),
		    .ringbuf_size = d.opts.ringbuf_size,
		    .argv_capture = d.opts.argv_capture,
		    .tls_capture = d.opts.tls_capture,
		    .verbose = d.opts.verbose,
		    .signals_used = sl_policy_store_signals,
		    .signals_ctx = d.store,
		    .pin_dir = d.pin_dir,
		};

		d.prev_state = state_load(d.state_file);
		if (d.prev_state &&
		    strcmp(json_string_value(json_object_get(d.prev_state, "cgroup_parent")) ?: "",
			   d.opts.cgroup_parent)) {
			log_err(
			    "the enforcement pinned in '%s' is for session parent '%s', not '%s': "
			    "start with the same --cgroup-parent, or detach it first "
			    "(scopelockd --stop-enforcement)",
			    d.pin_dir,
			    json_string_value(json_object_get(d.prev_state, "cgroup_parent")),
			    d.opts.cgroup_parent);
			err = -EINVAL;
			goto out;
		}

		err = sl_kernel_start(&kopts, d.features, &d.kernel);
		if (err)
			goto out;
		/* sessions an adopted kernel stopped for the absence go on stopping
		 * until this daemon drains: from here they need not */
		heartbeat(&d);
	}
	err = sl_programs_new(d.kernel, &d.programs);
	if (err)
		goto out;
	sl_sessions_bind(d.sessions, d.kernel, d.journal, d.store);
	err = sl_verdicts_new(d.sessions, d.kernel, d.store, d.programs, d.journal, &d.verdicts);
	if (err)
		goto out;
	sl_verdicts_set_hold_hook(d.verdicts, holds_to_state, &d);
	{
		struct sl_guard_hooks hooks = {
		    .pause = ring_pause,
		    .resume = ring_resume,
		    .ctx = &d,
		};

		err = sl_guard_new(d.journal, d.sessions, d.verdicts, d.store, &hooks, &d.guard);
		if (err)
			goto out;
	}
	err = sl_confine_init(d.features, d.journal, sl_sessions_cg_root(d.sessions), &d.confine);
	if (!err)
		err = ep_add(&d, sl_confine_fd(d.confine), SL_EP_CONFINE);
	if (err)
		goto out;
	{
		char *errors = NULL;

		err = sl_policy_store_apply(d.store, d.kernel, d.programs, &errors);
		if (err) {
			log_err("policy: %s", errors ? errors : strerror(-err));
			free(errors);
			goto out;
		}
	}
	err = sl_ingest_open(d.kernel, d.sessions, d.store, d.journal, d.verdicts, d.epfd,
			     SL_EP_RINGBUF, SL_EP_VERDICTS, &d.ingest);
	if (err)
		goto out;
	err = sl_tls_init(d.kernel, tls_report, &d, &d.tls);
	if (err)
		log_warn("TLS instrumentation failed (%s): TLS plaintext will not be captured; "
			 "see 'scopelock status'",
			 strerror(-err));
	sl_ingest_set_tls(d.ingest, d.tls);
	err = sl_creds_new(d.store, d.sessions, d.journal, d.kernel, d.programs, &d.creds);
	if (err) {
		log_err("credentials: %s", strerror(-err));
		goto out;
	}
	sl_ingest_set_creds(d.ingest, d.creds);
	/* this daemon's probes are in: the previous daemon's it replaced go */
	sl_kernel_adopt_finish(d.kernel);
	write_daemon_record(&d, "daemon_start");
	if (sl_kernel_adopted(d.kernel))
		adopt(&d);
	else
		state_save(&d, false);
	/* the adopted sessions hold the system-call tracepoints now; with none, they go */
	sl_kernel_syscalls_settle(d.kernel);
	d.running = true;
	/* the first seal: the log as this daemon found it, and its start */
	sl_checkpoints_now(d.checkpoints);
	{
		struct sl_control_opts copts = {
		    .socket_path = d.opts.socket_path,
		    .socket_group = d.opts.socket_group,
		    .cgroup_parent = d.opts.cgroup_parent,
		    .epfd = d.epfd,
		    .started = d.started,
		    .reload = daemon_reload,
		    .reload_ctx = &d,
		    .shutdown = daemon_shutdown,
		};
		struct sl_control_rooms rooms = {
		    .sessions = d.sessions,
		    .verdicts = d.verdicts,
		    .store = d.store,
		    .journal = d.journal,
		    .kernel = d.kernel,
		    .ingest = d.ingest,
		    .guard = d.guard,
		    .confine = d.confine,
		    .tls = d.tls,
		    .features = d.features,
		    .checkpoints = d.checkpoints,
		    .creds = d.creds,
		};

		if ((err = sl_control_listen(&copts, &rooms, &d.control)) ||
		    (err = ep_add(&d, sl_control_fd(d.control), SL_EP_LISTEN)))
			goto out;
	}
	/* systemd (Type=notify): the socket answers and enforcement is in force */
	sd_notifyf(0, "READY=1\nSTATUS=enforcing policy %s, audit log %s\nMAINPID=%d",
		   sl_policy_store_loaded_sha256(d.store), sl_journal_path(d.journal),
		   (int)getpid());
	log_info("ready: socket '%s', audit log '%s', policy '%s'", d.opts.socket_path,
		 sl_journal_path(d.journal), d.opts.policy);

	err = run_loop(&d);
	ret = err ? 1 : 0;
out:
	if (err && ret)
		log_err("scopelockd stopped: %s", strerror(-err));
	/* kept: the kernel goes on enforcing, the next daemon adopts (kernel.h) */
	keep = d.kernel && !d.detach && (d.running || sl_kernel_adopted(d.kernel));
	d.keeping = keep;
	sl_ingest_drain(d.ingest);
	if (d.verdicts)
		sl_verdicts_flush(d.verdicts, UINT64_MAX);
	if (d.journal) {
		sl_ingest_loss_poll(d.ingest);
		/* a held action never proceeds without a person: deny what is pending,
		 * unless the holds stay for the next daemon */
		if (d.verdicts && !keep)
			sl_holds_deny_all(d.verdicts, "scopelockd",
					  "daemon stopped before anyone decided");
		if (d.guard)
			sl_guard_stop(d.guard);
		/* the outputs deliver what waits (the holds just denied), drops recorded */
		sl_outputs_stop(d.outputs, 3000);
		if (d.kernel) {
			size_t left = 0;

			for (struct sl_session *s = sl_sessions_next(d.sessions, NULL); s;
			     s = sl_sessions_next(d.sessions, s)) {
				if (!sl_session_active(s))
					continue;
				if (!sl_session_populated(s))
					end_session(&d, s);
				else if (keep)
					left++;
				else
					sl_session_abandon(s);
			}
			if (keep && d.running)
				state_save(&d, true);
			write_daemon_record(&d, "daemon_stop");
			if (keep)
				log_warn("%zu session(s) stay enforced by the kernel without a "
					 "daemon (pinned in '%s')",
					 left, d.pin_dir);
			sl_sessions_clear(d.sessions);
		} else {
			write_daemon_record(&d, "daemon_stop");
		}
		sl_journal_drain(d.journal, 3000);
	}
	/* the last seal covers daemon_stop */
	sl_checkpoints_close(d.checkpoints);
	d.checkpoints = NULL;
	/* sessions still running: their filtered calls fail with ENOSYS from now on */
	sl_confine_free(d.confine);
	d.confine = NULL;
	sl_control_close(d.control);
	d.control = NULL;
	sl_ingest_close(d.ingest);
	d.ingest = NULL;
	sl_kernel_release(d.kernel, keep);
	if (keep)
		sl_tls_keep(d.tls);
	if (d.kernel && !keep && unlink(d.state_file) && errno != ENOENT)
		log_warn("remove '%s': %s", d.state_file, strerror(errno));
	sl_tls_free(d.tls);
	d.tls = NULL;
	sl_kernel_stop(d.kernel);
	d.kernel = NULL;
	sl_outputs_free(d.outputs);
	d.outputs = NULL;
	sl_journal_close(d.journal);
	d.journal = NULL;
	sl_sessions_close(d.sessions);
	d.sessions = NULL;
	sl_guard_free(d.guard);
	d.guard = NULL;
	sl_verdicts_free(d.verdicts);
	d.verdicts = NULL;
	sl_policy_store_free(d.store);
	/* after the store, which borrows its inventory: every value wiped */
	sl_creds_free(d.creds);
	sl_programs_free(d.programs);
	sl_features_free(d.features);
	json_decref(d.prev_state);
out_free:
	if (d.lock_fd >= 0)
		close(d.lock_fd);
	free(d.pin_dir);
	free(d.state_file);
	return ret;
}
