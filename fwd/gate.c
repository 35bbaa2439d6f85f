// SPDX-License-Identifier: MIT
/*
 * gate.c - shedding an overload before the queue; see include/fwd/gate.h.
 * Off the packet path: the main loop's thread, and stats readers.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "fwd/gate.h"
#include "fwd/hooks.h"
#include "fwd/iptsave.h"
#include "fwd/live.h"
#include "fwd/log.h"
#include "fwd/queue.h"
#include "fwd/value.h"

/*
 * R within [FWD_GATE_MIN, FWD_GATE_MAX], as hashlimit keeps it: a whole
 * number of microseconds per packet, so 131,554/s is 1e6 / 7 = 142,857/s.
 */
static uint32_t gate_rate_of(uint64_t r)
{
	if (r < FWD_GATE_MIN)
		r = FWD_GATE_MIN;
	if (r > FWD_GATE_MAX)
		r = FWD_GATE_MAX;
	return (uint32_t)(FWD_GATE_MAX / (FWD_GATE_MAX / r));
}

/*
 * The gate is open: close it if the queue overflowed. JUDGED and OFFERED
 * (judged and dropped) are per second over the tick. In a collapse fwd
 * judges next to nothing, so a first overload starts from what reached the
 * queue: the saturated softirq has dropped much of the flood before it.
 */
static uint32_t step_open(struct fwd_gate *g, uint64_t judged, uint64_t offered, bool over)
{
	uint64_t r;

	g->calm = 0;
	g->busy = 0;
	if (!over) {
		if (judged > g->peak)
			g->peak = judged > UINT32_MAX ? UINT32_MAX : (uint32_t)judged;
		return 0;
	}
	g->settle = true;
	r = g->learned;
	if (!r) {
		r = (uint64_t)g->peak * 9 / 10;
		if (offered > r)
			r = offered;
		if (judged > r)
			r = judged;
	}
	return gate_rate_of(r);
}

/*
 * Up from a rate the gate holds traffic back at: by half again while far
 * below the rate the queue last overflowed at (the ceiling), by a twentieth
 * once near it.
 */
static uint32_t grow(const struct fwd_gate *g)
{
	uint64_t r = g->rate, near = (uint64_t)g->ceiling * 9 / 10, next = r * 3 / 2;

	if (g->ceiling && next > near)
		next = r < near ? near : r * 21 / 20;
	return gate_rate_of(next);
}

/* What the queue lost in a tick. */
enum gate_loss {
	LOSS_NONE,		/* under FWD_GATE_OVERFLOW */
	LOSS_SOME,		/* closed: no more than fwd judged */
	LOSS_OVER,		/* an overflow: open, any; closed, more than fwd judged */
};

/* The gate is closed: follow what fwd keeps up with, or open it. */
static uint32_t step_closed(struct fwd_gate *g, uint64_t judged, uint64_t lost, uint64_t held,
			    enum gate_loss loss)
{
	uint64_t r = g->rate;
	bool over = loss == LOSS_OVER, busy = held >= FWD_GATE_HELD_LOW;

	if (g->settle) {
		/* The tick after a cut: what overflowed may predate it. */
		g->settle = false;
		if (over)
			return g->rate;
	}
	if (over) {
		g->calm = 0;
		g->ceiling = g->rate;
		g->settle = true;
		if (g->standby) {
			/* The next overload: straight to what fwd kept up with. */
			g->standby = false;
			return gate_rate_of(g->learned);
		}
		/* Far above what fwd keeps up with (a collapse): halve. */
		return gate_rate_of(lost > 4 * judged ? r / 2 : r * 4 / 5);
	}
	if (busy && judged > g->busy)
		/* fwd is busy: what it judged so is what it keeps up with. */
		g->busy = judged < r ? (uint32_t)judged : g->rate;
	if (busy || judged * 10 >= r * 9) {
		/*
		 * Up only while the gate is what holds traffic back: fwd judges
		 * near the rate (a busy queue: all of it, so the queue drains)
		 * and the queue lost nothing.
		 */
		g->calm = g->standby = false;
		return loss == LOSS_NONE && judged * 10 >= r * (busy ? 10 : 9) ? grow(g) : g->rate;
	}
	/* Under the rate and keeping up: the overload is over. */
	if (g->standby) {
		g->standby = ++g->idle < FWD_GATE_STANDBY;
		return g->standby ? g->rate : 0;
	}
	if (++g->calm < FWD_GATE_CALM)
		return g->rate;
	g->learned = g->busy ? gate_rate_of(g->busy) : g->rate;
	g->busy = 0;
	g->standby = true;
	g->idle = 0;
	return gate_rate_of(r > 2 * (uint64_t)g->learned ? r : 2 * (uint64_t)g->learned);
}

uint32_t gate_step(struct fwd_gate *g, const struct fwd_gate_sample *s)
{
	uint64_t dt, judged, lost;
	enum gate_loss loss = LOSS_NONE;

	if (!g->primed || s->now_ms <= g->at_ms || s->received < g->received ||
	    s->dropped < g->dropped) {
		g->primed = true;
		g->at_ms = s->now_ms;
		g->received = s->received;
		g->dropped = s->dropped;
		return g->rate;
	}
	dt = s->now_ms - g->at_ms;
	judged = (s->received - g->received) * 1000 / dt;
	lost = s->dropped - g->dropped;
	/*
	 * Closed, fwd judges most with its queue full and a little overflowing:
	 * only losing more than it judged is too much.
	 */
	if (lost >= FWD_GATE_OVERFLOW)
		loss = !g->rate || lost > s->received - g->received ? LOSS_OVER : LOSS_SOME;
	g->at_ms = s->now_ms;
	g->received = s->received;
	g->dropped = s->dropped;
	g->rate = g->rate ? step_closed(g, judged, lost * 1000 / dt, s->held, loss) :
			    step_open(g, judged, judged + lost * 1000 / dt, loss == LOSS_OVER);
	return g->rate;
}

/*
 * The daemon's gate. FWD-SHED's drop counts what the gate shed; an install
 * of the hooks restarts its counter, which SHED[] notices (a count lower
 * than the last) and carries over. What it drops between the last sample
 * and such an install is not counted: the count errs low, never high.
 */
static struct {
	pthread_mutex_t lock;
	struct fwd_gate g;
	uint32_t applied;		/* the rate FWD-GATE holds */
	uint64_t carry, shed[2];	/* IPv4, IPv6 */
	uint64_t closed_ms, shed_at_close;
	bool closed_once;		/* else FWD-SHED has dropped nothing: no need to read it */
	bool warned;
} S = { .lock = PTHREAD_MUTEX_INITIALIZER };

/*
 * Under S.lock: read both families' counts (FWD-SHED is in raw in
 * every-packet mode, in mangle in the stateful one); the total shed so far.
 * A family with a table that cannot be read keeps its last count (taking it
 * for a restart would count it twice once it reads again).
 */
static uint64_t sample_locked(void)
{
	for (int f = 0; f < 2; f++) {
		uint64_t p, m;

		if (ipt_count(f ? 6 : 4, "raw", FWD_HOOKS_SHED_CHAIN, " -j DROP", &p) ||
		    ipt_count(f ? 6 : 4, "mangle", FWD_HOOKS_SHED_CHAIN, " -j DROP", &m))
			continue;
		p += m;
		if (p < S.shed[f])
			S.carry += S.shed[f];
		S.shed[f] = p;
	}
	return S.carry + S.shed[0] + S.shed[1];
}

uint64_t gate_shed(void)
{
	uint64_t n;

	pthread_mutex_lock(&S.lock);
	n = S.closed_once ? sample_locked() : 0;
	pthread_mutex_unlock(&S.lock);
	return n;
}

uint32_t gate_rate(void)
{
	uint32_t r;

	pthread_mutex_lock(&S.lock);
	r = S.applied;
	pthread_mutex_unlock(&S.lock);
	return r;
}

void gate_harvest(void)
{
	pthread_mutex_lock(&S.lock);
	if (S.closed_once)
		sample_locked();
	pthread_mutex_unlock(&S.lock);
}

/* A new rate worth a new FWD-GATE line: opened, closed, or moved by 1/20. */
static bool moved(uint32_t from, uint32_t to)
{
	uint32_t d = from > to ? from - to : to - from;

	return !from != !to || (from && (uint64_t)d * 20 >= from);
}

/* Under S.lock: FWD-GATE to RATE. */
static void apply_locked(uint32_t rate)
{
	int e = hooks_gate(rate);

	if (e) {
		if (!S.warned)
			log_warn("overload: cannot change %s: %s", FWD_HOOKS_GATE_CHAIN,
				 e < 0 ? strerror(-e) : "iptables-restore failed");
		S.warned = true;
		return;
	}
	S.closed_once |= rate != 0;
	S.applied = rate;
}

/*
 * Under S.lock, after a step from a gate that was open (WAS_OPEN) or
 * standing by (WAS_STANDBY): say when an overload starts and ends.
 */
static void say_locked(bool was_open, bool was_standby, uint64_t now)
{
	const struct fwd_gate *g = &S.g;

	if (g->rate && (was_open || (was_standby && !g->standby))) {
		/* Nothing is shed while the gate is open: the count stands where it was. */
		S.closed_ms = now;
		S.shed_at_close = S.carry + S.shed[0] + S.shed[1];
		log_warn("overload: the queue overflows; shedding what comes faster than %" PRIu32
			 " packets/s before it (%s)", g->rate, FWD_HOOKS_GATE_CHAIN);
	} else if (g->standby && !was_standby) {
		log_info("overload over after %.1f s: %" PRIu64 " packets shed before the queue; "
			 "the gate stands by at %" PRIu32 " packets/s for %u s",
			 (double)(now - S.closed_ms) / 1000, sample_locked() - S.shed_at_close,
			 g->rate, FWD_GATE_STANDBY * FWD_GATE_TICK_MS / 1000);
	}
}

int gate_tick(struct fwd_state *st)
{
	struct fwd_gate_sample s;
	uint64_t since;
	uint32_t rate;

	if (st->no_hooks || !st->workers)
		return -1;
	if (!hooks_gated(&st->hooks)) {
		/* shed: off or fail: open since a reload, whose install removed the line */
		pthread_mutex_lock(&S.lock);
		if (S.applied)
			hooks_gate_forget();
		S.applied = 0;
		S.g.rate = 0;
		S.g.standby = false;
		pthread_mutex_unlock(&S.lock);
		return -1;
	}
	s.now_ms = clock_mono_ms();
	pthread_mutex_lock(&S.lock);
	since = s.now_ms - S.g.at_ms;
	if (since >= FWD_GATE_TICK_MS || !S.g.primed) {
		bool was_open = !S.g.rate, was_standby = S.g.standby;

		/* Read only when due: the main loop also wakes for other work. */
		s.received = queue_received(st->workers, st->nworkers);
		queue_proc_sum(st->queue_base, st->nworkers, &s.held, &s.dropped);
		rate = gate_step(&S.g, &s);
		if (moved(S.applied, rate))
			apply_locked(rate);
		say_locked(was_open, was_standby, s.now_ms);
		since = 0;
	}
	pthread_mutex_unlock(&S.lock);
	return (int)(FWD_GATE_TICK_MS - since);
}
