// SPDX-License-Identifier: MIT
/*
 * shadow.c - rules that are never reached (include/fwd/ruleset.h), found
 * on the table the file compiled to: `fwd check`, `fwd apply` and the
 * loader ask it once they have the table.
 */
#include <stdlib.h>
#include <string.h>

#include "fwd/table.h"

/*
 * The shadow analysis, on the compiled table RS of C. Rule j is never reached when one earlier rule i accepts
 * every packet j accepts. Any such i accepts j's corner points, so the
 * candidates are the rules the table says match two corners of j (lowest and
 * highest value of every field); only those get the exact per-field subset
 * test. That keeps `fwd check` near-linear in the number of rules.
 */

/* Is every range of A inside one range of B? Both sorted; B disjoint. */
#define DEFINE_SUBSET(fn, type)						\
static bool fn(const type *a, uint32_t na, const type *b, uint32_t nb)	\
{									\
	uint32_t k = 0;							\
									\
	for (uint32_t i = 0; i < na; i++) {				\
		while (k < nb && b[k].hi < a[i].lo)			\
			k++;						\
		if (k == nb || b[k].lo > a[i].lo || b[k].hi < a[i].hi)	\
			return false;					\
	}								\
	return true;							\
}
DEFINE_SUBSET(prange_subset, struct fwd_prange)
DEFINE_SUBSET(a4_subset, struct fwd_a4range)
DEFINE_SUBSET(a6_subset, struct fwd_a6range)

static const struct fwd_a4range all_v4 = { 0, 0xffffffffu };
static const struct fwd_a6range all_v6 = { 0, ~(fwd_u128)0 };

static bool ports_cover(const struct fwd_rule *i, const struct fwd_rule *j, uint32_t bit)
{
	const struct fwd_portset *pi = bit == FWD_F_SPORT ? &i->sport : &i->dport;
	const struct fwd_portset *pj = bit == FWD_F_SPORT ? &j->sport : &j->dport;

	if (!(i->present & bit))
		return true;
	/* without the field j also takes packets that carry no ports */
	return (j->present & bit) && prange_subset(pj->r, pj->n, pi->r, pi->n);
}

/* Can rule R accept a packet of family F at all? */
static bool family_ok(const struct fwd_rule *r, int f)
{
	if ((r->present & FWD_F_SRC) && !(f == 4 ? r->src.n4 : r->src.n6))
		return false;
	return !(r->present & FWD_F_DST) || (f == 4 ? r->dst.n4 : r->dst.n6);
}

static bool addrs_cover(const struct fwd_addrset *si, bool ipres, const struct fwd_addrset *sj,
			bool jpres, int f)
{
	if (!ipres)
		return true;
	if (f == 4)
		return jpres ? a4_subset(sj->v4, sj->n4, si->v4, si->n4)
			     : a4_subset(&all_v4, 1, si->v4, si->n4);
	return jpres ? a6_subset(sj->v6, sj->n6, si->v6, si->n6)
		     : a6_subset(&all_v6, 1, si->v6, si->n6);
}

/* Does interface class C accept rule R? */
static bool class_bit(const struct fwd_ruleset *rs, uint32_t c, uint32_t r)
{
	return ruleset_class_word(rs, FWD_FLD_IN, c, r / 64) >> (r % 64) & 1;
}

static bool iface_cover(const struct fwd_ruleset *rs, const struct fwd_rule *i, uint32_t ri,
			uint32_t rj)
{
	const struct fwd_bvset *bs = &rs->f[FWD_FLD_IN];

	if (!(i->present & FWD_F_IN))
		return true;
	for (uint32_t c = 0; c < bs->ncls; c++)
		if (class_bit(rs, c, rj) && !class_bit(rs, c, ri))
			return false;
	return true;
}

static bool rule_covers(const struct fwd_ruleset *rs, const struct fwd_config *c, uint32_t ri,
			uint32_t rj)
{
	const struct fwd_rule *i = &c->rules[ri], *j = &c->rules[rj];

	for (int b = 0; b < FWD_PROTO_BYTES; b++)
		if (j->protos[b] & ~i->protos[b])
			return false;
	if (!ports_cover(i, j, FWD_F_SPORT) || !ports_cover(i, j, FWD_F_DPORT))
		return false;
	for (int f = 4; f <= 6; f += 2) {
		if (!family_ok(j, f))
			continue;
		if (!addrs_cover(&i->src, i->present & FWD_F_SRC, &j->src,
				 j->present & FWD_F_SRC, f) ||
		    !addrs_cover(&i->dst, i->present & FWD_F_DST, &j->dst,
				 j->present & FWD_F_DST, f))
			return false;
	}
	return iface_cover(rs, i, ri, rj);
}

static bool pick_port(const struct fwd_rule *r, uint32_t bit, bool hi, uint32_t *out)
{
	const struct fwd_portset *ps = bit == FWD_F_SPORT ? &r->sport : &r->dport;

	if (!(r->present & bit)) {
		*out = hi ? 65535 : FWD_NOPORT;
		return true;
	}
	if (!ps->n)
		return false;
	*out = hi ? ps->r[ps->n - 1].hi : ps->r[0].lo;
	return true;
}

static fwd_u128 pick_addr(const struct fwd_addrset *s, bool present, int f, bool hi)
{
	if (!present)
		return hi ? (f == 4 ? all_v4.hi : all_v6.hi) : 0;
	if (f == 4)
		return hi ? s->v4[s->n4 - 1].hi : s->v4[0].lo;
	return hi ? s->v6[s->n6 - 1].hi : s->v6[0].lo;
}

static bool pick_iface(const struct fwd_ruleset *rs, uint32_t rj, bool hi, uint16_t *out)
{
	const struct fwd_bvset *bs = &rs->f[FWD_FLD_IN];

	for (uint32_t k = 0; k < bs->ncls; k++) {
		uint32_t c = hi ? bs->ncls - 1 - k : k;

		if (class_bit(rs, c, rj)) {
			*out = (uint16_t)c;
			return true;
		}
	}
	return false;
}

/* The lowest (HI false) or highest corner of rule RJ; false if RJ is empty. */
static bool corner(const struct fwd_ruleset *rs, const struct fwd_config *c, uint32_t rj,
		   bool hi, struct fwd_key *k)
{
	const struct fwd_rule *r = &c->rules[rj];
	int p, f;

	memset(k, 0, sizeof(*k));
	for (p = 0; p < 256; p++) {
		int q = hi ? 255 - p : p;

		if (r->protos[q / 8] & (1u << (q % 8)))
			break;
	}
	if (p == 256)
		return false;
	k->proto = (uint8_t)(hi ? 255 - p : p);
	f = family_ok(r, hi ? 6 : 4) ? (hi ? 6 : 4) : (hi ? 4 : 6);
	if (!family_ok(r, f))
		return false;
	k->family = (uint8_t)f;
	k->src = pick_addr(&r->src, r->present & FWD_F_SRC, f, hi);
	k->dst = pick_addr(&r->dst, r->present & FWD_F_DST, f, hi);
	if (!pick_port(r, FWD_F_SPORT, hi, &k->sport) || !pick_port(r, FWD_F_DPORT, hi, &k->dport))
		return false;
	return pick_iface(rs, rj, hi, &k->iface);
}

static bool first_cover(const struct fwd_ruleset *rs, const struct fwd_config *c, uint32_t rj,
			uint64_t *va, uint64_t *vb, uint32_t *ri)
{
	struct fwd_key ka, kb;

	if (!corner(rs, c, rj, false, &ka) || !corner(rs, c, rj, true, &kb))
		return false;
	if (!ruleset_match_all(rs, &ka, va) || !ruleset_match_all(rs, &kb, vb))
		return false;
	for (uint32_t w = 0; w <= rj / 64; w++) {
		uint64_t m = va[w] & vb[w];

		if (w == rj / 64)
			m &= (1ull << (rj % 64)) - 1;
		for (; m; m &= m - 1) {
			*ri = w * 64 + (uint32_t)__builtin_ctzll(m);
			/* a `src: $SET` rule may not match: it shadows nothing */
			if (!(c->ndynsets && c->rules[*ri].dyn_src >= 0) && rule_covers(rs, c, *ri, rj))
				return true;
		}
	}
	return false;
}

unsigned ruleset_shadows(const struct fwd_ruleset *rs, const struct fwd_config *c,
			 struct fwd_diags *d)
{
	uint64_t *va, *vb;
	unsigned n = 0;

	va = malloc(rs->words * sizeof(*va));
	vb = malloc(rs->words * sizeof(*vb));
	for (uint32_t j = 1; va && vb && j < c->nrules; j++) {
		uint32_t i;

		if (!first_cover(rs, c, j, va, vb, &i))
			continue;
		diag_warning(d, c->rules[j].pos,
			     "rule '%s' is never reached: rule '%s' (line %u) matches first",
			     c->rules[j].name, c->rules[i].name, c->rules[i].pos.line);
		n++;
	}
	free(va);
	free(vb);
	return n;
}
