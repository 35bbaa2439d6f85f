// SPDX-License-Identifier: MIT
/*
 * fuzz_packet.c - libFuzzer target for packet_parse().
 *
 * Input: two bytes that choose how much of the packet was copied and how
 * long it was on the wire, then the packet. The copied part goes into a
 * heap buffer of exactly that size, so ASan reports any read past caplen.
 * Build and run: sh tests/fuzz/run.sh SECONDS packet
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fwd/icmp.h"
#include "fwd/packet.h"
#include "fwd/value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Byte 0 says how many bytes the copy range cut off the end (0: none), byte
 * 1 how much longer than the data the wire was, in 256-byte steps, so GSO
 * and jumbo lengths are reachable too.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fwd_pkt_info info;
	struct fwd_key k;
	size_t len, caplen, wirelen;
	enum fwd_pkt_reason r;
	uint8_t *pkt;

	if (size < 2)
		return 0;
	len = size - 2;
	caplen = data[0] < len ? len - data[0] : 0;
	wirelen = len + (size_t)data[1] * 256;
	pkt = malloc(caplen ? caplen : 1);
	if (!pkt)
		return 0;
	memcpy(pkt, data + 2, caplen);
	r = packet_parse(pkt, caplen, wirelen, &k, &info);
	if ((unsigned)r >= FWD_PKT_NREASONS || !packet_reason_name(r))
		abort();
	/*
	 * Ports are real or absent, and absent on any malformed packet; an
	 * ICMP or ICMPv6 packet's type and code ride in sport above the ports
	 * (fwd/icmp.h), of the packet's own protocol.
	 */
	if (k.dport > FWD_NOPORT || k.sport > FWD_SPORT_MAX)
		abort();
	if (k.sport > FWD_NOPORT &&
	    k.proto != (k.sport < FWD_ICMP6_BASE ? FWD_PROTO_ICMP : FWD_PROTO_ICMPV6))
		abort();
	if (r != FWD_PKT_OK && (k.sport != FWD_NOPORT || k.dport != FWD_NOPORT))
		abort();
	if (info.later_fragment && (k.sport != FWD_NOPORT || !info.fragment))
		abort();
	if (info.l4off > caplen)
		abort();
	free(pkt);
	return 0;
}
