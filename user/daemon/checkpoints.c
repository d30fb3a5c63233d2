// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The checkpoints room (checkpoints.h). A seal is published only after the
 * evolved key is on disk: a key is never used for two checkpoints, even
 * across a crash. When the key cannot be saved, sealing stops (said in the
 * log and in `scopelock status`); the audit log goes on.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "checkpoint.h"
#include "checkpoints.h"
#include "journal.h"
#include "log.h"

struct sl_checkpoints {
	struct sl_journal *journal;
	void (*on_seal)(void *ctx, const char *line, size_t len);
	void *on_seal_ctx;
	char *key_path, *file;
	unsigned int interval_s;
	bool enabled;
	const char *off_reason; /* why not enabled (static text) */
	int fd;			/* the checkpoints file */
	int lock_fd;		/* KEY.lock, flock'ed while this daemon seals with the key */
	struct sl_ckpt_key key;
	char host[SL_CKPT_HOST_MAX + 1];
	uint64_t next_ms; /* CLOCK_MONOTONIC */
	/* what status says */
	uint64_t sealed, errors, deferred;
	uint64_t last_seq;
	char last_time[SL_CKPT_TIME_MAX];
	int last_err;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * One daemon at a time seals with a key file: two (another --state-dir, the
 * same default key) would each seal with the epoch's key, and a key would
 * be used for two checkpoints. The lock is KEY.lock (the key file itself is
 * replaced at every seal), held until close.
 */
static int lock_key(struct sl_checkpoints *c, const char *key_path, char *why, size_t why_len)
{
	char path[4200];

	if (snprintf(path, sizeof(path), "%s.lock", key_path) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	c->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (c->lock_fd < 0)
		return -errno;
	if (flock(c->lock_fd, LOCK_EX | LOCK_NB)) {
		int err = -errno;

		if (err == -EWOULDBLOCK)
			snprintf(
			    why, why_len,
			    "in use by another scopelockd (lock '%.200s'): two daemons sealing "
			    "with one key would use a key twice; give each its own "
			    "(scopelock checkpoint-setup --key)",
			    path);
		return err == -EWOULDBLOCK ? -EBUSY : err;
	}
	return 0;
}

int sl_checkpoints_open(const struct sl_checkpoints_opts *o, struct sl_journal *j,
			struct sl_checkpoints **out)
{
	struct sl_checkpoints *c = calloc(1, sizeof(*c));
	char why[512] = "";
	int err;

	if (!c)
		return -ENOMEM;
	c->fd = -1;
	c->lock_fd = -1;
	c->journal = j;
	c->on_seal = o->on_seal;
	c->on_seal_ctx = o->on_seal_ctx;
	c->interval_s = o->interval_s;
	c->key_path = strdup(o->key_path);
	c->file = strdup(o->file);
	if (!c->key_path || !c->file) {
		err = -ENOMEM;
		goto fail;
	}
	err = sl_ckpt_key_load(o->key_path, &c->key, why, sizeof(why));
	if (err == -ENOENT && !o->key_required) {
		c->off_reason = "no key file (create one with 'scopelock checkpoint-setup')";
		log_warn(
		    "checkpoints: off: no key file '%s': the audit chain is not sealed (create "
		    "the key with 'scopelock checkpoint-setup', keep its verification key off "
		    "this host)",
		    o->key_path);
		*out = c;
		return 0;
	}
	if (!err)
		err = lock_key(c, o->key_path, why, sizeof(why));
	/* read again under the lock: the last holder may have evolved it since */
	if (!err)
		err = sl_ckpt_key_load(o->key_path, &c->key, why, sizeof(why));
	if (err) {
		log_err("checkpoints: key file '%s': %s", o->key_path,
			why[0] ? why : strerror(-err));
		goto fail;
	}
	c->fd = open(o->file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (c->fd < 0) {
		err = -errno;
		log_err("checkpoints: open '%s': %s", o->file, strerror(-err));
		goto fail;
	}
	if (gethostname(c->host, sizeof(c->host) - 1) || strchr(c->host, '|'))
		snprintf(c->host, sizeof(c->host), "unknown");
	c->enabled = true;
	log_info("checkpoints: sealing the audit chain every %u s with '%s' (epoch %llu) into '%s' "
		 "and syslog",
		 c->interval_s, o->key_path, (unsigned long long)c->key.epoch, o->file);
	*out = c;
	return 0;
fail:
	OPENSSL_cleanse(&c->key, sizeof(c->key));
	if (c->fd >= 0)
		close(c->fd);
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	free(c->key_path);
	free(c->file);
	free(c);
	return err;
}

static void stop_sealing(struct sl_checkpoints *c, const char *reason, int err)
{
	c->enabled = false;
	c->off_reason = reason;
	c->last_err = err;
	c->errors++;
	OPENSSL_cleanse(&c->key, sizeof(c->key));
	log_err("checkpoints: %s (%s): the audit chain is no longer sealed", reason,
		strerror(-err));
	syslog(LOG_AUTHPRIV | LOG_ERR, "scopelock-checkpoint: sealing stopped: %s (%s)", reason,
	       strerror(-err));
}

int sl_checkpoints_now(struct sl_checkpoints *c)
{
	uint8_t hash[SL_CKPT_HASH_LEN];
	char tbuf[SL_CKPT_TIME_MAX];
	struct sl_ckpt ck;
	struct timespec now;
	struct stat st;
	struct tm tm;
	ssize_t wn;
	uint64_t seq;
	char *line = NULL;
	size_t len;
	int err;

	if (!c || !c->enabled)
		return -ENOTCONN;
	err = sl_journal_head(c->journal, &seq, hash);
	if (err) {
		if (err == -EAGAIN)
			c->deferred++;
		return err;
	}
	if (c->sealed && seq == c->last_seq)
		return 0; /* nothing new since the last seal */
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	err = sl_ckpt_seal(&c->key, seq, hash, tbuf, c->host, &ck);
	if (err) {
		stop_sealing(c, "sealing failed", err);
		return err;
	}
	/* the evolved key first: the sealing key of ck is gone from the disk */
	err = sl_ckpt_key_save(c->key_path, &c->key);
	if (err) {
		stop_sealing(c, "the evolved key could not be saved", err);
		return err;
	}
	line = sl_ckpt_format(&ck);
	if (!line) {
		c->errors++;
		c->last_err = -ENOMEM;
		return -ENOMEM;
	}
	len = strlen(line);
	line[len] = '\n';
	if (fstat(c->fd, &st))
		st.st_size = -1;
	errno = 0;
	wn = write(c->fd, line, len + 1);
	if (wn != (ssize_t)(len + 1) || fdatasync(c->fd)) {
		err = errno ? -errno : -ENOSPC;
		/* a line cut short (a full disk) would merge with the next seal's:
		 * the file ends where it did, the seal is in syslog */
		if (wn >= 0 && wn != (ssize_t)(len + 1) && st.st_size >= 0 &&
		    ftruncate(c->fd, st.st_size))
			log_err("checkpoints: truncate '%s' back to %lld bytes: %s", c->file,
				(long long)st.st_size, strerror(errno));
		c->errors++;
		c->last_err = err;
		log_err("checkpoints: write '%s': %s (the seal of epoch %llu is in syslog only)",
			c->file, strerror(-err), (unsigned long long)ck.epoch);
	}
	line[len] = '\0';
	syslog(LOG_AUTHPRIV | LOG_NOTICE, "scopelock-checkpoint %s", line);
	/* off the host: the outputs (a webhook is the remote collector) */
	if (c->on_seal)
		c->on_seal(c->on_seal_ctx, line, len);
	free(line);
	c->sealed++;
	c->last_seq = seq;
	snprintf(c->last_time, sizeof(c->last_time), "%s", tbuf);
	return err;
}

void sl_checkpoints_tick(struct sl_checkpoints *c)
{
	uint64_t now;

	if (!c || !c->enabled || !c->interval_s)
		return;
	now = mono_ms();
	if (now < c->next_ms)
		return;
	/* records waiting (-EAGAIN): tried again at the next tick */
	if (sl_checkpoints_now(c) != -EAGAIN)
		c->next_ms = now + (uint64_t)c->interval_s * 1000;
}

json_t *sl_checkpoints_status_json(const struct sl_checkpoints *c)
{
	json_t *o;

	if (!c)
		return json_pack("{s:b, s:s}", "enabled", 0, "reason", "not configured");
	o = json_pack("{s:b, s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "enabled", c->enabled, "key",
		      c->key_path, "file", c->file, "interval_s", (json_int_t)c->interval_s,
		      "sealed", (json_int_t)c->sealed, "errors", (json_int_t)c->errors, "deferred",
		      (json_int_t)c->deferred, "last_seq", (json_int_t)c->last_seq);
	if (!o)
		return NULL;
	if (c->enabled)
		json_object_set_new(o, "epoch", json_integer((json_int_t)c->key.epoch));
	if (c->last_time[0])
		json_object_set_new(o, "last_time", json_string(c->last_time));
	if (c->off_reason)
		json_object_set_new(o, "reason", json_string(c->off_reason));
	if (c->last_err)
		json_object_set_new(o, "last_error", json_string(strerror(-c->last_err)));
	return o;
}

void sl_checkpoints_close(struct sl_checkpoints *c)
{
	if (!c)
		return;
	if (c->enabled && sl_checkpoints_now(c) == -EAGAIN)
		log_warn("checkpoints: no last seal: records still wait to be written");
	OPENSSL_cleanse(&c->key, sizeof(c->key));
	if (c->fd >= 0)
		close(c->fd);
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	free(c->key_path);
	free(c->file);
	free(c);
}
