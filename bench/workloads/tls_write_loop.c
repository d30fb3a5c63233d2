// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * tls_write_loop PORT PAYLOAD N [WARMUP]: ONE TLS connection (system libssl,
 * no certificate check, SNI "api.bench.invalid") to 127.0.0.1:PORT, then
 * WARMUP untimed and N timed SSL_write calls, each of the whole PAYLOAD file
 * (its size is the write size). The peer reads and discards (tls_sink.c).
 * Every write is timed on its own (CLOCK_MONOTONIC); one JSON line on stdout:
 * mean (the loop's wall time / N), median, p10, p90 ns per write, and the
 * loop's user+system CPU.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define PAYLOAD_MAX (64 * 1024)
#define N_MAX 10000000ULL

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
	       ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

static int parse_u64(const char *s, const char *what, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > max) {
		fprintf(stderr, "tls_write_loop: %s '%s': expected an integer 0..%llu\n", what, s,
			(unsigned long long)max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* the whole file, at most PAYLOAD_MAX bytes; its size or -1 */
static int read_payload(const char *path, char *buf)
{
	struct stat st;
	int fd, ret = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (!fstat(fd, &st) && st.st_size > 0 && st.st_size <= PAYLOAD_MAX &&
	    read(fd, buf, st.st_size) == st.st_size)
		ret = (int)st.st_size;
	close(fd);
	return ret;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	static char payload[PAYLOAD_MAX];
	char sni[64];
	uint64_t port, n, warmup = 200, i;
	int64_t *lat, t0, t1, c0, c1;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	int fd = -1, len, ret = 1;

	signal(SIGPIPE, SIG_IGN); /* a peer that went away is an error return */
	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: tls_write_loop PORT PAYLOAD N [WARMUP]\n");
		return 2;
	}
	if (parse_u64(argv[1], "port", 65535, &port) || parse_u64(argv[3], "N", N_MAX, &n) ||
	    (argc == 5 && parse_u64(argv[4], "warmup", N_MAX, &warmup)) || !n)
		return 2;
	len = read_payload(argv[2], payload);
	if (len < 0) {
		fprintf(stderr, "tls_write_loop: cannot read '%s' (1..%d bytes)\n", argv[2],
			PAYLOAD_MAX);
		return 2;
	}
	lat = calloc(n, sizeof(*lat));
	if (!lat) {
		perror("tls_write_loop");
		return 1;
	}

	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ctx = SSL_CTX_new(TLS_client_method());
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!ctx || fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		perror("tls_write_loop: connect to 127.0.0.1");
		goto out;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	ssl = SSL_new(ctx);
	/*
	 * The server name from written memory, as a client that builds it from a
	 * URL has it: a string literal in a page of .rodata the process never
	 * touched cannot be read by the kernel's SSL_ctrl probe (no page faults
	 * there) and would count as a read fault.
	 */
	snprintf(sni, sizeof(sni), "%s", "api.bench.invalid");
	if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_set_tlsext_host_name(ssl, sni) != 1 ||
	    SSL_connect(ssl) != 1) {
		fprintf(stderr, "tls_write_loop: TLS handshake with 127.0.0.1:%llu failed\n",
			(unsigned long long)port);
		ERR_print_errors_fp(stderr);
		goto out;
	}

	for (i = 0; i < warmup; i++) {
		if (SSL_write(ssl, payload, len) != len) {
			fprintf(stderr, "tls_write_loop: warm-up write %llu failed\n",
				(unsigned long long)i);
			ERR_print_errors_fp(stderr);
			goto out;
		}
	}
	c0 = cpu_ns();
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		int64_t a = now_ns();

		if (SSL_write(ssl, payload, len) != len) {
			fprintf(stderr, "tls_write_loop: write %llu failed\n",
				(unsigned long long)i);
			ERR_print_errors_fp(stderr);
			goto out;
		}
		lat[i] = now_ns() - a;
	}
	t1 = now_ns();
	c1 = cpu_ns();
	qsort(lat, n, sizeof(*lat), cmp_i64);
	printf("{\"workload\":\"tls_write\",\"size\":%d,\"n\":%llu,\"wall_ns\":%lld,"
	       "\"cpu_ns\":%lld,\"mean_ns\":%.1f,\"median_ns\":%lld,\"p10_ns\":%lld,"
	       "\"p90_ns\":%lld}\n",
	       len, (unsigned long long)n, (long long)(t1 - t0), (long long)(c1 - c0),
	       (double)(t1 - t0) / (double)n, (long long)lat[n / 2], (long long)lat[n / 10],
	       (long long)lat[n * 9 / 10]);
	fflush(stdout);
	SSL_shutdown(ssl);
	ret = 0;
out:
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	free(lat);
	return ret;
}
