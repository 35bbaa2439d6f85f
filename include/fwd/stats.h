/* SPDX-License-Identifier: MIT */
/*
 * stats.h - the daemon's counters summed (fwd/stats.c): what `fwd stats`,
 * `fwd top`, the metrics file and a reload's carried counts read.
 */
#ifndef FWD_STATS_H
#define FWD_STATS_H

#include <stdint.h>

#include "fwd/live.h"
#include "fwd/packet.h"

/* Counters summed over the workers; malformed[0] is unused. */
struct fwd_totals {
	uint64_t dflt_packets, dflt_bytes, received, enobufs, malformed_total;
	uint64_t malformed[FWD_PKT_NREASONS];
	uint64_t queue_dropped, user_dropped;
	uint64_t bypassed;	/* fail-open: accepted without a verdict (fwd/bypass.c) */
	uint64_t shed;		/* dropped before the queue at overload (fwd/gate.c) */
	uint64_t spoofed;	/* dropped before the queue: no route back (fwd/rpfilter.c) */
	uint64_t unanswered;	/* rejects past FWD_REJECT_RATE or unsendable: no answer */
	uint64_t looped;	/* back from a repeat verdict without its mark: accepted */
	uint64_t unseen_iface;	/* from a link fwd had no name for yet: as `fail:` says */
	uint64_t errors;	/* receive failures, verdicts not sent or refused */
	uint64_t rechecked;	/* connections of blocked sources marked (fwd/recheck.c) */
	uint32_t gate_rate;	/* the overload gate's rate now; 0: open */
	struct fwd_log_stats log;
};

/* Under st->lock: sum the workers' counters, the queue drops and the log's. */
void stats_totals(struct fwd_state *st, struct fwd_totals *t);
/* The workers' own counters alone (no lock, nothing read from /proc); the rest of T is 0. */
void stats_worker_totals(const struct fwd_state *st, struct fwd_totals *t);

/*
 * Rule I of L: packets, bytes and the last hit (CLOCK_MONOTONIC_COARSE ms,
 * 0 for never) over every worker and what earlier tables carried over.
 */
void stats_rule_totals(const struct fwd_live *l, uint32_t i, uint64_t *packets,
		       uint64_t *bytes, uint64_t *last_ms);

#endif
