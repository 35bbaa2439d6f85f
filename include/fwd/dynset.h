/* SPDX-License-Identifier: MIT */
/*
 * dynset.h - dynamic sets and port knocking: state the packet path changes.
 *
 * A struct fwd_dtable is a fixed-size open-addressing hash table allocated
 * once (bounded memory: capacity * sizeof(struct fwd_dslot)). Every worker
 * reads and writes it without locks: each slot carries a sequence number
 * that is odd while a writer (who took it with a CAS) fills it; readers
 * retry or skip a slot whose number changed under them. A key lives in one
 * of FWD_DPROBE slots after its hash; when all of them hold live entries the
 * one that expires first is evicted and counted. Nothing here allocates
 * after dtable_init().
 *
 * struct fwd_dyn is the run-time side of a rules file's `dynamic:` sets,
 * `knock:` sequences and rules with `src: $SET`; it hangs off struct
 * fwd_live and is rebuilt on reload, carrying the members of sets that kept
 * their name.
 */
#ifndef FWD_DYNSET_H
#define FWD_DYNSET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fwd/config.h"
#include "fwd/ruleset.h"

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

/* The network mask of a PLEN-bit prefix in the host order of fwd_u128 addresses. */
static inline fwd_u128 fwd_prefix_mask(int family, unsigned plen)
{
	unsigned bits = family == 4 ? 32 : 128;
	fwd_u128 all = family == 4 ? (fwd_u128)0xffffffffu : ~(fwd_u128)0;

	if (plen == 0)
		return 0;
	if (plen >= bits)
		return all;
	return all & ~((((fwd_u128)1) << (bits - plen)) - 1);
}

struct fwd_dslot {
	_Atomic uint32_t seq;		/* odd while being written */
	_Atomic uint64_t meta;		/* family, proto, port, tag */
	_Atomic uint64_t a0, a1;	/* the address */
	_Atomic uint64_t expires;	/* monotonic ms; 0: free */
	_Atomic uint64_t val;
};

struct fwd_dtable {
	uint32_t mask;			/* capacity - 1 */
	_Atomic uint64_t added, evicted;
	struct fwd_dslot *slot;
};

/* Room for at least MAX entries (rounded up to a power of two). 0 or -ENOMEM. */
int dtable_init(struct fwd_dtable *t, uint32_t max);
void dtable_free(struct fwd_dtable *t);
size_t dtable_memory(const struct fwd_dtable *t);
/*
 * Add K with VAL until EXPIRES (ms), or refresh it if present. Returns 1
 * when added, 0 when refreshed, -EAGAIN when every candidate slot was busy.
 */
int dtable_put(struct fwd_dtable *t, const struct fwd_dkey *k, uint64_t val, uint64_t expires,
	       uint64_t now);
/* Is K a live member at NOW? Fills VAL and EXPIRES when not NULL. */
bool dtable_get(struct fwd_dtable *t, const struct fwd_dkey *k, uint64_t now, uint64_t *val,
		uint64_t *expires);
/* Remove K (every copy). Returns how many. */
unsigned dtable_del(struct fwd_dtable *t, const struct fwd_dkey *k);
/* Remove every entry of FAMILY/ADDR whatever its port or tag. Off the packet path. */
unsigned dtable_del_addr(struct fwd_dtable *t, uint8_t family, fwd_u128 addr);
/* Live entries at NOW (walks the table; off the packet path). */
uint32_t dtable_count(struct fwd_dtable *t, uint64_t now);
/* Call FN for each live entry at NOW (off the packet path). */
void dtable_walk(struct fwd_dtable *t, uint64_t now,
		 void (*fn)(void *arg, const struct fwd_dkey *k, uint64_t expires), void *arg);

/* ---- port-scan detection (fwd/scan.c) ------------------------------------ */

struct fwd_scan;

/* A table for at least MAX sources (fixed; never grows). NULL on ENOMEM. */
struct fwd_scan *scan_new(uint32_t max, uint32_t ports, uint32_t window_ms);
void scan_free(struct fwd_scan *s);
/* Add OLD's counts (detected, evicted, skipped) to S's: totals since start. */
void scan_carry_counts(struct fwd_scan *s, const struct fwd_scan *old);
size_t scan_memory(const struct fwd_scan *s);
uint32_t scan_capacity(const struct fwd_scan *s);
void scan_counters(const struct fwd_scan *s, uint64_t *evicted, uint64_t *skipped,
		   uint64_t *detected);
/*
 * A new connection of FAMILY/SRC to PORT at NOW. Returns the number of
 * distinct ports when this one makes it more than `ports` in the window
 * (once per window), else 0.
 */
uint32_t scan_note(struct fwd_scan *s, uint8_t family, fwd_u128 src, uint16_t port,
		   uint64_t now);
/* Forget FAMILY/A. Off the packet path (may wait for a worker). */
unsigned scan_forget(struct fwd_scan *s, uint8_t family, fwd_u128 a);

/* ---- the run-time state of a rules file ---------------------------------- */

struct fwd_dyn;

/*
 * Build the dynamic state of C (compiled as RS) for NWORKERS workers. *OUT is
 * NULL when C uses nothing dynamic. 0 or -ENOMEM.
 */
int dyn_build(const struct fwd_config *c, const struct fwd_ruleset *rs, unsigned nworkers,
	      struct fwd_dyn **out);
void dyn_free(struct fwd_dyn *d);
/*
 * Copy the live members of OLD's sets into D's sets of the same name, keeping
 * a member D holds with a later expiry. Before D is published (so that a
 * reload never opens a set for a moment), and again after the grace period.
 */
void dyn_carry_sets(struct fwd_dyn *d, struct fwd_dyn *old);
/* After the grace period: carry the counters, then reconcile the sets. */
void dyn_carry(struct fwd_dyn *d, struct fwd_dyn *old);

/*
 * Packet path, before classify(): is K a knock (a packet to a port of a
 * `knock:` sequence)? Then it advances or resets its source's progress,
 * may open the door, and must be dropped: returns true.
 */
bool dyn_knock(struct fwd_dyn *d, const struct fwd_key *k, uint64_t now);
/*
 * Packet path, after classify() returned IDX: while rule IDX has a `src:
 * $SET` condition that K does not meet, go on to the next matching rule.
 * Returns the rule index or -1 (the default). WORKER selects scratch space.
 */
int dyn_resolve(struct fwd_dyn *d, const struct fwd_ruleset *rs, const struct fwd_key *k,
		int idx, unsigned worker, uint64_t now);
/*
 * Off the packet path: dyn_resolve() for the control thread (live explain,
 * under the state lock), with scratch memory of its own rather than a
 * worker's. Returns the rule index, -1 (the default) or -ENOMEM.
 */
int dyn_resolve_ctl(struct fwd_dyn *d, const struct fwd_ruleset *rs, const struct fwd_key *k,
		    int idx, uint64_t now);

struct fwd_log_event;
/*
 * Packet path, after dyn_knock(): count K (tcp or udp) toward `scan:`. True
 * when this packet shows its source scanning: the source was put in the
 * block set and EV is filled as the one FWD_EV_SCAN event to log.
 */
bool dyn_scan(struct fwd_dyn *d, const struct fwd_key *k, uint64_t now,
	      struct fwd_log_event *ev);

/*
 * Packet path, once rule RULE decided K: true when RULE has a `limit:` and
 * K's source has used up its tokens: K is then dropped (counted as limited;
 * with on_exceed: {add: SET} its source joins SET).
 */
bool dyn_limit(struct fwd_dyn *d, uint32_t rule, const struct fwd_key *k, uint64_t now);

/* Remove ADDR ("1.2.3.4" or "2001:db8::1") from every set and knock table. */
int dyn_unblock(struct fwd_dyn *d, const char *addr, unsigned *removed);
/* Append `"dynamic":{...}` (no leading comma) to a malloc'd JSON text; NULL on ENOMEM. */
char *dyn_stats_json(struct fwd_dyn *d);
/* The same for `fwd stats` (lines, "" when nothing is dynamic); NULL on ENOMEM. */
char *dyn_stats_text(struct fwd_dyn *d);

/*
 * Sets fed from off the packet path (fwd/crowdsec.c), under st->lock: the
 * index of set NAME or -1; add FAMILY/ADDR/PLEN (masked) until EXPIRES
 * (1 added, 0 refreshed, -errno); remove it (how many copies); count the
 * prefix entries live at NOW.
 */
int dyn_set_find(const struct fwd_dyn *d, const char *name);
int dyn_prefix_put(struct fwd_dyn *d, int set, uint8_t family, fwd_u128 addr, unsigned plen,
		   uint64_t expires, uint64_t now);
unsigned dyn_prefix_del(struct fwd_dyn *d, int set, uint8_t family, fwd_u128 addr,
			unsigned plen);
uint32_t dyn_prefix_count(struct fwd_dyn *d, int set, uint64_t now);

struct fwd_state;
/* The control request "unblock ADDR": takes st->lock; the answer line in ANS. */
void dyn_control_unblock(struct fwd_state *st, const char *addr, char *ans, size_t len);

#endif
