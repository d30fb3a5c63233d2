# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""blind_tls: proxy helpers (tests/e2e/test_tls_proxy.py, tests/adversarial/tls_proxy_*):
a blind client that honours HTTPS_PROXY and the incident policy with a
blind_tls value for staging."""

import os
import subprocess

from enforce import policy_text, write_policy
from harness import Skip, check, need_binary

# CLIENT URL BODYFILE [CAFILE]: POST BODYFILE to URL (https://localhost:PORT/PATH) with
# $API_TOKEN; through the proxy of $HTTPS_PROXY (http://127.0.0.1:PORT, CONNECT) when set;
# trusts CAFILE, else OpenSSL's default paths ($SSL_CERT_FILE). Exit 0: a response; 2: a
# connect failed; 3: other; 4: the TLS handshake failed; 5: the proxy refused the CONNECT.
CLIENT_C = r'''
#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int tcp(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (fd < 0 || connect(fd, (void *)&a, sizeof(a))) {
		perror("connect");
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	static char body[65536], req[70000], buf[4096];
	const char *tok = getenv("API_TOKEN"), *px = getenv("HTTPS_PROXY");
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int port, pport, fd, n, bl, got = 0;
	FILE *f;
	SSL *s;

	if (argc < 3 || !tok || sscanf(argv[1], "https://localhost:%d/", &port) != 1 || !ctx)
		return 3;
	f = fopen(argv[2], "r");
	if (!f)
		return 3;
	bl = fread(body, 1, sizeof(body) - 1, f);
	fclose(f);
	if (argc > 3 ? !SSL_CTX_load_verify_locations(ctx, argv[3], NULL)
		     : !SSL_CTX_set_default_verify_paths(ctx))
		return 3;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (px && px[0]) {
		if (sscanf(px, "http://127.0.0.1:%d", &pport) != 1)
			return 3;
		fd = tcp(pport);
		if (fd < 0)
			return 2;
		n = snprintf(req, sizeof(req), "CONNECT localhost:%d HTTP/1.1\r\n"
			     "Host: localhost:%d\r\n\r\n", port, port);
		if (write(fd, req, n) != n)
			return 3;
		while (got < (int)sizeof(buf) - 1 && read(fd, buf + got, 1) == 1) {
			got++;
			buf[got] = 0;
			if (got >= 4 && !memcmp(buf + got - 4, "\r\n\r\n", 4))
				break;
		}
		if (strncmp(buf, "HTTP/1.1 200", 12)) {
			fprintf(stderr, "proxy: %s\n", buf);
			return 5;
		}
	} else {
		fd = tcp(port);
		if (fd < 0)
			return 2;
	}
	s = SSL_new(ctx);
	SSL_set_fd(s, fd);
	SSL_set_tlsext_host_name(s, "localhost");
	SSL_set1_host(s, "localhost");
	if (SSL_connect(s) != 1) {
		fprintf(stderr, "handshake failed: verify %ld\n", SSL_get_verify_result(s));
		return 4;
	}
	n = snprintf(req, sizeof(req), "POST %s HTTP/1.1\r\nHost: localhost:%d\r\n"
		     "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
		     "Content-Length: %d\r\nConnection: close\r\n\r\n%.*s",
		     strchr(argv[1] + 8, '/'), port, tok, bl, bl, body);
	if (SSL_write(s, req, n) != n)
		return 3;
	while ((n = SSL_read(s, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, n, stdout);
	return 0;
}
'''


def blind_client(t):
    """The stand-in for a blind agent: OpenSSL linked statically, stripped."""
    need_binary("/usr/bin/cc")
    if not os.path.exists("/usr/lib/x86_64-linux-gnu/libssl.a"):
        raise Skip("libssl-dev (libssl.a) is not installed")
    src = t.write("proxyclient.c", CLIENT_C)
    exe = t.tmp / "blind-proxy-client"
    p = subprocess.run(["/usr/bin/cc", "-O1", "-o", str(exe), str(src), "-static", "-s",
                        "-lssl", "-lcrypto", "-lpthread"], capture_output=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    check(p.returncode == 0 and exe.exists(),
          f"cc failed: {p.stderr.decode(errors='replace')[-2000:]}")
    return exe


def proxy_policy(t, w, value="proxy", action="kill"):
    """The incident policy (graphql-destroy on tls, `action`) with staging `blind_tls: VALUE`."""
    rule = {"name": "graphql-destroy", "channel": "tls", "pattern": "graphql_destroy",
            "target": "outside_scope", "action": action}
    envs = w.envs()
    envs["staging"]["blind_tls"] = value
    return write_policy(t, policy_text(envs, ["graphql_destroy"], [rule],
                                       settings={"syslog": False}))


