// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * forkexec NAME N CMD [ARGS...]: fork, execv CMD, wait; N times. The child's
 * stdout goes to /dev/null. CPU time includes the children's.
 */
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

int main(int argc, char **argv)
{
	struct bench_mark a, b;
	uint64_t n, i;
	int devnull;

	if (argc < 4) {
		fprintf(stderr, "usage: forkexec NAME N CMD [ARGS...]\n");
		return 2;
	}
	if (bench_parse_u64(argv[2], "N", 100000000, &n))
		return 2;
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (devnull < 0) {
		perror("forkexec: /dev/null");
		return 1;
	}

	bench_mark(&a);
	for (i = 0; i < n; i++) {
		int status;
		pid_t pid = fork();

		if (pid < 0) {
			perror("forkexec: fork");
			return 1;
		}
		if (pid == 0) {
			dup2(devnull, 1);
			execv(argv[3], argv + 3);
			_exit(127);
		}
		if (waitpid(pid, &status, 0) < 0) {
			perror("forkexec: waitpid");
			return 1;
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "forkexec: '%s' failed (status 0x%x) at iteration %llu\n",
				argv[3], status, (unsigned long long)i);
			return 1;
		}
	}
	bench_mark(&b);
	bench_report(argv[1], n, &a, &b);
	return 0;
}
