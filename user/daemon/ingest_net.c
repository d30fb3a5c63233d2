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

static json_t *family_json(unsigned int family)
{
	switch (family) {
	case AF_INET:
		return json_string("inet");
	case AF_INET6:
		return json_string("inet6");
	case 0:
		return json_null();
	default:
		return json_integer(family);
	}
}

static json_t *protocol_json(unsigned int proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return json_string("tcp");
	case IPPROTO_UDP:
		return json_string("udp");
	case IPPROTO_ICMP:
		return json_string("icmp");
	case IPPROTO_ICMPV6:
		return json_string("icmpv6");
	default:
		return json_integer(proto);
	}
}

static json_t *sock_type_json(unsigned int type)
{
	switch (type) {
	case SOCK_STREAM:
		return json_string("stream");
	case SOCK_DGRAM:
		return json_string("dgram");
	case SOCK_RAW:
		return json_string("raw");
	case SOCK_SEQPACKET:
		return json_string("seqpacket");
	case 0:
		return json_null();
	default:
		return json_integer(type);
	}
}

/* "addr" (and "mapped_ipv4" for ::ffff:a.b.c.d) for family/addr */
static int set_addr(json_t *rec, unsigned int family, const __u8 addr[16])
{
	char buf[INET6_ADDRSTRLEN];
	static const __u8 v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (family == AF_INET) {
		if (!inet_ntop(AF_INET, addr, buf, sizeof(buf)))
			return -EBADMSG;
		return json_object_set_new(rec, "addr", json_string(buf)) ? -ENOMEM : 0;
	}
	if (family == AF_INET6) {
		if (!inet_ntop(AF_INET6, addr, buf, sizeof(buf)))
			return -EBADMSG;
		if (json_object_set_new(rec, "addr", json_string(buf)))
			return -ENOMEM;
		if (!memcmp(addr, v4mapped, sizeof(v4mapped))) {
			if (!inet_ntop(AF_INET, addr + 12, buf, sizeof(buf)))
				return -EBADMSG;
			if (json_object_set_new(rec, "mapped_ipv4", json_string(buf)))
				return -ENOMEM;
		}
		return 0;
	}
	return json_object_set_new(rec, "addr", json_null()) ? -ENOMEM : 0;
}

int sl_decode_net(const void *data, size_t len, json_t *rec)
{
	const struct sl_net_event *e = data;
	int err;

	if (len < sizeof(*e))
		return -EBADMSG;
	if (e->hdr.op != SL_OP_CONNECT && e->hdr.op != SL_OP_UDP_SEND &&
	    e->hdr.op != SL_OP_CONNECT_RESULT)
		return -EBADMSG;
	if (json_object_set_new(rec, "family", family_json(e->family)))
		return -ENOMEM;
	err = set_addr(rec, e->family, e->addr);
	if (err)
		return err;
	if (json_object_set_new(rec, "port", e->family ? json_integer(e->port) : json_null()) ||
	    json_object_set_new(rec, "protocol",
				e->protocol || e->family ? protocol_json(e->protocol)
							 : json_null()) ||
	    json_object_set_new(rec, "sock_type", sock_type_json(e->sock_type)))
		return -ENOMEM;
	/* refused by the TLS gate: the tls_blind_spot record of the process says why */
	if ((e->hdr.flags & SL_EVF_TLS_GATE) &&
	    (json_object_set_new(rec, "refused", json_string("tls_gate")) ||
	     json_object_set_new(rec, "errno", json_integer(-e->ret))))
		return -ENOMEM;
	if (e->hdr.op != SL_OP_CONNECT_RESULT)
		return 0;

	if (json_object_set_new(rec, "fd", json_integer(e->fd)) ||
	    json_object_set_new(rec, "result", json_integer(e->ret)))
		return -ENOMEM;
	if (e->ret < 0) {
		const char *name = strerrorname_np(-e->ret);

		if (json_object_set_new(rec, "errno", json_integer(-e->ret)) ||
		    json_object_set_new(rec, "error", name ? json_string(name) : json_null()))
			return -ENOMEM;
	}
	return 0;
}
