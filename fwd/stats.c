// SPDX-License-Identifier: MIT
/*
 * stats.c - the counters of the workers, the queues and the log summed
 * (include/fwd/stats.h). Readers load each counter relaxed while the
 * workers run.
 */
#include <string.h>

#include "fwd/bypass.h"
#include "fwd/gate.h"
#include "fwd/queue.h"
#include "fwd/recheck.h"
#include "fwd/rpfilter.h"
#include "fwd/stats.h"

void stats_worker_totals(const struct fwd_state *st, struct fwd_totals *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < st->nworkers; i++) {
		struct fwd_wstats *s = &st->workers[i].stats;

		t->dflt_packets += ctr_get(&s->dflt_packets);
		t->dflt_bytes += ctr_get(&s->dflt_bytes);
		t->received += ctr_get(&s->received);
		t->enobufs += ctr_get(&s->enobufs);
		t->unanswered += ctr_get(&s->unanswered);
		t->looped += ctr_get(&s->looped);
		t->unseen_iface += ctr_get(&s->unseen_iface);
		t->errors += ctr_get(&s->errors);
		for (unsigned r = 1; r < FWD_PKT_NREASONS; r++)
			t->malformed[r] += ctr_get(&s->malformed[r]);
	}
	for (unsigned r = 1; r < FWD_PKT_NREASONS; r++)
		t->malformed_total += t->malformed[r];
}

void stats_totals(struct fwd_state *st, struct fwd_totals *t)
{
	stats_worker_totals(st, t);
	for (unsigned i = 0; i < st->nworkers; i++) {
		uint64_t qd, ud;

		queue_proc_drops(st->workers[i].queue, &qd, &ud);
		t->queue_dropped += qd;
		t->user_dropped += ud;
	}
	t->bypassed = bypass_sample(st);
	t->rechecked = recheck_marked();
	if (!st->no_hooks) {
		t->shed = gate_shed();
		t->gate_rate = gate_rate();
		t->spoofed = rpfilter_dropped(st->hooks.rpfilter);
	}
	log_stats(&t->log);
}

void stats_rule_totals(const struct fwd_live *l, uint32_t i, uint64_t *p, uint64_t *b,
		       uint64_t *last_ms)
{
	*p = l->carry_packets[i];
	*b = l->carry_bytes[i];
	*last_ms = l->carry_last_ms[i];
	for (unsigned w = 0; w < l->nworkers; w++) {
		uint64_t t = ctr_get(&l->ctr[w][i].last_hit_ms);

		*p += ctr_get(&l->ctr[w][i].packets);
		*b += ctr_get(&l->ctr[w][i].bytes);
		if (t > *last_ms)
			*last_ms = t;
	}
}
