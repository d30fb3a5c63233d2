// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * openloop N PATH              open(PATH, O_RDONLY) + close, N times
 * openloop -r RATE N PATH      the same, paced at RATE opens per second
 *
 * Prints one JSON line (common.h); with -r also the rate achieved.
 */
#include <fcntl.h>
#include <unistd.h>

#include "common.h"

int main(int argc, char **argv)
{
	uint64_t n, rate = 0, i;
	struct bench_mark a, b;
	int64_t start, next;
	struct timespec ts;
	int argi = 1;

	if (argc == 5 && !strcmp(argv[1], "-r")) {
		if (bench_parse_u64(argv[2], "rate", 100000000, &rate) || !rate)
			return 2;
		argi = 3;
	} else if (argc != 3) {
		fprintf(stderr, "usage: openloop [-r RATE] N PATH\n");
		return 2;
	}
	if (bench_parse_u64(argv[argi], "N", UINT64_MAX / 2, &n))
		return 2;

	bench_mark(&a);
	start = bench_now_ns();
	for (i = 0; i < n; i++) {
		int fd;

		if (rate && (i & 15) == 0) {
			next = start + (int64_t)(i * 1000000000ULL / rate);
			if (bench_now_ns() < next) {
				ts.tv_sec = next / 1000000000LL;
				ts.tv_nsec = next % 1000000000LL;
				while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
				       EINTR)
					;
			}
		}
		fd = open(argv[argi + 1], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "openloop: open '%s': %s\n", argv[argi + 1],
				strerror(errno));
			return 1;
		}
		close(fd);
	}
	bench_mark(&b);
	bench_report("open", n, &a, &b);
	return 0;
}
