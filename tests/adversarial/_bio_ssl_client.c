// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * An OpenSSL client for the adversarial cases that writes through the BIO
 * layer, never calling SSL_write or SSL_write_ex itself: one HTTPS POST of
 * the body in BODYFILE with "Authorization: Bearer $API_TOKEN" to URL
 * (https://localhost:PORT/PATH), sent with BIO_write on a BIO_f_ssl chain
 * (BIO_new_ssl_connect):
 *
 *   _bio_ssl_client URL BODYFILE CAFILE
 *
 * Prints the response; exit 0 when the server answered, 2 on a network or
 * TLS error.
 */
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int die(const char *what)
{
	fprintf(stderr, "%s failed\n", what);
	ERR_print_errors_fp(stderr);
	return 2;
}

int main(int argc, char **argv)
{
	char req[65536], body[32768], buf[4096], port[8], path[256], host[64];
	const char *token = getenv("API_TOKEN");
	SSL_CTX *ctx;
	SSL *ssl = NULL;
	BIO *b;
	size_t blen;
	FILE *bf;
	int len, n;

	if (argc != 4 || !token ||
	    sscanf(argv[1], "https://localhost:%7[0-9]%255s", port, path) != 2) {
		fprintf(stderr,
			"usage: API_TOKEN=... %s https://localhost:PORT/PATH BODYFILE CAFILE\n",
			argv[0]);
		return 64;
	}
	bf = fopen(argv[2], "rb");
	if (!bf)
		return die("body file");
	blen = fread(body, 1, sizeof(body) - 1, bf);
	fclose(bf);
	body[blen] = '\0';
	len = snprintf(req, sizeof(req),
		       "POST %s HTTP/1.1\r\nHost: localhost:%s\r\nAuthorization: Bearer %s\r\n"
		       "Content-Type: application/json\r\nContent-Length: %zu\r\n"
		       "Connection: close\r\n\r\n%s",
		       path, port, token, blen, body);
	if (len < 0 || (size_t)len >= sizeof(req))
		return die("request too long");
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx || SSL_CTX_load_verify_locations(ctx, argv[3], NULL) != 1)
		return die("trust file");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	b = BIO_new_ssl_connect(ctx);
	snprintf(host, sizeof(host), "127.0.0.1:%s", port);
	if (!b || BIO_set_conn_hostname(b, host) != 1 || BIO_get_ssl(b, &ssl) != 1 || !ssl)
		return die("BIO_new_ssl_connect");
	SSL_set_tlsext_host_name(ssl, "localhost");
	SSL_set1_host(ssl, "localhost");
	if (BIO_do_connect(b) != 1 || BIO_do_handshake(b) != 1)
		return die("connect");
	for (int off = 0; off < len; off += n) {
		n = BIO_write(b, req + off, len - off);
		if (n <= 0)
			return die("BIO_write");
	}
	(void)BIO_flush(b);
	while ((n = BIO_read(b, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	BIO_free_all(b);
	SSL_CTX_free(ctx);
	return 0;
}
