// SPDX-License-Identifier: MIT
/*
 * classify.c - the packet path's lookup: packet key -> first matching rule.
 *
 * The compiled table (struct fwd_ruleset in include/fwd/table.h, built by
 * compile.c) is a per-field decomposition (Lakshman/Stiliadis) with
 * aggregated bit vectors (Baboescu/Varghese):
 *
 *   - Each field's value line is cut into elementary intervals at the ends
 *     of every rule's ranges. All values of one interval are accepted by the
 *     same rules, so each interval carries one bit vector of nrules bits
 *     (bit r set: rule r accepts the value; a rule that does not name the
 *     field accepts everything). Identical vectors are stored once: a field
 *     maps a value to a "class", a class to a vector.
 *   - Value -> class: proto by a 256-entry table; sport and dport by a
 *     65537-entry table of uint16 (entry 65536 is FWD_NOPORT, accepted only
 *     by rules without that port field); IPv4 src/dst by the interval starts,
 *     a 65537-entry index on the top 16 bits narrowing a binary search to the
 *     few starts inside one /16; IPv6 src/dst by binary search over 128-bit
 *     starts. v4 and v6 have separate classes, so a rule naming only v4
 *     addresses has its bit clear in every v6 class. The input interface is
 *     classed off the packet path (ruleset_iface_class(): exact pattern,
 *     else longest prefix pattern, else "no pattern"); the key carries the
 *     class.
 *   - A packet matches rule r iff bit r is set in the vector of every field,
 *     so the first match is the lowest set bit of the AND of at most six
 *     vectors. Each vector has an aggregate, one bit per 64-bit word saying
 *     whether the word is nonzero; only words whose aggregate bit is set in
 *     every field are ANDed, in rule order, and the first nonzero word
 *     answers. Fields that no rule names are left out of the AND entirely.
 *
 * Lookup cost is a few table reads plus a walk over nrules/4096 aggregate
 * words and the (usually one or two) candidate words: it does not grow with
 * a linear scan's rule count. classify() reads only the table: no
 * allocation, lock or syscall.
 */
#include "fwd/table.h"

/*
 * One field of one packet: its class's exceptions to BASE, or (BASE NULL)
 * its whole vector.
 */
struct fview {
	const uint64_t *base;
	const struct fwd_xent *e;
	uint32_t nx;
};

/* A list of candidate words: a class's home bits, or the homeless rules. */
struct hcur {
	const struct fwd_xent *p, *end;
	unsigned fld;		/* index in lookup.v of the field it came from */
};

struct lookup {
	unsigned n, nh;
	struct fview v[6];
	struct hcur h[7];
};

static inline void lookup_add(struct lookup *l, const struct fwd_ruleset *rs, int fld,
			      uint32_t cls)
{
	const struct fwd_bvset *bs = &rs->f[fld];
	const struct fwd_cref *cr = &bs->cls[cls];
	struct fview *v = &l->v[l->n];

	v->base = cr->nx == rs->words ? NULL : bs->base;
	v->e = bs->ent + cr->x;
	v->nx = cr->nx;
	if (cr->nh) {
		l->h[l->nh].p = bs->ent + cr->h;
		l->h[l->nh].end = bs->ent + cr->h + cr->nh;
		l->h[l->nh++].fld = l->n;
	}
	l->n++;
}

static inline uint32_t v4_class(const struct fwd_v4map *m, uint32_t a)
{
	uint32_t lo = m->idx[a >> 16], hi = m->idx[(a >> 16) + 1];

	while (lo < hi) {
		uint32_t mid = (lo + hi + 1) / 2;

		if (m->start[mid] <= a)
			lo = mid;
		else
			hi = mid - 1;
	}
	return m->cls[lo];
}

static inline uint32_t v6_class(const struct fwd_v6map *m, fwd_u128 a)
{
	uint32_t lo = 0, hi = m->n - 1;

	while (lo < hi) {
		uint32_t mid = (lo + hi + 1) / 2;

		if (m->start[mid] <= a)
			lo = mid;
		else
			hi = mid - 1;
	}
	return m->cls[lo];
}

static inline uint32_t port_index(uint32_t p)
{
	return p > FWD_NOPORT ? FWD_NOPORT : p;
}

static inline void lookup_fill(struct lookup *l, const struct fwd_ruleset *rs,
			       const struct fwd_key *k)
{
	uint32_t used = rs->used;

	l->n = 0;
	l->nh = 0;
	if (used & FWD_F_DPORT)
		lookup_add(l, rs, FWD_FLD_DPORT, rs->dport_cls[port_index(k->dport)]);
	if (used & FWD_F_SRC) {
		if (k->family == 4)
			lookup_add(l, rs, FWD_FLD_SRC4, v4_class(&rs->src4, (uint32_t)k->src));
		else
			lookup_add(l, rs, FWD_FLD_SRC6, v6_class(&rs->src6, k->src));
	}
	if (used & FWD_F_DST) {
		if (k->family == 4)
			lookup_add(l, rs, FWD_FLD_DST4, v4_class(&rs->dst4, (uint32_t)k->dst));
		else
			lookup_add(l, rs, FWD_FLD_DST6, v6_class(&rs->dst6, k->dst));
	}
	if (used & FWD_F_PROTO)
		lookup_add(l, rs, FWD_FLD_PROTO, rs->proto_cls[k->proto]);
	if (used & FWD_F_SPORT)
		lookup_add(l, rs, FWD_FLD_SPORT, rs->sport_cls[port_index(k->sport)]);
	if (used & FWD_F_IN)
		lookup_add(l, rs, FWD_FLD_IN,
			   k->iface < rs->f[FWD_FLD_IN].ncls ? k->iface : rs->if_none);
}

/*
 * Word W of one field's vector. A class differs from its field's base in at
 * most words / 8 words (else it is stored whole), usually none or one, so
 * a scan finds the exception.
 */
static inline uint64_t probe(const struct fview *v, uint32_t w)
{
	if (!v->base)
		return v->e[w].bits;
	for (uint32_t i = 0; i < v->nx && v->e[i].w <= w; i++)
		if (v->e[i].w == w)
			return v->base[w] ^ v->e[i].bits;
	return v->base[w];
}

/*
 * The lowest word any candidate list still holds, with its bits ORed. *SKIP
 * is the field those bits all came from (they are in its vector), or
 * l->n when several lists (or the homeless rules) gave bits.
 */
static inline uint32_t next_candidates(struct lookup *l, uint64_t *bits, unsigned *skip)
{
	uint32_t w = UINT32_MAX;

	for (unsigned i = 0; i < l->nh; i++)
		if (l->h[i].p < l->h[i].end && l->h[i].p->w < w)
			w = l->h[i].p->w;
	*bits = 0;
	*skip = l->n + 1;
	for (unsigned i = 0; i < l->nh; i++) {
		if (l->h[i].p < l->h[i].end && l->h[i].p->w == w) {
			*bits |= l->h[i].p->bits;
			*skip = *skip > l->n ? l->h[i].fld : l->n;
			l->h[i].p++;
		}
	}
	return w;
}

/* Up to 64 rules every class is stored whole: the answer is one AND. */
static inline int classify_word(const struct lookup *l)
{
	uint64_t x = ~0ull;

	for (unsigned f = 0; f < l->n; f++)
		x &= l->v[f].e->bits;
	return x ? __builtin_ctzll(x) : -1;
}

int classify(const struct fwd_ruleset *rs, const struct fwd_key *k)
{
	struct lookup l;
	unsigned skip;
	uint64_t x;
	uint32_t w;

	if (!rs->nrules)
		return -1;
	lookup_fill(&l, rs, k);
	if (!l.n)
		return 0;
	if (rs->nany) {
		l.h[l.nh].p = rs->any;
		l.h[l.nh].end = rs->any + rs->nany;
		l.h[l.nh++].fld = l.n;
	}
	if (rs->words == 1)
		return classify_word(&l);
	while ((w = next_candidates(&l, &x, &skip)) != UINT32_MAX) {
		for (unsigned f = 0; f < l.n && x; f++)
			if (f != skip)
				x &= probe(&l.v[f], w);
		if (x)
			return (int)(w * 64 + (uint32_t)__builtin_ctzll(x));
	}
	return -1;
}

uint64_t ruleset_class_word(const struct fwd_ruleset *rs, int fld, uint32_t cls, uint32_t w)
{
	const struct fwd_bvset *bs = &rs->f[fld];
	const struct fwd_cref *cr = &bs->cls[cls];
	const struct fwd_xent *e = bs->ent + cr->x;
	uint32_t lo = 0, hi = cr->nx;

	if (cr->nx == rs->words)
		return e[w].bits;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (e[mid].w < w)
			lo = mid + 1;
		else
			hi = mid;
	}
	return bs->base[w] ^ (lo < cr->nx && e[lo].w == w ? e[lo].bits : 0);
}

bool ruleset_match_all(const struct fwd_ruleset *rs, const struct fwd_key *k, uint64_t *out)
{
	struct lookup l;
	uint64_t any = 0;

	lookup_fill(&l, rs, k);
	for (uint32_t w = 0; w < rs->words; w++) {
		if (w + 1 < rs->words || !(rs->nrules % 64))
			out[w] = rs->nrules ? ~0ull : 0;
		else
			out[w] = (1ull << (rs->nrules % 64)) - 1;
		for (unsigned f = 0; f < l.n; f++)
			out[w] &= probe(&l.v[f], w);
		any |= out[w];
	}
	return any != 0;
}
