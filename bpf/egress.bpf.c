// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Network hold backstop: while a session is held (SL_SESSION_HELD in its
 * sl_session_info.flags, set by a freeze verdict in the kernel, cleared by
 * scopelockd when a person approves) or doomed (SL_SESSION_KILLED, set by a
 * kill verdict: the daemon kills the cgroup next), every packet its sockets
 * send is dropped.
 *
 * Why: a freeze verdict stops the writer with SIGSTOP at SSL_write entry,
 * then the daemon freezes the whole session cgroup. Between the two, another
 * process of the session could send SIGCONT and let SSL_write encrypt and
 * send the held request. With the session's egress dropped, TCP keeps those
 * bytes queued and retransmits them only once the flag is cleared (approval);
 * a denial kills the session and they never leave: the sockets a killed
 * session leaves behind keep its cgroup (and its cgroup programs) and would
 * flush the queued bytes once the session's map entry is removed, so a
 * cgroup in sl_held whose session is gone stays dropped.
 *
 * cgroup_skb/egress, attached by the daemon to the session parent cgroup
 * (BPF_F_ALLOW_MULTI through a link). The session is the socket's cgroup
 * ancestor at sl_session_level (the socket's cgroup, not the current task:
 * retransmissions run from timers). Two hash lookups per packet.
 */
#include "common.bpf.h"
#include "match.bpf.h"

/* cgroup skb program return values */
#define SL_SKB_DROP 0
#define SL_SKB_PASS 1

SEC("cgroup_skb/egress")
int sl_egress_hold(struct __sk_buff *skb)
{
	struct sl_session_info *s;
	__u64 id;

	if (sl_session_level)
		id = bpf_skb_ancestor_cgroup_id(skb, sl_session_level);
	else
		id = bpf_skb_cgroup_id(skb);
	if (!id)
		return SL_SKB_PASS;
	s = bpf_map_lookup_elem(&sl_sessions, &id);
	if (s && (*(volatile __u32 *)&s->flags & (SL_SESSION_HELD | SL_SESSION_KILLED)))
		return SL_SKB_DROP;
	/*
	 * sl_held is set by the kernel with the flag and removed only by the
	 * daemon when a person approved: a daemon update of the session value
	 * that raced with the hold, or a session that ended while held (its
	 * orphaned sockets still hold the bytes), never lets them out.
	 */
	if (bpf_map_lookup_elem(&sl_held, &id))
		return SL_SKB_DROP;
	return SL_SKB_PASS;
}
