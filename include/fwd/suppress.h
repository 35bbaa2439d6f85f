/* SPDX-License-Identifier: MIT */
/*
 * suppress.h - the log rate limit's summaries. A worker's token bucket
 * counts what it refuses (fwd_bucket.refused); the main thread sums those
 * counts per rule about once a second and writes "fwd: suppressed N events
 * rule=NAME", so a flood is reported when it ends, not when its rule next
 * logs a line.
 */
#ifndef FWD_SUPPRESS_H
#define FWD_SUPPRESS_H

#include "fwd/live.h"

/* How often the main loop calls suppress_sweep(), in ms. */
#define FWD_SUPPRESS_SWEEP_MS	500

/* Report the refusals of every bucket not reported yet. Takes st->lock. */
void suppress_sweep(struct fwd_state *st);
/* The same for L's rule buckets only; the caller holds st->lock. */
void suppress_sweep_live(const struct fwd_live *l);

#endif
