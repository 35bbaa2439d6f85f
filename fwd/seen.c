// SPDX-License-Identifier: MIT
/*
 * seen.c - the doorkeeper: a two-generation Bloom filter of recent sources
 * (include/fwd/seen.h).
 *
 * Lock-free: bits are set with fetch_or. The worker that moves the epoch on
 * (a CAS) clears the generation it reuses, both after an idle spell; others
 * may set or test bits meanwhile, so one verdict may be off, never memory.
 * Clearing walks the generation once an epoch (at most 512 KiB).
 */
#include <errno.h>
#include <stdlib.h>

#include "fwd/seen.h"

#define rlx memory_order_relaxed

int seen_init(struct fwd_seen *s, uint32_t bits, uint32_t epoch_ms)
{
	s->mask = bits - 1;
	s->epoch_ms = epoch_ms ? epoch_ms : 1;
	atomic_init(&s->epoch, 0);
	s->gen[0] = calloc(bits / 64, sizeof(*s->gen[0]));
	s->gen[1] = calloc(bits / 64, sizeof(*s->gen[0]));
	if (s->gen[0] && s->gen[1])
		return 0;
	seen_free(s);
	return -ENOMEM;
}

void seen_free(struct fwd_seen *s)
{
	free(s->gen[0]);
	free(s->gen[1]);
	s->gen[0] = s->gen[1] = NULL;
}

size_t seen_memory(const struct fwd_seen *s)
{
	return s->gen[0] ? 2 * (((size_t)s->mask + 1) / 8) : 0;
}

static void clear_gen(_Atomic uint64_t *g, uint32_t words)
{
	for (uint32_t i = 0; i < words; i++)
		atomic_store_explicit(&g[i], 0, rlx);
}

/* The epoch of NOW, started (its generation cleared) when it is new. */
static uint64_t epoch_at(struct fwd_seen *s, uint64_t now)
{
	uint64_t e = now / s->epoch_ms, old = atomic_load_explicit(&s->epoch, rlx);
	uint32_t words = (s->mask + 1) / 64;

	if (e <= old)
		return old;
	if (!atomic_compare_exchange_strong_explicit(&s->epoch, &old, e, rlx, rlx))
		return old;
	clear_gen(s->gen[e & 1], words);
	if (e - old > 1)
		clear_gen(s->gen[(e + 1) & 1], words);
	return e;
}

static bool has(_Atomic uint64_t *g, uint32_t b1, uint32_t b2)
{
	return (atomic_load_explicit(&g[b1 / 64], rlx) >> (b1 % 64) & 1) &&
	       (atomic_load_explicit(&g[b2 / 64], rlx) >> (b2 % 64) & 1);
}

bool seen_note(struct fwd_seen *s, uint64_t hash, uint64_t now)
{
	uint32_t b1 = (uint32_t)hash & s->mask, b2 = (uint32_t)(hash >> 32) & s->mask;
	uint64_t e = epoch_at(s, now);
	_Atomic uint64_t *cur = s->gen[e & 1];
	bool seen = has(cur, b1, b2) || has(s->gen[(e + 1) & 1], b1, b2);

	atomic_fetch_or_explicit(&cur[b1 / 64], 1ull << (b1 % 64), rlx);
	atomic_fetch_or_explicit(&cur[b2 / 64], 1ull << (b2 % 64), rlx);
	return seen;
}

void seen_carry(struct fwd_seen *s, const struct fwd_seen *from)
{
	uint32_t words = (s->mask + 1) / 64;

	if (!s->gen[0] || !from->gen[0] || s->mask != from->mask || s->epoch_ms != from->epoch_ms)
		return;
	for (int g = 0; g < 2; g++)
		for (uint32_t i = 0; i < words; i++)
			atomic_store_explicit(&s->gen[g][i],
					      atomic_load_explicit(&from->gen[g][i], rlx), rlx);
	atomic_store_explicit(&s->epoch, atomic_load_explicit(&from->epoch, rlx), rlx);
}
