// SPDX-License-Identifier: MIT
/*
 * rule.c - one entry of `rules:`: its match fields, action, target, log
 * and name (include/fwd/load.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>
#include "fwd/config.h"
#include "fwd/icmp.h"
#include "fwd/ifname.h"
#include "fwd/log.h"
#include "fwd/value.h"
#include "fwd/load.h"

/* ---- rules ------------------------------------------------------------ */

/* A rule's keys, each value kept in rctx.f at its RK_ index. */
static const struct ykey rule_keys[] = {
	[RK_NAME] = { "name", NULL }, [RK_PROTO] = { "proto", NULL }, [RK_SRC] = { "src", NULL },
	[RK_DST] = { "dst", NULL }, [RK_SPORT] = { "sport", NULL }, [RK_DPORT] = { "dport", NULL },
	[RK_IN] = { "in", NULL }, [RK_ACTION] = { "action", NULL }, [RK_TO] = { "to", NULL },
	[RK_LOG] = { "log", NULL }, [RK_COMMENT] = { "comment", NULL },
	[RK_LIMIT] = { "limit", NULL }, [RK_ON_EXCEED] = { "on_exceed", NULL },
	[RK_ICMP] = { "icmp_type", NULL },
	[RK_N] = { NULL, NULL },
};

/* Elements of a field: the node itself when scalar, its items when a list. */
static bool field_items(struct ld *l, const struct ynode *const *vp, const char *key,
			const struct ynode *const **items, size_t *n)
{
	const struct ynode *v = *vp;

	if (v->kind == Y_SCALAR) {
		*items = vp;
		*n = 1;
		return true;
	}
	if (v->kind == Y_MAP) {
		diag_error(l->d, v->pos, "%s: must be a value or a list, not a mapping", key);
		return false;
	}
	if (v->n == 0) {
		diag_error(l->d, v->pos, "%s: is an empty list; the rule could never match", key);
		return false;
	}
	for (size_t i = 0; i < v->n; i++)
		if (ykid(v)[i]->kind != Y_SCALAR) {
			diag_error(l->d, ykid(v)[i]->pos, "%s: elements must be single values, not %s",
				   key, kind_name(ykid(v)[i]));
			return false;
		}
	*items = ykid(v);
	*n = v->n;
	return true;
}

/* A rules file's protocol: value.h's number, -1 for "any", -2 for anything else. */
static int proto_num(const char *s)
{
	int p = proto_number(s);

	if (!strcmp(s, "any"))
		return -1;
	return p < 0 ? -2 : p;
}

static bool proto_elem(struct ld *l, const struct ynode *n, uint8_t bits[FWD_PROTO_BYTES])
{
	const char *s = n->s + (n->s[0] == '!');
	int p = proto_num(s);

	if (p == -2) {
		char names[128];

		proto_names(names, sizeof(names));
		diag_error(l->d, n->pos, "unknown protocol '%s'; expected one of: %s, any", n->s,
			   names);
		return false;
	}
	if (n->s[0] == '!') {
		uint8_t t[FWD_PROTO_BYTES];

		memset(t, p == -1 ? 0 : 0xff, sizeof(t));
		if (p >= 0)
			t[p / 8] &= (uint8_t)~(1u << (p % 8));
		for (int i = 0; i < FWD_PROTO_BYTES; i++)
			bits[i] |= t[i];
	} else if (p == -1) {
		memset(bits, 0xff, FWD_PROTO_BYTES);
	} else {
		bits[p / 8] |= (uint8_t)(1u << (p % 8));
	}
	return true;
}

/*
 * BITS in the rules' memory, or the same bitmap of one of the last few
 * rules: a file names a handful of protocol sets, and a bitmap for each of
 * 100,000 rules is 3 MiB.
 */
static const uint8_t *protos_shared(struct ld *l, const uint8_t bits[FWD_PROTO_BYTES])
{
	static const uint8_t none[FWD_PROTO_BYTES];	/* out of memory: the load fails */
	uint8_t *p;

	for (unsigned i = 0; i < LD_PROTOS; i++)
		if (l->protos[i] && !memcmp(l->protos[i], bits, FWD_PROTO_BYTES))
			return l->protos[i];
	p = chunk_alloc(&l->c->rule_mem, 1, FWD_PROTO_BYTES);
	if (!p) {
		l->oom = true;
		return none;
	}
	memcpy(p, bits, FWD_PROTO_BYTES);
	l->protos[l->protos_at++ % LD_PROTOS] = p;
	return p;
}

static void rule_proto(struct ld *l, struct rctx *x)
{
	const struct ynode *const *it;
	size_t n;
	uint8_t bits[FWD_PROTO_BYTES] = { 0 }, any[FWD_PROTO_BYTES];

	memset(any, 0xff, sizeof(any));
	x->r->protos = protos_shared(l, any);
	if (!x->f[RK_PROTO])
		return;
	x->bad_proto = true;
	if (!field_items(l, &x->f[RK_PROTO], "proto", &it, &n))
		return;
	for (size_t i = 0; i < n; i++)
		if (!proto_elem(l, it[i], bits))
			return;
	x->r->protos = protos_shared(l, bits);
	x->r->present |= FWD_F_PROTO;
	x->bad_proto = false;
}

static bool has_proto(const struct fwd_rule *r, int p)
{
	return r->protos[p / 8] & (1u << (p % 8));
}

static void rule_ports(struct ld *l, struct rctx *x, int key, struct fwd_portset *ps,
		       uint32_t bit)
{
	const struct ynode *v = x->f[key], *const *it;
	unsigned pm = (has_proto(x->r, FWD_PROTO_TCP) ? PM_TCP : 0) | (has_proto(x->r, FWD_PROTO_UDP) ? PM_UDP : 0);
	struct rl r = { 0 };
	bool ok = true;
	size_t n;

	if (!v)
		return;
	if (!field_items(l, &x->f[key], rule_keys[key].name, &it, &n))
		return;
	if (!pm) {
		if (!x->bad_proto)
			diag_error(l->d, v->pos,
				   "%s: in %s, whose protocols carry no ports; ports need proto tcp or udp",
				   rule_keys[key].name, x->label);
		return;
	}
	for (size_t i = 0; i < n; i++)
		ok &= port_scalar(l, it[i], it[i]->s, pm, &r, true, PCTX_RULE);
	if (ok) {
		to_portset(l, &l->c->rule_mem, &r, ps);
		x->r->present |= bit;
	}
	rl_free(&r);
}

/*
 * One `icmp_type:` element for protocol P into OUT, as key values (icmp.h).
 * "!x" takes the rest of P's values.
 */
static bool icmp_elem(struct ld *l, const struct ynode *n, uint8_t p, struct rl *out)
{
	const char *s = n->s + (n->s[0] == '!');
	uint32_t lo, hi, base = p == 58 ? FWD_ICMP6_BASE : FWD_ICMP4_BASE;
	char names[512];
	int e = icmp_parse(s, p, &lo, &hi);

	if (e == -ENOENT) {
		icmp_names(p, names, sizeof(names));
		diag_error(l->d, n->pos, "unknown %s type '%.*s'; expected a number 0-255 or one of: %s",
			   p == 58 ? "icmpv6" : "icmp", (int)strcspn(s, "/"), s, names);
		return false;
	}
	if (e) {
		diag_error(l->d, n->pos,
			   "invalid icmp_type '%s'; expected NAME, a number 0-255, NAME/CODE or TYPE/CODE (CODE 0-255)",
			   n->s);
		return false;
	}
	if (n->s[0] != '!') {
		rl_add(out, base + lo, base + hi);
		return true;
	}
	if (lo > 0)
		rl_add(out, base, base + lo - 1);
	if (hi < 65535)
		rl_add(out, base + hi + 1, base + 65535);
	return true;
}

/*
 * `icmp_type:` rides in the sport values above the ports (fwd/icmp.h), each
 * name resolved for each of the rule's protocols, which must be icmp and/or
 * icmpv6 only.
 */
static void rule_icmp(struct ld *l, struct rctx *x)
{
	const struct ynode *v = x->f[RK_ICMP], *const *it;
	bool v4 = has_proto(x->r, 1), v6 = has_proto(x->r, 58), ok = true;
	struct rl r = { 0 };
	size_t n;
	int p;

	if (!v || !field_items(l, &x->f[RK_ICMP], "icmp_type", &it, &n))
		return;
	for (p = 0; p < 256 && !x->bad_proto; p++)
		if (p != 1 && p != 58 && has_proto(x->r, p))
			break;
	if (x->bad_proto || p < 256 || !(x->r->present & FWD_F_PROTO)) {
		if (!x->bad_proto)
			diag_error(l->d, v->pos, "icmp_type: in %s needs proto: icmp and/or icmpv6 only",
				   x->label);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		bool ok4 = !v4 || icmp_elem(l, it[i], 1, &r);
		uint32_t lo, hi;

		/* a malformed element is reported once, not once per protocol */
		if (v6 && (ok4 || icmp_parse(it[i]->s + (it[i]->s[0] == '!'), 1, &lo, &hi) != -EINVAL))
			ok4 &= icmp_elem(l, it[i], 58, &r);
		ok &= ok4;
	}
	if (ok) {
		to_portset(l, &l->c->rule_mem, &r, &x->r->sport);
		x->r->present |= FWD_F_SPORT | FWD_F_ICMP;
	}
	rl_free(&r);
}

/*
 * `src: $SET` naming a dynamic set: the static match is "any source" and the
 * worker checks membership after classify(). Only alone, not in a list.
 */
static bool rule_dyn_src(struct ld *l, struct rctx *x)
{
	const struct ynode *v = x->f[RK_SRC];
	int i;

	if (!v || !l->c->ndynsets)
		return false;
	if (v->kind == Y_SEQ) {
		for (size_t j = 0; j < v->n; j++)
			if (ykid(v)[j]->kind == Y_SCALAR && ykid(v)[j]->s[0] == '$' &&
			    find_dynset(l->c, ykid(v)[j]->s + 1) >= 0) {
				diag_error(l->d, ykid(v)[j]->pos,
					   "dynamic set '%s' must stand alone in src:, not in a list",
					   ykid(v)[j]->s);
				return true;
			}
		return false;
	}
	if (v->kind != Y_SCALAR || v->s[0] != '$' || (i = find_dynset(l->c, v->s + 1)) < 0)
		return false;
	x->r->dyn_src = i;
	return true;
}

static void rule_addrs(struct ld *l, struct rctx *x, int key, struct fwd_addrset *as,
		       uint32_t bit)
{
	const struct ynode *v = x->f[key], *const *it;
	struct rl v4 = { 0 }, v6 = { 0 };
	bool ok = true;
	size_t n;

	if (!v)
		return;
	if (!field_items(l, &x->f[key], rule_keys[key].name, &it, &n))
		return;
	for (size_t i = 0; i < n; i++)
		ok &= addr_scalar(l, it[i], it[i]->s, &v4, &v6, true, PCTX_RULE);
	if (ok) {
		to_addrset(l, &l->c->rule_mem, &v4, &v6, as);
		x->r->present |= bit;
	}
	rl_free(&v4);
	rl_free(&v6);
}

/*
 * One interface pattern: "name", "prefix+" ("+" alone: any), "!" before
 * either. The name is checked as ifname_valid() says; the diagnostic
 * escapes what it quotes (fwd/diag.c).
 */
bool if_elem(struct ld *l, const struct ynode *n, struct fwd_ifpat *p)
{
	char why[96];
	const char *s = n->s;
	size_t len;

	p->neg = s[0] == '!';
	s += p->neg;
	len = strlen(s);
	p->prefix = len > 0 && s[len - 1] == '+';
	len -= p->prefix;
	if (!(len == 0 && p->prefix) && !ifname_valid(s, len, why, sizeof(why))) {
		diag_error(l->d, n->pos, "invalid interface name '%s': %s", n->s, why);
		return false;
	}
	memcpy(p->name, s, len);
	p->name[len] = '\0';
	/* `ip link` prints a VLAN or veth as NAME@PARENT; the name ends at the '@' */
	if (memchr(s, '@', len))
		diag_warning(l->d, n->pos, "interface name '%s' holds '@': `ip link` shows a "
			     "link as NAME@PARENT, and its name is only the part before the '@'",
			     n->s);
	return true;
}

static void rule_in(struct ld *l, struct rctx *x)
{
	const struct ynode *const *it;
	size_t n;
	bool ok = true;

	if (!x->f[RK_IN] || !field_items(l, &x->f[RK_IN], "in", &it, &n))
		return;
	x->r->in.p = chunk_alloc(&l->c->rule_mem, n, sizeof(*x->r->in.p));
	if (!x->r->in.p) {
		l->oom = true;
		return;
	}
	for (size_t i = 0; i < n; i++)
		ok &= if_elem(l, it[i], &x->r->in.p[i]);
	x->r->in.n = (uint32_t)n;
	if (ok)
		x->r->present |= FWD_F_IN;
}

/* Keep only the V4 (or IPv6) part of AS, field KEY of X; an empty rest is an error. */
static void narrow_family(struct ld *l, struct rctx *x, struct fwd_addrset *as, int key, bool v4)
{
	if (v4)
		as->n6 = 0;
	else
		as->n4 = 0;
	if (as->n4 + as->n6 == 0)
		diag_error(l->d, x->f[key]->pos,
			   "%s: of %s has no IPv%d address, but to: is IPv%d; the rule could never match",
			   key == RK_SRC ? "src" : "dst", x->label, v4 ? 4 : 6, v4 ? 4 : 6);
}

/*
 * A forward rule only matches packets of its target's family: the nat table
 * of one family cannot DNAT a packet to an address of the other.
 */
static void forward_family(struct ld *l, struct rctx *x)
{
	struct fwd_rule *r = x->r;
	bool v4 = r->to->family == 4;

	if (!(r->present & FWD_F_SRC)) {
		memset(&r->src, 0, sizeof(r->src));
		r->src.v4 = chunk_alloc(&l->c->rule_mem, 1, sizeof(*r->src.v4));
		r->src.v6 = chunk_alloc(&l->c->rule_mem, 1, sizeof(*r->src.v6));
		if (!r->src.v4 || !r->src.v6) {
			l->oom = true;
			return;
		}
		if (v4) {
			r->src.v4[0].hi = 0xffffffffu;
			r->src.n4 = 1;
		} else {
			r->src.v6[0].hi = V6_MAX;
			r->src.n6 = 1;
		}
		r->present |= FWD_F_SRC;
		return;
	}
	narrow_family(l, x, &r->src, RK_SRC, v4);
	if (r->present & FWD_F_DST)
		narrow_family(l, x, &r->dst, RK_DST, v4);
}

/* A forward rule that loads but will not do what it seems to say. */
static void forward_warnings(struct ld *l, struct rctx *x, const struct ynode *to)
{
	/*
	 * The kernel routes a packet from outside to a loopback address only
	 * with route_localnet (IPv4), never for IPv6: it drops the forward.
	 */
	if ((x->r->to->family == 4 && x->r->to->addr >> 24 == 127) ||
	    (x->r->to->family == 6 && x->r->to->addr == 1))
		diag_warning(l->d, to->pos,
			     "to: '%s' is a loopback address; the kernel drops packets from outside "
			     "forwarded to it%s; give one of the gateway's own addresses", to->s,
			     x->r->to->family == 4 ? " unless route_localnet is set on their "
						     "interface" : "");
	/*
	 * Port forwarding is for connections to the gateway from outside. A
	 * rule bound to neither takes the inside's connections out to that
	 * port too, wherever they go: a DMZ mail server's own mail, a LAN
	 * host's visit to a web site on 8080.
	 */
	if (!x->f[RK_IN] && !x->f[RK_DST])
		diag_warning(l->d, x->r->pos,
			     "forward %s has neither in: nor dst:, so inside hosts' connections "
			     "to its ports anywhere are forwarded too; give it in: (the outside "
			     "interface) or dst: (the gateway's address)", x->label);
}

static void rule_action(struct ld *l, struct rctx *x, const struct ynode *item)
{
	const struct ynode *a = x->f[RK_ACTION], *to = x->f[RK_TO];
	char list[64];
	int act = -1;

	names_list(action_names, list, sizeof(list));
	if (!a)
		diag_error(l->d, item->pos, "%s has no action:; expected one of: %s", x->label,
			   list);
	else
		act = pick(l, a, "action", action_names, NULL);
	if (act >= 0)
		x->r->action = (enum fwd_action)act;
	if (act < 0)
		return;
	if (to && act != FWD_FORWARD) {
		diag_error(l->d, to->pos, "to: without action: forward");
		return;
	}
	if (act == FWD_FORWARD && !to) {
		diag_error(l->d, a->pos, "action: forward needs to: ADDR[:PORT]");
		return;
	}
	if (act != FWD_FORWARD || !want_scalar(l, to, "to:"))
		return;
	x->r->to = chunk_alloc(&l->c->rule_mem, 1, sizeof(*x->r->to));
	if (!x->r->to) {
		l->oom = true;
		return;
	}
	if (!parse_target(to->s, x->r->to)) {
		diag_error(l->d, to->pos,
			   "invalid target '%s'; expected ADDR:PORT, ADDR, [V6]:PORT or [V6]", to->s);
		return;
	}
	forward_family(l, x);
	forward_warnings(l, x, to);
}

static void rule_misc(struct ld *l, struct rctx *x)
{
	const struct ynode *v = x->f[RK_LOG];

	x->r->log = FWD_LOG_INHERIT;
	if (v && want_scalar(l, v, "log:")) {
		if (!strcmp(v->s, "true"))
			x->r->log = FWD_LOG_YES;
		else if (!strcmp(v->s, "false"))
			x->r->log = FWD_LOG_NO;
		else
			diag_error(l->d, v->pos, "invalid log '%s' in %s; expected true or false",
				   v->s, x->label);
	}
	if (x->f[RK_COMMENT])
		want_scalar(l, x->f[RK_COMMENT], "comment:");
}

static void rule_name(struct ld *l, struct rctx *x, const struct ynode *item, uint32_t idx)
{
	const struct ynode *v = x->f[RK_NAME];
	long first;

	snprintf(x->labelbuf, sizeof(x->labelbuf), "rule %u", idx + 1);
	x->label = x->labelbuf;
	if (!v) {
		diag_error(l->d, item->pos, "rule %u has no name:", idx + 1);
		return;
	}
	if (!want_scalar(l, v, "name:"))
		return;
	if (!name_ok(v->s, FWD_NAME_MAX)) {
		diag_error(l->d, v->pos,
			   "invalid rule name '%s'; use 1 to 64 of A-Z a-z 0-9 . _ -", v->s);
		return;
	}
	if (!strcmp(v->s, "default")) {
		diag_error(l->d, v->pos, "rule name 'default' is reserved for the default verdict");
		return;
	}
	snprintf(x->labelbuf, sizeof(x->labelbuf), "rule '%s'", v->s);
	x->r->name = l->name_at;
	l->name_at = stpcpy(l->name_at, v->s) + 1;
	first = nameidx_add(&l->names, idx);
	if (first >= 0)
		diag_error(l->d, v->pos, "duplicate rule name '%s' (first at line %u)",
			   v->s, l->c->rules[first].pos.line);
}

/* The value of ITEM's `name:`, or NULL. */
static const struct ynode *name_node(const struct ynode *item)
{
	for (size_t i = 0; item->kind == Y_MAP && i + 1 < item->n; i += 2)
		if (ykid(item)[i]->kind == Y_SCALAR && !strcmp(ykid(item)[i]->s, "name"))
			return ykid(item)[i + 1];
	return NULL;
}

/* Room for the rules' names in V, end to end (what rule_name() keeps). */
static size_t names_size(const struct ynode *v)
{
	size_t sz = 1;

	for (uint32_t i = 0; i < v->n; i++) {
		const struct ynode *n = name_node(ykid(v)[i]);

		if (n && n->kind == Y_SCALAR)
			sz += strnlen(n->s, FWD_NAME_MAX + 1) + 1;
	}
	return sz;
}

static void load_rule(struct ld *l, const struct ynode *item, uint32_t idx)
{
	struct rctx x = { .r = &l->c->rules[idx] };

	x.r->name = "";
	x.r->pos = item->pos;
	x.r->log = FWD_LOG_INHERIT;
	x.r->dyn_src = -1;
	if (item->kind != Y_MAP) {
		diag_error(l->d, item->pos, "rule %u must be a mapping, not %s", idx + 1,
			   kind_name(item));
		return;
	}
	/* The name first, so every later message can say which rule it is about. */
	x.f[RK_NAME] = name_node(item);
	rule_name(l, &x, item, idx);
	ywalk(l, item, rule_keys, x.label, x.f);
	rule_proto(l, &x);
	if (!rule_dyn_src(l, &x))
		rule_addrs(l, &x, RK_SRC, &x.r->src, FWD_F_SRC);
	rule_addrs(l, &x, RK_DST, &x.r->dst, FWD_F_DST);
	rule_ports(l, &x, RK_SPORT, &x.r->sport, FWD_F_SPORT);
	rule_ports(l, &x, RK_DPORT, &x.r->dport, FWD_F_DPORT);
	rule_icmp(l, &x);
	rule_in(l, &x);
	rule_action(l, &x, item);
	rule_misc(l, &x);
	rule_limit(l, &x);
}

static const char *name_of_rule(const void *config, uint32_t i)
{
	return ((const struct fwd_config *)config)->rules[i].name;
}

void load_rules(struct ld *l, const struct ynode *v)
{
	const struct ynode *lead;

	if (v->kind != Y_SEQ) {
		diag_error(l->d, v->pos, "rules: must be a list, not %s", kind_name(v));
		return;
	}
	l->c->rules = calloc(v->n + 1, sizeof(*l->c->rules));
	l->c->rule_names = l->name_at = malloc(names_size(v));
	if (!l->c->rules || !l->c->rule_names) {
		l->oom = true;
		return;
	}
	l->bad_rule = calloc(v->n + 1, sizeof(*l->bad_rule));
	if (!l->bad_rule) {
		l->oom = true;
		return;
	}
	l->c->nrules = (uint32_t)v->n;
	if (nameidx_init(&l->names, l->c->nrules, name_of_rule, l->c))
		l->oom = true;
	lead = v->n ? ytree_lead(ykid(v)[0]) : NULL;
	for (uint32_t i = 0; i < v->n; i++) {
		unsigned before = l->d->errors;

		l->taint = false;
		load_rule(l, ykid(v)[i], i);
		l->bad_rule[i] = l->d->errors != before || l->taint;
		if (i % 1024 == 1023 || i + 1 == v->n)
			ytree_release(l->tree, lead, ykid(v)[i]);
	}
	nameidx_free(&l->names);
}
