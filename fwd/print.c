// SPDX-License-Identifier: MIT
/*
 * print.c - `fwd check --print`: the rules as fwd judges them, one per
 * line, in the manner of `pfctl -nv` (include/fwd/ruleset.h). Sets are
 * expanded, service names resolved to ports, negations and ranges
 * normalised to sorted, disjoint ranges, addresses written as the fewest
 * CIDR blocks, and the file's `log:` resolved into each rule. The format
 * is documented in fwd(8) and kept stable: tests/golden/print holds it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwd/icmp.h"
#include "fwd/ruleset.h"
#include "fwd/value.h"

static void print_duration(struct fwd_text *t, uint32_t ms)
{
	char d[32];

	duration_format(d, sizeof(d), ms);
	text_printf(t, "%s", d);
}

/* [LO, HI] of FAMILY (BITS 32 or 128) as the fewest CIDR blocks, comma separated. */
static void print_cidrs(struct fwd_text *t, unsigned family, fwd_u128 lo, fwd_u128 hi,
			bool *first)
{
	unsigned bits = family == 4 ? 32 : 128;
	char a[64];

	for (;;) {
		unsigned k = 0;
		fwd_u128 mask;

		while (k < bits) {
			mask = k + 1 == 128 ? ~(fwd_u128)0 : ((fwd_u128)1 << (k + 1)) - 1;
			if ((lo & mask) || hi - lo < mask)
				break;
			k++;
		}
		mask = k == 128 ? ~(fwd_u128)0 : ((fwd_u128)1 << k) - 1;
		addr_format(a, sizeof(a), family, lo);
		text_printf(t, "%s%s", *first ? "" : ",", a);
		if (k)
			text_printf(t, "/%u", bits - k);
		*first = false;
		if (hi - lo == mask)
			return;
		lo += mask + 1;
	}
}

static void print_addrs(struct fwd_text *t, const char *key, const struct fwd_addrset *s)
{
	bool first = true;

	text_printf(t, " %s ", key);
	for (uint32_t i = 0; i < s->n4; i++)
		print_cidrs(t, 4, s->v4[i].lo, s->v4[i].hi, &first);
	for (uint32_t i = 0; i < s->n6; i++)
		print_cidrs(t, 6, s->v6[i].lo, s->v6[i].hi, &first);
}

static void print_ports(struct fwd_text *t, const char *key, const struct fwd_portset *s)
{
	text_printf(t, " %s ", key);
	for (uint32_t i = 0; i < s->n; i++) {
		text_printf(t, "%s%u", i ? "," : "", s->r[i].lo);
		if (s->r[i].hi != s->r[i].lo)
			text_printf(t, "-%u", s->r[i].hi);
	}
}

/* icmp_type: ranges in sport above the ports (fwd/icmp.h), per protocol. */
static void print_icmp(struct fwd_text *t, const struct fwd_portset *s)
{
	char r[64];

	text_printf(t, " icmp_type ");
	for (uint32_t i = 0; i < s->n; i++) {
		icmp_range_str(s->r[i].lo, s->r[i].hi, r, sizeof(r));
		text_printf(t, "%s%s", i ? "," : "", r);
	}
}

static void print_proto_list(struct fwd_text *t, const uint8_t bits[FWD_PROTO_BYTES], bool want)
{
	bool first = true;

	for (unsigned p = 0; p < 256; p++) {
		const char *n = proto_name(p);

		if (!!(bits[p / 8] & (1u << (p % 8))) != want)
			continue;
		if (n)
			text_printf(t, "%s%s", first ? "" : ",", n);
		else
			text_printf(t, "%s%u", first ? "" : ",", p);
		first = false;
	}
}

/* The protocols a rule matches; more than half of them as "!{the others}". */
static void print_protos(struct fwd_text *t, const uint8_t bits[FWD_PROTO_BYTES])
{
	unsigned n = 0;

	for (unsigned p = 0; p < 256; p++)
		n += !!(bits[p / 8] & (1u << (p % 8)));
	if (n == 256)
		return;
	text_printf(t, " proto ");
	if (n <= 128) {
		print_proto_list(t, bits, true);
		return;
	}
	text_printf(t, "!{");
	print_proto_list(t, bits, false);
	text_printf(t, "}");
}

static void print_ifaces(struct fwd_text *t, const struct fwd_ifset *s)
{
	text_printf(t, " in ");
	for (uint32_t i = 0; i < s->n; i++)
		text_printf(t, "%s%s%s%s", i ? "," : "", s->p[i].neg ? "!" : "", s->p[i].name,
			    s->p[i].prefix ? "+" : "");
}

static void print_limit(struct fwd_text *t, const struct fwd_config *c,
			const struct fwd_limit_conf *lc)
{
	text_printf(t, " limit %u/", lc->count);
	print_duration(t, lc->per_ms);
	text_printf(t, " burst %u per src", lc->burst);
	if (lc->add_set < 0)
		return;
	text_printf(t, " on_exceed add $%s timeout ", c->dynsets[lc->add_set].name);
	print_duration(t, lc->add_timeout_ms ? lc->add_timeout_ms
					     : c->dynsets[lc->add_set].timeout_ms);
}

static void print_rule(struct fwd_text *t, const struct fwd_config *c,
		       const struct fwd_ruleset *rs, uint32_t i)
{
	const struct fwd_rule *r = &c->rules[i];
	const struct fwd_rule_info *ri = ruleset_rule(rs, i);
	char to[64];

	text_printf(t, "@%u %s: %s", i + 1, r->name, action_name(r->action));
	if (r->to) {
		target_format(to, sizeof(to), r->to, 0);
		text_printf(t, " to %s", to);
	}
	if (r->present & FWD_F_IN)
		print_ifaces(t, &r->in);
	print_protos(t, r->protos);
	if (r->dyn_src >= 0)
		text_printf(t, " src $%s", c->dynsets[r->dyn_src].name);
	else if (r->present & FWD_F_SRC)
		print_addrs(t, "src", &r->src);
	if (r->present & FWD_F_DST)
		print_addrs(t, "dst", &r->dst);
	if (r->present & FWD_F_ICMP)
		print_icmp(t, &r->sport);
	else if (r->present & FWD_F_SPORT)
		print_ports(t, "sport", &r->sport);
	if (r->present & FWD_F_DPORT)
		print_ports(t, "dport", &r->dport);
	if (ri && ri->log)
		text_printf(t, " log");
	if (r->limit)
		print_limit(t, c, r->limit);
	text_printf(t, "  # line %u\n", r->pos.line);
}

char *ruleset_print(const struct fwd_config *c, const struct fwd_ruleset *rs)
{
	static const char *const logmodes[] = { "none", "drops", "all" };
	struct fwd_text t = { 0 };

	text_printf(&t, "default %s%s\n", action_name(c->default_action),
		    ruleset_default_log(rs) ? " log" : "");
	text_printf(&t, "malformed %s\n", action_name(c->malformed_action));
	text_printf(&t, "log %s\n", logmodes[c->log]);
	for (uint32_t i = 0; i < c->ndynsets; i++) {
		text_printf(&t, "dynamic $%s timeout ", c->dynsets[i].name);
		print_duration(&t, c->dynsets[i].timeout_ms);
		text_printf(&t, " max %u\n", c->dynsets[i].max);
	}
	for (uint32_t i = 0; i < c->nrules; i++)
		print_rule(&t, c, rs, i);
	return text_take(&t);
}
