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
 * only, so its list is short. Every class's list of a field is padded to one
 * power-of-two length, the one SUB_FIT_PCT of the classes fit in, so that
 * every search takes the same steps; the words are as wide as SUB_FIT_PCT of
 * the classes need (8 bits at 10,000 rules of one port each, which halves
 * the records). A class with more rules than a word has bits (a port many
 * rules name) or a longer list (above SUB_LIST_MAX: a blocklist's rule) has
 * no record and keeps the candidate path, and so does every class when the
 * records would take more than SUB_MAX_BYTES, or building them would sweep
 * more than SUB_MAX_EVENTS range ends. At 100,000 rules the records take
 * 30-45 MiB and a lookup is about twice as fast with them as without.
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

#define SUB_MAX_BYTES	(64u << 20)	/* all records: 100,000 rules take 30-45 MiB */
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

/* Entries of list field F in every record: a power of two (sub_measure()), or 1. */
static size_t sub_len(const struct fwd_ruleset *rs, int f)
{
	if (!sub_uses(rs, f))
		return 0;
	return rs->sub_half[f] ? 2 * (size_t)rs->sub_half[f] : 1;
}

static uint32_t log2_ceil(uint64_t n)
{
	uint32_t b = 0;

	while ((1ull << b) < n)
		b++;
	return b;
}

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
 * Each list field's length (as sub_half) and the words' width (*KMAX bits,
 * also the room for rule numbers): the powers of two that SUB_FIT_PCT of
 * the classes fit in. Padding every record to the longest list and the most
 * rules would make the records (and the cache lines a lookup touches) larger
 * for the sake of a few classes; those few keep the candidate path instead
 * (sub_record()).
 */
static int sub_measure(struct fwd_ruleset *rs, struct sub_ctx *x, uint32_t *kmax)
{
	uint32_t hist[5][34] = { { 0 } }, khist[7] = { 0 }, nsmall = 0, kb;

	for (uint32_t d = 0; d < rs->f[FWD_FLD_DPORT].ncls; d++) {
		uint32_t lb[5];
		bool fits = true;

		if (!sub_rules(rs, x, d))
			continue;	/* a big class: the candidate path's */
		for (int f = 0; f < 5; f++) {
			long m = sub_uses(rs, f) ? sub_list(x, f) : 0;

			if (m < 0)
				return (int)m;
			fits &= (unsigned long)m <= SUB_LIST_MAX;
			lb[f] = log2_ceil((uint64_t)m);
		}
		if (!fits)
			continue;	/* a long list: the candidate path's */
		khist[log2_ceil(x->k)]++;
		nsmall++;
		for (int f = 0; f < 5; f++)
			hist[f][lb[f]]++;
	}
	if (!nsmall)
		return -E2BIG;
	for (int f = 0; f < 5; f++)
		rs->sub_half[f] = (1u << sub_fit(hist[f], nsmall)) / 2;
	/* Words as wide as the rules most records hold, 8 bits at least. */
	kb = sub_fit(khist, nsmall);
	*kmax = kb < 3 ? 8 : 1u << kb;
	rs->sub_wbytes = *kmax / 8;
	rs->sub_wmask = *kmax == 64 ? ~0ull : (1ull << *kmax) - 1;
	rs->sub_wtop = 1ull << (*kmax - 1);
	return 0;
}

static size_t align_to(size_t n, size_t a)
{
	return (n + a - 1) & ~(a - 1);
}

/* List field F's starts and words at OFF (aligned); returns the offset past them. */
static size_t sub_place(struct fwd_ruleset *rs, int f, size_t off)
{
	size_t len = sub_len(rs, f);

	off = align_to(off, sub_list_f[f].v6 ? 16 : 4);
	rs->sub_off[f] = (uint32_t)off;
	off += len * (sub_list_f[f].v6 ? sizeof(fwd_u128) : sizeof(uint32_t));
	rs->sub_woff[f] = (uint32_t)off;
	return off + len * rs->sub_wbytes;
}

/*
 * Where each part of a record goes (table.h), and the record's size, for
 * NREC records. What an IPv4 packet reads comes first and together, the
 * rule numbers after it and the IPv6 lists last, so that an IPv4 lookup
 * touches as few cache lines as the record allows.
 */
static int sub_layout(struct fwd_ruleset *rs, uint32_t kmax, uint32_t nrec)
{
	size_t wb = rs->sub_wbytes, off = wb;

	rs->sub_off[FWD_SUB_PROTO] = (uint32_t)off;
	off += (rs->used & FWD_F_PROTO ? rs->f[FWD_FLD_PROTO].ncls : 0) * wb;
	rs->sub_off[FWD_SUB_IN] = (uint32_t)off;
	off += (rs->used & FWD_F_IN ? rs->f[FWD_FLD_IN].ncls : 0) * wb;
	off = sub_place(rs, FWD_SUB_SRC4, off);
	off = sub_place(rs, FWD_SUB_DST4, off);
	off = sub_place(rs, FWD_SUB_SPORT, off);
	rs->sub_off[FWD_SUB_RULES] = (uint32_t)(off = align_to(off, 4));
	off += kmax * sizeof(uint32_t);
	off = sub_place(rs, FWD_SUB_SRC6, off);
	off = sub_place(rs, FWD_SUB_DST6, off);
	/* A word is read as 8 bytes and masked: the last may not end the record. */
	off = align_to(off + 8, SUB_ALIGN);
	if ((uint64_t)off * nrec > SUB_MAX_BYTES)
		return -E2BIG;
	rs->sub_size = (uint32_t)off;
	return 0;
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

/* List F of the class in x (sub_list() just ran) into record REC, padded. */
static void sub_put_list(const struct fwd_ruleset *rs, const struct sub_ctx *x, int f, size_t m,
			 uint8_t *rec)
{
	size_t len = sub_len(rs, f);

	for (size_t e = 0; e < len; e++) {
		fwd_u128 at = e < m ? x->at[e] : sub_list_f[f].max;

		if (sub_list_f[f].v6)
			((fwd_u128 *)(rec + rs->sub_off[f]))[e] = at;
		else
			((uint32_t *)(rec + rs->sub_off[f]))[e] = (uint32_t)at;
		sub_put_word(rs, rec + rs->sub_woff[f], e, x->w[e < m ? e : m - 1]);
	}
}

/*
 * Class D's record into REC: 1, or 0 when it has none (more rules than a
 * word has bits, or one of the few long lists), or < 0.
 */
static int sub_record(struct fwd_ruleset *rs, struct sub_ctx *x, uint32_t d, uint8_t *rec)
{
	if (!sub_rules(rs, x, d) || x->k > rs->sub_wbytes * 8)
		return 0;
	for (int f = 0; f < 5; f++) {
		long m = sub_uses(rs, f) ? sub_list(x, f) : 0;

		if (m < 0)
			return (int)m;
		if ((size_t)m > sub_len(rs, f))
			return 0;
		if (m)
			sub_put_list(rs, x, f, (size_t)m, rec);
	}
	sub_put_word(rs, rec, 0, x->k == 64 ? ~0ull : (1ull << x->k) - 1);
	memcpy(rec + rs->sub_off[FWD_SUB_RULES], x->rules, x->k * sizeof(uint32_t));
	if (rs->used & FWD_F_PROTO)
		sub_small(rs, x, FWD_FLD_PROTO, rec + rs->sub_off[FWD_SUB_PROTO]);
	if (rs->used & FWD_F_IN)
		sub_small(rs, x, FWD_FLD_IN, rec + rs->sub_off[FWD_SUB_IN]);
	return 1;
}

/* Every class's record, numbered in order; REC_OF[d] is class d's, or FWD_SUB_NONE. */
static int sub_fill(struct fwd_ruleset *rs, struct sub_ctx *x, uint16_t *rec_of)
{
	for (uint32_t d = 0; d < rs->f[FWD_FLD_DPORT].ncls; d++) {
		uint8_t *rec = rs->sub + (size_t)rs->sub_nrec * rs->sub_size;
		int ok = sub_record(rs, x, d, rec);

		if (ok < 0)
			return ok;
		rec_of[d] = ok ? (uint16_t)rs->sub_nrec++ : FWD_SUB_NONE;
		if (!ok)
			memset(rec, 0, rs->sub_size);	/* what a long list left */
	}
	return 0;
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
	uint32_t ncls = rs->f[FWD_FLD_DPORT].ncls, kmax = 64;
	struct sub_ctx x = { .s = s };
	uint16_t *rec_of;
	size_t bytes = 0;
	int err;

	/* compile.c allows 65,535 port classes: a record number is below FWD_SUB_NONE. */
	if (!(rs->used & FWD_F_DPORT) || ncls > FWD_SUB_NONE)
		return 0;
	rec_of = calloc(ncls, sizeof(*rec_of));
	x.base = malloc(rs->words * sizeof(*x.base));
	err = rec_of && x.base ? 0 : -ENOMEM;
	for (uint32_t w = 0; w < rs->words && !err; w++)
		if (rs->f[FWD_FLD_DPORT].base[w])
			x.base[x.nbase++] = w;
	if (!err)
		err = sub_measure(rs, &x, &kmax);
	if (!err)
		err = sub_layout(rs, kmax, ncls);
	if (!err) {
		bytes = (size_t)rs->sub_size * ncls;
		rs->sub = aligned_alloc(SUB_ALIGN, bytes);
		rs->sub_rec = malloc(FWD_NPORTS * sizeof(*rs->sub_rec));
		err = rs->sub && rs->sub_rec ? 0 : -ENOMEM;
	}
	if (!err) {
		memset(rs->sub, 0, bytes);
		x.swept = 0;
		rs->sub_nrec = 0;
		err = sub_fill(rs, &x, rec_of);
	}
	if (!err) {
		for (uint32_t p = 0; p < FWD_NPORTS; p++)
			rs->sub_rec[p] = rec_of[rs->dport_cls[p]];
		for (int p = 0; p < 256; p++)
			rs->sub_pcls[p] = (uint8_t)rs->proto_cls[p];
		rs->mem += bytes + FWD_NPORTS * sizeof(*rs->sub_rec);
	}
	free(x.ev);
	free(x.at);
	free(x.w);
	free(x.base);
	free(rec_of);
	if (err) {
		free(rs->sub);
		free(rs->sub_rec);
		rs->sub = NULL;
		rs->sub_rec = NULL;
	}
	return err == -E2BIG ? 0 : err;
}
