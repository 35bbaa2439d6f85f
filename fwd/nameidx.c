// SPDX-License-Identifier: MIT
/*
 * nameidx.c - names by hash, so that the duplicate-name check of a rules
 * file and the carrying of counters across a reload cost one probe per rule
 * instead of a scan of every other rule (at 100,000 rules those scans were
 * most of `fwd check` and seconds of every reload).
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

int nameidx_init(struct fwd_nameidx *x, uint32_t n,
		 const char *(*name)(const void *arg, uint32_t i), const void *arg)
{
	uint32_t size = 16;

	while (size < 2ull * n && size < (1u << 31))
		size *= 2;
	x->mask = size - 1;
	x->name = name;
	x->arg = arg;
	x->tab = calloc(size, sizeof(*x->tab));
	return x->tab ? 0 : -ENOMEM;
}

void nameidx_free(struct fwd_nameidx *x)
{
	free(x->tab);
	x->tab = NULL;
}

/* The slot of NAME, or the empty slot where it would go. */
static uint32_t slot(const struct fwd_nameidx *x, const char *name)
{
	uint32_t h = name_hash(name);

	while (x->tab[h & x->mask] && strcmp(x->name(x->arg, x->tab[h & x->mask] - 1), name))
		h++;
	return h & x->mask;
}

long nameidx_add(struct fwd_nameidx *x, uint32_t i)
{
	uint32_t s;

	if (!x->tab)
		return -1;
	s = slot(x, x->name(x->arg, i));
	if (x->tab[s])
		return (long)x->tab[s] - 1;
	x->tab[s] = i + 1;
	return -1;
}

long nameidx_find(const struct fwd_nameidx *x, const char *name)
{
	return x->tab ? (long)x->tab[slot(x, name)] - 1 : -1;
}
