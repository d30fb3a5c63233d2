// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * SL_OP_CONNECT, SL_OP_UDP_SEND, SL_OP_CONNECT_RESULT -> audit record members
 * (docs/events.md: connect, udp_send, connect_result).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "ingest_decode.h"

/* a name from the table, else the number (NULL name and 0: null) */
static void name_or_int(struct sl_jw *w, const char *key, const char *name, unsigned int v,
			bool zero_null)
{
	if (name)
		sl_jw_str(w, key, name);
	else if (!v && zero_null)
		sl_jw_null(w, key);
	else
		sl_jw_int(w, key, v);
}

static const char *family_name(unsigned int family)
{
	switch (family) {
	case AF_INET:
		return "inet";
	case AF_INET6:
		return "inet6";
	default:
		return NULL;
	}
}

static const char *protocol_name(unsigned int proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	default:
		return NULL;
	}
}

static const char *sock_type_name(unsigned int type)
{
	switch (type) {
	case SOCK_STREAM:
		return "stream";
	case SOCK_DGRAM:
		return "dgram";
	case SOCK_RAW:
		return "raw";
	case SOCK_SEQPACKET:
		return "seqpacket";
	default:
		return NULL;
	}
}

/* "addr" (and "mapped_ipv4" for ::ffff:a.b.c.d) for family/addr */
static int set_addr(struct sl_jw *w, unsigned int family, const __u8 addr[16])
{
	char buf[INET6_ADDRSTRLEN];
	static const __u8 v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (family == AF_INET) {
		if (!inet_ntop(AF_INET, addr, buf, sizeof(buf)))
			return -EBADMSG;
		sl_jw_str(w, "addr", buf);
		return 0;
	}
	if (family == AF_INET6) {
		if (!inet_ntop(AF_INET6, addr, buf, sizeof(buf)))
			return -EBADMSG;
		sl_jw_str(w, "addr", buf);
		if (!memcmp(addr, v4mapped, sizeof(v4mapped))) {
			if (!inet_ntop(AF_INET, addr + 12, buf, sizeof(buf)))
				return -EBADMSG;
			sl_jw_str(w, "mapped_ipv4", buf);
		}
		return 0;
	}
	sl_jw_null(w, "addr");
	return 0;
}

int sl_decode_net(const void *data, size_t len, struct sl_jw *w)
{
	const struct sl_net_event *e = data;
	int err;

	if (len < sizeof(*e))
		return -EBADMSG;
	if (e->hdr.op != SL_OP_CONNECT && e->hdr.op != SL_OP_UDP_SEND &&
	    e->hdr.op != SL_OP_CONNECT_RESULT)
		return -EBADMSG;
	name_or_int(w, "family", family_name(e->family), e->family, true);
	err = set_addr(w, e->family, e->addr);
	if (err)
		return err;
	if (e->family)
		sl_jw_int(w, "port", e->port);
	else
		sl_jw_null(w, "port");
	if (e->protocol || e->family)
		name_or_int(w, "protocol", protocol_name(e->protocol), e->protocol, false);
	else
		sl_jw_null(w, "protocol");
	name_or_int(w, "sock_type", sock_type_name(e->sock_type), e->sock_type, true);
	/* refused by the TLS gate: the tls_blind_spot record of the process says why */
	if (e->hdr.flags & SL_EVF_TLS_GATE)
		sl_jw_str(w, "refused", "tls_gate");
	if (e->hdr.op != SL_OP_CONNECT_RESULT) {
		if (e->hdr.flags & SL_EVF_TLS_GATE)
			sl_jw_int(w, "errno", -(int64_t)e->ret);
		return w->err;
	}
	/* a result's errno is its own (once, also for a refusal by the gate) */

	sl_jw_int(w, "fd", e->fd);
	sl_jw_int(w, "result", e->ret);
	if (e->ret < 0) {
		sl_jw_int(w, "errno", -(int64_t)e->ret);
		sl_jw_str(w, "error", strerrorname_np(e->ret > -4096 ? -e->ret : 0));
	}
	return w->err;
}
