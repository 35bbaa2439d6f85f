// SPDX-License-Identifier: MIT
/*
 * scan.c - port-scan detection: distinct destination ports per source.
 *
 * A fixed table allocated once (bounded memory whatever the traffic):
 * buckets of SCAN_WAYS entries, a source hashed to one bucket. An entry holds
 * the source, the start of its window and up to FWD_SCAN_PORTS_MAX distinct
 * ports seen since. When the window has passed the entry starts over at the
 * next packet. A source that finds its bucket full takes the place of the
 * entry seen least recently (counted as evicted), so a flood of spoofed
 * sources costs old, idle entries only.
 *
 * Each bucket has a flag taken with test-and-set; a worker that finds it
 * taken does not wait but leaves that packet uncounted (counted as busy):
 * the packet path never blocks.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "fwd/scan.h"

#define SCAN_WAYS	4

struct scan_ent {
	fwd_u128 addr;
	uint64_t start_ms, last_ms;
	uint8_t family;		/* 0: free */
	uint8_t n;		/* ports in port[] */
	bool reported;		/* this window crossed the threshold already */
	uint16_t port[FWD_SCAN_PORTS_MAX];
};

struct fwd_scan {
	uint32_t mask;		/* buckets - 1 */
	uint32_t ports, window_ms;
	atomic_flag *busy;	/* [bucket] */
	struct scan_ent *ent;	/* [bucket * SCAN_WAYS + way] */
	_Atomic uint64_t evicted, skipped, detected;
};

struct fwd_scan *scan_new(uint32_t max, uint32_t ports, uint32_t window_ms)
{
	struct fwd_scan *s = calloc(1, sizeof(*s));
	uint32_t nb = 1;

	if (!s)
		return NULL;
	while (nb * SCAN_WAYS < max && nb < (1u << 20))
		nb <<= 1;
	s->mask = nb - 1;
	s->ports = ports < FWD_SCAN_PORTS_MAX ? ports : FWD_SCAN_PORTS_MAX - 1;
	s->window_ms = window_ms;
	s->busy = calloc(nb, sizeof(*s->busy));
	s->ent = calloc((size_t)nb * SCAN_WAYS, sizeof(*s->ent));
	if (!s->busy || !s->ent) {
		scan_free(s);
		return NULL;
	}
	for (uint32_t i = 0; i < nb; i++)
		atomic_flag_clear(&s->busy[i]);
	return s;
}

static void carry_count(_Atomic uint64_t *to, const _Atomic uint64_t *from)
{
	atomic_fetch_add_explicit(to, atomic_load_explicit(from, memory_order_relaxed),
				  memory_order_relaxed);
}

void scan_carry_counts(struct fwd_scan *s, const struct fwd_scan *old)
{
	if (!s || !old)
		return;
	carry_count(&s->detected, &old->detected);
	carry_count(&s->evicted, &old->evicted);
	carry_count(&s->skipped, &old->skipped);
}

void scan_free(struct fwd_scan *s)
{
	if (!s)
		return;
	free(s->busy);
	free(s->ent);
	free(s);
}

size_t scan_memory(const struct fwd_scan *s)
{
	size_t nb = (size_t)s->mask + 1;

	return sizeof(*s) + nb * sizeof(*s->busy) + nb * SCAN_WAYS * sizeof(*s->ent);
}

uint32_t scan_capacity(const struct fwd_scan *s)
{
	return (s->mask + 1) * SCAN_WAYS;
}

void scan_counters(const struct fwd_scan *s, uint64_t *evicted, uint64_t *skipped,
		   uint64_t *detected)
{
	*evicted = atomic_load_explicit(&s->evicted, memory_order_relaxed);
	*skipped = atomic_load_explicit(&s->skipped, memory_order_relaxed);
	*detected = atomic_load_explicit(&s->detected, memory_order_relaxed);
}

static uint32_t src_hash(uint8_t family, fwd_u128 a)
{
	uint64_t x = (uint64_t)a ^ ((uint64_t)(a >> 64) * 0x9e3779b97f4a7c15ull) ^ family;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return (uint32_t)(x ^ (x >> 33));
}

/* The entry of FAMILY/A in bucket B: its own, a free one, or the least recent (evicted). */
static struct scan_ent *take_entry(struct fwd_scan *s, struct scan_ent *b, uint8_t family,
				   fwd_u128 a, uint64_t now)
{
	struct scan_ent *victim = NULL;

	for (unsigned i = 0; i < SCAN_WAYS; i++)
		if (b[i].family == family && b[i].addr == a)
			return &b[i];
	for (unsigned i = 0; i < SCAN_WAYS; i++) {
		struct scan_ent *e = &b[i];

		if (!e->family || now - e->last_ms >= s->window_ms) {
			victim = e;
			break;
		}
		if (!victim || e->last_ms < victim->last_ms)
			victim = e;
	}
	if (victim->family && now - victim->last_ms < s->window_ms)
		atomic_fetch_add_explicit(&s->evicted, 1, memory_order_relaxed);
	memset(victim, 0, sizeof(*victim));
	victim->family = family;
	victim->addr = a;
	victim->start_ms = now;
	return victim;
}

/* Note PORT in E; true when this made E cross the threshold. */
static bool note_port(struct fwd_scan *s, struct scan_ent *e, uint16_t port, uint64_t now)
{
	if (now - e->start_ms >= s->window_ms) {
		e->start_ms = now;
		e->n = 0;
		e->reported = false;
	}
	e->last_ms = now;
	for (unsigned i = 0; i < e->n; i++)
		if (e->port[i] == port)
			return false;
	if (e->n < FWD_SCAN_PORTS_MAX)
		e->port[e->n++] = port;
	if (e->n <= s->ports || e->reported)
		return false;
	e->reported = true;
	return true;
}

uint32_t scan_note(struct fwd_scan *s, uint8_t family, fwd_u128 src, uint16_t port,
		   uint64_t now)
{
	uint32_t h = src_hash(family, src) & s->mask, n = 0;
	struct scan_ent *e;

	if (atomic_flag_test_and_set_explicit(&s->busy[h], memory_order_acquire)) {
		atomic_fetch_add_explicit(&s->skipped, 1, memory_order_relaxed);
		return 0;
	}
	e = take_entry(s, &s->ent[(size_t)h * SCAN_WAYS], family, src, now);
	if (note_port(s, e, port, now))
		n = e->n;
	atomic_flag_clear_explicit(&s->busy[h], memory_order_release);
	if (n)
		atomic_fetch_add_explicit(&s->detected, 1, memory_order_relaxed);
	return n;
}

/* Forget FAMILY/A (`fwd unblock`): its next ports count from zero. */
unsigned scan_forget(struct fwd_scan *s, uint8_t family, fwd_u128 a)
{
	uint32_t h = src_hash(family, a) & s->mask;
	struct scan_ent *b = &s->ent[(size_t)h * SCAN_WAYS];
	unsigned n = 0;

	while (atomic_flag_test_and_set_explicit(&s->busy[h], memory_order_acquire))
		;
	for (unsigned i = 0; i < SCAN_WAYS; i++)
		if (b[i].family == family && b[i].addr == a) {
			memset(&b[i], 0, sizeof(b[i]));
			n++;
		}
	atomic_flag_clear_explicit(&s->busy[h], memory_order_release);
	return n;
}
