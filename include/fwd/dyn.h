/* SPDX-License-Identifier: MIT */
/*
 * dyn.h - the dynamic state of a rules file (fwd/dyn.c): its `dynamic:`
 * sets, `knock:` sequences, `scan:` detection, rules' `limit:` and
 * `src: $SET`. A struct fwd_dyn hangs off struct fwd_live and is rebuilt on
 * reload, carrying what the traffic built up (dyn_carry_state()). The packet
 * path changes it without locks (dtable.h).
 */
#ifndef FWD_DYN_H
#define FWD_DYN_H

#include <stdbool.h>
#include <stdint.h>

#include "fwd/config.h"
#include "fwd/dtable.h"
#include "fwd/log.h"
#include "fwd/ruleset.h"
#include "fwd/scan.h"

struct fwd_dyn;

/*
 * Build the dynamic state of C for NWORKERS workers (from C's rules and
 * sections alone: it may come before the compile). *OUT is NULL when C uses
 * nothing dynamic. 0 or -ENOMEM.
 */
int dyn_build(const struct fwd_config *c, unsigned nworkers, struct fwd_dyn **out);
void dyn_free(struct fwd_dyn *d);
/*
 * What a reload keeps, at NOW, before D is published: the live members of
 * OLD's sets in D's sets of the same name (so that a reload never opens a
 * set for a moment); the buckets of each limit whose rule keeps its name,
 * rate and burst, and the limits' memory of the sources they refused a
 * place (their doorkeeper); the progress of each knock that keeps its name, steps and
 * window; and the scan table itself while its max, ports and window stay
 * (D takes it over). What workers add to OLD's buckets and progress in the
 * grace period is lost.
 */
void dyn_carry_state(struct fwd_dyn *d, struct fwd_dyn *old, uint64_t now);
/*
 * After the grace period: carry the counters, then the set members again,
 * keeping a member D holds with a later expiry (and, when a set of D
 * blocks, make a recheck due: dyn_recheck_due()).
 */
void dyn_carry(struct fwd_dyn *d, struct fwd_dyn *old);

/*
 * What a packet changed that the log tells: a knock door it opened, a scan
 * it showed, a source a limit put in a set. The packet path sets DUE to
 * false, and EV is filled (DUE true) by the one of these that happened first.
 * Only the states a packet changed are logged, one line each, never the
 * packets of a knock or over a limit themselves.
 */
struct fwd_dyn_event {
	bool due;
	struct fwd_log_event ev;
};

/*
 * Packet path, before classify(): is K a knock (a packet to a port of a
 * `knock:` sequence)? Then it advances or resets its source's progress,
 * may open the door (then OUT, if not NULL, gets its FWD_EV_KNOCK event),
 * and must be dropped: returns true.
 */
bool dyn_knock(struct fwd_dyn *d, const struct fwd_key *k, uint64_t now,
	       struct fwd_dyn_event *out);
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

/*
 * Packet path, after dyn_knock(): count K (tcp or udp) toward `scan:`. True
 * when this packet shows its source scanning: the source was put in the
 * block set and OUT (if not NULL) gets the one FWD_EV_SCAN event to log.
 */
bool dyn_scan(struct fwd_dyn *d, const struct fwd_key *k, uint64_t now,
	      struct fwd_dyn_event *out);

/*
 * Packet path, once rule RULE decided K: true when RULE has a `limit:` and
 * K's source has used up its tokens: K is then dropped (counted as limited;
 * with on_exceed: {add: SET} its source joins SET, and OUT, if not NULL,
 * gets a FWD_EV_LIMIT event when it was not a member yet).
 */
bool dyn_limit(struct fwd_dyn *d, uint32_t rule, const struct fwd_key *k, uint64_t now,
	       struct fwd_dyn_event *out);

/* dyn_packet()'s answer for a packet that must be dropped. */
#define FWD_DYN_DROP	(-2)

/*
 * The worker's one call, after classify() returned IDX: dyn_knock(),
 * dyn_scan(), dyn_resolve() and dyn_limit() in that order; only a packet
 * that OPENS a connection (flow_opens()) advances a knock, counts toward a
 * scan or takes a limit's token. Returns the rule index, -1 (the default)
 * or FWD_DYN_DROP (a knock, or over a limit). OUT->due tells whether OUT->ev
 * holds an event to log.
 */
int dyn_packet(struct fwd_dyn *d, const struct fwd_ruleset *rs, const struct fwd_key *k,
	       int idx, unsigned worker, uint64_t now, bool opens, struct fwd_dyn_event *out);

/*
 * A set blocks when a drop or reject rule has it as `src:`. A source that
 * joins one loses what conntrack lets by: fwd/recheck.c marks its
 * established connections and the hooks queue them again; once it leaves
 * (unblocked, deleted, expired), the mark is taken off. Off the packet
 * path: does some set of D block? Has a blocking set gained a member, or
 * lost one by unblock or delete, since the last call (then true once; also
 * once after dyn_build())? Is K's
 * source (with its protocol and destination port, for members that have
 * one) in a blocking set at NOW?
 */
bool dyn_blocks(const struct fwd_dyn *d);
bool dyn_config_blocks(const struct fwd_config *c);	/* the same, from the rules */
bool dyn_recheck_due(struct fwd_dyn *d);
void dyn_recheck_again(struct fwd_dyn *d);	/* due again: the last look failed */
bool dyn_blocked(struct fwd_dyn *d, const struct fwd_key *k, uint64_t now);

/*
 * `fwd block`: put FAMILY/ADDR/PLEN into set NAME (NULL: the one set that
 * blocks) for *FOR_MS (0: the set's timeout, written back). Returns the
 * set's index, or -1 with the reason in ERR (no such set, it blocks
 * nothing, none or several block).
 */
int dyn_block(struct fwd_dyn *d, const char *name, uint8_t family, fwd_u128 addr, unsigned plen,
	      uint64_t *for_ms, uint64_t now, char *err, size_t errlen);
/* The name of set I. */
const char *dyn_set_name(const struct fwd_dyn *d, int i);
/*
 * Remove ADDR ("1.2.3.4" or "2001:db8::1") from every set and knock table;
 * REMOVED: the entries that were in force at NOW.
 */
int dyn_unblock(struct fwd_dyn *d, const char *addr, unsigned *removed, uint64_t now);
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

/*
 * Members across a restart (fwd/keep.c), off the packet path: call FN for
 * every live member at NOW of every set that is kept, with its set's name
 * and expiry; put member K (as FN had it) back into set SET until EXPIRES
 * (1 added, 0 there, -errno).
 */
void dyn_members(struct fwd_dyn *d, uint64_t now,
		 void (*fn)(void *arg, const char *set, const struct fwd_dkey *k, uint64_t expires),
		 void *arg);
int dyn_member_put(struct fwd_dyn *d, int set, const struct fwd_dkey *k, uint64_t expires,
		   uint64_t now);
/*
 * Sets are kept across a restart but SET, if D has it (the CrowdSec set:
 * the LAPI sends its decisions again). Before D is published.
 */
void dyn_unkept(struct fwd_dyn *d, const char *set);
bool dyn_set_kept(const struct fwd_dyn *d, int set);
/*
 * Did a kept set gain or lose members, or a member get a new time from
 * `fwd block`, since the last call? Off the packet path; a member put in
 * before the answer true is seen by dyn_members() after it.
 */
bool dyn_kept_changed(struct fwd_dyn *d);

#endif
