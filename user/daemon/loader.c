// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * BPF life cycle: mount what is missing, probe features, then
 * open -> configure (rodata, map sizes, autoload) -> load -> attach.
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

#include "daemon.h"
#include "feature.h"
#include "log.h"
#include "policy.h"
#include "tls.h"
#include "util.h"
#include "scopelock.skel.h"

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

int sl_fs_prepare(struct sl_daemon *d)
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

/*
 * bpf_send_signal is called by the verdict code of the exec, TLS and open
 * programs when a rule's action is kill (SIGKILL) or freeze (SIGSTOP) and the
 * rule is not in monitor mode: it is in use while such a rule is in force.
 */
static bool policy_signals(void *ctx)
{
	const struct sl_daemon *d = ctx;
	const struct sl_policy *p = d->pol[0].policy;

	for (uint32_t i = 0; p && i < p->n_rules; i++) {
		const struct sl_policy_rule *r = &p->rules[i];

		if ((r->action == SL_ACT_KILL || r->action == SL_ACT_FREEZE) &&
		    !r->effective_monitor)
			return true;
	}
	return false;
}

static void probe_features(struct sl_daemon *d)
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
			sl_feature_add(d->features, progs[i].name, true, progs[i].used, "%s", "");
		else
			sl_feature_add(d->features, progs[i].name, false, false, "%s",
				       ret == 0 ? "refused by this kernel" : strerror(-ret));
	}
	ret = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL);
	sl_feature_add(d->features, "map:ringbuf", ret == 1, ret == 1, "%s",
		       ret == 1 ? "" : "required, refused by this kernel");
	/* sessions sit below the parent cgroup (level >= 1): the programs call it */
	ret = libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT,
				      BPF_FUNC_get_current_ancestor_cgroup_id, NULL);
	sl_feature_add(d->features, "helper:get_current_ancestor_cgroup_id", ret == 1, ret == 1,
		       "%s",
		       ret == 1 ? "nested cgroups stay in their session"
				: "required: the BPF programs will not load");
	ret = libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_loop, NULL);
	sl_feature_add(d->features, "helper:loop", ret == 1, ret == 1, "%s",
		       ret == 1 ? "" : "required: the BPF programs will not load");
	ret = libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_send_signal, NULL);
	sl_feature_add(d->features, "helper:send_signal", ret == 1, false, "%s",
		       "kill/freeze verdicts: used while an enforcing kill or freeze rule is "
		       "in force");
	if (ret == 1)
		sl_feature_used_while(d->features, policy_signals, d);
}

/* tracepoint programs: "tracepoint/<cat>/<name>" -> check tracefs */
static void configure_programs(struct sl_daemon *d)
{
	struct bpf_program *prog;
	char missing[512] = "";
	int nmissing = 0;

	bpf_object__for_each_program (prog, d->skel->obj) {
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
		sl_feature_add(d->features, "tracepoints", true, true,
			       "missing on this kernel (not captured): %s", missing);
	else
		sl_feature_add(d->features, "tracepoints", true, true, "%s", "all present");
}

static int add_link(struct sl_daemon *d, struct bpf_link *l)
{
	if (d->nlinks >= SL_MAX_LINKS) {
		bpf_link__destroy(l);
		return -ENOSPC;
	}
	d->links[d->nlinks++] = l;
	return 0;
}

int sl_bpf_start(struct sl_daemon *d)
{
	struct bpf_program *prog;
	int err, nfailed = 0;

	libbpf_set_print(libbpf_print);
	probe_features(d);

	d->skel = scopelock_bpf__open();
	if (!d->skel)
		return sl_err_ret(-errno, "open BPF object");

	d->skel->rodata->sl_session_level = d->session_level;
	d->skel->rodata->sl_argv_max = (__u32)d->opts.argv_capture;
	d->skel->rodata->sl_tls_capture_max = (__u32)d->opts.tls_capture;
	d->skel->rodata->sl_debug = d->opts.verbose > 1;
	/* batch wakeups: an eighth of the ring, drained at the latest every tick */
	d->skel->rodata->sl_wakeup_bytes = d->opts.ringbuf_size / 8;
	err = bpf_map__set_max_entries(d->skel->maps.sl_events, (__u32)d->opts.ringbuf_size);
	if (err)
		return sl_err_ret(err, "set ring buffer size %llu",
				  (unsigned long long)d->opts.ringbuf_size);
	/* verdicts that stop something, apart from bulk telemetry (common.bpf.h) */
	d->skel->rodata->sl_verdict_ring_bytes = SL_VERDICT_RING_BYTES;
	err = bpf_map__set_max_entries(d->skel->maps.sl_verdicts, SL_VERDICT_RING_BYTES);
	if (err)
		return sl_err_ret(err, "set verdict ring size %u", SL_VERDICT_RING_BYTES);
	configure_programs(d);

	err = scopelock_bpf__load(d->skel);
	if (err)
		return sl_err_ret(err, "load BPF programs (run with -vv for the verifier log)");

	bpf_object__for_each_program (prog, d->skel->obj) {
		enum bpf_prog_type type = bpf_program__type(prog);
		struct bpf_link *l = NULL;

		if (!bpf_program__autoload(prog))
			continue;
		if (type == BPF_PROG_TYPE_TRACEPOINT || type == BPF_PROG_TYPE_RAW_TRACEPOINT)
			l = bpf_program__attach(prog);
		else if (type == BPF_PROG_TYPE_CGROUP_SOCK_ADDR || type == BPF_PROG_TYPE_CGROUP_SKB)
			l = bpf_program__attach_cgroup(prog, d->cg_parent_fd);
		else
			continue; /* uprobes: attached per target by tls.c */
		if (!l) {
			err = -errno;
			log_err("attach %s (%s): %s", bpf_program__name(prog),
				bpf_program__section_name(prog), strerror(-err));
			nfailed++;
			continue;
		}
		err = add_link(d, l);
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
void sl_links_destroy(struct bpf_link **links, int n)
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

void sl_bpf_stop(struct sl_daemon *d)
{
	sl_tls_free(d->tls);
	d->tls = NULL;
	sl_links_destroy(d->links, d->nlinks);
	d->nlinks = 0;
	scopelock_bpf__destroy(d->skel);
	d->skel = NULL;
}

int sl_stats_read(struct sl_daemon *d, uint64_t emitted[SL_OP_MAX],
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
	if (bpf_map_lookup_elem(bpf_map__fd(d->skel->maps.sl_stats), &zero, per)) {
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
