// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * openloop [-r RATE] [-t MS] N PATH
 *
 * open(PATH, O_RDONLY) + close, N times; with -r paced at RATE opens per
 * second; with -t it stops after MS milliseconds even if N was not reached.
 * Prints one JSON line (common.h) with the number of opens done.
 */
#include <fcntl.h>
#include <unistd.h>

#include "common.h"

int main(int argc, char **argv)
{
	uint64_t n, rate = 0, ms = 0, i;
	struct bench_mark a, b;
	int64_t start, deadline;
	struct timespec ts;
	int c;

	while ((c = getopt(argc, argv, "r:t:")) != -1) {
		switch (c) {
		case 'r':
			if (bench_parse_u64(optarg, "rate", 100000000, &rate) || !rate)
				return 2;
			break;
		case 't':
			if (bench_parse_u64(optarg, "milliseconds", 86400000, &ms) || !ms)
				return 2;
			break;
		default:
			fprintf(stderr, "usage: openloop [-r RATE] [-t MS] N PATH\n");
			return 2;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: openloop [-r RATE] [-t MS] N PATH\n");
		return 2;
	}
	if (bench_parse_u64(argv[optind], "N", UINT64_MAX / 2, &n))
		return 2;

	bench_mark(&a);
	start = bench_now_ns();
	deadline = ms ? start + (int64_t)ms * 1000000 : INT64_MAX;
	for (i = 0; i < n; i++) {
		int fd;

		if ((rate || ms) && (i & 15) == 0) {
			int64_t now = bench_now_ns(), next;

			if (now >= deadline)
				break;
			next = rate ? start + (int64_t)(i * 1000000000ULL / rate) : 0;
			if (now < next) {
				ts.tv_sec = next / 1000000000LL;
				ts.tv_nsec = next % 1000000000LL;
				while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
				       EINTR)
					;
			}
		}
		fd = open(argv[optind + 1], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "openloop: open '%s': %s\n", argv[optind + 1],
				strerror(errno));
			return 1;
		}
		close(fd);
	}
	bench_mark(&b);
	bench_report("open", i, &a, &b);
	return 0;
}
