// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * connloop N PORT: TCP connect to 127.0.0.1:PORT and close, N times. The
 * close resets (SO_LINGER 0) so no TIME_WAIT state exhausts the ports.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

int main(int argc, char **argv)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct bench_mark a, b;
	uint64_t n, port, i;

	if (argc != 3) {
		fprintf(stderr, "usage: connloop N PORT\n");
		return 2;
	}
	if (bench_parse_u64(argv[1], "N", 100000000, &n) ||
	    bench_parse_u64(argv[2], "port", 65535, &port))
		return 2;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	bench_mark(&a);
	for (i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0) {
			perror("connloop: socket");
			return 1;
		}
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
			fprintf(stderr, "connloop: connect 127.0.0.1:%llu: %s (iteration %llu)\n",
				(unsigned long long)port, strerror(errno), (unsigned long long)i);
			return 1;
		}
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
	}
	bench_mark(&b);
	bench_report("connect", n, &a, &b);
	return 0;
}
