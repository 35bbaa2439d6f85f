// SPDX-License-Identifier: MIT
/*
 * flow.c - does a queued packet open a connection? (include/fwd/flow.h)
 */
#include <linux/netfilter/nf_conntrack_common.h>

#include "fwd/flow.h"
#include "fwd/hooks.h"
#include "fwd/value.h"

#define TCP_SYN	0x02
#define TCP_ACK	0x10

/*
 * ICMP messages that ask for an answer start a flow; answers and errors
 * never do (conntrack calls errors RELATED). Used only when the kernel gave
 * no conntrack state.
 */
static bool icmp_query(uint8_t proto, uint8_t type)
{
	if (proto == 1)		/* echo, timestamp, information, address mask */
		return type == 8 || type == 13 || type == 15 || type == 17;
	return type == 128 || type == 139;	/* echo request, node information query */
}

/*
 * TCP: a SYN without ACK, whatever conntrack says (its loose pickup calls a
 * mid-stream ACK NEW too). Otherwise the kernel's word when it gave one; in
 * new-connections mode every queued packet is NEW. In every-packet mode
 * without conntrack state, ICMP counts by type and any other protocol
 * (UDP) counts: the headers cannot tell a reply from a new flow.
 */
bool flow_opens(const struct fwd_key *k, const struct fwd_pkt_info *info, int ctinfo,
		bool every_packet)
{
	if (info->later_fragment)
		return false;
	if (k->proto == FWD_PROTO_TCP)
		return (info->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN &&
		       (ctinfo == FWD_CTINFO_NONE || ctinfo == IP_CT_NEW);
	if (ctinfo != FWD_CTINFO_NONE)
		return ctinfo == IP_CT_NEW;
	if (!every_packet)
		return true;
	if (k->proto == 1 || k->proto == 58)
		return icmp_query(k->proto, info->icmp_type);
	return true;
}

int flow_ctinfo_from_mark(uint32_t mark)
{
	return mark & FWD_NEW_MARK ? IP_CT_NEW : IP_CT_ESTABLISHED;
}
