// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * exec_loop N [WARMUP] [PROGRAM]: fork, execv PROGRAM (default /bin/true,
 * argv = {PROGRAM}), waitpid; WARMUP untimed then N timed times. The child
 * inherits this process's environment. One JSON line on stdout: wall ns per
 * fork+exec+wait (mean and median) and the loop's CPU, children included.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N_MAX 10000000ULL

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t tv_ns(const struct timeval *tv)
{
	return (int64_t)tv->tv_sec * 1000000000LL + (int64_t)tv->tv_usec * 1000LL;
}

/* user+system CPU of this process and its waited-for children */
static int64_t cpu_ns(void)
{
	struct rusage self, kids;

	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	return tv_ns(&self.ru_utime) + tv_ns(&self.ru_stime) + tv_ns(&kids.ru_utime) +
	       tv_ns(&kids.ru_stime);
}

static int parse_u64(const char *s, const char *what, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > N_MAX) {
		fprintf(stderr, "exec_loop: %s '%s': expected an integer 0..%llu\n", what, s,
			N_MAX);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* one fork + execv + waitpid; 0 or -1 */
static int run_once(char *const *cargv)
{
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		perror("exec_loop: fork");
		return -1;
	}
	if (pid == 0) {
		execv(cargv[0], cargv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0) {
		perror("exec_loop: waitpid");
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "exec_loop: '%s' failed (status 0x%x)\n", cargv[0], status);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char *cargv[2] = {"/bin/true", NULL};
	uint64_t n, warmup = 20, i;
	int64_t *lat, t0, t1, c0, c1;
	int ret = 1;

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: exec_loop N [WARMUP] [PROGRAM]\n");
		return 2;
	}
	if (parse_u64(argv[1], "N", &n) || (argc > 2 && parse_u64(argv[2], "warmup", &warmup)) ||
	    !n)
		return 2;
	if (argc > 3)
		cargv[0] = argv[3];
	lat = calloc(n, sizeof(*lat));
	if (!lat) {
		perror("exec_loop");
		return 1;
	}
	for (i = 0; i < warmup; i++)
		if (run_once(cargv))
			goto out;
	c0 = cpu_ns();
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		int64_t a = now_ns();

		if (run_once(cargv))
			goto out;
		lat[i] = now_ns() - a;
	}
	t1 = now_ns();
	c1 = cpu_ns();
	qsort(lat, n, sizeof(*lat), cmp_i64);
	printf("{\"workload\":\"exec\",\"n\":%llu,\"wall_ns\":%lld,\"cpu_ns\":%lld,"
	       "\"mean_ns\":%.1f,\"median_ns\":%lld,\"p10_ns\":%lld,\"p90_ns\":%lld}\n",
	       (unsigned long long)n, (long long)(t1 - t0), (long long)(c1 - c0),
	       (double)(t1 - t0) / (double)n, (long long)lat[n / 2], (long long)lat[n / 10],
	       (long long)lat[n * 9 / 10]);
	fflush(stdout);
	ret = 0;
out:
	free(lat);
	return ret;
}
