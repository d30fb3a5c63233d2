// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The audit log's compression worker (audit_writer_priv.h): one thread compresses
 * closed segments with zstd (level ZST_LEVEL, ZST_LEVEL_BUSY for a segment
 * that filled up in under BUSY_SEGMENT_MS): write a .zst.tmp, fsync, read
 * it back and compare, rename to .jsonl.zst, unlink the plain file. Segments
 * of older versions (.jsonl.gz) are read as they are. The thread runs at
 * nice COMPRESS_NICE: under a flood the writer and the sessions come first,
 * and closed segments wait (plain, complete) until there is CPU for them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <zstd.h>

#include "audit.h"
#include "audit_priv.h"
#include "audit_writer_priv.h"
#include "log.h"
#include "util.h"

/* ---- compression worker ---- */

/* zstd at level, one frame with its checksum */
static int copy_compress(int in, int out, int level)
{
	size_t olen = ZSTD_CStreamOutSize();
	char *ibuf = malloc(IO_CHUNK), *obuf = malloc(olen);
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	int err = 0;

	if (!ibuf || !obuf || !cc ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1))) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = read(in, ibuf, IO_CHUNK);
		ZSTD_EndDirective mode;
		ZSTD_inBuffer ib;
		bool done = false;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		mode = n == 0 ? ZSTD_e_end : ZSTD_e_continue;
		ib = (ZSTD_inBuffer){ibuf, (size_t)n, 0};
		while (!done) {
			ZSTD_outBuffer ob = {obuf, olen, 0};
			size_t left = ZSTD_compressStream2(cc, &ob, &ib, mode);

			if (ZSTD_isError(left)) {
				err = -EIO;
				goto out;
			}
			err = sl_write_all(out, obuf, ob.pos);
			if (err)
				goto out;
			done = mode == ZSTD_e_end ? left == 0 : ib.pos == ib.size;
		}
		if (n == 0)
			break;
	}
out:
	ZSTD_freeCCtx(cc);
	free(ibuf);
	free(obuf);
	return err;
}

/* read the compressed file back (sl_lines' decoders) and compare it with the plain file */
static int compare_compressed(int dirfd, const char *plain, const char *zname)
{
	_cleanup_close_ int in = -1;
	struct sl_lines *r = NULL;
	char buf[IO_CHUNK];
	size_t have = 0, used = 0;
	int err;

	in = openat(dirfd, plain, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	err = sl_lines_openat(dirfd, zname, &r);
	if (err)
		return err;
	for (;;) {
		char *line;
		size_t len;
		bool nl;
		int ret = sl_lines_next(r, &line, &len, &nl);

		if (ret < 0) {
			err = ret;
			break;
		}
		if (ret == 0) {
			err = sl_lines_status(r, NULL);
			/* the plain file must end here too */
			if (!err && (used < have || read(in, buf, 1) != 0))
				err = -EIO;
			break;
		}
		if (!sl_lines_compressed(r)) {
			err = -EIO;
			break;
		}
		/* compare line (+ '\n') with the next bytes of the plain file */
		for (size_t off = 0; off < len + nl;) {
			size_t k;

			if (used == have) {
				ssize_t n = read(in, buf, sizeof(buf));

				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0) {
					err = -EIO;
					goto out;
				}
				have = (size_t)n;
				used = 0;
			}
			k = have - used;
			if (k > len + nl - off)
				k = len + nl - off;
			if (off < len) {
				size_t m = k > len - off ? len - off : k;

				if (memcmp(buf + used, line + off, m) ||
				    (m < k && buf[used + m] != '\n')) {
					err = -EIO;
					goto out;
				}
			} else if (buf[used] != '\n') {
				err = -EIO;
				goto out;
			}
			used += k;
			off += k;
		}
	}
out:
	sl_lines_close(r);
	return err;
}

/*
 * Read a .zst just written back through the decoder: one frame whose
 * checksum (XXH64 of the compressor's input, checked by the decoder) holds
 * and whose content is exactly size bytes long. The checksum covers what
 * the compressor read from the plain file, so this proves the file decodes
 * to it without reading the plain file a second time.
 */
static int check_zstd(int dirfd, const char *zname, uint64_t size)
{
	_cleanup_close_ int fd = openat(dirfd, zname, O_RDONLY | O_CLOEXEC);
	size_t ilen = ZSTD_DStreamInSize(), olen = ZSTD_DStreamOutSize();
	char *ibuf = malloc(ilen), *obuf = malloc(olen);
	ZSTD_DCtx *dc = ZSTD_createDCtx();
	uint64_t total = 0;
	size_t last = 1;
	int err = 0;

	if (fd < 0) {
		err = -errno;
		goto out;
	}
	if (!ibuf || !obuf || !dc) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, ibuf, ilen);
		ZSTD_inBuffer ib;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out;
		}
		if (n == 0)
			break;
		/* one frame: nothing may follow its end */
		if (last == 0) {
			err = -EIO;
			goto out;
		}
		ib = (ZSTD_inBuffer){ibuf, (size_t)n, 0};
		/* until the input is used up and no output is left to flush */
		for (bool full = true; ib.pos < ib.size || full;) {
			ZSTD_outBuffer ob = {obuf, olen, 0};

			last = ZSTD_decompressStream(dc, &ob, &ib);
			if (ZSTD_isError(last)) {
				err = -EIO;
				goto out;
			}
			total += ob.pos;
			full = ob.pos == ob.size;
			if (last == 0 && ib.pos < ib.size) {
				err = -EIO;
				goto out;
			}
		}
	}
	/* the frame ended (its checksum checked) and held the whole segment */
	if (last != 0 || total != size)
		err = -EIO;
out:
	ZSTD_freeDCtx(dc);
	free(ibuf);
	free(obuf);
	return err;
}

/*
 * Compress one closed segment. Nothing is lost whatever fails: the plain
 * file is removed only once the .zst is complete, read back equal, renamed in
 * and the directory synced; a failure leaves the plain file (and no .tmp).
 * A .gz of an older version that got as far as its rename is kept.
 */
static int compress_segment(const struct sl_audit_io *io, int dirfd, const char *name, int level)
{
	char zname[NAME_MAX + 8], tmp[NAME_MAX + 8], gzname[NAME_MAX + 8];
	_cleanup_close_ int in = -1, out = -1;
	struct stat st;
	int err;

	if ((size_t)snprintf(zname, sizeof(zname), "%s" ZST_SUFFIX, name) >= sizeof(zname) ||
	    (size_t)snprintf(gzname, sizeof(gzname), "%s" GZ_SUFFIX, name) >= sizeof(gzname) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s" ZST_SUFFIX TMP_SUFFIX, name) >= sizeof(tmp))
		return -ENAMETOOLONG;
	in = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		/* a retry after the unlink: done */
		if (errno == ENOENT &&
		    (!fstatat(dirfd, zname, &st, 0) || !fstatat(dirfd, gzname, &st, 0)))
			return 0;
		return -errno;
	}
	if (!fstatat(dirfd, gzname, &st, 0) && !compare_compressed(dirfd, name, gzname))
		goto unlink_plain;
	out = io->openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0)
		return -errno;
	if (fstat(in, &st))
		return -errno;
	err = copy_compress(in, out, level);
	if (!err && io->fsync(out))
		err = -errno;
	if (!err)
		err = check_zstd(dirfd, tmp, (uint64_t)st.st_size);
	if (!err && io->renameat2(dirfd, tmp, dirfd, zname, RENAME_NOREPLACE)) {
		err = -errno;
		/* an earlier run got as far as the rename: keep its .zst if it is this segment */
		if (err == -EEXIST && !compare_compressed(dirfd, name, zname))
			err = 0;
		unlinkat(dirfd, tmp, 0);
		if (err)
			return err;
	} else if (err) {
		unlinkat(dirfd, tmp, 0);
		return err;
	}
unlink_plain:
	if (io->fsync(dirfd) || unlinkat(dirfd, name, 0) || io->fsync(dirfd))
		return -errno;
	return 0;
}

static void *worker_main(void *arg)
{
	struct sl_audit *a = arg;

	/* this thread only (Linux: a thread id is a process id for setpriority) */
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), COMPRESS_NICE))
		log_debug("audit: compression thread: setpriority: %s", strerror(errno));
	pthread_mutex_lock(&a->lock);
	for (;;) {
		struct compress_job *job = a->jobs;
		struct sl_audit_io io;
		int err;

		if (!job) {
			if (a->stopping)
				break;
			pthread_cond_wait(&a->cond, &a->lock);
			continue;
		}
		a->jobs = job->next;
		if (!a->jobs)
			a->jobs_tail = &a->jobs;
		io = a->io;
		pthread_mutex_unlock(&a->lock);

		err = compress_segment(&io, a->dirfd, job->name, job->level);
		if (err)
			log_debug("audit: compressing '%s': %s", job->name, strerror(-err));

		pthread_mutex_lock(&a->lock);
		if (err && !a->worker_err)
			a->worker_err = err;
		if (err) {
			/* the plain segment stays; sl_audit_tick() tries again */
			job->next = a->failed_jobs;
			a->failed_jobs = job;
		} else {
			free(job);
		}
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/* hand the failed compressions back to the worker (not while writing fails) */
void sl_aw_compress_retry_now(struct sl_audit *a)
{
	pthread_mutex_lock(&a->lock);
	a->next_compress_retry_ms = sl_aw_mono_ms() + COMPRESS_RETRY_MS;
	while (a->failed_jobs) {
		struct compress_job *job = a->failed_jobs;

		a->failed_jobs = job->next;
		job->next = NULL;
		*a->jobs_tail = job;
		a->jobs_tail = &job->next;
		pthread_cond_signal(&a->cond);
	}
	pthread_mutex_unlock(&a->lock);
}

int sl_aw_queue_compress(struct sl_audit *a, const char *name, bool busy)
{
	size_t n = strlen(name) + 1;
	struct compress_job *job = malloc(sizeof(*job) + n);
	sigset_t all, old;
	int err = 0;

	if (!job)
		return -ENOMEM;
	job->next = NULL;
	job->level = busy ? ZST_LEVEL_BUSY : ZST_LEVEL;
	memcpy(job->name, name, n);
	pthread_mutex_lock(&a->lock);
	if (!a->worker_running) {
		/* signals belong to the caller's thread */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		err = -pthread_create(&a->worker, NULL, worker_main, a);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		a->worker_running = !err;
	}
	if (!err) {
		*a->jobs_tail = job;
		a->jobs_tail = &job->next;
		pthread_cond_signal(&a->cond);
	}
	pthread_mutex_unlock(&a->lock);
	if (err)
		free(job);
	return err;
}
