// SPDX-License-Identifier: MIT
/*
 * suppress.c - summaries of the events the log rate limit suppressed.
 *
 * Each bucket has one writer, its worker, which only ever adds to
 * bucket.refused. The main thread, under st->lock (which keeps st->live
 * from being freed), remembers in bucket.summarised how much of that it has
 * reported, and writes the difference, summed over the workers, as one line
 * per rule.
 */
#include <stdatomic.h>

#include "fwd/log.h"
#include "fwd/queue.h"
#include "fwd/suppress.h"

/* Refusals of B not reported yet; marks them reported. */
static uint64_t take(struct fwd_bucket *b)
{
	uint64_t r = atomic_load_explicit(&b->refused, memory_order_relaxed);
	uint64_t n = r - b->summarised;

	b->summarised = r;
	return n;
}

void suppress_sweep_live(const struct fwd_live *l)
{
	if (!l)
		return;
	for (uint32_t i = 0; i < l->nrules; i++) {
		const struct fwd_rule_info *ri = ruleset_rule(l->rs, i);
		uint64_t n = 0;

		for (unsigned w = 0; ri->log && w < l->nworkers; w++)
			n += take(&l->bucket[w][ri->log_idx]);
		log_suppressed(l->names[i], n);
	}
}

void suppress_sweep(struct fwd_state *st)
{
	uint64_t dflt = 0, malformed = 0, dyn = 0;

	pthread_mutex_lock(&st->lock);
	suppress_sweep_live(st->live);
	for (unsigned w = 0; st->workers && w < st->nworkers; w++) {
		dflt += take(&st->workers[w].dflt_bucket);
		malformed += take(&st->workers[w].malformed_bucket);
		dyn += take(&st->workers[w].dyn_bucket);
	}
	pthread_mutex_unlock(&st->lock);
	log_suppressed("default", dflt);
	log_suppressed("malformed", malformed);
	log_suppressed("dynamic", dyn);
}
