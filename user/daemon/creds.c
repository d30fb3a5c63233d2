// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The credentials room (creds.h): what a session reads, scanned for
 * credentials; the inventory of what was found, redacted at once and
 * enforced in the kernel in batches.
 *
 * Reading a file the session opened, as root: the path the kernel reported
 * is opened O_PATH (nothing of the file's own open runs: no device, FIFO
 * or file system callback), without following a symlink in its last
 * component; only when that is the file the event names (device and inode)
 * and a regular file on a disk file system (not proc, sysfs, FUSE: a read
 * there runs code of someone else's choosing or blocks) is it opened for
 * reading, through that descriptor (/proc/self/fd/N: the same inode,
 * whatever the path names by then). A session that swaps the path after its open makes the daemon
 * skip the file (a credential_scan_skipped record says so), never read
 * another of its choosing. At most SL_CREDS_READ_MAX bytes and
 * SL_CREDS_FILE_MS of reading and scanning per file; a binary file (a NUL
 * in its first page) is not scanned; a file already scanned
 * with the same identity, size and modification time is not read again.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "credfind.h"
#include "creds.h"
#include "journal.h"
#include "jsonbytes.h"
#include "log.h"
#include "policy.h"
#include "policy_store.h"
#include "scopelock_events.h"
#include "sessions.h"
#include "util.h"

#define FINDINGS_MAX 64	  /* values taken from one file */
#define SEEN_SLOTS 4096	  /* files scanned (identity, size, mtime), direct-mapped */
#define ENV_NAME_MAX 65	  /* an environment's name */
#define SESSION_ID_MAX 64 /* a session id */

/* what the inventory knows of a value besides what the policy borrows */
struct cred_meta {
	char env[ENV_NAME_MAX]; /* by name: environment ids change with a reload */
	char session[SESSION_ID_MAX];
	char key[SL_CREDFIND_KEY_MAX];
	uint64_t open_ktime; /* boot time of the open (0: the environment) */
	uint64_t found_ktime;
	bool pending;	 /* not yet in the kernel's automaton */
	bool unenforced; /* the automaton could not take it: failed closed */
};

struct seen {
	uint64_t ino, mtime_ns, size;
	uint32_t dev, env;
	/* the last check (CLOCK_BOOTTIME), for which session and labels: an
	 * open made before it was covered by it (the file as it was then or
	 * later), so a flood of opens of one file costs one check per drain */
	uint64_t checked_ns, checked_labels;
	const struct sl_session *checked_for;
};

struct sl_creds {
	struct sl_policy_store *store;
	struct sl_sessions *sessions;
	struct sl_journal *journal;
	struct sl_kernel *kernel;
	struct sl_programs *programs;
	struct sl_credfind *cf;
	struct sl_policy_discovered *disc; /* SL_CREDS_MAX, borrowed by the policy */
	struct cred_meta *meta;
	uint32_t n;
	const struct sl_policy *policy; /* the ids of disc[] are this policy's */
	uint32_t generation;
	bool dirty;
	struct seen *seen;
	char *buf; /* SL_CREDS_READ_MAX + 1 */
	/* counters */
	uint64_t files_scanned, bytes_scanned, env_scanned, enforced, unenforced, full;
	uint64_t skipped_identity, skipped_fs, skipped_time, skipped_read;
	uint64_t skipped_recent; /* opens covered by a later check of the same file */
	uint64_t relabels;
	uint64_t cpu_ns; /* thread CPU spent reading and scanning files */
	uint64_t window_max_us, window_last_us;
};

static uint64_t boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t thread_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000ULL + (uint64_t)ts.tv_nsec / 1000000;
}

uint32_t sl_creds_env_of(uint64_t label_env, const char *path, uint32_t scope_env,
			 const char *workspace, bool moved)
{
	uint64_t scope = scope_env && scope_env < SL_ENV_FOREIGN ? 1ULL << scope_env : 0;
	uint64_t other = label_env & ~scope & ~(1ULL << SL_ENV_FOREIGN) & ~1ULL;

	/* a label of another environment than the scope: the strictest reading */
	if (other)
		return (uint32_t)__builtin_ctzll(other);
	if (!path)
		return scope ? scope_env : SL_ENV_FOREIGN;
	/* the scope's own only for what was there before the session touched it */
	if (moved)
		return SL_ENV_FOREIGN;
	if (label_env & scope)
		return scope_env;
	if (scope && workspace && workspace[0] == '/') {
		size_t wl = strlen(workspace);

		while (wl > 1 && workspace[wl - 1] == '/')
			wl--;
		if (wl == 1 || (!strncmp(path, workspace, wl) && (!path[wl] || path[wl] == '/')))
			return scope_env;
	}
	return SL_ENV_FOREIGN;
}

int sl_creds_new(struct sl_policy_store *ps, struct sl_sessions *ss, struct sl_journal *j,
		 struct sl_kernel *k, struct sl_programs *pr, struct sl_creds **out)
{
	struct sl_creds *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	c->store = ps;
	c->sessions = ss;
	c->journal = j;
	c->kernel = k;
	c->programs = pr;
	c->disc = calloc(SL_CREDS_MAX, sizeof(*c->disc));
	c->meta = calloc(SL_CREDS_MAX, sizeof(*c->meta));
	c->seen = calloc(SEEN_SLOTS, sizeof(*c->seen));
	c->buf = malloc(SL_CREDS_READ_MAX + 1);
	if (!c->disc || !c->meta || !c->seen || !c->buf) {
		err = -ENOMEM;
		goto fail;
	}
	err = sl_credfind_new(&c->cf);
	if (err)
		goto fail;
	*out = c;
	return 0;
fail:
	sl_creds_free(c);
	return err;
}

void sl_creds_free(struct sl_creds *c)
{
	if (!c)
		return;
	for (uint32_t i = 0; c->disc && i < c->n; i++) {
		uint8_t *v = (uint8_t *)c->disc[i].value;

		explicit_bzero(v, c->disc[i].len);
		free(v);
		free((char *)c->disc[i].source);
	}
	if (c->buf)
		explicit_bzero(c->buf, SL_CREDS_READ_MAX + 1);
	free(c->buf);
	free(c->seen);
	free(c->meta);
	free(c->disc);
	sl_credfind_free(c->cf);
	free(c);
}

/* the policy in force borrows the inventory (redaction at once, the kernel at the flush) */
static void publish(struct sl_creds *c)
{
	sl_policy_store_set_discovered(c->store, c->disc, c->n);
}

/* environment ids of the policy in force (a reload may have renumbered them) */
static void resolve_ids(struct sl_creds *c)
{
	const struct sl_policy *p = sl_policy_store_current(c->store);

	if (p == c->policy)
		return;
	c->policy = p;
	for (uint32_t i = 0; i < c->n; i++) {
		int id = strcmp(c->meta[i].env, "foreign") ? sl_policy_env_id(p, c->meta[i].env)
							   : SL_ENV_FOREIGN;

		/* an environment the new policy does not name: foreign */
		c->disc[i].env_id = id > 0 ? (uint32_t)id : SL_ENV_FOREIGN;
		if (c->disc[i].kernel)
			c->meta[i].pending = true;
	}
	publish(c);
	c->dirty = c->n > 0;
}

static const char *env_name(const struct sl_policy *p, uint32_t id)
{
	const char *n = sl_policy_env_name(p, id);

	return n ? n : "unknown";
}

/* the session fails closed: its actions target foreign (held by the shipped rules) */
static void fail_closed(struct sl_creds *c, const char *session)
{
	struct sl_session *s = sl_session_by_id(c->sessions, session);

	if (s && sl_session_active(s))
		sl_session_kernel_update(c->sessions, s, 0, 0, 1ULL << SL_ENV_FOREIGN);
}

static json_t *cred_json(const struct sl_creds *c, uint32_t i)
{
	const struct sl_policy_discovered *d = &c->disc[i];
	char fp[SL_POLICY_FP_STR_SIZE];
	json_t *o;

	sl_policy_sha256_str(d->sha256, fp);
	o = json_pack("{s:s, s:s, s:s}", "fingerprint", fp, "kind", d->kind, "env", c->meta[i].env);
	if (!o)
		return NULL;
	if (c->meta[i].key[0])
		json_object_set_new(o, "key", json_string(c->meta[i].key));
	if (d->ino) {
		sl_json_set_bytes(o, "source_file", d->source, strlen(d->source));
		json_object_set_new(
		    o, "dev", json_sprintf("%u:%u", SL_KDEV_MAJOR(d->dev), SL_KDEV_MINOR(d->dev)));
		json_object_set_new(o, "ino", json_integer((json_int_t)d->ino));
	} else {
		json_object_set_new(o, "source_env", json_string(d->source));
	}
	return o;
}

/* an alert about the inventory (full, unenforced) for session */
static void inventory_alert(struct sl_creds *c, const char *session, const char *rule,
			    json_t *creds, const char *what)
{
	struct sl_session *s = sl_session_by_id(c->sessions, session);
	json_t *rec = json_object();
	char summary[512];

	if (!rec)
		goto out;
	json_object_set_new(rec, "type", json_string("alert"));
	json_object_set_new(rec, "rule", json_string(rule));
	json_object_set_new(rec, "action", json_string("alert"));
	json_object_set_new(rec, "verdict", json_string("alert"));
	json_object_set_new(rec, "monitor", json_false());
	json_object_set_new(rec, "session", json_string(session));
	if (s)
		json_object_set_new(rec, "scope", json_string(sl_session_scope(s)));
	json_object_set_new(rec, "failed_closed", json_true());
	json_object_set_new(rec, "evidence", json_pack("{s:O}", "credentials", creds));
	snprintf(summary, sizeof(summary),
		 "ALERT %s, session %s: %s; the session's actions now target foreign", rule,
		 session, what);
	sl_journal_alert(c->journal, rec, summary);
out:
	json_decref(rec);
}

/*
 * One value found in session s: kept (copied), redacted from the next record
 * on, enforced at the next flush. src: the file's path or "environment".
 */
static void add_value(struct sl_creds *c, struct sl_session *s, const char *val, size_t len,
		      const struct sl_cred *f, const char *src, uint32_t dev, uint64_t ino,
		      uint32_t env_id, uint64_t open_ktime)
{
	const struct sl_policy *p = sl_policy_store_current(c->store);
	struct sl_policy_discovered *d;
	struct cred_meta *m;
	uint8_t sha[32];
	json_t *rec, *o;
	uint32_t i;

	if (!len || len > SL_POLICY_SECRET_VALUE_MAX)
		return;
	sl_policy_fingerprint(val, len, sha);
	/* a credential the policy registers keeps the environment the policy gives it */
	for (uint32_t r = 0; p && r < p->n_secrets; r++)
		if (!memcmp(p->secrets[r].sha256, sha, sizeof(sha)))
			return;
	for (i = 0; i < c->n; i++)
		if (c->disc[i].len == len && !memcmp(c->disc[i].sha256, sha, sizeof(sha)))
			break;
	if (i < c->n) {
		/*
		 * Known: found foreign, then in a file labelled with another
		 * environment than this session's scope, it is that one's (the
		 * stricter); never the scope's (a copy in the workspace does not
		 * make a stray token the session's own).
		 */
		if (c->disc[i].env_id != SL_ENV_FOREIGN || env_id == SL_ENV_FOREIGN ||
		    env_id == sl_session_scope_env(s))
			return;
		c->disc[i].env_id = env_id;
		snprintf(c->meta[i].env, sizeof(c->meta[i].env), "%s", env_name(p, env_id));
	} else if (c->n >= SL_CREDS_MAX) {
		char fp[SL_POLICY_FP_STR_SIZE];

		c->full++;
		sl_policy_sha256_str(sha, fp);
		o = json_pack("[{s:s, s:s}]", "fingerprint", fp, "kind",
			      sl_cred_kind_name(f->kind));
		inventory_alert(c, sl_session_id(s), "credential_inventory_full", o,
				"a credential found past the inventory's bound (not redacted, not "
				"enforced)");
		json_decref(o);
		fail_closed(c, sl_session_id(s));
		return;
	} else {
		uint8_t *copy = malloc(len);
		char *where = strdup(src);

		if (!copy || !where) {
			free(copy);
			free(where);
			log_err(
			    "credentials: out of memory: a value found in session %s is not kept",
			    sl_session_id(s));
			fail_closed(c, sl_session_id(s));
			return;
		}
		memcpy(copy, val, len);
		d = &c->disc[i];
		m = &c->meta[i];
		memset(m, 0, sizeof(*m));
		*d = (struct sl_policy_discovered){.env_id = env_id,
						   .len = (uint32_t)len,
						   .value = copy,
						   .kind = sl_cred_kind_name(f->kind),
						   .source = where,
						   .ino = ino,
						   .dev = dev,
						   .kernel = ino != 0};
		memcpy(d->sha256, sha, sizeof(sha));
		snprintf(m->env, sizeof(m->env), "%s", env_name(p, env_id));
		snprintf(m->session, sizeof(m->session), "%s", sl_session_id(s));
		snprintf(m->key, sizeof(m->key), "%s", f->key);
		c->n++;
	}
	m = &c->meta[i];
	m->unenforced = false;
	m->open_ktime = open_ktime;
	m->found_ktime = boot_ns();
	/*
	 * A file's value becomes a label string of the kernel's automaton. The
	 * session's own environment is redacted only: every exec carries it in
	 * its environment block, where as the scope's label it would make
	 * actions with no other evidence in scope instead of unknown.
	 */
	if (ino) {
		m->pending = true;
		c->disc[i].kernel = true;
		c->dirty = true;
	}
	/* redacted from the next record on: before the record that names it */
	publish(c);
	rec = json_pack("{s:s, s:s}", "type", "credential_found", "session", sl_session_id(s));
	o = cred_json(c, i);
	if (rec && o) {
		json_object_update(rec, o);
		json_object_set_new(rec, "scope", json_string(sl_session_scope(s)));
		if (open_ktime)
			json_object_set_new(
			    rec, "scan_us",
			    json_integer((json_int_t)((m->found_ktime - open_ktime) / 1000)));
		sl_journal_write(c->journal, rec);
	}
	json_decref(o);
	json_decref(rec);
}

static int scan(struct sl_creds *c, struct sl_session *s, size_t len, const char *src, uint32_t dev,
		uint64_t ino, uint32_t env_id, uint64_t open_ktime)
{
	struct sl_cred found[FINDINGS_MAX];
	struct sl_credfind_stats st;
	int n = sl_credfind_scan(c->cf, c->buf, len, found, FINDINGS_MAX, &st);

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		add_value(c, s, c->buf + found[i].off, found[i].len, &found[i], src, dev, ino,
			  env_id, open_ktime);
	return 0;
}

/* a file not read: "identity" (the path names another file than the one opened), "environment" */
static void skipped(struct sl_creds *c, struct sl_session *s, const char *path, const char *why)
{
	json_t *rec = json_pack("{s:s, s:s, s:s}", "type", "credential_scan_skipped", "session",
				sl_session_id(s), "reason", why);

	if (!rec)
		return;
	sl_json_set_bytes(rec, "path", path, strlen(path));
	sl_journal_write(c->journal, rec);
	json_decref(rec);
}

static bool fs_readable(long type)
{
	switch (type) {
	case PROC_SUPER_MAGIC:
	case SYSFS_MAGIC:
	case DEBUGFS_MAGIC:
	case TRACEFS_MAGIC:
	case CGROUP_SUPER_MAGIC:
	case CGROUP2_SUPER_MAGIC:
	case BPF_FS_MAGIC:
	case SECURITYFS_MAGIC:
	case DEVPTS_SUPER_MAGIC:
	case 0x65735546: /* FUSE: a read runs a user's server */
		return false;
	default:
		return true;
	}
}

static struct seen *seen_slot(struct sl_creds *c, uint32_t dev, uint64_t ino)
{
	uint64_t h = (ino * 0x9e3779b97f4a7c15ULL) ^ dev;

	return &c->seen[(h >> 20) % SEEN_SLOTS];
}

static void mark_checked(struct seen *sn, const struct sl_session *s, uint64_t labels,
			 uint64_t when)
{
	sn->checked_ns = when;
	sn->checked_for = s;
	sn->checked_labels = labels;
}

void sl_creds_on_open(struct sl_creds *c, struct sl_session *s, const struct sl_open_event *e,
		      uint64_t env)
{
	char path[SL_PATH_MAX + 1];
	struct stat st;
	struct statfs sf;
	struct seen *sn;
	uint64_t t0, cpu0, mtime, ctime, check_ns;
	uint32_t env_id;
	char fdpath[40];
	bool binary = false;
	size_t len = 0;
	int fd = -1, pfd;
	ssize_t r;

	if (!c || !s || !sl_session_active(s) || e->ret < 0 || !e->path_len ||
	    e->path_len > SL_PATH_MAX || (e->hdr.flags & SL_EVF_PATH_PARTIAL))
		return;
	/* read for reading: not O_WRONLY, O_PATH, a directory */
	if ((e->flags & 3) == 1 || (e->flags & 010000000) || (e->flags & 0200000))
		return;
	sn = seen_slot(c, e->dev, e->ino);
	if (sn->ino == e->ino && sn->dev == e->dev && sn->checked_for == s &&
	    sn->checked_labels == env && e->hdr.ktime_ns <= sn->checked_ns) {
		c->skipped_recent++;
		return;
	}
	memcpy(path, e->data, e->path_len);
	path[e->path_len] = '\0';
	if (path[0] != '/')
		return;
	resolve_ids(c);
	t0 = mono_ms();
	cpu0 = thread_ns();
	/* before the file is looked at: what it holds from now on is seen */
	check_ns = boot_ns();
	pfd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0)
		return; /* gone: nothing the session opened is read */
	if (fstat(pfd, &st) || !S_ISREG(st.st_mode))
		goto out; /* a symlink now, a device, a FIFO: never opened */
	if (st.st_ino != e->ino ||
	    st.st_dev != makedev(SL_KDEV_MAJOR(e->dev), SL_KDEV_MINOR(e->dev))) {
		c->skipped_identity++;
		skipped(c, s, path, "identity");
		goto out;
	}
	if (fstatfs(pfd, &sf) || !fs_readable((long)sf.f_type)) {
		c->skipped_fs++;
		goto out;
	}
	mtime = (uint64_t)st.st_mtim.tv_sec * 1000000000ULL + (uint64_t)st.st_mtim.tv_nsec;
	ctime = (uint64_t)st.st_ctim.tv_sec * 1000000000ULL + (uint64_t)st.st_ctim.tv_nsec;
	env_id = sl_creds_env_of(env, path, sl_session_scope_env(s), sl_session_workspace(s),
				 st.st_nlink > 1 || ctime >= sl_session_started_ns(s));
	if (sn->ino == e->ino && sn->dev == e->dev && sn->mtime_ns == mtime &&
	    sn->size == (uint64_t)st.st_size && sn->env == env_id) {
		mark_checked(sn, s, env, check_ns);
		goto out; /* scanned as it is */
	}
	if (!st.st_size)
		goto out;
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", pfd);
	fd = open(fdpath, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		goto out;
	while (len < SL_CREDS_READ_MAX) {
		/* a first page: an executable is known by it */
		r = read(fd, c->buf + len, len ? SL_CREDS_READ_MAX - len : 4096);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		/*
		 * Binary (a NUL in the first page, as git decides): an executable,
		 * a library, bytecode, an image. Credentials are looked for in
		 * text; what the regular expressions find in binary is noise.
		 */
		if (memchr(c->buf, 0, len < 4096 ? len : 4096)) {
			binary = true;
			break;
		}
		if (mono_ms() - t0 > SL_CREDS_FILE_MS) {
			c->skipped_time++;
			break; /* what was read is scanned */
		}
	}
	if (binary)
		goto remember;
	c->files_scanned++;
	c->bytes_scanned += len;
	if (scan(c, s, len, path, e->dev, e->ino, env_id, e->hdr.ktime_ns))
		c->skipped_read++;
remember:
	*sn = (struct seen){.ino = e->ino,
			    .dev = e->dev,
			    .mtime_ns = mtime,
			    .size = (uint64_t)st.st_size,
			    .env = env_id};
	mark_checked(sn, s, env, check_ns);
out:
	if (len)
		explicit_bzero(c->buf, len);
	if (fd >= 0)
		close(fd);
	close(pfd);
	c->cpu_ns += thread_ns() - cpu0;
}

void sl_creds_session_start(struct sl_creds *c, struct sl_session *s)
{
	char path[64];
	size_t len = 0;
	ssize_t r;
	int fd;

	if (!c || !s || sl_session_leader(s) <= 0)
		return;
	resolve_ids(c);
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)sl_session_leader(s));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		skipped(c, s, path, "environment");
		return;
	}
	while (len < SL_CREDS_READ_MAX) {
		r = read(fd, c->buf + len, SL_CREDS_READ_MAX - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	/* NAME=VALUE\0...: one assignment a line */
	for (size_t i = 0; i < len; i++)
		if (!c->buf[i])
			c->buf[i] = '\n';
	c->env_scanned++;
	scan(c, s, len, "environment", 0, 0,
	     sl_creds_env_of(0, NULL, sl_session_scope_env(s), NULL, false), 0);
	explicit_bzero(c->buf, len);
}

/* the first k pending values (in discovery order) in the automaton, the rest not */
static void take_first(struct sl_creds *c, const uint32_t *pend, uint32_t np, uint32_t k)
{
	for (uint32_t j = 0; j < np; j++)
		c->disc[pend[j]].kernel = j < k;
}

/*
 * The most pending values the automaton holds: all of them, or the largest
 * first k that still compile (a binary search; k = 0 is the generation in
 * force, which compiled). Returns k; the kernel flags say it.
 */
static uint32_t fit(struct sl_creds *c, const uint32_t *pend, uint32_t np)
{
	uint32_t lo = 0, hi = np - 1;

	while (lo < hi) {
		uint32_t mid = (lo + hi + 1) / 2;

		take_first(c, pend, np, mid);
		if (sl_policy_store_compiles(c->store))
			hi = mid - 1;
		else
			lo = mid;
	}
	take_first(c, pend, np, lo);
	return lo;
}

/* one alert per session for the values left out of the automaton: it fails closed */
static void unenforced_alerts(struct sl_creds *c, json_t *by_session)
{
	const char *sid;
	json_t *arr;

	json_object_foreach (by_session, sid, arr) {
		char what[160];

		fail_closed(c, sid);
		snprintf(
		    what, sizeof(what),
		    "%zu discovered credential(s) could not be put into the kernel's automaton",
		    json_array_size(arr));
		inventory_alert(c, sid, "credential_unenforced", arr, what);
	}
}

void sl_creds_flush(struct sl_creds *c)
{
	char err[512] = "";
	uint64_t now, wmax = 0;
	uint32_t *pend = NULL, np = 0, k;
	json_t *rec, *arr = NULL, *left = NULL;
	int ret;

	if (!c)
		return;
	resolve_ids(c);
	if (!c->dirty || sl_policy_store_since_flip_ms(c->store) < SL_CREDS_BATCH_MS)
		return;
	c->dirty = false;
	pend = malloc(sizeof(*pend) * (c->n ? c->n : 1));
	arr = json_array();
	left = json_object();
	if (!pend || !arr || !left) {
		c->dirty = true; /* again at the next round */
		goto out;
	}
	for (uint32_t i = 0; i < c->n; i++)
		if (c->meta[i].pending)
			pend[np++] = i;
	if (!np)
		goto out;
	take_first(c, pend, np, np);
	k = np;
	ret = sl_policy_store_relabel(c->store, c->kernel, c->programs, err, sizeof(err));
	if (ret == -E2BIG) {
		/* past what the automaton holds: as many as fit, the rest fail closed */
		log_warn("credentials: %s: the most discovered credentials that fit are enforced",
			 err);
		k = fit(c, pend, np);
		ret =
		    k ? sl_policy_store_relabel(c->store, c->kernel, c->programs, err, sizeof(err))
		      : 0;
	}
	if (ret) {
		log_err("credentials: the kernel's automaton cannot take the discovered "
			"credentials: %s",
			err[0] ? err : strerror(-ret));
		k = 0;
		take_first(c, pend, np, 0);
	}
	now = boot_ns();
	for (uint32_t j = 0; j < np; j++) {
		uint32_t i = pend[j];
		struct cred_meta *m = &c->meta[i];
		json_t *o = cred_json(c, i), *sa;

		m->pending = false;
		if (j >= k) {
			/* redacted, not in the kernel: the session's taint judges for it */
			m->unenforced = true;
			c->unenforced++;
			sa = json_object_get(left, m->session);
			if (!sa) {
				sa = json_array();
				json_object_set_new(left, m->session, sa);
			}
			if (o && sa)
				json_array_append(sa, o);
		} else {
			uint64_t w =
			    now > m->open_ktime && m->open_ktime ? (now - m->open_ktime) / 1000 : 0;

			c->enforced++;
			if (w > wmax)
				wmax = w;
			if (o && m->open_ktime)
				json_object_set_new(o, "window_us", json_integer((json_int_t)w));
			if (o)
				json_array_append(arr, o);
		}
		json_decref(o);
	}
	publish(c);
	if (k) {
		c->relabels++;
		c->window_last_us = wmax;
		if (wmax > c->window_max_us)
			c->window_max_us = wmax;
		rec = json_pack("{s:s, s:I, s:I, s:O}", "type", "credentials_enforced",
				"generation", (json_int_t)sl_policy_store_generation(c->store),
				"window_us_max", (json_int_t)wmax, "credentials", arr);
		if (rec)
			sl_journal_write(c->journal, rec);
		json_decref(rec);
	}
	unenforced_alerts(c, left);
out:
	json_decref(arr);
	json_decref(left);
	free(pend);
}

json_t *sl_creds_json(const struct sl_creds *c)
{
	if (!c)
		return json_null();
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			 "discovered", (json_int_t)c->n, "enforced", (json_int_t)c->enforced,
			 "unenforced", (json_int_t)c->unenforced, "inventory_full",
			 (json_int_t)c->full, "files_scanned", (json_int_t)c->files_scanned,
			 "bytes_scanned", (json_int_t)c->bytes_scanned, "skipped_identity",
			 (json_int_t)c->skipped_identity, "skipped_fs", (json_int_t)c->skipped_fs,
			 "skipped_time", (json_int_t)c->skipped_time, "skipped_recent",
			 (json_int_t)c->skipped_recent, "relabels", (json_int_t)c->relabels,
			 "window_last_us", (json_int_t)c->window_last_us, "window_max_us",
			 (json_int_t)c->window_max_us, "cpu_ns", (json_int_t)c->cpu_ns);
}
