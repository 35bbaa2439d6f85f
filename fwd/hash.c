// SPDX-License-Identifier: MIT
/*
 * hash.c - a table's secret; see include/fwd/hash.h.
 */
#include <stdint.h>
#include <sys/random.h>
#include <sys/types.h>
#include <time.h>

#include "fwd/hash.h"

/*
 * getrandom() without waiting: at early boot, before the kernel's pool is
 * ready, the clock and an address (ASLR) stand in, a weaker secret but
 * never a stalled start.
 */
uint64_t hash_seed(void)
{
	uint64_t seed;
	struct timespec ts;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed))
		return seed;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return hash_mix((uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 32 ^
			(uint64_t)(uintptr_t)&ts);
}
