// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A GnuTLS client for the adversarial cases: one HTTPS POST of the body in
 * BODYFILE with "Authorization: Bearer $API_TOKEN" to URL
 * (https://localhost:PORT/PATH), written through one GnuTLS write entry
 * point:
 *
 *   _gnutls_client send|send2|range|file URL BODYFILE CAFILE
 *
 * send: gnutls_record_send; send2: gnutls_record_send2; range:
 * gnutls_record_send_range (a plain range: no length hiding); file:
 * gnutls_record_send_file (the request from a temporary file). Prints the
 * response; exit 0 when the server answered, 2 on a network or TLS error.
 */
#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int die(const char *what, int err)
{
	fprintf(stderr, "%s: %s\n", what, err ? gnutls_strerror(err) : "failed");
	return 2;
}

int main(int argc, char **argv)
{
	gnutls_certificate_credentials_t cred;
	gnutls_session_t s;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	char req[65536], body[32768], buf[4096], port[8], path[256];
	const char *token = getenv("API_TOKEN");
	size_t blen;
	FILE *bf;
	ssize_t n;
	int fd, err, len;

	if (argc != 5 || !token ||
	    sscanf(argv[2], "https://localhost:%7[0-9]%255s", port, path) != 2) {
		fprintf(stderr,
			"usage: API_TOKEN=... %s send|send2|range|file "
			"https://localhost:PORT/PATH BODYFILE CAFILE\n",
			argv[0]);
		return 64;
	}
	bf = fopen(argv[3], "rb");
	if (!bf)
		return die("body file", 0);
	blen = fread(body, 1, sizeof(body) - 1, bf);
	fclose(bf);
	body[blen] = '\0';
	len = snprintf(req, sizeof(req),
		       "POST %s HTTP/1.1\r\nHost: localhost:%s\r\nAuthorization: Bearer %s\r\n"
		       "Content-Type: application/json\r\nContent-Length: %zu\r\n"
		       "Connection: close\r\n\r\n%s",
		       path, port, token, blen, body);
	if (len < 0 || (size_t)len >= sizeof(req))
		return die("request too long", 0);
	sa.sin_port = htons((unsigned short)atoi(port));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("connect");
		return 2;
	}
	gnutls_global_init();
	gnutls_certificate_allocate_credentials(&cred);
	if ((err = gnutls_certificate_set_x509_trust_file(cred, argv[4], GNUTLS_X509_FMT_PEM)) < 0)
		return die("trust file", err);
	gnutls_init(&s, GNUTLS_CLIENT);
	gnutls_server_name_set(s, GNUTLS_NAME_DNS, "localhost", 9);
	gnutls_set_default_priority(s);
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
	gnutls_session_set_verify_cert(s, "localhost", 0);
	gnutls_transport_set_int(s, fd);
	do
		err = gnutls_handshake(s);
	while (err < 0 && !gnutls_error_is_fatal(err));
	if (err < 0)
		return die("handshake", err);
	if (!strcmp(argv[1], "send")) {
		n = gnutls_record_send(s, req, (size_t)len);
	} else if (!strcmp(argv[1], "send2")) {
		n = gnutls_record_send2(s, req, (size_t)len, 0, 0);
	} else if (!strcmp(argv[1], "range")) {
		gnutls_range_st r = {.low = (size_t)len, .high = (size_t)len};

		n = gnutls_record_send_range(s, req, (size_t)len, &r);
	} else if (!strcmp(argv[1], "file")) {
		char tmp[] = "/tmp/gnutls-req-XXXXXX";
		int rf = mkstemp(tmp);

		if (rf < 0 || write(rf, req, (size_t)len) != len)
			return die("request file", 0);
		unlink(tmp);
		if (lseek(rf, 0, SEEK_SET) != 0)
			return die("request file", 0);
		n = gnutls_record_send_file(s, rf, NULL, (size_t)len);
		if (n >= 0 && n != len) {
			fprintf(stderr, "gnutls_record_send_file sent %zd of %d bytes\n", n, len);
			return 2;
		}
		close(rf);
	} else {
		return die("unknown mode", 0);
	}
	if (n < 0)
		return die("send", (int)n);
	while ((n = gnutls_record_recv(s, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	gnutls_bye(s, GNUTLS_SHUT_RDWR);
	close(fd);
	gnutls_deinit(s);
	gnutls_certificate_free_credentials(cred);
	return 0;
}
