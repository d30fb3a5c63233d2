// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Helper of tls_dlopen_hidden_tls_library (not a case): a shared library
 * with OpenSSL linked in statically and every symbol of it hidden (built
 * with -fvisibility=hidden -Wl,--exclude-libs,ALL, then stripped): its one
 * export, hidden_post(), sends one HTTPS request and returns 0 when a
 * response came back. What a native extension bundling its own TLS looks
 * like to scopelock: no SSL_write to probe.
 */
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <stdio.h>
#include <string.h>
#include <netdb.h>
#include <unistd.h>
#include <sys/socket.h>
__attribute__((visibility("default"))) int hidden_post(const char *host, const char *port,
						       const char *ca, const char *req, size_t len)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	struct addrinfo *ai = NULL, hints = {.ai_socktype = SOCK_STREAM};
	char buf[4096];
	int fd, n, rc = 1;
	SSL *s;
	if (!ctx || !SSL_CTX_load_verify_locations(ctx, ca, NULL))
		return 2;
	if (getaddrinfo(host, port, &hints, &ai))
		return 3;
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen)) {
		perror("connect");
		return 4;
	}
	s = SSL_new(ctx);
	SSL_set_fd(s, fd);
	SSL_set_tlsext_host_name(s, host);
	if (SSL_connect(s) != 1)
		return 5;
	if (SSL_write(s, req, (int)len) != (int)len)
		return 6;
	n = SSL_read(s, buf, sizeof(buf) - 1);
	if (n > 0 && !strncmp(buf, "HTTP/1.1 ", 9))
		rc = 0;
	SSL_free(s);
	close(fd);
	SSL_CTX_free(ctx);
	freeaddrinfo(ai);
	return rc;
}
