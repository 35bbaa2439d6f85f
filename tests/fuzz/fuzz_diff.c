// SPDX-License-Identifier: MIT
/*
 * fuzz_diff.c - libFuzzer target, differential: the compiled classifier
 * (fwd/compile.c, fwd/classify.c) against the oracle (tests/lib/oracle.c) on
 * rulesets and packets made from the input. Aborts on any disagreement.
 *
 * Input, first byte even: a structured input. The bytes are decoded into a
 * small rules file (protocols, addresses, prefixes, ports, ranges, lists,
 * negations, interfaces, all drawn from small pools so that packets hit the
 * edges), rendered as YAML and loaded by config_parse(); the rest are
 * packets, 8 bytes each, drawn from the same pools.
 * First byte odd: the rest up to the first NUL is a rules file as it is,
 * the bytes after it are packets.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwd/ruleset.h"
#include "oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define YAML_MAX	8192
#define RULES_MAX	8
#define PKT_BYTES	8

struct rd {
	const uint8_t *p;
	size_t n;
};

/* The next byte, or 0 once the input is used up. */
static uint8_t next(struct rd *r)
{
	if (!r->n)
		return 0;
	r->n--;
	return *r->p++;
}

struct yb {
	char s[YAML_MAX];
	size_t len;
};

__attribute__((format(printf, 2, 3)))
static void put(struct yb *y, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (y->len >= sizeof(y->s))
		return;
	va_start(ap, fmt);
	n = vsnprintf(y->s + y->len, sizeof(y->s) - y->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		y->len += (size_t)n;
	if (y->len > sizeof(y->s))
		y->len = sizeof(y->s);
}

/* Ports: mostly tiny (so packets hit them), sometimes the edges. */
static const uint32_t port_edge[] = { 0, 1, 1023, 1024, 32767, 32768, 65534, 65535 };

static uint32_t pick_port(uint8_t b)
{
	return b < 200 ? b % 24u : port_edge[b % 8];
}

static const char *const protos[] = { "tcp", "udp", "icmp", "icmpv6", "any", "gre", "sctp", "50" };
#define N_PROTOS	(sizeof(protos) / sizeof(protos[0]))
static const char *const ifaces[] = { "eth0", "eth1", "eth+", "lo", "wlan0", "e+" };
static const uint8_t v4_plen[] = { 32, 31, 30, 28, 24, 16, 8, 0 };
static const uint8_t v6_plen[] = { 128, 127, 126, 120, 112, 64, 16, 0 };

static void gen_addr(struct yb *y, struct rd *r)
{
	uint8_t b = next(r), a = next(r);

	if (b & 0x80)
		put(y, "\"%sfd00::%x/%u\"", b & 0x40 ? "!" : "", a, v6_plen[b & 7]);
	else
		put(y, "\"%s10.0.0.%u/%u\"", b & 0x40 ? "!" : "", a, v4_plen[b & 7]);
}

static void gen_port(struct yb *y, struct rd *r)
{
	uint8_t b = next(r), lo = next(r), hi = next(r);
	uint32_t a = pick_port(lo), z = pick_port(hi);

	if (b & 1) {
		if (a > z) {
			uint32_t t = a;

			a = z;
			z = t;
		}
		put(y, "\"%s%u-%u\"", b & 2 ? "!" : "", a, z);
	} else {
		put(y, "\"%s%u\"", b & 2 ? "!" : "", a);
	}
}

/* A flow list of 1..3 elements made by GEN. */
static void gen_list(struct yb *y, struct rd *r, void (*gen)(struct yb *, struct rd *))
{
	unsigned n = next(r) % 3 + 1;

	put(y, "[");
	for (unsigned i = 0; i < n; i++) {
		if (i)
			put(y, ", ");
		gen(y, r);
	}
	put(y, "]");
}

static void gen_proto(struct yb *y, struct rd *r)
{
	uint8_t b = next(r);

	put(y, "\"%s%s\"", b & 0x80 ? "!" : "", protos[b % N_PROTOS]);
}

static void gen_iface(struct yb *y, struct rd *r)
{
	uint8_t b = next(r);

	put(y, "\"%s%s\"", b & 0x80 ? "!" : "", ifaces[b % 6]);
}

static void gen_rule(struct yb *y, struct rd *r, unsigned i)
{
	uint8_t f = next(r);

	put(y, "  - name: r%u\n", i);
	if (f & 1) {
		put(y, "    proto: ");
		gen_list(y, r, gen_proto);
		put(y, "\n");
	}
	if (f & 2) {
		put(y, "    src: ");
		gen_list(y, r, gen_addr);
		put(y, "\n");
	}
	if (f & 4) {
		put(y, "    dst: ");
		gen_list(y, r, gen_addr);
		put(y, "\n");
	}
	if (f & 8) {
		put(y, "    sport: ");
		gen_list(y, r, gen_port);
		put(y, "\n");
	}
	if (f & 16) {
		put(y, "    dport: ");
		gen_list(y, r, gen_port);
		put(y, "\n");
	}
	if (f & 32) {
		put(y, "    in: ");
		gen_list(y, r, gen_iface);
		put(y, "\n");
	}
	put(y, "    action: %s\n", f & 64 ? "allow" : "drop");
}

static size_t gen_rules(struct yb *y, struct rd *r)
{
	uint8_t b = next(r);
	unsigned n = b % RULES_MAX + 1;
	size_t before = r->n;

	put(y, "version: 1\ndefault: %s\nrules:\n", b & 0x80 ? "allow" : "drop");
	for (unsigned i = 0; i < n; i++)
		gen_rule(y, r, i);
	return before - r->n;
}

static const uint8_t pkt_protos[] = { 6, 17, 1, 58, 47, 50, 17, 132 };
static const char *const pkt_ifaces[] = { "eth0", "eth1", "lo", "wlan0", "", "e", "eth", "x" };

/* One packet from 8 bytes; its interface name in IFNAME. */
static void gen_key(const uint8_t *p, struct fwd_key *k, const char **ifname)
{
	memset(k, 0, sizeof(*k));
	k->family = p[0] & 1 ? 6 : 4;
	k->proto = pkt_protos[(p[0] >> 1) & 7];
	*ifname = pkt_ifaces[(p[0] >> 4) & 7];
	if ((k->proto == 6 || k->proto == 17) && !(p[0] & 0x80)) {
		k->sport = pick_port(p[1]);
		k->dport = pick_port(p[2]);
	} else {
		k->sport = FWD_NOPORT;	/* no ports, or a later fragment */
		k->dport = FWD_NOPORT;
	}
	if (k->family == 4) {
		k->src = p[3] & 0x80 ? (fwd_u128)(((uint32_t)p[3] << 24) | ((uint32_t)p[5] << 8) | p[4])
				     : (fwd_u128)(0x0a000000u | p[4]);
		k->dst = p[6] & 0x80 ? (fwd_u128)(((uint32_t)p[6] << 24) | ((uint32_t)p[3] << 8) | p[7])
				     : (fwd_u128)(0x0a000000u | p[7]);
	} else {
		fwd_u128 fd00 = (fwd_u128)0xfd00 << 112;

		k->src = (p[3] & 0x80 ? (fwd_u128)p[3] << 120 | (fwd_u128)p[5] << 8 : fd00) | p[4];
		k->dst = (p[6] & 0x80 ? (fwd_u128)p[6] << 120 | (fwd_u128)p[5] << 16 : fd00) | p[7];
	}
}

static void check(const struct fwd_config *c, const struct fwd_ruleset *rs, const uint8_t *p,
		  const char *yaml, size_t ylen)
{
	struct fwd_key k;
	const char *ifname;
	int got, want;

	gen_key(p, &k, &ifname);
	k.iface = ruleset_iface_class(rs, ifname);
	got = classify(rs, &k);
	want = oracle_classify(c, &k, ifname);
	if (got == want)
		return;
	fprintf(stderr, "fuzz_diff: classify() says %d, the oracle %d\n"
		"packet: family %u proto %u sport %u dport %u in '%s' src %016llx%016llx "
		"dst %016llx%016llx\nrules:\n%.*s\n", got, want, k.family, k.proto, k.sport,
		k.dport, ifname, (unsigned long long)(k.src >> 64), (unsigned long long)k.src,
		(unsigned long long)(k.dst >> 64), (unsigned long long)k.dst, (int)ylen, yaml);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct yb y;
	struct rd r = { data + 1, size ? size - 1 : 0 };
	struct fwd_diags d;
	struct fwd_config *c;
	struct fwd_ruleset *rs;
	const uint8_t *pk;
	size_t npk;

	if (size < 2)
		return 0;
	y.len = 0;
	if (data[0] & 1) {
		const uint8_t *nul = memchr(r.p, 0, r.n);
		size_t yl = nul ? (size_t)(nul - r.p) : r.n;

		if (yl > sizeof(y.s))
			return 0;
		memcpy(y.s, r.p, yl);
		y.len = yl;
		pk = r.p + yl + (nul ? 1 : 0);
		npk = (size_t)(data + size - pk);
	} else {
		gen_rules(&y, &r);
		pk = r.p;
		npk = r.n;
	}
	diags_init(&d, "fuzz");
	c = config_parse(y.s, y.len, &d);
	diags_free(&d);
	if (!c)
		return 0;
	rs = ruleset_compile(c);
	if (rs) {
		/* Every packet of the input, and always at least one. */
		static const uint8_t zero[PKT_BYTES];

		check(c, rs, npk >= PKT_BYTES ? pk : zero, y.s, y.len);
		for (size_t off = PKT_BYTES; off + PKT_BYTES <= npk; off += PKT_BYTES)
			check(c, rs, pk + off, y.s, y.len);
		ruleset_free(rs);
	}
	config_free(c);
	return 0;
}
