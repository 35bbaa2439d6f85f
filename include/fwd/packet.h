/* SPDX-License-Identifier: MIT */
/*
 * packet.h - header parsing for the packet path.
 *
 * packet_parse() reads the IPv4/IPv6 header, walks IPv6 extension headers
 * with its own bounded walker, and reads the TCP/UDP ports, straight out of
 * the bytes the kernel copied (zero-copy). It reads nothing past `caplen`
 * and judges lengths against `wirelen`, the packet's length before the copy
 * range cut it. It never allocates and has no side effects.
 */
#ifndef FWD_PACKET_H
#define FWD_PACKET_H

#include <stddef.h>
#include <stdint.h>
#include "fwd/ruleset.h"

/* Why a packet is malformed. FWD_PKT_OK is 0; the rest index packet_reason_name(). */
enum fwd_pkt_reason {
	FWD_PKT_OK = 0,
	FWD_PKT_TRUNCATED,	/* shorter than its IP header */
	FWD_PKT_VERSION,	/* IP version neither 4 nor 6 */
	FWD_PKT_IHL,		/* IPv4 header length below 20 or past the data */
	FWD_PKT_TOTLEN,		/* IPv4 total length inconsistent */
	FWD_PKT_PAYLEN,		/* IPv6 payload length inconsistent */
	FWD_PKT_EXTHDR,		/* IPv6 extension header truncated or malformed */
	FWD_PKT_CHAIN,		/* IPv6 header chain too long or past the copy */
	FWD_PKT_FRAG,		/* first fragment too short to hold the ports */
	FWD_PKT_TCP,		/* TCP header truncated */
	FWD_PKT_TCP_DOFF,	/* TCP data offset below 5 or past the packet */
	FWD_PKT_UDP,		/* UDP header truncated */
	FWD_PKT_UDP_LEN,	/* UDP length below 8 or past the packet */
	FWD_PKT_ICMP,		/* ICMP header truncated */
	FWD_PKT_NREASONS,
};

/* What the parser learned beyond the classifier key. */
struct fwd_pkt_info {
	uint16_t l4off;		/* offset of the transport header (0: none) */
	uint8_t tcp_flags;	/* TCP only */
	uint8_t icmp_type;	/* ICMP / ICMPv6 only */
	uint8_t icmp_code;
	bool fragment;		/* any fragment, first or not */
	bool later_fragment;	/* non-first fragment: no ports */
};

/*
 * Parse PKT (CAPLEN bytes available, WIRELEN bytes on the wire; WIRELEN >=
 * CAPLEN). Fills K (family, proto, ports or FWD_NOPORT, addresses; iface is
 * left alone) and INFO. Returns FWD_PKT_OK or the reason it is malformed.
 */
enum fwd_pkt_reason packet_parse(const uint8_t *pkt, size_t caplen, size_t wirelen,
				 struct fwd_key *k, struct fwd_pkt_info *info);

/* "ipv4-ihl", "tcp-doff", ...: stable names for logs and counters. */
const char *packet_reason_name(enum fwd_pkt_reason r);

#endif
