/* SPDX-License-Identifier: MIT */
/*
 * flow.h - does a queued packet open a connection?
 *
 * Scan detection, knock progress and per-source limits count sources; in
 * every-packet mode replies pass through fwd too, and a server answering 25
 * clients would look like a scanner of 25 ports. They count only packets
 * that open a connection: a TCP SYN without ACK, or the first packet of a
 * UDP/ICMP flow (conntrack NEW). The kernel tells the conntrack state with
 * NFQA_CT_INFO when it can (NFQA_CFG_F_CONNTRACK, a kernel built with
 * CONFIG_NETFILTER_NETLINK_GLUE_CT); without it, new-connections mode queues
 * only NEW packets anyway, every-packet mode reads FWD_NEW_MARK that fwd's
 * own hooks set on NEW packets, and only under --no-hooks falls back to
 * what the headers say (see flow_opens()).
 */
#ifndef FWD_FLOW_H
#define FWD_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "fwd/packet.h"

#define FWD_CTINFO_NONE	(-1)	/* the kernel gave no NFQA_CT_INFO */

/*
 * Does the packet of K and INFO open a connection? CTINFO is the kernel's
 * enum ip_conntrack_info or FWD_CTINFO_NONE; EVERY_PACKET says whether the
 * hooks queue every packet (true) or only conntrack NEW ones.
 */
bool flow_opens(const struct fwd_key *k, const struct fwd_pkt_info *info, int ctinfo,
		bool every_packet);
/*
 * The conntrack state fwd's own hooks tell through the packet MARK in
 * every-packet mode (FWD_NEW_MARK): NEW, or ESTABLISHED for anything else.
 */
int flow_ctinfo_from_mark(uint32_t mark);

#endif
