// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The outputs room (outputs.h): each configured output is a bounded queue
 * of alert lines and one thread that delivers them in order, the head of
 * the queue retried with exponential backoff until it is delivered or its
 * retries are spent. The loop only ever takes a queue's mutex to push a
 * line (or count it dropped when the queue is full): a dead, slow or
 * unread output never makes enforcement or the journal wait.
 *
 *   program   `sh -c COMMAND` (its own process group), each alert a JSON
 *             line on its stdin; restarted when it exits or stops reading
 *             ends in EPIPE; a program that does not read fills the pipe,
 *             then the queue (drops counted)
 *   webhook   libcurl: POST, Content-Type application/json, the record as
 *             body; 2xx is delivered, anything else (refused, timeout,
 *             3xx/4xx/5xx) is retried
 *   syslog    RFC 5424 datagrams on a unix socket, the record's scalar
 *             members as structured data [scopelock@32473 ...]
 *   journald  sd_journal_sendv: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER and a
 *             SCOPELOCK_<MEMBER> field per scalar member, SCOPELOCK_RECORD
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "daemon.h"
#include "journal.h"
#include "log.h"
#include "outputs.h"
#include "policy.h"
#include "util.h"

extern char **environ;

enum out_kind {
	OUT_PROGRAM,
	OUT_WEBHOOK,
	OUT_SYSLOG,
	OUT_JOURNALD,
	OUT_N
};
static const char *const kind_names[OUT_N] = {"program", "webhook", "syslog", "journald"};

/* the syslog structured data's SD-ID: the documentation enterprise number (RFC 5612) */
#define SL_SD_ID "scopelock@32473"
/* the longest wait for a blocked pipe or socket before looking at the stop flag */
#define SL_OUT_POLL_MS 200
/* how long a program gets to exit after its stdin closed */
#define SL_PROGRAM_EXIT_MS 1000

struct out_cfg {
	char *program;
	char *url;
	char *ca_file;
	char *socket;
	uint32_t timeout_ms;
	uint32_t retries; /* UINT32_MAX: until delivered */
	uint32_t backoff_ms, backoff_max_ms;
	uint32_t queue;
};

struct out {
	enum out_kind kind;
	struct out_cfg cfg;
	pthread_t th;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* the queue (under mu): lines without their '\n' */
	char **q;
	uint32_t head, n;
	bool stop;	       /* deliver what is queued, then end */
	atomic_bool abandon;   /* end now */
	bool busy;	       /* the thread holds the head (under mu) */
	uint64_t sent;	       /* under mu */
	uint64_t failures;     /* failed attempts */
	uint64_t drop_full;    /* the queue was full */
	uint64_t drop_failed;  /* retries spent */
	uint64_t drop_stopped; /* still queued when the output stopped */
	char last_error[256];  /* under mu: the last failure */
	/* the loop's: what the records said so far */
	uint64_t rep_full, rep_failed, rep_stopped;
	/* the thread's */
	char terr[256]; /* the failure of the delivery running (copied to last_error) */
	pid_t pid;
	int fd;
	CURL *curl;
	struct curl_slist *hdrs;
	char curl_err[CURL_ERROR_SIZE];
	int sock;
	char host[256];
};

struct sl_outputs {
	struct sl_journal *journal;
	struct out *o[OUT_N];
	bool curl_ready;
};

/* ---- configuration ---- */

static void cfg_free(struct out_cfg *c)
{
	free(c->program);
	free(c->url);
	free(c->ca_file);
	free(c->socket);
	memset(c, 0, sizeof(*c));
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool cfg_eq(const struct out_cfg *a, const struct out_cfg *b)
{
	return str_eq(a->program, b->program) && str_eq(a->url, b->url) &&
	       str_eq(a->ca_file, b->ca_file) && str_eq(a->socket, b->socket) &&
	       a->timeout_ms == b->timeout_ms && a->retries == b->retries &&
	       a->backoff_ms == b->backoff_ms && a->backoff_max_ms == b->backoff_max_ms &&
	       a->queue == b->queue;
}

static int dup_opt(const char *s, char **out)
{
	*out = NULL;
	if (s && !(*out = strdup(s)))
		return -ENOMEM;
	return 0;
}

/* the settings of kind k in the policy's outputs; 1: configured, 0: not, -errno */
static int cfg_from(enum out_kind k, const struct sl_policy_outputs *p, struct out_cfg *c)
{
	int err = 0;

	memset(c, 0, sizeof(*c));
	/* local outputs: a few quick retries (the socket may be restarting) */
	c->timeout_ms = 2000;
	c->retries = 10;
	c->backoff_ms = 200;
	c->backoff_max_ms = 5000;
	switch (k) {
	case OUT_PROGRAM:
		if (!p->program)
			return 0;
		err = dup_opt(p->program, &c->program);
		c->queue = p->program_queue;
		/* a program that keeps failing to start or dying on a line */
		c->backoff_ms = 500;
		c->backoff_max_ms = 30000;
		break;
	case OUT_WEBHOOK:
		if (!p->webhook_url)
			return 0;
		err = dup_opt(p->webhook_url, &c->url);
		if (!err)
			err = dup_opt(p->webhook_ca_file, &c->ca_file);
		c->queue = p->webhook_queue;
		c->timeout_ms = p->webhook_timeout_ms;
		c->retries = p->webhook_retries;
		c->backoff_ms = p->webhook_backoff_ms;
		c->backoff_max_ms = p->webhook_backoff_max;
		break;
	case OUT_SYSLOG:
		if (!p->syslog_socket)
			return 0;
		err = dup_opt(p->syslog_socket, &c->socket);
		c->queue = p->syslog_queue;
		break;
	case OUT_JOURNALD:
		if (!p->journald)
			return 0;
		c->queue = p->journald_queue;
		break;
	default:
		return 0;
	}
	if (!c->queue)
		c->queue = SL_OUTPUT_QUEUE_DEFAULT;
	if (err) {
		cfg_free(c);
		return err;
	}
	return 1;
}

/* ---- delivery: program ---- */

/* wait (up to ms) for the program to exit; true when reaped */
static bool program_reap(struct out *w, unsigned int ms)
{
	int st;

	for (unsigned int t = 0;; t += 20) {
		pid_t r = waitpid(w->pid, &st, WNOHANG);

		if (r == w->pid || (r < 0 && errno == ECHILD)) {
			if (r == w->pid && WIFEXITED(st))
				snprintf(w->terr, sizeof(w->terr),
					 "the program exited with status %d", WEXITSTATUS(st));
			else if (r == w->pid && WIFSIGNALED(st))
				snprintf(w->terr, sizeof(w->terr),
					 "the program was killed by signal %d", WTERMSIG(st));
			w->pid = 0;
			return true;
		}
		if (t >= ms)
			return false;
		usleep(20000);
	}
}

/* close its stdin, let it exit; then its process group (ours: it was started so) */
static void program_end(struct out *w, unsigned int grace_ms)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	if (w->pid <= 0)
		return;
	if (program_reap(w, grace_ms))
		return;
	kill(-w->pid, SIGTERM);
	if (program_reap(w, 1000))
		return;
	kill(-w->pid, SIGKILL);
	program_reap(w, 5000);
}

static int program_start(struct out *w)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, deflt;
	char *argv[] = {"/bin/sh", "-c", w->cfg.program, NULL};
	int p[2], err;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigemptyset(&deflt);
	sigaddset(&deflt, SIGPIPE);
	sigaddset(&deflt, SIGTERM);
	sigaddset(&deflt, SIGINT);
	sigaddset(&deflt, SIGHUP);
	posix_spawn_file_actions_adddup2(&fa, p[0], 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	/* the daemon's blocked signals (signalfd) and ignored SIGPIPE are not the program's */
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &deflt);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
					  POSIX_SPAWN_SETPGROUP);
	err = -posix_spawn(&w->pid, "/bin/sh", &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(p[0]);
	if (err) {
		close(p[1]);
		w->pid = 0;
		snprintf(w->terr, sizeof(w->terr), "starting /bin/sh: %s", strerror(-err));
		return err;
	}
	w->fd = p[1];
	fcntl(w->fd, F_SETFL, O_NONBLOCK);
	log_info("output program: started pid %d: %s", (int)w->pid, w->cfg.program);
	return 0;
}

/* write all of buf to fd (non-blocking), looking at the stop flag while it is full */
static int write_waiting(struct out *w, int fd, const char *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = {.fd = fd, .events = POLLOUT};

			if (atomic_load(&w->abandon))
				return -ECANCELED;
			poll(&pfd, 1, SL_OUT_POLL_MS);
			continue;
		}
		return n < 0 ? -errno : -EIO;
	}
	return 0;
}

static int program_send(struct out *w, const char *line)
{
	size_t len = strlen(line);
	int err;

	/* exited since the last line: start it again */
	if (w->pid > 0 && program_reap(w, 0)) {
		log_warn("output program: %s; starting it again", w->terr);
		close(w->fd);
		w->fd = -1;
	}
	if (w->pid <= 0 && (err = program_start(w)))
		return err;
	err = write_waiting(w, w->fd, line, len);
	if (!err)
		err = write_waiting(w, w->fd, "\n", 1);
	if (err == -EPIPE) {
		program_end(w, 0);
		snprintf(w->terr, sizeof(w->terr),
			 "the program closed its stdin (it is started again)");
	} else if (err && err != -ECANCELED) {
		snprintf(w->terr, sizeof(w->terr), "write to the program: %s", strerror(-err));
	}
	return err;
}

/* ---- delivery: webhook ---- */

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
	return size * n;
}

static int progress(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct out *w = ctx;

	return atomic_load(&w->abandon) ? 1 : 0;
}

static int webhook_send(struct out *w, const char *line)
{
	CURLcode rc;
	long code = 0;

	if (!w->curl) {
		w->curl = curl_easy_init();
		w->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
		if (!w->curl || !w->hdrs)
			return -ENOMEM;
		curl_easy_setopt(w->curl, CURLOPT_URL, w->cfg.url);
		curl_easy_setopt(w->curl, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(w->curl, CURLOPT_TIMEOUT_MS, (long)w->cfg.timeout_ms);
		curl_easy_setopt(w->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)w->cfg.timeout_ms);
		curl_easy_setopt(w->curl, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(w->curl, CURLOPT_FOLLOWLOCATION, 0L);
		curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, w->hdrs);
		curl_easy_setopt(w->curl, CURLOPT_USERAGENT, "scopelockd/" SL_VERSION);
		curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(w->curl, CURLOPT_ERRORBUFFER, w->curl_err);
		curl_easy_setopt(w->curl, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(w->curl, CURLOPT_XFERINFOFUNCTION, progress);
		curl_easy_setopt(w->curl, CURLOPT_XFERINFODATA, w);
		if (w->cfg.ca_file)
			curl_easy_setopt(w->curl, CURLOPT_CAINFO, w->cfg.ca_file);
	}
	w->curl_err[0] = '\0';
	curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(line));
	curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, line);
	rc = curl_easy_perform(w->curl);
	if (rc == CURLE_ABORTED_BY_CALLBACK)
		return -ECANCELED;
	if (rc != CURLE_OK) {
		snprintf(w->terr, sizeof(w->terr), "%s",
			 w->curl_err[0] ? w->curl_err : curl_easy_strerror(rc));
		return -EIO;
	}
	curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code < 200 || code > 299) {
		snprintf(w->terr, sizeof(w->terr), "HTTP status %ld", code);
		return -EIO;
	}
	return 0;
}

/* ---- delivery: syslog and journald ---- */

/* the record's scalar members, in order: name and value as text */
struct member {
	const char *key;
	char val[256];
};

static size_t scalar_members(json_t *rec, struct member *m, size_t max)
{
	const char *key;
	json_t *v;
	size_t n = 0;

	json_object_foreach (rec, key, v) {
		if (n == max)
			break;
		if (json_is_string(v))
			snprintf(m[n].val, sizeof(m[n].val), "%s", json_string_value(v));
		else if (json_is_integer(v))
			snprintf(m[n].val, sizeof(m[n].val), "%lld",
				 (long long)json_integer_value(v));
		else if (json_is_boolean(v))
			snprintf(m[n].val, sizeof(m[n].val), "%s",
				 json_is_true(v) ? "true" : "false");
		else
			continue;
		m[n++].key = key;
	}
	return n;
}

/* "alert session 1f2e... rule graphql-destroy action kill verdict killed (seq 12)" */
static void summary(json_t *rec, char *buf, size_t sz)
{
	static const char *const keys[] = {"session", "rule",	 "action",
					   "verdict", "syscall", "reason"};
	const char *type = json_string_value(json_object_get(rec, "type"));
	size_t o = (size_t)snprintf(buf, sz, "scopelock %s", type ?: "record");

	for (size_t i = 0; i < SL_ARRAY_SIZE(keys) && o < sz; i++) {
		const char *v = json_string_value(json_object_get(rec, keys[i]));

		if (v)
			o += (size_t)snprintf(buf + o, sz - o, " %s %s", keys[i], v);
	}
	if (o < sz && json_is_integer(json_object_get(rec, "seq")))
		snprintf(buf + o, sz - o, " (seq %lld)",
			 (long long)json_integer_value(json_object_get(rec, "seq")));
}

/* append s to the SD-PARAM value: '"', '\' and ']' escaped (RFC 5424 6.3.3) */
static size_t sd_escape(char *out, size_t o, size_t sz, const char *s)
{
	for (; *s && o + 2 < sz; s++) {
		if (*s == '"' || *s == '\\' || *s == ']')
			out[o++] = '\\';
		out[o++] = *s;
	}
	return o;
}

static int syslog_send(struct out *w, json_t *rec, const char *line)
{
	struct member m[64];
	size_t n = scalar_members(rec, m, SL_ARRAY_SIZE(m)), o, cap;
	const char *type = json_string_value(json_object_get(rec, "type"));
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char ts[64], msgid[33], *buf;
	struct timespec now;
	struct tm tm;
	int err = 0;

	if (w->sock < 0) {
		w->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (w->sock < 0)
			return -errno;
		if (gethostname(w->host, sizeof(w->host) - 1) || !w->host[0])
			strcpy(w->host, "-");
	}
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + strlen(ts), sizeof(ts) - strlen(ts), ".%06ldZ", now.tv_nsec / 1000);
	/* MSGID: the record type, printable ASCII, at most 32 */
	snprintf(msgid, sizeof(msgid), "%s", type ?: "-");
	for (char *p = msgid; *p; p++)
		if (*p < 33 || *p > 126)
			*p = '_';
	cap = strlen(line) + n * 300 + 1024;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	/* PRI 81: LOG_AUTHPRIV (10) * 8 + LOG_ALERT (1) */
	o = (size_t)snprintf(buf, cap, "<81>1 %s %s scopelockd %d %s [" SL_SD_ID, ts, w->host,
			     (int)getpid(), msgid);
	for (size_t i = 0; i < n && o < cap; i++) {
		/* SD-NAME: printable ASCII but '=', ' ', ']', '"'; at most 32 */
		o += (size_t)snprintf(buf + o, cap - o, " ");
		for (const char *k = m[i].key; *k && k - m[i].key < 32 && o + 1 < cap; k++)
			buf[o++] = (*k > 32 && *k < 127 && !strchr("= ]\"", *k)) ? *k : '_';
		if (o + 2 < cap) {
			buf[o++] = '=';
			buf[o++] = '"';
		}
		o = sd_escape(buf, o, cap, m[i].val);
		if (o + 1 < cap)
			buf[o++] = '"';
	}
	if (o < cap)
		o += (size_t)snprintf(buf + o, cap - o, "] %s", line);
	if (o >= cap)
		o = cap - 1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", w->cfg.socket);
	for (;;) {
		ssize_t r = sendto(w->sock, buf, o, 0, (struct sockaddr *)&sa, sizeof(sa));

		if (r >= 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			struct pollfd pfd = {.fd = w->sock, .events = POLLOUT};

			if (atomic_load(&w->abandon)) {
				err = -ECANCELED;
				break;
			}
			poll(&pfd, 1, SL_OUT_POLL_MS);
			continue;
		}
		err = -errno;
		snprintf(w->terr, sizeof(w->terr), "syslog socket '%s': %s", w->cfg.socket,
			 strerror(errno));
		break;
	}
	free(buf);
	return err;
}

/* fields[*k] = the formatted text; false (nothing added) without memory */
static bool add_field(char **fields, size_t *k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool add_field(char **fields, size_t *k, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&fields[*k], fmt, ap);
	va_end(ap);
	if (n < 0) {
		fields[*k] = NULL;
		return false;
	}
	(*k)++;
	return true;
}

static int journald_send(struct out *w, json_t *rec, const char *line)
{
	struct member m[64];
	size_t n = scalar_members(rec, m, SL_ARRAY_SIZE(m)), k = 0;
	struct iovec iov[64 + 5];
	char *fields[64 + 5] = {0};
	char msg[512];
	int err = -ENOMEM;

	summary(rec, msg, sizeof(msg));
	if (!add_field(fields, &k, "MESSAGE=%s", msg) || !add_field(fields, &k, "PRIORITY=1") ||
	    !add_field(fields, &k, "SYSLOG_FACILITY=10") ||
	    !add_field(fields, &k, "SYSLOG_IDENTIFIER=scopelockd") ||
	    !add_field(fields, &k, "SCOPELOCK_RECORD=%s", line))
		goto out;
	for (size_t i = 0; i < n; i++) {
		char name[64];
		size_t l = 0;

		/* a journal field name: A-Z, 0-9, '_' */
		for (const char *c = m[i].key; *c && l < 40; c++)
			name[l++] =
			    isalnum((unsigned char)*c) ? (char)toupper((unsigned char)*c) : '_';
		name[l] = '\0';
		if (!add_field(fields, &k, "SCOPELOCK_%s=%s", name, m[i].val))
			goto out;
	}
	for (size_t i = 0; i < k; i++)
		iov[i] = (struct iovec){.iov_base = fields[i], .iov_len = strlen(fields[i])};
	err = sd_journal_sendv(iov, (int)k);
	if (err)
		snprintf(w->terr, sizeof(w->terr), "journald: %s", strerror(-err));
out:
	if (err == -ENOMEM)
		snprintf(w->terr, sizeof(w->terr), "journald: out of memory");
	for (size_t i = 0; i < k; i++)
		free(fields[i]);
	return err;
}

/* ---- the thread ---- */

static int deliver(struct out *w, const char *line)
{
	json_t *rec;
	int err;

	switch (w->kind) {
	case OUT_PROGRAM:
		return program_send(w, line);
	case OUT_WEBHOOK:
		return webhook_send(w, line);
	default:
		break;
	}
	rec = json_loads(line, JSON_ALLOW_NUL, NULL);
	if (!json_is_object(rec)) {
		json_decref(rec);
		snprintf(w->terr, sizeof(w->terr), "the line is not a JSON object");
		return -EINVAL;
	}
	err = w->kind == OUT_SYSLOG ? syslog_send(w, rec, line) : journald_send(w, rec, line);
	json_decref(rec);
	return err;
}

static void timespec_add_ms(struct timespec *ts, uint32_t ms)
{
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *out_thread(void *arg)
{
	struct out *w = arg;
	uint32_t attempts = 0, wait_ms = w->cfg.backoff_ms;

	/* the program runs from the start (a command that cannot start is seen at once) */
	if (w->kind == OUT_PROGRAM && program_start(w))
		log_warn("output program: %s", w->terr);
	pthread_mutex_lock(&w->mu);
	for (;;) {
		char *line;
		int err;

		while (!w->n && !w->stop && !atomic_load(&w->abandon))
			pthread_cond_wait(&w->cv, &w->mu);
		if (atomic_load(&w->abandon) || !w->n)
			break;
		line = w->q[w->head];
		w->busy = true;
		pthread_mutex_unlock(&w->mu);
		err = deliver(w, line);
		pthread_mutex_lock(&w->mu);
		w->busy = false;
		if (err && err != -ECANCELED)
			memcpy(w->last_error, w->terr, sizeof(w->last_error));
		if (err == -ECANCELED)
			break;
		if (!err || ++attempts > w->cfg.retries) {
			if (err) {
				w->drop_failed++;
				w->failures++;
			} else {
				w->sent++;
			}
			free(line);
			w->q[w->head] = NULL;
			w->head = (w->head + 1) % w->cfg.queue;
			w->n--;
			attempts = 0;
			wait_ms = w->cfg.backoff_ms;
			pthread_cond_broadcast(&w->cv);
			continue;
		}
		/* retried after a backoff that doubles up to backoff_max */
		w->failures++;
		if (w->failures == 1 || w->failures % 100 == 0)
			log_warn("output %s: %s (attempt %u; %llu failed attempts so far)",
				 kind_names[w->kind], w->terr, attempts,
				 (unsigned long long)w->failures);
		{
			struct timespec until;

			clock_gettime(CLOCK_MONOTONIC, &until);
			timespec_add_ms(&until, wait_ms);
			while (!atomic_load(&w->abandon) &&
			       pthread_cond_timedwait(&w->cv, &w->mu, &until) != ETIMEDOUT)
				;
		}
		wait_ms = wait_ms > w->cfg.backoff_max_ms / 2 ? w->cfg.backoff_max_ms : wait_ms * 2;
	}
	pthread_mutex_unlock(&w->mu);
	if (w->kind == OUT_PROGRAM)
		program_end(w, SL_PROGRAM_EXIT_MS);
	return NULL;
}

/* ---- an output ---- */

static void out_free(struct out *w)
{
	if (!w)
		return;
	for (uint32_t i = 0; i < w->n; i++)
		free(w->q[(w->head + i) % w->cfg.queue]);
	free(w->q);
	if (w->curl)
		curl_easy_cleanup(w->curl);
	curl_slist_free_all(w->hdrs);
	if (w->sock >= 0)
		close(w->sock);
	if (w->fd >= 0)
		close(w->fd);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	cfg_free(&w->cfg);
	free(w);
}

/* a new output of kind k (cfg taken); its thread started */
static int out_start(enum out_kind k, struct out_cfg *cfg, struct out **out)
{
	struct out *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;
	int err;

	if (!w)
		return -ENOMEM;
	w->kind = k;
	w->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	w->fd = -1;
	w->sock = -1;
	atomic_init(&w->abandon, false);
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	w->q = calloc(w->cfg.queue, sizeof(*w->q));
	if (!w->q) {
		out_free(w);
		return -ENOMEM;
	}
	err = -pthread_create(&w->th, NULL, out_thread, w);
	if (err) {
		out_free(w);
		return err;
	}
	w->started = true;
	*out = w;
	return 0;
}

static bool out_push(struct out *w, char *line)
{
	bool ok = false;

	pthread_mutex_lock(&w->mu);
	if (w->n < w->cfg.queue && !w->stop) {
		w->q[(w->head + w->n) % w->cfg.queue] = line;
		w->n++;
		ok = true;
		pthread_cond_broadcast(&w->cv);
	} else {
		w->drop_full++;
	}
	pthread_mutex_unlock(&w->mu);
	return ok;
}

/*
 * Stop the thread: deliver what is queued for up to wait_ms first. false:
 * the thread did not end (a delivery that does not return: it and its
 * memory are left alone).
 */
static bool out_stop(struct out *w, unsigned int wait_ms)
{
	struct timespec until;
	bool joined;

	clock_gettime(CLOCK_MONOTONIC, &until);
	timespec_add_ms(&until, wait_ms);
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_broadcast(&w->cv);
	while ((w->n || w->busy) && pthread_cond_timedwait(&w->cv, &w->mu, &until) != ETIMEDOUT)
		;
	atomic_store(&w->abandon, true);
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	clock_gettime(CLOCK_REALTIME, &until);
	timespec_add_ms(&until, 5000);
	joined = !pthread_timedjoin_np(w->th, NULL, &until);
	if (!joined)
		log_err("output %s: its thread did not stop; left running", kind_names[w->kind]);
	pthread_mutex_lock(&w->mu);
	w->drop_stopped += w->n;
	pthread_mutex_unlock(&w->mu);
	w->started = false;
	return joined;
}

/* move what old still holds into w (as much as fits); the rest counted in old */
static void out_take_queue(struct out *w, struct out *old)
{
	while (old->n) {
		char *line = old->q[old->head];

		old->q[old->head] = NULL;
		old->head = (old->head + 1) % old->cfg.queue;
		old->n--;
		old->drop_stopped--;
		if (!out_push(w, line)) {
			free(line);
			old->drop_stopped++;
		}
	}
}

/* output_dropped records for w's drops since the last report */
static void out_report(struct sl_outputs *o, struct out *w)
{
	struct {
		const char *reason;
		uint64_t now, *rep;
	} r[3];
	char err[256];

	pthread_mutex_lock(&w->mu);
	r[0].reason = "queue_full";
	r[0].now = w->drop_full;
	r[0].rep = &w->rep_full;
	r[1].reason = "retries_spent";
	r[1].now = w->drop_failed;
	r[1].rep = &w->rep_failed;
	r[2].reason = "stopped";
	r[2].now = w->drop_stopped;
	r[2].rep = &w->rep_stopped;
	snprintf(err, sizeof(err), "%s", w->last_error);
	pthread_mutex_unlock(&w->mu);
	for (size_t i = 0; i < SL_ARRAY_SIZE(r); i++) {
		json_t *rec;

		if (r[i].now == *r[i].rep)
			continue;
		rec = json_pack("{s:s, s:s, s:s, s:I, s:I}", "type", "output_dropped", "output",
				kind_names[w->kind], "reason", r[i].reason, "count",
				(json_int_t)(r[i].now - *r[i].rep), "total", (json_int_t)r[i].now);
		if (rec && err[0] && i != 0)
			json_object_set_new(rec, "last_error", json_string(err));
		log_warn("output %s: %llu alerts dropped (%s)", kind_names[w->kind],
			 (unsigned long long)(r[i].now - *r[i].rep), r[i].reason);
		*r[i].rep = r[i].now;
		if (rec)
			sl_journal_write(o->journal, rec);
		json_decref(rec);
	}
}

/* ---- the door ---- */

int sl_outputs_new(struct sl_journal *j, struct sl_outputs **out)
{
	struct sl_outputs *o = calloc(1, sizeof(*o));

	if (!o)
		return -ENOMEM;
	o->journal = j;
	*out = o;
	return 0;
}

int sl_outputs_configure(struct sl_outputs *o, const struct sl_policy_outputs *cfg)
{
	int ret = 0;

	for (int k = 0; k < OUT_N; k++) {
		struct out *old = o->o[k], *w = NULL;
		struct out_cfg c;
		int err = cfg_from((enum out_kind)k, cfg, &c);

		if (err < 0) {
			ret = err;
			continue;
		}
		if (err == 1 && old && cfg_eq(&old->cfg, &c)) {
			cfg_free(&c);
			continue;
		}
		if (k == OUT_WEBHOOK && err == 1 && !o->curl_ready) {
			/* once, from the loop's thread, before any webhook thread */
			if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
				log_err("output webhook: libcurl did not initialise");
				cfg_free(&c);
				ret = -EIO;
				continue;
			}
			o->curl_ready = true;
		}
		if (err == 1 && (err = out_start((enum out_kind)k, &c, &w))) {
			log_err("output %s: cannot start: %s", kind_names[k], strerror(-err));
			cfg_free(&c);
			ret = err;
			w = NULL;
		}
		if (old) {
			/* the old one stops at once; a new one of its kind takes its queue */
			if (out_stop(old, 0)) {
				if (w)
					out_take_queue(w, old);
				out_report(o, old);
				out_free(old);
			} else {
				out_report(o, old);
			}
		}
		o->o[k] = w;
		if (w)
			log_info("output %s: on (queue %u)", kind_names[k], w->cfg.queue);
		else if (old)
			log_info("output %s: off", kind_names[k]);
	}
	return ret;
}

void sl_outputs_alert(struct sl_outputs *o, const char *line, size_t len)
{
	if (!o || !line)
		return;
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\0'))
		len--;
	for (int k = 0; k < OUT_N; k++) {
		char *copy;

		if (!o->o[k])
			continue;
		copy = strndup(line, len);
		if (!copy) {
			pthread_mutex_lock(&o->o[k]->mu);
			o->o[k]->drop_full++;
			pthread_mutex_unlock(&o->o[k]->mu);
			continue;
		}
		if (!out_push(o->o[k], copy))
			free(copy);
	}
}

void sl_outputs_tick(struct sl_outputs *o)
{
	for (int k = 0; o && k < OUT_N; k++)
		if (o->o[k])
			out_report(o, o->o[k]);
}

void sl_outputs_stop(struct sl_outputs *o, unsigned int timeout_ms)
{
	struct timespec t0, t;

	if (!o)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int k = 0; k < OUT_N; k++) {
		struct out *w = o->o[k];
		long spent;

		if (!w)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &t);
		spent = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (out_stop(w, spent < (long)timeout_ms ? timeout_ms - (unsigned int)spent : 0)) {
			out_report(o, w);
			out_free(w);
		} else {
			out_report(o, w);
		}
		o->o[k] = NULL;
	}
}

void sl_outputs_free(struct sl_outputs *o)
{
	if (!o)
		return;
	sl_outputs_stop(o, 0);
	if (o->curl_ready)
		curl_global_cleanup();
	free(o);
}
