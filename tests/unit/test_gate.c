// SPDX-License-Identifier: MIT
/*
 * test_gate.c - the overload gate's steps (fwd/gate.c): samples of fwd's
 * queue in, the rate FWD-GATE is to hold after each out, as a table that
 * reads like the log of an overload.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "fwd/gate.h"

struct row {
	uint64_t ms, received, dropped, held;
	uint32_t rate;		/* expected after the step */
	const char *why;
};

/* Step G through the N rows R, each step's rate as the row expects. */
static void run_on(struct fwd_gate *g, const struct row *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct fwd_gate_sample s = { r[i].ms, r[i].received, r[i].dropped, r[i].held };
		uint32_t got = gate_step(g, &s);

		if (got != r[i].rate)
			fail_msg("row %zu (%s): rate %u, want %u", i, r[i].why, got, r[i].rate);
	}
}

/* The same from a gate never stepped. */
static void run(const struct row *r, size_t n)
{
	struct fwd_gate g = { 0 };

	run_on(&g, r, n);
}

/* An overload from its start to its end, and the next one. */
static void test_overload(void **state)
{
	static const struct row rows[] = {
		{ 0, 0, 0, 0, 0, "first sample: nothing to compare" },
		{ 200, 20000, 0, 10, 0, "100k/s judged, no overflow: the peak" },
		{ 400, 22000, 10000, 8192, 90909, "overflow: close at 0.9x the peak (1e6 / 11)" },
		{ 600, 40000, 20000, 8000, 90909, "the queue is full: hold; fwd keeps up with 90k/s" },
		{ 800, 50000, 40000, 8192, 76923, "lost more than judged: x0.8 (1e6 / 13), ceiling" },
		{ 1000, 60000, 60000, 8192, 76923, "the tick after a cut: its overflow not counted" },
		{ 1200, 78000, 60000, 100, 83333, "judged 90k/s, queue empty: up, to 0.9x the ceiling" },
		{ 1400, 94200, 60000, 0, 90909, "near the ceiling: up a twentieth (87.5k: 1e6 / 11)" },
		{ 1600, 96200, 60000, 0, 90909, "10k/s, keeping up: calm 1" },
		{ 1800, 98200, 60000, 0, 200000, "calm 2: over; stand by at twice what fwd kept up with" },
		{ 2000, 98300, 80000, 8192, 90909, "overflow again: close at what fwd kept up with" },
		{ 2200, 98400, 180000, 8192, 90909, "the tick after closing: not counted" },
		{ 2400, 98500, 280000, 8192, 45454, "lost 500k/s, over 4x judged: halve (1e6 / 22)" },
	};

	(void)state;
	run(rows, sizeof(rows) / sizeof(rows[0]));
}

/* Standing by: traffic under the rate keeps it, FWD_GATE_STANDBY ticks of it open it. */
static void test_standby_opens(void **state)
{
	static const struct row rows[] = {
		{ 0, 0, 0, 0, 0, "first sample" },
		{ 200, 20000, 0, 10, 0, "100k/s judged: the peak" },
		{ 400, 22000, 10000, 8192, 90909, "overflow: close at 0.9x the peak" },
		{ 600, 40000, 20000, 8000, 90909, "busy: fwd keeps up with 90k/s" },
		{ 800, 42000, 20000, 0, 90909, "10k/s: calm 1" },
		{ 1000, 44000, 20000, 0, 200000, "calm 2: stand by at twice 90,909 (1e6 / 5)" },
	};
	struct fwd_gate g = { 0 };
	struct fwd_gate_sample s = { 1000, 44000, 20000, 0 };

	(void)state;
	run_on(&g, rows, sizeof(rows) / sizeof(rows[0]));
	for (int t = 1; t <= FWD_GATE_STANDBY; t++) {
		s.now_ms += FWD_GATE_TICK_MS;
		s.received += 2000;	/* 10k/s, under the rate, the queue empty */
		assert_int_equal(gate_step(&g, &s), t < FWD_GATE_STANDBY ? 200000 : 0);
	}
}

/*
 * Nothing judged before the first overflow: what reached the queue, which in
 * a collapse is itself far below what was offered (the softirq, saturated,
 * drops the rest before the queue).
 */
static void test_first_overload_from_offered(void **state)
{
	static const struct row rows[] = {
		{ 0, 0, 0, 0, 0, "first sample" },
		{ 250, 64, 30000, 8192, 125000, "judged 256/s, lost 120k/s: 120,256 (1e6 / 8)" },
		{ 500, 18000, 50000, 1394, 125000, "settling: its overflow not counted" },
		{ 700, 40600, 50000, 100, 200000, "binding, no ceiling: up by half (1e6 / 5)" },
	};

	(void)state;
	run(rows, sizeof(rows) / sizeof(rows[0]));
}

/* Closed: up only while the gate is what holds traffic back and the queue loses nothing. */
static void test_up_only_when_gated(void **state)
{
	static const struct row rows[] = {
		{ 0, 0, 0, 0, 0, "first sample" },
		{ 200, 20000, 0, 10, 0, "100k/s judged: the peak" },
		{ 400, 22000, 10000, 8192, 90909, "overflow: close at 0.9x the peak" },
		{ 600, 40000, 20000, 8000, 90909, "busy, judged 90k/s, under the rate: hold" },
		{ 800, 58400, 20000, 7000, 142857, "busy, judged 92k/s, all the gate lets in: up" },
		{ 1000, 84400, 21000, 100, 142857, "judged 130k/s but lost 1,000: hold" },
		{ 1200, 110400, 21000, 100, 250000, "judged 130k/s, nothing lost: up (1e6 / 4)" },
	};

	(void)state;
	run(rows, sizeof(rows) / sizeof(rows[0]));
}

/* A small overflow engages the gate; never below FWD_GATE_MIN nor above FWD_GATE_MAX. */
static void test_bounds_and_small_overflow(void **state)
{
	static const struct row rows[] = {
		{ 0, 0, 0, 0, 0, "first sample" },
		{ 1000, 10, 63, 0, 0, "63 dropped in a tick: not an overflow" },
		{ 2000, 20, 127, 8192, FWD_GATE_MIN, "64: an overflow; 74/s would be below the floor" },
		{ 3000, 21, 127, 0, FWD_GATE_MIN, "the tick after closing" },
		{ 4000, 22, 10127, 8192, FWD_GATE_MIN, "lost more than judged: halved, held at the floor" },
	};
	static const struct row top[] = {
		{ 0, 0, 0, 0, 0, "first sample" },
		{ 100, 10, 500000, 8192, FWD_GATE_MAX, "lost 5M/s: half is past hashlimit's fastest" },
	};

	(void)state;
	run(rows, sizeof(rows) / sizeof(rows[0]));
	run(top, sizeof(top) / sizeof(top[0]));
}

/* Counters that go back (a restart) or a clock that stands still: re-prime. */
static void test_reprime(void **state)
{
	static const struct row rows[] = {
		{ 1000, 5000, 0, 0, 0, "first sample" },
		{ 1000, 9000, 500, 8192, 0, "same ms: re-primed, no step" },
		{ 1200, 100, 500, 8192, 0, "received went back: re-primed" },
		{ 1400, 200, 600, 8192, 1000, "then an overflow closes the gate (1,000/s reached it)" },
	};

	(void)state;
	run(rows, sizeof(rows) / sizeof(rows[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_overload),
		cmocka_unit_test(test_standby_opens),
		cmocka_unit_test(test_first_overload_from_offered),
		cmocka_unit_test(test_up_only_when_gated),
		cmocka_unit_test(test_bounds_and_small_overflow),
		cmocka_unit_test(test_reprime),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
