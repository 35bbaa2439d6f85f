// SPDX-License-Identifier: MIT
/*
 * bypass.c - counting what `fail: open` let through unjudged; see
 * include/fwd/bypass.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
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
	uint64_t last_rule, last_seen, last_value, carry, base_seen;
	uint64_t logged_value, logged_at_s;
} B = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* The packet counter of fwd's NFQUEUE rules in FAMILY's mangle table (0 if none). */
static uint64_t rule_packets(int family)
{
	char *text;
	uint64_t sum;

	if (ipt_save(family, "mangle", &text))
		return 0;
	sum = ipt_counted(text, FWD_HOOKS_QUEUE_CHAIN, " -j NFQUEUE");
	free(text);
	return sum;
}

/* Held by the kernel for fwd, and dropped by it, over fwd's queues. */
static uint64_t proc_held_dropped(const struct fwd_state *st)
{
	uint64_t held, dropped;

	queue_proc_sum(st->queue_base, st->nworkers, &held, &dropped);
	return held + dropped;
}

uint64_t bypass_sample(struct fwd_state *st)
{
	uint64_t rule, seen, since;

	/* fail: closed has no bypass: a full queue drops (queue_dropped counts it). */
	if (st->no_hooks || !st->workers || st->hooks.fail != FWD_FAIL_OPEN)
		return 0;
	/* Rule counter first: a packet counted after it can only lower the result. */
	rule = rule_packets(4) + rule_packets(6);
	seen = proc_held_dropped(st);
	seen += queue_received(st->workers, st->nworkers);
	pthread_mutex_lock(&B.lock);
	if (rule < B.last_rule) {
		/* A reload rebuilt the chain: its counter starts again from 0. */
		B.carry = B.last_value;
		B.base_seen = B.last_seen;
	}
	since = seen - B.base_seen;
	B.last_value = B.carry + (rule > since ? rule - since : 0);
	if (B.last_value < B.carry)
		B.last_value = B.carry;
	B.last_rule = rule;
	B.last_seen = seen;
	since = B.last_value;
	pthread_mutex_unlock(&B.lock);
	return since;
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
