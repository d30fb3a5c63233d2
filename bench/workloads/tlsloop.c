// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * tlsloop N PORT [BODY_BYTES]: one TLS connection to 127.0.0.1:PORT (libssl,
 * no certificate check), then N HTTP/1.1 POST requests on it, each sent with
 * one SSL_write and its response read with SSL_read. Only the request loop
 * is timed (not the handshake).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common.h"

#define MAX_BODY (32 * 1024)

/* read one response (headers + Content-Length body); 0 or -1 */
static int read_response(SSL *ssl)
{
	static char buf[16 * 1024];
	size_t have = 0, need = 0;

	for (;;) {
		char *hdr_end;
		int r;

		if (!need && (hdr_end = memmem(buf, have, "\r\n\r\n", 4))) {
			char *cl = strcasestr(buf, "\r\nContent-Length:");

			need = hdr_end - buf + 4 +
			       (cl && cl < hdr_end ? strtoul(cl + 17, NULL, 10) : 0);
			if (need > sizeof(buf))
				return -1;
		}
		if (need && have >= need)
			return have == need ? 0 : -1; /* no pipelining: nothing may follow */
		r = SSL_read(ssl, buf + have, sizeof(buf) - 1 - have);
		if (r <= 0)
			return -1;
		have += r;
		buf[have] = 0;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	static char req[MAX_BODY + 512];
	uint64_t n, port, body = 512, i;
	struct bench_mark a, b;
	SSL_CTX *ctx;
	SSL *ssl;
	int fd, len, hl;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: tlsloop N PORT [BODY_BYTES]\n");
		return 2;
	}
	if (bench_parse_u64(argv[1], "N", 100000000, &n) ||
	    bench_parse_u64(argv[2], "port", 65535, &port) ||
	    (argc == 4 && bench_parse_u64(argv[3], "body bytes", MAX_BODY, &body)))
		return 2;
	hl = snprintf(req, sizeof(req),
		      "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:%llu\r\n"
		      "Content-Type: application/json\r\nContent-Length: %llu\r\n\r\n",
		      (unsigned long long)port, (unsigned long long)body);
	memset(req + hl, 'x', body);
	if (body >= 2)
		req[hl] = '{', req[hl + body - 1] = '}';
	len = hl + (int)body;

	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ctx = SSL_CTX_new(TLS_client_method());
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!ctx || fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		perror("tlsloop: connect");
		return 1;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	ssl = SSL_new(ctx);
	if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_set_tlsext_host_name(ssl, "bench.local") != 1 ||
	    SSL_connect(ssl) != 1) {
		fprintf(stderr, "tlsloop: TLS handshake with 127.0.0.1:%llu failed\n",
			(unsigned long long)port);
		ERR_print_errors_fp(stderr);
		return 1;
	}

	bench_mark(&a);
	for (i = 0; i < n; i++) {
		if (SSL_write(ssl, req, len) != len || read_response(ssl)) {
			fprintf(stderr, "tlsloop: request %llu failed\n", (unsigned long long)i);
			ERR_print_errors_fp(stderr);
			return 1;
		}
	}
	bench_mark(&b);
	SSL_shutdown(ssl);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	bench_report("https", n, &a, &b);
	return 0;
}
