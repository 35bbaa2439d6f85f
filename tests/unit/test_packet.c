// SPDX-License-Identifier: MIT
/*
 * test_packet.c - packet_parse() on crafted packets: every reason, IPv4
 * options, each IPv6 extension header, fragments (first, later, atomic,
 * tiny), and every truncation of valid packets, each parsed from an exactly
 * sized heap copy so the ASan build catches any over-read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "fwd/icmp.h"
#include "fwd/packet.h"

/* A packet being built. */
struct pb {
	uint8_t b[4096];
	size_t n;
};

static void put8(struct pb *p, unsigned v)
{
	assert_true(p->n < sizeof(p->b));
	p->b[p->n++] = (uint8_t)v;
}

static void put16(struct pb *p, unsigned v)
{
	put8(p, v >> 8);
	put8(p, v & 0xff);
}

static void putn(struct pb *p, unsigned v, size_t n)
{
	while (n--)
		put8(p, v);
}

static void set16(struct pb *p, size_t off, unsigned v)
{
	p->b[off] = (uint8_t)(v >> 8);
	p->b[off + 1] = (uint8_t)v;
}

/* IPv4 header, 192.0.2.1 -> 198.51.100.7, with OPTLEN bytes of NOP options. */
static void v4(struct pb *p, unsigned proto, unsigned frag, size_t optlen)
{
	p->n = 0;
	put8(p, 0x40 | (unsigned)(5 + optlen / 4));
	put8(p, 0);
	put16(p, 0);		/* total length, set by v4_done() */
	put16(p, 0x1234);
	put16(p, frag);
	put8(p, 64);
	put8(p, proto);
	put16(p, 0);
	put8(p, 192), put8(p, 0), put8(p, 2), put8(p, 1);
	put8(p, 198), put8(p, 51), put8(p, 100), put8(p, 7);
	putn(p, 1, optlen);
}

static void v4_done(struct pb *p)
{
	set16(p, 2, (unsigned)p->n);
}

/* IPv6 header, 2001:db8::1 -> 2001:db8::2. */
static void v6(struct pb *p, unsigned nh)
{
	p->n = 0;
	put8(p, 0x60), put8(p, 0), put16(p, 0);
	put16(p, 0);		/* payload length, set by v6_done() */
	put8(p, nh);
	put8(p, 64);
	put16(p, 0x2001), put16(p, 0xdb8), putn(p, 0, 11), put8(p, 1);
	put16(p, 0x2001), put16(p, 0xdb8), putn(p, 0, 11), put8(p, 2);
}

static void v6_done(struct pb *p)
{
	set16(p, 4, (unsigned)(p->n - 40));
}

/* Hop-by-hop, routing or destination options: (HDRLEN + 1) * 8 bytes. */
static void ext_opts(struct pb *p, unsigned nh, unsigned hdrlen)
{
	put8(p, nh);
	put8(p, hdrlen);
	putn(p, 0, 6 + 8 * hdrlen);
}

static void ext_frag(struct pb *p, unsigned nh, unsigned offset8, bool more)
{
	put8(p, nh);
	put8(p, 0);
	put16(p, offset8 << 3 | (more ? 1 : 0));
	put16(p, 0xabcd), put16(p, 0x1234);
}

/* AH with a 12-byte ICV: length field 4, (4 + 2) * 4 = 24 bytes. */
static void ext_ah(struct pb *p, unsigned nh)
{
	put8(p, nh);
	put8(p, 4);
	putn(p, 0, 22);
}

static void tcp(struct pb *p, unsigned sport, unsigned dport, unsigned doff, unsigned flags)
{
	put16(p, sport), put16(p, dport);
	putn(p, 0, 8);
	put8(p, doff << 4);
	put8(p, flags);
	put16(p, 65535), put16(p, 0), put16(p, 0);
	if (doff > 5)
		putn(p, 1, (doff - 5) * 4);
}

static void udp(struct pb *p, unsigned sport, unsigned dport, unsigned ulen, size_t data)
{
	put16(p, sport), put16(p, dport), put16(p, ulen), put16(p, 0);
	putn(p, 0x55, data);
}

/* Parse BUF[0..CAP) out of an exactly sized heap copy. */
static enum fwd_pkt_reason parse(const uint8_t *buf, size_t cap, size_t wire,
				 struct fwd_key *k, struct fwd_pkt_info *info)
{
	uint8_t *copy = malloc(cap ? cap : 1);
	enum fwd_pkt_reason r;

	assert_non_null(copy);
	memcpy(copy, buf, cap);
	memset(k, 0xa5, sizeof(*k));
	k->iface = 77;
	r = packet_parse(copy, cap, wire, k, info);
	free(copy);
	assert_int_equal(k->iface, 77);		/* left alone */
	return r;
}

static enum fwd_pkt_reason parse_all(const struct pb *p, struct fwd_key *k,
				     struct fwd_pkt_info *info)
{
	return parse(p->b, p->n, p->n, k, info);
}

static void expect_reason(const struct pb *p, enum fwd_pkt_reason want)
{
	struct fwd_key k;
	struct fwd_pkt_info info;

	assert_string_equal(packet_reason_name(parse_all(p, &k, &info)),
			    packet_reason_name(want));
}

static void test_v4_tcp(void **state)
{
	struct fwd_key k;
	struct fwd_pkt_info info;
	struct pb p;

	(void)state;
	v4(&p, IPPROTO_TCP, 0x4000, 0);		/* DF is not a fragment */
	tcp(&p, 51515, 22, 5, 0x02);
	v4_done(&p);
	assert_int_equal(parse_all(&p, &k, &info), FWD_PKT_OK);
	assert_int_equal(k.family, 4);
	assert_int_equal(k.proto, IPPROTO_TCP);
	assert_int_equal(k.sport, 51515);
	assert_int_equal(k.dport, 22);
	assert_true(k.src == 0xc0000201u);
	assert_true(k.dst == 0xc6336407u);
	assert_int_equal(info.l4off, 20);
	assert_int_equal(info.tcp_flags, 0x02);
	assert_false(info.fragment);
	assert_false(info.later_fragment);
}

static void test_v4_options(void **state)
{
	struct fwd_key k;
	struct fwd_pkt_info info;
	struct pb p;

	(void)state;
	for (size_t opt = 4; opt <= 40; opt += 4) {
		v4(&p, IPPROTO_TCP, 0, opt);
		tcp(&p, 1000, 443, 8, 0x12);	/* with TCP options too */
		v4_done(&p);
		assert_int_equal(parse_all(&p, &k, &info), FWD_PKT_OK);
		assert_int_equal(info.l4off, 20 + opt);
		assert_int_equal(k.sport, 1000);
		assert_int_equal(k.dport, 443);
		assert_int_equal(info.tcp_flags, 0x12);
	}
}

static void test_v4_header_errors(void **state)
{
	struct fwd_key k;
	struct fwd_pkt_info info;
	struct pb p;

	(void)state;
	v4(&p, IPPROTO_TCP, 0, 0);
	assert_int_equal(parse(p.b, 0, 0, &k, &info), FWD_PKT_TRUNCATED);
	assert_int_equal(k.sport, FWD_NOPORT);
	v4(&p, IPPROTO_TCP, 0, 0);
	tcp(&p, 1, 2, 5, 0);
	v4_done(&p);
	assert_int_equal(parse(p.b, 19, 19, &k, &info), FWD_PKT_TRUNCATED);
	assert_int_equal(parse(p.b, 19, p.n, &k, &info), FWD_PKT_TRUNCATED);

	p.b[0] = 0x55;				/* version 5 */
	expect_reason(&p, FWD_PKT_VERSION);
	p.b[0] = 0x44;				/* IHL 4 */
	expect_reason(&p, FWD_PKT_IHL);
	p.b[0] = 0x4f;				/* IHL 15: 60 bytes, only 40 there */
	expect_reason(&p, FWD_PKT_IHL);
	p.b[0] = 0x45;

	set16(&p, 2, 39);			/* total length below the packet */
	expect_reason(&p, FWD_PKT_TOTLEN);
	set16(&p, 2, 41);			/* above it */
	expect_reason(&p, FWD_PKT_TOTLEN);
	set16(&p, 2, 16);			/* below the header */
	expect_reason(&p, FWD_PKT_TOTLEN);
	set16(&p, 2, 0);			/* 0 without GSO */
	expect_reason(&p, FWD_PKT_TOTLEN);
	set16(&p, 2, 40);
	expect_reason(&p, FWD_PKT_OK);
}

/* BIG TCP: total length 0 on a GSO packet larger than 64k. */
static void test_v4_gso(void **state)
{
	struct fwd_key k;
	struct fwd_pkt_info info;
	struct pb p;

	(void)state;
	v4(&p, IPPROTO_TCP, 0, 0);
	tcp(&p, 40000, 80, 5, 0x10);
	set16(&p, 2, 0);
	assert_int_equal(parse(p.b, p.n, 70000, &k, &info), FWD_PKT_OK);
	assert_int_equal(k.dport, 80);
	assert_int_equal(parse(p.b, p.n, 65535, &k, &info), FWD_PKT_TOTLEN);
}

static void test_tcp_errors(void **state)
{
	struct fwd_key k;
	struct fwd_pkt_info info;
	struct pb p;

	(void)state;
	v4(&p, IPPROTO_TCP, 0, 0);
	tcp(&p, 1, 2, 4, 0);			/* data offset 4 */
	v4_done(&p);
	expect_reason(&p, FWD_PKT_TCP_DOFF);
	p.b[32] = 6 << 4;			/* 24 bytes, only 20 there */
	expect_reason(&p, FWD_PKT_TCP_DOFF);
	p.b[32] = 5 << 4;
	expect_reason(&p, FWD_PKT_OK);
	p.n = 39;				/* 19 bytes of TCP on the wire */
	v4_done(&p);
	expect_reason(&p, FWD_PKT_TCP);
	p.n = 40;
	v4_done(&p);
	/* On the wire but cut by the copy range. */
	assert_int_equal(parse(p.b, 30, 40, &k, &info), FWD_PKT_TCP);
	assert_int_equal(k.sport, FWD_NOPORT);
}

static void test_udp(void **state)
{
	struct fwd_key k;
	struct fwd_pkt_info info;
	struct pb p;

	(void)state;
	v4(&p, IPPROTO_UDP, 0, 0);
	udp(&p, 5353, 53, 20, 12);
	v4_done(&p);
	assert_int_equal(parse_all(&p, &k, &info), FWD_PKT_OK);
	assert_int_equal(k.sport, 5353);
	assert_int_equal(k.dport, 53);
	assert_int_equal(k.proto, IPPROTO_UDP);
	set16(&p, 24, 12);			/* shorter than the data: allowed */
	expect_reason(&p, FWD_PKT_OK);
	set16(&p, 24, 21);			/* past the packet */
	expect_reason(&p, FWD_PKT_UDP_LEN);
	set16(&p, 24, 7);
	expect_reason(&p, FWD_PKT_UDP_LEN);
	set16(&p, 24, 0);			/* jumbogram-only value */
	expect_reason(&p, FWD_PKT_UDP_LEN);

	v4(&p, IPPROTO_UDP, 0, 0);
	put16(&p, 1), put16(&p, 2), put16(&p, 7), put8(&p, 0);	/* 7 bytes */
	v4_done(&p);
	expect_reason(&p, FWD_PKT_UDP);
}

static void test_icmp(void **state)
{
	struct fwd_key k;
	struct fwd_pkt_info info;
	struct pb p;

	(void)state;
	v4(&p, IPPROTO_ICMP, 0, 0);
	put8(&p, 3), put8(&p, 4), put16(&p, 0);		/* frag needed */
	putn(&p, 0, 4);
	v4_done(&p);
	assert_int_equal(parse_all(&p, &k, &info), FWD_PKT_OK);
	assert_int_equal(info.icmp_type, 3);
	assert_int_equal(info.icmp_code, 4);
	assert_int_equal(k.sport, icmp_key(IPPROTO_ICMP, 3, 4));	/* fwd/icmp.h */
	assert_int_equal(k.dport, FWD_NOPORT);
	p.n = 23;
	v4_done(&p);
	expect_reason(&p, FWD_PKT_ICMP);

	v6(&p, IPPROTO_ICMPV6);
	put8(&p, 128), put8(&p, 0), put16(&p, 0), put16(&p, 1), put16(&p, 1);
	v6_done(&p);
	assert_int_equal(parse_all(&p, &k, &info), FWD_PKT_OK);
	assert_int_equal(info.icmp_type, 128);
	assert_int_equal(k.proto, IPPROTO_ICMPV6);
	assert_int_equal(k.dport, FWD_NOPORT);
	p.n = 42;
	v6_done(&p);
	expect_reason(&p, FWD_PKT_ICMP);
}

static void test_other_protocols(void **state)
{
	struct fwd_key k;
	struct fwd_pkt_info info;
	struct pb p;

	(void)state;
	v4(&p, 47, 0, 0);			/* GRE: no ports, not malformed */
	putn(&p, 0, 2);
	v4_done(&p);
	assert_int_equal(parse_all(&p, &k, &info), FWD_PKT_OK);
	assert_int_equal(k.proto, 47);
	assert_int_equal(k.sport, FWD_NOPORT);
	v4(&p, IPPROTO_ESP, 0, 0);
	putn(&p, 0, 16);
	v4_done(&p);
	assert_int_equal(parse_all(&p, &k, &info), FWD_PKT_OK);
	assert_int_equal(k.dport, FWD_NOPORT);
}

static void test_v4_fragments(void **state)
{
	struct fwd_key k;
	struct fwd_pkt_info info;
	struct pb p;

	(void)state;
	v4(&p, IPPROTO_TCP, 0x2000, 0);		/* first: MF, offset 0 */
	tcp(&p, 3333, 25, 5, 0x18);
	putn(&p, 0, 8);
	v4_done(&p);
	assert_int_equal(parse_all(&p, &k, &info), FWD_PKT_OK);
	assert_true(info.fragment);
	assert_false(info.later_fragment);
	assert_int_equal(k.dport, 25);

	set16(&p, 6, 185);			/* last: offset only */
	assert_int_equal(parse_all(&p, &k, &info), FWD_PKT_OK);
	assert_true(info.fragment);
	assert_true(info.later_fragment);
	assert_int_equal(k.sport, FWD_NOPORT);
	assert_int_equal(k.dport, FWD_NOPORT);
	assert_int_equal(info.l4off, 0);
	assert_int_equal(k.proto, IPPROTO_TCP);

	v4(&p, IPPROTO_TCP, 0x2001, 0);		/* later, 1 byte of data */
	put8(&p, 0);
	v4_done(&p);
	assert_int_equal(parse_all(&p, &k, &info), FWD_PKT_OK);
	assert_true(info.later_fragment);

	v4(&p, IPPROTO_TCP, 0x2000, 0);		/* tiny: 16 bytes of TCP */
	tcp(&p, 1, 2, 5, 0);
	p.n -= 4;
	v4_done(&p);
	expect_reason(&p, FWD_PKT_FRAG);

	v4(&p, IPPROTO_TCP, 0x2000, 0);		/* 20 bytes but doff says 32 */
	tcp(&p, 1, 2, 8, 0);
	p.n -= 12;
	v4_done(&p);
	expect_reason(&p, FWD_PKT_FRAG);

	v4(&p, IPPROTO_UDP, 0x2000, 0);		/* UDP length covers the datagram */
	udp(&p, 1, 2, 3000, 8);
	v4_done(&p);
	assert_int_equal(parse_all(&p, &k, &info), FWD_PKT_OK);
	assert_int_equal(k.sport, 1);

	v4(&p, IPPROTO_UDP, 0x2000, 0);
	putn(&p, 0, 4);
	v4_done(&p);
	expect_reason(&p, FWD_PKT_FRAG);
}

static void test_v6_tcp(void **state)
{
	struct fwd_key k;
	struct fwd_pkt_info info;
	struct pb p;

	(void)state;
	v6(&p, IPPROTO_TCP);
	tcp(&p, 40000, 443, 5, 0x02);
	v6_done(&p);
	assert_int_equal(parse_all(&p, &k, &info), FWD_PKT_OK);
	assert_int_equal(k.family, 6);
	assert_int_equal(k.proto, IPPROTO_TCP);
	assert_int_equal(k.sport, 40000);
	assert_int_equal(k.dport, 443);
	assert_int_equal(info.l4off, 40);
	assert_true((uint16_t)(k.src >> 112) == 0x2001);	/* bit 127 first */
	assert_true((uint16_t)(k.src >> 96) == 0x0db8);
	assert_true((uint64_t)k.src == 1);
	assert_true((uint64_t)k.dst == 2);

	set16(&p, 4, 19);
	expect_reason(&p, FWD_PKT_PAYLEN);
	set16(&p, 4, 21);
	expect_reason(&p, FWD_PKT_PAYLEN);
	assert_int_equal(parse(p.b, 39, 39, &k, &info), FWD_PKT_TRUNCATED);
}

static void test_v6_jumbo(void **state)
{
	struct fwd_key k;
	struct fwd_pkt_info info;
	struct pb p;

	(void)state;
	v6(&p, IPPROTO_TCP);
	tcp(&p, 40000, 443, 5, 0x10);
	assert_int_equal(parse(p.b, p.n, 70000, &k, &info), FWD_PKT_OK);
	assert_int_equal(k.dport, 443);
	assert_int_equal(parse(p.b, p.n, 65575, &k, &info), FWD_PKT_PAYLEN);
}

/* Each extension header kind in front of TCP, and where the walk ends. */
static void test_v6_each_exthdr(void **state)
{
	static const unsigned kinds[] = { IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS,
					  IPPROTO_AH, IPPROTO_FRAGMENT };
	static const unsigned lens[] = { 8, 16, 24, 24, 8 };
	struct fwd_key k;
	struct fwd_pkt_info info;
	struct pb p;

	(void)state;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		v6(&p, kinds[i]);
		if (kinds[i] == IPPROTO_AH)
			ext_ah(&p, IPPROTO_TCP);
		else if (kinds[i] == IPPROTO_FRAGMENT)
			ext_frag(&p, IPPROTO_TCP, 0, false);	/* atomic */
		else
			ext_opts(&p, IPPROTO_TCP, (unsigned)i);
		tcp(&p, 1234, 80, 5, 0x02);
		v6_done(&p);
		assert_int_equal(parse_all(&p, &k, &info), FWD_PKT_OK);
		assert_int_equal(info.l4off, 40 + lens[i]);
		assert_int_equal(k.proto, IPPROTO_TCP);
		assert_int_equal(k.dport, 80);
		assert_false(info.fragment);	/* atomic fragment judged on its own */
	}
}

static void test_v6_chain(void **state)
{
	struct fwd_key k;
	struct fwd_pkt_info info;
	struct pb p;

	(void)state;
	v6(&p, IPPROTO_HOPOPTS);			/* all kinds, in order */
	ext_opts(&p, IPPROTO_DSTOPTS, 0);
	ext_opts(&p, IPPROTO_ROUTING, 1);
	ext_opts(&p, IPPROTO_AH, 0);
	ext_ah(&p, IPPROTO_DSTOPTS);
	ext_opts(&p, IPPROTO_UDP, 0);
	udp(&p, 547, 546, 12, 4);
	v6_done(&p);
	assert_int_equal(parse_all(&p, &k, &info), FWD_PKT_OK);
	assert_int_equal(info.l4off, 40 + 8 + 16 + 8 + 24 + 8);
	assert_int_equal(k.proto, IPPROTO_UDP);
	assert_int_equal(k.sport, 547);

	v6(&p, IPPROTO_DSTOPTS);			/* hop-by-hop not first */
	ext_opts(&p, IPPROTO_HOPOPTS, 0);
	ext_opts(&p, IPPROTO_TCP, 0);
	tcp(&p, 1, 2, 5, 0);
	v6_done(&p);
	expect_reason(&p, FWD_PKT_EXTHDR);
}

static void test_v6_chain_limit(void **state)
{
	struct fwd_key k;
	struct fwd_pkt_info info;
	struct pb p;

	(void)state;
	v6(&p, IPPROTO_DSTOPTS);
	for (int i = 0; i < 15; i++)
		ext_opts(&p, IPPROTO_DSTOPTS, 0);
	ext_opts(&p, IPPROTO_TCP, 0);			/* 16 headers: fine */
	tcp(&p, 7, 8, 5, 0);
	v6_done(&p);
	assert_int_equal(parse_all(&p, &k, &info), FWD_PKT_OK);
	assert_int_equal(k.dport, 8);

	v6(&p, IPPROTO_DSTOPTS);
	for (int i = 0; i < 16; i++)
		ext_opts(&p, IPPROTO_DSTOPTS, 0);
	ext_opts(&p, IPPROTO_TCP, 0);			/* 17 */
	tcp(&p, 7, 8, 5, 0);
	v6_done(&p);
	expect_reason(&p, FWD_PKT_CHAIN);
}

static void test_v6_exthdr_truncated(void **state)
{
	struct fwd_key k;
	struct fwd_pkt_info info;
	struct pb p;

	(void)state;
	v6(&p, IPPROTO_DSTOPTS);		/* claims 24 bytes, 8 on the wire */
	put8(&p, IPPROTO_TCP), put8(&p, 2), putn(&p, 0, 6);
	v6_done(&p);
	expect_reason(&p, FWD_PKT_EXTHDR);
	v6(&p, IPPROTO_ROUTING);		/* one byte: no room for its length */
	put8(&p, IPPROTO_TCP);
	v6_done(&p);
	expect_reason(&p, FWD_PKT_EXTHDR);
	v6(&p, IPPROTO_FRAGMENT);		/* fragment header needs 8 */
	putn(&p, 0, 6);
	v6_done(&p);
	expect_reason(&p, FWD_PKT_EXTHDR);

	/* On the wire, but the copy range cut the chain. */
	v6(&p, IPPROTO_HOPOPTS);
	ext_opts(&p, IPPROTO_TCP, 4);
	tcp(&p, 1, 2, 5, 0);
	v6_done(&p);
	assert_int_equal(parse(p.b, 60, p.n, &k, &info), FWD_PKT_CHAIN);
	assert_int_equal(parse(p.b, 41, p.n, &k, &info), FWD_PKT_CHAIN);
	assert_int_equal(parse(p.b, 90, p.n, &k, &info), FWD_PKT_TCP);
	assert_int_equal(parse(p.b, p.n, p.n, &k, &info), FWD_PKT_OK);
}

static void test_v6_fragments(void **state)
{
	struct fwd_key k;
	struct fwd_pkt_info info;
	struct pb p;

	(void)state;
	v6(&p, IPPROTO_FRAGMENT);		/* first fragment */
	ext_frag(&p, IPPROTO_UDP, 0, true);
	udp(&p, 500, 4500, 2000, 16);
	v6_done(&p);
	assert_int_equal(parse_all(&p, &k, &info), FWD_PKT_OK);
	assert_true(info.fragment);
	assert_false(info.later_fragment);
	assert_int_equal(k.dport, 4500);

	v6(&p, IPPROTO_FRAGMENT);		/* later fragment */
	ext_frag(&p, IPPROTO_UDP, 100, true);
	putn(&p, 0, 3);
	v6_done(&p);
	assert_int_equal(parse_all(&p, &k, &info), FWD_PKT_OK);
	assert_true(info.later_fragment);
	assert_int_equal(k.proto, IPPROTO_UDP);
	assert_int_equal(k.sport, FWD_NOPORT);
	assert_int_equal(info.l4off, 0);

	v6(&p, IPPROTO_FRAGMENT);		/* tiny: TCP header cut */
	ext_frag(&p, IPPROTO_TCP, 0, true);
	tcp(&p, 1, 2, 5, 0);
	p.n -= 8;
	v6_done(&p);
	expect_reason(&p, FWD_PKT_FRAG);

	v6(&p, IPPROTO_FRAGMENT);		/* chain continues past the fragment */
	ext_frag(&p, IPPROTO_DSTOPTS, 0, true);
	put8(&p, IPPROTO_TCP), put8(&p, 3), putn(&p, 0, 14);
	v6_done(&p);
	expect_reason(&p, FWD_PKT_FRAG);

	v6(&p, IPPROTO_FRAGMENT);		/* atomic, but the TCP header is short */
	ext_frag(&p, IPPROTO_TCP, 0, false);
	tcp(&p, 1, 2, 5, 0);
	p.n -= 8;
	v6_done(&p);
	expect_reason(&p, FWD_PKT_TCP);
}

static void test_v6_no_ports(void **state)
{
	struct fwd_key k;
	struct fwd_pkt_info info;
	struct pb p;

	(void)state;
	v6(&p, IPPROTO_DSTOPTS);
	ext_opts(&p, IPPROTO_ESP, 0);
	putn(&p, 0x77, 24);
	v6_done(&p);
	assert_int_equal(parse_all(&p, &k, &info), FWD_PKT_OK);
	assert_int_equal(k.proto, IPPROTO_ESP);
	assert_int_equal(k.sport, FWD_NOPORT);
	assert_int_equal(info.l4off, 48);

	v6(&p, IPPROTO_NONE);
	v6_done(&p);
	assert_int_equal(parse_all(&p, &k, &info), FWD_PKT_OK);
	assert_int_equal(k.proto, IPPROTO_NONE);
	assert_int_equal(k.dport, FWD_NOPORT);

	v6(&p, IPPROTO_UDP);
	udp(&p, 1, 2, 0, 0);			/* UDP length 0 */
	v6_done(&p);
	expect_reason(&p, FWD_PKT_UDP_LEN);
}

static void test_reason_names(void **state)
{
	(void)state;
	assert_string_equal(packet_reason_name(FWD_PKT_TRUNCATED), "truncated");
	assert_string_equal(packet_reason_name(FWD_PKT_VERSION), "ip-version");
	assert_string_equal(packet_reason_name(FWD_PKT_IHL), "ipv4-ihl");
	assert_string_equal(packet_reason_name(FWD_PKT_TOTLEN), "ipv4-total-length");
	assert_string_equal(packet_reason_name(FWD_PKT_PAYLEN), "ipv6-payload-length");
	assert_string_equal(packet_reason_name(FWD_PKT_EXTHDR), "ipv6-ext-header");
	assert_string_equal(packet_reason_name(FWD_PKT_CHAIN), "ipv6-header-chain");
	assert_string_equal(packet_reason_name(FWD_PKT_FRAG), "tiny-fragment");
	assert_string_equal(packet_reason_name(FWD_PKT_TCP), "tcp-truncated");
	assert_string_equal(packet_reason_name(FWD_PKT_TCP_DOFF), "tcp-doff");
	assert_string_equal(packet_reason_name(FWD_PKT_UDP), "udp-truncated");
	assert_string_equal(packet_reason_name(FWD_PKT_UDP_LEN), "udp-length");
	assert_string_equal(packet_reason_name(FWD_PKT_ICMP), "icmp-truncated");
	assert_string_equal(packet_reason_name(FWD_PKT_NREASONS), "unknown");
}

/*
 * Cut each valid packet at every byte, both as a short packet (the wire
 * length cut too) and as a copy-range cut: never OK for a short packet, and
 * OK for a cut copy only with the packet's true ports.
 */
static void cut_everywhere(const struct pb *p)
{
	struct fwd_key full, k;
	struct fwd_pkt_info info;
	enum fwd_pkt_reason r;

	assert_int_equal(parse_all(p, &full, &info), FWD_PKT_OK);
	for (size_t n = 0; n < p->n; n++) {
		assert_int_not_equal(parse(p->b, n, n, &k, &info), FWD_PKT_OK);
		r = parse(p->b, n, p->n, &k, &info);
		if (r == FWD_PKT_OK) {
			assert_int_equal(k.sport, full.sport);
			assert_int_equal(k.dport, full.dport);
		} else {
			assert_int_equal(k.sport, FWD_NOPORT);
			assert_int_equal(k.dport, FWD_NOPORT);
		}
	}
}

static void test_truncate_everywhere(void **state)
{
	struct pb p;

	(void)state;
	v4(&p, IPPROTO_TCP, 0, 12);
	tcp(&p, 1, 2, 7, 0x11);
	v4_done(&p);
	cut_everywhere(&p);
	v4(&p, IPPROTO_UDP, 0x2000, 0);
	udp(&p, 53, 53, 900, 8);
	v4_done(&p);
	cut_everywhere(&p);
	v4(&p, IPPROTO_ICMP, 0, 0);
	putn(&p, 8, 8);
	v4_done(&p);
	cut_everywhere(&p);
	v6(&p, IPPROTO_HOPOPTS);
	ext_opts(&p, IPPROTO_ROUTING, 1);
	ext_opts(&p, IPPROTO_FRAGMENT, 0);
	ext_frag(&p, IPPROTO_AH, 0, true);
	ext_ah(&p, IPPROTO_DSTOPTS);
	ext_opts(&p, IPPROTO_TCP, 2);
	tcp(&p, 8080, 9090, 6, 0x02);
	v6_done(&p);
	cut_everywhere(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_tcp),
		cmocka_unit_test(test_v4_options),
		cmocka_unit_test(test_v4_header_errors),
		cmocka_unit_test(test_v4_gso),
		cmocka_unit_test(test_tcp_errors),
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_icmp),
		cmocka_unit_test(test_other_protocols),
		cmocka_unit_test(test_v4_fragments),
		cmocka_unit_test(test_v6_tcp),
		cmocka_unit_test(test_v6_jumbo),
		cmocka_unit_test(test_v6_each_exthdr),
		cmocka_unit_test(test_v6_chain),
		cmocka_unit_test(test_v6_chain_limit),
		cmocka_unit_test(test_v6_exthdr_truncated),
		cmocka_unit_test(test_v6_fragments),
		cmocka_unit_test(test_v6_no_ports),
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test(test_truncate_everywhere),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
