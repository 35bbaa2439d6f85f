/* SPDX-License-Identifier: MIT */
/*
 * reject.h - fwd's own answer to a packet a `reject` rule judged.
 *
 * The packet is dropped in fwd's verdict, so the answer holds whatever other
 * tools do to other chains (an ACCEPT inserted above a filter jump used to
 * turn a mark-based reject into an allow). fwd builds the answer itself from
 * the headers the kernel copied: a TCP RST for TCP (as the kernel's REJECT
 * --reject-with tcp-reset does it), an ICMP port unreachable or ICMPv6
 * port unreachable for the rest, from the rejected packet's destination
 * address, and sends it on a raw socket (CAP_NET_RAW).
 *
 * On the packet path: reject_build() writes into a caller-owned buffer,
 * reject_send() never blocks (MSG_DONTWAIT); an answer that does not fit the
 * socket buffer is lost, as an ICMP error may be.
 */
#ifndef FWD_REJECT_H
#define FWD_REJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fwd/packet.h"

/* IPv6 header, ICMPv6 header, and every byte fwd is ever copied (FWD_QUEUE_COPY). */
#define FWD_REJECT_QUOTE	256
#define FWD_REJECT_MAX		(40 + 8 + FWD_REJECT_QUOTE)

/*
 * Answers per second (and burst) one worker sends; the rest are dropped
 * without one and counted (fwd stats: unanswered).
 */
#define FWD_REJECT_RATE		1000u
#define FWD_REJECT_BURST	200u

/*
 * Whether an answer to PKT is due at all: not to a TCP RST or an ICMP error,
 * a later fragment, a multicast or limited broadcast destination, an
 * unspecified or multicast source. A packet that gets none spends none of
 * the answer rate. (A subnet's broadcast is the caller's to tell: live.h.)
 */
bool reject_due(const uint8_t *pkt, size_t caplen, uint8_t proto,
		const struct fwd_pkt_info *info);

/*
 * The answer to PKT (CAPLEN bytes copied, transport PROTO, parsed by
 * packet_parse() into INFO) in OUT (FWD_REJECT_MAX bytes). Returns its length, or 0 when no
 * answer is due (reject_due()) or the copy did not hold the headers.
 */
size_t reject_build(const uint8_t *pkt, size_t caplen, uint8_t proto,
		    const struct fwd_pkt_info *info, uint8_t *out);

/* Raw sockets to send answers on: 0, or -errno (IPv4); IPv6 may be missing (-1). */
int reject_open(int *fd4, int *fd6);

/* Send the answer OUT of LEN bytes; IFINDEX scopes a link-local IPv6 peer. 0 or -errno. */
int reject_send(int fd4, int fd6, const uint8_t *out, size_t len, uint32_t ifindex);

#endif
