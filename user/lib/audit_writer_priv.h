/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The audit log writer's state and the functions its files share: audit.c
 * (chain, record format, write queue, segments, the API), audit_gzip.c (the
 * compression worker) and audit_resume.c (opening an existing log). Not part
 * of the library's API.
 */
#ifndef SL_AUDIT_WRITER_PRIV_H
#define SL_AUDIT_WRITER_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <jansson.h>

#include "audit.h"
#include "audit_priv.h"

#define GZ_SUFFIX ".gz"
#define ZST_SUFFIX ".zst"
/* rotation compresses with zstd at this level (docs/operations.md says why) */
#define ZST_LEVEL 1
/* ...and at this faster one a segment that filled up in under BUSY_SEGMENT_MS */
#define ZST_LEVEL_BUSY (-1)
#define BUSY_SEGMENT_MS (60U * 1000)
/* the compression thread's nice value: the writer and the sessions come first */
#define COMPRESS_NICE 10
#define TMP_SUFFIX ".tmp"
#define IO_CHUNK (64U * 1024)
#define DEFAULT_INTERVAL_MS 200

struct compress_job {
	struct compress_job *next;
	int level; /* zstd level */
	char name[];
};

/*
 * The write queue. Every record is chained (seq, hash) when it is appended
 * and queued as its finished line; segment changes are queued between the
 * lines, so a rotation that cannot be done now happens in its place later.
 * While the log can be written the queue is emptied at once; while it cannot,
 * the queue is the buffer.
 */
enum item_kind {
	ITEM_LINE = 0,	/* write line[0, len) to the current segment */
	ITEM_CLOSE = 1, /* fsync, close and rename the current segment (first seq: seq) */
	ITEM_OPEN = 2,	/* create the new, empty audit.jsonl */
};

struct item {
	struct item *next;
	enum item_kind kind;
	/* ITEM_LINE: the last seq in it; ITEM_CLOSE: the segment's first seq */
	uint64_t seq;
	/*
	 * ITEM_LINE is a batch: whole lines, written with one write(2) (and cut
	 * off again as a whole when the write fails). nrec: records in it;
	 * ncaller, caller_bytes: those of callers (the log's own records are not
	 * counted against the limit).
	 */
	uint64_t nrec, ncaller, caller_bytes;
	size_t len, cap;
	char *line;
};

/* a batch is written once it holds this much (or by sl_audit_commit) */
#define BATCH_MAX (1U << 20)

/* records dropped and not yet stated by a gap record: the loss window */
struct drops {
	uint64_t records, bytes;
	json_t *types;	  /* {"open": 12, ...} */
	json_t *sessions; /* {"<session>": {"open": 12, ...}} */
	char first_time[48], last_time[48];
	const char *reason; /* of the first drop: "buffer_full", "out_of_memory" */
	int error;	    /* -errno of the write failure then, 0 if none */
	uint64_t after_seq; /* the last seq chained before the first drop */
};

/* distinct keys kept per counting object; the rest count as "other" */
#define DROP_KEYS_MAX 64
#define RETRY_MIN_MS 50
#define RETRY_MAX_MS 1000
#define COMPRESS_RETRY_MS 10000

struct sl_audit {
	char *dir;
	char *path; /* dir/audit.jsonl */
	int dirfd;
	uint64_t rotate_bytes;
	enum sl_fsync_mode fsync_mode;
	unsigned int interval_ms;
	uint64_t last_sync_ms;
	bool dirty; /* written since the last fdatasync */
	struct sl_audit_io io;

	/* the chain: every record built, written or waiting */
	uint64_t seq;			 /* last seq chained, 0 for none */
	uint8_t hash[SL_AUDIT_HASH_LEN]; /* its raw hash, zeros for none */
	uint64_t seg_first;		 /* first seq of the current segment */
	uint64_t seg_bytes;		 /* its size, written and waiting */
	bool need_close;		 /* resumed on a segment that ends with segment_end */
	json_t *begin_info;		 /* non-NULL: the next segment must be begun with this */

	/* the file */
	int fd;		      /* current segment, -1 between segments */
	uint64_t size;	      /* bytes in it */
	uint64_t opened_ms;   /* when it was created (sl_aw_mono_ms), 0: resumed */
	bool tail_bad;	      /* a failed write could not be cut off yet */
	bool close_renamed;   /* ITEM_CLOSE half done: renamed, directory not synced */
	uint64_t written_seq; /* last seq in the file */

	/* the queue: the buffer while writing fails */
	struct item *head, **tail, *last;
	struct item *spare; /* a written batch kept for its buffer (batch mode) */
	bool batch;	    /* opts.batch: lines wait for sl_audit_commit() */
	void *md;	    /* EVP_MD_CTX of the fast path, reused */
	char *copy;	    /* !batch: the line handed out by the fast path */
	size_t copy_cap;
	uint64_t writes;	     /* batches written (write loops) */
	uint64_t q_records, q_bytes; /* every line waiting */
	uint64_t q_caller_bytes;     /* lines of caller records: bounded by limit */
	uint64_t limit;

	/* a failure period: from the first failed write until all is written */
	bool failing;
	int fail_err, last_err;
	const char *fail_op, *last_op, *op; /* op: of the latest disk call that failed */
	struct timespec fail_since;
	uint64_t fail_since_ms;
	uint64_t retries, failures, next_retry_ms, backoff_ms;
	uint64_t period_records;   /* caller records that waited in this period */
	uint64_t period_max_bytes; /* most bytes waiting at once */
	uint64_t period_dropped, period_gaps;

	struct drops drop;
	uint64_t dropped_total;
	json_t *dropped_types; /* since open, by type */

	/* compression worker */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t worker;
	bool worker_running, stopping;
	struct compress_job *jobs, **jobs_tail;
	struct compress_job *failed_jobs; /* retried from sl_audit_tick() */
	uint64_t next_compress_retry_ms;
	int worker_err; /* first failure since the last tick */
};

/* the real system calls (sl_audit_set_io replaces them in unit tests) */
extern const struct sl_audit_io sl_aw_real_io;

bool sl_aw_has_suffix(const char *s, const char *suffix);
bool sl_aw_is_closed_plain_name(const char *name);
uint64_t sl_aw_mono_ms(void);
void sl_aw_seg_name(char *buf, size_t len, uint64_t first_seq, const char *tag);
int sl_aw_sync_dir(const struct sl_audit *a);
int sl_aw_run_queue(struct sl_audit *a);
int sl_aw_set_begin_info(struct sl_audit *a, json_t *info);
int sl_aw_prepare(struct sl_audit *a);
void sl_aw_compress_retry_now(struct sl_audit *a);
/* busy: the segment filled up fast (a faster level) */
int sl_aw_queue_compress(struct sl_audit *a, const char *name, bool busy);

#endif
