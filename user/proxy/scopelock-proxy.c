// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * scopelock-proxy: the inspecting TLS proxy of a session whose scope says
 * blind_tls: proxy (docs/policy.md). `scopelock run` starts it inside the
 * session (its cgroup, its user) before the command, on a listening socket
 * on 127.0.0.1 whose port it registered with scopelockd. A process whose TLS
 * scopelock cannot read (a tls_blind_spot: rustls on ring, ...) may connect
 * there and nowhere else; it reaches the world with HTTP CONNECT (the
 * session's HTTPS_PROXY), and the proxy:
 *
 *   - connects to the host itself and speaks TLS to it with the system's
 *     OpenSSL (libssl.so.3): what it writes there is captured by scopelock's
 *     uprobes and judged by the policy's rules exactly as curl's writes are
 *     (kill, hold, alert: no other verdict path);
 *   - verifies the host's certificate against the system store and the CA
 *     files the session was given (SSL_CERT_FILE and friends, as they were
 *     before the session's own were added) and the host name;
 *   - answers the client with a certificate for that host minted by a CA it
 *     made at start for this session alone (the key never leaves its memory;
 *     the certificate is in DIR/ca.pem and in the bundles the session's CA
 *     variables name); a client that refuses it fails closed: its handshake
 *     fails, said on stderr, nothing is sent upstream.
 *
 * Usage (by scopelock run, not by hand):
 *   scopelock-proxy LISTEN_FD READY_FD PARENT_FD
 * LISTEN_FD: the listening socket; READY_FD: the directory holding ca.pem
 * and the bundles is written there, then it is closed (nothing written: it
 * failed, said on stderr); PARENT_FD: its end of a pipe whose other end the
 * launcher holds: end of file there (the command exited) stops the proxy,
 * which then removes the directory. One process per client connection.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* the CA variables of the session, in the order the bundles are written */
static const char *const ca_vars[] = {
    "SSL_CERT_FILE",  "REQUESTS_CA_BUNDLE",   "CURL_CA_BUNDLE",
    "GIT_SSL_CAINFO", "CODEX_CA_CERTIFICATE", "NODE_EXTRA_CA_CERTS",
};

#define HEAD_MAX 8192	     /* the CONNECT request with its header fields */
#define HOST_MAX 253	     /* a DNS name */
#define IO_TIMEOUT_S 30	     /* the CONNECT request, the handshakes */
#define CA_DAYS 30	     /* validity of the session CA and its certificates */
#define PUMP_BUF (16 * 1024) /* one TLS record */

static EVP_PKEY *g_ca_key, *g_leaf_key;
static X509 *g_ca;
static char g_dir[PATH_MAX];
static pid_t g_main_pid;

static void say(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "scopelock-proxy[%d]: %s\n", (int)getpid(), msg);
}

/* the first OpenSSL error as text ("" if none) */
static const char *ssl_why(void)
{
	static char buf[256];
	unsigned long e = ERR_get_error();

	buf[0] = '\0';
	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}

/* ------------------------------------------------------------ certificates */

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ret;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return -1;
	ret = X509_add_ext(cert, ext, -1) ? 0 : -1;
	X509_EXTENSION_free(ext);
	return ret;
}

/* a v3 certificate for subject cn with key, validity now-1h .. +CA_DAYS */
static X509 *cert_new(const char *cn, EVP_PKEY *key)
{
	X509 *c = X509_new();
	X509_NAME *name;
	unsigned char serial[16];
	BIGNUM *bn = NULL;

	if (!c || !X509_set_version(c, 2) || RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f; /* positive */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c)))
		goto fail;
	if (!X509_gmtime_adj(X509_getm_notBefore(c), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(c), (long)CA_DAYS * 86400) ||
	    !X509_set_pubkey(c, key))
		goto fail;
	name = X509_get_subject_name(c);
	/* a common name has at most 64 characters: the SAN names the host */
	if (strlen(cn) > 64)
		cn = "scopelock session proxy";
	if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
					(const unsigned char *)"scopelock session proxy", -1, -1,
					0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
					0))
		goto fail;
	BN_free(bn);
	return c;
fail:
	BN_free(bn);
	X509_free(c);
	return NULL;
}

static int ca_make(const char *session)
{
	char cn[128];

	g_ca_key = EVP_EC_gen("P-256");
	g_leaf_key = EVP_EC_gen("P-256");
	if (!g_ca_key || !g_leaf_key)
		return -1;
	snprintf(cn, sizeof(cn), "scopelock session %s CA", session);
	g_ca = cert_new(cn, g_ca_key);
	if (!g_ca || !X509_set_issuer_name(g_ca, X509_get_subject_name(g_ca)) ||
	    add_ext(g_ca, g_ca, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
	    add_ext(g_ca, g_ca, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    add_ext(g_ca, g_ca, NID_subject_key_identifier, "hash") ||
	    !X509_sign(g_ca, g_ca_key, EVP_sha256()))
		return -1;
	return 0;
}

/* a certificate for host (a DNS name or an IP literal, checked) signed by the session CA */
static X509 *leaf_make(const char *host, bool ip)
{
	char san[HOST_MAX + 8];
	X509 *c = cert_new(host, g_leaf_key);

	snprintf(san, sizeof(san), "%s:%s", ip ? "IP" : "DNS", host);
	if (!c || !X509_set_issuer_name(c, X509_get_subject_name(g_ca)) ||
	    add_ext(c, g_ca, NID_basic_constraints, "critical,CA:FALSE") ||
	    add_ext(c, g_ca, NID_key_usage, "critical,digitalSignature") ||
	    add_ext(c, g_ca, NID_ext_key_usage, "serverAuth") ||
	    add_ext(c, g_ca, NID_subject_alt_name, san) ||
	    add_ext(c, g_ca, NID_authority_key_identifier, "keyid:always") ||
	    !X509_sign(c, g_ca_key, EVP_sha256())) {
		X509_free(c);
		return NULL;
	}
	return c;
}

/* ------------------------------------------------------- files for the session */

/* append the file at path to out; 0 or -errno */
static int append_file(FILE *out, const char *path)
{
	char buf[8192];
	size_t n;
	int err = 0, last = '\n';
	FILE *in = fopen(path, "r");

	if (!in)
		return -errno;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
		if (fwrite(buf, 1, n, out) != n) {
			err = -EIO;
			break;
		}
		last = buf[n - 1];
	}
	if (!err && ferror(in))
		err = -EIO;
	fclose(in);
	if (!err && last != '\n')
		fputc('\n', out);
	return err;
}

/*
 * DIR/ca.pem: the session CA; DIR/VAR.pem for each CA variable: what the
 * variable named before (or, but for NODE_EXTRA_CA_CERTS, which adds to
 * node's own roots, the system bundle) followed by the session CA.
 */
static int files_write(void)
{
	const char *sys = X509_get_default_cert_file();
	char path[PATH_MAX + 64];
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "%s/ca.pem", g_dir);
	f = fopen(path, "wx");
	if (!f || !PEM_write_X509(f, g_ca) || fclose(f)) {
		say("write %s: %s", path, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < sizeof(ca_vars) / sizeof(ca_vars[0]); i++) {
		const char *was = getenv(ca_vars[i]);
		bool node = !strcmp(ca_vars[i], "NODE_EXTRA_CA_CERTS");

		snprintf(path, sizeof(path), "%s/%s.pem", g_dir, ca_vars[i]);
		f = fopen(path, "wx");
		if (!f) {
			say("write %s: %s", path, strerror(errno));
			return -1;
		}
		err = 0;
		if (was && was[0]) {
			err = append_file(f, was);
			if (err)
				say("%s=%s: %s: the session's %s trusts the system's CAs and the "
				    "session CA",
				    ca_vars[i], was, strerror(-err), ca_vars[i]);
		}
		if ((!was || !was[0] || err) && !node && append_file(f, sys))
			say("the system CA bundle %s: %s", sys, strerror(errno));
		if (!PEM_write_X509(f, g_ca) || fclose(f)) {
			say("write %s: %s", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void files_remove(void)
{
	char path[PATH_MAX + 64];

	if (!g_dir[0] || getpid() != g_main_pid)
		return;
	snprintf(path, sizeof(path), "%s/ca.pem", g_dir);
	unlink(path);
	for (size_t i = 0; i < sizeof(ca_vars) / sizeof(ca_vars[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s.pem", g_dir, ca_vars[i]);
		unlink(path);
	}
	rmdir(g_dir);
}

/* -------------------------------------------------------------- upstream */

/* the client context: verifies against the system store and the session's CA files */
static SSL_CTX *upstream_ctx(void)
{
	static const unsigned char alpn[] = "\x08http/1.1";
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx)
		return NULL;
	/* SSL_CERT_FILE / SSL_CERT_DIR as the session had them, else the system's */
	SSL_CTX_set_default_verify_paths(ctx);
	for (size_t i = 0; i < sizeof(ca_vars) / sizeof(ca_vars[0]); i++) {
		const char *f = getenv(ca_vars[i]);

		if (f && f[0] && !SSL_CTX_load_verify_locations(ctx, f, NULL))
			say("%s=%s: not loaded (%s)", ca_vars[i], f, ssl_why());
	}
	ERR_clear_error();
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1);
	SSL_CTX_clear_mode(ctx, SSL_MODE_AUTO_RETRY);
	return ctx;
}

static int tcp_connect(const char *host, const char *port, char *why, size_t whylen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL, *a;
	int fd = -1, err, saved = 0;

	err = getaddrinfo(host, port, &hints, &res);
	if (err) {
		snprintf(why, whylen, "resolve %s: %s", host, gai_strerror(err));
		return -1;
	}
	for (a = res; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		if (!connect(fd, a->ai_addr, a->ai_addrlen))
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(why, whylen, "connect %s port %s: %s", host, port, strerror(saved));
	return fd;
}

/* ---------------------------------------------------------- a connection */

static void set_timeout(int fd, int s)
{
	struct timeval tv = {.tv_sec = s};
	int one = 1;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	/* a relay: small writes (the CONNECT answer, handshake flights) go at once, not after
	 * the peer's delayed acknowledgement */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void reply(int fd, const char *status, const char *why)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf),
			 "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nConnection: close\r\n"
			 "Content-Length: %zu\r\n\r\n%s\n",
			 status, strlen(why) + 1, why);

	if (n > 0)
		(void)!write(fd, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/*
 * The request head, byte by byte (what follows it is the client's TLS and
 * stays in the socket). 0, or -1 (closed, too long, timed out).
 */
static int read_head(int fd, char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		ssize_t r = read(fd, buf + n, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		n++;
		buf[n] = '\0';
		if (n >= 4 && !memcmp(buf + n - 4, "\r\n\r\n", 4))
			return 0;
		if (n >= 2 && !memcmp(buf + n - 2, "\n\n", 2))
			return 0;
	}
	return -1;
}

/*
 * "CONNECT host:port HTTP/1.x": host (brackets removed for IPv6) and port;
 * host a DNS name of [A-Za-z0-9._-] or an IP literal (*ip). 0 or -1.
 */
static int parse_connect(char *head, char *host, size_t hostlen, char *port, size_t portlen,
			 bool *ip)
{
	char *sp, *target, *colon, *end;
	unsigned char a[16];
	long p;

	if (strncmp(head, "CONNECT ", 8))
		return -1;
	target = head + 8;
	sp = strchr(target, ' ');
	if (!sp)
		return -1;
	*sp = '\0';
	colon = strrchr(target, ':');
	if (!colon || colon == target)
		return -1;
	*colon = '\0';
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno || *end || p < 1 || p > 65535)
		return -1;
	snprintf(port, portlen, "%ld", p);
	if (target[0] == '[') {
		size_t l = strlen(target);

		if (l < 3 || target[l - 1] != ']')
			return -1;
		target[l - 1] = '\0';
		target++;
	}
	if (strlen(target) >= hostlen || strlen(target) > HOST_MAX)
		return -1;
	snprintf(host, hostlen, "%s", target);
	*ip = inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
	if (*ip)
		return 0;
	for (const char *c = host; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-' && *c != '_')
			return -1;
	return 0;
}

/* ALPN toward the client: http/1.1, the one protocol the upstream was offered */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char h1[] = "\x08http/1.1";

	if (SSL_select_next_proto((unsigned char **)out, outlen, h1, sizeof(h1) - 1, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	return SSL_TLSEXT_ERR_OK;
}

/* copy what from has to to; 1: more, 0: from closed, -1: error */
static int pump_one(SSL *from, SSL *to, char *buf)
{
	int n = SSL_read(from, buf, PUMP_BUF), e;

	if (n <= 0) {
		e = SSL_get_error(from, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return 1;
		return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
	}
	if (SSL_write(to, buf, n) != n)
		return -1;
	return 1;
}

static void pump(SSL *client, int cfd, SSL *up, int ufd)
{
	static char buf[PUMP_BUF];

	set_timeout(cfd, 0);
	set_timeout(ufd, 0);
	for (;;) {
		struct pollfd p[2] = {{.fd = cfd, .events = POLLIN}, {.fd = ufd, .events = POLLIN}};
		int r;

		/* records already decrypted and waiting first */
		if (SSL_pending(client) > 0) {
			if (pump_one(client, up, buf) <= 0)
				return;
			continue;
		}
		if (SSL_pending(up) > 0) {
			if (pump_one(up, client, buf) <= 0)
				return;
			continue;
		}
		r = poll(p, 2, -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return;
		if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) && pump_one(client, up, buf) <= 0)
			return;
		if ((p[1].revents & (POLLIN | POLLHUP | POLLERR)) && pump_one(up, client, buf) <= 0)
			return;
	}
}

static void serve(int cfd, SSL_CTX *uctx)
{
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	char head[HEAD_MAX], host[HOST_MAX + 1], port[8], why[512];
	SSL_CTX *sctx = NULL;
	SSL *up = NULL, *client = NULL;
	X509 *leaf = NULL;
	bool ip = false;
	int ufd = -1;
	long vr;

	set_timeout(cfd, IO_TIMEOUT_S);
	if (read_head(cfd, head, sizeof(head)))
		goto out;
	if (parse_connect(head, host, sizeof(host), port, sizeof(port), &ip)) {
		reply(cfd, "405 Method Not Allowed",
		      "scopelock-proxy: only CONNECT host:port (HTTPS_PROXY) is served");
		say("refused a request that is not CONNECT host:port");
		goto out;
	}
	ufd = tcp_connect(host, port, why, sizeof(why));
	if (ufd < 0) {
		reply(cfd, "502 Bad Gateway", why);
		say("%s", why);
		goto out;
	}
	set_timeout(ufd, IO_TIMEOUT_S);
	up = SSL_new(uctx);
	if (!up || !SSL_set_fd(up, ufd))
		goto out;
	if (ip ? !X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(up), host)
	       : (!SSL_set1_host(up, host) || !SSL_set_tlsext_host_name(up, host)))
		goto out;
	if (SSL_connect(up) != 1) {
		vr = SSL_get_verify_result(up);
		snprintf(why, sizeof(why), "TLS to %s port %s: %s", host, port,
			 vr != X509_V_OK ? X509_verify_cert_error_string(vr) : ssl_why());
		reply(cfd, "502 Bad Gateway", why);
		say("%s", why);
		goto out;
	}
	leaf = leaf_make(host, ip);
	sctx = SSL_CTX_new(TLS_server_method());
	if (!leaf || !sctx || !SSL_CTX_use_certificate(sctx, leaf) ||
	    !SSL_CTX_add1_chain_cert(sctx, g_ca) || !SSL_CTX_use_PrivateKey(sctx, g_leaf_key)) {
		snprintf(why, sizeof(why), "a certificate for %s: %s", host, ssl_why());
		reply(cfd, "502 Bad Gateway", why);
		say("%s", why);
		goto out;
	}
	SSL_CTX_set_min_proto_version(sctx, TLS1_2_VERSION);
	SSL_CTX_set_alpn_select_cb(sctx, alpn_select, NULL);
	SSL_CTX_clear_mode(sctx, SSL_MODE_AUTO_RETRY);
	/*
	 * TLS 1.3 tickets are kept (one): they are what the proxy sends right after the
	 * client's Finished; without them the client's first request waits for the proxy's
	 * delayed acknowledgement (Nagle: 40 ms). A ticket is never redeemed (a new process,
	 * a new key per connection): the next connection makes a full handshake.
	 */
	SSL_CTX_set_num_tickets(sctx, 1);
	if (write(cfd, ok, sizeof(ok) - 1) != (ssize_t)sizeof(ok) - 1)
		goto out;
	client = SSL_new(sctx);
	if (!client || !SSL_set_fd(client, cfd))
		goto out;
	if (SSL_accept(client) != 1) {
		/* fail closed: nothing was sent upstream */
		say("the client refused the session CA or the handshake for %s port %s failed "
		    "(%s): nothing sent upstream",
		    host, port, ssl_why());
		goto out;
	}
	pump(client, cfd, up, ufd);
	SSL_shutdown(client);
	SSL_shutdown(up);
out:
	SSL_free(client);
	SSL_free(up);
	SSL_CTX_free(sctx);
	X509_free(leaf);
	if (ufd >= 0)
		close(ufd);
	close(cfd);
}

/* ------------------------------------------------------------------ main */

static int fd_arg(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > INT_MAX)
		return -1;
	return (int)v;
}

int main(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR"), *session = getenv("SCOPELOCK_SESSION");
	int lfd, rfd, pfd, ret = 1;
	SSL_CTX *uctx = NULL;

	if (argc != 4 || (lfd = fd_arg(argv[1])) < 0 || (rfd = fd_arg(argv[2])) < 0 ||
	    (pfd = fd_arg(argv[3])) < 0) {
		fprintf(stderr, "usage: scopelock-proxy LISTEN_FD READY_FD PARENT_FD (started by "
				"scopelock run for a scope with blind_tls: proxy)\n");
		return 2;
	}
	g_main_pid = getpid();
	signal(SIGPIPE, SIG_IGN);
	/* connection processes are not waited for */
	signal(SIGCHLD, SIG_IGN);
	if (ca_make(session ? session : "?")) {
		say("cannot make the session CA: %s", ssl_why());
		goto out;
	}
	snprintf(g_dir, sizeof(g_dir), "%s/scopelock-proxy-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	if (!mkdtemp(g_dir)) {
		say("mkdtemp %s: %s", g_dir, strerror(errno));
		g_dir[0] = '\0';
		goto out;
	}
	if (files_write())
		goto out;
	uctx = upstream_ctx();
	if (!uctx) {
		say("TLS client context: %s", ssl_why());
		goto out;
	}
	if (dprintf(rfd, "%s\n", g_dir) < 0) {
		say("tell the launcher: %s", strerror(errno));
		goto out;
	}
	close(rfd);
	rfd = -1;
	for (;;) {
		struct pollfd p[2] = {{.fd = lfd, .events = POLLIN}, {.fd = pfd, .events = POLLIN}};
		int cfd;
		pid_t pid;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			say("poll: %s", strerror(errno));
			goto out;
		}
		if (p[1].revents) {
			ret = 0; /* the command is done */
			goto out;
		}
		if (!(p[0].revents & POLLIN))
			continue;
		cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0)
			continue;
		pid = fork();
		if (pid == 0) {
			close(lfd);
			close(pfd);
			serve(cfd, uctx);
			_exit(0);
		}
		if (pid < 0)
			say("fork: %s", strerror(errno));
		close(cfd);
	}
out:
	if (rfd >= 0)
		close(rfd);
	files_remove();
	SSL_CTX_free(uctx);
	X509_free(g_ca);
	EVP_PKEY_free(g_ca_key);
	EVP_PKEY_free(g_leaf_key);
	return ret;
}
