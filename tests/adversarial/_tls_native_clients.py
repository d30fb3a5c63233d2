# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Helper of the adversarial TLS cases (not a case: the runner skips files
starting with '_'): native clients built fresh by the case (a new file, so a
new inode the daemon has never analysed) that POST a body to the GraphQL
server at once after exec, with the token of $API_TOKEN:

  go_client(t, stripped)   Go net/http, crypto/tls (static; -s -w: no symbols)
  c_client(t, strip)       C, OpenSSL linked statically (-s: no symbols)
  c_client_dynamic_blind(t) C, dynamically linked (glibc), OpenSSL linked into it
                           statically, stripped: a dynamic program whose TLS
                           scopelock cannot read

Both:  CLIENT URL BODYFILE CAFILE   (exit 0 on a response, 2 if the connect
fails, 3 on any other error)."""

import os
import shutil
import subprocess

from harness import Skip, check, need_binary

GO_SRC = r'''
package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"strings"
	"syscall"
)

func main() {
	body, err := os.ReadFile(os.Args[2])
	ca, err2 := os.ReadFile(os.Args[3])
	if err != nil || err2 != nil {
		os.Exit(3)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	req, _ := http.NewRequest("POST", os.Args[1], strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+os.Getenv("API_TOKEN"))
	req.Header.Set("Content-Type", "application/json")
	r, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		if errors.Is(err, syscall.EPERM) {
			os.Exit(2)
		}
		os.Exit(3)
	}
	r.Body.Close()
}
'''

C_SRC = r'''
#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static char body[65536], req[70000], buf[4096];
	const char *tok = getenv("API_TOKEN");
	struct sockaddr_in a = { .sin_family = AF_INET };
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int port, fd, n, bl;
	FILE *f;
	SSL *s;

	if (argc < 4 || !tok || sscanf(argv[1], "https://localhost:%d/", &port) != 1 || !ctx)
		return 3;
	f = fopen(argv[2], "r");
	if (!f)
		return 3;
	bl = fread(body, 1, sizeof(body) - 1, f);
	fclose(f);
	if (!SSL_CTX_load_verify_locations(ctx, argv[3], NULL))
		return 3;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	a.sin_port = htons(port);
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(fd, (void *)&a, sizeof(a)))
		return 2;
	s = SSL_new(ctx);
	SSL_set_fd(s, fd);
	SSL_set_tlsext_host_name(s, "localhost");
	SSL_set1_host(s, "localhost");
	if (SSL_connect(s) != 1)
		return 3;
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


def go_client(t, stripped=True):
    go = shutil.which("go") or "/usr/bin/go"
    if not os.path.exists(go):
        raise Skip("no Go toolchain (apt-get install golang-go)")
    src = t.write("goclient/main.go", GO_SRC)
    exe = t.tmp / "go-client"
    env = dict(os.environ, CGO_ENABLED="0", GO111MODULE="off", HOME=str(t.tmp),
               GOCACHE=str(t.tmp / "gocache"), GOPATH=str(t.tmp / "gopath"))
    flags = ["-ldflags=-s -w"] if stripped else []
    p = subprocess.run([go, "build", *flags, "-o", str(exe), str(src)], capture_output=True,
                       timeout=300, env=env, stdin=subprocess.DEVNULL)
    check(p.returncode == 0, f"go build failed: {p.stderr.decode(errors='replace')[-2000:]}")
    os.chmod(exe, 0o755)
    return exe


def c_client(t, strip=False):
    need_binary("/usr/bin/cc")
    if not os.path.exists("/usr/include/openssl/ssl.h"):
        raise Skip("libssl-dev is not installed")
    src = t.write("cclient.c", C_SRC)
    exe = t.tmp / ("c-client-stripped" if strip else "c-client-static")
    args = ["-static"] + (["-s"] if strip else []) + ["-lssl", "-lcrypto", "-lpthread"]
    p = subprocess.run(["/usr/bin/cc", "-O1", "-o", str(exe), str(src), *args],
                       capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
    check(p.returncode == 0 and exe.exists(),
          f"cc failed: {p.stderr.decode(errors='replace')[-2000:]}")
    os.chmod(exe, 0o755)
    return exe


def c_client_dynamic_blind(t):
    need_binary("/usr/bin/cc")
    if not os.path.exists("/usr/include/openssl/ssl.h"):
        raise Skip("libssl-dev is not installed")
    src = t.write("cclient.c", C_SRC)
    exe = t.tmp / "c-client-dyn-blind"
    args = ["-s", "-Wl,-Bstatic", "-lssl", "-lcrypto", "-Wl,-Bdynamic", "-lpthread", "-ldl"]
    p = subprocess.run(["/usr/bin/cc", "-O1", "-o", str(exe), str(src), *args],
                       capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
    check(p.returncode == 0 and exe.exists(),
          f"cc failed: {p.stderr.decode(errors='replace')[-2000:]}")
    os.chmod(exe, 0o755)
    return exe
