// SPDX-License-Identifier: MIT
/*
 * packet.c - IPv4/IPv6 and transport header parsing on the packet path.
 *
 * Everything here reads straight out of the bytes the kernel copied. Two
 * lengths govern every read: `cap` (bytes we may touch) and the IP packet's
 * length on the wire (what the headers claim must fit in). A header that
 * does not fit on the wire is malformed; one that fits on the wire but not in
 * the copy was cut by the copy range. No read ever goes past `cap`.
 */
#include <string.h>
#include <netinet/in.h>

#include "fwd/icmp.h"
#include "fwd/packet.h"

#define IPV4_HDR	20
#define IPV6_HDR	40
#define TCP_HDR		20
#define UDP_HDR		8
#define ICMP_HDR	4	/* type, code, checksum */
#define EXTHDR_MAX	16	/* IPv6 extension headers we walk before giving up */
#define IPV6_JUMBO_MIN	(65535u + IPV6_HDR)

/* Where the upper-layer header stands and how much of it there is. */
struct l4_view {
	const uint8_t *p;	/* start of the upper-layer header */
	size_t cap;		/* bytes of it in the copy */
	size_t wire;		/* bytes of it on the wire (in this fragment) */
	bool first_frag;	/* offset 0 with more fragments to come */
	int family;
};

static const char *const reason_names[FWD_PKT_NREASONS] = {
	[FWD_PKT_OK] = "ok",
	[FWD_PKT_TRUNCATED] = "truncated",
	[FWD_PKT_VERSION] = "ip-version",
	[FWD_PKT_IHL] = "ipv4-ihl",
	[FWD_PKT_TOTLEN] = "ipv4-total-length",
	[FWD_PKT_PAYLEN] = "ipv6-payload-length",
	[FWD_PKT_EXTHDR] = "ipv6-ext-header",
	[FWD_PKT_CHAIN] = "ipv6-header-chain",
	[FWD_PKT_FRAG] = "tiny-fragment",
	[FWD_PKT_TCP] = "tcp-truncated",
	[FWD_PKT_TCP_DOFF] = "tcp-doff",
	[FWD_PKT_UDP] = "udp-truncated",
	[FWD_PKT_UDP_LEN] = "udp-length",
	[FWD_PKT_ICMP] = "icmp-truncated",
};

const char *packet_reason_name(enum fwd_pkt_reason r)
{
	if ((unsigned)r >= FWD_PKT_NREASONS)
		return "unknown";
	return reason_names[r];
}

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static fwd_u128 rd128(const uint8_t *p)
{
	fwd_u128 v = 0;

	for (int i = 0; i < 16; i++)
		v = v << 8 | p[i];
	return v;
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/*
 * TCP. In a first fragment the whole header must be in this fragment
 * (RFC 1858): otherwise the flags and options land in a later fragment that
 * no rule can see. The data offset is honoured when it is in the copy.
 */
static enum fwd_pkt_reason parse_tcp(const struct l4_view *v, struct fwd_key *k,
				     struct fwd_pkt_info *info)
{
	unsigned doff;

	if (v->wire < TCP_HDR)
		return v->first_frag ? FWD_PKT_FRAG : FWD_PKT_TCP;
	if (v->cap < TCP_HDR)
		return FWD_PKT_TCP;
	doff = v->p[12] >> 4;
	if (doff < 5)
		return FWD_PKT_TCP_DOFF;
	if (doff * 4u > v->wire)
		return v->first_frag ? FWD_PKT_FRAG : FWD_PKT_TCP_DOFF;
	k->sport = rd16(v->p);
	k->dport = rd16(v->p + 2);
	info->tcp_flags = v->p[13];
	return FWD_PKT_OK;
}

/*
 * UDP. The length field covers the whole datagram, so in a first fragment
 * it is larger than this fragment's data and only its lower bound is checked.
 * Length 0 is legal only inside an IPv6 jumbogram (RFC 2675); fwd does not
 * accept UDP jumbograms, so 0 is malformed everywhere.
 */
static enum fwd_pkt_reason parse_udp(const struct l4_view *v, struct fwd_key *k)
{
	unsigned ulen;

	if (v->wire < UDP_HDR)
		return v->first_frag ? FWD_PKT_FRAG : FWD_PKT_UDP;
	if (v->cap < UDP_HDR)
		return FWD_PKT_UDP;
	ulen = rd16(v->p + 4);
	if (ulen < UDP_HDR)
		return FWD_PKT_UDP_LEN;
	if (!v->first_frag && ulen > v->wire)
		return FWD_PKT_UDP_LEN;
	k->sport = rd16(v->p);
	k->dport = rd16(v->p + 2);
	return FWD_PKT_OK;
}

/* The type and code, for the rules too: they ride in sport (fwd/icmp.h). */
static enum fwd_pkt_reason parse_icmp(const struct l4_view *v, struct fwd_key *k,
				      struct fwd_pkt_info *info)
{
	if (v->wire < ICMP_HDR || v->cap < ICMP_HDR)
		return FWD_PKT_ICMP;
	info->icmp_type = v->p[0];
	info->icmp_code = v->p[1];
	k->sport = icmp_key(k->proto, v->p[0], v->p[1]);
	return FWD_PKT_OK;
}

static enum fwd_pkt_reason parse_l4(const struct l4_view *v, struct fwd_key *k,
				    struct fwd_pkt_info *info)
{
	switch (k->proto) {
	case IPPROTO_TCP:
		return parse_tcp(v, k, info);
	case IPPROTO_UDP:
		return parse_udp(v, k);
	case IPPROTO_ICMP:
		return v->family == 4 ? parse_icmp(v, k, info) : FWD_PKT_OK;
	case IPPROTO_ICMPV6:
		return v->family == 6 ? parse_icmp(v, k, info) : FWD_PKT_OK;
	default:
		return FWD_PKT_OK;	/* no ports, nothing to check */
	}
}

/*
 * The kernel hands us the IP packet, trimmed to its total length, so the two
 * must agree. A GSO packet larger than 65535 bytes carries total length 0
 * (BIG TCP); then the wire length is the packet's length.
 */
static enum fwd_pkt_reason parse_ipv4(const uint8_t *pkt, size_t cap, size_t wirelen,
				      struct fwd_key *k, struct fwd_pkt_info *info)
{
	struct l4_view v = { .family = 4 };
	size_t hlen, iplen;
	uint16_t frag;

	if (cap < IPV4_HDR)
		return FWD_PKT_TRUNCATED;
	hlen = (pkt[0] & 0x0fu) * 4u;
	if (hlen < IPV4_HDR || hlen > cap)
		return FWD_PKT_IHL;
	iplen = rd16(pkt + 2);
	if (iplen == 0 && wirelen > 65535)
		iplen = wirelen;
	if (iplen < hlen || iplen != wirelen)
		return FWD_PKT_TOTLEN;

	k->family = 4;
	k->proto = pkt[9];
	k->src = rd32(pkt + 12);
	k->dst = rd32(pkt + 16);
	frag = rd16(pkt + 6);
	info->fragment = (frag & 0x3fffu) != 0;		/* MF or offset */
	info->later_fragment = (frag & 0x1fffu) != 0;
	if (info->later_fragment)
		return FWD_PKT_OK;

	info->l4off = (uint16_t)hlen;
	v.p = pkt + hlen;
	v.cap = cap - hlen;
	v.wire = iplen - hlen;
	v.first_frag = info->fragment;
	return parse_l4(&v, k, info);
}

/* State of the IPv6 extension header walk. */
struct v6_walk {
	const uint8_t *pkt;
	size_t cap;		/* bytes in the copy */
	size_t iplen;		/* bytes on the wire */
	size_t off;		/* of the current header */
	uint8_t nh;		/* its type */
	unsigned count;		/* extension headers passed */
	bool first_frag;	/* a fragment header with offset 0 and M set */
};

/*
 * Is [off, off + need) readable? Past the wire it is malformed - a tiny
 * first fragment when the chain should have been whole (RFC 7112); on the
 * wire but past the copy the copy range cut the chain.
 */
static enum fwd_pkt_reason v6_need(const struct v6_walk *w, size_t need)
{
	if (w->off + need > w->iplen)
		return w->first_frag ? FWD_PKT_FRAG : FWD_PKT_EXTHDR;
	if (w->off + need > w->cap)
		return FWD_PKT_CHAIN;
	return FWD_PKT_OK;
}

/* Length of the extension header at w->off, or 0 when it is not one. */
static size_t v6_hdrlen(const struct v6_walk *w)
{
	switch (w->nh) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_DSTOPTS:
		return (w->pkt[w->off + 1] + 1u) * 8u;
	case IPPROTO_FRAGMENT:
		return 8;
	case IPPROTO_AH:
		return (w->pkt[w->off + 1] + 2u) * 4u;
	default:
		return 0;
	}
}

static bool v6_is_ext(uint8_t nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS ||
	       nh == IPPROTO_FRAGMENT || nh == IPPROTO_AH;
}

/*
 * Step over one extension header. Returns FWD_PKT_OK and advances, or a
 * reason. Sets *stop when a non-first fragment ends the walk.
 */
static enum fwd_pkt_reason v6_step(struct v6_walk *w, struct fwd_pkt_info *info, bool *stop)
{
	enum fwd_pkt_reason r;
	size_t len;
	uint16_t fo;

	if (++w->count > EXTHDR_MAX)
		return FWD_PKT_CHAIN;
	/* Hop-by-hop options must come first (RFC 8200 4.1); the kernel agrees. */
	if (w->nh == IPPROTO_HOPOPTS && w->off != IPV6_HDR)
		return FWD_PKT_EXTHDR;
	r = v6_need(w, 2);
	if (r != FWD_PKT_OK)
		return r;
	len = v6_hdrlen(w);
	r = v6_need(w, len);
	if (r != FWD_PKT_OK)
		return r;
	if (w->nh == IPPROTO_FRAGMENT) {
		fo = rd16(w->pkt + w->off + 2);
		/* An atomic fragment (offset 0, M 0) is judged on its own (RFC 6946). */
		if (fo & 0xfff9u)
			info->fragment = true;
		if (fo & 0xfff8u) {
			info->later_fragment = true;
			*stop = true;
		} else if (fo & 1u) {
			w->first_frag = true;
		}
	}
	w->nh = w->pkt[w->off];
	w->off += len;
	return FWD_PKT_OK;
}

/*
 * A payload length of 0 with more than 65535 bytes of payload is a jumbogram
 * or a GSO packet (BIG TCP); otherwise it must match the wire length.
 */
static enum fwd_pkt_reason parse_ipv6(const uint8_t *pkt, size_t cap, size_t wirelen,
				      struct fwd_key *k, struct fwd_pkt_info *info)
{
	struct v6_walk w = { .pkt = pkt, .cap = cap, .off = IPV6_HDR };
	struct l4_view v = { .family = 6 };
	enum fwd_pkt_reason r;
	bool stop = false;

	if (cap < IPV6_HDR)
		return FWD_PKT_TRUNCATED;
	w.iplen = rd16(pkt + 4) + (size_t)IPV6_HDR;
	if (w.iplen == IPV6_HDR && wirelen > IPV6_JUMBO_MIN)
		w.iplen = wirelen;
	if (w.iplen != wirelen)
		return FWD_PKT_PAYLEN;

	k->family = 6;
	k->src = rd128(pkt + 8);
	k->dst = rd128(pkt + 24);
	w.nh = pkt[6];
	while (v6_is_ext(w.nh) && !stop) {
		r = v6_step(&w, info, &stop);
		if (r != FWD_PKT_OK)
			return r;
	}
	/* After a later fragment, nh is the fragment's own next header. */
	k->proto = w.nh;
	if (stop || w.nh == IPPROTO_NONE)
		return FWD_PKT_OK;
	info->l4off = (uint16_t)w.off;
	if (w.nh == IPPROTO_ESP)
		return FWD_PKT_OK;	/* encrypted: no ports to see */
	v.p = pkt + w.off;
	v.cap = cap - w.off;
	v.wire = w.iplen - w.off;
	v.first_frag = w.first_frag;
	return parse_l4(&v, k, info);
}

enum fwd_pkt_reason packet_parse(const uint8_t *pkt, size_t caplen, size_t wirelen,
				 struct fwd_key *k, struct fwd_pkt_info *info)
{
	size_t cap = min_size(caplen, wirelen);

	memset(info, 0, sizeof(*info));
	k->family = 0;
	k->proto = 0;
	k->sport = FWD_NOPORT;
	k->dport = FWD_NOPORT;
	k->src = 0;
	k->dst = 0;
	if (cap < 1)
		return FWD_PKT_TRUNCATED;
	switch (pkt[0] >> 4) {
	case 4:
		return parse_ipv4(pkt, cap, wirelen, k, info);
	case 6:
		return parse_ipv6(pkt, cap, wirelen, k, info);
	default:
		return FWD_PKT_VERSION;
	}
}
