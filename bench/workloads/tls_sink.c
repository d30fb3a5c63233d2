// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * tls_sink CERT KEY: a TLS server on 127.0.0.1 (a free port, printed on
 * stdout) that reads and discards everything a client sends, one connection
 * at a time, until the client closes. The peer of tls_write_loop.c.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define BUF_SIZE (64 * 1024)

int main(int argc, char **argv)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct timeval tmo = {.tv_sec = 60};
	static char buf[BUF_SIZE];
	socklen_t len = sizeof(sin);
	int one = 1, lfd;
	SSL_CTX *ctx;

	signal(SIGPIPE, SIG_IGN); /* a peer that went away is an error return */
	if (argc != 3) {
		fprintf(stderr, "usage: tls_sink CERT KEY\n");
		return 2;
	}
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, argv[1]) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, argv[2], SSL_FILETYPE_PEM) != 1) {
		fprintf(stderr, "tls_sink: cannot load '%s' / '%s'\n", argv[1], argv[2]);
		ERR_print_errors_fp(stderr);
		return 1;
	}
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) || listen(lfd, 16) ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len)) {
		perror("tls_sink: listen on 127.0.0.1");
		return 1;
	}
	printf("%u\n", ntohs(sin.sin_port));
	fflush(stdout);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		SSL *ssl;

		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
		ssl = SSL_new(ctx);
		if (ssl && SSL_set_fd(ssl, fd) == 1 && SSL_accept(ssl) == 1) {
			while (SSL_read(ssl, buf, sizeof(buf)) > 0)
				;
			SSL_shutdown(ssl);
		}
		SSL_free(ssl);
		ERR_clear_error();
		close(fd);
	}
}
