// SPDX-License-Identifier: MIT
/*
 * reject.c - the TCP RST or ICMP(v6) port unreachable fwd sends for a
 * `reject` verdict; see include/fwd/reject.h.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fwd/reject.h"

#define TCP_FIN	0x01
#define TCP_SYN	0x02
#define TCP_RST	0x04
#define TCP_ACK	0x10

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, v >> 16);
	wr16(p + 2, v);
}

/* One's-complement sum of LEN bytes, added to SUM (not folded). */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (; len > 1; p += 2, len -= 2)
		sum += rd16(p);
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The transport checksum over the pseudo-header of the IP header at OUT. */
static void l4_csum(uint8_t *out, size_t iphlen, size_t l4len, uint8_t proto, size_t csum_off)
{
	bool v6 = (out[0] >> 4) == 6;
	uint32_t sum = csum_add(0, out + (v6 ? 8 : 12), v6 ? 32 : 8);

	sum += proto + (uint32_t)l4len;
	wr16(out + iphlen + csum_off, 0);
	sum = csum_add(sum, out + iphlen, l4len);
	wr16(out + iphlen + csum_off, csum_fold(sum));
}

/*
 * The reversed IP header of PKT for L4LEN bytes of PROTO. IPv4: the kernel
 * fills in the header checksum of a raw IPPROTO_RAW socket's packet.
 */
static size_t ip_reply(const uint8_t *pkt, uint8_t *out, uint8_t proto, size_t l4len)
{
	if ((pkt[0] >> 4) == 4) {
		memset(out, 0, 20);
		out[0] = 0x45;
		wr16(out + 2, (uint32_t)(20 + l4len));
		wr16(out + 6, 0x4000);	/* DF */
		out[8] = 64;
		out[9] = proto;
		memcpy(out + 12, pkt + 16, 4);
		memcpy(out + 16, pkt + 12, 4);
		return 20;
	}
	memset(out, 0, 40);
	out[0] = 0x60;
	wr16(out + 4, (uint32_t)l4len);
	out[6] = proto;
	out[7] = 64;
	memcpy(out + 8, pkt + 24, 16);
	memcpy(out + 24, pkt + 8, 16);
	return 40;
}

/* Bytes of IP payload from the transport header on, per the IP header. */
static size_t l4_wire_len(const uint8_t *pkt, uint16_t l4off)
{
	size_t end = (pkt[0] >> 4) == 4 ? rd16(pkt + 2) : 40u + rd16(pkt + 4);

	return end > l4off ? end - l4off : 0;
}

/* RFC 793 reset: seq from the ACK if there was one, else ACK what was sent. */
static size_t build_rst(const uint8_t *pkt, size_t caplen, const struct fwd_pkt_info *info,
			uint8_t *out)
{
	const uint8_t *th = pkt + info->l4off;
	size_t hl, doff, seg;
	uint8_t *t;

	if (caplen < (size_t)info->l4off + 20 || (th[13] & TCP_RST))
		return 0;
	doff = (size_t)(th[12] >> 4) * 4;
	seg = l4_wire_len(pkt, info->l4off);
	seg = seg > doff ? seg - doff : 0;
	hl = ip_reply(pkt, out, IPPROTO_TCP, 20);
	t = out + hl;
	memset(t, 0, 20);
	memcpy(t, th + 2, 2);
	memcpy(t + 2, th, 2);
	t[12] = 5 << 4;
	if (th[13] & TCP_ACK) {
		memcpy(t + 4, th + 8, 4);
		t[13] = TCP_RST;
	} else {
		seg += !!(th[13] & TCP_SYN) + !!(th[13] & TCP_FIN);
		wr32(t + 8, rd32(th + 4) + (uint32_t)seg);
		t[13] = TCP_RST | TCP_ACK;
	}
	l4_csum(out, hl, 20, IPPROTO_TCP, 16);
	return hl + 20;
}

/* Port unreachable quoting as much of PKT as fwd holds (RFC 1812 4.3.2.3, RFC 4443 3.1). */
static size_t build_unreach(const uint8_t *pkt, size_t caplen, uint8_t *out)
{
	bool v4 = (pkt[0] >> 4) == 4;
	size_t quote = v4 ? rd16(pkt + 2) : 40u + rd16(pkt + 4);
	size_t hl;
	uint8_t *m;

	if (quote > caplen)
		quote = caplen;
	if (quote > FWD_REJECT_QUOTE)
		quote = FWD_REJECT_QUOTE;
	hl = ip_reply(pkt, out, v4 ? IPPROTO_ICMP : IPPROTO_ICMPV6, 8 + quote);
	m = out + hl;
	memset(m, 0, 8);
	m[0] = v4 ? 3 : 1;	/* destination unreachable */
	m[1] = v4 ? 3 : 4;	/* port unreachable */
	memcpy(m + 8, pkt, quote);
	if (v4)
		wr16(m + 2, csum_fold(csum_add(0, m, 8 + quote)));
	else
		l4_csum(out, hl, 8 + quote, IPPROTO_ICMPV6, 2);
	return hl + 8 + quote;
}

/* Never answer an answer, nor a group of hosts, nor an address nobody owns. */
static bool answer_due(const uint8_t *pkt, const struct fwd_pkt_info *info, uint8_t proto)
{
	static const uint8_t zero[16];
	const uint8_t *s, *d;

	if (info->later_fragment)
		return false;
	if ((pkt[0] >> 4) == 4) {
		s = pkt + 12;
		d = pkt + 16;
		if (d[0] >= 224 || s[0] >= 224 || !memcmp(s, zero, 4) || !memcmp(d, zero, 4))
			return false;
		/* Errors, redirects and the like; echo and timestamp requests get one. */
		return proto != IPPROTO_ICMP || info->icmp_type == 8 || info->icmp_type == 13;
	}
	s = pkt + 8;
	d = pkt + 24;
	if (d[0] == 0xff || s[0] == 0xff || !memcmp(s, zero, 16))
		return false;
	return proto != IPPROTO_ICMPV6 || info->icmp_type >= 128;
}

bool reject_due(const uint8_t *pkt, size_t caplen, uint8_t proto,
		const struct fwd_pkt_info *info)
{
	uint8_t v;

	if (!pkt || caplen < 20)
		return false;
	v = pkt[0] >> 4;
	return (v == 4 || (v == 6 && caplen >= 40)) && answer_due(pkt, info, proto);
}

size_t reject_build(const uint8_t *pkt, size_t caplen, uint8_t proto,
		    const struct fwd_pkt_info *info, uint8_t *out)
{
	if (!reject_due(pkt, caplen, proto, info))
		return 0;
	if (proto == IPPROTO_TCP)
		return info->l4off ? build_rst(pkt, caplen, info, out) : 0;
	return build_unreach(pkt, caplen, out);
}

int reject_open(int *fd4, int *fd6)
{
	int e;

	*fd6 = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_RAW);
	*fd4 = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_RAW);
	if (*fd4 >= 0)
		return 0;
	e = -errno;
	if (*fd6 >= 0)
		close(*fd6);
	*fd6 = -1;
	return e;
}

int reject_send(int fd4, int fd6, const uint8_t *out, size_t len, uint32_t ifindex)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	const struct sockaddr *sa = (const struct sockaddr *)&s4;
	socklen_t salen = sizeof(s4);
	int fd = fd4;

	if ((out[0] >> 4) == 6) {
		memcpy(&s6.sin6_addr, out + 24, 16);
		/* fe80::/10 needs the interface the packet came in on */
		if (out[24] == 0xfe && (out[25] & 0xc0) == 0x80)
			s6.sin6_scope_id = ifindex;
		sa = (const struct sockaddr *)&s6;
		salen = sizeof(s6);
		fd = fd6;
	} else {
		memcpy(&s4.sin_addr, out + 16, 4);
	}
	if (fd < 0)
		return -EAFNOSUPPORT;
	if (sendto(fd, out, len, MSG_DONTWAIT | MSG_NOSIGNAL, sa, salen) < 0)
		return -errno;
	return 0;
}
