// SPDX-License-Identifier: MIT
/*
 * dtable.c - bounded lock-free hash tables for dynamic sets and per-source
 * state (knock progress), shared by every worker.
 *
 * A slot has two words. `own` is the writers' lock: a writer takes it with
 * a CAS from the even value it judged the slot by (so a slot that changed
 * since is left alone) and gives it back as the next even value. `seq` is
 * the readers' seqlock and changes only with the key: a writer that puts
 * another key in the slot, or frees it, holds `own` and makes `seq` odd
 * while it stores. A refresh keeps the key and stores only the expiry and
 * the value, each one atomic word, with `seq` left even: a reader never
 * sees a member vanish because its own entry is being refreshed (that read
 * as "absent", and a blocked source slipped past its drop rule). A reader
 * may then get the expiry of one refresh and the value of the next; both
 * are the key's own.
 *
 * Readers load `seq` (acquire), the fields, then `seq` again behind an
 * acquire fence; while it is odd they retry a bounded number of times, then
 * take the slot as holding nothing (its key is on its way in or out). Fields
 * are atomics read relaxed, so the protocol has no data race in C11 terms.
 * A key is added only while its first slot is held (dtable_add_scored()),
 * so two workers adding one key at once make one entry: the second finds
 * the first's. A refresh needs no such hold.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fwd/dtable.h"
#include "fwd/hash.h"

#define rlx memory_order_relaxed

static uint64_t key_meta(const struct fwd_dkey *k)
{
	return (uint64_t)k->family << 56 | (uint64_t)k->proto << 48 | (uint64_t)k->port << 32 |
	       k->tag;
}

/* The seed goes in before the first round: the slot is unknown without it. */
static uint32_t key_hash(const struct fwd_dtable *t, const struct fwd_dkey *k)
{
	return (uint32_t)hash_addr(k->addr, key_meta(k) ^ t->seed);
}

int dtable_init(struct fwd_dtable *t, uint32_t max)
{
	uint32_t cap = 16;

	while (cap < max && cap < (1u << 24))
		cap <<= 1;
	memset(t, 0, sizeof(*t));
	t->slot = calloc(cap, sizeof(*t->slot));
	if (!t->slot)
		return -ENOMEM;
	t->mask = cap - 1;
	t->seed = hash_seed();
	return 0;
}

void dtable_free(struct fwd_dtable *t)
{
	free(t->slot);
	t->slot = NULL;
}

size_t dtable_memory(const struct fwd_dtable *t)
{
	return t->slot ? ((size_t)t->mask + 1) * sizeof(*t->slot) : 0;
}

struct snap {
	uint32_t seq, own;
	uint64_t meta, a0, a1, expires, val;
};

/* Tries of a reader that meets a key write in flight (a few stores long). */
#define SLOT_READ_TRIES	256

/* A spinning thread's pause: lets the writer it waits for run on its core. */
static inline void spin_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* A consistent copy of S, or false while a key write is in flight. */
static bool slot_read_once(struct fwd_dslot *s, struct snap *o)
{
	o->seq = atomic_load_explicit(&s->seq, memory_order_acquire);
	if (o->seq & 1)
		return false;
	o->own = atomic_load_explicit(&s->own, rlx);
	o->meta = atomic_load_explicit(&s->meta, rlx);
	o->a0 = atomic_load_explicit(&s->a0, rlx);
	o->a1 = atomic_load_explicit(&s->a1, rlx);
	o->expires = atomic_load_explicit(&s->expires, rlx);
	o->val = atomic_load_explicit(&s->val, rlx);
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(&s->seq, rlx) == o->seq;
}

static bool slot_read(struct fwd_dslot *s, struct snap *o)
{
	for (unsigned i = 0; i < SLOT_READ_TRIES; i++)
		if (slot_read_once(s, o))
			return true;
	return false;
}

static bool snap_is(const struct snap *o, const struct fwd_dkey *k)
{
	return o->meta == key_meta(k) && o->a0 == (uint64_t)k->addr &&
	       o->a1 == (uint64_t)(k->addr >> 64);
}

/* Hold S for a write if no writer came since O was read. */
static bool slot_own(struct fwd_dslot *s, const struct snap *o)
{
	uint32_t own = o->own;

	if (own & 1)
		return false;
	if (!atomic_compare_exchange_strong_explicit(&s->own, &own, own + 1,
						     memory_order_acquire, rlx))
		return false;
	/* a key write in flight when O was read ends before its writer lets go */
	if (atomic_load_explicit(&s->seq, rlx) == o->seq)
		return true;
	atomic_store_explicit(&s->own, own + 2, memory_order_release);
	return false;
}

/* Own S, waiting out another writer (a few stores long) a bounded while. */
static bool slot_hold(struct fwd_dslot *s, struct snap *o)
{
	for (unsigned i = 0; i < SLOT_READ_TRIES; i++, spin_pause())
		if (slot_read_once(s, o) && slot_own(s, o))
			return true;
	return false;
}

static void slot_disown(struct fwd_dslot *s, const struct snap *o)
{
	atomic_store_explicit(&s->own, o->own + 2, memory_order_release);
}

/*
 * Take S, as O saw it, for a change of key: readers retry while `seq` is
 * odd. The release fence keeps the stores that follow from being seen
 * before the odd number (the reader's acquire fence is its other half).
 */
static bool slot_lock(struct fwd_dslot *s, const struct snap *o)
{
	if (!slot_own(s, o))
		return false;
	atomic_store_explicit(&s->seq, o->seq + 1, rlx);
	atomic_thread_fence(memory_order_release);
	return true;
}

static void slot_unlock(struct fwd_dslot *s, const struct snap *o)
{
	atomic_store_explicit(&s->seq, o->seq + 2, memory_order_release);
	slot_disown(s, o);
}

static struct fwd_dslot *slot_at(struct fwd_dtable *t, uint32_t h, unsigned i)
{
	return &t->slot[(h + i) & t->mask];
}

/*
 * Refresh K in place when it is live in one of its slots; with OLD, only if
 * its value is still *OLD. The slot is judged again once held: another
 * writer in it (a few stores long) is waited out a bounded while rather
 * than taken for a lost race.
 */
static int refresh(struct fwd_dtable *t, const struct fwd_dkey *k, uint32_t h, uint64_t val,
		   uint64_t expires, uint64_t now, const uint64_t *old)
{
	struct snap o;

	for (unsigned i = 0; i < FWD_DPROBE; i++) {
		struct fwd_dslot *s = slot_at(t, h, i);

		if (!slot_read(s, &o) || o.expires <= now || !snap_is(&o, k))
			continue;
		if (!slot_hold(s, &o))
			return -EAGAIN;
		if (o.expires <= now || !snap_is(&o, k)) {	/* gone meanwhile */
			slot_disown(s, &o);
			return 1;
		}
		if (old && o.val != *old) {
			slot_disown(s, &o);
			return -EAGAIN;
		}
		/* the key stays: no seqlock, a reader sees it all along */
		atomic_store_explicit(&s->expires, expires, rlx);
		atomic_store_explicit(&s->val, val, rlx);
		slot_disown(s, &o);
		return 0;
	}
	return 1;
}

/*
 * The slot K goes to when it is not in the table: a free or expired one at
 * once, else the live one worth least to EV (ties, and without EV: the one
 * that expires first). -EAGAIN when every slot was busy, -ENOSPC (counted
 * as refused) when EV rates every live one above the newcomer.
 */
static int victim_for(struct fwd_dtable *t, uint32_t h, uint64_t now,
		      const struct fwd_devict *ev, struct fwd_dslot **out, struct snap *vo)
{
	struct fwd_dslot *victim = NULL;
	uint64_t vscore = 0;
	struct snap o;

	for (unsigned i = 0; i < FWD_DPROBE; i++) {
		struct fwd_dslot *s = slot_at(t, h, i);
		uint64_t sc;

		if (!slot_read(s, &o))
			continue;
		if (o.expires <= now) {
			*vo = o;
			*out = s;
			return 0;
		}
		sc = ev ? ev->score(ev->arg, o.val, o.expires, now) : 0;
		if (!victim || sc < vscore || (sc == vscore && o.expires < vo->expires)) {
			victim = s;
			*vo = o;
			vscore = sc;
		}
	}
	if (!victim)
		return -EAGAIN;
	if (ev && vscore > ev->mine) {
		atomic_fetch_add_explicit(&t->refused, 1, rlx);
		return -ENOSPC;
	}
	*out = victim;
	return 0;
}

/*
 * Put K in S, as O saw it (a free, expired or evicted slot). HELD: the
 * caller owns S already (dtable_add_scored()'s first slot): only `seq` moves.
 */
static int slot_take(struct fwd_dtable *t, struct fwd_dslot *s, const struct snap *o, bool held,
		     const struct fwd_dkey *k, uint64_t val, uint64_t expires, uint64_t now)
{
	if (held) {
		atomic_store_explicit(&s->seq, o->seq + 1, rlx);
		atomic_thread_fence(memory_order_release);
	} else if (!slot_lock(s, o)) {
		return -EAGAIN;
	}
	if (o->expires > now)
		atomic_fetch_add_explicit(&t->evicted, 1, rlx);
	atomic_store_explicit(&s->meta, key_meta(k), rlx);
	atomic_store_explicit(&s->a0, (uint64_t)k->addr, rlx);
	atomic_store_explicit(&s->a1, (uint64_t)(k->addr >> 64), rlx);
	atomic_store_explicit(&s->expires, expires, rlx);
	atomic_store_explicit(&s->val, val, rlx);
	atomic_store_explicit(&s->seq, o->seq + 2, memory_order_release);
	if (!held)
		slot_disown(s, o);
	atomic_fetch_add_explicit(&t->added, 1, rlx);
	return 1;
}

/*
 * Two adds of one key hold its first slot while they look and write, so
 * the second finds the first's entry. The first slot may be the victim:
 * then the add writes it under the hold it has.
 */
int dtable_add_scored(struct fwd_dtable *t, const struct fwd_dkey *k, uint64_t val,
		      uint64_t expires, uint64_t now, const struct fwd_devict *ev)
{
	uint32_t h = key_hash(t, k);
	struct fwd_dslot *home = slot_at(t, h, 0), *victim = NULL;
	struct snap ho, vo = { 0 };
	int r;

	if (!slot_hold(home, &ho))
		return -EAGAIN;
	if (dtable_get(t, k, now, NULL, NULL))
		r = -EEXIST;
	else
		r = victim_for(t, h, now, ev, &victim, &vo);
	if (!r)
		r = victim == home ? slot_take(t, home, &ho, true, k, val, expires, now)
				   : slot_take(t, victim, &vo, false, k, val, expires, now);
	slot_disown(home, &ho);
	return r;
}

/* A refresh, or an add; a key another worker added meanwhile is refreshed. */
int dtable_put_scored(struct fwd_dtable *t, const struct fwd_dkey *k, uint64_t val,
		      uint64_t expires, uint64_t now, const struct fwd_devict *ev)
{
	uint32_t h = key_hash(t, k);

	for (unsigned tries = 0; tries < 4; tries++) {
		int r = refresh(t, k, h, val, expires, now, NULL);

		if (r <= 0)
			return r;
		r = dtable_add_scored(t, k, val, expires, now, ev);
		if (r != -EEXIST)
			return r;
	}
	return -EAGAIN;
}

int dtable_put(struct fwd_dtable *t, const struct fwd_dkey *k, uint64_t val, uint64_t expires,
	       uint64_t now)
{
	return dtable_put_scored(t, k, val, expires, now, NULL);
}

int dtable_replace(struct fwd_dtable *t, const struct fwd_dkey *k, uint64_t old, uint64_t val,
		   uint64_t expires, uint64_t now)
{
	return refresh(t, k, key_hash(t, k), val, expires, now, &old);
}

bool dtable_get(struct fwd_dtable *t, const struct fwd_dkey *k, uint64_t now, uint64_t *val,
		uint64_t *expires)
{
	uint32_t h = key_hash(t, k);
	struct snap o;

	for (unsigned i = 0; i < FWD_DPROBE; i++) {
		if (!slot_read(slot_at(t, h, i), &o) || o.expires <= now || !snap_is(&o, k))
			continue;
		if (val)
			*val = o.val;
		if (expires)
			*expires = o.expires;
		return true;
	}
	return false;
}

/* Free S if it still holds what O saw. */
static bool slot_clear(struct fwd_dslot *s, const struct snap *o)
{
	if (!slot_lock(s, o))
		return false;
	atomic_store_explicit(&s->expires, 0, rlx);
	slot_unlock(s, o);
	return true;
}

unsigned dtable_del(struct fwd_dtable *t, const struct fwd_dkey *k)
{
	uint32_t h = key_hash(t, k);
	unsigned n = 0;
	struct snap o;

	for (unsigned i = 0; i < FWD_DPROBE; i++) {
		struct fwd_dslot *s = slot_at(t, h, i);

		if (slot_read(s, &o) && o.expires && snap_is(&o, k))
			n += slot_clear(s, &o);
	}
	return n;
}

unsigned dtable_del_addr(struct fwd_dtable *t, uint8_t family, fwd_u128 addr, uint64_t now)
{
	unsigned n = 0;
	struct snap o;

	for (uint32_t i = 0; i <= t->mask; i++) {
		struct fwd_dslot *s = &t->slot[i];

		if (slot_read(s, &o) && o.expires && (uint8_t)(o.meta >> 56) == family &&
		    o.a0 == (uint64_t)addr && o.a1 == (uint64_t)(addr >> 64) &&
		    slot_clear(s, &o) && o.expires > now)
			n++;
	}
	return n;
}

void dtable_walk(struct fwd_dtable *t, uint64_t now,
		 void (*fn)(void *arg, const struct fwd_dkey *k, uint64_t val, uint64_t expires),
		 void *arg)
{
	struct snap o;

	for (uint32_t i = 0; i <= t->mask; i++) {
		struct fwd_dkey k;

		if (!slot_read(&t->slot[i], &o) || o.expires <= now)
			continue;
		k.family = (uint8_t)(o.meta >> 56);
		k.proto = (uint8_t)(o.meta >> 48);
		k.port = (uint16_t)(o.meta >> 32);
		k.tag = (uint32_t)o.meta;
		k.addr = (fwd_u128)o.a1 << 64 | o.a0;
		fn(arg, &k, o.val, o.expires);
	}
}

static void count_one(void *arg, const struct fwd_dkey *k, uint64_t val, uint64_t expires)
{
	(void)k;
	(void)val;
	(void)expires;
	(*(uint32_t *)arg)++;
}

uint32_t dtable_count(struct fwd_dtable *t, uint64_t now)
{
	uint32_t n = 0;

	dtable_walk(t, now, count_one, &n);
	return n;
}
