// SPDX-License-Identifier: MIT
/*
 * classify.c - the packet path's lookup: packet key -> first matching rule.
 *
 * The compiled table (struct fwd_ruleset in include/fwd/table.h, built by
 * compile.c) is a per-field decomposition (Lakshman/Stiliadis) into bit
 * vectors, stored sparsely and searched from per-rule "home" candidates:
 *
 *   - Each field's value line is cut into elementary intervals at the ends
 *     of every rule's ranges. All values of one interval are accepted by the
 *     same rules, so each interval carries one bit vector of nrules bits
 *     (bit r set: rule r accepts the value; a rule that does not name the
 *     field accepts everything). Identical vectors are stored once: a field
 *     maps a value to a "class", a class to a vector.
 *   - Value -> class: proto by a 256-entry table; sport and dport by a
 *     65537-entry table (entry 65536 is FWD_NOPORT, accepted only by rules
 *     without that port field); IPv4 src/dst by the interval starts,
 *     a 65537-entry index on the top 16 bits narrowing a binary search to the
 *     few starts inside one /16 (each start with its class beside it);
 *     IPv6 src/dst likewise, its 65537 buckets spread over the span the
 *     starts cover (table.h: fwd_v6map); both searches are branch-free.
 *     v4 and v6 have separate classes, so a rule naming only v4 addresses
 *     has its bit clear in every v6 class. The input interface is classed
 *     off the packet path
 *     (ruleset_iface_class(): exact pattern, else longest prefix pattern,
 *     else "no pattern"); the key carries the class.
 *   - A packet matches rule r iff bit r is set in the vector of every field
 *     it reads, so the first match is the lowest set bit of the AND of at
 *     most six vectors. Fields that no rule names are left out (a port
 *     field no rule names costs nothing).
 *   - Proto and in are small fields (a few classes each) that many rules
 *     combine, so when rules use both and the table has more than one word
 *     (below), compile.c also builds one combined field from them: its
 *     classes are the distinct ANDs of an in class with a proto class,
 *     reached by a table indexed by [in class][proto], and the lookup reads
 *     it instead of the two. That is one record and, per candidate word
 *     below, one check less. It is skipped (the two are read apart) when the
 *     in classes or the class pairs exceed a bound (PIN_MAX_IF, PIN_MAX_CLS
 *     in compile.c).
 *
 * Stored whole, those vectors made the table large (at 10,000 rules each is
 * 1.2 KB, the table 20 MiB) and the lookup a string of cache misses. But a
 * field's classes differ little: the rules that do not name the field, and
 * the negations, are set in (nearly) every class. So each field keeps one
 * shared "base" vector (the rules set in most of its classes) and each class
 * only the 64-bit words where it differs from base, as (word index, word)
 * pairs; a class differing in more than words/8 words is stored whole. With
 * up to 64 rules (one word) every class is stored whole and the lookup is a
 * plain AND.
 *
 * The AND must not walk all words, so the lookup starts from candidates.
 * Each rule gets a "home": a field that every packet reads, where the rule
 * is outside base and set in the fewest classes (usually its dport or
 * address). Each class also stores, sparsely, the bits of the rules homed in
 * its field; a rule can match only where its home class has its bit, so the
 * candidate words are the union of the packet's home lists (plus the few
 * rules with no home, e.g. ones naming only negations, kept in one shared
 * list). The combined proto/in field holds the home bits of the rules
 * homed in either. Candidate words are visited in ascending order, each
 * ANDed with the other fields' vectors at that word only (base word XOR the
 * class's exception, found by a short scan), and the first nonzero word
 * answers.
 *
 * At 10,000 rules the table is ~3 MiB instead of 20, and a lookup touches a
 * few class records, one or two candidate words and one word per other
 * field. A class is one record in its field's pool (header, vector words,
 * home words; see table.h), and the value tables hold record offsets, not
 * class numbers: a value leads to its class's words in one dependent load
 * instead of two (number -> descriptor -> pool), which at 10,000 rules are
 * both cache misses. With one word the records carry no home bits and the
 * lookup ANDs each field's word as it finds the class.
 *
 * Most packets do not take that path at all. The candidates are what it
 * costs (at 10,000 rules three times the one-word AND: a home list to walk,
 * every other field probed per candidate word, an exit that depends on the
 * data), and a port is seldom named by many rules. So compile.c also gives
 * each dport class of at most 64 rules (fwd/subtable.c) a record holding
 * those rules as a table of their own: a word per value of every other
 * field, found in short lists of the class's own intervals, searched in the
 * same number of steps for every packet. The lookup reads the port's
 * record and ANDs one word per field, as for a table of 64 rules, at any
 * table size. A port without a record (more rules than a word has bits,
 * or a list longer than the table allows) and every packet of a
 * table without per-port tables (no rule names dport, or the records would
 * be too large) take the path of a table without them: the candidate path,
 * or up to 64 rules the one-word AND. classify() reads only the table: no
 * allocation, lock or syscall.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fwd/icmp.h"
#include "fwd/table.h"

/* A list of candidate words: a class's home bits, or the homeless rules. */
struct hcur {
	const struct fwd_xent *p, *end;
	unsigned fld;		/* index in lookup.v of the field it came from */
};

struct lookup {
	uint64_t x;			/* one word: the AND so far */
	unsigned n, nh;
	const struct fwd_xent *v[6];	/* each field's class record (table.h) */
	const uint64_t *base[6];	/* and that field's base */
	struct hcur h[7];
};

/*
 * Add the class whose record starts at ent[off]. With one word (WORD) a
 * record has no home bits and its vector is r[1]: just AND it in.
 */
static inline __attribute__((always_inline)) void lookup_add(struct lookup *l,
							     const struct fwd_bvset *bs,
							     uint32_t off, bool word)
{
	const struct fwd_xent *r = bs->ent + off;

	if (word) {
		l->x &= r[1].bits;
		return;
	}
	if (r->w) {
		l->h[l->nh].p = r + 1 + r->bits;
		l->h[l->nh].end = r + 1 + r->bits + r->w;
		l->h[l->nh++].fld = l->n;
	}
	l->base[l->n] = bs->base;
	l->v[l->n++] = r;
}

/*
 * The last of the N ascending starts S[0..N-1] at or below A (S[0] always
 * is). Branch-free: the select compiles to a conditional move and the trip
 * count depends only on N, so no lookup waits for a mispredicted compare; in
 * a table of 10,000 rules the branching search made half the mispredictions.
 */
#define LAST_AT_OR_BELOW(s, n, a)					\
	do {								\
		while ((n) > 1) {					\
			uint32_t half_ = (n) / 2;			\
									\
			(s) = (s)[half_] <= (a) ? (s) + half_ : (s);	\
			(n) -= half_;					\
		}							\
	} while (0)

static inline uint32_t v4_class(const struct fwd_v4map *m, uint32_t a)
{
	uint32_t lo = m->idx[a >> 16], n = m->idx[(a >> 16) + 1] - lo + 1;
	const struct fwd_v4int *s = m->iv + lo;

	while (n > 1) {		/* LAST_AT_OR_BELOW, on the starts */
		uint32_t half = n / 2;

		s = s[half].start <= a ? s + half : s;
		n -= half;
	}
	return s->cls;
}

static inline uint32_t v6_class(const struct fwd_v6map *m, fwd_u128 a)
{
	fwd_u128 b = (a - m->ibase) >> m->ishift;
	uint32_t lo, n;
	const fwd_u128 *s;

	if (a < m->ibase)
		return m->cls[0];
	b = b > 65535 ? 65535 : b;
	lo = m->idx[(uint32_t)b];
	n = m->idx[(uint32_t)b + 1] - lo + 1;
	s = m->start + lo;
	/* A bucket's few classes share a line: fetch it while searching. */
	__builtin_prefetch(m->cls + lo);
	__builtin_prefetch(s + n / 2);
	__builtin_prefetch(s + n - 1);
	LAST_AT_OR_BELOW(s, n, a);
	return m->cls[s - m->start];
}

static inline uint32_t port_index(uint32_t p)
{
	return p > FWD_NOPORT ? FWD_NOPORT : p;
}

/* Sport: ICMP types past FWD_NOPORT (fwd/icmp.h) where the table has room for them. */
static inline uint32_t sport_index(const struct fwd_ruleset *rs, uint32_t p)
{
	return p >= rs->sport_n ? FWD_NOPORT : p;
}

/* The key's interface class; a stale one (from an older table) is "none". */
static inline uint32_t iface_class(const struct fwd_ruleset *rs, const struct fwd_key *k)
{
	return k->iface < rs->f[FWD_FLD_IN].ncls ? k->iface : rs->if_none;
}

static inline __attribute__((always_inline)) void lookup_fill(struct lookup *l,
							      const struct fwd_ruleset *rs,
							      const struct fwd_key *k, bool word)
{
	uint32_t used = rs->used;

	l->x = ~0ull;
	l->n = 0;
	l->nh = 0;
	if (used & FWD_F_DPORT)
		lookup_add(l, &rs->f[FWD_FLD_DPORT], rs->dport_cls[port_index(k->dport)], word);
	if (used & FWD_F_SRC) {
		if (k->family == 4)
			lookup_add(l, &rs->f[FWD_FLD_SRC4], v4_class(&rs->src4, (uint32_t)k->src),
				   word);
		else
			lookup_add(l, &rs->f[FWD_FLD_SRC6], v6_class(&rs->src6, k->src), word);
	}
	if (used & FWD_F_DST) {
		if (k->family == 4)
			lookup_add(l, &rs->f[FWD_FLD_DST4], v4_class(&rs->dst4, (uint32_t)k->dst),
				   word);
		else
			lookup_add(l, &rs->f[FWD_FLD_DST6], v6_class(&rs->dst6, k->dst), word);
	}
	/* Proto and in combined (compile.c: build_pin(), never with one word). */
	if (!word && rs->pin_cls) {
		lookup_add(l, &rs->f[FWD_FLD_PIN], rs->pin_cls[iface_class(rs, k) * 256 + k->proto],
			   word);
		used &= ~(uint32_t)(FWD_F_PROTO | FWD_F_IN);
	}
	if (used & FWD_F_PROTO)
		lookup_add(l, &rs->f[FWD_FLD_PROTO], rs->proto_cls[k->proto], word);
	if (used & FWD_F_SPORT)
		lookup_add(l, &rs->f[FWD_FLD_SPORT], rs->sport_cls[sport_index(rs, k->sport)], word);
	if (used & FWD_F_IN)
		lookup_add(l, &rs->f[FWD_FLD_IN], rs->f[FWD_FLD_IN].off[iface_class(rs, k)], word);
}

/*
 * Word W of one field's vector: R's record, BASE its field's base. A class
 * differs from base in at most words / 8 words (else it is stored whole),
 * usually none or one, so a scan finds the exception.
 */
static inline uint64_t probe(const struct fwd_xent *r, const uint64_t *base, uint32_t words,
			     uint32_t w)
{
	const struct fwd_xent *x = r + 1;
	uint32_t nx = (uint32_t)r->bits;

	if (nx == words)
		return x[w].bits;
	/* No branch on the data: x[0] is always readable (table.h). */
	if (nx <= 1)
		return base[w] ^ (x->bits & -(uint64_t)((nx != 0) & (x->w == w)));
	for (uint32_t i = 0; i < nx && x[i].w <= w; i++)
		if (x[i].w == w)
			return base[w] ^ x[i].bits;
	return base[w];
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

/* The usual case: every candidate comes from one field's home bits. */
static inline int classify_one_list(const struct lookup *l, uint32_t words)
{
	const struct hcur *h = &l->h[0];

	for (const struct fwd_xent *p = h->p; p < h->end; p++) {
		uint64_t x = p->bits;

		for (unsigned f = 0; f < l->n && x; f++)
			if (f != h->fld)
				x &= probe(l->v[f], l->base[f], words, p->w);
		if (x)
			return (int)(p->w * 64 + (uint32_t)__builtin_ctzll(x));
	}
	return -1;
}

/* More than one word: candidates from the home lists (see the top). */
static __attribute__((noinline)) int classify_words(const struct fwd_ruleset *rs,
						    const struct fwd_key *k)
{
	struct lookup l;
	unsigned skip;
	uint64_t x;
	uint32_t w;

	lookup_fill(&l, rs, k, false);
	if (!l.n)
		return 0;
	if (rs->nany) {
		l.h[l.nh].p = rs->any;
		l.h[l.nh].end = rs->any + rs->nany;
		l.h[l.nh++].fld = l.n;
	}
	if (l.nh == 1)
		return classify_one_list(&l, rs->words);
	while ((w = next_candidates(&l, &x, &skip)) != UINT32_MAX) {
		for (unsigned f = 0; f < l.n && x; f++)
			if (f != skip)
				x &= probe(l.v[f], l.base[f], rs->words, w);
		if (x)
			return (int)(w * 64 + (uint32_t)__builtin_ctzll(x));
	}
	return -1;
}

/* Word I of the word array at P: sub_wbytes wide, read as 8 bytes and masked. */
static inline uint64_t sub_load(const struct fwd_ruleset *rs, const uint8_t *p, size_t i)
{
	uint64_t w;

	memcpy(&w, p + i * rs->sub_wbytes, sizeof(w));
	return w & rs->sub_wmask;
}

/*
 * Word of list F of a per-port record REC (table.h: sub) for value A. The
 * record's list is as long as its class needs (a power of two), but the
 * search takes the table's steps for F whatever the record, those past the
 * list's end moving nowhere: a trip count that hangs on the record would be
 * a misprediction per lookup.
 */
static inline uint64_t sub_word(const struct fwd_ruleset *rs, const uint8_t *rec, int f,
				fwd_u128 a)
{
	const struct fwd_sub_hdr *hd = (const struct fwd_sub_hdr *)rec;
	uint32_t lg = FWD_SUB_LG(hd, f), m = (1u << lg) - 1;
	const uint8_t *p = rec + FWD_SUB_AT(hd, f);

	/*
	 * The list is m + 1 long. A step of I >= m + 1 is a step of I & m = 0:
	 * s stays, whatever s[0] reads. No branch on the data. A v6 list is
	 * 8-aligned: its starts are read with memcpy().
	 */
	if (f == FWD_SUB_SRC6 || f == FWD_SUB_DST6) {
		const uint8_t *s = p;

		for (uint32_t i = rs->sub_top[f]; i; i /= 2) {
			size_t j = (size_t)(i & m) * sizeof(fwd_u128);
			fwd_u128 v;

			memcpy(&v, s + j, sizeof(v));
			s = v <= a ? s + j : s;
		}
		return sub_load(rs, p + (sizeof(fwd_u128) << lg), (size_t)(s - p) / sizeof(fwd_u128));
	}
	const uint32_t *s0 = (const uint32_t *)p, *s = s0;

	for (uint32_t i = rs->sub_top[f]; i; i /= 2)
		s = s[i & m] <= (uint32_t)a ? s + (i & m) : s;
	return sub_load(rs, p + ((size_t)sizeof(*s) << lg), (size_t)(s - s0));
}

/* The per-port record at D (fwd/subtable.c): its words, ANDed. */
static int classify_sub(const struct fwd_ruleset *rs, const struct fwd_key *k, uint32_t d)
{
	const uint8_t *rec = rs->sub + (size_t)d * FWD_SUB_UNIT;
	uint64_t x = sub_load(rs, rec + FWD_SUB_WORD0, 0);	/* the record's rules */
	uint32_t used = rs->used;
	const uint32_t *rules;
	uint32_t miss;

	if (used & FWD_F_SRC)
		x &= sub_word(rs, rec, k->family == 4 ? FWD_SUB_SRC4 : FWD_SUB_SRC6, k->src);
	if (used & FWD_F_DST)
		x &= sub_word(rs, rec, k->family == 4 ? FWD_SUB_DST4 : FWD_SUB_DST6, k->dst);
	if (used & FWD_F_SPORT)
		x &= sub_word(rs, rec, FWD_SUB_SPORT, sport_index(rs, k->sport));
	if (used & FWD_F_PROTO)
		x &= sub_load(rs, rec + rs->sub_off[FWD_SUB_PROTO], rs->sub_pcls[k->proto]);
	if (used & FWD_F_IN)
		x &= sub_load(rs, rec + rs->sub_off[FWD_SUB_IN], iface_class(rs, k));
	/*
	 * No branch on the outcome: with no bit set, the top bit of the width
	 * names a rule number that is read (sub ends with room for it) and the
	 * mask turns it into -1. A branch here was three in four of a
	 * 10,000-rule table's mispredictions.
	 */
	rules = (const uint32_t *)(rec + ((const struct fwd_sub_hdr *)rec)->rules);
	miss = 0u - (uint32_t)(x == 0);
	__asm__("" : "+r"(miss));	/* else the compiler branches on it again */
	return (int)(rules[__builtin_ctzll(x | rs->sub_wtop)] | miss);
}

/*
 * Up to 64 rules every class is stored whole: the answer is one AND. That
 * path is kept apart from classify_words() so that it does not pay for the
 * other's stack frame and saved registers.
 */
int classify(const struct fwd_ruleset *rs, const struct fwd_key *k)
{
	struct lookup l;

	if (!rs->nrules)
		return -1;
	if (rs->sub) {
		uint32_t d = rs->sub_rec[port_index(k->dport)];

		/* A port without a record takes the path of a table without them. */
		if (d != FWD_SUB_NONE)
			return classify_sub(rs, k, d);
	}
	if (rs->words != 1)
		return classify_words(rs, k);
	lookup_fill(&l, rs, k, true);
	return l.x ? __builtin_ctzll(l.x) : -1;
}

uint64_t ruleset_class_word(const struct fwd_ruleset *rs, int fld, uint32_t cls, uint32_t w)
{
	const struct fwd_xent *r = rs->f[fld].ent + rs->f[fld].off[cls];
	const struct fwd_xent *x = r + 1;
	uint32_t nx = (uint32_t)r->bits, lo = 0, hi = nx;

	if (nx == rs->words)
		return x[w].bits;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (x[mid].w < w)
			lo = mid + 1;
		else
			hi = mid;
	}
	return rs->f[fld].base[w] ^ (lo < nx && x[lo].w == w ? x[lo].bits : 0);
}

/*
 * With more than one word, every matching rule is among the candidates of
 * the home lists (see the top): only their words are probed, so the cost
 * follows the candidates, not the table's width.
 */
static bool match_all_words(const struct fwd_ruleset *rs, struct lookup *l, uint64_t *out)
{
	uint64_t any = 0, x;
	unsigned skip;
	uint32_t w;

	memset(out, 0, rs->words * sizeof(*out));
	if (rs->nany) {
		l->h[l->nh].p = rs->any;
		l->h[l->nh].end = rs->any + rs->nany;
		l->h[l->nh++].fld = l->n;
	}
	while ((w = next_candidates(l, &x, &skip)) != UINT32_MAX) {
		for (unsigned f = 0; f < l->n && x; f++)
			if (f != skip)
				x &= probe(l->v[f], l->base[f], rs->words, w);
		out[w] = x;
		any |= x;
	}
	return any != 0;
}

bool ruleset_match_all(const struct fwd_ruleset *rs, const struct fwd_key *k, uint64_t *out)
{
	struct lookup l;
	uint64_t any = 0;

	lookup_fill(&l, rs, k, false);
	if (rs->words > 1 && l.n)
		return match_all_words(rs, &l, out);
	for (uint32_t w = 0; w < rs->words; w++) {
		if (w + 1 < rs->words || !(rs->nrules % 64))
			out[w] = rs->nrules ? ~0ull : 0;
		else
			out[w] = (1ull << (rs->nrules % 64)) - 1;
		for (unsigned f = 0; f < l.n; f++)
			out[w] &= probe(l.v[f], l.base[f], rs->words, w);
		any |= out[w];
	}
	return any != 0;
}

int ruleset_next_match(const struct fwd_ruleset *rs, const struct fwd_key *k, int after,
		       uint64_t *scratch, bool (*ok)(const void *arg, uint32_t rule),
		       const void *arg)
{
	uint64_t *bits = scratch ? scratch : calloc(rs->words, sizeof(*bits));
	int found = -1;

	if (!bits)
		return -ENOMEM;
	if (ruleset_match_all(rs, k, bits))
		for (uint32_t i = (uint32_t)after + 1; i < rs->nrules && found < 0; i++)
			if ((bits[i / 64] >> (i % 64) & 1) && ok(arg, i))
				found = (int)i;
	if (!scratch)
		free(bits);
	return found;
}

bool ruleset_blocks_src(const struct fwd_ruleset *rs)
{
	return rs && rs->nblock;
}

bool ruleset_src_blocked(const struct fwd_ruleset *rs, unsigned family, fwd_u128 a)
{
	const struct fwd_bvset *bs;
	const struct fwd_xent *r;

	if (!ruleset_blocks_src(rs))
		return false;
	bs = &rs->f[family == 4 ? FWD_FLD_SRC4 : FWD_FLD_SRC6];
	r = bs->ent + (family == 4 ? v4_class(&rs->src4, (uint32_t)a) : v6_class(&rs->src6, a));
	for (uint32_t i = 0; i < rs->nblock; i++) {
		uint32_t b = rs->block[i];

		if (probe(r, bs->base, rs->words, b / 64) >> (b % 64) & 1)
			return true;
	}
	return false;
}
