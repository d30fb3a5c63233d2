/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The kernel room: the only code of scopelockd that holds the BPF skeleton,
 * its links and its maps. Start-up mounts what is missing, probes features,
 * then open -> configure (rodata, map sizes, autoload) -> load -> attach;
 * every other room reaches the kernel through the functions below (the
 * session map, the held map, the policy slots, the program maps, the ring
 * buffers' descriptors, the statistics, a program for the TLS uprobes).
 */
#ifndef SL_KERNEL_H
#define SL_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scopelock_abi.h"
#include "scopelock_policy.h"

struct sl_kernel;
struct sl_features;
struct sl_compiled_policy;
struct sl_cinode;
struct bpf_program;
struct bpf_link;

struct sl_kernel_opts {
	uint32_t session_level; /* cgroup v2 level of the session cgroups */
	int cg_parent_fd;	/* the session parent cgroup: cgroup programs attach there */
	uint64_t ringbuf_size;	/* bytes of sl_events */
	uint64_t argv_capture;
	uint64_t tls_capture;
	int verbose;
	/* the instance's bpffs directory: maps and links pinned there outlive the
	 * daemon and are adopted by the next one (NULL: nothing pinned) */
	const char *pin_dir;
	/* whether a rule that signals (kill, freeze) is in force (a feature's use) */
	bool (*signals_used)(void *ctx);
	void *signals_ctx;
};

/* mount bpffs and tracefs where they are missing */
int sl_kernel_fs_prepare(void);
/* probe (into f), open, configure, load and attach; 0 or -errno (logged) */
int sl_kernel_start(const struct sl_kernel_opts *o, struct sl_features *f, struct sl_kernel **out);
/* close this daemon's hold on the programs and maps (detaching what sl_kernel_release
 * did not keep); NULL-safe */
void sl_kernel_stop(struct sl_kernel *k);
/*
 * Before the TLS room frees its links: keep (the pins stay, the programs go on
 * enforcing after this daemon exits) or detach (every pin of the instance
 * removed). NULL-safe.
 */
void sl_kernel_release(struct sl_kernel *k, bool keep);
/* remove every pin under pin_dir (no daemon needed); 0 (also when there was none) or -errno */
int sl_kernel_unpin(const char *pin_dir);
/* the maps were a previous daemon's (pinned, reused): its sessions may be adopted */
bool sl_kernel_adopted(const struct sl_kernel *k);
const char *sl_kernel_pin_dir(const struct sl_kernel *k);
/*
 * A TLS uprobe link, pinned as tls/<key> so that it outlives the daemon; key
 * names the probe (file, function, entry or return): a previous daemon's link
 * of the same key is replaced (this one is attached first). A previous
 * daemon's probes this daemon does not attach again stay (processes of
 * adopted sessions still run the files they probe). forget: unpinned.
 */
int sl_kernel_link_pin(struct sl_kernel *k, struct bpf_link *l, const char *key);
void sl_kernel_link_forget(struct sl_kernel *k, struct bpf_link *l);
/* BPF_TRACE_UPROBE_MULTI (Linux 6.6; not in the uapi headers of libbpf 1.1) */
#define SL_TRACE_UPROBE_MULTI 48
/* the TLS uprobe programs are loaded for uprobe_multi links (else: perf events) */
bool sl_kernel_uprobe_multi(const struct sl_kernel *k);
/* where a TLS link of key is pinned (pin_dir/tls/<key>, sanitised); -ENOENT: nothing is pinned */
int sl_kernel_tls_pin_path(const struct sl_kernel *k, const char *key, char *buf, size_t n);
/*
 * The TLS links a previous daemon pinned whose key starts with prefix, each
 * opened and given to cb: true keeps it (pinned, this daemon's from now, as
 * if sl_kernel_link_pin'ned), false drops it (unpinned; cb owns the link and
 * destroys it). The number kept, or -errno.
 */
int sl_kernel_link_adopt(struct sl_kernel *k, const char *prefix,
			 bool (*cb)(void *ctx, const char *key, struct bpf_link *l), void *ctx);
/* the TLS room attached its first uprobes: the previous daemon's links this one replaced
 * are detached now, together (their detach waits overlap) */
void sl_kernel_adopt_finish(struct sl_kernel *k);

/*
 * The system-call tracepoints: every program whose section is
 * "tp/syscalls/..." or "tracepoint/syscalls/..." (and its attachments by
 * name: sl_tls_sys_send on writev, sendto, sendmsg). While any of them is
 * attached, every task of the host takes the kernel's slow system-call path;
 * so they are attached only while a session holds them. Hold: attach (and
 * pin) them all if none is, before a session's first process can run; 0, or
 * -errno with err (nothing attached then). Release: the last hold detaches
 * them (unpinned at once, the kernel's grace periods waited for on a worker
 * thread; a hold meanwhile waits for it). sl_kernel_start holds them once when
 * a previous daemon left them pinned (it had sessions): main releases that
 * hold once the sessions are adopted (sl_kernel_syscalls_settle).
 */
int sl_kernel_syscalls_hold(struct sl_kernel *k, char *err, size_t errlen);
void sl_kernel_syscalls_release(struct sl_kernel *k);
/* the adoption is over: sl_kernel_start's hold (if it took one) goes */
void sl_kernel_syscalls_settle(struct sl_kernel *k);
struct sl_kernel_syscalls {
	bool attached;
	bool detaching; /* the worker still waits for the last detach */
	unsigned int holds;
	unsigned int links; /* the attachments (attached or not) */
	uint64_t attaches, detaches;
	uint64_t last_attach_us; /* the loop's time to attach them, the last time */
	uint64_t last_wait_us;	 /* of which, waiting for a detach still under way */
	uint64_t last_detach_us; /* the worker's time to detach them, the last time */
};
void sl_kernel_syscalls_get(struct sl_kernel *k, struct sl_kernel_syscalls *out);

/* the ring buffers: sl_events (bulk telemetry) and sl_verdicts */
int sl_kernel_events_fd(const struct sl_kernel *k);
int sl_kernel_verdicts_fd(const struct sl_kernel *k);
/* a loaded program by name (the TLS room attaches the uprobes), or NULL */
struct bpf_program *sl_kernel_program(const struct sl_kernel *k, const char *name);
/* the per-CPU counters, summed */
int sl_kernel_stats_read(const struct sl_kernel *k, uint64_t emitted[SL_OP_MAX],
			 uint64_t loss[SL_LOSS_MAX][SL_OP_MAX]);

/* the session map (key: session cgroup id); 0 or -errno */
int sl_kernel_session_add(const struct sl_kernel *k, uint64_t cgroup_id,
			  const struct sl_session_info *info);
int sl_kernel_session_remove(const struct sl_kernel *k, uint64_t cgroup_id);
int sl_kernel_session_get(const struct sl_kernel *k, uint64_t cgroup_id,
			  struct sl_session_info *info);
/* replace the value of a session in the map (BPF_EXIST) */
int sl_kernel_session_put(const struct sl_kernel *k, uint64_t cgroup_id,
			  const struct sl_session_info *info);
/* sl_decode_holds: writes of the session held for decoding so far (0 when none); 0 or -errno */
int sl_kernel_decode_holds(const struct sl_kernel *k, uint64_t cgroup_id, uint64_t *count);
/* sl_held: the session's egress is dropped while it is held */
int sl_kernel_held_set(const struct sl_kernel *k, uint64_t cgroup_id, bool held);

/* the TLS gate (bpf/tlsgate.bpf.h): on once the TLS room releases what it holds */
void sl_kernel_tls_gate(const struct sl_kernel *k, bool on);
/* sl_tls_exes: an executable analysed (SL_TLS_EXE_*) */
int sl_kernel_tls_exe_set(const struct sl_kernel *k, const struct sl_tls_exe_key *key,
			  uint32_t state);
/* sl_tls_procs: a session process' gate state; get: -ENOENT if none */
int sl_kernel_tls_proc_get(const struct sl_kernel *k, uint32_t tgid, struct sl_tls_proc *out);
int sl_kernel_tls_proc_put(const struct sl_kernel *k, uint32_t tgid, const struct sl_tls_proc *p);
int sl_kernel_tls_proc_del(const struct sl_kernel *k, uint32_t tgid);
/* the key after *prev (NULL: the first); -ENOENT at the end */
int sl_kernel_tls_proc_next(const struct sl_kernel *k, const uint32_t *prev, uint32_t *next);
/* sl_tls_locs: a located function's live confirmation (struct sl_tls_loc). find: the key
 * of the entry of (dev, ino, off), made when there is none (a previous daemon's is found
 * again); -ENOSPC when the map is full. get: -ENOENT if none */
int sl_kernel_tls_loc_find(const struct sl_kernel *k, uint64_t dev, uint64_t ino, uint64_t off,
			   uint32_t *key);
int sl_kernel_tls_loc_get(const struct sl_kernel *k, uint32_t key, struct sl_tls_loc *out);
/* sl_tls_sealed: a rustls process under located seals (struct sl_tls_sealed) */
int sl_kernel_tls_sealed_put(const struct sl_kernel *k, uint32_t tgid,
			     const struct sl_tls_sealed *v);
int sl_kernel_tls_sealed_del(const struct sl_kernel *k, uint32_t tgid);
/* sl_tls_mapheld: a session process' latest held mapping; get: -ENOENT if none */
int sl_kernel_tls_mapheld_get(const struct sl_kernel *k, uint32_t tgid, struct sl_tls_maphold *out);
int sl_kernel_tls_mapheld_next(const struct sl_kernel *k, const uint32_t *prev, uint32_t *next);
/* sl_tls_mapdone: the held mapping the daemon is done with (its sequence number) */
int sl_kernel_tls_mapdone_get(const struct sl_kernel *k, uint32_t tgid, uint64_t *seq);
int sl_kernel_tls_mapdone_set(const struct sl_kernel *k, uint32_t tgid, uint64_t seq);
/* sl_throttled: a session process stopped for the daemon (SL_STOP_*); get: -ENOENT if none */
int sl_kernel_throttled_get(const struct sl_kernel *k, uint32_t tgid, struct sl_throttle *out);
int sl_kernel_throttled_del(const struct sl_kernel *k, uint32_t tgid);
int sl_kernel_throttled_next(const struct sl_kernel *k, const uint32_t *prev, uint32_t *next);
/*
 * The daemon's heartbeat (sl_daemon_beat): now, and the grace after which
 * the kernel stops session processes while no heartbeat comes (0: never)
 */
int sl_kernel_heartbeat(const struct sl_kernel *k, uint64_t grace_ns);

/* the policy maps (policy_maps.h on this kernel's maps) */
int sl_kernel_policy_write(const struct sl_kernel *k, const struct sl_compiled_policy *c,
			   uint32_t slot, uint32_t generation, char *err, size_t errlen);
int sl_kernel_policy_write_inodes(const struct sl_kernel *k, uint32_t slot,
				  const struct sl_cinode *v, uint32_t n);
int sl_kernel_policy_flip(const struct sl_kernel *k, uint32_t slot, uint32_t generation);

/* programs by the file that runs: slot's entries of sl_prog_ids and sl_prog_sizes removed */
void sl_kernel_programs_clear(const struct sl_kernel *k, uint32_t slot);
int sl_kernel_program_id_set(const struct sl_kernel *k, const struct sl_inode_key *key,
			     const struct sl_prog_kw *kw);
/* kw gets the words of a program of the same size already there, then is stored */
int sl_kernel_program_size_add(const struct sl_kernel *k, const struct sl_size_key *key,
			       struct sl_prog_kw *kw);
/* the file is not a program (not held again under this generation while its change time
 * stays ctime_ns) */
int sl_kernel_program_seen(const struct sl_kernel *k, const struct sl_inode_key *key,
			   uint64_t ctime_ns);

#endif
