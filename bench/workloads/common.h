/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Shared by the bench workloads: each times its own loop (wall clock and CPU
 * of itself and its waited-for children) and prints one JSON line on stdout,
 * so the time to set a session up or to start a monitor is never counted.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

struct bench_mark {
	struct timespec wall;
	struct rusage self, children;
};

static inline int64_t bench_ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

static inline int64_t bench_tv_ns(const struct timeval *tv)
{
	return (int64_t)tv->tv_sec * 1000000000LL + (int64_t)tv->tv_usec * 1000LL;
}

static inline int64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return bench_ts_ns(&ts);
}

static inline void bench_mark(struct bench_mark *m)
{
	getrusage(RUSAGE_SELF, &m->self);
	getrusage(RUSAGE_CHILDREN, &m->children);
	clock_gettime(CLOCK_MONOTONIC, &m->wall);
}

/* one JSON object on stdout: {"workload":..., "n":..., "wall_ns":..., ...} */
static inline void bench_report(const char *workload, uint64_t n, const struct bench_mark *a,
				const struct bench_mark *b)
{
	int64_t user = bench_tv_ns(&b->self.ru_utime) - bench_tv_ns(&a->self.ru_utime) +
		       bench_tv_ns(&b->children.ru_utime) - bench_tv_ns(&a->children.ru_utime);
	int64_t sys = bench_tv_ns(&b->self.ru_stime) - bench_tv_ns(&a->self.ru_stime) +
		      bench_tv_ns(&b->children.ru_stime) - bench_tv_ns(&a->children.ru_stime);

	printf("{\"workload\":\"%s\",\"n\":%llu,\"wall_ns\":%lld,\"user_ns\":%lld,"
	       "\"sys_ns\":%lld,\"cpu_ns\":%lld}\n",
	       workload, (unsigned long long)n,
	       (long long)(bench_ts_ns(&b->wall) - bench_ts_ns(&a->wall)), (long long)user,
	       (long long)sys, (long long)(user + sys));
	fflush(stdout);
}

static inline int bench_parse_u64(const char *s, const char *what, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > max) {
		fprintf(stderr, "bench: %s '%s': expected an integer 0..%llu\n", what, s,
			(unsigned long long)max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

#endif
