// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * tcpsink: listen on 127.0.0.1 (a free port), print the port, then accept
 * and close connections until killed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

int main(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int one = 1, lfd;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) || listen(lfd, 4096) ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len)) {
		perror("tcpsink: listen on 127.0.0.1");
		return 1;
	}
	printf("%u\n", ntohs(sin.sin_port));
	fflush(stdout);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd >= 0)
			close(fd);
		else if (errno != EINTR && errno != ECONNABORTED)
			perror("tcpsink: accept");
	}
}
