// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The audit log's compression worker (audit_writer_priv.h): one thread compresses
 * closed segments: write a .gz.tmp, fsync, read it back and compare, rename
 * to .jsonl.gz, unlink the plain file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "audit.h"
#include "audit_priv.h"
#include "audit_writer_priv.h"
#include "log.h"
#include "util.h"

/* ---- compression worker ---- */

static int copy_compress(int in, int out)
{
	char buf[IO_CHUNK];
	gzFile gz;
	int dupfd, err = 0;

	dupfd = dup(out);
	if (dupfd < 0)
		return -errno;
	gz = gzdopen(dupfd, "wb6");
	if (!gz) {
		close(dupfd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		if (gzwrite(gz, buf, (unsigned int)n) != (int)n) {
			err = -EIO;
			break;
		}
	}
	if (gzclose_w(gz) != Z_OK && !err)
		err = -EIO;
	return err;
}

/* read the .gz back and compare it with the plain file */
static int compare_compressed(int dirfd, const char *plain, const char *gzname)
{
	char a[IO_CHUNK], b[IO_CHUNK];
	_cleanup_close_ int in = -1;
	gzFile gz = NULL;
	int fd, err = 0;

	in = openat(dirfd, plain, O_RDONLY | O_CLOEXEC);
	fd = openat(dirfd, gzname, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fd < 0) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		return err;
	}
	gz = gzdopen(fd, "rb");
	if (!gz) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n = read(in, a, sizeof(a));
		int m;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		m = gzread(gz, b, n ? (unsigned int)n : 1);
		if (m < 0 || m != n || memcmp(a, b, (size_t)n)) {
			err = -EIO;
			break;
		}
		if (n == 0)
			break;
	}
	gzclose_r(gz);
	return err;
}

/*
 * Compress one closed segment. Nothing is lost whatever fails: the plain
 * file is removed only once the .gz is complete, read back equal, renamed in
 * and the directory synced; a failure leaves the plain file (and no .tmp).
 */
static int compress_segment(const struct sl_audit_io *io, int dirfd, const char *name)
{
	char gzname[NAME_MAX + 8], tmp[NAME_MAX + 8];
	_cleanup_close_ int in = -1, out = -1;
	struct stat st;
	int err;

	if ((size_t)snprintf(gzname, sizeof(gzname), "%s" GZ_SUFFIX, name) >= sizeof(gzname) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s" GZ_SUFFIX TMP_SUFFIX, name) >= sizeof(tmp))
		return -ENAMETOOLONG;
	in = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		/* a retry after the unlink: done */
		if (errno == ENOENT && !fstatat(dirfd, gzname, &st, 0))
			return 0;
		return -errno;
	}
	out = io->openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0)
		return -errno;
	err = copy_compress(in, out);
	if (!err && io->fsync(out))
		err = -errno;
	if (!err)
		err = compare_compressed(dirfd, name, tmp);
	if (!err && io->renameat2(dirfd, tmp, dirfd, gzname, RENAME_NOREPLACE)) {
		err = -errno;
		/* an earlier run got as far as the rename: keep its .gz if it is this segment */
		if (err == -EEXIST && !compare_compressed(dirfd, name, gzname))
			err = 0;
		unlinkat(dirfd, tmp, 0);
		if (err)
			return err;
	} else if (err) {
		unlinkat(dirfd, tmp, 0);
		return err;
	}
	if (io->fsync(dirfd) || unlinkat(dirfd, name, 0) || io->fsync(dirfd))
		return -errno;
	return 0;
}

static void *worker_main(void *arg)
{
	struct sl_audit *a = arg;

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

		err = compress_segment(&io, a->dirfd, job->name);
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

int sl_aw_queue_compress(struct sl_audit *a, const char *name)
{
	size_t n = strlen(name) + 1;
	struct compress_job *job = malloc(sizeof(*job) + n);
	sigset_t all, old;
	int err = 0;

	if (!job)
		return -ENOMEM;
	job->next = NULL;
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
