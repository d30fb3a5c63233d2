// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * tlsserver CERT KEY: an HTTP/1.1 keep-alive server over TLS on 127.0.0.1 (a
 * free port, printed on stdout). One connection at a time; every request
 * (headers + Content-Length body) gets a short 200 response.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common.h"

#define BUF_SIZE (64 * 1024)

#define RESPONSE_BODY "{\"ok\":true,\"n\":1}"

static const char response[] = "HTTP/1.1 200 OK\r\n"
			       "Content-Type: application/json\r\n"
			       "Content-Length: 17\r\n"
			       "\r\n" RESPONSE_BODY;
_Static_assert(sizeof(RESPONSE_BODY) - 1 == 17, "Content-Length must match the body");

/* Content-Length of the request whose headers are buf[0..hdr_len) */
static size_t content_length(const char *buf, size_t hdr_len)
{
	const char *p = buf, *end = buf + hdr_len;

	while (p < end) {
		const char *eol = memmem(p, end - p, "\r\n", 2);

		if (!eol)
			break;
		if (eol - p > 15 && !strncasecmp(p, "Content-Length:", 15))
			return strtoul(p + 15, NULL, 10);
		p = eol + 2;
	}
	return 0;
}

static void serve(SSL *ssl)
{
	static char buf[BUF_SIZE];
	size_t have = 0;

	for (;;) {
		char *hdr_end = memmem(buf, have, "\r\n\r\n", 4);
		size_t hdr_len, need;
		int r;

		if (hdr_end) {
			hdr_len = hdr_end - buf + 4;
			need = hdr_len + content_length(buf, hdr_len);
			if (need > BUF_SIZE)
				return;
			if (have >= need) {
				if (SSL_write(ssl, response, sizeof(response) - 1) <= 0)
					return;
				memmove(buf, buf + need, have - need);
				have -= need;
				continue;
			}
		}
		if (have == BUF_SIZE)
			return;
		r = SSL_read(ssl, buf + have, BUF_SIZE - have);
		if (r <= 0)
			return;
		have += r;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct timeval tmo = {.tv_sec = 60};
	socklen_t len = sizeof(sin);
	int one = 1, lfd;
	SSL_CTX *ctx;

	if (argc != 3) {
		fprintf(stderr, "usage: tlsserver CERT KEY\n");
		return 2;
	}
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, argv[1]) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, argv[2], SSL_FILETYPE_PEM) != 1) {
		fprintf(stderr, "tlsserver: cannot load '%s' / '%s'\n", argv[1], argv[2]);
		ERR_print_errors_fp(stderr);
		return 1;
	}
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) || listen(lfd, 128) ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len)) {
		perror("tlsserver: listen on 127.0.0.1");
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
			serve(ssl);
			SSL_shutdown(ssl);
		}
		SSL_free(ssl);
		close(fd);
	}
}
