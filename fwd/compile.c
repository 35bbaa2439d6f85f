// SPDX-License-Identifier: MIT
/*
 * compile.c - struct fwd_config -> the immutable table classify() reads.
 *
 * Runs off the packet path (start-up, reload, `fwd check`). The table layout
 * and the reasons for it are described at the top of classify.c. Each field
 * is built by one sweep over its value domain: a range of a rule switches the
 * rule's bit on where it starts and off past its end. The vector being swept
 * is kept as its XOR with a reference (the rules in force over most of the
 * domain) and hashed incrementally, so the cost is the number of ranges plus
 * the words that differ from the reference, not rules times intervals, and
 * a class is stored as those words: 100,000 rules compile in linear memory.
 * Identical vectors are interned into one class. subtable_build()
 * (fwd/subtable.c) makes the per-port tables from those classes and a copy
 * of the rules' ranges (subtable_source(), so that ruleset_compile_lean()
 * can free the rules first); sparsify() then recodes every field's classes as exceptions
 * to a shared base (the rules most of its classes hold) plus per-class home
 * bits.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "fwd/hash.h"
#include "fwd/icmp.h"
#include "fwd/table.h"

/*
 * Distinct bit vectors of one field, found by hashing. A vector is kept as
 * its XOR with a reference vector REF, sparsely: the words where it differs.
 * The vector being added lives in D with the list of its nonzero words and
 * a hash that is the XOR of one term per nonzero word, so that a sweep that
 * flips a few bits between two intervals pays for those bits, not for the
 * whole vector (rules / 64 words), and a class costs its differing words.
 */
struct interner {
	uint32_t words;
	uint64_t *ref;		/* words; owned until interner_finish() */
	uint32_t n, cap;
	uint32_t *off;		/* cap + 1: class I is ent[off[I] .. off[I + 1]) */
	uint64_t *hv;		/* cap: each class's hash */
	struct fwd_xent *ent;
	size_t nent, entcap;
	uint32_t *htab;		/* class id + 1, 0 = empty */
	uint32_t hmask;
	uint64_t *d;		/* words: the vector being added, XOR ref */
	uint32_t *pos;		/* words: place of a word in nz, or UINT32_MAX */
	uint32_t *nz;		/* the nonzero words of d, unordered */
	uint32_t nnz;
	uint64_t h;		/* hash of d */
};

static uint64_t word_hash(uint32_t w, uint64_t v)
{
	return hash_mix(v ^ ((uint64_t)w + 1) * 0x9e3779b97f4a7c15ull);
}

/* REF NULL: the zero vector. */
static int interner_init(struct interner *in, uint32_t words, const uint64_t *ref)
{
	memset(in, 0, sizeof(*in));
	in->words = words;
	in->hmask = 255;
	in->htab = calloc(in->hmask + 1, sizeof(*in->htab));
	in->ref = calloc(words, sizeof(*in->ref));
	in->d = calloc(words, sizeof(*in->d));
	in->pos = malloc(words * sizeof(*in->pos));
	in->nz = calloc(words, sizeof(*in->nz));	/* zeroed: scan-build cannot see that only nz[0..nnz) is read */
	in->off = calloc(1, sizeof(*in->off));
	in->entcap = 16;	/* never NULL, even when no class differs from ref */
	in->ent = malloc(in->entcap * sizeof(*in->ent));
	if (!in->htab || !in->ref || !in->d || !in->pos || !in->nz || !in->off || !in->ent)
		return -ENOMEM;
	if (ref)
		memcpy(in->ref, ref, words * sizeof(*ref));
	memset(in->pos, 0xff, words * sizeof(*in->pos));
	return 0;
}

static void interner_free(struct interner *in)
{
	free(in->ref);
	free(in->off);
	free(in->hv);
	free(in->ent);
	free(in->htab);
	free(in->d);
	free(in->pos);
	free(in->nz);
	memset(in, 0, sizeof(*in));
}

/* Word W of the vector being added becomes V (XOR ref). */
static void in_set(struct interner *in, uint32_t w, uint64_t v)
{
	uint64_t old = in->d[w];

	if (old == v)
		return;
	if (old)
		in->h ^= word_hash(w, old);
	if (v)
		in->h ^= word_hash(w, v);
	if (!old) {
		in->pos[w] = in->nnz;
		in->nz[in->nnz++] = w;
	} else if (!v) {
		uint32_t last = in->nz[--in->nnz];

		in->nz[in->pos[w]] = last;
		in->pos[last] = in->pos[w];
		in->pos[w] = UINT32_MAX;
	}
	in->d[w] = v;
}

static inline void in_flip(struct interner *in, uint32_t r)
{
	in_set(in, r / 64, in->d[r / 64] ^ 1ull << (r % 64));
}

static int interner_grow(struct interner *in)
{
	uint32_t nmask = in->hmask * 2 + 1;
	uint32_t *nt = calloc(nmask + 1, sizeof(*nt));

	if (!nt)
		return -ENOMEM;
	for (uint32_t id = 0; id < in->n; id++) {
		uint32_t h = (uint32_t)in->hv[id];

		while (nt[h & nmask])
			h++;
		nt[h & nmask] = id + 1;
	}
	free(in->htab);
	in->htab = nt;
	in->hmask = nmask;
	return 0;
}

static bool in_equal(const struct interner *in, uint32_t id)
{
	if (in->hv[id] != in->h || in->off[id + 1] - in->off[id] != in->nnz)
		return false;
	for (uint32_t e = in->off[id]; e < in->off[id + 1]; e++)
		if (in->d[in->ent[e].w] != in->ent[e].bits)
			return false;
	return true;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int in_room(struct interner *in)
{
	if (in->n == in->cap) {
		uint32_t ncap = in->cap ? in->cap * 2 : 16;
		uint32_t *no = realloc(in->off, (ncap + 1) * sizeof(*no));
		uint64_t *nh = no ? realloc(in->hv, ncap * sizeof(*nh)) : NULL;

		if (no)
			in->off = no;
		if (!nh)
			return -ENOMEM;
		in->hv = nh;
		in->cap = ncap;
	}
	if (in->nent + in->nnz > in->entcap) {
		size_t ncap = (in->nent + in->nnz) * 2 + 64;
		struct fwd_xent *ne = realloc(in->ent, ncap * sizeof(*ne));

		if (!ne)
			return -ENOMEM;
		in->ent = ne;
		in->entcap = ncap;
	}
	return 0;
}

/* Intern the vector being added; *ID its class. */
static int interner_put(struct interner *in, uint32_t *id)
{
	uint32_t h = (uint32_t)in->h, e;
	int err;

	/* An empty table has no entry to compare (and no classes yet). */
	for (; in->n && (e = in->htab[h & in->hmask]); h++) {
		if (in_equal(in, e - 1)) {
			*id = e - 1;
			return 0;
		}
	}
	err = in_room(in);
	if (err)
		return err;
	qsort(in->nz, in->nnz, sizeof(*in->nz), u32_cmp);
	for (uint32_t i = 0; i < in->nnz; i++) {
		in->pos[in->nz[i]] = i;
		in->ent[in->nent++] = (struct fwd_xent){ in->d[in->nz[i]], in->nz[i] };
	}
	in->hv[in->n] = in->h;
	in->off[in->n + 1] = (uint32_t)in->nent;
	in->htab[h & in->hmask] = in->n + 1;
	*id = in->n++;
	if (in->n * 2 > in->hmask)
		return interner_grow(in);
	return 0;
}

static int interner_add(struct interner *in, const uint64_t *v, uint32_t *id)
{
	for (uint32_t w = 0; w < in->words; w++)
		in_set(in, w, v[w] ^ in->ref[w]);
	return interner_put(in, id);
}

/* Hand the classes over; sparsify() recodes them at the end. */
static int interner_finish(struct interner *in, struct fwd_bvset *bs)
{
	bs->ncls = in->n;
	bs->base = in->ref;
	bs->xoff = in->off;
	bs->xent = in->ent;
	in->ref = NULL;
	in->off = NULL;
	in->ent = NULL;
	return 0;
}

/* Class C of BS as a dense vector into OUT. */
static void bvset_dense(const struct fwd_bvset *bs, uint32_t c, uint32_t words, uint64_t *out)
{
	memcpy(out, bs->base, words * sizeof(*out));
	for (uint32_t e = bs->xoff[c]; e < bs->xoff[c + 1]; e++)
		out[bs->xent[e].w] ^= bs->xent[e].bits;
}

/* Shrink an allocation to SZ bytes; keeps P when realloc fails. */
static void *shrink(void *p, size_t sz)
{
	void *n = realloc(p, sz ? sz : 1);

	return n ? n : p;
}

static inline void bit_set(uint64_t *v, uint32_t r)
{
	v[r / 64] |= 1ull << (r % 64);
}

/*
 * One end of a rule's range on a field's value line. Where the values fit
 * in 33 bits (ports, IPv4) an end is one word, so that the ends of 100,000
 * rules and the sort's scratch take a quarter of the memory: the value,
 * then 1 where a range starts (so that an end sorts before a start at the
 * same value), then the rule (EV_RULE_BITS). IPv6 ends are struct event.
 */
struct event {
	fwd_u128 at;
	uint32_t rule;
	int delta;		/* +1 where a range starts, -1 past its end */
};
#define EV_RULE_BITS	30
#define EV_NARROW_MAX	((fwd_u128)1 << 32)	/* the largest value + 1 of a narrow sweep */

struct sweep {
	struct event *ev;	/* wide: IPv6 */
	uint64_t *key;		/* narrow: the rest */
	size_t n, cap;
	fwd_u128 max;		/* largest value of the domain */
	/* output: elementary intervals */
	fwd_u128 *start;
	uint32_t *cls;
	uint32_t nint;
};

static bool sweep_wide(const struct sweep *s)
{
	return s->max >= EV_NARROW_MAX;
}

static fwd_u128 ev_at(const struct sweep *s, size_t i)
{
	return sweep_wide(s) ? s->ev[i].at : s->key[i] >> (EV_RULE_BITS + 1);
}

static uint32_t ev_rule(const struct sweep *s, size_t i)
{
	return sweep_wide(s) ? s->ev[i].rule : (uint32_t)(s->key[i] & ((1u << EV_RULE_BITS) - 1));
}

static int ev_delta(const struct sweep *s, size_t i)
{
	if (sweep_wide(s))
		return s->ev[i].delta;
	return s->key[i] >> EV_RULE_BITS & 1 ? +1 : -1;
}

static void ev_put(struct sweep *s, fwd_u128 at, uint32_t rule, int delta)
{
	if (sweep_wide(s))
		s->ev[s->n++] = (struct event){ at, rule, delta };
	else
		s->key[s->n++] = (uint64_t)at << (EV_RULE_BITS + 1) |
				 (uint64_t)(delta > 0) << EV_RULE_BITS | rule;
}

static int sweep_add(struct sweep *s, uint32_t rule, fwd_u128 lo, fwd_u128 hi)
{
	if (lo > hi)
		return 0;
	if (rule >> EV_RULE_BITS)
		return -E2BIG;
	if (s->n + 2 > s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 64;
		void *ne = sweep_wide(s) ? realloc(s->ev, ncap * sizeof(*s->ev))
					 : realloc(s->key, ncap * sizeof(*s->key));

		if (!ne)
			return -ENOMEM;
		if (sweep_wide(s))
			s->ev = ne;
		else
			s->key = ne;
		s->cap = ncap;
	}
	ev_put(s, lo, rule, +1);
	if (hi < s->max)
		ev_put(s, hi + 1, rule, -1);
	return 0;
}

static int event_cmp(const void *a, const void *b)
{
	const struct event *x = a, *y = b;

	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return x->delta - y->delta;
}

static int key_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void sweep_sort(struct sweep *s)
{
	if (sweep_wide(s))
		qsort(s->ev, s->n, sizeof(*s->ev), event_cmp);
	else
		qsort(s->key, s->n, sizeof(*s->key), key_cmp);
}

/*
 * REF: the rules without the field (BASE) and those in force over more than
 * half of the sweep's positions. Most classes then differ from it in a few
 * words, even where negations make rules hold in almost every interval.
 */
static int sweep_ref(const struct sweep *s, const uint64_t *base, uint32_t nrules,
		     uint32_t words, uint64_t *ref)
{
	uint32_t *cnt = calloc(nrules + 1, sizeof(*cnt));
	uint64_t *since = calloc(nrules + 1, sizeof(*since));
	uint64_t *cov = calloc(nrules + 1, sizeof(*cov));
	uint64_t npos = 0;
	size_t i = 0;
	int err = -ENOMEM;

	if (!cnt || !since || !cov)
		goto out;
	for (fwd_u128 at = 0;; npos++) {
		for (; i < s->n && ev_at(s, i) == at; i++) {
			uint32_t r = ev_rule(s, i);

			if (ev_delta(s, i) > 0 && cnt[r]++ == 0)
				since[r] = npos;
			else if (ev_delta(s, i) < 0 && --cnt[r] == 0)
				cov[r] += npos - since[r];
		}
		if (i >= s->n)
			break;
		at = ev_at(s, i);
	}
	npos++;
	memcpy(ref, base, words * sizeof(*ref));
	for (uint32_t r = 0; r < nrules; r++) {
		if (cnt[r])
			cov[r] += npos - since[r];
		if (2 * cov[r] > npos)
			bit_set(ref, r);
	}
	err = 0;
out:
	free(cnt);
	free(since);
	free(cov);
	return err;
}

/*
 * Walk the sorted events; after each distinct position the current vector
 * (rules without the field, plus rules with a range covering the position)
 * is interned. Equal neighbours are merged. Per-rule counters make
 * overlapping ranges of one rule harmless.
 */
static int sweep_run(struct sweep *s, struct interner *in, const uint64_t *base, uint32_t nrules)
{
	uint32_t *cnt = calloc(nrules + 1, sizeof(*cnt));
	size_t i = 0;
	int err = -ENOMEM;

	s->start = malloc((s->n + 1) * sizeof(*s->start));
	s->cls = malloc((s->n + 1) * sizeof(*s->cls));
	if (!cnt || !s->start || !s->cls)
		goto out;
	for (uint32_t w = 0; w < in->words; w++)
		in_set(in, w, base[w] ^ in->ref[w]);
	s->nint = 0;
	for (fwd_u128 at = 0;;) {
		uint32_t id;

		for (; i < s->n && ev_at(s, i) == at; i++) {
			uint32_t r = ev_rule(s, i);
			bool want = (cnt[r] += (uint32_t)ev_delta(s, i)) != 0;

			want ^= in->ref[r / 64] >> (r % 64) & 1;
			if (want != (in->d[r / 64] >> (r % 64) & 1))
				in_flip(in, r);
		}
		err = interner_put(in, &id);
		if (err)
			goto out;
		if (!s->nint || s->cls[s->nint - 1] != id) {
			s->start[s->nint] = at;
			s->cls[s->nint++] = id;
		}
		if (i >= s->n)
			break;
		at = ev_at(s, i);
	}
	err = 0;
out:
	free(cnt);
	return err;
}

static void sweep_free(struct sweep *s)
{
	free(s->ev);
	free(s->key);
	free(s->start);
	free(s->cls);
	memset(s, 0, sizeof(*s));
}

/* Which parts of a rule a field reads. */
enum fld_src { FS_SPORT, FS_DPORT, FS_SRC4, FS_SRC6, FS_DST4, FS_DST6 };

static int field_events(const struct fwd_config *c, enum fld_src f, struct sweep *s, uint64_t *base)
{
	static const uint32_t bit[] = { FWD_F_SPORT, FWD_F_DPORT, FWD_F_SRC, FWD_F_SRC,
					FWD_F_DST, FWD_F_DST };
	int err = 0;

	for (uint32_t r = 0; r < c->nrules && !err; r++) {
		const struct fwd_rule *ru = &c->rules[r];
		const struct fwd_portset *ps = f == FS_SPORT ? &ru->sport : &ru->dport;
		const struct fwd_addrset *as = f <= FS_SRC6 ? &ru->src : &ru->dst;

		if (!(ru->present & bit[f])) {
			bit_set(base, r);
			continue;
		}
		if (f == FS_SPORT || f == FS_DPORT)
			for (uint32_t k = 0; k < ps->n && !err; k++)
				err = sweep_add(s, r, ps->r[k].lo, ps->r[k].hi);
		else if (f == FS_SRC4 || f == FS_DST4)
			for (uint32_t k = 0; k < as->n4 && !err; k++)
				err = sweep_add(s, r, as->v4[k].lo, as->v4[k].hi);
		else
			for (uint32_t k = 0; k < as->n6 && !err; k++)
				err = sweep_add(s, r, as->v6[k].lo, as->v6[k].hi);
	}
	return err;
}

/* Sweep field F and intern its classes; S keeps the intervals. */
static int build_field(struct fwd_ruleset *rs, const struct fwd_config *c, enum fld_src f,
		       struct sweep *s, struct interner *in)
{
	uint64_t *base = calloc(rs->words, sizeof(*base));
	uint64_t *ref = calloc(rs->words, sizeof(*ref));
	int err = -ENOMEM;

	memset(in, 0, sizeof(*in));
	if (!base || !ref)
		goto out;
	err = field_events(c, f, s, base);
	if (!err && s->n)
		sweep_sort(s);
	if (!err)
		err = sweep_ref(s, base, rs->nrules, rs->words, ref);
	if (!err)
		err = interner_init(in, rs->words, ref);
	if (!err)
		err = sweep_run(s, in, base, rs->nrules);
out:
	free(base);
	free(ref);
	return err;
}

/*
 * Sport values past FWD_NOPORT are ICMP types (fwd/icmp.h): a table of a file
 * with `icmp_type:` rules has room for them, any other one ends at FWD_NOPORT.
 */
static uint32_t sport_values(const struct fwd_config *c)
{
	for (uint32_t r = 0; r < c->nrules; r++)
		if (c->rules[r].present & FWD_F_ICMP)
			return FWD_SPORT_MAX + 1;
	return FWD_NPORTS;
}

static int build_ports(struct fwd_ruleset *rs, const struct fwd_config *c, enum fld_src f)
{
	uint32_t nval = f == FS_SPORT ? sport_values(c) : FWD_NPORTS;
	struct sweep s = { .max = nval - 1 };
	struct interner in = { 0 };	/* freed on every path, even before init */
	uint32_t *tab = malloc(nval * sizeof(*tab));
	uint64_t *noport = calloc(rs->words, sizeof(*noport));
	uint32_t id;
	int err = -ENOMEM;

	if (!tab || !noport)
		goto out;
	err = build_field(rs, c, f, &s, &in);
	for (uint32_t r = 0; r < c->nrules; r++)
		if (!(c->rules[r].present & (f == FS_SPORT ? FWD_F_SPORT : FWD_F_DPORT)))
			bit_set(noport, r);
	if (!err)
		err = interner_add(&in, noport, &id);
	if (!err && in.n > 65535)
		err = -ENOSPC;
	if (err)
		goto out_in;
	for (uint32_t k = 0; k < s.nint; k++) {
		uint32_t end = k + 1 < s.nint ? (uint32_t)s.start[k + 1] : nval;

		for (uint32_t p = (uint32_t)s.start[k]; p < end; p++)
			tab[p] = s.cls[k];
	}
	tab[FWD_NOPORT] = id;
	err = interner_finish(&in, &rs->f[f == FS_SPORT ? FWD_FLD_SPORT : FWD_FLD_DPORT]);
	if (f == FS_SPORT) {
		rs->sport_cls = tab;
		rs->sport_n = nval;
	} else {
		rs->dport_cls = tab;
	}
	tab = NULL;
	rs->mem += nval * sizeof(*tab);
out_in:
	interner_free(&in);
out:
	sweep_free(&s);
	free(tab);
	free(noport);
	return err;
}

static int build_v4(struct fwd_ruleset *rs, const struct fwd_config *c, enum fld_src f)
{
	struct fwd_v4map *m = f == FS_SRC4 ? &rs->src4 : &rs->dst4;
	struct sweep s = { .max = 0xffffffffu };
	struct interner in = { 0 };	/* freed on every path, even before init */
	int err = build_field(rs, c, f, &s, &in);

	if (err)
		goto out;
	m->n = s.nint;
	m->iv = malloc(s.nint * sizeof(*m->iv));
	m->idx = malloc(65537 * sizeof(*m->idx));
	err = -ENOMEM;
	if (!m->iv || !m->idx)
		goto out;
	for (uint32_t k = 0; k < s.nint; k++)
		m->iv[k] = (struct fwd_v4int){ (uint32_t)s.start[k], s.cls[k] };
	for (uint32_t h = 0, k = 0; h < 65536; h++) {
		while (k + 1 < s.nint && m->iv[k + 1].start <= h << 16)
			k++;
		m->idx[h] = k;
	}
	m->idx[65536] = s.nint - 1;
	rs->mem += (size_t)s.nint * sizeof(*m->iv) + 65537 * sizeof(*m->idx);
	err = interner_finish(&in, &rs->f[f == FS_SRC4 ? FWD_FLD_SRC4 : FWD_FLD_DST4]);
out:
	interner_free(&in);
	sweep_free(&s);
	return err;
}

/*
 * M's index (table.h): 65,536 buckets over the span from the first start
 * above 0 to the last, so that a lookup searches one bucket's few starts,
 * not all of them (a blocklist's hundreds of thousands of IPv6 prefixes).
 */
static int v6_index(struct fwd_v6map *m)
{
	fwd_u128 span;
	uint32_t k = 0;

	m->idx = malloc(65537 * sizeof(*m->idx));
	if (!m->idx)
		return -ENOMEM;
	m->ibase = m->n > 1 ? m->start[1] : ~(fwd_u128)0;
	span = m->n > 1 ? m->start[m->n - 1] - m->ibase : 0;
	m->ishift = 0;
	while ((span >> m->ishift) > 65535)
		m->ishift++;
	for (uint32_t b = 0; b < 65536; b++) {
		fwd_u128 off = (fwd_u128)b << m->ishift, at = m->ibase + off;
		bool past = (off >> m->ishift) != b || at < m->ibase;

		while (k + 1 < m->n && (past || m->start[k + 1] <= at))
			k++;
		m->idx[b] = k;
	}
	m->idx[65536] = m->n - 1;
	return 0;
}

static int build_v6(struct fwd_ruleset *rs, const struct fwd_config *c, enum fld_src f)
{
	struct fwd_v6map *m = f == FS_SRC6 ? &rs->src6 : &rs->dst6;
	struct sweep s = { .max = ~(fwd_u128)0 };
	struct interner in = { 0 };	/* freed on every path, even before init */
	int err = build_field(rs, c, f, &s, &in);

	if (!err) {
		m->n = s.nint;
		m->start = shrink(s.start, s.nint * sizeof(*m->start));
		m->cls = shrink(s.cls, s.nint * sizeof(*m->cls));
		s.start = NULL;
		s.cls = NULL;
		err = v6_index(m);
		rs->mem += (size_t)s.nint * (sizeof(*m->start) + sizeof(*m->cls)) +
			   65537 * sizeof(*m->idx);
	}
	if (!err)
		err = interner_finish(&in, &rs->f[f == FS_SRC6 ? FWD_FLD_SRC6 : FWD_FLD_DST6]);
	interner_free(&in);
	sweep_free(&s);
	return err;
}

static int build_proto(struct fwd_ruleset *rs, const struct fwd_config *c)
{
	uint64_t *v = malloc(rs->words * sizeof(*v));
	struct interner in = { 0 };	/* freed on every path, even before init */
	int err = -ENOMEM;

	if (!v)
		return err;
	err = interner_init(&in, rs->words, NULL);
	for (uint32_t p = 0; p < 256 && !err; p++) {
		uint32_t id;

		memset(v, 0, rs->words * sizeof(*v));
		for (uint32_t r = 0; r < c->nrules; r++)
			if (c->rules[r].protos[p / 8] & (1u << (p % 8)))
				bit_set(v, r);
		err = interner_add(&in, v, &id);
		if (!err)
			rs->proto_cls[p] = id;
	}
	if (!err)
		err = interner_finish(&in, &rs->f[FWD_FLD_PROTO]);
	interner_free(&in);
	free(v);
	return err;
}

/* A stand-in for every name in one interface class (see classify.c). */
enum rep_kind { REP_NONE, REP_EXACT, REP_PREFIX };

static bool starts_with(const char *s, const char *pre)
{
	return !strncmp(s, pre, strlen(pre));
}

static bool rep_matches(const struct fwd_ifset *set, enum rep_kind kind, const char *name)
{
	for (uint32_t k = 0; k < set->n; k++) {
		const struct fwd_ifpat *p = &set->p[k];
		bool m;

		if (p->prefix)
			m = kind != REP_NONE && starts_with(name, p->name);
		else
			m = kind == REP_EXACT && !strcmp(name, p->name);
		if (m != p->neg)
			return true;
	}
	return false;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fwd_ifrep *)a)->name, ((const struct fwd_ifrep *)b)->name);
}

static size_t dedupe_reps(struct fwd_ifrep *v, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++)
		if (!o || strcmp(v[o - 1].name, v[i].name))
			v[o++] = v[i];
	return o;
}

/* Sorted, unique exact and prefix pattern names of every rule. */
static int collect_ifreps(struct fwd_ruleset *rs, const struct fwd_config *c)
{
	size_t total = 0;

	for (uint32_t r = 0; r < c->nrules; r++)
		if (c->rules[r].present & FWD_F_IN)
			total += c->rules[r].in.n;
	rs->exact = calloc(total + 1, sizeof(*rs->exact));
	rs->prefix = calloc(total + 1, sizeof(*rs->prefix));
	if (!rs->exact || !rs->prefix)
		return -ENOMEM;
	rs->mem += 2 * (total + 1) * sizeof(struct fwd_ifrep);
	for (uint32_t r = 0; r < c->nrules; r++) {
		const struct fwd_ifset *s = &c->rules[r].in;

		if (!(c->rules[r].present & FWD_F_IN))
			continue;
		for (uint32_t k = 0; k < s->n; k++) {
			struct fwd_ifrep *d = s->p[k].prefix ? &rs->prefix[rs->nprefix++]
							     : &rs->exact[rs->nexact++];

			memcpy(d->name, s->p[k].name, FWD_IFNAMSIZ);
			d->name[FWD_IFNAMSIZ - 1] = 0;
		}
	}
	qsort(rs->exact, rs->nexact, sizeof(*rs->exact), name_cmp);
	qsort(rs->prefix, rs->nprefix, sizeof(*rs->prefix), name_cmp);
	rs->nexact = (uint32_t)dedupe_reps(rs->exact, rs->nexact);
	rs->nprefix = (uint32_t)dedupe_reps(rs->prefix, rs->nprefix);
	return 0;
}

static int iface_class_of(struct fwd_ruleset *rs, const struct fwd_config *c, uint64_t *v,
			  struct interner *in, enum rep_kind kind, const char *name, uint32_t *id)
{
	memset(v, 0, rs->words * sizeof(*v));
	for (uint32_t r = 0; r < c->nrules; r++)
		if (!(c->rules[r].present & FWD_F_IN) || rep_matches(&c->rules[r].in, kind, name))
			bit_set(v, r);
	return interner_add(in, v, id);
}

static int build_iface(struct fwd_ruleset *rs, const struct fwd_config *c)
{
	uint64_t *v = malloc(rs->words * sizeof(*v));
	struct interner in = { 0 };	/* freed on every path, even before init */
	int err = -ENOMEM;

	if (!v)
		return err;
	err = interner_init(&in, rs->words, NULL);
	if (!err)
		err = collect_ifreps(rs, c);
	if (!err)
		err = iface_class_of(rs, c, v, &in, REP_NONE, "", &rs->if_none);
	for (uint32_t k = 0; k < rs->nexact && !err; k++)
		err = iface_class_of(rs, c, v, &in, REP_EXACT, rs->exact[k].name, &rs->exact[k].cls);
	for (uint32_t k = 0; k < rs->nprefix && !err; k++)
		err = iface_class_of(rs, c, v, &in, REP_PREFIX, rs->prefix[k].name,
				     &rs->prefix[k].cls);
	if (!err && in.n > 65535)
		err = -ENOSPC;
	if (!err)
		err = interner_finish(&in, &rs->f[FWD_FLD_IN]);
	interner_free(&in);
	free(v);
	return err;
}

/*
 * Bounds on the combined proto x in field: its value table holds 256 entries
 * per in class, and each pair of classes may give one more class.
 */
#define PIN_MAX_IF	64u
#define PIN_MAX_CLS	1024u

/*
 * Proto and in are both small fields; most rules name proto, some name in.
 * Looked up apart they cost the packet path two records and, per candidate
 * word, two checks. One combined field costs one of each: its classes are
 * the distinct ANDs of an in class with a proto class. Skipped when either
 * field is unused (nothing to save), when the pairs exceed the bounds above,
 * and with one word: there each field is one AND from L1, and two short
 * independent load chains measured faster than one longer one.
 */
static int build_pin(struct fwd_ruleset *rs)
{
	const struct fwd_bvset *pr = &rs->f[FWD_FLD_PROTO], *in = &rs->f[FWD_FLD_IN];
	uint32_t words = rs->words, *pair;
	uint64_t *v, *a, *b;
	struct interner it = { 0 };
	int err = -ENOMEM;

	if (words == 1 || !(rs->used & FWD_F_PROTO) || !(rs->used & FWD_F_IN) ||
	    in->ncls > PIN_MAX_IF || in->ncls * pr->ncls > PIN_MAX_CLS)
		return 0;
	pair = malloc((size_t)in->ncls * pr->ncls * sizeof(*pair));
	v = malloc(3 * words * sizeof(*v));
	a = v + words;
	b = a + words;
	rs->pin_cls = malloc((size_t)in->ncls * 256 * sizeof(*rs->pin_cls));
	if (!pair || !v || !rs->pin_cls || interner_init(&it, words, NULL))
		goto out;
	err = 0;
	for (uint32_t i = 0; i < in->ncls && !err; i++) {
		bvset_dense(in, i, words, a);
		for (uint32_t p = 0; p < pr->ncls && !err; p++) {
			bvset_dense(pr, p, words, b);
			for (uint32_t w = 0; w < words; w++)
				v[w] = a[w] & b[w];
			err = interner_add(&it, v, &pair[i * pr->ncls + p]);
		}
	}
	for (uint32_t i = 0; i < in->ncls && !err; i++)
		for (uint32_t p = 0; p < 256; p++)
			rs->pin_cls[i * 256 + p] = pair[i * pr->ncls + rs->proto_cls[p]];
	if (!err)
		err = interner_finish(&it, &rs->f[FWD_FLD_PIN]);
	rs->mem += (size_t)in->ncls * 256 * sizeof(*rs->pin_cls);
out:
	interner_free(&it);
	free(pair);
	free(v);
	return err;
}

static bool resolve_log(const struct fwd_config *c, enum fwd_action a, enum fwd_log l)
{
	if (l != FWD_LOG_INHERIT)
		return l == FWD_LOG_YES;
	if (c->log == FWD_LOGMODE_ALL)
		return true;
	return c->log == FWD_LOGMODE_DROPS && a == FWD_DROP;
}

_Static_assert(sizeof(struct fwd_rule_info) == 64, "a rule's facts fill one cache line");

/* A drop or reject rule whose one condition is a static `src:`: a blocklist. */
static bool blocks_src(const struct fwd_rule *r)
{
	return r->present == FWD_F_SRC && r->dyn_src < 0 &&
	       (r->action == FWD_DROP || r->action == FWD_REJECT);
}

static int build_block(struct fwd_ruleset *rs, const struct fwd_config *c)
{
	for (uint32_t r = 0; r < c->nrules; r++)
		rs->nblock += blocks_src(&c->rules[r]);
	if (!rs->nblock)
		return 0;
	rs->block = malloc(rs->nblock * sizeof(*rs->block));
	if (!rs->block)
		return -ENOMEM;
	rs->nblock = 0;
	for (uint32_t r = 0; r < c->nrules; r++)
		if (blocks_src(&c->rules[r]))
			rs->block[rs->nblock++] = r;
	rs->mem += rs->nblock * sizeof(*rs->block);
	return 0;
}

/*
 * Per-rule facts for the verdict, with the names copied after the array,
 * end to end: 100,000 rules of short names take 0.7 MiB, not 6.
 */
static int build_info(struct fwd_ruleset *rs, const struct fwd_config *c)
{
	size_t sz = (size_t)c->nrules * sizeof(*rs->info);
	char *names;

	for (uint32_t r = 0; r < c->nrules; r++)
		sz += strnlen(c->rules[r].name, FWD_NAME_MAX) + 1;
	/* 64-byte entries from a line's start: a verdict reads one cache line */
	sz = (sz + 1 + 63) & ~(size_t)63;
	rs->info = aligned_alloc(64, sz);
	if (!rs->info)
		return -ENOMEM;
	memset(rs->info, 0, sz);
	names = (char *)(rs->info + c->nrules);
	for (uint32_t r = 0; r < c->nrules; r++) {
		const struct fwd_rule *ru = &c->rules[r];
		struct fwd_rule_info *ri = &rs->info[r];
		size_t len = strnlen(ru->name, FWD_NAME_MAX);

		memcpy(names, ru->name, len);	/* the memset()'s zero ends it */
		ri->name = names;
		names += len + 1;
		ri->line = ru->pos.line;
		ri->action = ru->action;
		if (ru->to)
			ri->to = *ru->to;
		ri->log = resolve_log(c, ru->action, ru->log);
		ri->log_idx = ri->log ? rs->nlog++ : 0;
		ri->mark = ru->action == FWD_FORWARD ? FWD_MARK_BASE + r : 0;
		ri->dyn_set = c->ndynsets ? ru->dyn_src : -1;
		rs->used |= ru->present;
	}
	rs->mem += sz;
	return build_block(rs, c);
}

/*
 * The rule field behind each table field: a rule's home is a rule field, and
 * src4/src6 (dst4/dst6) are one home, since each packet reads one of the two.
 */
static const uint32_t fld_bit[FWD_NFLD] = {
	[FWD_FLD_PROTO] = FWD_F_PROTO, [FWD_FLD_SPORT] = FWD_F_SPORT,
	[FWD_FLD_DPORT] = FWD_F_DPORT, [FWD_FLD_SRC4] = FWD_F_SRC,
	[FWD_FLD_SRC6] = FWD_F_SRC,    [FWD_FLD_DST4] = FWD_F_DST,
	[FWD_FLD_DST6] = FWD_F_DST,    [FWD_FLD_IN] = FWD_F_IN,
	[FWD_FLD_PIN] = 0,	/* no home of its own: it holds proto's and in's */
};

static inline bool bit_test(const uint64_t *v, uint32_t r)
{
	return v[r / 64] >> (r % 64) & 1;
}

/* Class C's words XOR (ref ^ base) at the DW words; into OUT (NULL: count only). */
static size_t rebase_class(const struct fwd_bvset *bs, uint32_t c, const uint64_t *ref,
			   const uint32_t *dw, uint32_t nd, struct fwd_xent *out)
{
	const struct fwd_xent *x = bs->xent + bs->xoff[c], *end = bs->xent + bs->xoff[c + 1];
	uint32_t j = 0;
	size_t n = 0;

	while (x < end || j < nd) {
		uint32_t w = x < end && (j == nd || x->w <= dw[j]) ? x->w : dw[j];
		uint64_t v = 0;

		if (x < end && x->w == w)
			v ^= (x++)->bits;
		if (j < nd && dw[j] == w)
			v ^= ref[dw[j++]] ^ bs->base[w];
		if (v && out)
			out[n] = (struct fwd_xent){ v, w };
		n += v != 0;
	}
	return n;
}

/* Recode BS's classes, interned against REF, against bs->base. */
static int rebase(struct fwd_bvset *bs, const uint64_t *ref, uint32_t words)
{
	uint32_t *dw = malloc(words * sizeof(*dw)), *noff = NULL, nd = 0;
	struct fwd_xent *ne = NULL;
	int err = -ENOMEM;

	if (!dw)
		return err;
	for (uint32_t w = 0; w < words; w++)
		if (ref[w] != bs->base[w])
			dw[nd++] = w;
	err = 0;
	if (!nd)
		goto out;
	err = -ENOMEM;
	noff = malloc(((size_t)bs->ncls + 1) * sizeof(*noff));
	if (!noff)
		goto out;
	for (int pass = 0; pass < 2; pass++) {
		size_t n = 0;

		for (uint32_t c = 0; c < bs->ncls; c++) {
			noff[c] = (uint32_t)n;
			n += rebase_class(bs, c, ref, dw, nd, ne ? ne + n : NULL);
		}
		noff[bs->ncls] = (uint32_t)n;
		if (n > UINT32_MAX - 1 || (!pass && !(ne = malloc((n + 1) * sizeof(*ne)))))
			goto out;
	}
	free(bs->xoff);
	free(bs->xent);
	bs->xoff = noff;
	bs->xent = ne;
	noff = NULL;
	ne = NULL;
	err = 0;
out:
	free(dw);
	free(noff);
	free(ne);
	return err;
}

/*
 * CNT[r]: classes of BS holding rule r; base: the rules held by most classes.
 * Counted from the classes' differences to the vector they were interned
 * against, which are few: most of a field's vector (its wildcard rules, its
 * negations) is the same in every class. The classes are then recoded as
 * their differences to base.
 */
static int field_base(const struct fwd_ruleset *rs, struct fwd_bvset *bs, uint32_t *cnt)
{
	uint32_t words = rs->words;
	uint64_t *ref = bs->base;
	int err;

	bs->base = calloc(words, sizeof(*bs->base));
	if (!bs->base) {
		bs->base = ref;
		return -ENOMEM;
	}
	if (!ref)
		return 0;
	for (uint32_t e = 0; e < bs->xoff[bs->ncls]; e++)
		for (uint64_t m = bs->xent[e].bits; m; m &= m - 1)
			cnt[bs->xent[e].w * 64 + (uint32_t)__builtin_ctzll(m)]++;
	for (uint32_t r = 0; r < rs->nrules; r++) {
		if (bit_test(ref, r))
			cnt[r] = bs->ncls - cnt[r];
		if (2ull * cnt[r] > bs->ncls)
			bit_set(bs->base, r);
	}
	err = rebase(bs, ref, words);
	free(ref);
	return err;
}

/*
 * Rule R's home: among the rule fields the packet path reads, one where R is
 * outside the base and held by the smallest share of classes. 0: no home.
 */
static uint32_t rule_home(const struct fwd_ruleset *rs, uint32_t *const *cnt, uint32_t r)
{
	uint64_t best_num = 1, best_den = 0;
	uint32_t home = 0;

	for (uint32_t b = 1; b <= FWD_F_IN; b <<= 1) {
		uint64_t num = 0, den = 0;
		bool ok = rs->used & b;

		for (int f = 0; f < FWD_NFLD && ok; f++) {
			if (fld_bit[f] != b)
				continue;
			ok = !bit_test(rs->f[f].base, r);
			num += cnt[f][r];
			den += rs->f[f].ncls;
		}
		if (ok && (!best_den || num * best_den < best_num * den)) {
			best_num = num;
			best_den = den;
			home = b;
		}
	}
	return home;
}

/*
 * A class stores its vector whole once it differs from base in this many
 * words; with one word, always, so that classify() needs no base.
 */
static uint32_t dense_at(const struct fwd_ruleset *rs)
{
	return rs->words == 1 ? 0 : rs->words / 8 + 1;
}

static uint32_t count_nz(const uint64_t *v, const uint64_t *mask, bool xor, uint32_t words)
{
	uint32_t n = 0;

	for (uint32_t w = 0; w < words; w++)
		n += (xor ? v[w] ^ mask[w] : v[w] & mask[w]) != 0;
	return n;
}

static struct fwd_xent *put_words(struct fwd_xent *e, const uint64_t *v, const uint64_t *mask,
				  bool xor, bool all, uint32_t words)
{
	for (uint32_t w = 0; w < words; w++) {
		uint64_t x = !mask ? v[w] : xor ? v[w] ^ mask[w] : v[w] & mask[w];

		if (x || all)
			*e++ = (struct fwd_xent){ x, w };
	}
	return e;
}

/*
 * Class C's record (table.h) into OUT, or only its length when OUT is NULL:
 * a header, the exceptions to base (its sparse words) or the whole vector,
 * then its home bits, the words of (base ^ class) & HOME. BH lists the
 * words where base & HOME is not zero.
 */
static size_t emit_class(const struct fwd_ruleset *rs, const struct fwd_bvset *bs, uint32_t c,
			 const uint64_t *home, const uint32_t *bh, uint32_t nbh,
			 struct fwd_xent *out)
{
	const struct fwd_xent *x0 = bs->xent + bs->xoff[c], *end = bs->xent + bs->xoff[c + 1];
	const struct fwd_xent *x = x0;
	size_t n = 1, nh;
	uint32_t j = 0;

	if ((uint32_t)(end - x0) >= dense_at(rs)) {
		for (uint32_t w = 0; w < rs->words; w++, n++)
			if (out)
				out[n] = (struct fwd_xent){
					bs->base[w] ^ (x < end && x->w == w ? (x++)->bits : 0), w };
	} else {
		if (out)
			memcpy(out + 1, x0, (size_t)(end - x0) * sizeof(*x0));
		n += (size_t)(end - x0);
	}
	nh = n;
	for (x = x0; x < end || j < nbh;) {
		uint32_t w = x < end && (j == nbh || x->w <= bh[j]) ? x->w : bh[j];
		uint64_t v = bs->base[w];

		if (x < end && x->w == w)
			v ^= (x++)->bits;
		if (j < nbh && bh[j] == w)
			j++;
		v &= home[w];
		if (v && out)
			out[n] = (struct fwd_xent){ v, w };
		n += v != 0;
	}
	if (out)
		out[0] = (struct fwd_xent){ (uint64_t)(nh - 1), (uint32_t)(n - nh) };
	return n;
}

/* Recode BS's classes as records (table.h); HOME: the rules homed here. */
static int field_emit(struct fwd_ruleset *rs, struct fwd_bvset *bs, const uint64_t *home)
{
	uint32_t words = rs->words, nbh = 0, *bh = malloc(words * sizeof(*bh));
	size_t n = 0;

	bs->off = calloc(bs->ncls + 1, sizeof(*bs->off));
	if (!bs->off || !bh) {
		free(bh);
		return -ENOMEM;
	}
	for (uint32_t w = 0; w < words; w++)
		if (bs->base[w] & home[w])
			bh[nbh++] = w;
	for (uint32_t c = 0; c < bs->ncls; c++) {
		bs->off[c] = (uint32_t)n;
		n += emit_class(rs, bs, c, home, bh, nbh, NULL);
	}
	bs->nent = (uint32_t)n;
	bs->ent = n < UINT32_MAX ? malloc((n + 1) * sizeof(*bs->ent)) : NULL;
	if (!bs->ent) {
		free(bh);
		return -ENOMEM;
	}
	for (uint32_t c = 0; c < bs->ncls; c++)
		emit_class(rs, bs, c, home, bh, nbh, bs->ent + bs->off[c]);
	bs->ent[n] = (struct fwd_xent){ 0, UINT32_MAX };	/* a class with nx 0 may read x[0] */
	rs->mem += words * sizeof(*bs->base) + (bs->ncls + 1) * sizeof(*bs->off) +
		   (n + 1) * sizeof(*bs->ent);
	free(bh);
	free(bs->xoff);
	free(bs->xent);
	bs->xoff = NULL;
	bs->xent = NULL;
	return 0;
}

/* HOME[f]: rules whose home is field f's rule field; the homeless go to rs->any. */
static int emit_all(struct fwd_ruleset *rs, uint32_t *const *cnt, uint64_t *home)
{
	uint32_t words = rs->words;
	uint64_t *any = home + (size_t)FWD_NFLD * words;
	int err = 0;

	/* One word is one AND (classify.c): no candidates, no home bits. */
	for (uint32_t r = 0; r < rs->nrules && words > 1; r++) {
		uint32_t b = rule_home(rs, cnt, r);

		if (!b)
			bit_set(any, r);
		for (int f = 0; f < FWD_NFLD && b; f++)
			if (fld_bit[f] == b)
				bit_set(home + (size_t)f * words, r);
	}
	for (uint32_t w = 0; w < words; w++)
		home[FWD_FLD_PIN * words + w] = home[FWD_FLD_PROTO * words + w] |
						home[FWD_FLD_IN * words + w];
	for (int f = 0; f < FWD_NFLD && !err; f++)
		err = field_emit(rs, &rs->f[f], home + (size_t)f * words);
	if (err)
		return err;
	rs->nany = count_nz(any, any, false, words);
	rs->any = malloc(((size_t)rs->nany + 1) * sizeof(*rs->any));
	if (!rs->any)
		return -ENOMEM;
	put_words(rs->any, any, NULL, false, false, words);
	rs->mem += ((size_t)rs->nany + 1) * sizeof(*rs->any);
	return 0;
}

static void recs_of(const struct fwd_bvset *bs, uint32_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] = bs->off[v[i]];
}

static void recs_of_v4(const struct fwd_bvset *bs, struct fwd_v4map *m)
{
	for (uint32_t i = 0; i < m->n; i++)
		m->iv[i].cls = bs->off[m->iv[i].cls];
}

/*
 * The value tables lead straight to class records, not to class numbers:
 * one dependent load less per field on the packet path. The input
 * interface stays a class number (the key carries it); off maps it.
 */
static void point_at_records(struct fwd_ruleset *rs)
{
	recs_of(&rs->f[FWD_FLD_PROTO], rs->proto_cls, 256);
	recs_of(&rs->f[FWD_FLD_SPORT], rs->sport_cls, rs->sport_n);
	recs_of(&rs->f[FWD_FLD_DPORT], rs->dport_cls, FWD_NPORTS);
	recs_of_v4(&rs->f[FWD_FLD_SRC4], &rs->src4);
	recs_of(&rs->f[FWD_FLD_SRC6], rs->src6.cls, rs->src6.n);
	recs_of_v4(&rs->f[FWD_FLD_DST4], &rs->dst4);
	recs_of(&rs->f[FWD_FLD_DST6], rs->dst6.cls, rs->dst6.n);
	if (rs->pin_cls)
		recs_of(&rs->f[FWD_FLD_PIN], rs->pin_cls, (size_t)rs->f[FWD_FLD_IN].ncls * 256);
}

/*
 * Turn the interned classes into the packet path's form (classify.c): a
 * base per field, each class as its exceptions to it, and each rule's bits
 * repeated under its home field, where the lookup finds its candidates.
 */
static int sparsify(struct fwd_ruleset *rs)
{
	uint32_t *cnt[FWD_NFLD] = { 0 };
	uint64_t *home = calloc((size_t)(FWD_NFLD + 1) * rs->words, sizeof(*home));
	int err = home ? 0 : -ENOMEM;

	for (int f = 0; f < FWD_NFLD && !err; f++) {
		cnt[f] = calloc(rs->nrules + 1, sizeof(*cnt[f]));
		err = cnt[f] ? field_base(rs, &rs->f[f], cnt[f]) : -ENOMEM;
	}
	if (!err)
		err = emit_all(rs, cnt, home);
	if (!err)
		point_at_records(rs);
	for (int f = 0; f < FWD_NFLD; f++)
		free(cnt[f]);
	free(home);
	return err;
}

/* DROP: C itself, whose rules go once the last step that reads them is done; or NULL. */
static struct fwd_ruleset *compile(const struct fwd_config *c, struct fwd_config *drop)
{
	struct fwd_ruleset *rs = calloc(1, sizeof(*rs));
	struct sub_src *src = NULL;
	int err;

	if (!rs)
		return NULL;
	rs->nrules = c->nrules;
	rs->words = ruleset_words_for(c->nrules);
	rs->dflt = c->default_action;
	rs->dflt_log = resolve_log(c, c->default_action, FWD_LOG_INHERIT);
	rs->mem = sizeof(*rs);
	err = build_info(rs, c);
	if (!err)
		err = build_proto(rs, c);
	if (!err)
		err = build_ports(rs, c, FS_SPORT);
	if (!err)
		err = build_ports(rs, c, FS_DPORT);
	if (!err)
		err = build_v4(rs, c, FS_SRC4);
	if (!err)
		err = build_v6(rs, c, FS_SRC6);
	if (!err)
		err = build_v4(rs, c, FS_DST4);
	if (!err)
		err = build_v6(rs, c, FS_DST6);
	if (!err)
		err = build_iface(rs, c);
	if (!err)
		err = build_pin(rs);
	if (!err && !(src = subtable_source(c)))
		err = -errno;
	if (drop) {
		config_drop_rules(drop);
		malloc_trim(0);		/* their pages back before the records are built */
	}
	if (!err)
		err = subtable_build(rs, src);
	subtable_source_free(src);
	if (!err)
		err = sparsify(rs);
	if (drop)
		malloc_trim(0);		/* and the dense classes sparsify() replaced */
	if (err) {
		ruleset_free(rs);
		errno = -err;
		return NULL;
	}
	return rs;
}

struct fwd_ruleset *ruleset_compile(const struct fwd_config *c)
{
	return compile(c, NULL);
}

struct fwd_ruleset *ruleset_compile_lean(struct fwd_config *c)
{
	return compile(c, c);
}

void ruleset_free(struct fwd_ruleset *rs)
{
	if (!rs)
		return;
	for (int f = 0; f < FWD_NFLD; f++) {
		free(rs->f[f].xoff);
		free(rs->f[f].xent);
		free(rs->f[f].base);
		free(rs->f[f].off);
		free(rs->f[f].ent);
	}
	free(rs->any);
	free(rs->block);
	free(rs->pin_cls);
	free(rs->sub);
	free(rs->sub_rec);
	free(rs->info);
	free(rs->sport_cls);
	free(rs->dport_cls);
	free(rs->src4.iv);
	free(rs->src4.idx);
	free(rs->dst4.iv);
	free(rs->dst4.idx);
	free(rs->src6.start);
	free(rs->src6.cls);
	free(rs->src6.idx);
	free(rs->dst6.start);
	free(rs->dst6.cls);
	free(rs->dst6.idx);
	free(rs->exact);
	free(rs->prefix);
	free(rs);
}

bool ruleset_names_ifaces(const struct fwd_ruleset *rs)
{
	return rs->nexact + rs->nprefix > 0;
}

/*
 * A name's class is that of its exact pattern, else of its longest prefix
 * pattern, else the class of names no pattern mentions.
 */
uint16_t ruleset_iface_class(const struct fwd_ruleset *rs, const char *name)
{
	struct fwd_ifrep key = { .name = "" };
	const struct fwd_ifrep *hit;
	size_t best = 0;
	uint32_t cls = rs->if_none;

	if (!name)
		name = "";
	strncpy(key.name, name, FWD_IFNAMSIZ - 1);
	hit = bsearch(&key, rs->exact, rs->nexact, sizeof(key), name_cmp);
	if (hit)
		return (uint16_t)hit->cls;
	for (uint32_t k = 0; k < rs->nprefix; k++) {
		size_t len = strlen(rs->prefix[k].name);

		if (len >= best && starts_with(key.name, rs->prefix[k].name)) {
			best = len;
			cls = rs->prefix[k].cls;
		}
	}
	return (uint16_t)cls;
}

uint32_t ruleset_nrules(const struct fwd_ruleset *rs)
{
	return rs->nrules;
}

uint32_t ruleset_nlog(const struct fwd_ruleset *rs)
{
	return rs->nlog;
}

const struct fwd_rule_info *ruleset_rule(const struct fwd_ruleset *rs, uint32_t i)
{
	return i < rs->nrules ? &rs->info[i] : NULL;
}

enum fwd_action ruleset_default(const struct fwd_ruleset *rs)
{
	return rs->dflt;
}

bool ruleset_default_log(const struct fwd_ruleset *rs)
{
	return rs->dflt_log;
}

size_t ruleset_memory(const struct fwd_ruleset *rs)
{
	return rs->mem;
}
