// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The kernel room (kernel.h): BPF life cycle (mount what is missing, probe
 * features, then open -> configure (rodata, map sizes, autoload) -> load ->
 * attach), and every access to the skeleton's maps.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <dirent.h>
#include <time.h>
#include <linux/magic.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "feature.h"
#include "kernel.h"
#include "log.h"
#include "policy_maps.h"
#include "scopelock_events.h"
#include "util.h"
#include "scopelock.skel.h"

#define SL_MAX_LINKS 64

/*
 * A system-call tracepoint attachment: attached only while some session
 * holds them (sl_kernel_syscalls_hold). Any of them sets the kernel's slow
 * system-call path for every task of the host.
 */
struct sl_sys_tp {
	struct bpf_program *prog;
	const char *tp;	 /* attached by name to syscalls/<tp> (NULL: by its section) */
	uint64_t cookie; /* the attach cookie of a by-name attachment */
	char pin[96];	 /* its pin's name under pin_dir/links */
	struct bpf_link *link;
};

struct sl_kernel {
	struct scopelock_bpf *skel;
	struct bpf_link *links[SL_MAX_LINKS];
	int nlinks;
	/* the system-call tracepoints (sl_kernel_syscalls_*) */
	struct sl_sys_tp sys[SL_MAX_LINKS];
	int nsys;
	unsigned int sys_holds;
	bool sys_start_hold; /* sl_kernel_start's, until sl_kernel_syscalls_settle */
	bool sys_attached;
	struct bpf_link *sys_dying[SL_MAX_LINKS]; /* the worker detaches these */
	int ndying;
	pthread_t sys_worker;
	bool sys_worker_started;
	int sys_worker_done; /* __atomic: the worker finished */
	uint64_t sys_attaches, sys_detaches;
	uint64_t sys_attach_us, sys_wait_us; /* the last attach, and its wait for a detach */
	uint64_t sys_detach_us;		     /* the last detach (the worker's time) */
	uint64_t sys_detach_start_ns;
	char *pin_dir;	       /* the instance's bpffs directory, or NULL: nothing pinned */
	bool adopted;	       /* the maps were there: a previous daemon's state */
	struct bpf_link **tls; /* TLS uprobe links pinned (owned by the TLS room) */
	size_t ntls, captls;
	bool uprobe_multi;	   /* TLS uprobes attached as uprobe_multi links */
	bool starting;		   /* until sl_kernel_adopt_finish: old links retire together */
	struct bpf_link **retired; /* a previous daemon's links, replaced */
	size_t nretired;
};

#ifndef TRACEFS_MAGIC
#define TRACEFS_MAGIC 0x74726163
#endif

static const char *tracefs_dir = "/sys/kernel/tracing";

static int ensure_mount(const char *dir, const char *type, unsigned long magic)
{
	struct statfs sfs;
	int err;

	if (statfs(dir, &sfs) == 0 && (unsigned long)sfs.f_type == magic)
		return 0;
	err = sl_mkdir_p(dir, 0700);
	if (err)
		return sl_err_ret(err, "create mount point '%s'", dir);
	if (mount(type, dir, type, 0, NULL))
		return sl_err_ret(-errno, "mount %s on '%s'", type, dir);
	log_info("mounted %s on '%s'", type, dir);
	return 0;
}

int sl_kernel_fs_prepare(void)
{
	int err;

	err = ensure_mount("/sys/fs/bpf", "bpf", BPF_FS_MAGIC);
	if (err)
		return err;
	err = ensure_mount(tracefs_dir, "tracefs", TRACEFS_MAGIC);
	if (err)
		return err;
	return 0;
}

/* does tracefs know this tracepoint ("syscalls/sys_enter_openat")? */
static bool tracepoint_exists(const char *cat_name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/events/%s/id", tracefs_dir, cat_name);
	return access(path, R_OK) == 0;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	static const enum sl_log_level map[] = {
	    [LIBBPF_WARN] = SL_LOG_WARN,
	    [LIBBPF_INFO] = SL_LOG_DEBUG,
	    [LIBBPF_DEBUG] = SL_LOG_DEBUG,
	};
	enum sl_log_level lvl = map[level];
	char buf[1024];
	size_t n;

	if (lvl > sl_log_get_level() || (level == LIBBPF_DEBUG && sl_log_get_level() < 3))
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	sl_log(lvl, "libbpf: %s", buf);
	return 0;
}

/* may a uprobe program be loaded for uprobe_multi links? */
static bool probe_uprobe_multi(void)
{
	struct bpf_insn insns[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts,
		    .expected_attach_type = (enum bpf_attach_type)SL_TRACE_UPROBE_MULTI);
	int fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, NULL, "GPL", insns, 2, &opts);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void probe_features(const struct sl_kernel_opts *o, struct sl_features *f)
{
	static const struct {
		enum bpf_prog_type type;
		const char *name;
		bool used;
	} progs[] = {
	    {BPF_PROG_TYPE_TRACEPOINT, "prog:tracepoint", true},
	    {BPF_PROG_TYPE_KPROBE, "prog:uprobe", true},
	    {BPF_PROG_TYPE_CGROUP_SOCK_ADDR, "prog:cgroup_sock_addr", true},
	    {BPF_PROG_TYPE_LSM, "prog:lsm", false},
	    {BPF_PROG_TYPE_TRACING, "prog:fentry", false},
	};
	int ret;

	for (size_t i = 0; i < SL_ARRAY_SIZE(progs); i++) {
		ret = libbpf_probe_bpf_prog_type(progs[i].type, NULL);
		if (ret == 1)
			sl_feature_add(f, progs[i].name, true, progs[i].used, "%s", "");
		else
			sl_feature_add(f, progs[i].name, false, false, "%s",
				       ret == 0 ? "refused by this kernel" : strerror(-ret));
	}
	ret = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL);
	sl_feature_add(f, "map:ringbuf", ret == 1, ret == 1, "%s",
		       ret == 1 ? "" : "required, refused by this kernel");
	/* sessions sit below the parent cgroup (level >= 1): the programs call it */
	ret = libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT,
				      BPF_FUNC_get_current_ancestor_cgroup_id, NULL);
	sl_feature_add(f, "helper:get_current_ancestor_cgroup_id", ret == 1, ret == 1, "%s",
		       ret == 1 ? "nested cgroups stay in their session"
				: "required: the BPF programs will not load");
	ret = libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_loop, NULL);
	sl_feature_add(f, "helper:loop", ret == 1, ret == 1, "%s",
		       ret == 1 ? "" : "required: the BPF programs will not load");
	ret = libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_send_signal, NULL);
	sl_feature_add(f, "helper:send_signal", ret == 1, false, "%s",
		       "kill/freeze verdicts: used while an enforcing kill or freeze rule is "
		       "in force");
	if (ret == 1)
		sl_feature_used_while(f, o->signals_used, o->signals_ctx);
}

/* tracepoint programs: "tracepoint/<cat>/<name>" -> check tracefs */
static void configure_programs(struct sl_kernel *k, struct sl_features *f)
{
	struct bpf_program *prog;
	char missing[512] = "";
	int nmissing = 0;

	bpf_object__for_each_program (prog, k->skel->obj) {
		const char *sec = bpf_program__section_name(prog);

		if (strncmp(sec, "tracepoint/", 11) && strncmp(sec, "tp/", 3))
			continue;
		const char *tp = strchr(sec, '/') + 1;

		if (tracepoint_exists(tp))
			continue;
		bpf_program__set_autoload(prog, false);
		nmissing++;
		if (strlen(missing) + strlen(tp) + 3 < sizeof(missing))
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing),
				 "%s%s", missing[0] ? ", " : "", tp);
	}
	if (nmissing)
		sl_feature_add(f, "tracepoints", true, true,
			       "missing on this kernel (not captured): %s", missing);
	else
		sl_feature_add(f, "tracepoints", true, true, "%s", "all present");
}

/* sl_tls_sys_send is attached to sys_enter_write by its section, to these by name */
static const struct {
	const char *name;
	__u32 fn; /* SL_NET_FN_*: the attach cookie */
} send_tps[] = {
    {"sys_enter_writev", SL_NET_FN_WRITEV},
    {"sys_enter_sendto", SL_NET_FN_SENDTO},
    {"sys_enter_sendmsg", SL_NET_FN_SENDMSG},
};

static int add_link(struct sl_kernel *k, struct bpf_link *l)
{
	if (k->nlinks >= SL_MAX_LINKS) {
		bpf_link__destroy(l);
		return -ENOSPC;
	}
	k->links[k->nlinks++] = l;
	return 0;
}

/* ---- pinning (per daemon instance, under pin_dir) ---- */

static void links_destroy(struct bpf_link **links, int n);

/* a previous daemon's link to go once this one's is attached (retire_flush) */
static void retire(struct sl_kernel *k, struct bpf_link *old)
{
	struct bpf_link **n;

	if (!k->starting) {
		bpf_link__destroy(old); /* one grace period, now */
		return;
	}
	n = realloc(k->retired, (k->nretired + 1) * sizeof(*n));
	if (!n) {
		bpf_link__destroy(old);
		return;
	}
	k->retired = n;
	k->retired[k->nretired++] = old;
}

/* the old links go together: their detach waits overlap (links_destroy) */
static void retire_flush(struct sl_kernel *k)
{
	links_destroy(k->retired, (int)k->nretired);
	free(k->retired);
	k->retired = NULL;
	k->nretired = 0;
}

static void *unlink_one(void *arg)
{
	if (unlink(arg) && errno != ENOENT)
		log_warn("remove pin '%s': %s", (char *)arg, strerror(errno));
	return NULL;
}

/* pin_dir/sub/name into buf; -ENAMETOOLONG */
static int pin_path(const struct sl_kernel *k, const char *sub, const char *name, char *buf,
		    size_t n)
{
	int len = snprintf(buf, n, "%s/%s/%s", k->pin_dir, sub, name);

	if (len < 0 || (size_t)len >= n)
		return -ENAMETOOLONG;
	/* bpffs refuses names with a dot (".rodata", ".bss"); a slash would make
	 * a directory of a Go function's name ("crypto/tls.(*Conn).Write") */
	for (char *p = buf + len - strlen(name); *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			*p = '_';
	return 0;
}

/*
 * Remove every pin in dir (the kernel objects go once nobody holds them) but
 * the names in keep, then dir when nothing is kept. A link whose last
 * reference was its pin detaches in unlink(), after an RCU grace period:
 * the unlinks run in threads so that the waits overlap.
 */
static void unpin_dir(const char *dir, char *const *keep, size_t nkeep)
{
	char **paths = NULL;
	pthread_t *th = NULL;
	bool *started = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *dp = opendir(dir);

	if (!dp)
		return;
	while ((de = readdir(dp))) {
		bool kept = false;
		char *path;

		if (de->d_name[0] == '.')
			continue;
		for (size_t i = 0; i < nkeep; i++)
			kept = kept || !strcmp(keep[i], de->d_name);
		if (kept || asprintf(&path, "%s/%s", dir, de->d_name) < 0)
			continue;
		if (n == cap) {
			char **np = realloc(paths, (cap = cap ? cap * 2 : 64) * sizeof(*np));

			if (!np) {
				unlink_one(path);
				free(path);
				continue;
			}
			paths = np;
		}
		paths[n++] = path;
	}
	closedir(dp);
	th = calloc(n ? n : 1, sizeof(*th));
	started = calloc(n ? n : 1, sizeof(*started));
	for (size_t i = 0; i < n; i++) {
		if (th && started && pthread_create(&th[i], NULL, unlink_one, paths[i]) == 0)
			started[i] = true;
		else
			unlink_one(paths[i]);
	}
	for (size_t i = 0; i < n; i++) {
		if (started && started[i])
			pthread_join(th[i], NULL);
		free(paths[i]);
	}
	free(paths);
	free(th);
	free(started);
	if (!nkeep && rmdir(dir) && errno != ENOENT)
		log_warn("remove '%s': %s", dir, strerror(errno));
}

int sl_kernel_unpin(const char *pin_dir)
{
	static const char *const subs[] = {"links", "tls", "maps"};
	char path[PATH_MAX];
	struct stat st;

	if (stat(pin_dir, &st))
		return errno == ENOENT ? 0 : -errno;
	/* links first: the programs stop before their maps go */
	for (size_t i = 0; i < SL_ARRAY_SIZE(subs); i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, subs[i]);
		unpin_dir(path, NULL, 0);
	}
	if (rmdir(pin_dir) && errno != ENOENT)
		return sl_err_ret(-errno, "remove '%s'", pin_dir);
	/* the instances' parent, once the last instance is gone */
	snprintf(path, sizeof(path), "%s", pin_dir);
	if (strrchr(path, '/')) {
		*strrchr(path, '/') = '\0';
		if (rmdir(path) && errno != ENOTEMPTY && errno != EEXIST && errno != ENOENT &&
		    errno != EBUSY)
			log_debug("remove '%s': %s", path, strerror(errno));
	}
	return 0;
}

/* every map pinned by name under pin_dir/maps: reused when there (adoption) */
static int pin_maps(struct sl_kernel *k)
{
	struct bpf_map *map;
	char path[PATH_MAX], sub[PATH_MAX];
	int err;

	for (size_t i = 0; i < 3; i++) {
		snprintf(sub, sizeof(sub), "%s/%s", k->pin_dir,
			 (const char *[]){"maps", "links", "tls"}[i]);
		err = sl_mkdir_p(sub, 0700);
		if (err)
			return sl_err_ret(err, "create '%s'", sub);
	}
	err = pin_path(k, "maps", "sl_sessions", path, sizeof(path));
	if (err)
		return err;
	k->adopted = access(path, F_OK) == 0;
	bpf_object__for_each_map (map, k->skel->obj) {
		err = pin_path(k, "maps", bpf_map__name(map), path, sizeof(path));
		if (!err)
			err = bpf_map__set_pin_path(map, path);
		if (err)
			return sl_err_ret(err, "pin path of map %s", bpf_map__name(map));
	}
	return 0;
}

/*
 * Attach prog (attach(prog, arg)) and pin its link as pin_dir/links/<name>. A
 * link a previous daemon pinned there is replaced: atomically where the
 * kernel can swap a link's program (cgroup links), else the new link is
 * attached before the old one goes (tracepoints: an event in between may be
 * seen twice, none is missed).
 */
static struct bpf_link *
attach_pinned(struct sl_kernel *k, struct bpf_program *prog, const char *name,
	      struct bpf_link *(*attach)(struct bpf_program *, const void *), const void *arg)
{
	struct bpf_link *old = NULL, *l;
	char path[PATH_MAX];
	int err;

	if (!k->pin_dir)
		return attach(prog, arg);
	err = pin_path(k, "links", name, path, sizeof(path));
	if (err) {
		errno = -err;
		return NULL;
	}
	if (access(path, F_OK) == 0)
		old = bpf_link__open(path);
	if (old && bpf_link__update_program(old, prog) == 0)
		return old; /* swapped in place, still pinned */
	l = attach(prog, arg);
	if (!l) {
		err = -errno;
		bpf_link__destroy(old);
		errno = -err;
		return NULL;
	}
	if (old) {
		bpf_link__unpin(old);
		retire(k, old); /* our descriptor is the last: detached with the others */
	} else if (access(path, F_OK) == 0 && unlink(path)) {
		log_warn("remove stale pin '%s': %s", path, strerror(errno));
	}
	err = bpf_link__pin(l, path);
	if (err) {
		log_err("pin link '%s': %s", path, strerror(-err));
		bpf_link__destroy(l);
		errno = -err;
		return NULL;
	}
	return l;
}

static struct bpf_link *attach_plain(struct bpf_program *prog, const void *unused)
{
	(void)unused;
	return bpf_program__attach(prog);
}

static struct bpf_link *attach_cgroup(struct bpf_program *prog, const void *cg_fd)
{
	return bpf_program__attach_cgroup(prog, *(const int *)cg_fd);
}

/* a system-call tracepoint: by its section, or by name with a cookie */
static struct bpf_link *attach_sys(struct bpf_program *prog, const void *arg)
{
	const struct sl_sys_tp *t = arg;
	LIBBPF_OPTS(bpf_tracepoint_opts, topts, .bpf_cookie = t->cookie);

	if (!t->tp)
		return bpf_program__attach(prog);
	return bpf_program__attach_tracepoint_opts(prog, "syscalls", t->tp, &topts);
}

/* ---- the system-call tracepoints: attached while some session holds them ---- */

/* "tp/syscalls/..." or "tracepoint/syscalls/...": any of them sets the slow system-call
 * path (TIF_SYSCALL_TRACEPOINT) on every task of the host while it is attached */
static bool syscall_section(const char *sec)
{
	return !strncmp(sec, "tp/syscalls/", 12) || !strncmp(sec, "tracepoint/syscalls/", 20);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int sys_add(struct sl_kernel *k, struct bpf_program *prog, const char *tp, uint64_t cookie)
{
	struct sl_sys_tp *t;

	if (k->nsys >= SL_MAX_LINKS)
		return -ENOSPC;
	t = &k->sys[k->nsys++];
	t->prog = prog;
	t->tp = tp;
	t->cookie = cookie;
	if (tp)
		snprintf(t->pin, sizeof(t->pin), "%s-%s", bpf_program__name(prog), tp);
	else
		snprintf(t->pin, sizeof(t->pin), "%s", bpf_program__name(prog));
	return 0;
}

/* the tracepoint of an attachment ("sys_exit_openat"), for messages */
static const char *sys_name(const struct sl_sys_tp *t)
{
	const char *sec = bpf_program__section_name(t->prog);

	return t->tp ? t->tp : strrchr(sec, '/') + 1;
}

static void *sys_detach_worker(void *arg)
{
	struct sl_kernel *k = arg;

	links_destroy(k->sys_dying, k->ndying);
	k->sys_detach_us = (mono_ns() - k->sys_detach_start_ns) / 1000;
	__atomic_store_n(&k->sys_worker_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* the detach worker is joined once it is done (wait: whether or not it is) */
static void sys_reap(struct sl_kernel *k, bool wait)
{
	if (!k->sys_worker_started)
		return;
	if (!wait && !__atomic_load_n(&k->sys_worker_done, __ATOMIC_ACQUIRE))
		return;
	pthread_join(k->sys_worker, NULL);
	k->sys_worker_started = false;
	k->ndying = 0;
	__atomic_store_n(&k->sys_worker_done, 0, __ATOMIC_RELEASE);
}

/*
 * Unpin (at once: our descriptors still hold the links) and detach on a
 * worker: the last reference of a tracepoint link waits for RCU grace periods
 * (tracepoint_synchronize_unregister), which the loop must not wait for. The
 * programs stop running at the unregistration, before that wait.
 */
static void sys_detach(struct sl_kernel *k)
{
	int n = 0;

	sys_reap(k, true);
	for (int i = 0; i < k->nsys; i++) {
		struct sl_sys_tp *t = &k->sys[i];

		if (!t->link)
			continue;
		if (k->pin_dir)
			bpf_link__unpin(t->link);
		k->sys_dying[n++] = t->link;
		t->link = NULL;
	}
	k->ndying = n;
	k->sys_attached = false;
	k->sys_detaches++;
	k->sys_detach_start_ns = mono_ns();
	if (pthread_create(&k->sys_worker, NULL, sys_detach_worker, k) == 0) {
		k->sys_worker_started = true;
	} else {
		sys_detach_worker(k);
		k->ndying = 0;
		__atomic_store_n(&k->sys_worker_done, 0, __ATOMIC_RELEASE);
	}
	log_info("no session: the %d system-call tracepoints detached", n);
}

/*
 * Attach (and pin) every system-call tracepoint, or none: on a failure those
 * attached are detached again. A detach still under way is waited for first.
 */
static int sys_attach(struct sl_kernel *k, char *err, size_t errlen)
{
	uint64_t t0 = mono_ns(), t1;
	int ret = 0, i;

	sys_reap(k, true);
	t1 = mono_ns();
	for (i = 0; i < k->nsys; i++) {
		struct sl_sys_tp *t = &k->sys[i];

		t->link = attach_pinned(k, t->prog, t->pin, attach_sys, t);
		if (!t->link) {
			ret = errno ? -errno : -EIO;
			snprintf(err, errlen,
				 "attach the system-call tracepoint syscalls:%s (%s): %s",
				 sys_name(t), bpf_program__name(t->prog), strerror(-ret));
			log_err("%s", err);
			break;
		}
	}
	/* a daemon starting in place of one that had sessions keeps what it
	 * replaced (pinned): its start fails, the sessions stay monitored */
	if (ret && k->starting)
		return ret;
	if (ret) {
		struct bpf_link *undo[SL_MAX_LINKS];
		int n = 0;

		for (int j = 0; j < i; j++) {
			if (k->pin_dir)
				bpf_link__unpin(k->sys[j].link);
			undo[n++] = k->sys[j].link;
			k->sys[j].link = NULL;
		}
		links_destroy(undo, n);
		return ret;
	}
	k->sys_attached = true;
	k->sys_attaches++;
	k->sys_wait_us = (t1 - t0) / 1000;
	k->sys_attach_us = (mono_ns() - t1) / 1000;
	log_info("the %d system-call tracepoints attached in %llu us (waited %llu us for a "
		 "detach)",
		 k->nsys, (unsigned long long)k->sys_attach_us, (unsigned long long)k->sys_wait_us);
	return 0;
}

int sl_kernel_syscalls_hold(struct sl_kernel *k, char *err, size_t errlen)
{
	int ret;

	if (!k->sys_attached) {
		ret = sys_attach(k, err, errlen);
		if (ret)
			return ret;
	}
	k->sys_holds++;
	return 0;
}

void sl_kernel_syscalls_release(struct sl_kernel *k)
{
	if (!k || !k->sys_holds)
		return;
	if (--k->sys_holds == 0 && k->sys_attached)
		sys_detach(k);
}

void sl_kernel_syscalls_settle(struct sl_kernel *k)
{
	if (!k || !k->sys_start_hold)
		return;
	k->sys_start_hold = false;
	sl_kernel_syscalls_release(k);
}

void sl_kernel_syscalls_get(struct sl_kernel *k, struct sl_kernel_syscalls *out)
{
	sys_reap(k, false);
	*out = (struct sl_kernel_syscalls){
	    .attached = k->sys_attached,
	    .detaching = k->sys_worker_started,
	    .holds = k->sys_holds,
	    .links = (unsigned int)k->nsys,
	    .attaches = k->sys_attaches,
	    .detaches = k->sys_detaches,
	    .last_attach_us = k->sys_attach_us,
	    .last_wait_us = k->sys_wait_us,
	    .last_detach_us = k->sys_worker_started ? 0 : k->sys_detach_us,
	};
}

/* a previous daemon left system-call tracepoints attached (pinned): it had sessions */
static bool sys_pinned(const struct sl_kernel *k)
{
	char path[PATH_MAX];

	for (int i = 0; k->pin_dir && i < k->nsys; i++)
		if (!pin_path(k, "links", k->sys[i].pin, path, sizeof(path)) &&
		    access(path, F_OK) == 0)
			return true;
	return false;
}

/* the settings in .rodata: an adopted instance must have been loaded with the same */
static int check_rodata(const struct sl_kernel *k, const struct sl_kernel_opts *o)
{
	const typeof(*k->skel->rodata) *r = k->skel->rodata;

	if (r->sl_session_level != o->session_level || r->sl_argv_max != (__u32)o->argv_capture ||
	    r->sl_tls_capture_max != (__u32)o->tls_capture ||
	    r->sl_wakeup_bytes != o->ringbuf_size / 8)
		return sl_err_ret(-EINVAL,
				  "the enforcement pinned in '%s' was loaded with other settings "
				  "(ring buffer, capture sizes or cgroup parent): start with the "
				  "same options, or stop it first with 'scopelockd "
				  "--stop-enforcement' (which detaches it)",
				  k->pin_dir);
	return 0;
}

int sl_kernel_start(const struct sl_kernel_opts *o, struct sl_features *f, struct sl_kernel **out)
{
	struct bpf_program *prog;
	struct sl_kernel *k;
	int err, nfailed = 0;

	libbpf_set_print(libbpf_print);
	probe_features(o, f);

	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->skel = scopelock_bpf__open();
	if (!k->skel) {
		err = -errno;
		free(k);
		return sl_err_ret(err, "open BPF object");
	}
	/* from here a failure leaves what was done for sl_kernel_stop */
	*out = k;

	k->skel->rodata->sl_session_level = o->session_level;
	k->skel->rodata->sl_argv_max = (__u32)o->argv_capture;
	k->skel->rodata->sl_tls_capture_max = (__u32)o->tls_capture;
	k->skel->rodata->sl_debug = o->verbose > 1;
	/* batch wakeups: an eighth of the ring, drained at the latest every tick */
	k->skel->rodata->sl_wakeup_bytes = o->ringbuf_size / 8;
	/* loss: throttle stops a session process at half a ring waiting */
	k->skel->rodata->sl_throttle_bytes = o->ringbuf_size / 2;
	err = bpf_map__set_max_entries(k->skel->maps.sl_events, (__u32)o->ringbuf_size);
	if (err)
		return sl_err_ret(err, "set ring buffer size %llu",
				  (unsigned long long)o->ringbuf_size);
	/* verdicts that stop something, apart from bulk telemetry (common.bpf.h) */
	k->skel->rodata->sl_verdict_ring_bytes = SL_VERDICT_RING_BYTES;
	err = bpf_map__set_max_entries(k->skel->maps.sl_verdicts, SL_VERDICT_RING_BYTES);
	if (err)
		return sl_err_ret(err, "set verdict ring size %u", SL_VERDICT_RING_BYTES);
	configure_programs(k, f);
	/* TLS uprobes are attached per session process: uprobe_multi links (one
	 * per program, detached without the perf events' global mutex) where the
	 * kernel has them, perf events with a pid otherwise */
	k->uprobe_multi = probe_uprobe_multi();
	sl_feature_add(f, "link:uprobe_multi", k->uprobe_multi, k->uprobe_multi, "%s",
		       k->uprobe_multi
			   ? "per-process TLS probes"
			   : "per-process TLS probes as perf events (slower to detach)");
	if (k->uprobe_multi)
		bpf_object__for_each_program (prog, k->skel->obj)
			if (bpf_program__type(prog) == BPF_PROG_TYPE_KPROBE)
				bpf_program__set_expected_attach_type(
				    prog, (enum bpf_attach_type)SL_TRACE_UPROBE_MULTI);
	if (o->pin_dir) {
		k->starting = true;
		k->pin_dir = strdup(o->pin_dir);
		if (!k->pin_dir)
			return -ENOMEM;
		err = pin_maps(k);
		if (err)
			return err;
	}

	err = scopelock_bpf__load(k->skel);
	if (err)
		return sl_err_ret(err, "load BPF programs%s (run with -vv for the verifier log)",
				  k->adopted ? " on the pinned maps of a previous scopelockd "
					       "(a build whose maps differ cannot adopt them: "
					       "'scopelockd --stop-enforcement' detaches them)"
					     : "");
	if (k->adopted) {
		err = check_rodata(k, o);
		if (err)
			return err;
		log_info("adopting the enforcement pinned in '%s'", k->pin_dir);
	}

	bpf_object__for_each_program (prog, k->skel->obj) {
		enum bpf_prog_type type = bpf_program__type(prog);
		struct bpf_link *l = NULL;

		if (!bpf_program__autoload(prog))
			continue;
		if (type == BPF_PROG_TYPE_TRACEPOINT &&
		    syscall_section(bpf_program__section_name(prog))) {
			/* attached while a session holds them (sl_kernel_syscalls_hold) */
			err = sys_add(k, prog, NULL, 0);
			if (err)
				return sl_err_ret(err, "too many system-call tracepoints");
			continue;
		}
		if (type == BPF_PROG_TYPE_TRACEPOINT || type == BPF_PROG_TYPE_RAW_TRACEPOINT)
			l = attach_pinned(k, prog, bpf_program__name(prog), attach_plain, NULL);
		else if (type == BPF_PROG_TYPE_CGROUP_SOCK_ADDR || type == BPF_PROG_TYPE_CGROUP_SKB)
			l = attach_pinned(k, prog, bpf_program__name(prog), attach_cgroup,
					  &o->cg_parent_fd);
		else
			continue; /* uprobes: attached per target by tls.c */
		if (!l) {
			err = -errno;
			log_err("attach %s (%s): %s", bpf_program__name(prog),
				bpf_program__section_name(prog), strerror(-err));
			nfailed++;
			continue;
		}
		err = add_link(k, l);
		if (err)
			return sl_err_ret(err, "too many links");
	}
	/* the socket write program on the other write system calls (tls.bpf.c) */
	for (size_t i = 0; i < SL_ARRAY_SIZE(send_tps); i++) {
		if (!bpf_program__autoload(k->skel->progs.sl_tls_sys_send))
			break;
		err = sys_add(k, k->skel->progs.sl_tls_sys_send, send_tps[i].name, send_tps[i].fn);
		if (err)
			return sl_err_ret(err, "too many system-call tracepoints");
	}
	if (nfailed)
		return sl_err_ret(-EIO, "%d BPF programs failed to attach", nfailed);
	/*
	 * A previous daemon of this instance left the system-call tracepoints
	 * attached: it had sessions, which this daemon may adopt. They are
	 * replaced now (the new attached before the old go) and held until main
	 * has adopted the sessions (sl_kernel_syscalls_settle).
	 */
	if (sys_pinned(k)) {
		char msg[256];

		err = sl_kernel_syscalls_hold(k, msg, sizeof(msg));
		if (err)
			return err;
		k->sys_start_hold = true;
	}
	if (k->pin_dir) {
		/* a previous build's programs that this one does not have (the
		 * system-call tracepoints are this build's, attached or not) */
		size_t nn = (size_t)k->nlinks + (size_t)k->nsys;
		char dir[PATH_MAX], **names = calloc(nn + 1, sizeof(*names));
		bool named = true;

		for (int i = 0; names && i < k->nlinks; i++) {
			const char *p = bpf_link__pin_path(k->links[i]);

			names[i] = (char *)(p && strrchr(p, '/') ? strrchr(p, '/') + 1 : "");
		}
		for (int i = 0; names && i < k->nsys; i++) {
			char path[PATH_MAX];

			/* the name as pinned (pin_path's substitutions) */
			if (pin_path(k, "links", k->sys[i].pin, path, sizeof(path)) ||
			    !(names[k->nlinks + i] = strdup(strrchr(path, '/') + 1)))
				named = false;
		}
		snprintf(dir, sizeof(dir), "%s/links", k->pin_dir);
		/* only with every name: a pin this build still uses is never removed */
		if (names && named)
			unpin_dir(dir, names, nn);
		for (int i = 0; names && i < k->nsys; i++)
			free(names[k->nlinks + i]);
		free(names);
	}
	return 0;
}

bool sl_kernel_adopted(const struct sl_kernel *k)
{
	return k && k->adopted;
}

const char *sl_kernel_pin_dir(const struct sl_kernel *k)
{
	return k ? k->pin_dir : NULL;
}

/* room for one more TLS link in k->tls */
static int tls_reserve(struct sl_kernel *k)
{
	struct bpf_link **n;

	if (k->ntls < k->captls)
		return 0;
	n = realloc(k->tls, (k->captls ? k->captls * 2 : 32) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	k->tls = n;
	k->captls = k->captls ? k->captls * 2 : 32;
	return 0;
}

int sl_kernel_link_pin(struct sl_kernel *k, struct bpf_link *l, const char *key)
{
	char path[PATH_MAX];
	int err;

	if (!k->pin_dir)
		return 0;
	if (tls_reserve(k))
		return -ENOMEM;
	err = pin_path(k, "tls", key, path, sizeof(path));
	if (err)
		return sl_err_ret(err, "pin TLS link '%s'", key);
	/* the same probe pinned by a previous daemon: this one is attached, that one goes */
	if (access(path, F_OK) == 0) {
		struct bpf_link *old = bpf_link__open(path);

		if (unlink(path) && errno != ENOENT) {
			err = -errno;
			bpf_link__destroy(old);
			return sl_err_ret(err, "replace pin '%s'", path);
		}
		if (old)
			retire(k, old);
	}
	err = bpf_link__pin(l, path);
	if (err)
		return sl_err_ret(err, "pin TLS link '%s'", path);
	k->tls[k->ntls++] = l;
	return 0;
}

static int tls_keep(struct sl_kernel *k, struct bpf_link *l)
{
	if (tls_reserve(k))
		return -ENOMEM;
	k->tls[k->ntls++] = l;
	return 0;
}

int sl_kernel_link_adopt(struct sl_kernel *k, const char *prefix,
			 bool (*cb)(void *ctx, const char *key, struct bpf_link *l), void *ctx)
{
	char dir[PATH_MAX], path[PATH_MAX + 256];
	struct dirent *de;
	DIR *d;
	int n = 0;

	if (!k || !k->pin_dir)
		return 0;
	snprintf(dir, sizeof(dir), "%s/tls", k->pin_dir);
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		struct bpf_link *l;

		if (strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		l = bpf_link__open(path);
		if (!l) {
			log_warn("adopt pinned link '%s': %s", path, strerror(errno));
			continue;
		}
		if (cb(ctx, de->d_name, l) && !tls_keep(k, l)) {
			n++;
			continue;
		}
		/* dropped: the caller destroys the link it was given */
		if (unlink(path) && errno != ENOENT)
			log_warn("remove pin '%s': %s", path, strerror(errno));
	}
	closedir(d);
	return n;
}

bool sl_kernel_uprobe_multi(const struct sl_kernel *k)
{
	return k && k->uprobe_multi;
}

int sl_kernel_tls_pin_path(const struct sl_kernel *k, const char *key, char *buf, size_t n)
{
	if (!k || !k->pin_dir)
		return -ENOENT;
	return pin_path(k, "tls", key, buf, n);
}

void sl_kernel_link_forget(struct sl_kernel *k, struct bpf_link *l)
{
	for (size_t i = 0; k && i < k->ntls; i++) {
		if (k->tls[i] != l)
			continue;
		bpf_link__unpin(l);
		k->tls[i] = k->tls[--k->ntls];
		return;
	}
}

void sl_kernel_adopt_finish(struct sl_kernel *k)
{
	if (!k)
		return;
	k->starting = false;
	retire_flush(k);
}

void sl_kernel_release(struct sl_kernel *k, bool keep)
{
	if (!k || !k->pin_dir)
		return;
	if (keep) {
		/* what is pinned stays attached: closing our descriptors must not
		 * detach it (libbpf disables a perf event link on destroy) */
		for (int i = 0; i < k->nlinks; i++)
			if (k->links[i])
				bpf_link__disconnect(k->links[i]);
		/* held by a session still running: its processes stay monitored */
		for (int i = 0; i < k->nsys; i++)
			if (k->sys[i].link)
				bpf_link__disconnect(k->sys[i].link);
		for (size_t i = 0; i < k->ntls; i++)
			bpf_link__disconnect(k->tls[i]);
		log_info("enforcement stays in the kernel (pinned in '%s'): sessions are still "
			 "enforced; 'scopelockd --stop-enforcement' detaches it",
			 k->pin_dir);
		return;
	}
	for (size_t i = 0; i < k->ntls; i++)
		bpf_link__unpin(k->tls[i]);
	k->ntls = 0;
	if (sl_kernel_unpin(k->pin_dir) == 0)
		log_info("enforcement detached: removed the pins in '%s'", k->pin_dir);
}

static void *destroy_one(void *arg)
{
	bpf_link__destroy(arg);
	return NULL;
}

/*
 * Detaching a tracepoint or uprobe link waits for an RCU tasks-trace grace
 * period (hundreds of ms here). Detach concurrently so that the waits
 * overlap: shutdown takes one grace period instead of one per link.
 */
static void links_destroy(struct bpf_link **links, int n)
{
	pthread_t *th = calloc((size_t)n, sizeof(*th));
	bool *started = calloc((size_t)n, sizeof(*started));

	for (int i = 0; i < n; i++) {
		if (!links[i])
			continue;
		if (th && started && pthread_create(&th[i], NULL, destroy_one, links[i]) == 0)
			started[i] = true;
		else
			bpf_link__destroy(links[i]);
	}
	for (int i = 0; i < n; i++) {
		if (started && started[i])
			pthread_join(th[i], NULL);
		links[i] = NULL;
	}
	free(th);
	free(started);
}

void sl_kernel_stop(struct sl_kernel *k)
{
	if (!k)
		return;
	retire_flush(k);
	sys_reap(k, true);
	/* the system-call tracepoints with the others: their detach waits overlap */
	for (int i = 0; i < k->nsys; i++) {
		if (k->sys[i].link && k->nlinks < SL_MAX_LINKS) {
			k->links[k->nlinks++] = k->sys[i].link;
			k->sys[i].link = NULL;
		} else if (k->sys[i].link) {
			bpf_link__destroy(k->sys[i].link);
		}
	}
	links_destroy(k->links, k->nlinks);
	scopelock_bpf__destroy(k->skel);
	free(k->tls);
	free(k->pin_dir);
	free(k);
}

int sl_kernel_events_fd(const struct sl_kernel *k)
{
	return bpf_map__fd(k->skel->maps.sl_events);
}

int sl_kernel_verdicts_fd(const struct sl_kernel *k)
{
	return bpf_map__fd(k->skel->maps.sl_verdicts);
}

struct bpf_program *sl_kernel_program(const struct sl_kernel *k, const char *name)
{
	return bpf_object__find_program_by_name(k->skel->obj, name);
}

int sl_kernel_stats_read(const struct sl_kernel *k, uint64_t emitted[SL_OP_MAX],
			 uint64_t loss[SL_LOSS_MAX][SL_OP_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	struct sl_stats *per;
	__u32 zero = 0;
	int err = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	per = calloc((size_t)ncpu, sizeof(*per));
	if (!per)
		return -ENOMEM;
	if (bpf_map_lookup_elem(bpf_map__fd(k->skel->maps.sl_stats), &zero, per)) {
		err = -errno;
		goto out;
	}
	memset(emitted, 0, sizeof(uint64_t) * SL_OP_MAX);
	memset(loss, 0, sizeof(uint64_t) * SL_OP_MAX * SL_LOSS_MAX);
	for (int c = 0; c < ncpu; c++) {
		for (int op = 0; op < SL_OP_MAX; op++) {
			emitted[op] += per[c].emitted[op];
			for (int k = 0; k < SL_LOSS_MAX; k++)
				loss[k][op] += per[c].loss[k][op];
		}
	}
out:
	free(per);
	return err;
}

/* ---- the session map and the held map ---- */

int sl_kernel_session_add(const struct sl_kernel *k, uint64_t cgroup_id,
			  const struct sl_session_info *info)
{
	if (bpf_map_update_elem(bpf_map__fd(k->skel->maps.sl_sessions), &cgroup_id, info,
				BPF_NOEXIST))
		return -errno;
	return 0;
}

int sl_kernel_session_remove(const struct sl_kernel *k, uint64_t cgroup_id)
{
	if (bpf_map_delete_elem(bpf_map__fd(k->skel->maps.sl_sessions), &cgroup_id))
		return -errno;
	return 0;
}

int sl_kernel_session_get(const struct sl_kernel *k, uint64_t cgroup_id,
			  struct sl_session_info *info)
{
	if (bpf_map_lookup_elem(bpf_map__fd(k->skel->maps.sl_sessions), &cgroup_id, info))
		return -errno;
	return 0;
}

int sl_kernel_session_put(const struct sl_kernel *k, uint64_t cgroup_id,
			  const struct sl_session_info *info)
{
	if (bpf_map_update_elem(bpf_map__fd(k->skel->maps.sl_sessions), &cgroup_id, info,
				BPF_EXIST))
		return -errno;
	return 0;
}

int sl_kernel_held_set(const struct sl_kernel *k, uint64_t cgroup_id, bool held)
{
	int fd = bpf_map__fd(k->skel->maps.sl_held);

	if (held)
		return bpf_map_update_elem(fd, &cgroup_id, &(uint32_t){1}, BPF_ANY) ? -errno : 0;
	return bpf_map_delete_elem(fd, &cgroup_id) ? -errno : 0;
}

int sl_kernel_decode_holds(const struct sl_kernel *k, uint64_t cgroup_id, uint64_t *count)
{
	*count = 0;
	if (bpf_map_lookup_elem(bpf_map__fd(k->skel->maps.sl_decode_holds), &cgroup_id, count))
		return errno == ENOENT ? 0 : -errno;
	return 0;
}

/* ---- the TLS gate ---- */

void sl_kernel_tls_gate(const struct sl_kernel *k, bool on)
{
	if (k && k->skel && k->skel->bss)
		__atomic_store_n(&k->skel->bss->sl_tls_gate_on, on ? 1U : 0U, __ATOMIC_SEQ_CST);
}

int sl_kernel_tls_exe_set(const struct sl_kernel *k, const struct sl_tls_exe_key *key,
			  uint32_t state)
{
	int fd = bpf_map__fd(k->skel->maps.sl_tls_exes);

	return bpf_map_update_elem(fd, key, &state, BPF_ANY) ? -errno : 0;
}

int sl_kernel_tls_proc_get(const struct sl_kernel *k, uint32_t tgid, struct sl_tls_proc *out)
{
	int fd = bpf_map__fd(k->skel->maps.sl_tls_procs);

	return bpf_map_lookup_elem(fd, &tgid, out) ? -errno : 0;
}

int sl_kernel_tls_proc_put(const struct sl_kernel *k, uint32_t tgid, const struct sl_tls_proc *p)
{
	int fd = bpf_map__fd(k->skel->maps.sl_tls_procs);

	return bpf_map_update_elem(fd, &tgid, p, BPF_ANY) ? -errno : 0;
}

int sl_kernel_tls_proc_del(const struct sl_kernel *k, uint32_t tgid)
{
	int fd = bpf_map__fd(k->skel->maps.sl_tls_procs);

	return bpf_map_delete_elem(fd, &tgid) && errno != ENOENT ? -errno : 0;
}

int sl_kernel_tls_proc_next(const struct sl_kernel *k, const uint32_t *prev, uint32_t *next)
{
	int fd = bpf_map__fd(k->skel->maps.sl_tls_procs);

	return bpf_map_get_next_key(fd, prev, next) ? -errno : 0;
}

int sl_kernel_tls_loc_find(const struct sl_kernel *k, uint64_t dev, uint64_t ino, uint64_t off,
			   uint32_t *key)
{
	int fd = bpf_map__fd(k->skel->maps.sl_tls_locs);
	struct sl_tls_loc v = {.dev = dev, .ino = ino, .off = off}, got;
	uint32_t cur, next, top = 0, *prev = NULL;

	/* at most SL_MAX_TLS_LOCS entries: a walk */
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		cur = next;
		prev = &cur;
		if (bpf_map_lookup_elem(fd, &cur, &got))
			continue;
		if (got.dev == dev && got.ino == ino && got.off == off) {
			*key = cur;
			return 0;
		}
		top = cur > top ? cur : top;
	}
	if (errno != ENOENT)
		return -errno;
	if (top + 1 >= SL_TLS_LOC_NONE)
		return -ENOSPC;
	*key = top + 1;
	if (bpf_map_update_elem(fd, key, &v, BPF_NOEXIST))
		return errno == E2BIG ? -ENOSPC : -errno;
	return 0;
}

int sl_kernel_tls_sealed_put(const struct sl_kernel *k, uint32_t tgid,
			     const struct sl_tls_sealed *v)
{
	int fd = bpf_map__fd(k->skel->maps.sl_tls_sealed);

	return bpf_map_update_elem(fd, &tgid, v, BPF_ANY) ? -errno : 0;
}

int sl_kernel_tls_sealed_del(const struct sl_kernel *k, uint32_t tgid)
{
	int fd = bpf_map__fd(k->skel->maps.sl_tls_sealed);

	return bpf_map_delete_elem(fd, &tgid) && errno != ENOENT ? -errno : 0;
}

int sl_kernel_tls_loc_get(const struct sl_kernel *k, uint32_t key, struct sl_tls_loc *out)
{
	int fd = bpf_map__fd(k->skel->maps.sl_tls_locs);

	return bpf_map_lookup_elem(fd, &key, out) ? -errno : 0;
}

int sl_kernel_tls_mapheld_get(const struct sl_kernel *k, uint32_t tgid, struct sl_tls_maphold *out)
{
	int fd = bpf_map__fd(k->skel->maps.sl_tls_mapheld);

	return bpf_map_lookup_elem(fd, &tgid, out) ? -errno : 0;
}

int sl_kernel_tls_mapdone_get(const struct sl_kernel *k, uint32_t tgid, uint64_t *seq)
{
	int fd = bpf_map__fd(k->skel->maps.sl_tls_mapdone);

	return bpf_map_lookup_elem(fd, &tgid, seq) ? -errno : 0;
}

int sl_kernel_tls_mapdone_set(const struct sl_kernel *k, uint32_t tgid, uint64_t seq)
{
	int fd = bpf_map__fd(k->skel->maps.sl_tls_mapdone);

	return bpf_map_update_elem(fd, &tgid, &seq, BPF_ANY) ? -errno : 0;
}

int sl_kernel_tls_mapheld_next(const struct sl_kernel *k, const uint32_t *prev, uint32_t *next)
{
	int fd = bpf_map__fd(k->skel->maps.sl_tls_mapheld);

	return bpf_map_get_next_key(fd, prev, next) ? -errno : 0;
}

int sl_kernel_throttled_get(const struct sl_kernel *k, uint32_t tgid, struct sl_throttle *out)
{
	int fd = bpf_map__fd(k->skel->maps.sl_throttled);

	return bpf_map_lookup_elem(fd, &tgid, out) ? -errno : 0;
}

int sl_kernel_throttled_del(const struct sl_kernel *k, uint32_t tgid)
{
	int fd = bpf_map__fd(k->skel->maps.sl_throttled);

	return bpf_map_delete_elem(fd, &tgid) && errno != ENOENT ? -errno : 0;
}

int sl_kernel_throttled_next(const struct sl_kernel *k, const uint32_t *prev, uint32_t *next)
{
	int fd = bpf_map__fd(k->skel->maps.sl_throttled);

	return bpf_map_get_next_key(fd, prev, next) ? -errno : 0;
}

int sl_kernel_heartbeat(const struct sl_kernel *k, uint64_t grace_ns)
{
	struct sl_daemon_beat b = {.grace_ns = grace_ns};
	struct timespec ts;
	uint32_t zero = 0;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	b.beat_ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	return bpf_map_update_elem(bpf_map__fd(k->skel->maps.sl_daemon), &zero, &b, BPF_ANY)
		   ? -errno
		   : 0;
}

/* ---- the policy maps ---- */

static struct sl_policy_map_fds map_fds(const struct sl_kernel *k)
{
	const struct scopelock_bpf *sk = k->skel;

	return (struct sl_policy_map_fds){
	    .ac = bpf_map__fd(sk->maps.sl_ac),
	    .patterns = bpf_map__fd(sk->maps.sl_patterns),
	    .rules = bpf_map__fd(sk->maps.sl_rules),
	    .path_labels = bpf_map__fd(sk->maps.sl_path_labels),
	    .ip_labels = bpf_map__fd(sk->maps.sl_ip_labels),
	    .host_labels = bpf_map__fd(sk->maps.sl_host_labels),
	    .hdr = bpf_map__fd(sk->maps.sl_policy_hdr),
	    .active = bpf_map__fd(sk->maps.sl_policy_active),
	    .inode_labels = bpf_map__fd(sk->maps.sl_inode_labels),
	    .glob_classes = bpf_map__fd(sk->maps.sl_glob_classes),
	    .glob = bpf_map__fd(sk->maps.sl_glob),
	};
}

int sl_kernel_policy_write(const struct sl_kernel *k, const struct sl_compiled_policy *c,
			   uint32_t slot, uint32_t generation, char *err, size_t errlen)
{
	struct sl_policy_map_fds fds = map_fds(k);

	return sl_policy_maps_write(&fds, c, slot, generation, err, errlen);
}

int sl_kernel_policy_write_inodes(const struct sl_kernel *k, uint32_t slot,
				  const struct sl_cinode *v, uint32_t n)
{
	struct sl_policy_map_fds fds = map_fds(k);

	return sl_policy_maps_write_inodes(&fds, slot, v, n);
}

int sl_kernel_policy_flip(const struct sl_kernel *k, uint32_t slot, uint32_t generation)
{
	struct sl_policy_map_fds fds = map_fds(k);

	return sl_policy_maps_flip(&fds, slot, generation);
}

/* ---- programs by the file that runs ---- */

/* remove slot's entries of a map whose key has the slot at slot_off */
static void slot_clear(int fd, size_t key_size, size_t slot_off, uint32_t slot)
{
	uint8_t key[64], next[64];
	bool first = true;

	if (key_size > sizeof(key))
		return;
	while (!bpf_map_get_next_key(fd, first ? NULL : key, next)) {
		uint32_t s;

		memcpy(key, next, key_size);
		memcpy(&s, next + slot_off, sizeof(s));
		first = false;
		if (s == slot && !bpf_map_delete_elem(fd, next))
			first = true; /* restart: the iteration order changed */
	}
}

void sl_kernel_programs_clear(const struct sl_kernel *k, uint32_t slot)
{
	slot_clear(bpf_map__fd(k->skel->maps.sl_prog_ids), sizeof(struct sl_inode_key),
		   offsetof(struct sl_inode_key, slot), slot);
	slot_clear(bpf_map__fd(k->skel->maps.sl_prog_sizes), sizeof(struct sl_size_key),
		   offsetof(struct sl_size_key, slot), slot);
}

int sl_kernel_program_id_set(const struct sl_kernel *k, const struct sl_inode_key *key,
			     const struct sl_prog_kw *kw)
{
	if (bpf_map_update_elem(bpf_map__fd(k->skel->maps.sl_prog_ids), key, kw, BPF_ANY))
		return -errno;
	return 0;
}

int sl_kernel_program_size_add(const struct sl_kernel *k, const struct sl_size_key *key,
			       struct sl_prog_kw *kw)
{
	int fd = bpf_map__fd(k->skel->maps.sl_prog_sizes);
	struct sl_prog_kw old;

	/* programs of the same size: either may be the copy */
	if (!bpf_map_lookup_elem(fd, key, &old))
		for (int w = 0; w < SL_KW_WORDS; w++)
			kw->kw[w] |= old.kw[w];
	if (bpf_map_update_elem(fd, key, kw, BPF_ANY))
		return -errno;
	return 0;
}

int sl_kernel_program_seen(const struct sl_kernel *k, const struct sl_inode_key *key,
			   uint64_t ctime_ns)
{
	if (bpf_map_update_elem(bpf_map__fd(k->skel->maps.sl_prog_seen), key, &ctime_ns, BPF_ANY))
		return -errno;
	return 0;
}
