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

/* The 8 bytes at P as a word, BLANK (< 8: an index) left 0. */
static uint64_t word(const uint8_t *p, unsigned blank)
{
	uint8_t b[8];
	uint64_t w;

	memcpy(b, p, 8);
	if (blank < 8)
		b[blank] = 0;
	memcpy(&w, b, 8);
	return w;
}

/* One more word into H: each step is a bijection of H for a given word. */
static uint64_t add(uint64_t h, uint64_t w)
{
	return (h ^ w) * 0x9e3779b97f4a7c15ull;
}

/*
 * The IP header but its TOS/traffic class, flow label, TTL/hop limit and
 * checksum (rules may set them), and the transport header's first 20 bytes
 * (ports, TCP's sequence and checksum, UDP's checksum), all within CAPLEN.
 * A packet that is neither IPv4 nor a whole IPv6 header gives its first
 * bytes as they are.
 */
uint64_t loopguard_print(const struct fwd_loopguard *g, const uint8_t *pkt, size_t caplen,
			 size_t l4off)
{
	uint64_t h = g->seed;
	uint8_t l4[24] = { 0 };

	if (!pkt || caplen < 20)
		return 0;
	if (pkt[0] >> 4 == 4) {
		h = add(h, word(pkt + 2, 6));		/* length, id, fragment, (TTL), protocol */
		h = add(h, word(pkt + 12, 8));		/* addresses */
	} else if (caplen >= 40) {
		h = add(h, word(pkt + 4, 3));		/* payload length, next header, (hop limit) */
		for (unsigned i = 8; i < 40; i += 8)	/* addresses */
			h = add(h, word(pkt + i, 8));
	} else {
		for (unsigned i = 0; i + 8 <= caplen; i += 8)	/* 16 to 32 bytes */
			h = add(h, word(pkt + i, 8));
	}
	if (l4off && l4off < caplen)
		memcpy(l4, pkt + l4off, caplen - l4off < 20 ? caplen - l4off : 20);
	for (unsigned i = 0; i < 24; i += 8)
		h = add(h, word(l4 + i, 8));
	h = hash_mix(h);
	return h ? h : 1;
}

/* Of SET, the slot for a new fingerprint: a free one, else the oldest (stale ones first). */
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

bool loopguard_looped(struct fwd_loopguard *g, uint64_t print, uint64_t now_ms,
		      bool preceded)
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
		else if (++s->seen >= (preceded ? FWD_LOOP_BACK : FWD_LOOP_BACK_UNSEEN)) {
			s->print = 0;
			return true;
		}
		s->ms = now;
		return false;
	}
	*victim(set, now) = (struct fwd_loop_slot){ .print = print, .ms = now };
	return false;
}
