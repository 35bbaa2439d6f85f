/* SPDX-License-Identifier: MIT */
/*
 * seen.h - "was this source seen a moment ago?" (fwd/seen.c): the doorkeeper
 * in front of the tables that a spoofed flood churns (scan detection, limit
 * buckets). Two generations of a two-hash Bloom filter, each one epoch
 * long: a source is remembered for one to two epochs in fixed memory,
 * whatever the number of sources. It may answer yes for a source never seen
 * (about (1 - e^(-2n/bits))^2 per generation for n sources an epoch); it
 * never forgets one within the epoch after.
 */
#ifndef FWD_SEEN_H
#define FWD_SEEN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fwd_seen {
	uint32_t epoch_ms, mask;	/* mask: bits per generation - 1 */
	_Atomic uint64_t epoch;
	_Atomic uint64_t *gen[2];	/* [epoch & 1] */
};

/* BITS (a power of two, >= 64) per generation, epochs of EPOCH_MS. 0 or -ENOMEM. */
int seen_init(struct fwd_seen *s, uint32_t bits, uint32_t epoch_ms);
void seen_free(struct fwd_seen *s);
size_t seen_memory(const struct fwd_seen *s);
/* Was the source of HASH (64 well-mixed bits) seen this epoch or the last? Notes it. */
bool seen_note(struct fwd_seen *s, uint64_t hash, uint64_t now);
/*
 * S remembers what FROM does (both of one size and epoch; else nothing):
 * for a reload, while S is not in use. Notes FROM takes meanwhile are not
 * carried.
 */
void seen_carry(struct fwd_seen *s, const struct fwd_seen *from);

#endif
