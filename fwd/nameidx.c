// SPDX-License-Identifier: MIT
/*
 * nameidx.c - rule names by hash, so that the duplicate-name check of a
 * rules file costs one probe per rule instead of a scan of every earlier
 * rule (100,000 rules made that check the bulk of `fwd check`).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fwd/config.h"

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

int nameidx_init(struct fwd_nameidx *x, uint32_t n)
{
	uint32_t size = 16;

	while (size < 2ull * n && size < (1u << 31))
		size *= 2;
	x->mask = size - 1;
	x->tab = calloc(size, sizeof(*x->tab));
	return x->tab ? 0 : -ENOMEM;
}

void nameidx_free(struct fwd_nameidx *x)
{
	free(x->tab);
	x->tab = NULL;
}

long nameidx_add(struct fwd_nameidx *x, const struct fwd_rule *rules, uint32_t i)
{
	uint32_t h = name_hash(rules[i].name), e;

	if (!x->tab)
		return -1;
	for (; (e = x->tab[h & x->mask]); h++)
		if (!strcmp(rules[e - 1].name, rules[i].name))
			return (long)(e - 1);
	x->tab[h & x->mask] = i + 1;
	return -1;
}
