// SPDX-License-Identifier: MIT
/*
 * loopguard.c - has a packet come back from fwd's repeat verdict? See
 * include/fwd/loopguard.h.
 */
#include <string.h>

#include "fwd/hash.h"
#include "fwd/loopguard.h"

void loopguard_init(struct fwd_loopguard *g, uint64_t seed)
{
	memset(g, 0, sizeof(*g));
	g->seed = seed;
}

/* FNV-1a over the LEN bytes at P, on from H. */
static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/*
 * The IP header but its TOS/traffic class, TTL/hop limit and checksum
 * (rules may set them), and the transport header's first 20 bytes (ports,
 * TCP's sequence and checksum, UDP's checksum), all within CAPLEN.
 */
uint64_t loopguard_print(const struct fwd_loopguard *g, const uint8_t *pkt, size_t caplen,
			 size_t l4off)
{
	uint64_t h = 0xcbf29ce484222325ull;

	if (!pkt || caplen < 20)
		return 0;
	if (pkt[0] >> 4 == 4) {
		h = fnv1a(h, pkt + 2, 6);		/* length, id, fragment */
		h = fnv1a(h, pkt + 9, 1);		/* protocol */
		h = fnv1a(h, pkt + 12, 8);		/* addresses */
	} else if (caplen >= 40) {
		h = fnv1a(h, pkt + 4, 3);		/* payload length, next header */
		h = fnv1a(h, pkt + 8, 32);
	}
	if (l4off && l4off < caplen)
		h = fnv1a(h, pkt + l4off, caplen - l4off < 20 ? caplen - l4off : 20);
	h = hash_mix(h ^ g->seed);
	return h ? h : 1;
}

/* Of SET, the slot for a new fingerprint: a free one, else a stale one, else the oldest. */
static struct fwd_loop_slot *victim(struct fwd_loop_slot *set, uint32_t now)
{
	struct fwd_loop_slot *v = &set[0];

	for (unsigned i = 0; i < FWD_LOOP_WAYS; i++) {
		if (!set[i].print)
			return &set[i];
		if ((uint32_t)(now - set[i].ms) > (uint32_t)(now - v->ms))
			v = &set[i];
	}
	return v;
}

bool loopguard_looped(struct fwd_loopguard *g, uint64_t print, uint64_t now_ms)
{
	struct fwd_loop_slot *set = g->set[print % FWD_LOOP_SETS];
	uint32_t now = (uint32_t)now_ms;

	if (!print)
		return false;
	for (unsigned i = 0; i < FWD_LOOP_WAYS; i++) {
		struct fwd_loop_slot *s = &set[i];

		if (s->print != print)
			continue;
		if ((uint32_t)(now - s->ms) > FWD_LOOP_MS)
			s->seen = 0;
		else if (++s->seen >= 2) {
			s->print = 0;
			return true;
		}
		s->ms = now;
		return false;
	}
	*victim(set, now) = (struct fwd_loop_slot){ .print = print, .ms = now };
	return false;
}
