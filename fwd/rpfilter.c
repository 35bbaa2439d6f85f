// SPDX-License-Identifier: MIT
/*
 * rpfilter.c - counting what fwd's reverse path check dropped; see
 * include/fwd/rpfilter.h.
 */
#include <pthread.h>
#include <stdbool.h>

#include "fwd/hooks.h"
#include "fwd/iptsave.h"
#include "fwd/rpfilter.h"

static struct {
	pthread_mutex_t lock;
	uint64_t carry, last[2];	/* IPv4, IPv6 */
	bool ever;			/* a table has had the check: its line may count */
} R = { .lock = PTHREAD_MUTEX_INITIALIZER };

/*
 * Under R.lock: read both families' counts; the total so far. A family
 * that cannot be read keeps its last count (taking it for a restart would
 * count it twice once it reads again).
 */
static uint64_t sample_locked(void)
{
	for (int f = 0; f < 2; f++) {
		uint64_t p;

		if (ipt_count(f ? 6 : 4, "mangle", FWD_HOOKS_QUEUE_CHAIN,
			      "--comment " FWD_RPF_COMMENT " ", &p))
			continue;
		if (p < R.last[f])
			R.carry += R.last[f];
		R.last[f] = p;
	}
	return R.carry + R.last[0] + R.last[1];
}

uint64_t rpfilter_dropped(enum fwd_rpfilter now)
{
	uint64_t n = 0;

	pthread_mutex_lock(&R.lock);
	R.ever |= now != FWD_RPF_OFF;
	if (R.ever)	/* else there is no counter to read: spare the fork */
		n = sample_locked();
	pthread_mutex_unlock(&R.lock);
	return n;
}
