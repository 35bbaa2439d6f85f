// SPDX-License-Identifier: MIT
/*
 * bypass.c - counting what `fail: open` let through unjudged; see
 * include/fwd/bypass.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "fwd/bypass.h"
#include "fwd/hooks.h"
#include "fwd/iptsave.h"
#include "fwd/live.h"
#include "fwd/log.h"
#include "fwd/queue.h"
#include "fwd/value.h"

static struct {
	pthread_mutex_t lock;
	struct bypass_acc acc;
	uint64_t logged_value, logged_at_s;
} B = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Held by the kernel for fwd, and dropped by it, over fwd's queues. */
static uint64_t proc_held_dropped(const struct fwd_state *st)
{
	uint64_t held, dropped;

	queue_proc_sum(st->queue_base, st->nworkers, &held, &dropped);
	return held + dropped;
}

uint64_t bypass_account(struct bypass_acc *a, const uint64_t rule[2], const bool read[2],
			uint64_t seen)
{
	uint64_t sum, since;

	for (int f = 0; f < 2; f++)
		if (read[f])
			a->rule[f] = rule[f];
	sum = a->rule[0] + a->rule[1];
	if (sum < a->last_rule) {
		/* A reload rebuilt the chain: its counter starts again from 0. */
		a->carry = a->value;
		a->base_seen = a->last_seen;
	}
	/* Each reading is a lower bound (see bypass.h): the highest is kept. */
	since = seen - a->base_seen;
	if (sum > since && a->carry + sum - since > a->value)
		a->value = a->carry + sum - since;
	a->last_rule = sum;
	a->last_seen = seen;
	return a->value;
}

uint64_t bypass_sample(struct fwd_state *st)
{
	uint64_t rule[2], seen, v;
	bool read[2];

	/* fail: closed has no bypass: a full queue drops (queue_dropped counts it). */
	if (st->no_hooks || !st->workers || st->hooks.fail != FWD_FAIL_OPEN)
		return 0;
	/* Rule counters first: a packet counted after them can only lower the result. */
	for (int f = 0; f < 2; f++)
		read[f] = !ipt_count(f ? 6 : 4, "mangle", FWD_HOOKS_QUEUE_CHAIN, " -j NFQUEUE",
				     &rule[f]);
	seen = proc_held_dropped(st);
	seen += queue_received(st->workers, st->nworkers);
	pthread_mutex_lock(&B.lock);
	v = bypass_account(&B.acc, rule, read, seen);
	pthread_mutex_unlock(&B.lock);
	return v;
}

int bypass_tick(struct fwd_state *st)
{
	uint64_t v, now;

	if (st->no_hooks || st->hooks.fail != FWD_FAIL_OPEN)
		return -1;
	v = bypass_sample(st);
	now = clock_mono_ms() / 1000;
	pthread_mutex_lock(&B.lock);
	if (v > B.logged_value && (!B.logged_at_s || now - B.logged_at_s >= FWD_BYPASS_LOG_S)) {
		log_warn("fail-open: %" PRIu64 " packets accepted without a verdict (queue or "
			 "socket buffer full), %" PRIu64 " since start; fail: closed drops them instead",
			 v - B.logged_value, v);
		B.logged_value = v;
		B.logged_at_s = now;
	}
	pthread_mutex_unlock(&B.lock);
	return FWD_BYPASS_TICK_MS;
}
