/* SPDX-License-Identifier: MIT */
/*
 * hash.h - the one mixer and the one secret fwd's tables hash with.
 *
 * Every table a sender can fill (dynamic sets, knock progress, the scan
 * table, the limits' doorkeeper, a worker's loop guard) keys its hash with
 * 64 random bits of its own, mixed in before the first round, so that no
 * sender can pick packets that land on the slots of another.
 */
#ifndef FWD_HASH_H
#define FWD_HASH_H

#include <stdint.h>

/* murmur3's 64-bit finaliser: every input bit reaches every output bit. */
static inline uint64_t hash_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

/*
 * 64 mixed bits of the 128-bit ADDR (an IPv4 address in the low 32), keyed
 * with KEY (a seed, with whatever else tells keys apart folded in): a round
 * for each half, since a sum of the halves before mixing would let an IPv6
 * sender pick pairs that collide whatever the seed.
 */
static inline uint64_t hash_addr(unsigned __int128 addr, uint64_t key)
{
	return hash_mix(hash_mix((uint64_t)addr ^ key) ^ (uint64_t)(addr >> 64));
}

/*
 * 64 random bits (getrandom()) to key a hash with; each table draws its
 * own when it is made.
 */
uint64_t hash_seed(void);

#endif
