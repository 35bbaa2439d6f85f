// SPDX-License-Identifier: MIT
/*
 * subtable.c - the per-port tables of a compiled rule table (table.h: sub),
 * built by compile.c on its way (start-up, reload, `fwd check`), read by
 * classify_sub() in classify.c.
 *
 * A port is seldom named by many rules. So each dport class (the ports the
 * same rules accept) that few rules accept -- those naming one of its ports
 * and those naming no dport -- gets those rules as a table of their own: for
 * every other field a word per value, bit i for the class's i-th rule, and
 * the lookup is one word per field, ANDed, as for a table of up to 64 rules.
 * A field's values are cut into the intervals of the class's own few rules
 * only, so its list is short. Each record is as large as its class needs:
 * its lists as long as its own intervals (rounded up to a power of two),
 * room for its own rules. At 100,000 rules that is 7.3 MiB of records
 * where lists padded to one length took 29, so a lookup's record is more
 * often in the cache. The search of a list still takes the same steps in
 * every record (classify.c: sub_word()): as many as the field's longest list
 * needs. The words are as wide, and a field's lists as long, as SUB_FIT_PCT
 * of the classes need (8 bits at 10,000 rules of one port each). A class
 * with more rules than a word has bits (a port many rules name) or a longer
 * list (above SUB_LIST_MAX at most: a blocklist's rule) has no record and
 * keeps the candidate path, and so does every class when the records would
 * take more than SUB_MAX_BYTES, or building them would sweep more than
 * SUB_MAX_EVENTS range ends.
 *
 * The lists come from the rules' own ranges (as subtable_source() copied
 * them), one sweep per class and field;
 * the proto and interface words from those fields' classes as interned
 * (bvset_word()), so this runs before sparsify() recodes them, while the
 * value tables still hold class numbers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fwd/icmp.h"
#include "fwd/table.h"

#define SUB_MAX_BYTES	(64u << 20)	/* all records: 100,000 rules take 7.3 MiB */
#define SUB_ALIGN	64
#define SUB_MAX_EVENTS	(1u << 24)	/* range ends swept, all classes and fields */
#define SUB_LIST_MAX	128u		/* intervals in one list; a longer one has no record */

struct sub_ev {
	fwd_u128 at;
	int delta;		/* +1 where a range starts, -1 past its end */
	uint32_t i;		/* the rule's place in its class */
};

/*
 * What subtable_build() reads of the rules, copied out of them
 * (subtable_source()) so that a reload can free the converted rules before
 * the records are built beside the running table: per list field, each
 * rule's ranges end to end and where they start. A rule with more ranges in
 * a field than a class may hold in all (a blocklist's) keeps none, only
 * SUB_SRC_LONG: its class gets no record anyway.
 */
struct sub_col {
	uint32_t *off;			/* rule r's ranges: [off[r], off[r + 1]) */
	void *rng;			/* fwd_a4range, fwd_a6range or fwd_prange */
};
struct sub_src {
	uint16_t *named;		/* per rule: bit f when it names list field f, */
#define SUB_SRC_LONG(f)	(1u << (8 + (f)))	/* and this when it has too many */
	struct sub_col col[5];
};

struct sub_ctx {
	const struct sub_src *s;
	uint32_t rules[64], k;		/* the class's rules */
	struct sub_ev *ev;		/* scratch */
	size_t evcap;
	fwd_u128 *at;			/* one list: starts */
	uint64_t *w;			/*            and words */
	size_t cap;
	size_t swept;			/* range ends so far */
	uint32_t *base, nbase;		/* the nonzero words of the dport classes' base */
	uint32_t kmax;			/* the rules a record may hold: the words' bits */
	uint8_t lgmax[5];		/* list F's longest in a record, log2 */
};

static const struct {
	uint32_t bit;
	bool v6, dst, port;
	fwd_u128 max;
} sub_list_f[5] = {
	[FWD_SUB_SRC4] = { FWD_F_SRC, false, false, false, 0xffffffffu },
	[FWD_SUB_SRC6] = { FWD_F_SRC, true, false, false, ~(fwd_u128)0 },
	[FWD_SUB_DST4] = { FWD_F_DST, false, true, false, 0xffffffffu },
	[FWD_SUB_DST6] = { FWD_F_DST, true, true, false, ~(fwd_u128)0 },
	[FWD_SUB_SPORT] = { FWD_F_SPORT, false, false, true, FWD_SPORT_MAX },
};

static int sub_ev_cmp(const void *a, const void *b)
{
	const struct sub_ev *x = a, *y = b;

	return x->at < y->at ? -1 : x->at > y->at;
}

static int sub_ev_add(struct sub_ctx *x, size_t *n, fwd_u128 at, int delta, uint32_t i)
{
	if (*n == x->evcap) {
		size_t cap = x->evcap ? 2 * x->evcap : 256;
		struct sub_ev *ev = realloc(x->ev, cap * sizeof(*ev));

		if (!ev)
			return -ENOMEM;
		x->ev = ev;
		x->evcap = cap;
	}
	x->ev[(*n)++] = (struct sub_ev){ at, delta, i };
	return 0;
}

/* Range R of RULE in list field F, and how many it has (above 2 * SUB_LIST_MAX: too many). */
static uint32_t sub_range(const struct sub_src *s, int f, uint32_t rule, uint32_t r,
			  fwd_u128 *lo, fwd_u128 *hi)
{
	const struct sub_col *col = &s->col[f];
	uint32_t at = col->off[rule], n = col->off[rule + 1] - at;

	if (s->named[rule] & SUB_SRC_LONG(f))
		return 2 * SUB_LIST_MAX + 1;
	if (r >= n)
		return n;
	if (sub_list_f[f].port) {
		*lo = ((const struct fwd_prange *)col->rng)[at + r].lo;
		*hi = ((const struct fwd_prange *)col->rng)[at + r].hi;
	} else if (sub_list_f[f].v6) {
		*lo = ((const struct fwd_a6range *)col->rng)[at + r].lo;
		*hi = ((const struct fwd_a6range *)col->rng)[at + r].hi;
	} else {
		*lo = ((const struct fwd_a4range *)col->rng)[at + r].lo;
		*hi = ((const struct fwd_a4range *)col->rng)[at + r].hi;
	}
	return n;
}

/* Rule I's ranges in list field F as events; ALWAYS gets its bit if it names no F. */
static int sub_rule_events(struct sub_ctx *x, int f, uint32_t i, size_t *n, uint64_t *always)
{
	uint32_t rule = x->rules[i];
	fwd_u128 lo = 0, hi = 0;
	int err = 0;

	if (!(x->s->named[rule] & 1u << f)) {
		*always |= 1ull << i;
		return 0;
	}
	for (uint32_t r = 0; r < sub_range(x->s, f, rule, r, &lo, &hi) && !err; r++) {
		err = sub_ev_add(x, n, lo, +1, i);
		if (!err && hi < sub_list_f[f].max)
			err = sub_ev_add(x, n, hi + 1, -1, i);
	}
	return err;
}

/* The class's intervals of list field F into x->at / x->w; their count, or < 0. */
static long sub_list(struct sub_ctx *x, int f)
{
	uint64_t always = 0, word;
	int cnt[64] = { 0 };
	size_t n = 0, m = 0;
	int err = 0;

	/* A class holding a blocklist's rule would sweep the whole list, for no record. */
	for (uint32_t i = 0; i < x->k; i++) {
		fwd_u128 lo, hi;

		n += sub_range(x->s, f, x->rules[i], UINT32_MAX, &lo, &hi);
	}
	if (n > 2 * SUB_LIST_MAX)
		return SUB_LIST_MAX + 1;
	n = 0;
	for (uint32_t i = 0; i < x->k && !err; i++)
		err = sub_rule_events(x, f, i, &n, &always);
	if (err)
		return err;
	x->swept += n;
	if (x->swept > SUB_MAX_EVENTS)
		return -E2BIG;
	if (n)
		qsort(x->ev, n, sizeof(*x->ev), sub_ev_cmp);
	if (x->cap < n + 1) {
		fwd_u128 *at = realloc(x->at, (n + 1) * sizeof(*at));
		uint64_t *w = at ? realloc(x->w, (n + 1) * sizeof(*w)) : NULL;

		if (at)
			x->at = at;
		if (!w)
			return -ENOMEM;
		x->w = w;
		x->cap = n + 1;
	}
	for (size_t e = 0;;) {
		fwd_u128 at = m ? x->ev[e].at : 0;

		for (; e < n && x->ev[e].at == at; e++)
			cnt[x->ev[e].i] += x->ev[e].delta;
		word = always;
		for (uint32_t i = 0; i < x->k; i++)
			word |= (uint64_t)(cnt[i] > 0) << i;
		if (!m || x->w[m - 1] != word) {
			x->at[m] = at;
			x->w[m++] = word;
		}
		if (e == n)
			break;
	}
	return (long)m;
}

/* Word W of class C of BS as compile.c interned it (table.h: xoff, xent). */
static uint64_t bvset_word(const struct fwd_bvset *bs, uint32_t c, uint32_t w)
{
	uint32_t lo = bs->xoff[c], hi = bs->xoff[c + 1];

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (bs->xent[mid].w < w)
			lo = mid + 1;
		else
			hi = mid;
	}
	return bs->base[w] ^ (lo < bs->xoff[c + 1] && bs->xent[lo].w == w ? bs->xent[lo].bits : 0);
}

/* Class D's rules: the bits of its dport vector; false when more than 64. */
static bool sub_rules(const struct fwd_ruleset *rs, struct sub_ctx *x, uint32_t d)
{
	const struct fwd_bvset *bs = &rs->f[FWD_FLD_DPORT];
	const struct fwd_xent *e = bs->xent + bs->xoff[d], *end = bs->xent + bs->xoff[d + 1];
	uint32_t j = 0;

	x->k = 0;
	while (e < end || j < x->nbase) {
		uint32_t w = e < end && (j == x->nbase || e->w <= x->base[j]) ? e->w : x->base[j];
		uint64_t m = bs->base[w];

		if (e < end && e->w == w)
			m ^= (e++)->bits;
		if (j < x->nbase && x->base[j] == w)
			j++;
		for (; m; m &= m - 1) {
			if (x->k == 64)
				return false;
			x->rules[x->k++] = w * 64 + (uint32_t)__builtin_ctzll(m);
		}
	}
	return true;
}

static bool sub_uses(const struct fwd_ruleset *rs, int f)
{
	return rs->used & sub_list_f[f].bit;
}

static uint32_t log2_ceil(uint64_t n)
{
	uint32_t b = 0;

	while ((1ull << b) < n)
		b++;
	return b;
}

static size_t align_to(size_t n, size_t a)
{
	return (n + a - 1) & ~(a - 1);
}

/*
 * A class's shape, from sub_measure(): bits 3F..3F+2 the log2 of list F's
 * length (as FWD_SUB_LG() reads it), bits 16.. its rule count; SHAPE_NONE
 * when it can have no record (more than 64 rules, or a list above
 * SUB_LIST_MAX).
 */
#define SHAPE_NONE	UINT32_MAX
#define SHAPE_K(s)	((s) >> 16)

#define SUB_FIT_PCT	99

/* The smallest B such that SUB_FIT_PCT of the N counted in HIST are at most 2^B. */
static uint32_t sub_fit(const uint32_t *hist, uint32_t n)
{
	uint64_t cum = 0;
	uint32_t b = 0;

	while ((cum += hist[b]) * 100 < (uint64_t)n * SUB_FIT_PCT)
		b++;
	return b;
}

/*
 * Every class's shape; the words' width (x->kmax bits, also the most rules a
 * record holds) and each list field's longest list (x->lgmax): the powers
 * of two that SUB_FIT_PCT of the classes fit in. Wider words for the sake of
 * a few classes would make every record larger, and longer lists every
 * search; those few classes keep the candidate path (sub_fits()).
 */
static int sub_measure(struct fwd_ruleset *rs, struct sub_ctx *x, uint32_t *shape)
{
	uint32_t hist[5][8] = { { 0 } }, khist[7] = { 0 }, nsmall = 0, kb;

	for (uint32_t d = 0; d < rs->f[FWD_FLD_DPORT].ncls; d++) {
		uint32_t lg = 0;
		bool fits = true;

		shape[d] = SHAPE_NONE;
		if (!sub_rules(rs, x, d))
			continue;	/* a big class: the candidate path's */
		for (int f = 0; f < 5; f++) {
			long m = sub_uses(rs, f) ? sub_list(x, f) : 0;

			if (m < 0)
				return (int)m;
			fits &= (unsigned long)m <= SUB_LIST_MAX;
			if (fits)
				lg |= log2_ceil((uint64_t)m) << (3 * f);
		}
		if (!fits)
			continue;	/* a long list: the candidate path's */
		khist[log2_ceil(x->k)]++;
		nsmall++;
		shape[d] = lg | x->k << 16;
		for (int f = 0; f < 5; f++)
			hist[f][lg >> (3 * f) & 7]++;
	}
	if (!nsmall)
		return -E2BIG;
	for (int f = 0; f < 5; f++)
		x->lgmax[f] = (uint8_t)sub_fit(hist[f], nsmall);
	/* Words as wide as the rules most records hold, 8 bits at least. */
	kb = sub_fit(khist, nsmall);
	x->kmax = kb < 3 ? 8 : 1u << kb;
	rs->sub_wbytes = x->kmax / 8;
	rs->sub_wmask = x->kmax == 64 ? ~0ull : (1ull << x->kmax) - 1;
	rs->sub_wtop = 1ull << (x->kmax - 1);
	return 0;
}

/* Where the parts every record has go (table.h), the same in each. */
static int sub_layout(struct fwd_ruleset *rs)
{
	size_t wb = rs->sub_wbytes, off = FWD_SUB_WORD0 + wb;

	rs->sub_off[FWD_SUB_PROTO] = (uint32_t)off;
	off += (rs->used & FWD_F_PROTO ? rs->f[FWD_FLD_PROTO].ncls : 0) * wb;
	rs->sub_off[FWD_SUB_IN] = (uint32_t)off;
	off += (rs->used & FWD_F_IN ? rs->f[FWD_FLD_IN].ncls : 0) * wb;
	/* Room for every list at its longest: a record's offsets are 16 bits. */
	if (off > UINT16_MAX / 2)
		return -E2BIG;
	rs->sub_lists = (uint32_t)off;
	return 0;
}

/* The bytes of one interval start of list field F. */
static size_t sub_es(int f)
{
	return sub_list_f[f].v6 ? sizeof(fwd_u128) : sizeof(uint32_t);
}

/*
 * List field F of shape SHAPE at OFF into *H; returns the offset past it.
 * A list of one interval keeps only its word: its one start (0) is never
 * looked at, as a step of the search moves by I & 0 = 0 whatever it reads
 * (classify.c: sub_word()), so the list "starts" one start's bytes before
 * the word, over what comes before it in the record.
 */
static size_t sub_place(const struct fwd_ruleset *rs, uint32_t shape, int f, size_t off,
			struct fwd_sub_hdr *h)
{
	uint32_t lg = shape >> (3 * f) & 7;
	size_t es = sub_es(f);

	if (!sub_uses(rs, f))
		return off;
	if (lg == 0) {
		size_t at = off > es ? align_to(off - es, 8) : 0;

		h->off[f] = (uint16_t)at;
		return at + es + rs->sub_wbytes;
	}
	off = align_to(off, 8);
	h->off[f] = (uint16_t)(off | lg);
	return off + ((size_t)1 << lg) * (es + rs->sub_wbytes);
}

/*
 * The head of a record of shape SHAPE, and the record's size. What an IPv4
 * packet reads comes first and together, the rule numbers after it and the
 * IPv6 lists last, so that an IPv4 lookup touches as few cache lines as the
 * record allows.
 */
static size_t sub_head(const struct fwd_ruleset *rs, uint32_t shape, struct fwd_sub_hdr *h)
{
	size_t off = rs->sub_lists;

	memset(h, 0, sizeof(*h));
	off = sub_place(rs, shape, FWD_SUB_SRC4, off, h);
	off = sub_place(rs, shape, FWD_SUB_DST4, off, h);
	off = sub_place(rs, shape, FWD_SUB_SPORT, off, h);
	h->rules = (uint16_t)(off = align_to(off, 4));
	off += SHAPE_K(shape) * sizeof(uint32_t);
	off = sub_place(rs, shape, FWD_SUB_SRC6, off, h);
	off = sub_place(rs, shape, FWD_SUB_DST6, off, h);
	return align_to(off, FWD_SUB_UNIT);
}

/* Word number I of a record's word array at P (little-endian, sub_wbytes wide). */
static void sub_put_word(const struct fwd_ruleset *rs, uint8_t *p, size_t i, uint64_t w)
{
	memcpy(p + i * rs->sub_wbytes, &w, rs->sub_wbytes);
}

/* Class D's rules' words of a small field: bit i of word C is rule i's bit in class C. */
static void sub_small(const struct fwd_ruleset *rs, const struct sub_ctx *x, int fld, uint8_t *out)
{
	const struct fwd_bvset *bs = &rs->f[fld];

	for (uint32_t c = 0; c < bs->ncls; c++) {
		uint64_t w = 0;

		for (uint32_t i = 0; i < x->k; i++)
			w |= (bvset_word(bs, c, x->rules[i] / 64) >> (x->rules[i] % 64) & 1) << i;
		sub_put_word(rs, out, c, w);
	}
}

/*
 * List F of the class in x (sub_list() just ran, M intervals) into record
 * REC, padded; of one interval only the word (sub_place()).
 */
static void sub_put_list(const struct fwd_ruleset *rs, const struct sub_ctx *x, int f, size_t m,
			 uint8_t *rec)
{
	const struct fwd_sub_hdr *h = (const struct fwd_sub_hdr *)rec;
	size_t len = (size_t)1 << FWD_SUB_LG(h, f), es = sub_es(f);
	uint8_t *at = rec + FWD_SUB_AT(h, f), *w = at + len * es;

	for (size_t e = 0; e < len; e++) {
		fwd_u128 v = e < m ? x->at[e] : sub_list_f[f].max;
		uint32_t v4 = (uint32_t)v;

		if (len > 1)
			memcpy(at + e * es, sub_list_f[f].v6 ? (const void *)&v : (const void *)&v4, es);
		sub_put_word(rs, w, e, x->w[e < m ? e : m - 1]);
	}
}

/* Class D's record, of shape SHAPE, into REC; 0 or < 0. */
static int sub_record(struct fwd_ruleset *rs, struct sub_ctx *x, uint32_t d, uint32_t shape,
		      uint8_t *rec)
{
	struct fwd_sub_hdr h;

	sub_head(rs, shape, &h);
	memcpy(rec, &h, sizeof(h));
	if (!sub_rules(rs, x, d) || x->k != SHAPE_K(shape))
		return -EINVAL;		/* not the class sub_measure() saw */
	for (int f = 0; f < 5; f++) {
		long m = sub_uses(rs, f) ? sub_list(x, f) : 0;

		if (m < 0)
			return (int)m;
		if (m && log2_ceil((uint64_t)m) != FWD_SUB_LG(&h, f))
			return -EINVAL;
		if (m)
			sub_put_list(rs, x, f, (size_t)m, rec);
	}
	sub_put_word(rs, rec + FWD_SUB_WORD0, 0, x->k == 64 ? ~0ull : (1ull << x->k) - 1);
	memcpy(rec + h.rules, x->rules, x->k * sizeof(uint32_t));
	if (rs->used & FWD_F_PROTO)
		sub_small(rs, x, FWD_FLD_PROTO, rec + rs->sub_off[FWD_SUB_PROTO]);
	if (rs->used & FWD_F_IN)
		sub_small(rs, x, FWD_FLD_IN, rec + rs->sub_off[FWD_SUB_IN]);
	return 0;
}

/*
 * Whether a class of shape SHAPE gets a record: its rules fit a word, and
 * its lists the lengths SUB_FIT_PCT of the classes fit in (the search takes
 * as many steps as the table's longest list of a field needs).
 */
static bool sub_fits(const struct sub_ctx *x, uint32_t shape)
{
	if (shape == SHAPE_NONE || SHAPE_K(shape) > x->kmax)
		return false;
	for (int f = 0; f < 5; f++)
		if ((shape >> (3 * f) & 7) > x->lgmax[f])
			return false;
	return true;
}

/*
 * Where each class's record goes (REC_OF[d], in FWD_SUB_UNIT steps, or
 * FWD_SUB_NONE), and the records' bytes; those of the classes whose words
 * are too narrow for their rules have none.
 */
static int sub_place_all(struct fwd_ruleset *rs, const struct sub_ctx *x, const uint32_t *shape,
			 uint32_t *rec_of, size_t *bytes)
{
	struct fwd_sub_hdr h;
	size_t at = 0;

	rs->sub_nrec = 0;
	memset(rs->sub_top, 0, sizeof(rs->sub_top));
	for (uint32_t d = 0; d < rs->f[FWD_FLD_DPORT].ncls; d++) {
		rec_of[d] = FWD_SUB_NONE;
		if (!sub_fits(x, shape[d]))
			continue;
		rec_of[d] = (uint32_t)(at / FWD_SUB_UNIT);
		at += sub_head(rs, shape[d], &h);
		for (int f = 0; f < 5; f++)
			if (rs->sub_top[f] < (1u << FWD_SUB_LG(&h, f)) / 2)
				rs->sub_top[f] = (1u << FWD_SUB_LG(&h, f)) / 2;
		rs->sub_nrec++;
		if (at > SUB_MAX_BYTES)
			return -E2BIG;
	}
	/* A word is read as 8 bytes, and a miss reads rule number kmax - 1. */
	*bytes = align_to(at + 8 + x->kmax * sizeof(uint32_t), SUB_ALIGN);
	return 0;
}

/* Every record into rs->sub, where REC_OF says. */
static int sub_fill(struct fwd_ruleset *rs, struct sub_ctx *x, const uint32_t *shape,
		    const uint32_t *rec_of)
{
	int err = 0;

	for (uint32_t d = 0; d < rs->f[FWD_FLD_DPORT].ncls && !err; d++)
		if (rec_of[d] != FWD_SUB_NONE)
			err = sub_record(rs, x, d, shape[d],
					 rs->sub + (size_t)rec_of[d] * FWD_SUB_UNIT);
	return err;
}

/* List field F's ranges of rule RU, and how many. */
static uint32_t rule_ranges(const struct fwd_rule *ru, int f, const void **rng, size_t *size)
{
	const struct fwd_addrset *as = sub_list_f[f].dst ? &ru->dst : &ru->src;

	if (sub_list_f[f].port) {
		*rng = ru->sport.r;
		*size = sizeof(*ru->sport.r);
		return ru->sport.n;
	}
	*rng = sub_list_f[f].v6 ? (const void *)as->v6 : (const void *)as->v4;
	*size = sub_list_f[f].v6 ? sizeof(*as->v6) : sizeof(*as->v4);
	return sub_list_f[f].v6 ? as->n6 : as->n4;
}

/* Column F of S from C's rules: two passes, the count then the copy. */
static int sub_column(struct sub_src *s, const struct fwd_config *c, int f)
{
	struct sub_col *col = &s->col[f];
	size_t total = 0, size = 0;
	const void *rng;

	col->off = malloc(((size_t)c->nrules + 1) * sizeof(*col->off));
	if (!col->off)
		return -ENOMEM;
	for (uint32_t r = 0; r < c->nrules; r++) {
		uint32_t n = rule_ranges(&c->rules[r], f, &rng, &size);

		col->off[r] = (uint32_t)total;
		if (!(c->rules[r].present & sub_list_f[f].bit))
			continue;
		s->named[r] |= (uint16_t)(1u << f);
		if (n > 2 * SUB_LIST_MAX)
			s->named[r] |= (uint16_t)SUB_SRC_LONG(f);
		else if ((total += n) > UINT32_MAX)
			return -E2BIG;
	}
	col->off[c->nrules] = (uint32_t)total;
	col->rng = malloc(total ? total * size : 1);
	if (!col->rng)
		return -ENOMEM;
	for (uint32_t r = 0; r < c->nrules; r++) {
		uint32_t n = col->off[r + 1] - col->off[r];

		if (n) {
			rule_ranges(&c->rules[r], f, &rng, &size);
			memcpy((char *)col->rng + (size_t)col->off[r] * size, rng, n * size);
		}
	}
	return 0;
}

struct sub_src *subtable_source(const struct fwd_config *c)
{
	struct sub_src *s = calloc(1, sizeof(*s));
	int err = s ? 0 : -ENOMEM;

	if (!err) {
		s->named = calloc(c->nrules ? c->nrules : 1, sizeof(*s->named));
		err = s->named ? 0 : -ENOMEM;
	}
	for (int f = 0; f < 5 && !err; f++)
		err = sub_column(s, c, f);
	if (err) {
		subtable_source_free(s);
		errno = -err;
		return NULL;
	}
	return s;
}

void subtable_source_free(struct sub_src *s)
{
	if (!s)
		return;
	for (int f = 0; f < 5; f++) {
		free(s->col[f].off);
		free(s->col[f].rng);
	}
	free(s->named);
	free(s);
}

/* Build rs->sub, or leave it NULL (no dport, or too large: see the top). */
int subtable_build(struct fwd_ruleset *rs, const struct sub_src *s)
{
	uint32_t ncls = rs->f[FWD_FLD_DPORT].ncls;
	struct sub_ctx x = { .s = s };
	uint32_t *rec_of, *shape;
	size_t bytes = 0;
	int err;

	if (!(rs->used & FWD_F_DPORT))
		return 0;
	rec_of = malloc(ncls * sizeof(*rec_of));
	shape = malloc(ncls * sizeof(*shape));
	x.base = malloc(rs->words * sizeof(*x.base));
	err = rec_of && shape && x.base ? 0 : -ENOMEM;
	for (uint32_t w = 0; w < rs->words && !err; w++)
		if (rs->f[FWD_FLD_DPORT].base[w])
			x.base[x.nbase++] = w;
	if (!err)
		err = sub_measure(rs, &x, shape);
	if (!err)
		err = sub_layout(rs);
	if (!err)
		err = sub_place_all(rs, &x, shape, rec_of, &bytes);
	if (!err) {
		rs->sub = aligned_alloc(SUB_ALIGN, bytes);
		rs->sub_rec = malloc(FWD_NPORTS * sizeof(*rs->sub_rec));
		err = rs->sub && rs->sub_rec ? 0 : -ENOMEM;
	}
	if (!err) {
		memset(rs->sub, 0, bytes);
		x.swept = 0;
		err = sub_fill(rs, &x, shape, rec_of);
	}
	if (!err) {
		for (uint32_t p = 0; p < FWD_NPORTS; p++)
			rs->sub_rec[p] = rec_of[rs->dport_cls[p]];
		for (int p = 0; p < 256; p++)
			rs->sub_pcls[p] = (uint8_t)rs->proto_cls[p];
		rs->sub_bytes = bytes;
		rs->mem += bytes + FWD_NPORTS * sizeof(*rs->sub_rec);
	}
	free(x.ev);
	free(x.at);
	free(x.w);
	free(x.base);
	free(rec_of);
	free(shape);
	if (err) {
		free(rs->sub);
		free(rs->sub_rec);
		rs->sub = NULL;
		rs->sub_rec = NULL;
	}
	return err == -E2BIG ? 0 : err;
}
