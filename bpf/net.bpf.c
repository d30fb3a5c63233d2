// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Network capture for session processes.
 *
 * cgroup/connect4, connect6, sendmsg4, sendmsg6: the destination as the
 * kernel is about to use it, before the connect or send happens
 * (SL_OP_CONNECT, SL_OP_UDP_SEND). The daemon attaches these programs to the
 * scopelock parent cgroup with BPF_F_ALLOW_MULTI, so they only run for
 * sessions; sl_current_session() is still checked (cgroups nested below a
 * session, cgroups that are not (yet) sessions).
 *
 * With a policy loaded, the destination's labels (sl_ip_labels: address and
 * port) are the evidence for the rules of channel connect: deny refuses the
 * connect or send (the caller gets EPERM; the record's ret says -EPERM), log
 * and alert let it through, monitor rules and sessions only record. The
 * verdict record follows the capture record. The TLS gate
 * (tlsgate.bpf.h) refuses the connects and sends of a process whose TLS is
 * not instrumented yet or is a blind spot the scope denies (SL_EVF_TLS_GATE).
 *
 * sys_enter_connect / sys_exit_connect: the result of connect() per fd
 * (SL_OP_CONNECT_RESULT) for inet/inet6 sockets, and for fds whose socket
 * could not be resolved (family 0).
 */
#include "common.bpf.h"
#include "label.bpf.h"
#include "match.bpf.h"
#include "sock.bpf.h"
#include "tlsgate.bpf.h"

/* cgroup sock_addr program return values */
#define SL_SOCK_DENY 0
#define SL_SOCK_ALLOW 1

/* connect() between sys_enter and sys_exit, per thread */
struct sl_connect_inflight {
	struct sl_peer req; /* destination as the caller passed it (telemetry) */
	__s32 fd;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SL_MAX_INFLIGHT);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct sl_connect_inflight);
} sl_net_connect_inflight SEC(".maps");

/*
 * Judge a destination of session s: the labels of its address and port
 * (sl_ip_labels) are the evidence, the rules of channel connect decide.
 * Returns the decision (NULL: no rule matched, or no policy); *vflags:
 * SL_VERDICT_*; *deny: refuse the connect / send (EPERM). A pure decision
 * over maps: the caller reports it after the capture record.
 */
static __always_inline struct sl_match *
sl_net_judge(struct sl_session_info *s, const struct sl_net_event *e, __u32 *vflags, bool *deny)
{
	struct sl_match *m;

	*deny = false;
	m = sl_match_begin(SL_KCH_CONNECT);
	if (!m)
		return NULL;
	if (sl_session_doomed(m, s, vflags)) {
		*deny = true;
		return m;
	}
	m->env = sl_label_ip(m->slot, e->family == SL_AF_INET ? 4 : 6, e->addr, e->port);
	/* the target of a connect is its destination alone (scopelock_decide.h) */
	m->n_patterns = 0; /* connect rules have no pattern */
	if (!sl_match_decide(m, s))
		return NULL;
	/* log and alert let it through; kill and freeze are not connect actions */
	if (m->monitor) {
		*vflags = SL_VERDICT_MONITOR;
	} else if (m->action == SL_KACT_DENY) {
		*vflags = SL_VERDICT_ENFORCED;
		*deny = true;
	} else {
		*vflags = 0;
	}
	return m;
}

static __always_inline int sl_sock_addr(struct bpf_sock_addr *ctx, __u32 op, __u16 family)
{
	struct sl_session_info *s;
	struct sl_net_event e = {};
	struct sl_match *m;
	__u32 vflags = 0;
	__u64 cgid = 0;
	bool deny;

	s = sl_current_session(&cgid);
	if (!s)
		return SL_SOCK_ALLOW;
	sl_hdr_fill(&e.hdr, op, cgid);
	e.family = family;
	/* user_port: network byte order in the low 16 bits */
	e.port = bpf_ntohs((__u16)ctx->user_port);
	e.sock_type = ctx->type;
	e.protocol = ctx->protocol;
	e.fd = -1;
	if (family == SL_AF_INET) {
		__u32 a = ctx->user_ip4;

		__builtin_memcpy(e.addr, &a, 4);
	} else {
		/* one 32-bit context load per word: the verifier checks each */
		__u32 w0 = ctx->user_ip6[0];
		__u32 w1 = ctx->user_ip6[1];
		__u32 w2 = ctx->user_ip6[2];
		__u32 w3 = ctx->user_ip6[3];

		__builtin_memcpy(e.addr, &w0, 4);
		__builtin_memcpy(e.addr + 4, &w1, 4);
		__builtin_memcpy(e.addr + 8, &w2, 4);
		__builtin_memcpy(e.addr + 12, &w3, 4);
	}
	m = sl_net_judge(s, &e, &vflags, &deny);
	/* TLS not instrumented yet, or unreadable and the scope says deny */
	if (!deny && sl_tls_gate_refuses(s, family, e.addr, e.port, e.sock_type)) {
		deny = true;
		e.hdr.flags |= SL_EVF_TLS_GATE;
	}
	if (deny)
		e.ret = -SL_EPERM; /* the record says it was refused */
	/* sock_addr programs cannot signal: a connect never throttles (its
	 * result, from the sys_exit tracepoint, does) */
	sl_emit_nosignal(&e, sizeof(e));
	if (m)
		sl_verdict_emit(m, cgid, op, 0, vflags);
	return deny ? SL_SOCK_DENY : SL_SOCK_ALLOW;
}

SEC("cgroup/connect4")
int sl_connect4(struct bpf_sock_addr *ctx)
{
	return sl_sock_addr(ctx, SL_OP_CONNECT, SL_AF_INET);
}

SEC("cgroup/connect6")
int sl_connect6(struct bpf_sock_addr *ctx)
{
	return sl_sock_addr(ctx, SL_OP_CONNECT, SL_AF_INET6);
}

SEC("cgroup/sendmsg4")
int sl_sendmsg4(struct bpf_sock_addr *ctx)
{
	return sl_sock_addr(ctx, SL_OP_UDP_SEND, SL_AF_INET);
}

SEC("cgroup/sendmsg6")
int sl_sendmsg6(struct bpf_sock_addr *ctx)
{
	return sl_sock_addr(ctx, SL_OP_UDP_SEND, SL_AF_INET6);
}

/* the address the caller passed to connect() (user memory: telemetry only) */
static __always_inline void sl_read_user_sockaddr(const void *uaddr, __u64 alen, struct sl_peer *p)
{
	__u16 fam = 0;
	__be16 port = 0;

	if (!uaddr || alen < 4 || bpf_probe_read_user(&fam, sizeof(fam), uaddr))
		return;
	if (fam == SL_AF_INET && alen >= 8) {
		bpf_probe_read_user(&port, sizeof(port), uaddr + 2);
		bpf_probe_read_user(p->addr, 4, uaddr + 4);
	} else if (fam == SL_AF_INET6 && alen >= 24) {
		bpf_probe_read_user(&port, sizeof(port), uaddr + 2);
		bpf_probe_read_user(p->addr, 16, uaddr + 8);
	} else {
		return;
	}
	p->family = fam;
	p->port = bpf_ntohs(port);
}

SEC("tracepoint/syscalls/sys_enter_connect")
int sl_connect_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct sl_connect_inflight in = {};
	struct sl_peer sk = {};
	struct socket *sock;
	__u64 key;

	if (!sl_current_session(NULL))
		return 0;
	in.fd = (__s32)ctx->args[0];
	sock = sl_fd_socket(in.fd);
	if (sock) {
		__u16 fam = sl_socket_peer(sock, &sk);

		/* unix and other local sockets are not network connects */
		if (fam && fam != SL_AF_INET && fam != SL_AF_INET6)
			return 0;
		in.req.type = sk.type;
		in.req.protocol = sk.protocol;
	}
	sl_read_user_sockaddr((const void *)ctx->args[1], ctx->args[2], &in.req);
	key = bpf_get_current_pid_tgid();
	if (bpf_map_update_elem(&sl_net_connect_inflight, &key, &in, BPF_ANY))
		sl_count_loss(SL_LOSS_MAP_FULL, SL_OP_CONNECT_RESULT);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int sl_connect_exit(struct trace_event_raw_sys_exit *ctx)
{
	struct sl_connect_inflight *inp, in;
	struct sl_net_event e = {};
	struct sl_peer p = {};
	__u64 key = bpf_get_current_pid_tgid();
	__u64 cgid = 0;

	inp = bpf_map_lookup_elem(&sl_net_connect_inflight, &key);
	if (!inp)
		return 0;
	in = *inp;
	bpf_map_delete_elem(&sl_net_connect_inflight, &key);
	if (!sl_current_session(&cgid))
		return 0;
	sl_hdr_fill(&e.hdr, SL_OP_CONNECT_RESULT, cgid);
	e.fd = in.fd;
	e.ret = (__s32)ctx->ret;
	/* the kernel's view of the peer when the socket holds one (connected or
	 * in progress), else what the caller asked for */
	if (sl_socket_peer(sl_fd_socket(in.fd), &p) && p.port &&
	    (p.family == SL_AF_INET || p.family == SL_AF_INET6)) {
		in.req.family = p.family;
		in.req.port = p.port;
		__builtin_memcpy(in.req.addr, p.addr, sizeof(p.addr));
	}
	__builtin_memcpy(e.addr, in.req.addr, sizeof(e.addr));
	e.family = in.req.family;
	e.port = in.req.port;
	e.sock_type = in.req.type;
	e.protocol = in.req.protocol;
	sl_emit(&e, sizeof(e));
	return 0;
}
