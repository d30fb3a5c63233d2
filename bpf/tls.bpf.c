// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * TLS plaintext capture for session processes, by uprobes on the TLS
 * libraries (attached by user/daemon/tls.c per library file, for every
 * process, so a library loaded later with dlopen is covered).
 *
 * Writes are captured at the ENTRY of SSL_write / SSL_write_ex /
 * gnutls_record_send: the plaintext before a byte of it is encrypted or sent.
 * Enforcement (issue 3) decides at that point, so it must stay at entry.
 * Reads are captured at the return of SSL_read / SSL_read_ex /
 * gnutls_record_recv, with the bytes the call actually returned.
 *
 * Per connection (tgid, SSL* / gnutls_session_t) the kernel side keeps the
 * server name (from SSL_ctrl(SSL_CTRL_SET_TLSEXT_HOSTNAME) or
 * gnutls_server_name_set) and the peer address. The peer is the socket of
 * the first socket read or write the thread makes after entering a TLS call
 * on a connection that has no peer yet: inside the call for socket BIOs
 * (OpenSSL's default, GnuTLS: the ClientHello), right after it for libraries
 * that use memory BIOs and flush to the socket themselves (node). Only entry
 * probes are needed for that (no return probe on writes: each attached
 * uprobe costs a kernel grace period to detach).
 */
#include "common.bpf.h"
#include "label.bpf.h"
#include "match.bpf.h"
#include "sock.bpf.h"
#include "tlsgate.bpf.h"

#define SL_TLS_MAX_CONNS 16384
/* SSL_CTRL_SET_TLSEXT_HOSTNAME and TLSEXT_NAMETYPE_host_name (OpenSSL tls1.h) */
#define SL_SSL_CTRL_SET_TLSEXT_HOSTNAME 55
#define SL_TLSEXT_NAMETYPE_HOST_NAME 0
/* GNUTLS_NAME_DNS (gnutls.h) */
#define SL_GNUTLS_NAME_DNS 1
/* the first socket I/O this soon after entering a TLS call belongs to it */
#define SL_TLS_PEER_WINDOW_NS (10 * 1000 * 1000ULL)

struct sl_tls_conn_key {
	__u64 conn;
	__u32 tgid;
	__u32 _pad;
};

/* sl_tls_conn.dest_done: destination labels looked up */
#define SL_TLS_DEST_SNI (1U << 0)
#define SL_TLS_DEST_PEER (1U << 1)

struct sl_tls_conn {
	__u8 peer_addr[16];
	__u16 peer_family;
	__u16 peer_port;
	__u16 sni_len;
	__u16 plain; /* sl_plain_conns only: SL_PLAIN_* (what the stream is) */
	char sni[SL_SNI_MAX];
	/* matcher state of the writes so far, valid for policy generation gen */
	__u64 kw[SL_KW_WORDS]; /* keywords seen */
	__u64 env;	       /* environments of label strings seen */
	__u64 dest_env;	       /* environments of the SNI and the peer */
	__u32 gen;	       /* 0: none yet */
	__u16 cs;	       /* DFA states */
	__u16 ci;
	__u32 dest_done; /* SL_TLS_DEST_* */
	__u32 decode;	 /* SL_TLS_DECODE_*: the connection's writes are held for the daemon */
	__u64 sock;	 /* inode of the socket the peer was learned on (0: none) */
	__u64 peer_env;	 /* environments of the peer address alone (in dest_env too) */
};

/*
 * sl_tls_conn.decode: why the kernel cannot judge the connection's writes
 * from their bytes (two-stage verdicts, SL_VERDICT_DECODE). Kept for the
 * life of the connection (a policy reload does not change the protocol).
 */
#define SL_TLS_DECODE_MARKER (1U << 0) /* a decode marker was seen (SL_AC_ENV_DECODE) */
#define SL_TLS_DECODE_INHERITED                                                                    \
	(1U << 1) /* first seen at a write: no handshake in this                                   \
		     process (a forked child continuing the stream) */

/* per connection: SNI and peer, as known so far */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SL_TLS_MAX_CONNS);
	__type(key, struct sl_tls_conn_key);
	__type(value, struct sl_tls_conn);
} sl_tls_conns SEC(".maps");

/*
 * Per session (cgroup id): writes held for decoding so far, counted before
 * the writer is stopped. The daemon lets a session's egress and stopped
 * writers go only when it has decided as many (a SIGCONT resumes every
 * thread of a process, also one held a moment ago whose record it has not
 * read yet).
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SL_MAX_SESSIONS);
	__type(key, __u64);
	__type(value, __u64);
} sl_decode_holds SEC(".maps");

static __always_inline void sl_decode_hold_count(void)
{
	__u64 id = sl_current_session_id(), one = 1, *n;

	n = bpf_map_lookup_elem(&sl_decode_holds, &id);
	if (n) {
		__sync_fetch_and_add(n, 1);
		return;
	}
	if (!bpf_map_update_elem(&sl_decode_holds, &id, &one, BPF_NOEXIST))
		return;
	n = bpf_map_lookup_elem(&sl_decode_holds, &id);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		sl_count_loss(SL_LOSS_MAP_FULL, SL_OP_VERDICT);
}

/* per thread: entered a TLS call on conn, whose peer is not known yet */
struct sl_tls_pending {
	__u64 conn;
	__u64 entered_ns;
	__u64 verify; /* the peer is known: check the socket is still the one it was learned on */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SL_MAX_INFLIGHT);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct sl_tls_pending);
} sl_tls_pending SEC(".maps");

/* per thread: arguments of a read call, between entry and return */
struct sl_tls_read_args {
	__u64 conn;
	__u64 buf;
	__u64 readbytes; /* size_t * of SSL_read_ex (EVP_AEAD_CTX_open's out_len) */
	__u32 lib;
	__u32 fn;
	__u32 tls13; /* EVP_AEAD_CTX_open: the plaintext ends with its inner content type */
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SL_MAX_INFLIGHT);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct sl_tls_read_args);
} sl_tls_reads SEC(".maps");

/*
 * A write longer than one TLS record (16 KiB) is encrypted and sent record
 * by record, the caller's buffer read again for each while the call lasts
 * (blocking when the peer does not read): another thread of the process can
 * change what is still to be encrypted after the judgement at entry. Per
 * thread, such a write in progress keeps what is needed to judge its buffer
 * again at every socket write the call makes (sl_tls_recheck): the
 * connection's matcher state before it, and the decision at entry.
 */
#define SL_TLS_RECHECK_MIN 16384
/* a write in progress is not looked at again after this long */
#define SL_TLS_RECHECK_WINDOW_NS (60 * 1000 * 1000 * 1000ULL)

struct sl_tls_inflight {
	__u64 conn;
	__u64 buf;
	__u64 len;
	__u64 kw[SL_KW_WORDS]; /* the connection's state before the write */
	__u64 env;
	__u64 entered_ns;
	__u32 gen;
	__u32 lib;
	__u32 fn;
	__u32 action; /* the decision at entry: its action + 1, 0 if none */
	__u16 cs;
	__u16 ci;
	__u32 unconfirmed; /* SL_EVF_UNCONFIRMED of the capture */
	/* kw, env, cs, ci are the state after the write (a rustls record: its
	 * buffer is cipher text at the send, sl_tls_inflight_scanned) */
	__u32 scanned;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SL_MAX_INFLIGHT);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct sl_tls_inflight);
} sl_tls_inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_tls_inflight);
} sl_tls_inflight_buf SEC(".maps");

static __always_inline struct sl_tls_inflight *sl_tls_inflight_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&sl_tls_inflight_buf, &zero);
}

/* functions located without symbols: their confirmation (scopelock_abi.h) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SL_MAX_TLS_LOCS);
	__type(key, __u32);
	__type(value, struct sl_tls_loc);
} sl_tls_locs SEC(".maps");

/* a located write not confirmed yet: the thread's next TLS record tells */
struct sl_tls_confirm {
	__u64 conn;
	__u64 len;
	__u64 entered_ns;
	__u32 loc;
	__u32 _pad;
};

/* the record is looked for in the thread's socket writes for this long */
#define SL_TLS_CONFIRM_WINDOW_NS (2 * 1000 * 1000 * 1000ULL)
/* TLS records walked in one socket write (a handshake flight before it) */
#define SL_TLS_CONFIRM_RECORDS 4
/* TLS record content types (RFC 8446 5.1), and a record's most plaintext */
#define SL_TLS_CT_CCS 20
#define SL_TLS_CT_APPDATA 23
#define SL_TLS_RECORD_MAX 16384

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SL_MAX_INFLIGHT);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct sl_tls_confirm);
} sl_tls_confirms SEC(".maps");

/* a power of two minus one above SL_TLS_CAPTURE_MAX: bounds lengths for the
 * verifier whatever the compiler does with the comparisons */
#define SL_TLS_CAPTURE_MASK 0xffff
_Static_assert(SL_TLS_CAPTURE_MAX <= SL_TLS_CAPTURE_MASK, "capture mask");

/* one record being built per CPU (too big for the stack) */
struct sl_tls_buf {
	__u8 raw[sizeof(struct sl_tls_event) + SL_TLS_CAPTURE_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_tls_buf);
} sl_tls_bufs SEC(".maps");

/*
 * A library located without symbols, with no hook where a connection ends:
 * its connection addresses are reused, so the socket is checked at every
 * write (sl_tls_enter's verify).
 */
static __always_inline bool sl_tls_lib_located(__u32 lib)
{
	return lib == SL_TLS_BORINGSSL || lib == SL_TLS_RUSTLS;
}

/*
 * A rustls connection's key (sl_aead_seal): the first 8 bytes of the nonce
 * of its last record. They stay the same for one key (TLS 1.3 and
 * ChaCha20: the IV xor a 64-bit sequence number, 12 bytes; TLS 1.2 GCM: a
 * 4-byte salt and the explicit sequence number), until 2^32 records.
 * Another value at a known address is another key: a new connection where
 * a freed one was (or the key updated): its state starts afresh.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SL_TLS_MAX_CONNS);
	__type(key, struct sl_tls_conn_key);
	__type(value, __u64);
} sl_tls_aead_keys SEC(".maps");

/* rustls processes under located seals: records sealed, not yet written
 * (scopelock_abi.h; made by the daemon) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SL_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct sl_tls_sealed);
} sl_tls_sealed SEC(".maps");

/*
 * A decision on a capture of a located function live traffic has not
 * confirmed yet: a kill is a hold for a person (a wrong guess never kills;
 * the writer is stopped before the call sends a byte all the same).
 */
static __always_inline void sl_tls_unconfirmed_kill(struct sl_match *m)
{
	__u32 action = sl_decide_unconfirmed(m->action);

	if (!m->monitor && action != m->action && m->rule != SL_RULE_DOOMED) {
		m->action = action;
		m->vflags |= SL_VERDICT_UNCONFIRMED;
	}
}

static const struct sl_tls_conn sl_tls_conn_zero;

/* the connection's state; create: make it when missing (*created set then) */
static __always_inline struct sl_tls_conn *sl_tls_conn_get_new(__u64 conn, int create, int *created)
{
	struct sl_tls_conn_key key = {
	    .conn = conn,
	    .tgid = bpf_get_current_pid_tgid() >> 32,
	};
	struct sl_tls_conn *c;

	c = bpf_map_lookup_elem(&sl_tls_conns, &key);
	if (c || !create)
		return c;
	*created = 1;
	if (bpf_map_update_elem(&sl_tls_conns, &key, &sl_tls_conn_zero, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&sl_tls_conns, &key)) {
		sl_count_loss(SL_LOSS_MAP_FULL, SL_OP_TLS_WRITE);
		return NULL;
	}
	return bpf_map_lookup_elem(&sl_tls_conns, &key);
}

static __always_inline struct sl_tls_conn *sl_tls_conn_get(__u64 conn, int create)
{
	int created = 0;

	return sl_tls_conn_get_new(conn, create, &created);
}

/*
 * A session thread enters a TLS call on conn: when its peer is not known, the
 * socket of the thread's next socket I/O is its peer (sl_tls_sock_io). The
 * BoringSSL located without symbols has no free hook, and its allocator
 * reuses a freed connection's address for a new one: its writes (verify)
 * check the socket every time (Bun sends inside SSL_write), and a connection
 * found writing to another socket than the one its peer was learned on
 * starts again (sl_tls_verify_sock).
 */
static __always_inline void sl_tls_enter(__u64 conn, bool verify)
{
	struct sl_tls_pending p = {.conn = conn};
	struct sl_tls_conn *c;
	__u64 id = bpf_get_current_pid_tgid();

	/* a write in progress of this thread has returned: its buffer is the
	 * caller's again */
	bpf_map_delete_elem(&sl_tls_inflight, &id);
	c = sl_tls_conn_get(conn, 0);
	if (c && c->peer_family) {
		if (!verify)
			return;
		p.verify = 1;
	}
	p.entered_ns = bpf_ktime_get_ns();
	bpf_map_update_elem(&sl_tls_pending, &id, &p, BPF_ANY);
}

/* ---- verdicts ---- */

/* host label lookups: the key is 258 bytes, built per CPU */
struct sl_tls_host_buf {
	struct sl_host_key key;
	char name[SL_SNI_MAX]; /* the SNI, lowercase */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_tls_host_buf);
} sl_tls_host_bufs SEC(".maps");

struct sl_tls_host_ctx {
	struct sl_tls_host_buf *hb;
	const struct sl_tls_conn *c;
	__u64 env;
	__u32 len;
	__u32 slot;
};

/* name[i] = lowercase(sni[i]) */
static long sl_tls_lower_cb(__u64 i, void *arg)
{
	struct sl_tls_host_ctx *x = arg;
	__u8 b;

	if (i >= SL_SNI_MAX)
		return 1;
	b = x->c->sni[i];
	x->hb->name[i] = (__u8)(b - 'A') < 26 ? b | 0x20 : b;
	return 0;
}

static __always_inline __u64 sl_tls_host_lookup(struct sl_tls_host_ctx *x, __u32 wildcard,
						__u32 from)
{
	struct sl_host_key *k = &x->hb->key;
	__u64 *env;
	__u64 n;

	if (from >= x->len || x->len - from > SL_LABEL_HOST_MAX)
		return 0;
	n = x->len - from;
	__builtin_memset(k, 0, sizeof(*k));
	k->slot = x->slot;
	k->wildcard = wildcard;
	/* keep the bound visible to the verifier */
	asm volatile("%[n] &= %[mask]" : [n] "+r"(n) : [mask] "i"(0xff));
	if (!n || bpf_probe_read_kernel(k->name, n, &x->hb->name[from & 0xff]))
		return 0;
	env = bpf_map_lookup_elem(&sl_host_labels, k);
	return env ? *env : 0;
}

/* every wildcard label ".suffix" the name ends with (a dot not at 0) */
static long sl_tls_dot_cb(__u64 i, void *arg)
{
	struct sl_tls_host_ctx *x = arg;

	if (i >= x->len || i >= SL_SNI_MAX)
		return 1;
	if (i && x->hb->name[i] == '.')
		x->env |= sl_tls_host_lookup(x, 1, (__u32)i);
	return 0;
}

/* labels of the server name: the exact name, then every wildcard suffix */
static __always_inline __u64 sl_tls_sni_env(const struct sl_tls_conn *c, __u32 slot)
{
	struct sl_tls_host_ctx x = {.c = c, .slot = slot, .len = c->sni_len};
	__u32 zero = 0;

	x.hb = bpf_map_lookup_elem(&sl_tls_host_bufs, &zero);
	if (!x.hb || !x.len || x.len >= SL_SNI_MAX)
		return 0;
	bpf_loop(x.len, sl_tls_lower_cb, &x, 0);
	/* "example.com." is "example.com" */
	if (x.hb->name[(x.len - 1) & 0xff] == '.')
		x.len--;
	x.env = sl_tls_host_lookup(&x, 0, 0);
	bpf_loop(x.len, sl_tls_dot_cb, &x, 0);
	return x.env;
}

/*
 * A model provider's connection (SL_DEST_ROLE_PROVIDER, by its server name):
 * the agent's conversation, not judged. The name is the client's to choose:
 * a connection whose peer address belongs to an environment is judged
 * whatever name it gives.
 */
static __always_inline bool sl_tls_provider(const struct sl_tls_conn *c)
{
	return (c->dest_env & SL_DEST_ROLE_PROVIDER) && !(c->peer_env & ~SL_DEST_ROLE_PROVIDER);
}

/* environments of the destination (SNI, peer address), once per connection */
static __always_inline __u64 sl_tls_dest_env(struct sl_tls_conn *c, __u32 slot)
{
	if (!(c->dest_done & SL_TLS_DEST_SNI) && c->sni_len) {
		c->dest_env |= sl_tls_sni_env(c, slot);
		c->dest_done |= SL_TLS_DEST_SNI;
	}
	if (!(c->dest_done & SL_TLS_DEST_PEER) && c->peer_family) {
		__u8 addr[16];

		__builtin_memcpy(addr, c->peer_addr, sizeof(addr));
		if (c->peer_family == SL_AF_INET)
			c->peer_env = sl_label_ip(slot, 4, addr, c->peer_port);
		else if (c->peer_family == SL_AF_INET6)
			c->peer_env = sl_label_ip(slot, 6, addr, c->peer_port);
		c->dest_env |= c->peer_env;
		c->dest_done |= SL_TLS_DEST_PEER;
	}
	return c->dest_env;
}

/*
 * Bytes of a write past the captured part are walked too (read again from
 * the caller's buffer), up to SL_TLS_SCAN_MAX per write: padding a request
 * beyond the capture limit does not hide it. Bytes beyond that, and bytes
 * that could not be read (a page not faulted in), are unreadable evidence:
 * settings.unreadable decides (match.bpf.h), and they are counted as
 * SL_LOSS_TRUNCATED / SL_LOSS_READ_FAULT of SL_OP_VERDICT.
 */
#define SL_TLS_SCAN_MAX (1024 * 1024)

/* ---- plaintext streams (SL_OP_PLAIN_WRITE) ---- */

/*
 * sl_tls_conn.plain: what the first bytes a session wrote on a TCP socket
 * say the stream is. Decided once per socket; a text stream stays one (a
 * write that looks like a TLS record later does not stop the judging).
 */
#define SL_PLAIN_TEXT 1	 /* HTTP (a request line, h2c): judged, recorded, held for decoding */
#define SL_PLAIN_TLS 2	 /* a TLS record: its plaintext comes through the uprobes */
#define SL_PLAIN_REPLY 3 /* an HTTP response: the session serves, it does not request */
/* a CONNECT request (through an HTTP proxy): judged as text until a write
 * starts with a TLS record (TLS inside the tunnel: read by the uprobes) */
#define SL_PLAIN_TUNNEL 4
/* any other stream (ssh, a database's wire protocol): judged on its bytes and
 * recorded, never held for decoding (random bytes of a binary protocol would
 * show decode markers: "\u") */
#define SL_PLAIN_OTHER 5

/*
 * Per connected TCP socket written by a session (key: conn = the socket's
 * inode number, tgid 0: the connection, not the process): the matcher state
 * of its stream and the peer, as sl_tls_conns for TLS.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SL_TLS_MAX_CONNS);
	__type(key, struct sl_tls_conn_key);
	__type(value, struct sl_tls_conn);
} sl_plain_conns SEC(".maps");

/* iovecs of a writev / sendmsg looked at (more: the rest is unreadable evidence) */
#define SL_PLAIN_IOV_MAX 16

struct sl_plain_iov {
	__u64 base;
	__u64 len;
};

struct sl_plain_iovs {
	struct sl_plain_iov v[SL_PLAIN_IOV_MAX]; /* struct iovec as user space has it */
	__u64 total;				 /* bytes of the n iovecs read */
	__u32 n;				 /* iovecs read */
	__u32 more; /* the call has more iovecs than were read, or they could not be read */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_plain_iovs);
} sl_plain_iov_buf SEC(".maps");

/*
 * Where the bytes of a plaintext write past its capture are: the capture
 * ended at (at, off) (iovec at, offset off in it). Walking them takes one
 * scan of user memory (a second bpf_loop inside a bpf_loop callback would
 * multiply the verifier's work): when they lie in more than one iovec, the
 * ones after the first are unreadable evidence (settings.unreadable).
 */
struct sl_plain_rest_ctx {
	const struct sl_plain_iovs *iov;
	__u64 skip; /* captured bytes before the rest */
	__u64 base; /* the rest: user address and length in its iovec */
	__u64 len;
	__u32 more; /* bytes in later iovecs too */
};

static long sl_plain_rest_cb(__u64 i, void *arg)
{
	struct sl_plain_rest_ctx *x = arg;
	__u64 len;

	if (i >= SL_PLAIN_IOV_MAX || i >= x->iov->n)
		return 1;
	len = x->iov->v[i].len;
	if (x->len) {
		if (len) {
			x->more = 1;
			return 1;
		}
		return 0;
	}
	if (len <= x->skip) {
		x->skip -= len;
		return 0;
	}
	x->base = x->iov->v[i].base + x->skip;
	x->len = len - x->skip;
	x->skip = 0;
	return 0;
}

/* the bytes of a plaintext write past its capture */
static __always_inline void sl_plain_scan_rest(struct sl_match *m, __u16 *cs, __u16 *ci,
					       const struct sl_plain_iovs *iov, __u64 captured)
{
	struct sl_plain_rest_ctx x = {.iov = iov, .skip = captured};

	if (iov->total <= captured && !iov->more)
		return;
	bpf_loop(SL_PLAIN_IOV_MAX, sl_plain_rest_cb, &x, 0);
	if (x.len > SL_TLS_SCAN_MAX) {
		x.len = SL_TLS_SCAN_MAX;
		x.more = 1;
	}
	if (x.len && sl_match_scan_user(m, cs, ci, x.base, x.len, false) < 0) {
		m->unread |= SL_UNREAD_FAULT;
		sl_count_loss(SL_LOSS_READ_FAULT, SL_OP_VERDICT);
	}
	if (x.more || iov->more) {
		m->unread |= SL_UNREAD_LIMIT;
		sl_count_loss(SL_LOSS_TRUNCATED, SL_OP_VERDICT);
	}
}

/*
 * A rustls record sealed (sl_aead_seal): encrypted in place before it is
 * sent, so what is looked at again at the send is not its buffer (cipher
 * text by then) but the state its plaintext left (it is one record: wholly
 * captured, SL_TLS_CAPTURE_MAX >= 16 KiB), judged with the destination
 * found at the send.
 */
static __always_inline void sl_tls_inflight_scanned(const struct sl_match *m, __u16 cs, __u16 ci)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sl_tls_inflight *in = bpf_map_lookup_elem(&sl_tls_inflight, &id);

	if (!in)
		return;
	__builtin_memcpy(in->kw, m->kw, sizeof(in->kw));
	in->env = m->env;
	in->cs = cs;
	in->ci = ci;
	in->scanned = 1;
}

/* the decision taken at entry on the thread's write in flight, if any */
static __always_inline void sl_tls_inflight_decided(__u32 action)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sl_tls_inflight *in = bpf_map_lookup_elem(&sl_tls_inflight, &id);

	if (in)
		in->action = action + 1;
}

/*
 * Verdict on a TLS write before any byte of it is encrypted. The captured
 * plaintext (e->data, in the per-CPU record buffer) continues the stream of
 * the connection through the keyword automaton: the automaton states, the
 * keywords and the label environments seen on the connection are kept per
 * (tgid, conn), so a keyword split by a write boundary, or headers and body
 * written separately, still match. The target adds the labels of the SNI
 * and of the peer address. A kill or hold acts here, before returning to the
 * library. After a verdict the connection's stream starts afresh (the next
 * request must match on its own; an approved hold is not held again).
 * Returns 1 when a verdict is to be reported (m then holds it).
 */
static __always_inline int sl_stream_verdict(struct sl_session_info *s, struct sl_tls_event *e,
					     struct sl_tls_conn *c, int created, __u64 conn,
					     __u64 buf, const struct sl_plain_iovs *iov,
					     const bool plain, __u32 *vflags)
{
	bool provider, stops, quiet;
	struct sl_match *m;
	__u16 cs = 0, ci = 0;
	int decided;

	m = sl_match_begin(SL_KCH_TLS);
	if (!m)
		return 0;
	if (sl_session_doomed(m, s, vflags))
		return 1;
	if (c && created)
		c->decode |= SL_TLS_DECODE_INHERITED;
	if (c && c->gen != m->generation) {
		/* new connection or policy reloaded: start at the root */
		__builtin_memset(c->kw, 0, sizeof(c->kw));
		c->env = 0;
		c->dest_env = 0;
		c->dest_done = 0;
		c->peer_env = 0;
		c->cs = 0;
		c->ci = 0;
		c->gen = m->generation;
	}
	if (c) {
		__builtin_memcpy(m->kw, c->kw, sizeof(m->kw));
		m->env = c->env;
		cs = c->cs;
		ci = c->ci;
	}
	/* a TLS write of many records: keep the state before it (sl_tls_recheck);
	 * and every located write (BoringSSL, rustls), for a connection found on
	 * a new socket at its send (sl_tls_verify_sock) */
	if (!plain && (e->len > SL_TLS_RECHECK_MIN || sl_tls_lib_located(e->lib))) {
		struct sl_tls_inflight *in = sl_tls_inflight_scratch();
		__u64 id = bpf_get_current_pid_tgid();

		if (in) {
			in->conn = conn;
			in->buf = buf;
			in->len = e->len;
			__builtin_memcpy(in->kw, m->kw, sizeof(in->kw));
			in->env = m->env;
			in->entered_ns = bpf_ktime_get_ns();
			in->gen = m->generation;
			in->lib = e->lib;
			in->fn = e->fn;
			in->action = 0;
			in->cs = cs;
			in->ci = ci;
			in->unconfirmed = e->hdr.flags & SL_EVF_UNCONFIRMED;
			in->scanned = 0;
			if (bpf_map_update_elem(&sl_tls_inflight, &id, in, BPF_ANY))
				sl_count_loss(SL_LOSS_MAP_FULL, SL_OP_TLS_WRITE);
		}
	}
	sl_match_scan(m, &cs, &ci, e, sizeof(struct sl_tls_buf),
		      offsetof(struct sl_tls_event, data), e->data_len, false);
	if (!plain && e->lib == SL_TLS_RUSTLS)
		sl_tls_inflight_scanned(m, cs, ci);
	if (e->hdr.flags & SL_EVF_READ_FAULT) {
		/* the capture itself faulted: nothing of the write was read */
		m->unread |= SL_UNREAD_FAULT;
		sl_count_loss(SL_LOSS_READ_FAULT, SL_OP_VERDICT);
	} else if (plain) {
		/* the iovecs' bytes past the capture, iovec by iovec */
		sl_plain_scan_rest(m, &cs, &ci, iov, e->data_len);
	} else if (e->len > e->data_len) {
		__u64 rest = e->len - e->data_len;

		if (rest > SL_TLS_SCAN_MAX) {
			m->unread |= SL_UNREAD_LIMIT;
			sl_count_loss(SL_LOSS_TRUNCATED, SL_OP_VERDICT);
			rest = SL_TLS_SCAN_MAX;
		}
		if (sl_match_scan_user(m, &cs, &ci, buf + e->data_len, rest, false) < 0) {
			m->unread |= SL_UNREAD_FAULT;
			sl_count_loss(SL_LOSS_READ_FAULT, SL_OP_VERDICT);
		}
	}
	if (c) {
		__builtin_memcpy(c->kw, m->kw, sizeof(c->kw));
		c->env = m->env;
		c->cs = cs;
		c->ci = ci;
		/* a plaintext stream that is not HTTP is never held for decoding */
		if ((m->env & SL_AC_ENV_DECODE) && c->plain != SL_PLAIN_OTHER)
			c->decode |= SL_TLS_DECODE_MARKER;
		m->env |= sl_tls_dest_env(c, m->slot);
	}
	decided = sl_match_decide(m, s);
	stops = decided && !m->monitor && m->action >= SL_KACT_FREEZE;
	quiet = m->mode || (*(volatile __u32 *)&s->flags & SL_SESSION_MONITOR);
	/*
	 * A model provider (SL_DEST_ROLE_PROVIDER, by the server name): the
	 * agent's conversation, recorded, not judged by the TLS rules (the
	 * daemon looks for labelled credentials in it: credential_exposure).
	 * The server name is the client's to choose, and so is the Host its
	 * request names (and the bytes may hide it: HPACK, escapes, codings):
	 * every write is held for decoding, read whole by the daemon, which
	 * judges each request whose Host (:authority) is not a provider's as it
	 * judges any other (requests.c). A model turn is a few writes.
	 */
	provider = c && sl_tls_provider(c);
	if (provider && quiet)
		return 0;
	/*
	 * Two-stage verdict: what the bytes decide stops the write (kill, hold)
	 * or the write is one the kernel cannot judge from its bytes: held like
	 * a freeze until the daemon has decoded and judged it. Never in monitor
	 * mode (session or policy): nothing is held there.
	 */
	if (c && (provider || (c->decode && !stops)) && !quiet) {
		/* the decision the daemon may release: not taken again at the send
		 * (sl_tls_recheck) */
		if (provider && stops)
			sl_tls_inflight_decided(m->action);
		m->rule = SL_RULE_DECODE;
		m->action = SL_KACT_FREEZE;
		m->monitor = 0;
		/* a located write not confirmed: the daemon reads SL_EVF_UNCONFIRMED of
		 * the capture when it decides (requests.c: a kill is a hold) */
		m->vflags = SL_VERDICT_DECODE;
		/* pairs the verdict with its capture record (two rings) */
		m->file_ino = e->hdr.ktime_ns;
		e->hdr.flags |= SL_EVF_DECODE_HOLD;
		sl_decode_hold_count();
		*vflags = sl_verdict_act(m, s);
		return 1;
	}
	if (!decided)
		return 0;
	if (e->hdr.flags & SL_EVF_UNCONFIRMED)
		sl_tls_unconfirmed_kill(m);
	*vflags = sl_verdict_act(m, s);
	if (!plain && (e->len > SL_TLS_RECHECK_MIN || sl_tls_lib_located(e->lib))) {
		__u64 id = bpf_get_current_pid_tgid();
		struct sl_tls_inflight *in = bpf_map_lookup_elem(&sl_tls_inflight, &id);

		/* stopped now: nothing to look at again; else remember the decision */
		if (in && !m->monitor && m->action >= SL_KACT_FREEZE)
			bpf_map_delete_elem(&sl_tls_inflight, &id);
		else if (in)
			in->action = m->action + 1;
	}
	if (c) {
		__builtin_memset(c->kw, 0, sizeof(c->kw));
		c->env = 0;
		c->cs = 0;
		c->ci = 0;
	}
	return 1;
}

/* a TLS write: the connection's state is kept per (tgid, conn) */
static __always_inline int sl_tls_write_verdict(struct sl_session_info *s, struct sl_tls_event *e,
						__u64 conn, __u64 buf, __u32 *vflags)
{
	struct sl_tls_conn *c;
	int created = 0;

	c = sl_tls_conn_get_new(conn, 1, &created);
	return sl_stream_verdict(s, e, c, created, conn, buf, NULL, false, vflags);
}

/*
 * Build and emit one record: len is the true length of the call, the first
 * min(len, sl_tls_capture_max) bytes at buf are captured.
 */
static __always_inline struct sl_tls_event *sl_tls_record(__u32 op, __u64 cgid, __u64 conn,
							  __u32 lib, __u32 fn, __u64 buf, __u64 len)
{
	struct sl_tls_conn *c;
	struct sl_tls_event *e;
	__u32 zero = 0;
	__u64 n, cap;

	e = bpf_map_lookup_elem(&sl_tls_bufs, &zero);
	if (!e) {
		sl_count_loss(SL_LOSS_RINGBUF_FULL, op);
		return NULL;
	}
	sl_hdr_fill(&e->hdr, op, cgid);
	e->conn = conn;
	e->len = len;
	e->buf = buf;
	e->lib = lib;
	e->fn = fn;
	e->_pad0 = 0;
	e->fd = 0;
	c = sl_tls_conn_get(conn, 0);
	if (c) {
		__builtin_memcpy(e->peer_addr, c->peer_addr, sizeof(e->peer_addr));
		e->peer_family = c->peer_family;
		e->peer_port = c->peer_port;
		e->sni_len = c->sni_len;
		__builtin_memcpy(e->sni, c->sni, sizeof(e->sni));
	} else {
		__builtin_memset(e->peer_addr, 0, sizeof(e->peer_addr));
		e->peer_family = 0;
		e->peer_port = 0;
		e->sni_len = 0;
		__builtin_memset(e->sni, 0, sizeof(e->sni));
	}

	cap = sl_tls_capture_max;
	if (cap > SL_TLS_CAPTURE_MAX)
		cap = SL_TLS_CAPTURE_MAX;
	n = len < cap ? len : cap;
	if (n < len)
		e->hdr.flags |= SL_EVF_TRUNCATED;
	/* keep the bound visible to the verifier */
	asm volatile("%[n] &= %[mask]" : [n] "+r"(n) : [mask] "i"(SL_TLS_CAPTURE_MASK));
	if (n > SL_TLS_CAPTURE_MAX)
		n = SL_TLS_CAPTURE_MAX;
	if (n && bpf_probe_read_user(e->data, n, (const void *)buf)) {
		e->hdr.flags |= SL_EVF_READ_FAULT;
		n = 0;
	}
	e->data_len = n;
	return e;
}

static __always_inline void sl_tls_emit(struct sl_tls_event *e, bool prio)
{
	__u64 n = e->data_len;

	if (n > SL_TLS_CAPTURE_MAX)
		n = SL_TLS_CAPTURE_MAX;
	sl_emit_to(e, sizeof(*e) + n, prio);
}

/*
 * A located write (loc: its key in sl_tls_locs) of a session thread: its
 * location's state (SL_TLS_LOC_*, 0: not confirmed yet). Not confirmed: the
 * thread's next TLS record is compared with len (sl_tls_confirm_io). Refuted:
 * the process is blind from now on (the connect hooks and blind_tls decide).
 */
static __always_inline __u32 sl_tls_loc_state(__u32 loc, __u64 conn, __u64 len)
{
	struct sl_tls_confirm cf = {
	    .conn = conn,
	    .len = len,
	    .entered_ns = bpf_ktime_get_ns(),
	    .loc = loc,
	};
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct sl_tls_confirm *old;
	struct sl_tls_proc *tp;
	__u64 st;
	struct sl_tls_loc *l;

	l = bpf_map_lookup_elem(&sl_tls_locs, &loc);
	st = l ? *(volatile __u64 *)&l->state : 0;
	if (st & SL_TLS_LOC_CONFIRMED)
		return SL_TLS_LOC_CONFIRMED;
	if (st & SL_TLS_LOC_REFUTED) {
		tp = bpf_map_lookup_elem(&sl_tls_procs, &tgid);
		/* state and parent share a 64-bit word (32-bit atomics need -mcpu=v3) */
		_Static_assert(__builtin_offsetof(struct sl_tls_proc, state) % 8 == 0, "aligned");
		if (tp)
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			__sync_fetch_and_or((__u64 *)&tp->state, (__u64)SL_TLS_PROC_BLIND);
#else
			__sync_fetch_and_or((__u64 *)&tp->state, (__u64)SL_TLS_PROC_BLIND << 32);
#endif
		return SL_TLS_LOC_REFUTED;
	}
	/* the first write since the thread's last socket write is the one its
	 * next record carries (rustls seals a long write's records one by one,
	 * then sends them together) */
	old = bpf_map_lookup_elem(&sl_tls_confirms, &id);
	if (old && cf.entered_ns - old->entered_ns < SL_TLS_CONFIRM_WINDOW_NS)
		return 0;
	if (bpf_map_update_elem(&sl_tls_confirms, &id, &cf, BPF_ANY))
		sl_count_loss(SL_LOSS_MAP_FULL, SL_OP_TLS_WRITE);
	return 0;
}

/* entry of a write: capture, decide, record; loc: a located function's key, else 0 */
static __always_inline int sl_tls_write(__u64 conn, __u64 buf, __u64 len, __u32 lib, __u32 fn,
					__u32 loc)
{
	bool unconfirmed = false;
	struct sl_session_info *s;
	struct sl_tls_event *e;
	struct sl_tls_conn *c;
	struct sl_match *m;
	__u64 cgid = 0;
	__u32 vflags = 0, zero = 0;
	int verdict;

	/* nothing to send (gnutls_record_send(s, NULL, 0) flushes a retry) */
	if (!len)
		return 0;
	s = sl_current_session(&cgid);
	if (!s)
		return 0;
	/* the session's proxy answering its client (sl_tls_proxy_reply); nothing more for
	 * the writes of other sessions */
	if (*(volatile __u32 *)&s->flags & SL_SESSION_BLIND_PROXY) {
		c = sl_tls_conn_get(conn, 0);
		if (c && c->plain == SL_PLAIN_REPLY)
			return 0;
	}
	/* not confirmed, or refuted (the process is blind now: its connects are
	 * refused; its writes on the connections it has are still captured and
	 * judged, a kill taken as a hold: refuting its location on purpose frees
	 * nothing) */
	if (loc)
		unconfirmed = !(sl_tls_loc_state(loc, conn, len) & SL_TLS_LOC_CONFIRMED);
	sl_tls_enter(conn, sl_tls_lib_located(lib));
	e = sl_tls_record(SL_OP_TLS_WRITE, cgid, conn, lib, fn, buf, len);
	if (!e)
		return 0;
	if (unconfirmed)
		e->hdr.flags |= SL_EVF_UNCONFIRMED;
	verdict = sl_tls_write_verdict(s, e, conn, buf, &vflags);
	m = verdict ? bpf_map_lookup_elem(&sl_match_buf, &zero) : NULL;
	/* the capture record first, then the verdict (the kernel has acted);
	 * both to the verdict ring when the write was stopped */
	/* a write held for decoding: its capture stays in order with the
	 * connection's earlier writes (bulk ring), only the verdict is urgent */
	sl_tls_emit(e, m && sl_match_prio(m) && !(m->vflags & SL_VERDICT_DECODE));
	if (m)
		sl_verdict_emit(m, cgid, SL_OP_TLS_WRITE, conn, vflags);
	return 0;
}

/* entry of a read: remember where the plaintext goes */
static __always_inline int sl_tls_read_entry(__u64 conn, __u64 buf, __u64 readbytes, __u32 lib,
					     __u32 fn)
{
	struct sl_tls_read_args args = {
	    .conn = conn,
	    .buf = buf,
	    .readbytes = readbytes,
	    .lib = lib,
	    .fn = fn,
	};
	__u64 id;

	if (!sl_current_session(NULL))
		return 0;
	id = bpf_get_current_pid_tgid();
	sl_tls_enter(conn, false);
	if (bpf_map_update_elem(&sl_tls_reads, &id, &args, BPF_ANY))
		sl_count_loss(SL_LOSS_MAP_FULL, SL_OP_TLS_READ);
	return 0;
}

/* ---- plaintext writes (SL_OP_PLAIN_WRITE) ---- */

/* a copy at a non-zero offset: off < 16384, n <= this (the record's data fits) */
#define SL_PLAIN_COPY_MAX (SL_TLS_CAPTURE_MAX - 16384)
_Static_assert(SL_TLS_CAPTURE_MAX > 16384, "plain copy bound");

struct sl_plain_copy_ctx {
	struct sl_tls_event *e;
	const struct sl_plain_iovs *iov;
	__u64 off;
	__u64 cap;
	int fault;
};

/* iovec i into the record, after the ones before it; stops at the capture limit */
static long sl_plain_copy_cb(__u64 i, void *arg)
{
	struct sl_plain_copy_ctx *x = arg;
	__u64 n, off = x->off, want;
	const void *src;

	if (i >= SL_PLAIN_IOV_MAX || i >= x->iov->n || off >= x->cap)
		return 1;
	want = x->iov->v[i].len;
	src = (const void *)x->iov->v[i].base;
	n = want < x->cap - off ? want : x->cap - off;
	if (!off) {
		asm volatile("%[n] &= %[mask]" : [n] "+r"(n) : [mask] "i"(SL_TLS_CAPTURE_MASK));
		if (n > SL_TLS_CAPTURE_MAX)
			n = SL_TLS_CAPTURE_MAX;
		if (n && bpf_probe_read_user(x->e->data, n, src)) {
			x->fault = 1;
			return 1;
		}
	} else {
		if (off >= 16384)
			return 1;
		if (n > SL_PLAIN_COPY_MAX)
			n = SL_PLAIN_COPY_MAX;
		asm volatile("%[n] &= %[mask]" : [n] "+r"(n) : [mask] "i"(0x7fff));
		if (n > SL_PLAIN_COPY_MAX)
			n = SL_PLAIN_COPY_MAX;
		asm volatile("%[o] &= %[mask]" : [o] "+r"(off) : [mask] "i"(0x3fff));
		if (n && bpf_probe_read_user(x->e->data + off, n, src)) {
			x->fault = 1;
			return 1;
		}
	}
	x->off = off + n;
	/* cut inside this iovec: the capture ends here */
	return n < want ? 1 : 0;
}

/*
 * The iovecs of the current write/writev/sendto/sendmsg (fn), read from its
 * arguments into the per-CPU sl_plain_iov_buf; 0 when there is nothing to
 * look at (no bytes, or arguments the kernel will refuse with EFAULT
 * itself), else 1. A global function: its paths are verified apart.
 */
__noinline int sl_plain_iovs_read(__u64 a1, __u64 a2, __u32 fn)
{
	struct sl_plain_iovs *iov;
	struct user_msghdr msg;
	__u64 uiov = 0, cnt = 0, bytes;
	__u32 zero = 0;

	iov = bpf_map_lookup_elem(&sl_plain_iov_buf, &zero);
	if (!iov)
		return 0;
	iov->n = 0;
	iov->more = 0;
	iov->total = 0;
	switch (fn) {
	case SL_NET_FN_WRITEV:
		uiov = a1;
		cnt = a2;
		break;
	case SL_NET_FN_SENDMSG:
		if (bpf_probe_read_user(&msg, sizeof(msg), (const void *)a1))
			return 0;
		uiov = (__u64)msg.msg_iov;
		cnt = msg.msg_iovlen;
		break;
	default: /* write, sendto: one buffer */
		iov->v[0].base = a1;
		iov->v[0].len = a2;
		iov->n = 1;
		break;
	}
	if (uiov) {
		if (cnt > SL_PLAIN_IOV_MAX) {
			iov->more = 1;
			cnt = SL_PLAIN_IOV_MAX;
		}
		bytes = cnt * sizeof(struct sl_plain_iov);
		asm volatile("%[b] &= %[mask]" : [b] "+r"(bytes) : [mask] "i"(0x1ff));
		if (bytes > sizeof(iov->v))
			bytes = sizeof(iov->v);
		if (!bytes || bpf_probe_read_user(iov->v, bytes, (const void *)uiov))
			return 0;
		iov->n = cnt;
	}
	for (int i = 0; i < SL_PLAIN_IOV_MAX; i++) {
		if (i >= iov->n)
			break;
		/* the kernel refuses a negative ssize_t total (EINVAL) */
		if ((__s64)iov->v[i].len < 0)
			return 0;
		iov->total += iov->v[i].len;
	}
	return iov->total ? 1 : 0;
}

/* the record of a plaintext write: the iovecs' bytes in order, up to the capture limit */
static __always_inline struct sl_tls_event *sl_plain_record(__u64 cgid, __u64 ino, __u32 fn,
							    __s32 fd,
							    const struct sl_plain_iovs *iov,
							    const struct sl_peer *peer)
{
	struct sl_plain_copy_ctx x = {.iov = iov};
	struct sl_tls_event *e;
	__u32 zero = 0;

	e = bpf_map_lookup_elem(&sl_tls_bufs, &zero);
	if (!e) {
		sl_count_loss(SL_LOSS_RINGBUF_FULL, SL_OP_PLAIN_WRITE);
		return NULL;
	}
	sl_hdr_fill(&e->hdr, SL_OP_PLAIN_WRITE, cgid);
	e->conn = ino;
	e->len = iov->total;
	e->buf = iov->n == 1 && !iov->more ? iov->v[0].base : 0;
	e->lib = SL_TLS_PLAIN;
	e->fn = fn;
	e->_pad0 = 0;
	e->fd = fd;
	__builtin_memcpy(e->peer_addr, peer->addr, sizeof(e->peer_addr));
	e->peer_family = peer->family;
	e->peer_port = peer->port;
	e->sni_len = 0;
	e->sni[0] = 0;
	x.e = e;
	x.cap = sl_tls_capture_max;
	if (x.cap > SL_TLS_CAPTURE_MAX)
		x.cap = SL_TLS_CAPTURE_MAX;
	bpf_loop(SL_PLAIN_IOV_MAX, sl_plain_copy_cb, &x, 0);
	if (x.fault)
		e->hdr.flags |= SL_EVF_READ_FAULT;
	/* more iovecs than read: truncated even if all read bytes were captured */
	if (x.off < iov->total || iov->more)
		e->hdr.flags |= SL_EVF_TRUNCATED;
	e->data_len = x.off > SL_TLS_CAPTURE_MAX ? SL_TLS_CAPTURE_MAX : x.off;
	return e;
}

/* is the byte at i of the capture c (either case of a letter) */
#define SL_PLAIN_AT(e, i, c) ((e)->data[(i)] == (c) || (e)->data[(i)] == ((c) ^ 0x20))

/*
 * What the first bytes of a stream say it is (SL_PLAIN_*). An HTTP request
 * line: empty lines, then a method (capital letters), a space and a target
 * (/path, *, http:// or https://); a write that ends inside that prefix
 * (a method cut by the write) counts as one: an agent cannot leave the
 * request's decoding by writing its first byte alone.
 */
static __always_inline __u16 sl_plain_kind(const struct sl_tls_event *e)
{
	__u32 n = e->data_len, i, t, p;

	if (e->hdr.flags & SL_EVF_READ_FAULT || !n)
		return SL_PLAIN_TEXT; /* unread: judged and decoded (fail closed) */
	if ((__u8)e->data[0] == 0x16)
		return SL_PLAIN_TLS; /* handshake record: a ClientHello */
	if (n >= 5 && e->data[0] == 'H' && e->data[1] == 'T' && e->data[2] == 'T' &&
	    e->data[3] == 'P' && e->data[4] == '/')
		return SL_PLAIN_REPLY;
	if (n >= 8 && e->data[0] == 'C' && e->data[1] == 'O' && e->data[2] == 'N' &&
	    e->data[3] == 'N' && e->data[4] == 'E' && e->data[5] == 'C' && e->data[6] == 'T' &&
	    e->data[7] == ' ')
		return SL_PLAIN_TUNNEL;
	for (i = 0; i < 8 && i < n; i++)
		if (e->data[i] != '\r' && e->data[i] != '\n')
			break;
	if (i >= n || i >= 8)
		return SL_PLAIN_TEXT;
	for (t = 0; t < 16 && i + t < n; t++)
		if (e->data[i + t] < 'A' || e->data[i + t] > 'Z')
			break;
	if (!t)
		return SL_PLAIN_OTHER;
	p = i + t;
	if (p >= n)
		return SL_PLAIN_TEXT;
	if (p >= 24 || e->data[p] != ' ')
		return SL_PLAIN_OTHER;
	p++;
	if (p >= n || e->data[p] == '/' || e->data[p] == '*')
		return SL_PLAIN_TEXT;
	if (p + 5 <= n && SL_PLAIN_AT(e, p, 'h') && SL_PLAIN_AT(e, p + 1, 't') &&
	    SL_PLAIN_AT(e, p + 2, 't') && SL_PLAIN_AT(e, p + 3, 'p') &&
	    (e->data[p + 4] == ':' ||
	     (p + 6 <= n && SL_PLAIN_AT(e, p + 4, 's') && e->data[p + 5] == ':')))
		return SL_PLAIN_TEXT;
	return SL_PLAIN_OTHER;
}

/*
 * The first write of the socket ino, in the record being built (sl_tls_bufs):
 * its stream's kind, kept in sl_plain_conns. Returns SL_PLAIN_*; a socket
 * that could not be kept is judged (SL_PLAIN_TEXT, without state). A global
 * function.
 */
__noinline int sl_plain_classify(__u64 ino)
{
	struct sl_tls_conn_key key = {.conn = ino};
	struct sl_tls_event *e;
	struct sl_tls_conn *c;
	__u32 zero = 0;
	__u16 kind;

	e = bpf_map_lookup_elem(&sl_tls_bufs, &zero);
	if (!e)
		return SL_PLAIN_TEXT;
	kind = sl_plain_kind(e);
	if (bpf_map_update_elem(&sl_plain_conns, &key, &sl_tls_conn_zero, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&sl_plain_conns, &key))
		sl_count_loss(SL_LOSS_MAP_FULL, SL_OP_PLAIN_WRITE);
	c = bpf_map_lookup_elem(&sl_plain_conns, &key);
	if (!c)
		return SL_PLAIN_TEXT;
	if (!c->plain)
		c->plain = kind;
	return c->plain;
}

/*
 * Judge and record the plaintext write in the per-CPU record (sl_tls_bufs)
 * and iovecs (sl_plain_iov_buf) of the socket ino. A global function: the
 * matcher is verified once, apart from the paths that led here.
 */
__noinline int sl_plain_judge(__u64 cgid, __u64 ino)
{
	struct sl_tls_conn_key key = {.conn = ino};
	struct sl_plain_iovs *iov;
	struct sl_session_info *s;
	struct sl_tls_event *e;
	struct sl_tls_conn *c;
	struct sl_match *m;
	__u32 vflags = 0, zero = 0;
	int verdict;

	s = bpf_map_lookup_elem(&sl_sessions, &cgid);
	e = bpf_map_lookup_elem(&sl_tls_bufs, &zero);
	iov = bpf_map_lookup_elem(&sl_plain_iov_buf, &zero);
	if (!s || !e || !iov)
		return 0;
	c = bpf_map_lookup_elem(&sl_plain_conns, &key);
	verdict = sl_stream_verdict(s, e, c, 0, ino, e->buf, iov, true, &vflags);
	m = verdict ? bpf_map_lookup_elem(&sl_match_buf, &zero) : NULL;
	/* as sl_tls_write: the capture first (held for decoding: in order on the
	 * bulk ring), then the verdict */
	sl_tls_emit(e, m && sl_match_prio(m) && !(m->vflags & SL_VERDICT_DECODE));
	if (m)
		sl_verdict_emit(m, cgid, SL_OP_PLAIN_WRITE, ino, vflags);
	return 0;
}

/*
 * The server name of a ClientHello (RFC 8446 4.1.2, RFC 6066 3) a session
 * wrote as the first record of a TCP stream: whatever library built it (a
 * BoringSSL or Go located without symbols has no SNI hook), the name is the
 * one the server sees. The ClientHello's first 16 KiB are read from the
 * plaintext record being built (sl_tls_bufs). */
#define SL_HELLO_MASK 0x3fff
#define SL_HELLO_EXTS 32 /* extensions looked at before server_name */
#define SL_TLS_CT_HANDSHAKE 22
#define SL_TLS_HS_CLIENT_HELLO 1
#define SL_TLS_EXT_SERVER_NAME 0

static __always_inline int sl_hb(const struct sl_tls_event *e, __u32 n, __u32 off)
{
	if (off >= n)
		return -1;
	return (__u8)e->data[off & SL_HELLO_MASK];
}

static __always_inline int sl_hb16(const struct sl_tls_event *e, __u32 n, __u32 off)
{
	int hi = sl_hb(e, n, off), lo = sl_hb(e, n, off + 1);

	return hi < 0 || lo < 0 ? -1 : (hi << 8) | lo;
}

/*
 * Put the server name of the ClientHello in the per-CPU record into the
 * state of socket ino (sl_plain_conns): the TLS connection that learns this
 * socket as its peer takes it (sl_tls_sock_io) when its library said none.
 * A global function: verified once.
 */
__noinline int sl_hello_sni(__u64 ino)
{
	struct sl_tls_conn_key key = {.conn = ino};
	struct sl_tls_event *e;
	struct sl_tls_conn *c;
	__u32 zero = 0, n, p, end;
	int v, len;

	e = bpf_map_lookup_elem(&sl_tls_bufs, &zero);
	c = bpf_map_lookup_elem(&sl_plain_conns, &key);
	if (!e || !c || c->sni_len)
		return 0;
	n = e->data_len < SL_HELLO_MASK + 1 ? e->data_len : SL_HELLO_MASK + 1;
	if (sl_hb(e, n, 0) != SL_TLS_CT_HANDSHAKE || sl_hb(e, n, 1) != 3 ||
	    sl_hb(e, n, 5) != SL_TLS_HS_CLIENT_HELLO)
		return 0;
	/* record 5, handshake header 4, version 2, random 32: the session id */
	v = sl_hb(e, n, 43);
	if (v < 0)
		return 0;
	p = 44 + v;
	v = sl_hb16(e, n, p); /* cipher suites */
	if (v < 0)
		return 0;
	p += 2 + v;
	v = sl_hb(e, n, p); /* compression methods */
	if (v < 0)
		return 0;
	p += 1 + v;
	v = sl_hb16(e, n, p); /* extensions */
	if (v < 0)
		return 0;
	p += 2;
	end = p + v < n ? p + v : n;
	for (int i = 0; i < SL_HELLO_EXTS; i++) {
		int type, elen;

		if (p + 4 > end || p > SL_HELLO_MASK)
			return 0;
		type = sl_hb16(e, n, p);
		elen = sl_hb16(e, n, p + 2);
		if (type < 0 || elen < 0)
			return 0;
		if (type == SL_TLS_EXT_SERVER_NAME)
			break;
		p += 4 + elen;
	}
	if (p + 4 > end || sl_hb16(e, n, p) != SL_TLS_EXT_SERVER_NAME)
		return 0;
	/* server_name_list: its length 2, then name_type 1 (host_name: 0), length 2 */
	if (sl_hb(e, n, p + 6) != 0)
		return 0;
	len = sl_hb16(e, n, p + 7);
	p += 9;
	if (len <= 0 || len > SL_SNI_MAX - 1 || p + len > end)
		return 0;
	p &= SL_HELLO_MASK;
	asm volatile("%[l] &= %[mask]" : [l] "+r"(len) : [mask] "i"(SL_SNI_MAX - 1));
	if (bpf_probe_read_kernel(c->sni, len, &e->data[p]))
		return 0;
	c->sni[len & (SL_SNI_MAX - 1)] = 0;
	c->sni_len = len;
	return 0;
}

/*
 * A session's write on a TCP socket: when the stream is not TLS, capture,
 * judge (the same rules and two-stage holds as a TLS write, the matcher
 * state kept per socket) and record it. At system call entry: the kernel has
 * not copied a byte yet; a kill or hold marks the session first, so its
 * egress is dropped before the bytes could leave (egress.bpf.c), then the
 * writer is stopped on its way back. a1, a2: the call's second and third
 * arguments. A global function: verified once, apart from its callers.
 */
__noinline int sl_plain_write(__u64 cgid, __u64 fd, __u64 a1, __u64 a2, __u32 fn)
{
	struct sl_session_info *s;
	struct sl_tls_conn_key key = {};
	struct sl_plain_iovs *iov;
	struct sl_peer peer = {};
	struct sl_tls_event *e;
	struct sl_tls_conn *c;
	struct socket *sock;
	__u32 zero = 0;
	__u64 ino = 0;

	s = bpf_map_lookup_elem(&sl_sessions, &cgid);
	if (!s)
		return 0;
	sock = sl_fd_socket_ino((long)fd, &ino);
	if (!sock || !ino || !sl_socket_peer(sock, &peer) ||
	    (peer.family != SL_AF_INET && peer.family != SL_AF_INET6) ||
	    peer.type != SL_SOCK_STREAM)
		return 0;
	key.conn = ino;
	c = bpf_map_lookup_elem(&sl_plain_conns, &key);
	if (c && c->plain != SL_PLAIN_TEXT && c->plain != SL_PLAIN_TUNNEL &&
	    c->plain != SL_PLAIN_OTHER)
		return 0;
	if (sl_plain_iovs_read(a1, a2, fn) <= 0)
		return 0;
	iov = bpf_map_lookup_elem(&sl_plain_iov_buf, &zero);
	if (!iov)
		return 0;
	e = sl_plain_record(cgid, ino, fn, (__s32)fd, iov, &peer);
	if (!e)
		return 0;
	if (!c) {
		int kind = sl_plain_classify(ino);

		if (kind == SL_PLAIN_TLS)
			sl_hello_sni(ino);
		if (kind != SL_PLAIN_TEXT && kind != SL_PLAIN_TUNNEL && kind != SL_PLAIN_OTHER)
			return 0;
		c = bpf_map_lookup_elem(&sl_plain_conns, &key);
	} else if (c->plain == SL_PLAIN_TUNNEL && e->data_len >= 2 && (__u8)e->data[0] == 0x16 &&
		   (__u8)e->data[1] == 0x03) {
		/* the tunnel carries TLS now: a ClientHello */
		c->plain = SL_PLAIN_TLS;
		sl_hello_sni(ino);
		return 0;
	}
	/* the peer as the socket has it now (a TCP Fast Open send connects it) */
	if (c && !c->peer_family && peer.port) {
		__builtin_memcpy(c->peer_addr, peer.addr, sizeof(c->peer_addr));
		c->peer_port = peer.port;
		c->peer_family = peer.family;
	}
	return sl_plain_judge(cgid, ino);
}

/*
 * The OpenSSL ABI. The attach cookie names the library when it is not
 * OpenSSL: BoringSSL located without symbols (user/daemon/tls.c) shares
 * these programs (one verification for both).
 */
static __always_inline __u32 sl_ssl_lib(void *ctx)
{
	__u64 lib = bpf_get_attach_cookie(ctx);

	return lib ? (__u32)lib : SL_TLS_OPENSSL;
}

/* SSL_write: a located one's cookie has its location's key in the high half */
SEC("uprobe")
int BPF_KPROBE(sl_ssl_write, void *ssl, const void *buf, int num)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);

	if (num <= 0)
		return 0;
	return sl_tls_write((__u64)ssl, (__u64)buf, (__u64)num,
			    cookie ? (__u32)cookie : SL_TLS_OPENSSL, SL_TLS_FN_SSL_WRITE,
			    (__u32)(cookie >> 32));
}

SEC("uprobe")
int BPF_KPROBE(sl_ssl_write_ex, void *ssl, const void *buf, __u64 num)
{
	return sl_tls_write((__u64)ssl, (__u64)buf, num, SL_TLS_OPENSSL, SL_TLS_FN_SSL_WRITE_EX, 0);
}

/*
 * OpenSSL 3's ssl_write_internal(ssl, buf, num, ...), located as the one
 * function SSL_write and SSL_write_ex both call (user/lib/tls_locate.h):
 * the writes that come through neither, e.g. BIO_f_ssl's BIO_write. The
 * cookie holds the offsets, from this function's entry, of the return
 * addresses of those two calls (two s32): a write that returns there was
 * taken by the outer probe. A return address that cannot be read counts as
 * another caller (taken twice rather than missed).
 */
SEC("uprobe")
int BPF_KPROBE(sl_ssl_write_inner, void *ssl, const void *buf, __u64 num)
{
	__u64 cookie = bpf_get_attach_cookie(ctx), ret = 0;
	__s64 d;

	if ((__s64)num <= 0)
		return 0;
	bpf_probe_read_user(&ret, sizeof(ret), (void *)PT_REGS_SP(ctx));
	d = (__s64)(ret - PT_REGS_IP(ctx));
	if (ret && (d == (__s32)(__u32)cookie || d == (__s32)(__u32)(cookie >> 32)))
		return 0;
	return sl_tls_write((__u64)ssl, (__u64)buf, num, SL_TLS_OPENSSL,
			    SL_TLS_FN_SSL_WRITE_INTERNAL, 0);
}

SEC("uprobe")
int BPF_KPROBE(sl_gnutls_send, void *session, const void *data, __u64 size)
{
	return sl_tls_write((__u64)session, (__u64)data, size, SL_TLS_GNUTLS, SL_TLS_FN_GNUTLS_SEND,
			    0);
}

SEC("uprobe")
int BPF_KPROBE(sl_ssl_read, void *ssl, void *buf, int num)
{
	return sl_tls_read_entry((__u64)ssl, (__u64)buf, 0, sl_ssl_lib(ctx), SL_TLS_FN_SSL_READ);
}

SEC("uprobe")
int BPF_KPROBE(sl_ssl_read_ex, void *ssl, void *buf, __u64 num, __u64 *readbytes)
{
	return sl_tls_read_entry((__u64)ssl, (__u64)buf, (__u64)readbytes, SL_TLS_OPENSSL,
				 SL_TLS_FN_SSL_READ_EX);
}

SEC("uprobe")
int BPF_KPROBE(sl_gnutls_recv, void *session, void *data, __u64 size)
{
	return sl_tls_read_entry((__u64)session, (__u64)data, 0, SL_TLS_GNUTLS,
				 SL_TLS_FN_GNUTLS_RECV);
}

/*
 * Go crypto/tls.(*Conn).Write(b []byte), ABIInternal (Go >= 1.17 on
 * amd64): c in rax, b's pointer in rbx, its length in rcx. Entry only: a
 * uretprobe on Go corrupts goroutine stacks when they move.
 */
SEC("uprobe")
int sl_go_tls_write(struct pt_regs *ctx)
{
#if defined(__TARGET_ARCH_x86)
	__u64 c = ctx->ax, buf = ctx->bx, len = ctx->cx;

	if ((__s64)len <= 0)
		return 0;
	return sl_tls_write(c, buf, len, SL_TLS_GO, SL_TLS_FN_GO_CONN_WRITE, 0);
#else
	return 0;
#endif
}

/* crypto/tls.(*Conn).Read, handshakeContext: c in rax; entry only */
SEC("uprobe")
int sl_go_tls_enter(struct pt_regs *ctx)
{
#if defined(__TARGET_ARCH_x86)
	if (sl_current_session(NULL))
		sl_tls_enter(ctx->ax, false);
#endif
	return 0;
}

/*
 * rustls on aws-lc (Codex), located without symbols (user/lib/tls_locate.h):
 * aws-lc's AEAD seal of one TLS record, at its entry, before a byte of it is
 * encrypted (in place: out == in):
 *   EVP_AEAD_CTX_seal(ctx, out, out_len, max_out_len, nonce, nonce_len,
 *                     in, in_len, ad, ad_len)
 *   EVP_AEAD_CTX_seal_scatter(ctx, out, out_tag, out_tag_len, max_out_tag_len,
 *                     nonce, nonce_len, in, in_len, extra_in, extra_in_len,
 *                     ad, ad_len)
 * (the C ABI: the arguments after the sixth on the stack). A call seals a
 * TLS record only when its additional data is that record's header, which
 * the kernel checks at every call (a wrong location captures nothing):
 *   TLS 1.3: 5 bytes: 23, 3, 3, and the record's length, in_len + 16 (the
 *            tag); in's last byte is the inner content type, application
 *            data (23) for a write (the handshake's Finished, an alert, a
 *            key update are not writes), and is not captured;
 *   TLS 1.2: 13 bytes: the sequence number, 23, 3, 3, in_len.
 * conn is the EVP_AEAD_CTX: one per connection and direction; its nonce
 * tells a new key at an address seen before (sl_tls_aead_keys).
 */
/*
 * A rustls record sealed on a connection whose socket is not known yet, per
 * process: a runtime may send it from another thread than the one that
 * sealed it (tokio, when the socket's send buffer was full). The process'
 * socket write whose first record has its length binds the connection to
 * that socket and judges the record again there with the destination
 * (sl_tls_unseen_io, then sl_tls_sock_write), from the state its plaintext
 * left (in).
 */
struct sl_tls_unbound {
	struct sl_tls_inflight in;
	__u64 conn;
	__u32 len_min; /* the record's length in its header: in_len + 16 (+ 8) */
	__u32 len_max;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SL_MAX_PROCS);
	__type(key, __u32); /* tgid */
	__type(value, struct sl_tls_unbound);
} sl_tls_unbound SEC(".maps");

struct sl_aead_args {
	__u64 st[7]; /* the arguments on the stack */
	__u64 in;
	__u64 in_len;
	__u64 ad;
	__u64 ad_len;
	__u64 nonce;
	__u64 nonce_len;
	__u64 iv;
	struct sl_tls_conn_key key;
	__u8 hdr[16]; /* ad */
	struct sl_tls_unbound ub;
};

/* per CPU: the programs below run with sl_tls_write's stack */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_aead_args);
} sl_aead_scratch SEC(".maps");

static __always_inline struct sl_aead_args *sl_aead_args(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&sl_aead_scratch, &zero);
}

/* the record just judged, on a connection without a socket yet: kept for
 * the process' socket write that sends it (struct sl_tls_unbound) */
static __always_inline void sl_aead_unbound(struct sl_aead_args *a, __u64 aead, __u64 len)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct sl_tls_inflight *in;
	struct sl_tls_conn *c;

	c = bpf_map_lookup_elem(&sl_tls_conns, &a->key);
	in = bpf_map_lookup_elem(&sl_tls_inflight, &id);
	if (!c || c->peer_family || !in || in->conn != aead)
		return;
	__builtin_memcpy(&a->ub.in, in, sizeof(a->ub.in));
	a->ub.conn = aead;
	/* TLS 1.3: the plaintext, its inner type, the tag; TLS 1.2: an explicit
	 * nonce of 8 bytes may come first */
	a->ub.len_min = (__u32)len + (a->ad_len == 5 ? 17 : 16);
	a->ub.len_max = a->ub.len_min + 8;
	bpf_map_update_elem(&sl_tls_unbound, &tgid, &a->ub, BPF_ANY);
}

/*
 * Is a->ad the header of a TLS record whose plaintext (the tag not counted)
 * is plain bytes long? 13: TLS 1.3 (5 bytes: 23, 3, 3, plain + 16); 12: TLS
 * 1.2 (13 bytes: the sequence number, the type, 3, 3, plain; the type in
 * a->hdr[8]); 0: not a record's (another use of the AEAD).
 */
static __always_inline int sl_aead_record(struct sl_aead_args *a, __u64 plain)
{
	if (a->ad_len == 5) {
		if (bpf_probe_read_user(a->hdr, 5, (const void *)a->ad) ||
		    a->hdr[0] != SL_TLS_CT_APPDATA || a->hdr[1] != 3 || a->hdr[2] != 3 ||
		    (((__u64)a->hdr[3] << 8) | a->hdr[4]) != plain + 16)
			return 0;
		return 13;
	}
	if (a->ad_len == 13) {
		if (bpf_probe_read_user(a->hdr, 13, (const void *)a->ad) || a->hdr[9] != 3 ||
		    a->hdr[10] != 3 || (((__u64)a->hdr[11] << 8) | a->hdr[12]) != plain)
			return 0;
		return 12;
	}
	return 0;
}

static __always_inline int sl_aead_seal_common(void *ctx, __u64 aead, struct sl_aead_args *a,
					       __u32 fn)
{
	__u64 cookie = bpf_get_attach_cookie(ctx), len = a->in_len, *was;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct sl_tls_sealed *sealed;
	__u8 ct = 0;
	int v;

	if (!len || len > SL_TLS_RECORD_MAX + 1 || a->nonce_len != 12 || !sl_current_session(NULL))
		return 0;
	v = sl_aead_record(a, len);
	if (v == 13) {
		/* TLS 1.3: the inner content type is the plaintext's last byte */
		if (bpf_probe_read_user(&ct, 1, (const void *)(a->in + len - 1)))
			return 0;
		len--;
	} else if (v == 12) {
		ct = a->hdr[8];
	} else {
		return 0;
	}
	/* a record the process will write as application data (TLS 1.3: all of
	 * them; TLS 1.2: those of type 23): sl_tls_unseen_io takes it */
	sealed = a->ad_len == 5 || ct == SL_TLS_CT_APPDATA
		     ? bpf_map_lookup_elem(&sl_tls_sealed, &tgid)
		     : NULL;
	if (sealed)
		__sync_fetch_and_add(&sealed->sealed, (__u64)1);
	/* the handshake's Finished, an alert, a key update: not a write */
	if (ct != SL_TLS_CT_APPDATA)
		return 0;
	if (!len || bpf_probe_read_user(&a->iv, sizeof(a->iv), (const void *)a->nonce))
		return 0;
	a->key.conn = aead;
	a->key.tgid = tgid;
	a->key._pad = 0;
	was = bpf_map_lookup_elem(&sl_tls_aead_keys, &a->key);
	if (!was || *was != a->iv) {
		/* another key at this address: the connection is new */
		bpf_map_delete_elem(&sl_tls_conns, &a->key);
		bpf_map_update_elem(&sl_tls_aead_keys, &a->key, &a->iv, BPF_ANY);
	}
	sl_tls_write(aead, a->in, len, SL_TLS_RUSTLS, fn, (__u32)(cookie >> 32));
	sl_aead_unbound(a, aead, len);
	return 0;
}

SEC("uprobe")
int sl_aead_seal(struct pt_regs *ctx)
{
#if defined(__TARGET_ARCH_x86)
	struct sl_aead_args *a = sl_aead_args();

	/* in, in_len, ad, ad_len: above the return address */
	if (!a || bpf_probe_read_user(a->st, 4 * sizeof(__u64), (const void *)(ctx->sp + 8)))
		return 0;
	a->nonce = ctx->r8;
	a->nonce_len = ctx->r9;
	a->in = a->st[0];
	a->in_len = a->st[1];
	a->ad = a->st[2];
	a->ad_len = a->st[3];
	/* sealed in place: out is in */
	if (ctx->si != a->in)
		return 0;
	return sl_aead_seal_common(ctx, ctx->di, a, SL_TLS_FN_AEAD_SEAL);
#else
	return 0;
#endif
}

SEC("uprobe")
int sl_aead_seal_scatter(struct pt_regs *ctx)
{
#if defined(__TARGET_ARCH_x86)
	struct sl_aead_args *a = sl_aead_args();

	/* nonce_len, in, in_len, extra_in, extra_in_len, ad, ad_len */
	if (!a || bpf_probe_read_user(a->st, 7 * sizeof(__u64), (const void *)(ctx->sp + 8)))
		return 0;
	a->nonce = ctx->r9;
	a->nonce_len = a->st[0];
	a->in = a->st[1];
	a->in_len = a->st[2];
	a->ad = a->st[5];
	a->ad_len = a->st[6];
	/* extra_in is sealed too: not a TLS record of rustls (it has none) */
	if (a->st[4] || ctx->si != a->in)
		return 0;
	return sl_aead_seal_common(ctx, ctx->di, a, SL_TLS_FN_AEAD_SEAL_SCATTER);
#else
	return 0;
#endif
}

/*
 * rustls on aws-lc: EVP_AEAD_CTX_open(ctx, out, out_len, max_out_len, nonce,
 * nonce_len, in, in_len, ad, ad_len), a record decrypted: its plaintext is
 * out[*out_len] at return (sl_tls_read_ret). A TLS record's when ad is its
 * header (TLS 1.3: 23, 3, 3, in_len; TLS 1.2: type 23 and in_len less the
 * tag). conn: the EVP_AEAD_CTX of the connection's reads (not its writes').
 */
SEC("uprobe")
int sl_aead_open(struct pt_regs *ctx)
{
#if defined(__TARGET_ARCH_x86)
	struct sl_tls_read_args r = {.lib = SL_TLS_RUSTLS, .fn = SL_TLS_FN_AEAD_OPEN};
	struct sl_aead_args *a = sl_aead_args();
	__u64 id = bpf_get_current_pid_tgid();
	int v;

	if (!a || !sl_current_session(NULL) ||
	    bpf_probe_read_user(a->st, 4 * sizeof(__u64), (const void *)(ctx->sp + 8)))
		return 0;
	a->in_len = a->st[1];
	a->ad = a->st[2];
	a->ad_len = a->st[3];
	/* in: the cipher text and its tag */
	v = a->in_len < 16 ? 0 : sl_aead_record(a, a->in_len - 16);
	if (!v || (v == 12 && a->hdr[8] != SL_TLS_CT_APPDATA))
		return 0;
	r.tls13 = v == 13;
	/* not sl_tls_read_entry: the record was read from its socket before it
	 * is opened, so the thread's next socket I/O does not tell its peer */
	r.conn = ctx->di;
	r.buf = ctx->si;
	r.readbytes = ctx->dx;
	if (bpf_map_update_elem(&sl_tls_reads, &id, &r, BPF_ANY))
		sl_count_loss(SL_LOSS_MAP_FULL, SL_OP_TLS_READ);
	return 0;
#else
	return 0;
#endif
}

/*
 * rustls on ring, located (user/lib/tls_locate.h): ring 0.17's AEAD seal
 * functions, reached through its algorithm statics, in the Rust ABI of
 * these builds: the result by reference in rdi, the key (conn) in rsi,
 * &nonce (12 bytes) in rdx, aad in rcx (pointer) and r8 (length), in_out in
 * r9 (pointer) and the first stack slot (length). The same record check as
 * aws-lc's: an ABI guessed wrong captures nothing, and its records, written
 * without a seal behind them, make the process blind (sl_tls_unseen_io).
 */
SEC("uprobe")
int sl_ring_seal(struct pt_regs *ctx)
{
#if defined(__TARGET_ARCH_x86)
	struct sl_aead_args *a = sl_aead_args();

	if (!a || bpf_probe_read_user(a->st, sizeof(__u64), (const void *)(ctx->sp + 8)))
		return 0;
	a->nonce = ctx->dx;
	a->nonce_len = 12;
	a->ad = ctx->cx;
	a->ad_len = ctx->r8;
	a->in = ctx->r9;
	a->in_len = a->st[0];
	return sl_aead_seal_common(ctx, ctx->si, a, SL_TLS_FN_RING_SEAL);
#else
	return 0;
#endif
}

/* return of SSL_read, SSL_read_ex, gnutls_record_recv */
SEC("uretprobe")
int BPF_KRETPROBE(sl_tls_read_ret, long ret)
{
	struct sl_tls_read_args *ap, a;
	struct sl_tls_event *e;
	__u64 id = bpf_get_current_pid_tgid();
	__u64 cgid = 0, n = 0;

	ap = bpf_map_lookup_elem(&sl_tls_reads, &id);
	if (!ap)
		return 0;
	a = *ap;
	bpf_map_delete_elem(&sl_tls_reads, &id);
	if (!sl_current_session(&cgid))
		return 0;
	switch (a.fn) {
	case SL_TLS_FN_SSL_READ:
		/* int SSL_read() */
		if ((int)ret <= 0)
			return 0;
		n = (__u64)(int)ret;
		break;
	case SL_TLS_FN_SSL_READ_EX:
		/* int SSL_read_ex(): 1 on success, *readbytes set */
		if ((int)ret != 1 || !a.readbytes ||
		    bpf_probe_read_user(&n, sizeof(n), (const void *)a.readbytes)) {
			if ((int)ret == 1)
				sl_count_loss(SL_LOSS_READ_FAULT, SL_OP_TLS_READ);
			return 0;
		}
		break;
	case SL_TLS_FN_AEAD_OPEN:
		/* int EVP_AEAD_CTX_open(): 1 on success, *out_len set; TLS 1.3: the
		 * inner content type last, application data (23) for a read */
		if ((int)ret != 1 || bpf_probe_read_user(&n, sizeof(n), (const void *)a.readbytes))
			return 0;
		if (a.tls13) {
			__u8 ct = 0;

			if (!n || bpf_probe_read_user(&ct, 1, (const void *)(a.buf + n - 1)) ||
			    ct != SL_TLS_CT_APPDATA)
				return 0;
			n--;
		}
		break;
	default:
		/* ssize_t gnutls_record_recv() */
		if (ret <= 0)
			return 0;
		n = ret;
		break;
	}
	if (!n)
		return 0;
	e = sl_tls_record(SL_OP_TLS_READ, cgid, a.conn, a.lib, a.fn, a.buf, n);
	if (e)
		sl_tls_emit(e, false);
	return 0;
}

/* SSL_do_handshake, gnutls_handshake: conn first (SSL_connect and
 * SSL_accept call SSL_do_handshake) */
SEC("uprobe")
int BPF_KPROBE(sl_tls_hs_enter, void *conn)
{
	if (sl_current_session(NULL))
		sl_tls_enter((__u64)conn, false);
	return 0;
}

/* long SSL_ctrl(SSL *s, int cmd, long larg, void *parg): SNI */
SEC("uprobe")
int BPF_KPROBE(sl_ssl_ctrl, void *ssl, int cmd, long larg, const char *parg)
{
	struct sl_tls_conn *c;
	long n;

	if (cmd != SL_SSL_CTRL_SET_TLSEXT_HOSTNAME || larg != SL_TLSEXT_NAMETYPE_HOST_NAME ||
	    !parg || !sl_current_session(NULL))
		return 0;
	c = sl_tls_conn_get((__u64)ssl, 1);
	if (!c)
		return 0;
	n = bpf_probe_read_user_str(c->sni, sizeof(c->sni), parg);
	if (n <= 0) {
		c->sni_len = 0;
		sl_count_loss(SL_LOSS_READ_FAULT, SL_OP_TLS_WRITE);
		return 0;
	}
	c->sni_len = n - 1;
	return 0;
}

/* int gnutls_server_name_set(session, type, const void *name, size_t len) */
SEC("uprobe")
int BPF_KPROBE(sl_gnutls_sni, void *session, int type, const void *name, __u64 len)
{
	struct sl_tls_conn *c;
	__u64 n = len;

	if (type != SL_GNUTLS_NAME_DNS || !name || !sl_current_session(NULL))
		return 0;
	c = sl_tls_conn_get((__u64)session, 1);
	if (!c)
		return 0;
	if (n > SL_SNI_MAX - 1)
		n = SL_SNI_MAX - 1;
	asm volatile("%[n] &= %[mask]" : [n] "+r"(n) : [mask] "i"(SL_SNI_MAX - 1));
	if (bpf_probe_read_user(c->sni, n, name)) {
		c->sni_len = 0;
		sl_count_loss(SL_LOSS_READ_FAULT, SL_OP_TLS_WRITE);
		return 0;
	}
	c->sni[n] = 0;
	c->sni_len = n;
	return 0;
}

/* SSL_free, gnutls_deinit: the connection id may be reused */
SEC("uprobe")
int BPF_KPROBE(sl_tls_free, void *conn)
{
	struct sl_tls_conn_key key = {
	    .conn = (__u64)conn,
	    .tgid = bpf_get_current_pid_tgid() >> 32,
	};

	if (sl_current_session(NULL))
		bpf_map_delete_elem(&sl_tls_conns, &key);
	return 0;
}

/*
 * A write of many records in progress (sl_tls_inflight) reaches its socket:
 * judge its whole buffer again, from the connection's state before it, as
 * it is now. When that decision stops the write and is stronger than the one
 * taken at entry, act now: the record being sent is dropped with the
 * session's egress (kill: the session is doomed; freeze: held) and the
 * writer stopped, before another byte leaves. Returns the SL_VERDICT_* flags
 * of the decision in the per-CPU sl_match, -1 when none. A global function:
 * verified once.
 */
__noinline int sl_tls_recheck(__u64 cgid)
{
	__u64 id = bpf_get_current_pid_tgid(), len;
	struct sl_tls_inflight *in;
	struct sl_session_info *s;
	struct sl_tls_conn *c;
	struct sl_match *m;
	__u16 cs, ci;

	in = bpf_map_lookup_elem(&sl_tls_inflight, &id);
	s = bpf_map_lookup_elem(&sl_sessions, &cgid);
	if (!in || !s)
		return -1;
	if (bpf_ktime_get_ns() - in->entered_ns > SL_TLS_RECHECK_WINDOW_NS)
		goto drop;
	m = sl_match_begin(SL_KCH_TLS);
	if (!m || m->generation != in->gen)
		goto drop;
	__builtin_memcpy(m->kw, in->kw, sizeof(m->kw));
	m->env = in->env;
	cs = in->cs;
	ci = in->ci;
	len = in->scanned ? 0 : in->len;
	if (len > SL_TLS_CAPTURE_MAX + SL_TLS_SCAN_MAX)
		len = SL_TLS_CAPTURE_MAX + SL_TLS_SCAN_MAX; /* judged unreadable at entry */
	if (sl_match_scan_user(m, &cs, &ci, in->buf, len, false) < 0)
		return -1; /* the buffer is gone: the call has returned */
	c = sl_tls_conn_get(in->conn, 0);
	if (c)
		m->env |= sl_tls_dest_env(c, m->slot);
	/* a model provider's connection too: a decision the daemon released at
	 * entry (the conversation: in->action) is not taken again, a stronger
	 * one means the buffer changed since */
	if (!sl_match_decide(m, s))
		return -1;
	if (in->unconfirmed)
		sl_tls_unconfirmed_kill(m);
	if (m->monitor || m->action < SL_KACT_FREEZE || (in->action && m->action + 1 <= in->action))
		return -1;
	bpf_map_delete_elem(&sl_tls_inflight, &id);
	return (int)sl_verdict_act(m, s);
drop:
	bpf_map_delete_elem(&sl_tls_inflight, &id);
	return -1;
}

/* is the connection's known peer the socket's peer p? */
static __always_inline bool sl_tls_peer_is(const struct sl_tls_conn *c, const struct sl_peer *p)
{
	__u64 a[2], b[2];

	__builtin_memcpy(a, p->addr, sizeof(a));
	__builtin_memcpy(b, c->peer_addr, sizeof(b));
	return p->port == c->peer_port && a[0] == b[0] && a[1] == b[1];
}

/*
 * The connection's socket is now ino (its peer p): the destination is that
 * socket's, and so is the server name when the library gave none (the
 * ClientHello written there: sl_hello_sni).
 */
static __always_inline void sl_tls_conn_on_socket(struct sl_tls_conn *c, const struct sl_peer *p,
						  __u64 ino)
{
	struct sl_tls_conn_key pk = {.conn = ino};
	struct sl_tls_conn *pc;

	__builtin_memcpy(c->peer_addr, p->addr, sizeof(c->peer_addr));
	c->peer_port = p->port;
	c->peer_family = p->family;
	c->sock = ino;
	if (c->sni_len || !ino)
		return;
	pc = bpf_map_lookup_elem(&sl_plain_conns, &pk);
	if (pc && pc->sni_len && pc->sni_len < SL_SNI_MAX) {
		__builtin_memcpy(c->sni, pc->sni, sizeof(c->sni));
		c->sni_len = pc->sni_len;
	}
}

/*
 * A socket write of a session thread after a located write not confirmed
 * yet: the TLS records at the start of its first buffer (up to
 * SL_TLS_CONFIRM_RECORDS: a handshake flight may come first). An
 * application data record the length of the located write plus what a
 * cipher adds confirms the location; application data of another length,
 * or bytes that are not TLS, count against it (SL_TLS_LOC_REFUTE_AT with
 * none that matched refute it). Handshake records only, or another socket
 * than the connection's: looked for again at the next write. A global
 * function: verified once.
 */
__noinline int sl_tls_confirm_io(__u64 fd, __u64 a1, __u64 a2, __u32 fn)
{
	__u64 id = bpf_get_current_pid_tgid(), base, avail, off = 0, want;
	struct sl_tls_confirm *cfp, cf;
	struct sl_plain_iovs *iov;
	struct sl_peer peer = {};
	struct sl_tls_conn *c;
	struct sl_tls_loc *l;
	struct socket *sock;
	__u32 zero = 0;
	int res = 0; /* 1 match, -1 mismatch */
	__u64 old;

	cfp = bpf_map_lookup_elem(&sl_tls_confirms, &id);
	if (!cfp)
		return 0;
	cf = *cfp;
	if (bpf_ktime_get_ns() - cf.entered_ns > SL_TLS_CONFIRM_WINDOW_NS) {
		bpf_map_delete_elem(&sl_tls_confirms, &id);
		return 0;
	}
	sock = sl_fd_socket((long)fd);
	if (!sock || BPF_CORE_READ(sock, type) != SL_SOCK_STREAM)
		return 0;
	if (!sl_socket_peer(sock, &peer) ||
	    (peer.family != SL_AF_INET && peer.family != SL_AF_INET6))
		return 0;
	c = sl_tls_conn_get(cf.conn, 0);
	if (c && c->peer_family && !sl_tls_peer_is(c, &peer))
		return 0;
	if (!sl_plain_iovs_read(a1, a2, fn))
		return 0;
	iov = bpf_map_lookup_elem(&sl_plain_iov_buf, &zero);
	if (!iov)
		return 0;
	base = iov->v[0].base;
	avail = iov->v[0].len;
	want = cf.len < SL_TLS_RECORD_MAX ? cf.len : SL_TLS_RECORD_MAX;
	for (int i = 0; i < SL_TLS_CONFIRM_RECORDS; i++) {
		__u8 h[5];
		__u64 rl;

		if (off + sizeof(h) > avail)
			break;
		if (bpf_probe_read_user(h, sizeof(h), (const void *)(base + off)))
			return 0;
		if (h[1] != 3 || h[0] < SL_TLS_CT_CCS || h[0] > SL_TLS_CT_APPDATA) {
			res = -1; /* not TLS */
			break;
		}
		rl = ((__u64)h[3] << 8) | h[4];
		if (h[0] == SL_TLS_CT_APPDATA) {
			if (rl >= want + 16 && rl <= want + SL_TLS_LOC_SLACK) {
				res = 1;
				break;
			}
			res = -1; /* unless a later record matches */
		}
		off += sizeof(h) + rl;
	}
	if (!res)
		return 0;
	bpf_map_delete_elem(&sl_tls_confirms, &id);
	l = bpf_map_lookup_elem(&sl_tls_locs, &cf.loc);
	if (!l)
		return 0;
	if (res > 0) {
		__sync_fetch_and_add(&l->matches, (__u64)1);
		__sync_fetch_and_or(&l->state, (__u64)SL_TLS_LOC_CONFIRMED);
		return 0;
	}
	old = __sync_fetch_and_add(&l->mismatches, (__u64)1);
	if (old + 1 >= SL_TLS_LOC_REFUTE_AT && !*(volatile __u64 *)&l->matches)
		__sync_fetch_and_or(&l->state, (__u64)SL_TLS_LOC_REFUTED);
	return 0;
}

/* the TLS application data records that start the iovecs (a rustls record
 * is an iovec of its own): how many, at most SL_TLS_UNSEEN_IOVS */
#define SL_TLS_UNSEEN_IOVS 8

/*
 * The process' record sealed on a connection without a socket (struct
 * sl_tls_unbound) is the one this write sends when its first record has
 * that record's length: the connection is bound to this socket, and the
 * record judged again at this send with its destination, whichever thread
 * sealed it (sl_tls_sock_write, with this thread's write in flight). Bound
 * meanwhile (the sealing thread sent it) or too old: forgotten.
 */
static __always_inline void sl_tls_bind_unbound(struct sl_tls_unbound *ub, struct socket *sock,
						__u64 ino, const struct sl_plain_iovs *iov,
						__u32 tgid)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sl_peer peer = {};
	struct sl_tls_conn *c;
	__u8 h[5];
	__u32 rl;

	c = sl_tls_conn_get(ub->conn, 0);
	if (!c || c->peer_family ||
	    bpf_ktime_get_ns() - ub->in.entered_ns > SL_TLS_RECHECK_WINDOW_NS) {
		bpf_map_delete_elem(&sl_tls_unbound, &tgid);
		return;
	}
	if (!iov->n || iov->v[0].len < sizeof(h) ||
	    bpf_probe_read_user(h, sizeof(h), (const void *)iov->v[0].base))
		return;
	rl = ((__u32)h[3] << 8) | h[4];
	if (h[0] != SL_TLS_CT_APPDATA || h[1] != 3 || h[2] != 3 || rl < ub->len_min ||
	    rl > ub->len_max)
		return;
	if (!sl_socket_peer(sock, &peer) ||
	    (peer.family != SL_AF_INET && peer.family != SL_AF_INET6))
		return;
	sl_tls_conn_on_socket(c, &peer, ino);
	bpf_map_update_elem(&sl_tls_inflight, &id, &ub->in, BPF_ANY);
	bpf_map_delete_elem(&sl_tls_unbound, &tgid);
}

/*
 * Per TCP socket of such a process: the stream position (TCP sequence
 * number, write_seq) up to which its bytes were looked at. A write the
 * socket took in part is sent again from where it stopped: the records it
 * had counted are not counted twice.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SL_TLS_MAX_CONNS);
	__type(key, __u64); /* socket inode */
	__type(value, __u32);
} sl_tls_unseen_pos SEC(".maps");

/*
 * A socket write of a rustls process under located seals (sl_tls_sealed):
 * each TLS application data record in it takes one seal counted since; a
 * record without one was encrypted where no probe saw it. Its location
 * counts it (unseen) and the process is blind from now on: its connects are
 * blind_tls's to decide (the record itself goes: detected, not stopped).
 * Only for an executable the entry was made for. A global function.
 */
__noinline int sl_tls_unseen_io(__u64 fd, __u64 a1, __u64 a2, __u32 fn)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, zero = 0, k = 0, pos, *done;
	struct sl_tls_unbound *ub;
	struct sl_session_info *s;
	struct sl_plain_iovs *iov;
	struct sl_match *m;
	__u64 cgid = 0;
	struct sl_tls_sealed *sd;
	struct sl_tls_proc *tp;
	struct sl_tls_loc *l;
	struct socket *sock;
	struct sock *sk;
	__u64 have, ino = 0;

	sd = bpf_map_lookup_elem(&sl_tls_sealed, &tgid);
	if (!sd)
		return 0;
	tp = bpf_map_lookup_elem(&sl_tls_procs, &tgid);
	if (!tp || tp->exe.ino != sd->exe.ino || tp->exe.dev != sd->exe.dev ||
	    tp->exe.ctime_ns != sd->exe.ctime_ns)
		return 0;
	sock = sl_fd_socket_ino((long)fd, &ino);
	if (!sock || !ino || BPF_CORE_READ(sock, type) != SL_SOCK_STREAM)
		return 0;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || (BPF_CORE_READ(sk, __sk_common.skc_family) != SL_AF_INET &&
		    BPF_CORE_READ(sk, __sk_common.skc_family) != SL_AF_INET6))
		return 0;
	if (!sl_plain_iovs_read(a1, a2, fn))
		return 0;
	iov = bpf_map_lookup_elem(&sl_plain_iov_buf, &zero);
	if (!iov)
		return 0;
	ub = bpf_map_lookup_elem(&sl_tls_unbound, &tgid);
	if (ub)
		sl_tls_bind_unbound(ub, sock, ino, iov, tgid);
	/* where this write's bytes start in the stream, and what was looked at */
	pos = BPF_CORE_READ((struct tcp_sock *)sk, write_seq);
	done = bpf_map_lookup_elem(&sl_tls_unseen_pos, &ino);
	for (int i = 0; i < SL_TLS_UNSEEN_IOVS; i++) {
		__u64 len;
		__u8 h[5];

		if (i >= iov->n)
			break;
		len = iov->v[i].len;
		/* counted before: a write the socket took in part, sent again */
		if (done && (__s32)(pos - *done) < 0) {
			pos += (__u32)len;
			continue;
		}
		if (len < sizeof(h) ||
		    bpf_probe_read_user(h, sizeof(h), (const void *)iov->v[i].base))
			break;
		if (h[0] != SL_TLS_CT_APPDATA || h[1] != 3 || h[2] != 3 ||
		    (((__u32)h[3] << 8) | h[4]) > SL_TLS_RECORD_MAX + 256)
			break;
		k++;
		pos += (__u32)len;
	}
	if (!done || (__s32)(pos - *done) > 0)
		bpf_map_update_elem(&sl_tls_unseen_pos, &ino, &pos, BPF_ANY);
	if (!k)
		return 0;
	have = *(volatile __u64 *)&sd->sealed;
	if (have >= k) {
		__sync_fetch_and_add(&sd->sealed, -(__u64)k);
		return 0;
	}
	if (have)
		__sync_fetch_and_add(&sd->sealed, -have);
	l = bpf_map_lookup_elem(&sl_tls_locs, &sd->loc);
	if (l)
		__sync_fetch_and_add(&l->unseen, (__u64)(k - have));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	__sync_fetch_and_or((__u64 *)&tp->state, (__u64)SL_TLS_PROC_BLIND);
#else
	__sync_fetch_and_or((__u64 *)&tp->state, (__u64)SL_TLS_PROC_BLIND << 32);
#endif
	/* where unread TLS may not leave (blind_tls: deny, proxy): held before
	 * it does (the session's egress first, then the writer) */
	s = sl_current_session(&cgid);
	if (!s || !(*(volatile __u32 *)&s->flags & SL_SESSION_BLIND_DENY))
		return 0;
	m = sl_match_begin(SL_KCH_TLS);
	if (!m)
		return 0;
	m->monitor = m->mode || (*(volatile __u32 *)&s->flags & SL_SESSION_MONITOR);
	m->rule = SL_RULE_UNREAD_TLS;
	m->action = SL_KACT_FREEZE;
	m->taint = s->taint;
	sl_verdict_emit(m, cgid, SL_OP_TLS_WRITE, 0, sl_verdict_act(m, s));
	return 0;
}

/*
 * A socket write of a thread whose located BoringSSL write (sl_tls_enter,
 * verify) is on a connection with a known peer: on the socket it was learned
 * on, nothing to do (and the write in progress kept for this check is let
 * go unless it is long enough to be looked at again anyway). On another TCP
 * socket that carries TLS: a new connection at a freed one's address, or a
 * program moving one: its destination is the new socket's (peer, name), its
 * matcher state is kept, and the write in progress is judged again with the
 * new destination at this send (sl_tls_sock_write) and stopped if that
 * decides more than the entry did. A global function.
 */
__noinline int sl_tls_verify_sock(__u64 fd)
{
	__u64 id = bpf_get_current_pid_tgid(), ino = 0;
	struct sl_tls_conn_key pk = {};
	struct sl_tls_inflight *in;
	struct sl_tls_pending *pp;
	struct sl_tls_conn *c, *pc;
	struct sl_peer peer = {};
	struct socket *sock;

	/* no time window: the thread's next TLS call replaces the entry, and a
	 * send that comes late (a deferred flush) is still the call's */
	pp = bpf_map_lookup_elem(&sl_tls_pending, &id);
	if (!pp || !pp->verify)
		return 0;
	sock = sl_fd_socket_ino((long)fd, &ino);
	if (!sock || !ino || !sl_socket_peer(sock, &peer) ||
	    (peer.family != SL_AF_INET && peer.family != SL_AF_INET6) ||
	    peer.type != SL_SOCK_STREAM)
		return 0;
	c = sl_tls_conn_get(pp->conn, 0);
	bpf_map_delete_elem(&sl_tls_pending, &id);
	in = bpf_map_lookup_elem(&sl_tls_inflight, &id);
	if (!c || !c->sock || c->sock == ino) {
		if (c && !c->sock)
			c->sock = ino;
		if (in && in->len <= SL_TLS_RECHECK_MIN)
			bpf_map_delete_elem(&sl_tls_inflight, &id);
		return 0;
	}
	/* another socket: only one whose stream is TLS (its first record was) */
	pk.conn = ino;
	pc = bpf_map_lookup_elem(&sl_plain_conns, &pk);
	if (!pc || pc->plain != SL_PLAIN_TLS)
		return 0;
	/* the destination is the new socket's; the matcher state (keywords,
	 * automaton, decoding) is kept: moving a connection between sockets
	 * must not cut a request in two for the matcher */
	c->dest_env = 0;
	c->dest_done = 0;
	c->peer_env = 0;
	c->sni_len = 0;
	c->sni[0] = 0;
	sl_tls_conn_on_socket(c, &peer, ino);
	/* the decision at entry was the old destination's (a provider's
	 * conversation released by the daemon, say): judged again at the send
	 * from nothing */
	if (in)
		in->action = 0;
	return 0;
}

/*
 * A socket write of a thread with a TLS write in progress on that socket:
 * judge it again; when it is stopped now, record the buffer as it is now
 * (the capture) and then the verdict, flagged SL_VERDICT_RECHECK.
 */
static __always_inline void sl_tls_sock_write(__u64 cgid, long fd)
{
	__u64 id = bpf_get_current_pid_tgid(), conn, buf, len;
	struct sl_tls_inflight *in;
	struct sl_tls_event *e;
	struct sl_tls_conn *c;
	struct sl_peer peer = {};
	struct socket *sock;
	struct sl_match *m;
	__u32 zero = 0, lib, fn, scanned;
	int vflags;

	in = bpf_map_lookup_elem(&sl_tls_inflight, &id);
	if (!in)
		return;
	conn = in->conn;
	buf = in->buf;
	len = in->len;
	lib = in->lib;
	fn = in->fn;
	scanned = in->scanned;
	/* the connection's socket (the peer it has, when it is known) */
	sock = sl_fd_socket(fd);
	if (!sock)
		return;
	c = sl_tls_conn_get(conn, 0);
	if (c && c->peer_family && (!sl_socket_peer(sock, &peer) || !sl_tls_peer_is(c, &peer)))
		return;
	vflags = sl_tls_recheck(cgid);
	if (vflags < 0)
		return;
	m = bpf_map_lookup_elem(&sl_match_buf, &zero);
	if (!m)
		return;
	/* a sealed record's buffer is cipher text now: its capture at entry stands */
	e = scanned ? NULL : sl_tls_record(SL_OP_TLS_WRITE, cgid, conn, lib, fn, buf, len);
	if (e)
		sl_tls_emit(e, true);
	sl_verdict_emit(m, cgid, SL_OP_TLS_WRITE, conn, (__u32)vflags | SL_VERDICT_RECHECK);
}

/*
 * blind_tls: proxy: sock is a connection the session's proxy accepted (its
 * local end is loopback at the proxy's port: nothing else can be bound there
 * while the proxy listens). The proxy's TLS writes on it are its replies to
 * a client of the session (the response it read upstream, recorded there as
 * tls_read): neither judged nor recorded, as an HTTP response on a
 * plaintext stream (SL_PLAIN_REPLY).
 */
static __always_inline bool sl_tls_proxy_reply(const struct sl_session_info *s, struct socket *sock)
{
	__u16 pp = *(volatile __u16 *)&s->proxy_port;
	struct sock *sk;
	__u16 family;

	if (!(*(volatile __u32 *)&s->flags & SL_SESSION_BLIND_PROXY) || !pp)
		return false;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || BPF_CORE_READ(sk, __sk_common.skc_num) != pp)
		return false;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family == SL_AF_INET)
		return BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr) == bpf_htonl(0x7f000001);
	if (family == SL_AF_INET6) {
		__u64 a[2] = {};

		BPF_CORE_READ_INTO(&a, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		return a[0] == 0 && a[1] == bpf_cpu_to_be64(1);
	}
	return false;
}

/*
 * A session thread reads or writes fd: if it entered a TLS call on a
 * connection without a peer just before, this socket is that peer.
 */
static __always_inline void sl_tls_learn_peer(struct sl_session_info *s, long fd)
{
	__u64 id = bpf_get_current_pid_tgid(), ino = 0;
	struct sl_tls_pending *pp, p;
	struct sl_peer peer = {};
	struct sl_tls_conn *c;
	struct socket *sock;

	pp = bpf_map_lookup_elem(&sl_tls_pending, &id);
	if (!pp)
		return;
	p = *pp;
	/* a known peer checked at a write (sl_tls_verify_sock), never at a read */
	if (p.verify)
		return;
	if (bpf_ktime_get_ns() - p.entered_ns > SL_TLS_PEER_WINDOW_NS) {
		bpf_map_delete_elem(&sl_tls_pending, &id);
		return;
	}
	/* files, pipes, eventfds in between do not count */
	sock = sl_fd_socket_ino(fd, &ino);
	if (!sock)
		return;
	bpf_map_delete_elem(&sl_tls_pending, &id);
	if (!sl_socket_peer(sock, &peer) ||
	    (peer.family != SL_AF_INET && peer.family != SL_AF_INET6))
		return;
	c = sl_tls_conn_get(p.conn, 1);
	/* bound meanwhile at another thread's send (sl_tls_bind_unbound) */
	if (!c || c->peer_family)
		return;
	sl_tls_conn_on_socket(c, &peer, ino);
	if (sl_tls_proxy_reply(s, sock))
		c->plain = SL_PLAIN_REPLY;
}

/*
 * A session thread reads or writes a descriptor. A write: a first record of
 * a stream classified (a plaintext request judged, a ClientHello's name
 * kept), the peer of the TLS call just entered learned, a located
 * connection's socket checked, a located write's record compared, and a
 * TLS write in progress judged again at this send with its destination.
 */
static __always_inline int sl_tls_sock_io(struct trace_event_raw_sys_enter *ctx, __u32 fn)
{
	long fd = (long)ctx->args[0];
	bool write = fn != 0;
	__u64 cgid = 0;
	struct sl_session_info *s;

	s = sl_current_session(&cgid);
	if (!s)
		return 0;
	/* a session with a kill verdict: any process of it that reads or
	 * writes dies now, before the daemon has killed the cgroup */
	if (*(volatile __u32 *)&s->flags & SL_SESSION_KILLED) {
		bpf_send_signal(SL_SIGKILL);
		return 0;
	}
	if (write) {
		struct sl_tls_proc *tp;
		__u32 tgid = bpf_get_current_pid_tgid() >> 32;

		/* a fork the TLS gate holds, resumed by someone before the daemon
		 * attached its probes, writing to a socket: its TLS writes on the
		 * connections it inherited were not seen: it dies */
		tp = bpf_map_lookup_elem(&sl_tls_procs, &tgid);
		if (tp && (*(volatile __u32 *)&tp->state & SL_TLS_PROC_FORKED) &&
		    sl_fd_socket(fd)) {
			bpf_send_signal(SL_SIGKILL);
			return 0;
		}
		sl_plain_write(cgid, fd, ctx->args[1], ctx->args[2], fn);
		/* the peer before the send is judged again: the first write of a
		 * connection is judged with its destination at its send */
		sl_tls_learn_peer(s, fd);
		sl_tls_verify_sock(fd);
		sl_tls_confirm_io(fd, ctx->args[1], ctx->args[2], fn);
		sl_tls_unseen_io(fd, ctx->args[1], ctx->args[2], fn);
		sl_tls_sock_write(cgid, fd);
		return 0;
	}
	sl_tls_learn_peer(s, fd);
	return 0;
}

/*
 * write, writev, sendto, sendmsg: one program (verified once), attached by
 * the kernel room to sys_enter_writev, sys_enter_sendto and sys_enter_sendmsg
 * too, with the SL_NET_FN_* of the call as the attach cookie (0 here: write).
 */
SEC("tracepoint/syscalls/sys_enter_write")
int sl_tls_sys_send(struct trace_event_raw_sys_enter *ctx)
{
	__u32 fn = (__u32)bpf_get_attach_cookie(ctx);

	return sl_tls_sock_io(ctx, fn ? fn : SL_NET_FN_WRITE);
}

SEC("tracepoint/syscalls/sys_enter_read")
int sl_tls_sys_read(struct trace_event_raw_sys_enter *ctx)
{
	return sl_tls_sock_io(ctx, 0);
}

SEC("tracepoint/syscalls/sys_enter_recvfrom")
int sl_tls_sys_recvfrom(struct trace_event_raw_sys_enter *ctx)
{
	return sl_tls_sock_io(ctx, 0);
}

/*
 * The TLS gate for files mapped after exec (tlsgate.bpf.h): an executable
 * mapping (PROT_EXEC) of a file not in sl_tls_exes by a session process (the
 * dynamic loader mapping a library, a dlopen by path) stops the process on
 * its way back from mmap, before the file's code can run, until the daemon
 * analysed the file and, for a file it instruments (libssl, a private copy),
 * attached the probes of this process. A file instrumented per process
 * (SL_TLS_EXE_TARGET) holds every session process that maps it, once per
 * mapping.
 */
#define SL_PROT_EXEC 4

SEC("tracepoint/syscalls/sys_enter_mmap")
int sl_tls_mmap(struct trace_event_raw_sys_enter *ctx)
{
	struct sl_tls_map_event e = {};
	struct sl_tls_maphold *h;
	struct task_struct *task;
	struct fdtable *fdt;
	struct file **fds, *file = NULL;
	struct inode *inode;
	__s32 fd = (__s32)ctx->args[4];
	__u32 tgid, *v;
	__u64 cgid;

	if (!(ctx->args[2] & SL_PROT_EXEC) || fd < 0 || !*(volatile __u32 *)&sl_tls_gate_on)
		return 0;
	if (!sl_current_session(&cgid))
		return 0;
	task = (struct task_struct *)bpf_get_current_task();
	fdt = BPF_CORE_READ(task, files, fdt);
	if ((__u32)fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return 0;
	inode = BPF_CORE_READ(file, f_inode);
	e.key.ino = BPF_CORE_READ(inode, i_ino);
	e.key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	e.key.ctime_ns = sl_inode_ctime(inode);
	tgid = bpf_get_current_pid_tgid() >> 32;
	v = bpf_map_lookup_elem(&sl_tls_exes, &e.key);
	if (v && !(*v & SL_TLS_EXE_TARGET)) {
		/* a blind program run through the dynamic loader: the process is blind */
		if (*v & SL_TLS_EXE_BLIND)
			sl_tls_gate_blind(tgid, &e.key);
		return 0;
	}
	/* not analysed, or instrumented per process: held until the daemon
	 * analysed it and attached this process' probes; a hold before this one
	 * not handled yet stays (the sequence number only grows) */
	h = bpf_map_lookup_elem(&sl_tls_mapheld, &tgid);
	if (!h) {
		struct sl_tls_maphold first = {.key = e.key, .seq = 0};

		if (bpf_map_update_elem(&sl_tls_mapheld, &tgid, &first, BPF_NOEXIST) &&
		    !bpf_map_lookup_elem(&sl_tls_mapheld, &tgid)) {
			sl_count_loss(SL_LOSS_MAP_FULL, SL_OP_TLS_MAP);
			return 0;
		}
		h = bpf_map_lookup_elem(&sl_tls_mapheld, &tgid);
		if (!h)
			return 0;
	}
	e.seq = __sync_fetch_and_add(&h->seq, (__u64)1) + 1;
	h->key = e.key;
	/* not stopped: its connects are refused until the daemon is done */
	bpf_send_signal(SL_SIGSTOP);
	sl_hdr_fill(&e.hdr, SL_OP_TLS_MAP, cgid);
	e.fd = fd;
	sl_emit_to(&e, sizeof(e), true);
	return 0;
}

/*
 * The first return to user space of a fork (the child's side of fork,
 * clone and clone3 returns 0 there, before the child runs an instruction of
 * its own): a child the TLS gate holds (sl_tls_gate_fork) is stopped here
 * until the daemon attached its probes (SL_OP_TLS_MAP, fd SL_TLS_MAP_FORK).
 */
static __always_inline int sl_tls_fork_ret(struct trace_event_raw_sys_exit *ctx)
{
	struct sl_tls_map_event e = {};
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct sl_tls_proc *p;
	__u64 cgid;

	if (ctx->ret != 0 || (__u32)id != tgid)
		return 0;
	p = bpf_map_lookup_elem(&sl_tls_procs, &tgid);
	if (!p || (*(volatile __u32 *)&p->state & (SL_TLS_PROC_HELD | SL_TLS_PROC_FORKED)) !=
		      (SL_TLS_PROC_HELD | SL_TLS_PROC_FORKED))
		return 0;
	if (!sl_current_session(&cgid))
		return 0;
	e.key = p->exe;
	e.parent = p->parent;
	e.fd = SL_TLS_MAP_FORK;
	/* not stopped: its connects are refused until the daemon is done */
	bpf_send_signal(SL_SIGSTOP);
	sl_hdr_fill(&e.hdr, SL_OP_TLS_MAP, cgid);
	sl_emit_to(&e, sizeof(e), true);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_fork")
int sl_tls_fork_ret_fork(struct trace_event_raw_sys_exit *ctx)
{
	return sl_tls_fork_ret(ctx);
}

SEC("tracepoint/syscalls/sys_exit_clone")
int sl_tls_fork_ret_clone(struct trace_event_raw_sys_exit *ctx)
{
	return sl_tls_fork_ret(ctx);
}

SEC("tracepoint/syscalls/sys_exit_clone3")
int sl_tls_fork_ret_clone3(struct trace_event_raw_sys_exit *ctx)
{
	return sl_tls_fork_ret(ctx);
}
