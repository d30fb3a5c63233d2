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

struct sl_kernel {
	struct scopelock_bpf *skel;
	struct bpf_link *links[SL_MAX_LINKS];
	int nlinks;
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

	err = scopelock_bpf__load(k->skel);
	if (err)
		return sl_err_ret(err, "load BPF programs (run with -vv for the verifier log)");

	bpf_object__for_each_program (prog, k->skel->obj) {
		enum bpf_prog_type type = bpf_program__type(prog);
		struct bpf_link *l = NULL;

		if (!bpf_program__autoload(prog))
			continue;
		if (type == BPF_PROG_TYPE_TRACEPOINT || type == BPF_PROG_TYPE_RAW_TRACEPOINT)
			l = bpf_program__attach(prog);
		else if (type == BPF_PROG_TYPE_CGROUP_SOCK_ADDR || type == BPF_PROG_TYPE_CGROUP_SKB)
			l = bpf_program__attach_cgroup(prog, o->cg_parent_fd);
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
	for (size_t i = 0; i < sizeof(send_tps) / sizeof(send_tps[0]); i++) {
		LIBBPF_OPTS(bpf_tracepoint_opts, topts, .bpf_cookie = send_tps[i].fn);
		struct bpf_link *l;

		l = bpf_program__attach_tracepoint_opts(k->skel->progs.sl_tls_sys_send, "syscalls",
							send_tps[i].name, &topts);
		if (!l) {
			err = -errno;
			log_err("attach sl_tls_sys_send to syscalls:%s: %s", send_tps[i].name,
				strerror(-err));
			nfailed++;
			continue;
		}
		err = add_link(k, l);
		if (err)
			return sl_err_ret(err, "too many links");
	}
	if (nfailed)
		return sl_err_ret(-EIO, "%d BPF programs failed to attach", nfailed);
	return 0;
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
	links_destroy(k->links, k->nlinks);
	scopelock_bpf__destroy(k->skel);
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

int sl_kernel_tls_mapheld_get(const struct sl_kernel *k, uint32_t tgid, struct sl_tls_exe_key *out)
{
	int fd = bpf_map__fd(k->skel->maps.sl_tls_mapheld);

	return bpf_map_lookup_elem(fd, &tgid, out) ? -errno : 0;
}

int sl_kernel_tls_mapheld_del(const struct sl_kernel *k, uint32_t tgid)
{
	int fd = bpf_map__fd(k->skel->maps.sl_tls_mapheld);

	return bpf_map_delete_elem(fd, &tgid) && errno != ENOENT ? -errno : 0;
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
