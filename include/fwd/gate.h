/* SPDX-License-Identifier: MIT */
/*
 * gate.h - shedding an overload before the queue (fwd/gate.c).
 *
 * The kernel builds a queue message for every packet it queues before it
 * looks at the queue's length, so when the queue is full a packet it then
 * drops has cost the receive softirq as much as one fwd judges. Where that
 * softirq shares fwd's CPU (a NIC interrupt landing there) an overload then
 * starves fwd and it judges less the more it is offered. The gate stops
 * that: while the queue overflows, FWD-GATE (hooks.h) drops what comes
 * faster than a rate fwd has shown it keeps up with, for the cost of a rule
 * match, and the rate follows what fwd judges.
 *
 * Every FWD_GATE_TICK_MS the main loop samples the packets fwd received,
 * those the kernel dropped for its queues (queue full, socket buffer full)
 * and those it holds for them now, and steps the gate:
 *   - open, and the queue overflowed (FWD_GATE_OVERFLOW drops in a tick):
 *     close it at what fwd kept up with in the last overload; the first
 *     time, at the most of 0.9x the busiest tick without an overflow and
 *     what reached the queue (fwd starved by the softirq judges next to
 *     nothing, so what it judged would start far too low; the softirq,
 *     saturated, drops much of a flood before the queue, so what reaches
 *     it is near what fwd can take: make bench, 93-110k/s reached against
 *     320-390k/s offered; where the receive work is on another CPU the
 *     whole flood reaches it and the cuts below bring the rate down);
 *   - closed, and the queue overflowed by more than fwd judged (fwd judges
 *     most with its queue full and a little overflowing): that rate is the
 *     ceiling, the rate goes to 0.8x, or 0.5x when the overflow was over
 *     four times what fwd judged (an overflow in the tick right after
 *     closing or cutting may predate it: not counted);
 *   - closed, and the queue holds FWD_GATE_HELD_LOW or more: fwd is busy,
 *     and the most it judged so is what it keeps up with;
 *   - closed, the gate what holds traffic back (fwd judging at least 0.9x
 *     the rate, or all of it while busy, so the queue drains) and the queue
 *     losing nothing: up by half, or by a twentieth near the ceiling; else,
 *     busy or near the rate, the rate stays (a rise in a tick that lost
 *     packets would follow a pause in the flood, not fwd's pace);
 *   - closed, fwd judging less and the queue under FWD_GATE_HELD_LOW for
 *     FWD_GATE_CALM ticks: the overload is over. What fwd kept up with in
 *     it (or, if its queue was never busy, the rate the gate ended on) is
 *     learned, and the gate stands by at twice that for FWD_GATE_STANDBY
 *     ticks: meant to be above what fwd passes without loss (make bench:
 *     its zero-loss rate did not move), so traffic it can take is not held
 *     back, but low enough that a flood that comes back at once is shed
 *     from its first packet rather than from the first tick that sees the
 *     queue overflow. An overflow then closes it at the rate
 *     learned; traffic it holds back or a busy queue make it a closed gate
 *     again; FWD_GATE_STANDBY ticks keeping up open it.
 * The rate is per family, within [FWD_GATE_MIN, FWD_GATE_MAX], and a whole
 * number of microseconds per packet (as hashlimit keeps it). Only `fail:
 * closed` has the gate (with `fail: open` the kernel accepts what finds the
 * queue full); `daemon: shed: off` turns it off.
 */
#ifndef FWD_GATE_H
#define FWD_GATE_H

#include <stdbool.h>
#include <stdint.h>

#include "fwd/queue.h"

struct fwd_state;

#define FWD_GATE_TICK_MS	200
#define FWD_GATE_MIN		1000	/* packets/s */
#define FWD_GATE_MAX		1000000	/* packets/s: hashlimit's fastest */
#define FWD_GATE_OVERFLOW	64	/* dropped in a tick: an overflow */
#define FWD_GATE_HELD_LOW	(FWD_QUEUE_MAXLEN / 16)	/* held: keeping up */
#define FWD_GATE_CALM		2	/* ticks keeping up before the gate stands by */
#define FWD_GATE_STANDBY	25	/* ticks standing by before it opens */

struct fwd_gate {
	uint32_t rate;			/* let into the queue, packets/s; 0: open */
	uint32_t learned;		/* what fwd kept up with in the last overload */
	uint32_t busy;			/* judged per s, most in a tick its queue was busy */
	uint32_t peak;			/* judged per s in the busiest tick without overflow */
	uint32_t ceiling;		/* the rate the queue last overflowed at; 0: none */
	uint32_t calm;			/* ticks in a row keeping up under the rate */
	uint32_t idle;			/* ticks standing by */
	bool standby;			/* the overload is over: at twice what fwd kept up with */
	bool settle;			/* the rate was cut in the last step */
	uint64_t at_ms, received, dropped;	/* the last sample */
	bool primed;
};

/* One sample of fwd's queues. */
struct fwd_gate_sample {
	uint64_t now_ms;
	uint64_t received;		/* by fwd, since start */
	uint64_t dropped;		/* by the kernel, since start */
	uint64_t held;			/* by the kernel, now */
};

/* Step G with sample S; returns the gate's rate after it (0: open). */
uint32_t gate_step(struct fwd_gate *g, const struct fwd_gate_sample *s);

/*
 * Main loop: sample and step when due, change FWD-GATE when the rate moved
 * by a twentieth or more (or opened or closed), and log when it closes and
 * opens. Returns ms to the next tick, or -1 when there is no gate.
 */
int gate_tick(struct fwd_state *st);

/* Packets the gate shed since start (reads FWD-SHED's counters). */
uint64_t gate_shed(void);
/* The rate FWD-GATE holds now, packets/s; 0: open. */
uint32_t gate_rate(void);
/*
 * Before an install of the hooks, which restarts FWD-SHED's counters: read
 * them, so what the gate shed so far is kept.
 */
void gate_harvest(void);

#endif
