/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The checkpoints room: seals the audit chain's head (user/lib/checkpoint.h)
 * with the key file's forward-secure key, at start, every interval and at
 * close, and sends each seal to the checkpoints file and syslog (a collector
 * off the host keeps the copies an attacker on the host cannot reach). A
 * seal carries no record content: it does not go through the journal.
 */
#ifndef SL_CHECKPOINTS_H
#define SL_CHECKPOINTS_H

#include <stdbool.h>
#include <jansson.h>

struct sl_checkpoints;
struct sl_journal;

struct sl_checkpoints_opts {
	const char *key_path;	 /* the key file (scopelock checkpoint-setup) */
	bool key_required;	 /* false: no key file means checkpoints off (said loudly) */
	const char *file;	 /* the checkpoints file (appended) */
	unsigned int interval_s; /* 0: only at start and close */
	/* each seal's line (no newline), once written: main.c hands it to the outputs */
	void (*on_seal)(void *ctx, const char *line, size_t len);
	void *on_seal_ctx;
};

/* load the key (a missing one when !key_required: off); 0 or -errno, said in the log */
int sl_checkpoints_open(const struct sl_checkpoints_opts *o, struct sl_journal *j,
			struct sl_checkpoints **out);
/* the timer: seal when the interval has passed */
void sl_checkpoints_tick(struct sl_checkpoints *c);
/* seal the head now; 0, -EAGAIN (records wait to be written) or -errno */
int sl_checkpoints_now(struct sl_checkpoints *c);
/* {"enabled", "key", "file", "interval_s", "epoch", "last_seq", "last_time", "errors", ...} */
json_t *sl_checkpoints_status_json(const struct sl_checkpoints *c);
/* a last seal, then free; NULL-safe */
void sl_checkpoints_close(struct sl_checkpoints *c);

#endif
