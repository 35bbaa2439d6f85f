// SPDX-License-Identifier: MIT
/*
 * test_loopguard.c - a worker's loop guard (fwd/loopguard.c): which packet
 * back from a repeat verdict is looping, and what a fingerprint keeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "fwd/loopguard.h"

static struct fwd_loopguard g;
static bool preceded = true;	/* a rule before fwd's jump: loops are caught at once */

static int setup(void **state)
{
	(void)state;
	loopguard_init(&g, 0x5eed);
	return 0;
}

/* Passes of PRINT at T ms: which of them the guard calls a loop, as a string of 'r'/'L'. */
static const char *passes(uint64_t print, const uint64_t *t, unsigned n)
{
	static char out[24];

	for (unsigned i = 0; i < n; i++)
		out[i] = loopguard_looped(&g, print, t[i], preceded) ? 'L' : 'r';
	out[n] = '\0';
	return out;
}

static void test_third_pass_loops(void **state)
{
	(void)state;
	assert_string_equal(passes(7, (uint64_t[]){ 1000, 1001, 1002 }, 3), "rrL");
	/* The loop is over: the same bytes later start again. */
	assert_string_equal(passes(7, (uint64_t[]){ 1003, 1004, 1005 }, 3), "rrL");
	/* A twin (the same bytes twice) is repeated both times. */
	assert_string_equal(passes(9, (uint64_t[]){ 2000, 2000 }, 2), "rr");
}

/*
 * With nothing before fwd's jump no packet can loop: what comes back is a
 * twin (a burst of the same datagram), repeated each time, unless it comes
 * back FWD_LOOP_BACK_UNSEEN times, which bounds a loop that starts between
 * two looks of the hooks watch.
 */
static void test_twins_without_a_rule_before(void **state)
{
	uint64_t t[FWD_LOOP_BACK_UNSEEN + 1];

	_Static_assert(FWD_LOOP_BACK_UNSEEN == 16, "the strings below");
	(void)state;
	preceded = false;
	for (unsigned i = 0; i <= FWD_LOOP_BACK_UNSEEN; i++)
		t[i] = 5000 + i / 4;
	assert_string_equal(passes(11, t, FWD_LOOP_BACK_UNSEEN), "rrrrrrrrrrrrrrrr");
	assert_string_equal(passes(13, t, FWD_LOOP_BACK_UNSEEN + 1), "rrrrrrrrrrrrrrrrL");
	assert_string_equal(passes(17, (uint64_t[]){ 6000, 6001, 6002 }, 3), "rrr");
	preceded = true;
	assert_string_equal(passes(19, (uint64_t[]){ 6000, 6001, 6002 }, 3), "rrL");
}

static void test_slow_passes_are_not_a_loop(void **state)
{
	(void)state;
	assert_string_equal(passes(7, (uint64_t[]){ 1000, 1000 + FWD_LOOP_MS + 1,
						    1000 + 2 * FWD_LOOP_MS + 2 }, 3), "rrr");
	assert_string_equal(passes(7, (uint64_t[]){ 1300, 1300 + FWD_LOOP_MS }, 2), "rL");
	assert_false(loopguard_looped(&g, 0, 1400, true));
	assert_false(loopguard_looped(&g, 0, 1400, true));
	assert_false(loopguard_looped(&g, 0, 1400, true));
}

/* Interleaved passes of prints A and B: 'r'/'L' for each. */
static const char *interleaved(uint64_t a, uint64_t b, unsigned n)
{
	static char out[16];

	for (unsigned i = 0; i < n; i++)
		out[i] = loopguard_looped(&g, i % 2 ? b : a, 3000 + i, true) ? 'L' : 'r';
	out[n] = '\0';
	return out;
}

/*
 * Two packets of one set looping at once: each is caught on its third
 * pass. With one slot a set they took it from each other on every pass and
 * looped for ever.
 */
static void test_two_loops_in_one_set(void **state)
{
	(void)state;
	assert_string_equal(interleaved(5, 5 + FWD_LOOP_SETS, 6), "rrrrLL");
}

/* As many as a set has ways, likewise. */
static void test_loops_in_one_set(void **state)
{
	char got[FWD_LOOP_WAYS + 1] = "", want[FWD_LOOP_WAYS + 1];

	(void)state;
	for (int pass = 0; pass < 3; pass++) {
		for (unsigned i = 0; i < FWD_LOOP_WAYS; i++) {
			uint64_t print = 5 + (uint64_t)i * FWD_LOOP_SETS;

			got[i] = loopguard_looped(&g, print, 3000 + (uint64_t)pass, true) ? 'L' : 'r';
		}
		memset(want, pass < 2 ? 'r' : 'L', FWD_LOOP_WAYS);
		want[FWD_LOOP_WAYS] = '\0';
		assert_string_equal(got, want);
	}
}

/* A new packet takes a set's oldest slot, not one of a packet still looping. */
static void test_new_packets_take_the_oldest(void **state)
{
	(void)state;
	for (unsigned i = 0; i < FWD_LOOP_WAYS; i++)
		loopguard_looped(&g, 5 + (uint64_t)i * FWD_LOOP_SETS, 4000 + i, true);
	assert_false(loopguard_looped(&g, 5 + FWD_LOOP_WAYS * FWD_LOOP_SETS, 4010, true));
	/* The first (oldest) made room; the last is still known. */
	assert_string_equal(passes(5, (uint64_t[]){ 4011, 4012 }, 2), "rr");
	assert_string_equal(passes(5 + (FWD_LOOP_WAYS - 1) * FWD_LOOP_SETS,
				   (uint64_t[]){ 4013, 4014 }, 2), "rL");
}

/* An IPv4 TCP SYN 10.0.0.1:40000 -> 10.0.0.2:22. */
static void syn(uint8_t *p)
{
	static const uint8_t pkt[40] = {
		0x45, 0x00, 0x00, 0x28, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0xaa, 0xbb,
		10, 0, 0, 1, 10, 0, 0, 2,
		0x9c, 0x40, 0x00, 0x16, 0x01, 0x02, 0x03, 0x04, 0, 0, 0, 0,
		0x50, 0x02, 0xfa, 0xf0, 0xcc, 0xdd, 0x00, 0x00,
	};

	memcpy(p, pkt, sizeof(pkt));
}

static void test_print_keeps_what_rules_leave(void **state)
{
	uint8_t p[40];
	uint64_t base;
	struct fwd_loopguard other;

	(void)state;
	syn(p);
	base = loopguard_print(&g, p, sizeof(p), 20);
	assert_true(base != 0);
	p[1] = 0x10, p[8] = 3, p[10] = 0, p[11] = 0;	/* TOS, TTL, checksum */
	assert_true(loopguard_print(&g, p, sizeof(p), 20) == base);
	syn(p);
	p[27] ^= 1;					/* another sequence number */
	assert_true(loopguard_print(&g, p, sizeof(p), 20) != base);
	syn(p);
	p[19] = 3;					/* another destination */
	assert_true(loopguard_print(&g, p, sizeof(p), 20) != base);
	syn(p);
	loopguard_init(&other, 0x5eee);			/* another secret */
	assert_true(loopguard_print(&other, p, sizeof(p), 20) != base);
	assert_true(loopguard_print(&g, p, 19, 0) == 0);
	assert_true(loopguard_print(&g, NULL, 40, 20) == 0);
}

/* An IPv6 UDP datagram 2001:db8::1:5353 -> 2001:db8::2:53, 4 bytes of data. */
static void udp6(uint8_t *p)
{
	memset(p, 0, 52);
	p[0] = 0x60, p[5] = 12, p[6] = 17, p[7] = 64;
	p[8] = 0x20, p[9] = 0x01, p[10] = 0x0d, p[11] = 0xb8, p[23] = 1;
	p[24] = 0x20, p[25] = 0x01, p[26] = 0x0d, p[27] = 0xb8, p[39] = 2;
	p[40] = 0x14, p[41] = 0xe9, p[42] = 0, p[43] = 53, p[45] = 12, p[46] = 0xab;
}

static void test_print6(void **state)
{
	uint8_t p[52];
	uint64_t base;

	(void)state;
	udp6(p);
	base = loopguard_print(&g, p, sizeof(p), 40);
	p[0] = 0x6b, p[1] = 0x8f, p[3] = 7, p[7] = 1;	/* traffic class, flow label, hop limit */
	assert_true(loopguard_print(&g, p, sizeof(p), 40) == base);
	udp6(p);
	p[23] = 3;					/* another source */
	assert_true(loopguard_print(&g, p, sizeof(p), 40) != base);
	udp6(p);
	p[47] = 1;					/* another UDP checksum */
	assert_true(loopguard_print(&g, p, sizeof(p), 40) != base);
	udp6(p);					/* a header cut short */
	assert_true(loopguard_print(&g, p, 44, 40) != base);
}

/*
 * Packets fwd cannot parse (judged by `malformed:`) that are neither IPv4
 * nor a whole IPv6 header: all of them had one fingerprint, so under
 * `malformed: allow` three such packets within the window were accepted as
 * a loop instead of repeated.
 */
static void test_print_unparsed(void **state)
{
	uint8_t a[32], b[32];

	(void)state;
	memset(a, 0, sizeof(a));
	a[0] = 0x60, a[8] = 0x20, a[9] = 0x01;		/* IPv6 cut at 32 bytes */
	memcpy(b, a, sizeof(b));
	b[23] = 1;
	assert_true(loopguard_print(&g, a, sizeof(a), 0) != loopguard_print(&g, b, sizeof(b), 0));
	a[0] = b[0] = 0x50;				/* no IP version fwd knows */
	assert_true(loopguard_print(&g, a, sizeof(a), 0) != loopguard_print(&g, b, sizeof(b), 0));
	assert_true(loopguard_print(&g, a, sizeof(a), 0) != 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_third_pass_loops, setup),
		cmocka_unit_test_setup(test_slow_passes_are_not_a_loop, setup),
		cmocka_unit_test_setup(test_twins_without_a_rule_before, setup),
		cmocka_unit_test_setup(test_two_loops_in_one_set, setup),
		cmocka_unit_test_setup(test_loops_in_one_set, setup),
		cmocka_unit_test_setup(test_new_packets_take_the_oldest, setup),
		cmocka_unit_test_setup(test_print_keeps_what_rules_leave, setup),
		cmocka_unit_test_setup(test_print6, setup),
		cmocka_unit_test_setup(test_print_unparsed, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
