// SPDX-License-Identifier: MIT
/*
 * test_diff.c - differential test of the compiled classifier.
 *
 * Random rulesets (ports, ranges, $sets, negations, v4/v6, protocols,
 * interfaces with prefix wildcards and negation, icmp_type names, numbers
 * and TYPE/CODE for icmp and icmpv6 alone or together) are written as YAML and
 * loaded with config_parse(). Each random packet is judged three ways that
 * must agree: classify() on the compiled table, the linear oracle over the
 * loaded config, and a third matcher over the generator's own description of
 * the rules (negations and set references unresolved), which catches a
 * loader that resolves them wrongly. Every shadow warning is checked too:
 * no packet may match the shadowed rule without matching the rule named.
 *
 * Seeded and reproducible: FWD_SEED=N reruns one seed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "fwd/icmp.h"
#include "fwd/ruleset.h"
#include "fwd/table.h"	/* whether a table has per-port tables */
#include "oracle.h"

#define MAXE 4		/* elements per list */
#define NSETS 6

static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint32_t below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

/* ---- the generator's own description of a ruleset ---------------------- */

struct pelem {			/* port element: range or $set, maybe negated */
	bool neg;
	int set;		/* -1: the range below */
	uint32_t lo, hi;
};
struct aelem {			/* address element: CIDR or $set, maybe negated */
	bool neg;
	int set;
	int fam;
	fwd_u128 lo, hi;
	char text[64];
};
struct ielem {
	bool neg, prefix;
	char name[16];
};
/* One `icmp_type:` element: a name (per protocol) or a number, maybe a code. */
struct celem {
	bool neg;
	int name;		/* index in icmp_pool, or -1: TYPE is a number */
	int type, code;		/* code -1: every code */
};
struct grule {
	bool v4only;
	int nicmp;
	struct celem icmp[MAXE];		/* forward rule: only its target's family (rules.c) */
	int nproto;		/* 0: field absent */
	int proto[MAXE];	/* -1 any */
	bool proto_neg[MAXE];
	int nsrc, ndst, nsport, ndport, nin;
	struct aelem src[MAXE], dst[MAXE];
	struct pelem sport[MAXE], dport[MAXE];
	struct ielem in[MAXE];
};
struct gpset {
	int n;
	struct pelem e[MAXE];	/* never neg, never set */
};
struct gaset {
	int n;
	struct aelem e[MAXE];	/* maybe neg, never set */
};
struct gen {
	int nrules;
	struct grule *r;
	struct gpset ps[NSETS];
	struct gaset as[NSETS];
};

/* Values rules are built from, so packets can hit them. */
static const uint32_t port_pool[] = { 0, 1, 22, 53, 80, 443, 1023, 1024, 8080, 65535 };
static const uint32_t v4_pool[] = { 0x0a000000, 0x0a010200, 0xc0a80100, 0xc6336400,
				    0xcb007100, 0x7f000001, 0xffffffff, 0x00000000 };
static const char *const if_pool[] = { "eth0", "eth1", "eth10", "wan", "wan0", "lo", "br-lan",
				       "e" };
/* Names with their ICMP and ICMPv6 numbers (-1: that protocol has no such name). */
static const struct {
	const char *name;
	int t4, t6;
} icmp_pool[] = {
	{ "echo-request", 8, 128 }, { "echo-reply", 0, 129 },
	{ "destination-unreachable", 3, 1 }, { "time-exceeded", 11, 3 },
	{ "parameter-problem", 12, 4 }, { "packet-too-big", -1, 2 },
	{ "nd-neighbor-solicit", -1, 135 }, { "timestamp-request", 13, -1 },
	{ "redirect", 5, -1 },
};
#define NICMP_POOL ((int)(sizeof(icmp_pool) / sizeof(icmp_pool[0])))
static const int icmp_num_pool[] = { 0, 1, 2, 3, 8, 11, 13, 128, 129, 135, 255 };
static const int icmp_code_pool[] = { 0, 1, 4, 255 };
static const int proto_pool[] = { 6, 17, 1, 58, -1 };
static const char *const proto_name[] = { "tcp", "udp", "icmp", "icmpv6", "any" };

static fwd_u128 v6_base(int i)
{
	static const uint64_t hi[] = { 0x20010db800000000ull, 0x20010db800010000ull,
				       0xfe80000000000000ull, 0x0ull };

	return (fwd_u128)hi[i % 4] << 64 | (uint64_t)(i / 4);
}

/*
 * Port-heavy rulesets (test_port_rulesets): nearly every rule names a dport
 * of its own, as a gateway's rules mostly do, so that few rules share a
 * port and the compiler builds its per-port tables (fwd/subtable.c).
 */
static bool port_heavy;

static void gen_port(struct pelem *e)
{
	uint32_t a = port_pool[below(10)], b;

	e->set = -1;
	e->neg = below(port_heavy ? 400 : 6) == 0;
	if (port_heavy) {
		a = below(8) ? 1 + below(65535) : a;
		b = a + below(4);
	} else {
		a = below(3) ? a : below(65536);
		b = below(3) ? a : a + below(2000);
	}
	e->lo = a;
	e->hi = b > 65535 ? 65535 : b;
}

static void gen_cidr(struct aelem *e)
{
	e->set = -1;
	e->neg = false;
	if (below(3)) {
		unsigned len = 8 + below(25);
		uint32_t base = v4_pool[below(8)] ^ (below(4) ? 0 : (uint32_t)rnd());
		uint32_t mask = len == 32 ? ~0u : ~(~0u >> len);

		e->fam = 4;
		e->lo = base & mask;
		e->hi = (base & mask) | ~mask;
		snprintf(e->text, sizeof(e->text), "%u.%u.%u.%u/%u", (base & mask) >> 24,
			 ((base & mask) >> 16) & 255, ((base & mask) >> 8) & 255, base & mask & 255,
			 len);
	} else {
		unsigned len = 16 + below(113);
		fwd_u128 base = v6_base((int)below(12));
		fwd_u128 mask = len == 128 ? ~(fwd_u128)0 : ~(~(fwd_u128)0 >> len);
		uint64_t h = (uint64_t)((base & mask) >> 64);

		e->fam = 6;
		e->lo = base & mask;
		e->hi = (base & mask) | ~mask;
		snprintf(e->text, sizeof(e->text), "%x:%x:%x:%x::%x/%u", (unsigned)(h >> 48),
			 (unsigned)(h >> 32) & 0xffff, (unsigned)(h >> 16) & 0xffff,
			 (unsigned)h & 0xffff, (unsigned)(base & mask & 0xffff), len);
	}
}

static void gen_sets(struct gen *g)
{
	for (int s = 0; s < NSETS; s++) {
		g->ps[s].n = 1 + (int)below(MAXE);
		for (int k = 0; k < g->ps[s].n; k++) {
			gen_port(&g->ps[s].e[k]);
			g->ps[s].e[k].neg = false;
		}
		g->as[s].n = 1 + (int)below(MAXE);
		for (int k = 0; k < g->as[s].n; k++)
			gen_cidr(&g->as[s].e[k]);
		/* a negated element inside a set, never of a /0 */
		g->as[s].e[0].neg = below(4) == 0;
	}
}

static int gen_ports(struct pelem *e, bool need)
{
	int n = below(2) && !need ? 0 : 1 + (int)below(MAXE);

	for (int k = 0; k < n; k++) {
		gen_port(&e[k]);
		if (!below(5))
			e[k].set = (int)below(NSETS);
	}
	return n;
}

static int gen_addrs(struct aelem *e)
{
	int n = below(2) ? 0 : 1 + (int)below(MAXE);

	for (int k = 0; k < n; k++) {
		gen_cidr(&e[k]);
		e[k].neg = below(6) == 0;
		if (!below(5))
			e[k].set = (int)below(NSETS);
	}
	return n;
}

/* A forward rule's src/dst must keep an address of its target's family. */
static void keep_v4(struct aelem *e, int n)
{
	if (!n)
		return;
	do
		gen_cidr(&e[n - 1]);
	while (e[n - 1].fam != 4);
}

/* An icmp_type: rule: proto icmp, icmpv6 or both, elements each knows. */
static void gen_icmp_rule(struct grule *r)
{
	r->nproto = 1 + (int)below(2);
	r->proto[0] = 2 + (int)below(2);
	r->proto[1] = r->proto[0] == 2 ? 3 : 2;
	r->proto_neg[0] = r->proto_neg[1] = false;
	r->nicmp = 1 + (int)below(3);
	for (int k = 0; k < r->nicmp; k++) {
		struct celem *e = &r->icmp[k];
		int n;

		e->neg = below(6) == 0;
		e->code = below(3) ? -1 : icmp_code_pool[below(4)];
		e->name = -1;
		e->type = icmp_num_pool[below(sizeof(icmp_num_pool) / sizeof(icmp_num_pool[0]))];
		if (below(3))
			continue;
		n = (int)below(NICMP_POOL);
		/* a name must exist for each of the rule's protocols */
		if ((icmp_pool[n].t4 >= 0 || (r->nproto == 1 && r->proto[0] == 3)) &&
		    (icmp_pool[n].t6 >= 0 || (r->nproto == 1 && r->proto[0] == 2)))
			e->name = n;
	}
}

static void gen_rule(struct grule *r, bool forward)
{
	memset(r, 0, sizeof(*r));
	r->v4only = forward;
	r->nproto = below(3) ? 1 + (int)below(2) : 0;
	for (int k = 0; k < r->nproto; k++) {
		r->proto[k] = (int)below(5);
		r->proto_neg[k] = below(8) == 0;
	}
	r->nsrc = gen_addrs(r->src);
	r->ndst = below(2) ? gen_addrs(r->dst) : 0;
	r->nsport = below(4) ? 0 : gen_ports(r->sport, false);
	r->ndport = gen_ports(r->dport, port_heavy && below(50));
	if ((r->nsport || r->ndport) && r->nproto) {	/* ports need tcp or udp */
		r->proto[0] = (int)below(2);
		r->proto_neg[0] = false;
	}
	if (forward) {
		keep_v4(r->src, r->nsrc);
		keep_v4(r->dst, r->ndst);
	}
	/* icmp rules name no dport: few, where tables must keep their per-port records */
	if (!below(port_heavy ? 40 : 6)) {
		r->nsport = r->ndport = 0;
		gen_icmp_rule(r);
	}
	r->nin = below(4) ? 0 : 1 + (int)below(3);
	for (int k = 0; k < r->nin; k++) {
		const char *nm = if_pool[below(8)];

		r->in[k].neg = below(5) == 0;
		r->in[k].prefix = below(3) == 0;
		snprintf(r->in[k].name, sizeof(r->in[k].name), "%.*s", r->in[k].prefix ?
			 (int)(1 + below((uint32_t)strlen(nm))) : 15, nm);
	}
}

/* ---- the generator's matcher ---------------------------------------------- */

static bool pelem_match(const struct gen *g, const struct pelem *e, uint32_t p)
{
	bool m = false;

	if (e->set < 0)
		m = e->lo <= p && p <= e->hi;
	for (int k = 0; e->set >= 0 && k < g->ps[e->set].n; k++)
		m |= g->ps[e->set].e[k].lo <= p && p <= g->ps[e->set].e[k].hi;
	return m != e->neg;
}

static bool ports_match(const struct gen *g, const struct pelem *e, int n, uint32_t p)
{
	if (!n)
		return true;
	if (p >= FWD_NOPORT)	/* no ports, or an ICMP type (fwd/icmp.h) */
		return false;
	for (int k = 0; k < n; k++)
		if (pelem_match(g, &e[k], p))
			return true;
	return false;
}

/* A negated address matches only its own family (see rules.c addr_scalar()). */
static bool cidr_match(const struct aelem *e, int fam, fwd_u128 a)
{
	if (e->fam != fam)
		return false;
	return (e->lo <= a && a <= e->hi) != e->neg;
}

static bool aelem_match(const struct gen *g, const struct aelem *e, int fam, fwd_u128 a)
{
	const struct gaset *s;
	bool has = false, in = false;

	if (e->set < 0)
		return cidr_match(e, fam, a);
	s = &g->as[e->set];
	for (int k = 0; k < s->n; k++) {
		has |= s->e[k].fam == fam;	/* prefixes >= 8: never empty */
		in |= cidr_match(&s->e[k], fam, a);
	}
	return e->neg ? has && !in : in;
}

static bool addrs_match(const struct gen *g, const struct aelem *e, int n, int fam, fwd_u128 a)
{
	if (!n)
		return true;
	for (int k = 0; k < n; k++)
		if (aelem_match(g, &e[k], fam, a))
			return true;
	return false;
}

static bool gproto_match(const struct grule *r, int proto)
{
	if (!r->nproto)
		return true;
	for (int k = 0; k < r->nproto; k++) {
		int p = proto_pool[r->proto[k]];
		bool m = p < 0 || p == proto;

		if (m != r->proto_neg[k])
			return true;
	}
	return false;
}

static bool gin_match(const struct grule *r, const char *name)
{
	if (!r->nin)
		return true;
	for (int k = 0; k < r->nin; k++) {
		const struct ielem *e = &r->in[k];
		bool m = e->prefix ? !strncmp(name, e->name, strlen(e->name)) : !strcmp(name, e->name);

		if (m != e->neg)
			return true;
	}
	return false;
}

/* The packet's type and code must be of its own protocol's range (fwd/icmp.h). */
static bool icmp_match(const struct grule *r, const struct fwd_key *k)
{
	uint32_t base = k->proto == 58 ? FWD_ICMP6_BASE : FWD_ICMP4_BASE;
	int t, c;

	if (!r->nicmp)
		return true;
	if ((k->proto != 1 && k->proto != 58) || k->sport < base || k->sport > base + 65535)
		return false;
	t = (int)((k->sport - base) >> 8);
	c = (int)((k->sport - base) & 0xff);
	for (int i = 0; i < r->nicmp; i++) {
		const struct celem *e = &r->icmp[i];
		int et = e->name < 0 ? e->type :
			 k->proto == 58 ? icmp_pool[e->name].t6 : icmp_pool[e->name].t4;
		bool m = et == t && (e->code < 0 || e->code == c);

		if (m != e->neg)
			return true;
	}
	return false;
}

static bool grule_match(const struct gen *g, const struct grule *r, const struct fwd_key *k,
			const char *ifname)
{
	return (!r->v4only || k->family == 4) && gproto_match(r, k->proto) && icmp_match(r, k) &&
	       addrs_match(g, r->src, r->nsrc, k->family, k->src) &&
	       addrs_match(g, r->dst, r->ndst, k->family, k->dst) &&
	       ports_match(g, r->sport, r->nsport, k->sport) &&
	       ports_match(g, r->dport, r->ndport, k->dport) && gin_match(r, ifname);
}

static int gen_classify(const struct gen *g, const struct fwd_key *k, const char *ifname)
{
	for (int i = 0; i < g->nrules; i++)
		if (grule_match(g, &g->r[i], k, ifname))
			return i;
	return -1;
}

/* ---- YAML ------------------------------------------------------------------ */

struct buf {
	char *s;
	size_t len, cap;
};

__attribute__((format(printf, 2, 3)))
static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (b->len + (size_t)n + 1 > b->cap) {
		b->cap = (b->len + (size_t)n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		assert_non_null(b->s);
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static void put_pelem(struct buf *b, const struct pelem *e)
{
	if (e->set >= 0)
		put(b, "\"%s$p%d\"", e->neg ? "!" : "", e->set);
	else if (e->lo == e->hi)
		put(b, "\"%s%u\"", e->neg ? "!" : "", e->lo);
	else
		put(b, "\"%s%u-%u\"", e->neg ? "!" : "", e->lo, e->hi);
}

static void put_aelem(struct buf *b, const struct aelem *e)
{
	if (e->set >= 0)
		put(b, "\"%s$a%d\"", e->neg ? "!" : "", e->set);
	else
		put(b, "\"%s%s\"", e->neg ? "!" : "", e->text);
}

static void put_ports(struct buf *b, const char *key, const struct pelem *e, int n)
{
	if (!n)
		return;
	put(b, "    %s: [", key);
	for (int k = 0; k < n; k++) {
		put(b, k ? ", " : "");
		put_pelem(b, &e[k]);
	}
	put(b, "]\n");
}

static void put_addrs(struct buf *b, const char *key, const struct aelem *e, int n)
{
	if (!n)
		return;
	put(b, "    %s: [", key);
	for (int k = 0; k < n; k++) {
		put(b, k ? ", " : "");
		put_aelem(b, &e[k]);
	}
	put(b, "]\n");
}

static void put_rule(struct buf *b, int i, const struct grule *r)
{
	static const char *const act[] = { "allow", "drop", "forward\n    to: 10.9.8.7:80" };

	put(b, "  - name: r%d\n", i);
	if (r->nproto) {
		put(b, "    proto: [");
		for (int k = 0; k < r->nproto; k++)
			put(b, "%s\"%s%s\"", k ? ", " : "", r->proto_neg[k] ? "!" : "",
			    proto_name[r->proto[k]]);
		put(b, "]\n");
	}
	put_addrs(b, "src", r->src, r->nsrc);
	put_addrs(b, "dst", r->dst, r->ndst);
	put_ports(b, "sport", r->sport, r->nsport);
	put_ports(b, "dport", r->dport, r->ndport);
	if (r->nicmp) {
		put(b, "    icmp_type: [");
		for (int k = 0; k < r->nicmp; k++) {
			const struct celem *e = &r->icmp[k];

			put(b, "%s\"%s", k ? ", " : "", e->neg ? "!" : "");
			if (e->name >= 0)
				put(b, "%s", icmp_pool[e->name].name);
			else
				put(b, "%d", e->type);
			if (e->code >= 0)
				put(b, "/%d", e->code);
			put(b, "\"");
		}
		put(b, "]\n");
	}
	if (r->nin) {
		put(b, "    in: [");
		for (int k = 0; k < r->nin; k++)
			put(b, "%s\"%s%s%s\"", k ? ", " : "", r->in[k].neg ? "!" : "", r->in[k].name,
			    r->in[k].prefix ? "+" : "");
		put(b, "]\n");
	}
	put(b, "    action: %s\n", act[i % 3]);
}

static char *gen_yaml(const struct gen *g)
{
	struct buf b = { 0 };

	put(&b, "version: 1\ndefault: drop\nsets:\n");
	for (int s = 0; s < NSETS; s++) {
		put(&b, "  p%d: [", s);
		for (int k = 0; k < g->ps[s].n; k++) {
			put(&b, k ? ", " : "");
			put_pelem(&b, &g->ps[s].e[k]);
		}
		put(&b, "]\n  a%d: [", s);
		for (int k = 0; k < g->as[s].n; k++) {
			put(&b, k ? ", " : "");
			put_aelem(&b, &g->as[s].e[k]);
		}
		put(&b, "]\n");
	}
	put(&b, "rules:\n");
	for (int i = 0; i < g->nrules; i++)
		put_rule(&b, i, &g->r[i]);
	return b.s;
}

/* ---- packets ------------------------------------------------------------------- */

/* A value near a rule's edge, inside it, or anywhere. */
static fwd_u128 near(fwd_u128 lo, fwd_u128 hi, fwd_u128 max)
{
	switch (below(6)) {
	case 0: return lo;
	case 1: return hi;
	case 2: return lo ? lo - 1 : lo;
	case 3: return hi < max ? hi + 1 : hi;
	case 4: return hi - lo + 1 ? lo + ((fwd_u128)rnd() << 64 | rnd()) % (hi - lo + 1) :
				     ((fwd_u128)rnd() << 64 | rnd()) & max;
	default: return ((fwd_u128)rnd() << 64 | rnd()) & max;
	}
}

static fwd_u128 pick_addr(const struct gen *g, const struct grule *r, int fam, bool src)
{
	const struct aelem *e = src ? r->src : r->dst;
	int n = src ? r->nsrc : r->ndst;
	fwd_u128 max = fam == 4 ? 0xffffffffu : ~(fwd_u128)0;
	const struct aelem *x;

	if (!n)
		return near(0, max, max);
	x = &e[below((uint32_t)n)];
	if (x->set >= 0)
		x = &g->as[x->set].e[below((uint32_t)g->as[x->set].n)];
	if (x->fam != fam)
		return near(0, max, max);
	return near(x->lo, x->hi, max);
}

static uint32_t pick_port(const struct gen *g, const struct pelem *e, int n)
{
	const struct pelem *x;

	if (!below(8))
		return FWD_NOPORT;
	if (!n)
		return (uint32_t)near(0, 65535, 65535);
	x = &e[below((uint32_t)n)];
	if (x->set >= 0)
		x = &g->ps[x->set].e[below((uint32_t)g->ps[x->set].n)];
	return (uint32_t)near(x->lo, x->hi, 65535);
}

/* An ICMP key's sport: near one of the rule's elements, or any type. */
static uint32_t pick_icmp(const struct grule *r, uint8_t proto)
{
	int t = (int)below(256), c = (int)below(256);

	if (r->nicmp && below(4)) {
		const struct celem *e = &r->icmp[below((uint32_t)r->nicmp)];
		int et = e->name < 0 ? e->type :
			 proto == 58 ? icmp_pool[e->name].t6 : icmp_pool[e->name].t4;

		t = et < 0 ? t : et + (int)below(3) - 1;
		t = t < 0 ? 0 : t > 255 ? 255 : t;
		c = e->code >= 0 && below(2) ? e->code : below(2) ? 0 : c;
	}
	/* never the other protocol's range: packet_parse() pairs them (fwd/icmp.h) */
	return icmp_key(proto, (uint8_t)t, (uint8_t)c);
}

static const char *pick_if(const struct grule *r, char *tmp)
{
	static const char *const extra[] = { "", "eth", "eth2", "wan7", "br-lan0", "x" };

	if (r->nin && below(2)) {
		const struct ielem *e = &r->in[below((uint32_t)r->nin)];

		snprintf(tmp, 16, "%s%s", e->name, e->prefix && below(2) ? "9" : "");
		return tmp;
	}
	return below(2) ? if_pool[below(8)] : extra[below(6)];
}

/* A packet aimed at a random rule's values, so rules get hit. */
static const char *gen_packet(const struct gen *g, int ri, struct fwd_key *k, char *tmp)
{
	const struct grule *r = &g->r[ri];
	static const int protos[] = { 6, 17, 1, 58, 0, 255 };

	memset(k, 0, sizeof(*k));
	k->family = below(2) ? 4 : 6;
	if (r->nsrc && !r->src[0].neg && r->src[0].set < 0 && below(4))
		k->family = (uint8_t)r->src[0].fam;
	k->proto = (uint8_t)(r->nproto && below(4) ? (proto_pool[r->proto[0]] < 0 ? 6 :
			      proto_pool[r->proto[0]]) : protos[below(6)]);
	k->src = pick_addr(g, r, k->family, true);
	k->dst = pick_addr(g, r, k->family, false);
	k->sport = pick_port(g, r->sport, r->nsport);
	k->dport = pick_port(g, r->dport, r->ndport);
	if ((k->proto == 1 || k->proto == 58) && below(4))
		k->sport = pick_icmp(r, k->proto);
	return pick_if(r, tmp);
}

/* ---- the test ---------------------------------------------------------------------- */

static uint64_t seed;
static const char *cur_yaml;	/* printed with a mismatch when small */
static unsigned long packets, hits, shadows, subs, bigs;

static void print_key(const struct fwd_key *k, const char *ifname)
{
	fprintf(stderr, "  packet: family=%u proto=%u src=%016llx%016llx dst=%016llx%016llx "
		"sport=%u dport=%u in='%s'\n", k->family, k->proto,
		(unsigned long long)(k->src >> 64), (unsigned long long)k->src,
		(unsigned long long)(k->dst >> 64), (unsigned long long)k->dst, k->sport, k->dport,
		ifname);
}

static void check_packet(const struct gen *g, const struct fwd_config *c,
			 const struct fwd_ruleset *rs, struct fwd_key *k, const char *ifname)
{
	int got, want, mine;

	k->iface = ruleset_iface_class(rs, ifname);
	got = classify(rs, k);
	want = oracle_classify(c, k, ifname);
	mine = gen_classify(g, k, ifname);
	packets++;
	hits += want >= 0;
	if (got == want && want == mine)
		return;
	fprintf(stderr, "mismatch: %d rules, seed %llu: classify=%d oracle=%d generator=%d\n",
		g->nrules, (unsigned long long)seed, got, want, mine);
	print_key(k, ifname);
	if (g->nrules <= 20)
		fprintf(stderr, "%s", cur_yaml);
	fail();
}

/* "rule 'rJ' is never reached: rule 'rI' (line N)": J and I from one line. */
static const char *next_shadow(const char *s, int *j, int *i)
{
	const char *w = s ? strstr(s, "warning: rule 'r") : NULL;

	if (!w || sscanf(w, "warning: rule 'r%d' is never reached: rule 'r%d'", j, i) != 2)
		return NULL;
	return w + 1;
}

/* No packet aimed at the shadowed rule may match it without the earlier one. */
static void check_shadows(const struct gen *g, const struct fwd_config *c,
			  const struct fwd_ruleset *rs)
{
	struct fwd_diags d;
	const char *p;
	int j, i;
	char tmp[16];

	diags_init(&d, "gen");
	ruleset_shadows(rs, c, &d);
	for (p = next_shadow(d.text, &j, &i); p; p = next_shadow(p, &j, &i)) {
		assert_true(i < j);
		shadows++;
		for (int n = 0; n < 200; n++) {
			struct fwd_key k;
			const char *ifname = gen_packet(g, j, &k, tmp);

			if (oracle_rule_matches(&c->rules[j], &k, ifname) &&
			    !oracle_rule_matches(&c->rules[i], &k, ifname)) {
				fprintf(stderr, "wrong shadow warning, seed %llu: r%d by r%d\n",
					(unsigned long long)seed, j, i);
				print_key(&k, ifname);
				fail();
			}
		}
	}
	diags_free(&d);
}

static void one_round(int nrules, int npackets)
{
	struct gen g = { .nrules = nrules };
	struct fwd_diags d;
	struct fwd_config *c;
	struct fwd_ruleset *rs;
	char *yaml, tmp[16];

	g.r = calloc((size_t)nrules, sizeof(*g.r));
	assert_non_null(g.r);
	gen_sets(&g);
	for (int i = 0; i < nrules; i++)
		gen_rule(&g.r[i], i % 3 == 2);
	yaml = gen_yaml(&g);
	cur_yaml = yaml;
	diags_init(&d, "gen");
	c = config_parse(yaml, strlen(yaml), &d);
	if (!c)
		fprintf(stderr, "seed %llu: generated file rejected:\n%s\n%s",
			(unsigned long long)seed, d.text ? d.text : "", yaml);
	assert_non_null(c);
	assert_int_equal(c->nrules, (unsigned)nrules);
	rs = ruleset_compile(c);
	assert_non_null(rs);
	assert_int_equal(ruleset_nrules(rs), (unsigned)nrules);
	for (int n = 0; n < npackets; n++) {
		struct fwd_key k;
		const char *ifname = gen_packet(&g, (int)below((uint32_t)nrules), &k, tmp);

		check_packet(&g, c, rs, &k, ifname);
	}
	check_shadows(&g, c, rs);
	if (rs->sub) {
		uint32_t big = 0;

		for (uint32_t p = 0; p < FWD_NPORTS; p++)
			big += rs->sub_rec[p] == FWD_SUB_NONE;
		subs += big < FWD_NPORTS / 2;	/* most ports have a record */
		bigs += big > 0;		/* and some keep the candidate path */
	}
	ruleset_free(rs);
	config_free(c);
	diags_free(&d);
	free(yaml);
	free(g.r);
}

static void test_random_rulesets(void **state)
{
	(void)state;
	for (int round = 0; round < 120; round++) {
		int nrules = round % 3 == 0 ? 1 + (int)below(10) :
			     round % 3 == 1 ? 10 + (int)below(90) : 100 + (int)below(901);

		one_round(nrules, 1000);
	}
	printf("test_diff: seed %llu, %lu packets, %lu matched a rule, %lu shadow warnings checked\n",
	       (unsigned long long)seed, packets, hits, shadows);
	assert_true(packets >= 100000);
	assert_true(hits * 4 > packets);	/* the packets must exercise the rules */
}

/*
 * Tables of thousands of rules: many words per class, where compile.c keeps
 * classes as sparse differences to a reference and recodes them against the
 * majority base, and where ruleset_match_all() (the shadow check) probes
 * only the candidates' words.
 */
static void test_big_rulesets(void **state)
{
	(void)state;
	for (int round = 0; round < 3; round++)
		one_round(2000 + (int)below(4000), 4000);
}

/* The per-port tables against the oracle: they must be built, and agree. */
static void test_port_rulesets(void **state)
{
	const int rounds = 60;

	(void)state;
	port_heavy = true;
	packets = hits = subs = bigs = 0;
	/* A third of one word (up to 64 rules): its ports without records take the AND. */
	for (int round = 0; round < rounds; round++)
		one_round(round % 3 ? 65 + (int)below(936) : 20 + (int)below(45), 2000);
	port_heavy = false;
	printf("test_diff: port-heavy: %lu packets, %lu matched a rule; of %d tables, %lu had "
	       "records for most ports, %lu some ports without\n", packets, hits, rounds, subs,
	       bigs);
	assert_true(subs * 4 >= (unsigned long)rounds * 3);
	assert_true(bigs * 4 >= (unsigned long)rounds);
	assert_true(hits * 4 > packets);
}

/* The rules in B, parsed and compiled with per-port tables. */
static struct fwd_ruleset *compile_sub(const struct buf *b, const char *name,
				       struct fwd_config **c)
{
	struct fwd_diags d;
	struct fwd_ruleset *rs;

	diags_init(&d, name);
	*c = config_parse(b->s, b->len, &d);
	diags_free(&d);
	assert_non_null(*c);
	rs = ruleset_compile(*c);
	assert_non_null(rs);
	assert_non_null(rs->sub);
	return rs;
}

static void free_sub(struct fwd_ruleset *rs, struct fwd_config *c, struct buf *b)
{
	ruleset_free(rs);
	config_free(c);
	free(b->s);
}

/*
 * A table of one word whose port 22 has no record: nine rules name it, while
 * the other 110 port classes (overlapping ranges, one or two rules each) fit
 * 8-bit words, and 99% is all the records are sized for. Its packets must
 * take the one-word AND, not the candidate path, which a table of one word
 * does not have.
 */
static void test_one_word_big_port(void **state)
{
	struct buf b = { 0 };
	struct fwd_config *c;
	struct fwd_ruleset *rs;

	(void)state;
	put(&b, "version: 1\ndefault: drop\nrules:\n");
	for (int i = 0; i < 9; i++)
		put(&b, "  - name: ssh%d\n    proto: tcp\n    src: 10.0.%d.0/24\n    dport: 22\n"
			"    action: allow\n", i, i);
	for (int i = 0; i < 55; i++)
		put(&b, "  - name: svc%d\n    proto: tcp\n    dport: %d-%d\n    action: allow\n", i,
		    1000 + 2 * i, 1002 + 2 * i);
	rs = compile_sub(&b, "big-port", &c);
	assert_true(rs->words == 1 && rs->sub_rec[22] == FWD_SUB_NONE);
	for (uint32_t i = 0; i < 12; i++) {
		struct fwd_key k = { .family = 4, .proto = 6, .src = 0x0a000005u | i << 8,
				     .sport = 40000, .dport = 22 };

		k.iface = ruleset_iface_class(rs, "eth0");
		assert_int_equal(classify(rs, &k), oracle_classify(c, &k, "eth0"));
		assert_int_equal(classify(rs, &k), i < 9 ? (int)i : -1);
	}
	free_sub(rs, c, &b);
}

/*
 * Each record as large as its own class: 1,000 ports of one rule with one
 * source prefix (a list of 3 intervals, 4 entries) beside 100 of one rule
 * with 12 (25 intervals, 32 entries), all with records. Padded to the
 * longest, every record would hold 32 entries (>= 200 bytes); as they are,
 * the short ones take 48 bytes and the mean stays under 80. Every rule's
 * packets, inside its prefixes and beside them, agree with the oracle.
 */
static void test_record_sizes(void **state)
{
	struct buf b = { 0 };
	struct fwd_config *c;
	struct fwd_ruleset *rs;

	(void)state;
	put(&b, "version: 1\ndefault: drop\nrules:\n");
	for (int i = 0; i < 1100; i++) {
		put(&b, "  - name: r%d\n    proto: tcp\n    dport: %d\n    action: allow\n"
			"    src: [", i, 1000 + i);
		for (int j = 0; j < (i < 1000 ? 1 : 12); j++)
			put(&b, "%s10.%d.%d.0/24", j ? ", " : "", i % 200, 2 * j);
		put(&b, "]\n");
	}
	rs = compile_sub(&b, "record-sizes", &c);
	assert_int_equal(rs->sub_nrec, 1101);	/* and the class of the other ports */
	printf("test_diff: %u records in %zu bytes\n", rs->sub_nrec, rs->sub_bytes);
	assert_true(rs->sub_bytes < 80 * (size_t)rs->sub_nrec);
	for (int i = 0; i < 1100; i++) {
		for (uint32_t at = 0; at < 26; at++) {
			struct fwd_key k = { .family = 4, .proto = 6, .sport = 40000,
					     .dport = (uint16_t)(1000 + i) };

			k.src = 0x0a000000u | (uint32_t)(i % 200) << 16 | at << 8 | 7;
			k.iface = ruleset_iface_class(rs, "eth0");
			assert_int_equal(classify(rs, &k), oracle_classify(c, &k, "eth0"));
			assert_int_equal(classify(rs, &k),
					 at % 2 == 0 && at / 2 < (i < 1000 ? 1u : 12u) ? i : -1);
		}
	}
	free_sub(rs, c, &b);
}

/*
 * Sixteen rules, rule i naming the ports below 65,535 with bit i set: every
 * one of them is a dport class of its own, and with the class of the rest
 * that is 65,535 classes, as many as compile.c allows. Each gets a record,
 * and every port answers with its lowest set bit.
 */
static void test_most_port_classes(void **state)
{
	struct buf b = { 0 };
	struct fwd_config *c;
	struct fwd_ruleset *rs;

	(void)state;
	put(&b, "version: 1\ndefault: drop\nrules:\n");
	for (uint32_t i = 0; i < 16; i++) {
		put(&b, "  - name: bit%u\n    proto: tcp\n    action: allow\n    dport: [", i);
		for (uint32_t p = 1u << i; p < 65535; p += 2u << i) {
			uint32_t hi = p + (1u << i) - 1 < 65534 ? p + (1u << i) - 1 : 65534;

			put(&b, "%s%u-%u", p > 1u << i ? ", " : "", p, hi);
		}
		put(&b, "]\n");
	}
	rs = compile_sub(&b, "classes", &c);
	assert_int_equal(rs->f[FWD_FLD_DPORT].ncls, 65535);
	assert_int_equal(rs->sub_nrec, 65535);
	for (uint32_t p = 0; p < 65536; p++) {
		struct fwd_key k = { .family = 4, .proto = 6, .src = 0x0a000001u, .sport = 40000,
				     .dport = (uint16_t)p };

		k.iface = ruleset_iface_class(rs, "eth0");
		assert_true(rs->sub_rec[p] != FWD_SUB_NONE);
		assert_int_equal(classify(rs, &k), p && p < 65535 ? __builtin_ctz(p) : -1);
	}
	free_sub(rs, c, &b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_rulesets),
		cmocka_unit_test(test_port_rulesets),
		cmocka_unit_test(test_big_rulesets),
		cmocka_unit_test(test_one_word_big_port),
		cmocka_unit_test(test_record_sizes),
		cmocka_unit_test(test_most_port_classes),
	};
	const char *env = getenv("FWD_SEED");

	seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL);
	printf("test_diff: seed %llu (rerun with FWD_SEED=%llu)\n", (unsigned long long)seed,
	       (unsigned long long)seed);
	rng = seed * 0x9e3779b97f4a7c15ull + 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
