/* SPDX-License-Identifier: MIT */
/*
 * bypass.h - packets the kernel accepted without fwd's verdict.
 *
 * With `fail: open` (NFQUEUE --queue-bypass, NFQA_CFG_F_FAIL_OPEN) the
 * kernel accepts a packet that finds the queue full or fwd's socket buffer
 * full, and counts it nowhere. fwd counts it: the packet counter of its own
 * NFQUEUE rules (iptables-save -c / ip6tables-save -c, off the packet path)
 * less the packets that reached fwd, those the kernel still holds for it
 * and those it counted as dropped (/proc/net/netfilter/nfnetlink_queue).
 *
 * Every error of the sampling makes the count smaller, never larger: the
 * rule counters are read first, a reload that rebuilds the chain restarts
 * them (the count so far is kept), packets in flight count as seen, and a
 * family whose table cannot be read keeps its last reading. Each sample is
 * so a lower bound, and the count never goes down.
 */
#ifndef FWD_BYPASS_H
#define FWD_BYPASS_H

#include <stdbool.h>
#include <stdint.h>

struct fwd_state;

/* The count so far, kept across samples. */
struct bypass_acc {
	uint64_t rule[2];		/* IPv4's and IPv6's rule counters, as last read */
	uint64_t last_rule, last_seen;	/* their sum and the packets seen, last sample */
	uint64_t value, carry, base_seen;
};

/*
 * One sample into A: the rule counters of each family (RULE[f], where
 * READ[f]; a family that could not be read keeps its last reading) and the
 * packets fwd has seen (received, held and dropped by the kernel for it).
 * Returns the packets accepted without a verdict so far.
 */
uint64_t bypass_account(struct bypass_acc *a, const uint64_t rule[2], const bool read[2],
			uint64_t seen);

/* Sample now; returns the packets accepted without a verdict since start. */
uint64_t bypass_sample(struct fwd_state *st);

/*
 * Main loop: sample when due and log a warning (at most one per
 * FWD_BYPASS_LOG_S seconds) when the count grew. Returns ms to the next
 * sample, or -1 when there is nothing to watch (no hooks, fail closed).
 */
#define FWD_BYPASS_TICK_MS	1000
#define FWD_BYPASS_LOG_S	10
int bypass_tick(struct fwd_state *st);

#endif
