// SPDX-License-Identifier: MIT
/*
 * test_reject.c - the answers fwd builds for `reject` (fwd/reject.c),
 * checked byte by byte against RFC 793 and RFC 792/4443 without a kernel:
 * addresses and ports swapped, sequence numbers, the quoted packet, valid
 * checksums, and no answer where none is due.
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "fwd/reject.h"

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (; n > 1; p += 2, n -= 2)
		s += (uint32_t)(p[0] << 8 | p[1]);
	if (n)
		s += (uint32_t)p[0] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* A transport checksum that verifies sums to 0xffff over pseudo-header + data. */
static uint16_t verify_l4(const uint8_t *ip, size_t hl, size_t l4len, uint8_t proto)
{
	bool v6 = (ip[0] >> 4) == 6;
	uint32_t s = sum16(ip + (v6 ? 8 : 12), v6 ? 32 : 8, 0) + proto + (uint32_t)l4len;

	return fold(sum16(ip + hl, l4len, s));
}

/* 10.0.0.1:40000 -> 10.0.0.2:23, TCP with FLAGS, seq 1000, ack 5000, PAY bytes. */
static size_t tcp4(uint8_t *p, uint8_t flags, size_t pay)
{
	memset(p, 0, 64);
	p[0] = 0x45;
	p[2] = (uint8_t)((40 + pay) >> 8);
	p[3] = (uint8_t)(40 + pay);
	p[8] = 64;
	p[9] = 6;
	static const uint8_t addrs[] = { 10, 0, 0, 1, 10, 0, 0, 2 };

	memcpy(p + 12, addrs, 8);
	p[20] = 40000 >> 8;
	p[21] = 40000 & 0xff;
	p[23] = 23;
	p[26] = 1000 >> 8;
	p[27] = 1000 & 0xff;
	p[30] = 5000 >> 8;
	p[31] = 5000 & 0xff;
	p[32] = 5 << 4;
	p[33] = flags;
	return 40 + pay;
}

static void test_rst_to_syn(void **state)
{
	struct fwd_pkt_info info = { .l4off = 20, .tcp_flags = 0x02 };
	uint8_t pkt[64], out[FWD_REJECT_MAX];
	size_t n;

	(void)state;
	tcp4(pkt, 0x02, 0);
	n = reject_build(pkt, 40, 6, &info, out);
	assert_int_equal(n, 40);
	static const uint8_t swapped[] = { 10, 0, 0, 2, 10, 0, 0, 1 };

	assert_memory_equal(out + 12, swapped, 8);
	assert_int_equal(out[9], 6);
	assert_int_equal(out[20] << 8 | out[21], 23);		/* ports swapped */
	assert_int_equal(out[22] << 8 | out[23], 40000);
	assert_int_equal(out[24] | out[25] | out[26] | out[27], 0);	/* seq 0 */
	assert_int_equal(out[30] << 8 | out[31], 1001);	/* ack = seq + SYN */
	assert_int_equal(out[33], 0x14);			/* RST|ACK */
	assert_int_equal(verify_l4(out, 20, 20, 6), 0xffff);
}

static void test_rst_to_ack_with_data(void **state)
{
	struct fwd_pkt_info info = { .l4off = 20, .tcp_flags = 0x18 };
	uint8_t pkt[64], out[FWD_REJECT_MAX];

	(void)state;
	tcp4(pkt, 0x18, 10);
	assert_int_equal(reject_build(pkt, 50, 6, &info, out), 40);
	assert_int_equal(out[26] << 8 | out[27], 5000);	/* seq = their ack */
	assert_int_equal(out[33], 0x04);				/* RST alone */
	pkt[33] = 0x04;		/* never answer a reset */
	assert_int_equal(reject_build(pkt, 50, 6, &info, out), 0);
}

static void test_icmp_unreach_v4(void **state)
{
	struct fwd_pkt_info info = { .l4off = 20 };
	uint8_t pkt[64], out[FWD_REJECT_MAX];
	size_t n;

	(void)state;
	tcp4(pkt, 0, 8);
	pkt[9] = 17;		/* a UDP datagram of 8 bytes payload, header 8 */
	pkt[3] = 36;
	n = reject_build(pkt, 36, 17, &info, out);
	assert_int_equal(n, 20 + 8 + 36);
	assert_int_equal(out[9], 1);
	assert_int_equal(out[20], 3);
	assert_int_equal(out[21], 3);
	assert_memory_equal(out + 28, pkt, 36);
	assert_int_equal(fold(sum16(out + 20, n - 20, 0)), 0xffff);
	pkt[16] = 224;		/* multicast destination: no answer */
	assert_int_equal(reject_build(pkt, 36, 17, &info, out), 0);
	pkt[16] = 10;
	info.later_fragment = true;
	assert_int_equal(reject_build(pkt, 36, 17, &info, out), 0);
}

static void test_icmpv6_unreach(void **state)
{
	struct fwd_pkt_info info = { .l4off = 40 };
	uint8_t pkt[300] = { 0x60 }, out[FWD_REJECT_MAX];
	size_t n;

	(void)state;
	pkt[4] = 0;
	pkt[5] = 200;		/* payload 200: 240 on the wire, 240 copied */
	pkt[6] = 17;
	pkt[8] = 0xfd;
	pkt[23] = 1;
	pkt[24] = 0xfd;
	pkt[39] = 2;
	n = reject_build(pkt, 240, 17, &info, out);
	assert_int_equal(n, 40 + 8 + 240);
	assert_int_equal(out[6], 58);
	assert_int_equal(out[40], 1);
	assert_int_equal(out[41], 4);
	assert_int_equal(out[23], 2);	/* from their destination */
	assert_int_equal(out[39], 1);	/* to their source */
	assert_int_equal(verify_l4(out, 40, 8 + 240, 58), 0xffff);
	info.icmp_type = 1;		/* never answer an ICMPv6 error */
	assert_int_equal(reject_build(pkt, 240, 58, &info, out), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rst_to_syn),
		cmocka_unit_test(test_rst_to_ack_with_data),
		cmocka_unit_test(test_icmp_unreach_v4),
		cmocka_unit_test(test_icmpv6_unreach),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
