/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The outputs room: alert-class records sent where the team is, as the
 * policy's `outputs:` section says (docs/policy.md, "Outputs"): JSON lines
 * on a long-running program's stdin, an HTTP(S) webhook, RFC 5424 syslog
 * with structured data, journald entries with SCOPELOCK_* fields.
 *
 * The journal hands over each alert's line once it is in the chain (the
 * journal's `alert` hook, registered by main.c): the line exactly as in the
 * log, redacted, with its seq and hash. Each output has a bounded queue and
 * its own thread; handing a line over never blocks (a full queue drops it,
 * counted). Drops are recorded (`output_dropped`) from the timer.
 */
#ifndef SL_OUTPUTS_H
#define SL_OUTPUTS_H

#include <stddef.h>

struct sl_outputs;
struct sl_journal;
struct sl_policy_outputs;

/* no output yet (sl_outputs_configure starts them); records through j */
int sl_outputs_new(struct sl_journal *j, struct sl_outputs **out);
/*
 * Follow the policy's outputs: an output whose settings changed is
 * restarted (its queue carried over), one no longer configured is stopped
 * (what it had queued is recorded as dropped). 0 or -errno.
 */
int sl_outputs_configure(struct sl_outputs *o, const struct sl_policy_outputs *cfg);
/* an alert-class line of the log (len bytes, '\n' included or not): queued, never blocks */
void sl_outputs_alert(struct sl_outputs *o, const char *line, size_t len);
/* the timer: output_dropped records for the drops since the last tick */
void sl_outputs_tick(struct sl_outputs *o);
/*
 * Shutdown: let the outputs deliver what is queued for up to timeout_ms,
 * then stop them; what is left is recorded (output_dropped). NULL-safe.
 */
void sl_outputs_stop(struct sl_outputs *o, unsigned int timeout_ms);
void sl_outputs_free(struct sl_outputs *o);

#endif
