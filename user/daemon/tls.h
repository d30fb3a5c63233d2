/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * TLS instrumentation: finds TLS libraries and executables, attaches the
 * uprobes of bpf/tls.bpf.c to them, and detects executables that do TLS
 * through code scopelock cannot instrument (statically linked or stripped):
 * those are reported, never silently skipped.
 */
#ifndef SL_TLS_H
#define SL_TLS_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

struct sl_kernel;
struct sl_tls;

/* report callback: the daemon turns each report into an audit record */
typedef void (*sl_tls_report_fn)(void *ctx, json_t *rec /* borrowed */);

/*
 * Find the system TLS libraries (libssl.so.*, libgnutls.so.*) and known
 * executables embedding OpenSSL (node). Their uprobes are attached per
 * session process, when the kernel's TLS gate holds one that runs or maps
 * such a file, or forks with probes (processes outside sessions never
 * trap); a previous daemon's pinned probes of running processes are adopted.
 * Failures for single targets are logged and listed in status, not fatal.
 */
int sl_tls_init(struct sl_kernel *kernel, sl_tls_report_fn report, void *report_ctx,
		struct sl_tls **out);
/*
 * A session process (pid, its exec exec_id, in session cgroup cgroup_id)
 * exec'd path (the kernel's filename). Inspect the executable (cached by
 * dev/inode/ctime): attach if it exports OpenSSL or GnuTLS entry points not
 * yet instrumented, or embeds TLS whose functions can be located without
 * symbols (BoringSSL, Go); report a "tls_blind_spot" record if it carries a
 * TLS implementation scopelock cannot instrument. If the kernel's TLS gate
 * stopped the process at this exec (bpf/tlsgate.bpf.h), the image it runs is
 * analysed and attached first, then the process is let go (SIGCONT).
 */
void sl_tls_on_exec(struct sl_tls *t, pid_t pid, uint64_t exec_id, uint64_t cgroup_id,
		    const char *path, const char *session);
struct sl_tls_map_event;
/*
 * The TLS gate stopped a session process mapping a file executable that it
 * had not analysed (a library, a dlopen): analyse it, attach if it defines
 * TLS entry points (a private libssl copy), let the process go.
 */
void sl_tls_on_map(struct sl_tls *t, const struct sl_tls_map_event *e, const char *session);
/* a session process exited: the probes attached for it are detached (off the loop) */
void sl_tls_on_exit(struct sl_tls *t, pid_t pid);
/* once a second: let go of a process held without its exec record (lost) */
void sl_tls_tick(struct sl_tls *t);
/* {"targets":[{"path":..,"lib":..,"functions":[..],"status":..}], "blind_spots":[..]} */
json_t *sl_tls_status(struct sl_tls *t);
/* the daemon stops and its enforcement stays (pinned): the gate stays on, held
 * processes wait for the next daemon; call before sl_tls_free */
void sl_tls_keep(struct sl_tls *t);
void sl_tls_free(struct sl_tls *t);

#endif
