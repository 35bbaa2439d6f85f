/* SPDX-License-Identifier: MIT */
/*
 * loopguard.h - has a packet come back from fwd's repeat verdict?
 *
 * fwd passes what it allows with a repeat verdict and FWD_REPEAT_MARK; its
 * chain lets the packet by on the second trip through mangle PREROUTING. A
 * rule before fwd's jump that rewrites the mark (CONNMARK --restore-mark)
 * takes the bit away, and the packet is queued, judged and repeated again,
 * for ever. Each worker keeps the fingerprints of the packets it repeated:
 * one back a third time, each within FWD_LOOP_MS of the last, is a loop,
 * and the worker accepts it. A packet may have a true twin (a duplicate ACK
 * sent in the same millisecond is the same bytes), so one back once is
 * still repeated.
 *
 * Twins are more common than that: UDP datagrams of the same content from an
 * unconnected socket (IPv4 ID 0 with DF, and IPv6 has no ID) sent in a burst
 * are the same bytes, and in the stateful mode each is queued while the flow
 * has no reply. A loop needs a rule before fwd's jump in mangle PREROUTING
 * (the only place the mark can change between the verdict and FWD-QUEUE's
 * first line), and fwd's hooks watch (hooks_missing(), every 5 s) says
 * whether one is there. While none is, a packet counts as looping only when
 * back FWD_LOOP_BACK_UNSEEN times, which bounds a loop that begins between
 * two looks and lets any burst of twins short of that pass as repeats.
 *
 * The table is set-associative, FWD_LOOP_WAYS fingerprints a set, and a new
 * one takes the set's free, stale or oldest slot: two packets looping at
 * once in the same set keep their slots (with one slot a set they took it
 * from each other on every pass, and looped for ever). Where a set lands is
 * keyed with the table's secret. A packet that comes back to another queue
 * meets another worker's table: it is accepted by its 2N+1-th pass at the
 * most with N queues, usually the third.
 */
#ifndef FWD_LOOPGUARD_H
#define FWD_LOOPGUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FWD_LOOP_SETS	64
#define FWD_LOOP_WAYS	4	/* a set is 64 bytes */
#define FWD_LOOP_MS	100	/* how soon a looping packet is back, at the latest */
#define FWD_LOOP_BACK	2	/* times back that make a loop, with a rule before fwd's jump */
#define FWD_LOOP_BACK_UNSEEN	16	/* without one: only twins come back (see above) */

struct fwd_loop_slot {
	uint64_t print;		/* loopguard_print() of a packet repeated; 0: free */
	uint32_t ms;		/* when last, in ms (mod 2^32) */
	uint32_t seen;		/* times back since its first pass */
};

struct fwd_loopguard {
	uint64_t seed;
	struct fwd_loop_slot set[FWD_LOOP_SETS][FWD_LOOP_WAYS];
};

/* An empty guard keyed with SEED (hash_seed()). */
void loopguard_init(struct fwd_loopguard *g, uint64_t seed);

/*
 * The fingerprint of the packet at PKT (CAPLEN bytes, its transport header
 * at L4OFF, 0: none): what tells it from another and stays as it is through
 * mangle PREROUTING. 0 when there is too little of it to tell.
 */
uint64_t loopguard_print(const struct fwd_loopguard *g, const uint8_t *pkt, size_t caplen,
			 size_t l4off);

/*
 * Note that the packet of PRINT is being repeated at NOW_MS; true when it
 * is looping (back a third time, FWD_LOOP_BACK; FWD_LOOP_BACK_UNSEEN while
 * no rule is known to precede fwd's jump: !PRECEDED) and is to be accepted
 * instead. PRINT 0: false.
 */
bool loopguard_looped(struct fwd_loopguard *g, uint64_t print, uint64_t now_ms,
		      bool preceded);

#endif
