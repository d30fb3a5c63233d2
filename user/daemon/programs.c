// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Programs by the file that runs: programs.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "kernel.h"
#include "log.h"
#include "policy_programs.h"
#include "programs.h"

/* program files of one policy generation, with their content hashes once computed */
struct prog_table {
	struct sl_cprogram *v;
	uint32_t n;
	uint32_t slot;
	char (*sha)[65]; /* "" until computed */
};

struct sl_programs {
	struct sl_kernel *kernel;
	struct prog_table *cur; /* the program files in force */
};

/* SHA-256 of what fd reads, as hex; 0 or -errno */
static int sha256_fd(int fd, char out[65])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char buf[1 << 16], md[32];
	unsigned int mdlen = 0;
	int err = 0;
	ssize_t n;

	if (!ctx)
		return -ENOMEM;
	if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		err = -EIO;
		goto out;
	}
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out;
		}
		if (!EVP_DigestUpdate(ctx, buf, (size_t)n)) {
			err = -EIO;
			goto out;
		}
	}
	if (!EVP_DigestFinal_ex(ctx, md, &mdlen))
		err = -EIO;
	for (unsigned int i = 0; !err && i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
out:
	EVP_MD_CTX_free(ctx);
	return err;
}

static int sha256_path(const char *path, char out[65])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return -errno;
	err = sha256_fd(fd, out);
	close(fd);
	return err;
}

static void table_free(struct prog_table *t)
{
	if (!t)
		return;
	sl_cprograms_free(t->v, t->n);
	free(t->sha);
	free(t);
}

int sl_programs_new(struct sl_kernel *k, struct sl_programs **out)
{
	struct sl_programs *pp = calloc(1, sizeof(*pp));

	if (!pp)
		return -ENOMEM;
	pp->kernel = k;
	*out = pp;
	return 0;
}

void sl_programs_free(struct sl_programs *pp)
{
	if (!pp)
		return;
	table_free(pp->cur);
	free(pp);
}

int sl_programs_apply(struct sl_programs *pp, const struct sl_policy *p, uint32_t slot,
		      uint32_t *count)
{
	struct prog_table *pr = calloc(1, sizeof(*pr));
	int err;

	if (!pr)
		return -ENOMEM;
	err = sl_policy_resolve_programs(p, &pr->v, &pr->n);
	if (err) {
		free(pr);
		return err;
	}
	if (pr->n > SL_PROGRAMS_MAX) {
		log_warn("policy '%s': %u program files, %u are known by identity", p->source,
			 pr->n, SL_PROGRAMS_MAX);
		pr->n = SL_PROGRAMS_MAX;
	}
	pr->sha = calloc(pr->n ? pr->n : 1, sizeof(*pr->sha));
	if (!pr->sha) {
		sl_cprograms_free(pr->v, pr->n);
		free(pr);
		return -ENOMEM;
	}
	pr->slot = slot;
	sl_kernel_programs_clear(pp->kernel, slot);
	for (uint32_t i = 0; i < pr->n; i++) {
		struct sl_inode_key k = {.ino = pr->v[i].ino, .dev = pr->v[i].dev, .slot = slot};
		struct sl_size_key sk = {.size = pr->v[i].size, .slot = slot};
		struct sl_prog_kw kw = {0};

		memcpy(kw.kw, pr->v[i].kw, sizeof(kw.kw));
		err = sl_kernel_program_id_set(pp->kernel, &k, &kw);
		if (err)
			break;
		/* programs of the same size: either may be the copy */
		err = sl_kernel_program_size_add(pp->kernel, &sk, &kw);
		if (err)
			break;
		log_debug("program '%s' is %s (inode %llu, %llu bytes)", pr->v[i].name,
			  pr->v[i].path, (unsigned long long)pr->v[i].ino,
			  (unsigned long long)pr->v[i].size);
	}
	if (err) {
		sl_cprograms_free(pr->v, pr->n);
		free(pr->sha);
		free(pr);
		return err;
	}
	/* the previous generation's table (its slot is not in force any more
	 * once the caller flips; an identify verdict in flight uses this one) */
	table_free(pp->cur);
	pp->cur = pr;
	*count = pr->n;
	return 0;
}

int sl_programs_identify(struct sl_programs *pp, const struct sl_verdict_event *v,
			 struct sl_identity *id)
{
	struct prog_table *pr = pp->cur;
	char path[64], sha[65] = "";
	uint64_t ctime_ns = 0;
	struct stat st;
	int fd, err = 0, found = 0;

	memset(id, 0, sizeof(*id));
	if (v->file_fd < 0)
		snprintf(path, sizeof(path), "/proc/%u/exe", v->hdr.pid);
	else
		snprintf(path, sizeof(path), "/proc/%u/fd/%d", v->hdr.pid, v->file_fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		snprintf(id->error, sizeof(id->error), "open %s: %s", path, strerror(errno));
		return err;
	}
	if (fstat(fd, &st)) {
		err = -errno;
		snprintf(id->error, sizeof(id->error), "fstat %s: %s", path, strerror(errno));
		goto out;
	}
	/* the held process cannot run: the file is the one the kernel saw */
	if ((uint64_t)st.st_ino != v->file_ino ||
	    SL_KDEV(major(st.st_dev), minor(st.st_dev)) != v->file_dev) {
		err = -ESTALE;
		snprintf(id->error, sizeof(id->error), "%s is not the file the kernel held", path);
		goto out;
	}
	err = sha256_fd(fd, sha);
	if (err) {
		snprintf(id->error, sizeof(id->error), "read %s: %s", path, strerror(-err));
		goto out;
	}
	snprintf(id->sha256, sizeof(id->sha256), "%s", sha);
	/* the change time as the kernel reads it (i_ctime_sec, i_ctime_nsec) */
	ctime_ns = (uint64_t)st.st_ctim.tv_sec * 1000000000ULL + (uint64_t)st.st_ctim.tv_nsec;
	for (uint32_t i = 0; pr && i < pr->n && !found; i++) {
		struct sl_cprogram *c = &pr->v[i];

		if (c->size != (uint64_t)st.st_size)
			continue;
		if (!pr->sha[i][0] && sha256_path(c->path, pr->sha[i])) {
			pr->sha[i][0] = '\0';
			continue;
		}
		if (strcmp(pr->sha[i], sha))
			continue;
		found = 1;
		snprintf(id->program, sizeof(id->program), "%s", c->name);
		snprintf(id->path, sizeof(id->path), "%s", c->path);
		/* learnt: later runs of this file are that program at once */
		{
			struct sl_inode_key k = {
			    .ino = v->file_ino, .dev = v->file_dev, .slot = pr->slot};
			struct sl_prog_kw kw = {0};

			memcpy(kw.kw, c->kw, sizeof(kw.kw));
			/* valid while the copy is not changed */
			kw.ctime_ns = ctime_ns;
			int r = sl_kernel_program_id_set(pp->kernel, &k, &kw);

			if (r)
				log_warn("program '%s': remember inode %llu: %s", c->name,
					 (unsigned long long)v->file_ino, strerror(-r));
		}
	}
	if (!found) {
		struct sl_inode_key k = {
		    .ino = v->file_ino, .dev = v->file_dev, .slot = v->generation};

		/* not held again while it is not changed */
		sl_kernel_program_seen(pp->kernel, &k, ctime_ns);
	}
	err = found;
out:
	close(fd);
	return err;
}
