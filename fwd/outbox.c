// SPDX-License-Identifier: MIT
/*
 * outbox.c - the queue of fwd's own blocks (include/fwd/outbox.h): bounded,
 * multi-producer (the workers), one consumer (the reporting thread).
 * Vyukov's queue: one CAS per report, a sequence number per cell; a full
 * queue drops and counts, so the packet path never waits.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fwd/outbox.h"

#define OB_CELLS	256u		/* reports waiting to be pushed */

_Static_assert((OB_CELLS & (OB_CELLS - 1)) == 0, "OB_CELLS is a power of two");

struct ob_cell {
	_Atomic size_t seq;
	struct fwd_cs_report r;
};

static struct {
	_Atomic bool on;
	_Atomic uint64_t dropped;
	struct ob_cell cell[OB_CELLS];
	_Atomic size_t head, tail;
} OB;

void outbox_enable(bool on)
{
	atomic_store_explicit(&OB.on, on, memory_order_release);
}

uint64_t outbox_dropped(void)
{
	return atomic_load_explicit(&OB.dropped, memory_order_relaxed);
}

/*
 * A cell's number is kept less its index, so that the zeroed queue is a
 * ready empty one: reports may come before the thread starts.
 */
static size_t cell_seq(size_t pos, struct ob_cell **c)
{
	*c = &OB.cell[pos & (OB_CELLS - 1)];
	return atomic_load_explicit(&(*c)->seq, memory_order_acquire) + (pos & (OB_CELLS - 1));
}

static void cell_set(struct ob_cell *c, size_t pos, size_t seq)
{
	atomic_store_explicit(&c->seq, seq - (pos & (OB_CELLS - 1)), memory_order_release);
}

void outbox_push(enum fwd_cs_kind kind, uint8_t family, fwd_u128 addr, uint32_t duration_ms,
		 uint32_t detail, const char *name)
{
	size_t pos;
	struct ob_cell *c;

	if (!atomic_load_explicit(&OB.on, memory_order_acquire))
		return;
	pos = atomic_load_explicit(&OB.head, memory_order_relaxed);
	for (;;) {
		size_t seq = cell_seq(pos, &c);
		intptr_t dif = (intptr_t)seq - (intptr_t)pos;

		if (dif == 0 && atomic_compare_exchange_weak_explicit(&OB.head, &pos, pos + 1,
								       memory_order_relaxed,
								       memory_order_relaxed))
			break;
		if (dif < 0) {
			atomic_fetch_add_explicit(&OB.dropped, 1, memory_order_relaxed);
			return;
		}
		if (dif > 0)
			pos = atomic_load_explicit(&OB.head, memory_order_relaxed);
	}
	c->r.kind = (uint8_t)kind;
	c->r.family = family;
	c->r.addr = addr;
	c->r.duration_ms = duration_ms;
	c->r.detail = detail;
	snprintf(c->r.rule, sizeof(c->r.rule), "%s", name);
	cell_set(c, pos, pos + 1);
}

bool outbox_pop(struct fwd_cs_report *out)
{
	size_t pos = atomic_load_explicit(&OB.tail, memory_order_relaxed);
	struct ob_cell *c;

	if (cell_seq(pos, &c) != pos + 1)
		return false;
	*out = c->r;
	cell_set(c, pos, pos + OB_CELLS);
	atomic_store_explicit(&OB.tail, pos + 1, memory_order_relaxed);
	return true;
}
