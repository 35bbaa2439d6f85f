/* SPDX-License-Identifier: MIT */
/*
 * dtable.h - the bounded table of dynamic entries (fwd/dtable.c): dynamic
 * sets, knock progress and limit buckets all live in one.
 *
 * A struct fwd_dtable is a fixed-size open-addressing hash table allocated
 * once (bounded memory: capacity * sizeof(struct fwd_dslot)). Every worker
 * reads and writes it without locks: a writer takes a slot with a CAS on
 * its `own` word (one that finds it taken tries again a bounded number of
 * times, then gives up), and its sequence number is odd only while the
 * slot's key changes (insert, evict, delete); a refresh of a present key
 * never makes it look absent. Readers retry a slot whose number changed
 * under them, a bounded number of times. A key lives in one of FWD_DPROBE
 * slots after its hash; when all of them hold live entries the one that
 * expires first is evicted and counted, or, for a table whose user rates
 * its entries (struct fwd_devict), the one worth least, and only when it is
 * worth no more than the newcomer. Nothing here allocates after
 * dtable_init().
 */
#ifndef FWD_DTABLE_H
#define FWD_DTABLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fwd/config.h"

#define FWD_DPROBE	8	/* slots a key may live in */

/* What a dynamic entry is keyed on: a source, optionally with proto/port. */
struct fwd_dkey {
	uint8_t family;		/* 4 or 6 */
	uint8_t proto;		/* 0: any */
	uint16_t port;		/* 0: any */
	uint32_t tag;		/* knock sequence index; 0 for sets */
	fwd_u128 addr;
};

/*
 * A set entry whose tag has this bit is a prefix (the rest of the tag is its
 * length, the address has its host bits cleared): the CrowdSec stream's
 * decisions (fwd/crowdsec.c), a whole address included. Entries fwd adds
 * itself have tag 0, so a decision deleted upstream never lifts a block of
 * fwd's own.
 */
#define FWD_DTAG_PREFIX	0x80000000u

struct fwd_dslot {
	_Atomic uint32_t seq;		/* odd while its key changes */
	_Atomic uint32_t own;		/* odd while a writer holds the slot */
	_Atomic uint64_t meta;		/* family, proto, port, tag */
	_Atomic uint64_t a0, a1;	/* the address */
	_Atomic uint64_t expires;	/* monotonic ms; 0: free */
	_Atomic uint64_t val;
};

struct fwd_dtable {
	uint32_t mask;			/* capacity - 1 */
	uint64_t seed;			/* secret: where a key goes is not for a sender to choose */
	_Atomic uint64_t added, evicted;
	_Atomic uint64_t refused;	/* newcomers that every live entry outranked */
	struct fwd_dslot *slot;
};

/*
 * How a table under pressure chooses what to forget. A flood of spoofed
 * sources makes one new entry per packet; evicting by age alone lets it wash
 * out the few sources with a real history (a knock half done, a bucket
 * drained by a hammering source). SCORE rates a live entry at NOW from its
 * value: the lowest goes first (ties: the one that expires first), and only
 * when it rates no higher than MINE, the newcomer's own score; otherwise the
 * newcomer is refused and the table is left as it was. This is the eviction
 * rule of Space-Saving (the entry with the smallest count makes room) with
 * admission: a one-packet source can displace only entries that are worth
 * as little as it is.
 */
struct fwd_devict {
	uint64_t (*score)(const void *arg, uint64_t val, uint64_t expires, uint64_t now);
	const void *arg;
	uint64_t mine;
};

/* Room for at least MAX entries (rounded up to a power of two). 0 or -ENOMEM. */
int dtable_init(struct fwd_dtable *t, uint32_t max);
void dtable_free(struct fwd_dtable *t);
size_t dtable_memory(const struct fwd_dtable *t);
/*
 * Add K with VAL until EXPIRES (ms), or refresh it if present. Returns 1
 * when added, 0 when refreshed, -EAGAIN when every candidate slot was busy.
 * Of two workers putting one new key at once, one adds it and the other
 * refreshes that entry: a key is never in the table twice.
 */
int dtable_put(struct fwd_dtable *t, const struct fwd_dkey *k, uint64_t val, uint64_t expires,
	       uint64_t now);
/*
 * dtable_put() in a rated table: as above, or -ENOSPC when EV refused K (a
 * NULL EV is dtable_put()).
 */
int dtable_put_scored(struct fwd_dtable *t, const struct fwd_dkey *k, uint64_t val,
		      uint64_t expires, uint64_t now, const struct fwd_devict *ev);
/*
 * Add K only if it is not live, rated as dtable_put_scored() (EV may be
 * NULL): 1 when added, -EEXIST when K is live (dtable_get() it and
 * dtable_replace()), -EAGAIN when a slot was busy, -ENOSPC when EV refused
 * K. Of two adds (or puts) of one key at once, only one adds it.
 */
int dtable_add_scored(struct fwd_dtable *t, const struct fwd_dkey *k, uint64_t val,
		      uint64_t expires, uint64_t now, const struct fwd_devict *ev);
/*
 * Compare and swap: K's value and expiry become VAL and EXPIRES if K is
 * live and its value is still OLD (what dtable_get() gave); EXPIRES 0 frees
 * K's slot, a delete of that value only. 0 when done, -EAGAIN when another
 * thread wrote K's slot meanwhile, 1 when K is gone.
 */
int dtable_replace(struct fwd_dtable *t, const struct fwd_dkey *k, uint64_t old, uint64_t val,
		   uint64_t expires, uint64_t now);
/* Is K a live member at NOW? Fills VAL and EXPIRES when not NULL. */
bool dtable_get(struct fwd_dtable *t, const struct fwd_dkey *k, uint64_t now, uint64_t *val,
		uint64_t *expires);
/* Remove K. Returns how many slots held it (1 or 0). */
unsigned dtable_del(struct fwd_dtable *t, const struct fwd_dkey *k);
/*
 * Remove every entry of FAMILY/ADDR whatever its port or tag; returns how
 * many were live at NOW (an expired one was in force no more). Off the
 * packet path.
 */
unsigned dtable_del_addr(struct fwd_dtable *t, uint8_t family, fwd_u128 addr, uint64_t now);
/* Live entries at NOW (walks the table; off the packet path). */
uint32_t dtable_count(struct fwd_dtable *t, uint64_t now);
/* Call FN for each live entry at NOW with its value and expiry (off the packet path). */
void dtable_walk(struct fwd_dtable *t, uint64_t now,
		 void (*fn)(void *arg, const struct fwd_dkey *k, uint64_t val, uint64_t expires),
		 void *arg);

#endif
