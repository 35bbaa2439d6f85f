// SPDX-License-Identifier: MIT
/*
 * scan.c - port-scan detection: distinct destination ports per source.
 *
 * A fixed table allocated once (bounded memory whatever the traffic):
 * buckets of SCAN_WAYS entries, a source hashed to one bucket. An entry holds
 * the source and up to FWD_SCAN_PORTS_MAX distinct ports, each in one of
 * SCAN_PARTS consecutive parts of window / (SCAN_PARTS - 1): the window
 * slides a part at a time, dropping the oldest part's ports (a port seen
 * again moves to the newest). Two ports less than a window apart are at
 * most SCAN_PARTS - 1 parts apart, so any ports within a window count
 * together; ports up to a window and a third apart may too. A window fixed
 * from a source's first probe let just under twice `ports` ports across
 * its end go unseen.
 *
 * A flood of spoofed sources brings a new source with every packet, far
 * more than any table holds. Replacing the entry seen least recently (what
 * this table did first) then washes out a real scanner between two of its
 * probes: at 300k spoofed packets/s a 16384-entry table forgets everything
 * within 50 ms, and a scan of 30 ports in 6 s goes unseen. So eviction
 * follows the counts instead, as Space-Saving does: an entry is worth its
 * hits (the ports it showed in its window, plus one when it was admitted as a
 * source seen before), the one worth least makes room, and a newcomer takes
 * its place only when it is worth at least as much. Whether a newcomer was
 * seen before is the word of a doorkeeper in front of the table: two
 * generations of a 2-hash Bloom filter, each covering one epoch (the
 * window over the port threshold, the gap of a scan at that threshold,
 * 100 ms to 1 s), the older cleared when a new epoch begins. A
 * one-packet spoofed source is worth 1 and displaces only entries worth 1;
 * a scanner is admitted at its second probe (worth 2) and from its third on
 * no newcomer displaces it. Sources refused a place are counted (refused);
 * the Bloom filter's false positives, about 0.1% at 100k sources/s with the
 * default table, only let a spoofed source displace entries worth 2. The
 * filter takes 256 bits per entry of `max` (128 KiB to 2 MiB a generation).
 *
 * Each bucket has a flag taken with test-and-set; a worker that finds it
 * taken does not wait but leaves that packet uncounted (counted as busy):
 * the packet path never blocks.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "fwd/hash.h"
#include "fwd/scan.h"
#include "fwd/seen.h"

#define SCAN_WAYS	4
#define SCAN_PARTS	4	/* parts of window / (SCAN_PARTS - 1) an entry keeps */

struct scan_ent {
	fwd_u128 addr;
	uint64_t part_at;	/* the newest part: now / part_ms */
	uint64_t last_ms;
	uint8_t family;		/* 0: free */
	uint8_t n;		/* ports in port[] */
	bool reported;		/* crossed the threshold and not below it since */
	uint8_t hits;		/* what the entry is worth (see above) */
	uint8_t cnt[SCAN_PARTS];	/* ports of each part, oldest first, as in port[] */
	uint16_t port[FWD_SCAN_PORTS_MAX];
};

struct fwd_scan {
	uint32_t mask;		/* buckets - 1 */
	uint32_t ports, window_ms, part_ms;
	uint64_t seed;		/* secret: no scanner picks addresses of its own bucket */
	atomic_flag *busy;	/* [bucket] */
	struct scan_ent *ent;	/* [bucket * SCAN_WAYS + way] */
	_Atomic uint64_t evicted, skipped, detected, refused;
	struct fwd_seen dk;	/* the doorkeeper */
};

static int doorkeeper_init(struct fwd_scan *s, uint32_t cap)
{
	uint32_t bits = 1u << 20, epoch_ms = s->window_ms / (s->ports ? s->ports : 1);

	while (bits < (uint64_t)cap * 256 && bits < (1u << 24))
		bits <<= 1;
	epoch_ms = epoch_ms < 100 ? 100 : epoch_ms > 1000 ? 1000 : epoch_ms;
	return seen_init(&s->dk, bits, epoch_ms);
}

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
	s->part_ms = window_ms / (SCAN_PARTS - 1) ? window_ms / (SCAN_PARTS - 1) : 1;
	s->seed = hash_seed();
	s->busy = calloc(nb, sizeof(*s->busy));
	s->ent = calloc((size_t)nb * SCAN_WAYS, sizeof(*s->ent));
	if (!s->busy || !s->ent || doorkeeper_init(s, nb * SCAN_WAYS)) {
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
	carry_count(&s->refused, &old->refused);
}

void scan_free(struct fwd_scan *s)
{
	if (!s)
		return;
	free(s->busy);
	free(s->ent);
	seen_free(&s->dk);
	free(s);
}

size_t scan_memory(const struct fwd_scan *s)
{
	size_t nb = (size_t)s->mask + 1;

	return sizeof(*s) + nb * sizeof(*s->busy) + nb * SCAN_WAYS * sizeof(*s->ent) +
	       seen_memory(&s->dk);
}

uint32_t scan_capacity(const struct fwd_scan *s)
{
	return (s->mask + 1) * SCAN_WAYS;
}

uint64_t scan_refused(const struct fwd_scan *s)
{
	return atomic_load_explicit(&s->refused, memory_order_relaxed);
}

void scan_counters(const struct fwd_scan *s, uint64_t *evicted, uint64_t *skipped,
		   uint64_t *detected)
{
	*evicted = atomic_load_explicit(&s->evicted, memory_order_relaxed);
	*skipped = atomic_load_explicit(&s->skipped, memory_order_relaxed);
	*detected = atomic_load_explicit(&s->detected, memory_order_relaxed);
}

static uint64_t src_hash64(const struct fwd_scan *s, uint8_t family, fwd_u128 a)
{
	return hash_addr(a, s->seed ^ family);
}

static uint32_t src_hash(const struct fwd_scan *s, uint8_t family, fwd_u128 a)
{
	return (uint32_t)src_hash64(s, family, a);
}

/* Was FAMILY/A seen this epoch or the one before? Notes it for this one. */
static bool dk_seen(struct fwd_scan *s, uint8_t family, fwd_u128 a, uint64_t now)
{
	return seen_note(&s->dk, src_hash64(s, family ^ 0x80, a), now);	/* not the bucket's hash */
}

/*
 * Parts since E's newest at NOW. Each worker reads the clock once a burst:
 * another's may be ahead of NOW, which is no time passed.
 */
static uint64_t parts_since(const struct fwd_scan *s, const struct scan_ent *e, uint64_t now)
{
	uint64_t part = now / s->part_ms;

	return part > e->part_at ? part - e->part_at : 0;
}

/* Does E still hold ports that count at NOW? */
static bool ent_live(const struct fwd_scan *s, const struct scan_ent *e, uint64_t now)
{
	return e->family && parts_since(s, e, now) < SCAN_PARTS;
}

/* The live entry of bucket B worth least (ties: seen least recently), or a free one. */
static struct scan_ent *least(struct fwd_scan *s, struct scan_ent *b, uint64_t now)
{
	struct scan_ent *victim = NULL;

	for (unsigned i = 0; i < SCAN_WAYS; i++) {
		struct scan_ent *e = &b[i];

		if (!ent_live(s, e, now))
			return e;
		if (!victim || e->hits < victim->hits ||
		    (e->hits == victim->hits && e->last_ms < victim->last_ms))
			victim = e;
	}
	return victim;
}

/*
 * The entry of FAMILY/A in bucket B: its own, a free one, or that of the
 * entry worth least when the newcomer is worth as much (evicted); NULL
 * when every entry outranks it (refused).
 */
static struct scan_ent *take_entry(struct fwd_scan *s, struct scan_ent *b, uint8_t family,
				   fwd_u128 a, uint64_t now)
{
	struct scan_ent *victim;
	uint8_t worth = 1;

	for (unsigned i = 0; i < SCAN_WAYS; i++)
		if (b[i].family == family && b[i].addr == a)
			return &b[i];
	victim = least(s, b, now);
	if (ent_live(s, victim, now)) {
		worth = dk_seen(s, family, a, now) ? 2 : 1;
		if (victim->hits > worth) {
			atomic_fetch_add_explicit(&s->refused, 1, memory_order_relaxed);
			return NULL;
		}
		atomic_fetch_add_explicit(&s->evicted, 1, memory_order_relaxed);
	}
	memset(victim, 0, sizeof(*victim));
	victim->family = family;
	victim->addr = a;
	victim->part_at = now / s->part_ms;
	victim->hits = worth - 1;	/* note_port() adds this packet's port */
	return victim;
}

/* Move E's window on to NOW: the parts that fell out take their ports along. */
static void slide(struct fwd_scan *s, struct scan_ent *e, uint64_t now)
{
	uint64_t d = parts_since(s, e, now);
	unsigned drop = 0;

	if (!d)
		return;
	for (unsigned j = 0; j < SCAN_PARTS; j++) {
		if (j < d)
			drop += e->cnt[j];
		e->cnt[j] = j + d < SCAN_PARTS ? e->cnt[j + d] : 0;
	}
	memmove(e->port, e->port + drop, (e->n - drop) * sizeof(e->port[0]));
	e->n = (uint8_t)(e->n - drop);
	e->hits = e->hits > drop ? (uint8_t)(e->hits - drop) : 0;
	e->part_at += d;
	if (e->n <= s->ports)
		e->reported = false;
}

/* The part of E that port[I] is in. */
static unsigned part_of(const struct scan_ent *e, unsigned i)
{
	unsigned j = 0;

	for (unsigned end = e->cnt[0]; i >= end; end += e->cnt[++j])
		;
	return j;
}

/* PORT in E's newest part: a new one, or one seen before moved there. False when it was. */
static bool port_add(struct scan_ent *e, uint16_t port)
{
	unsigned last = SCAN_PARTS - 1;

	for (unsigned i = 0; i < e->n; i++) {
		unsigned j;

		if (e->port[i] != port)
			continue;
		j = part_of(e, i);
		if (j != last) {
			memmove(e->port + i, e->port + i + 1, (e->n - i - 1) * sizeof(e->port[0]));
			e->port[e->n - 1] = port;
			e->cnt[j]--;
			e->cnt[last]++;
		}
		return false;
	}
	if (e->n == FWD_SCAN_PORTS_MAX)
		return true;
	e->port[e->n++] = port;
	e->cnt[last]++;
	return true;
}

/* Note PORT in E; true when this made E cross the threshold. */
static bool note_port(struct fwd_scan *s, struct scan_ent *e, uint16_t port, uint64_t now)
{
	slide(s, e, now);
	if (now > e->last_ms)
		e->last_ms = now;
	if (!port_add(e, port))
		return false;
	if (e->hits < UINT8_MAX)
		e->hits++;
	if (e->n <= s->ports || e->reported)
		return false;
	e->reported = true;
	return true;
}

uint32_t scan_note(struct fwd_scan *s, uint8_t family, fwd_u128 src, uint16_t port,
		   uint64_t now)
{
	uint32_t h = src_hash(s, family, src) & s->mask, n = 0;
	struct scan_ent *e;

	if (atomic_flag_test_and_set_explicit(&s->busy[h], memory_order_acquire)) {
		atomic_fetch_add_explicit(&s->skipped, 1, memory_order_relaxed);
		return 0;
	}
	e = take_entry(s, &s->ent[(size_t)h * SCAN_WAYS], family, src, now);
	if (e && note_port(s, e, port, now))
		n = e->n;
	atomic_flag_clear_explicit(&s->busy[h], memory_order_release);
	if (n)
		atomic_fetch_add_explicit(&s->detected, 1, memory_order_relaxed);
	return n;
}

/* Forget FAMILY/A (`fwd unblock`): its next ports count from zero. */
unsigned scan_forget(struct fwd_scan *s, uint8_t family, fwd_u128 a)
{
	uint32_t h = src_hash(s, family, a) & s->mask;
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
