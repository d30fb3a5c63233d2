/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Ingest: the kernel's two ring buffers into the journal. The verdict ring
 * (kill and hold verdicts, with their capture records) is drained first and
 * looked at again every few hundred records of the bulk ring, so that a
 * verdict under a flood is acted on within a few hundred records. Each
 * record is checked (header size, op), decoded (ingest_*.c), labelled
 * (environments), written, kept as evidence for a verdict that follows; an
 * exec is shown to the TLS room. Kernel-side losses become "loss" records.
 */
#ifndef SL_INGEST_H
#define SL_INGEST_H

#include <stdbool.h>
#include <stdint.h>

struct sl_ingest;
struct sl_kernel;
struct sl_sessions;
struct sl_policy_store;
struct sl_journal;
struct sl_verdicts;
struct sl_tls;
struct sl_creds;

/*
 * Open both rings of k and add them to epfd (data tag_events, tag_verdicts).
 * On failure *out may hold what was done: sl_ingest_close() it.
 */
int sl_ingest_open(struct sl_kernel *k, struct sl_sessions *ss, struct sl_policy_store *ps,
		   struct sl_journal *j, struct sl_verdicts *vr, int epfd, uint64_t tag_events,
		   uint64_t tag_verdicts, struct sl_ingest **out);
/* the TLS room sees every exec of a session (once it exists) */
void sl_ingest_set_tls(struct sl_ingest *in, struct sl_tls *t);
/* the credentials room sees every open of a session (once it exists) */
void sl_ingest_set_creds(struct sl_ingest *in, struct sl_creds *c);
void sl_ingest_close(struct sl_ingest *in);

/*
 * Consume everything waiting: the verdict ring, then the bulk ring (unless
 * paused), then the alerts of the verdicts taken before it. NULL-safe.
 */
void sl_ingest_drain(struct sl_ingest *in);
/* a "loss" record for every (cause, op) counter that moved; NULL-safe */
int sl_ingest_loss_poll(struct sl_ingest *in);
/* the kernel's counters as they are now count as reported (adopted pinned counters:
 * what a previous daemon saw and what happened while none ran is in unclean_shutdown) */
void sl_ingest_loss_baseline(struct sl_ingest *in);
/* stop (sessions frozen for the audit log) or restart reading the bulk ring */
void sl_ingest_pause(struct sl_ingest *in, bool pause);
bool sl_ingest_paused(const struct sl_ingest *in);
/* the daemon is stopping: the bulk ring is read whole even while paused */
void sl_ingest_stopping(struct sl_ingest *in);
uint64_t sl_ingest_decode_errors(const struct sl_ingest *in);
/* thread CPU time spent draining the rings, ns (the journal's records and writes included) */
uint64_t sl_ingest_cpu_ns(const struct sl_ingest *in);

/* "type" of an op in the audit log ("exec", ...), NULL for an unknown op */
const char *sl_op_type(unsigned int op);
/* name of a loss cause ("ringbuf_full", ...) */
const char *sl_loss_cause_name(unsigned int cause);

#endif
