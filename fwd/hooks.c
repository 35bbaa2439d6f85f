// SPDX-License-Identifier: MIT
/*
 * hooks.c - fwd's own iptables chains: the queue and the DNAT for forward.
 *
 * The rules are rendered as iptables-restore text and applied with
 * --noflush, one transaction per table, so a reload never leaves a window
 * in which packets bypass fwd and other chains are never touched. Declaring
 * ":FWD-QUEUE - [0:0]" in a --noflush restore creates or flushes that chain
 * only. The jump rules are checked with -C first, so they are added once.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <sys/mman.h>

#include "fwd/bridged.h"
#include "fwd/hairpin.h"
#include "fwd/hooks.h"
#include "fwd/iptsave.h"
#include "fwd/log.h"
#include "fwd/value.h"

#define JUMP_MANGLE	1u
#define JUMP_NAT	2u
#define JUMP_RAW	4u
#define JUMP_HAIRPIN	8u
#define JUMP_MAX_DEL	16	/* jump rules deleted per chain before giving up */

/* The tables fwd has chains in, in the order hooks_missing() reads them. */
static const char *const tables[] = { "mangle", "nat", "raw" };
#define NTABLES		(sizeof(tables) / sizeof(tables[0]))

/*
 * What FWD-GATE (hooks_gate()) and FWD-HAIRPIN (hooks_hairpin()) hold,
 * rendered by every install too. LOCK is held across each render and
 * restore, so an install and a change of either cannot interleave their
 * transactions (the reload runs on the control thread, the gate and
 * address changes on the main one).
 */
static struct {
	pthread_mutex_t lock;
	uint32_t rate;
	unsigned gen;
	struct fwd_hooks_conf hc;	/* of the last install, for the exemptions */
	char *hairpin[2];		/* FWD-HAIRPIN's lines, IPv4 and IPv6; NULL: none */
	bool forwards[2];		/* the last install wants FWD-HAIRPIN's lines in that family */
	bool in[2];			/* the last install put chains in that family (hooks_missing()) */
	char *left[2][NTABLES];		/* own_lines() of each table after fwd's last change; NULL: unread */
} G = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Forward rules, from a compiled table or from a plain array. */
struct rule_src {
	const struct fwd_ruleset *rs;
	const struct fwd_rule_info *arr;
	size_t n;
};

static const struct fwd_rule_info *rule_at(const struct rule_src *s, size_t i)
{
	return s->rs ? ruleset_rule(s->rs, (uint32_t)i) : &s->arr[i];
}

/* Append-only text buffer; remembers overflow instead of failing each call. */
struct tbuf {
	char *p;
	size_t len, pos;
	bool full;
};

__attribute__((format(printf, 2, 3)))
static void tb_printf(struct tbuf *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->p + t->pos, t->len - t->pos, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->len - t->pos) {
		t->full = true;
		return;
	}
	t->pos += (size_t)n;
}

/* ADDR, ADDR:PORT or [V6ADDR]:PORT, as --to-destination takes it. */
static void format_dest(char *out, size_t len, const struct fwd_target *to)
{
	if (!to->port)
		addr_format(out, len, to->family, to->addr);
	else
		target_format(out, len, to, 0);
}

static void render_queue_target(struct tbuf *t, const struct fwd_hooks_conf *hc)
{
	if (hc->queues == 1)
		tb_printf(t, "-A %s -j NFQUEUE --queue-num %u", FWD_HOOKS_QUEUE_CHAIN,
			  hc->queue_base);
	else
		tb_printf(t, "-A %s -j NFQUEUE --queue-balance %u:%u", FWD_HOOKS_QUEUE_CHAIN,
			  hc->queue_base, hc->queue_base + hc->queues - 1);
	if (hc->fail == FWD_FAIL_OPEN)
		tb_printf(t, " --queue-bypass");
	if (hc->queues > 1)
		tb_printf(t, " --queue-cpu-fanout");
	tb_printf(t, "\n");
}

void hooks_conf_daemon(struct fwd_hooks_conf *hc, const struct fwd_daemon *dc)
{
	hc->inspect = dc->inspect;
	hc->rpfilter = dc->rpfilter;
	hc->bridged_pass = dc->bridged_pass;
	hc->nd_rules = dc->nd_rules;
	hc->dhcpv6_rules = dc->dhcpv6_rules;
	hc->ha = dc->ha;
	hc->shed = !dc->no_shed;
	hc->nat_loopback = !dc->no_nat_loopback;
}

/*
 * Packets fwd allowed or forwarded come back with a repeat verdict and
 * FWD_REPEAT_MARK set: the mangle PREROUTING hook runs again from its top,
 * FWD-QUEUE hands them (goto, so the end of FWD-SEEN returns to PREROUTING
 * itself) to FWD-SEEN, which clears the bit again, and the operator's own
 * rules after fwd's jump see the packet with the mark it would have had.
 */
static void render_repeat(struct tbuf *t)
{
	tb_printf(t, ":%s - [0:0]\n", FWD_HOOKS_SEEN_CHAIN);
	tb_printf(t, "-A %s -m mark --mark 0x%08x/0x%08x -g %s\n", FWD_HOOKS_QUEUE_CHAIN,
		  FWD_REPEAT_MARK, FWD_REPEAT_MARK, FWD_HOOKS_SEEN_CHAIN);
	tb_printf(t, "-A %s -j MARK --set-xmark 0x0/0x%08x\n", FWD_HOOKS_SEEN_CHAIN,
		  FWD_REPEAT_MARK | FWD_NEW_MARK | FWD_BRIDGED_MARK);
}

/*
 * Defragmentation runs before PREROUTING only once something in the
 * namespace registers it; conntrack does, but every-packet mode may have
 * none. The socket match registers it by itself (nf_defrag_ipv4/ipv6, as
 * TPROXY needs, without conntrack) when its rule is loaded and for as long
 * as the rule exists, so this rule sits in a chain nothing jumps to: it
 * costs nothing per packet.
 */
static void render_defrag(struct tbuf *t)
{
	tb_printf(t, ":%s - [0:0]\n", FWD_HOOKS_DEFRAG_CHAIN);
	tb_printf(t, "-A %s -m socket --nowildcard\n", FWD_HOOKS_DEFRAG_CHAIN);
}

/*
 * The exemptions below pass only packets addressed to the gateway itself:
 * one of its own addresses, or a multicast group (which is not forwarded
 * unless the host routes multicast). Anything that merely looks like sync or
 * neighbour discovery on its way to a host behind the gateway goes to the
 * rules. Each such line is written once per type: ip6tables' addrtype takes
 * "LOCAL,MULTICAST" as both at once, not either.
 */
static const char *const to_gateway[] = { "LOCAL", "MULTICAST" };
#define N_TO_GATEWAY	(sizeof(to_gateway) / sizeof(to_gateway[0]))

/*
 * An HA pair's own traffic (packaging/ha/) returns before the queue, in
 * either mode: keepalived's VRRP adverts never look established (multicast,
 * never answered), and conntrackd's sync must run before the table it syncs
 * is trusted; `default: drop` would otherwise make both gateways master and
 * sync nothing. VRRP is link-local: only a hop limit of 255 (RFC 5798 5.1.1.3)
 * to its group passes. The sync (unicast to the peer's address, or to a
 * multicast group) may be narrowed to its own link.
 */
static void render_ha_pass(struct tbuf *t, int family, const struct fwd_ha *ha, const char *c)
{
	const struct fwd_ifpat *in = &ha->sync_in;

	if (ha->vrrp && family == 4)
		tb_printf(t, "-A %s -d 224.0.0.18/32 -p 112 -m ttl --ttl-eq 255 -j RETURN\n", c);
	else if (ha->vrrp)
		tb_printf(t, "-A %s -d ff02::12/128 -p 112 -m hl --hl-eq 255 -j RETURN\n", c);
	if (!ha->sync)
		return;
	for (size_t i = 0; i < N_TO_GATEWAY; i++) {
		tb_printf(t, "-A %s", c);
		if (in->name[0] || in->prefix)
			tb_printf(t, "%s -i %s%s", in->neg ? " !" : "", in->name,
				  in->prefix ? "+" : "");
		tb_printf(t, " -p udp --dport %u -m addrtype --dst-type %s -j RETURN\n",
			  ha->sync_port, to_gateway[i]);
	}
}

/*
 * IPv6 dies without neighbour discovery (RFC 4890 4.4): router and neighbour
 * solicitation and advertisement and redirect with hop limit 255 (no router
 * forwarded them) to the gateway itself, and MLD with hop limit 1 (which no
 * router forwards either) from a link-local source, or from :: (reports sent
 * before an address is ready, RFC 3590).
 */
static void render_nd(struct tbuf *t, const char *c)
{
	static const char *const mld_src[] = { "fe80::/10", "::/128" };

	for (int type = 133; type <= 137; type++)
		for (size_t i = 0; i < N_TO_GATEWAY; i++)
			tb_printf(t, "-A %s -p ipv6-icmp -m icmp6 --icmpv6-type %d -m hl --hl-eq 255 "
				  "-m addrtype --dst-type %s -j RETURN\n", c, type, to_gateway[i]);
	for (int s = 0; s < 2; s++)
		for (int i = 0; i < 4; i++)
			tb_printf(t, "-A %s -s %s -p ipv6-icmp -m icmp6 --icmpv6-type %d -m hl --hl-eq 1 -j RETURN\n",
				  c, mld_src[s], (int[]){ 130, 131, 132, 143 }[i]);
}

/*
 * A DHCPv6 client solicits from its link-local address to ff02::1:2, and the
 * server or relay answers to that link-local address (RFC 8415 13.1, 19):
 * conntrack never pairs the answer with the request, so in either mode it
 * is a new flow, and `default: drop` would leave the gateway without its
 * upstream address, or lose a delegated prefix at its first renewal. Only a
 * link-local source and destination pass, which no router forwards, so
 * nothing behind the gateway is reached this way. (A DHCPv4 client takes its
 * lease through a packet socket, which sees frames before netfilter, and
 * renews by unicast, which conntrack pairs.)
 */
static void render_dhcpv6(struct tbuf *t, const char *c)
{
	tb_printf(t, "-A %s -s fe80::/10 -d fe80::/10 -p udp --sport 547 --dport 546 -j RETURN\n",
		  c);
}

/* What passes before the queue whatever the rules say, into chain C. */
static void render_exempt(struct tbuf *t, int family, const struct fwd_hooks_conf *hc,
			  const char *c)
{
	bool queue = !strcmp(c, FWD_HOOKS_QUEUE_CHAIN);

	/*
	 * A switched frame (bridged.h), unless for an address of the gateway,
	 * which a DNAT would turn into a routed packet: FWD-SEEN clears the
	 * bit; in raw it stays for mangle. Those for the gateway lose the bit
	 * in mangle and go on like any packet.
	 */
	if (hc->bridged_pass)
		tb_printf(t, "-A %s -m mark --mark 0x%08x/0x%08x -m addrtype ! --dst-type LOCAL "
			  "%s\n", c, FWD_BRIDGED_MARK, FWD_BRIDGED_MARK,
			  queue ? "-g " FWD_HOOKS_SEEN_CHAIN : "-j RETURN");
	if (hc->bridged_pass && queue)
		tb_printf(t, "-A %s -m mark --mark 0x%08x/0x%08x -j MARK --set-xmark 0x0/0x%08x\n",
			  c, FWD_BRIDGED_MARK, FWD_BRIDGED_MARK, FWD_BRIDGED_MARK);
	tb_printf(t, "-A %s -i lo -j RETURN\n", c);
	render_ha_pass(t, family, &hc->ha, c);
	if (family == 6 && !hc->nd_rules)
		render_nd(t, c);
	if (family == 6 && !hc->dhcpv6_rules)
		render_dhcpv6(t, c);
}

/*
 * The drops the rules fix, before the queue (fwd/early.c): a flood at
 * closed ports then never fills it. The chain is declared even when empty,
 * so a reload that drops nothing early flushes what an older table had.
 */
static void render_early(struct tbuf *t, int family, const struct fwd_early *e)
{
	size_t need;

	tb_printf(t, ":%s - [0:0]\n", FWD_HOOKS_EARLY_CHAIN);
	if (!early_nranges(e) || t->full)
		return;
	need = early_render(e, family, NULL, 0);
	if (!need)
		return;
	tb_printf(t, "-A %s -j %s\n", FWD_HOOKS_QUEUE_CHAIN, FWD_HOOKS_EARLY_CHAIN);
	if (t->full || need >= t->len - t->pos) {
		t->full = true;
		return;
	}
	t->pos += early_render(e, family, t->p + t->pos, t->len - t->pos);
}

/*
 * hashlimit with no mode is one bucket for every packet, as limit is, but
 * takes rates above limit's 10,000/s. The burst lets 50 ms pass at once.
 */
#define GATE_BURST_MAX	10000u	/* iptables' upper bound */

size_t hooks_render_gate(uint32_t rate, unsigned gen, char *buf, size_t len)
{
	uint32_t burst = rate / 20;
	int n;

	if (!rate) {
		if (len)
			buf[0] = '\0';
		return 0;
	}
	if (burst < 1)
		burst = 1;
	if (burst > GATE_BURST_MAX)
		burst = GATE_BURST_MAX;
	n = snprintf(buf, len, "-A %s -m hashlimit --hashlimit-above %u/sec --hashlimit-burst %u "
		     "--hashlimit-name %s%u -j %s\n", FWD_HOOKS_GATE_CHAIN, rate, burst,
		     FWD_HOOKS_GATE_NAME, gen % FWD_HOOKS_GATE_GENS, FWD_HOOKS_SHED_CHAIN);
	return n < 0 ? 0 : (size_t)n;
}

/*
 * Where the gate goes. In every-packet mode the queue takes every packet but
 * the exempt ones, so the gate can go in raw PREROUTING, before conntrack,
 * where shedding costs least (the exemptions again first); in the stateful
 * mode only new connections are queued, which only conntrack tells apart,
 * so it goes in FWD-QUEUE, after conntrack.
 */
static bool gate_in_raw(const struct fwd_hooks_conf *hc)
{
	return hc->inspect == FWD_INSPECT_EVERY;
}

/* FWD-GATE's rules (no declaration) for HC in the table it lives in. */
static void render_gate_body(struct tbuf *t, int family, const struct fwd_hooks_conf *hc)
{
	size_t n;

	if (gate_in_raw(hc))
		render_exempt(t, family, hc, FWD_HOOKS_GATE_CHAIN);
	if (t->full || !G.rate)
		return;
	n = hooks_render_gate(G.rate, G.gen, t->p + t->pos, t->len - t->pos);
	if (n >= t->len - t->pos)
		t->full = true;
	else
		t->pos += n;
}

/*
 * FWD-GATE and FWD-SHED in mangle (hooks.h), declared (flushed) and
 * refilled in the stateful mode: G's line, and the drop whose counter a
 * gate change leaves alone. Otherwise they are deleted there (FWD-QUEUE,
 * flushed above, no longer jumps to them).
 */
static void render_gate(struct tbuf *t, int family, const struct fwd_hooks_conf *hc)
{
	tb_printf(t, ":%s - [0:0]\n:%s - [0:0]\n", FWD_HOOKS_GATE_CHAIN, FWD_HOOKS_SHED_CHAIN);
	if (!hooks_gated(hc) || gate_in_raw(hc)) {
		tb_printf(t, "-X %s\n-X %s\n", FWD_HOOKS_GATE_CHAIN, FWD_HOOKS_SHED_CHAIN);
		return;
	}
	tb_printf(t, "-A %s -j DROP\n", FWD_HOOKS_SHED_CHAIN);
	tb_printf(t, "-A %s -j %s\n", FWD_HOOKS_QUEUE_CHAIN, FWD_HOOKS_GATE_CHAIN);
	render_gate_body(t, family, hc);
}

/*
 * FWD-GATE and FWD-SHED in raw, jumped to from raw PREROUTING: the gate in
 * every-packet mode; empty otherwise (the jump stays until fwd stops, so a
 * change of mode on reload needs no rule deleted).
 */
static void render_raw(struct tbuf *t, int family, const struct fwd_hooks_conf *hc,
		       unsigned jumps)
{
	tb_printf(t, "*raw\n:%s - [0:0]\n:%s - [0:0]\n", FWD_HOOKS_GATE_CHAIN,
		  FWD_HOOKS_SHED_CHAIN);
	if (jumps & JUMP_RAW)
		tb_printf(t, "-I PREROUTING -m comment --comment %s -j %s\n", FWD_HOOKS_COMMENT,
			  FWD_HOOKS_GATE_CHAIN);
	tb_printf(t, "-A %s -j DROP\n", FWD_HOOKS_SHED_CHAIN);
	if (hooks_gated(hc) && gate_in_raw(hc))
		render_gate_body(t, family, hc);
	tb_printf(t, "COMMIT\n");
}

/*
 * The stateful mode lets established and related traffic by, except, while
 * a set blocks, a connection fwd/recheck.c marked: its packets in the
 * original direction (from the blocked source) go on to the queue.
 */
static void render_established(struct tbuf *t, const struct fwd_hooks_conf *hc)
{
	const char *c = FWD_HOOKS_QUEUE_CHAIN;

	if (!hc->recheck) {
		tb_printf(t, "-A %s -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN\n", c);
		return;
	}
	tb_printf(t, "-A %s -m conntrack --ctstate ESTABLISHED,RELATED --ctdir REPLY -j RETURN\n",
		  c);
	tb_printf(t, "-A %s -m conntrack --ctstate ESTABLISHED,RELATED -m connmark ! --mark "
		  "0x%08x/0x%08x -j RETURN\n", c, FWD_RECHECK_MARK, FWD_RECHECK_MARK);
}

/*
 * A new packet whose source does not route back (daemon: rpfilter) is
 * dropped before the queue: from the outside, claiming an address of the
 * inside, it would match the rules that trust that address in `src:`.
 * Strict: the route back must leave by the interface the packet came in on
 * (the kernel's rp_filter=1, which IPv6 lacks); loose: some route. No
 * --validmark: the mark here may hold FWD_NEW_MARK. After the exemptions and
 * (stateful) the established traffic, so only new connections pay the route
 * lookup; the match itself passes loopback, the DHCPv4 client's 0.0.0.0 to
 * broadcast and IPv6's unspecified source.
 */
static void render_rpfilter(struct tbuf *t, enum fwd_rpfilter how)
{
	if (how != FWD_RPF_OFF)
		tb_printf(t, "-A %s -m rpfilter%s --invert -m comment --comment %s -j DROP\n",
			  FWD_HOOKS_QUEUE_CHAIN, how == FWD_RPF_LOOSE ? " --loose" : "",
			  FWD_RPF_COMMENT);
}

/*
 * Established and related traffic RETURNs rather than ACCEPTs: it is not
 * queued either way, and RETURN lets the operator's own mangle PREROUTING
 * rules behind our jump (connmark restore, policy routing marks) still see it.
 */
static void render_mangle(struct tbuf *t, int family, const struct fwd_hooks_conf *hc,
			  unsigned jumps)
{
	const char *c = FWD_HOOKS_QUEUE_CHAIN;

	tb_printf(t, "*mangle\n:%s - [0:0]\n", c);
	render_defrag(t);
	if (jumps & JUMP_MANGLE)
		tb_printf(t, "-I PREROUTING -m comment --comment %s -j %s\n", FWD_HOOKS_COMMENT, c);
	render_repeat(t);
	render_exempt(t, family, hc, c);
	if (hc->inspect == FWD_INSPECT_NEW) {
		render_established(t, hc);
		tb_printf(t, "-A %s -m conntrack --ctstate INVALID -j DROP\n", c);
	} else {
		/* errors about a connection fwd let through, as the stateful mode passes them */
		tb_printf(t, "-A %s -p %s -m conntrack --ctstate RELATED -j RETURN\n", c,
			  family == 4 ? "icmp" : "ipv6-icmp");
		tb_printf(t, "-A %s -m conntrack --ctstate NEW -j MARK --set-xmark 0x%08x/0x%08x\n",
			  c, FWD_NEW_MARK, FWD_NEW_MARK);
	}
	render_rpfilter(t, hc->rpfilter);
	render_early(t, family, hc->early);
	render_gate(t, family, hc);
	render_queue_target(t, hc);
	tb_printf(t, "COMMIT\n");
}

/*
 * One DNAT rule per forward rule. A target port needs a protocol with ports
 * (iptables insists), so such a rule gets a line for TCP and one for UDP,
 * then an address-only line for anything else the rule forwarded (ICMP).
 */
static void render_dnat(struct tbuf *t, const struct fwd_rule_info *ri)
{
	static const char *const protos[] = { " -p tcp", " -p udp", "" };
	struct fwd_target addr_only = ri->to;
	char dest[INET6_ADDRSTRLEN + 16];
	size_t first = ri->to.port ? 0 : 2;

	addr_only.port = 0;
	for (size_t i = first; i < sizeof(protos) / sizeof(protos[0]); i++) {
		format_dest(dest, sizeof(dest), protos[i][0] ? &ri->to : &addr_only);
		tb_printf(t, "-A %s%s -m mark --mark 0x%08x/0xffffffff", FWD_HOOKS_DNAT_CHAIN,
			  protos[i], ri->mark);
		if (ipt_comment_plain(ri->name))	/* else no comment */
			tb_printf(t, " -m comment --comment %s:%s", FWD_HOOKS_COMMENT, ri->name);
		tb_printf(t, " -j DNAT --to-destination %s\n", dest);
	}
}

/*
 * FWD-HAIRPIN's lines of FAMILY as the last scan found them (under G.lock),
 * if WANTED: nat_loopback is on and the rules forward to that family
 * (without forwards the lines would match nothing, and MASQUERADE need not
 * be in the kernel).
 */
static void render_hairpin_body(struct tbuf *t, int family, bool wanted)
{
	const char *body = G.hairpin[family == 6];

	if (body && wanted)
		tb_printf(t, "%s", body);
}

/* Is RI a forward rule with a target of FAMILY (one FWD-DNAT renders)? */
static bool forwards_in(const struct fwd_rule_info *ri, int family)
{
	return ri && ri->action == FWD_FORWARD && ri->to.family == family;
}

static bool forwards_to(const struct rule_src *s, int family)
{
	for (size_t i = 0; i < s->n; i++)
		if (forwards_in(rule_at(s, i), family))
			return true;
	return false;
}

static void render_nat(struct tbuf *t, int family, const struct fwd_hooks_conf *hc,
		       const struct rule_src *s, unsigned jumps)
{
	const char *c = FWD_HOOKS_DNAT_CHAIN, *h = FWD_HOOKS_HAIRPIN_CHAIN;

	tb_printf(t, "*nat\n:%s - [0:0]\n", c);
	if (jumps & JUMP_NAT)
		tb_printf(t, "-I PREROUTING -m comment --comment %s -j %s\n", FWD_HOOKS_COMMENT, c);
	for (size_t i = 0; i < s->n; i++)
		if (forwards_in(rule_at(s, i), family))
			render_dnat(t, rule_at(s, i));
	tb_printf(t, ":%s - [0:0]\n", h);
	if (jumps & JUMP_HAIRPIN)
		tb_printf(t, "-I POSTROUTING -m comment --comment %s -j %s\n", FWD_HOOKS_COMMENT,
			  h);
	render_hairpin_body(t, family, hc->nat_loopback && forwards_to(s, family));
	tb_printf(t, "COMMIT\n");
}

static int render(int family, const struct fwd_hooks_conf *hc, const struct rule_src *s,
		  unsigned jumps, char *buf, size_t len)
{
	struct tbuf t = { .p = buf, .len = len };

	if ((family != 4 && family != 6) || !hc || !buf || !len)
		return -EINVAL;
	if (hc->queues < 1 || hc->queues > 65536 || hc->queue_base > 65536 - hc->queues)
		return -EINVAL;
	buf[0] = '\0';
	render_raw(&t, family, hc, jumps);
	render_mangle(&t, family, hc, jumps);
	render_nat(&t, family, hc, s, jumps);
	if (t.full)
		return -ENOSPC;
	return (int)t.pos;
}

int hooks_render(int family, const struct fwd_hooks_conf *hc, const struct fwd_ruleset *rs,
		 char *buf, size_t len)
{
	struct rule_src s = { .rs = rs, .n = rs ? ruleset_nrules(rs) : 0 };

	return render(family, hc, &s, JUMP_MANGLE | JUMP_NAT | JUMP_RAW | JUMP_HAIRPIN, buf, len);
}

int hooks_render_rules(int family, const struct fwd_hooks_conf *hc,
		       const struct fwd_rule_info *rules, size_t n, char *buf, size_t len)
{
	struct rule_src s = { .arr = rules, .n = rules ? n : 0 };

	return render(family, hc, &s, JUMP_MANGLE | JUMP_NAT | JUMP_RAW | JUMP_HAIRPIN, buf, len);
}

/*
 * Run ARGV with INPUT as its standard input (held in a memfd, so neither a
 * pipe that fills up nor SIGPIPE can get in the way). Returns the exit
 * status, or -errno when it could not run.
 */
static int run(char *const argv[], const char *input, size_t inlen, bool quiet)
{
	int in = -1, err;

	if (input) {
		in = memfd_create("fwd-hooks", MFD_CLOEXEC);
		if (in < 0)
			return -errno;
		errno = 0;
		if (write(in, input, inlen) != (ssize_t)inlen || lseek(in, 0, SEEK_SET) != 0) {
			err = errno ? -errno : -EIO;
			close(in);
			return err;
		}
	}
	err = ipt_run(argv, in, -1, quiet);
	if (in >= 0)
		close(in);
	return err;
}

/*
 * posix_spawn() takes char *const[] for historical reasons and never writes to
 * it; the casts below go through uintptr_t to say so without -Wcast-qual.
 */

/* Is fwd's jump rule in TABLE's FROM? OP "-C" checks, "-D" deletes one. */
static int jump_op_from(const char *tool, const char *op, const char *table, const char *from,
			const char *chain)
{
	const char *argv[] = { tool, "-w", "-t", table, op, from, "-m", "comment",
			       "--comment", FWD_HOOKS_COMMENT, "-j", chain, NULL };

	return run((char *const *)(uintptr_t)argv, NULL, 0, true);
}

static int jump_op(const char *tool, const char *op, const char *table, const char *chain)
{
	return jump_op_from(tool, op, table, "PREROUTING", chain);
}

static int restore(const char *tool, const char *text, size_t len)
{
	const char *argv[] = { tool, "-w", "--noflush", NULL };
	int r = run((char *const *)(uintptr_t)argv, text, len, false);

	if (r > 0) {
		log_warn("hooks: %s exited with status %d", tool, r);
		return -EIO;
	}
	return r;
}

struct family_tools {
	const char *name;		/* for messages */
	char cmd[64];			/* iptables or ip6tables */
	char restore[64];
};

static int tools_for(int family, struct family_tools *ft)
{
	const char *cmd = family == 4 ? "iptables" : "ip6tables";
	char rname[32];

	ft->name = cmd;
	snprintf(rname, sizeof(rname), "%s-restore", cmd);
	if (!ipt_tool_path(cmd, ft->cmd, sizeof(ft->cmd)) ||
	    !ipt_tool_path(rname, ft->restore, sizeof(ft->restore))) {
		log_warn("hooks: %s or %s not found in /usr/sbin or /sbin", cmd,
			rname);
		return -ENOENT;
	}
	return 0;
}

/* ---- what fwd left in its chains ----------------------------------------- */

#define OWN_PREFIX	"-A FWD-"

/* The rule of the line [LINE, END) of iptables-save -c output, past its counters; NULL: none. */
static const char *rule_text(const char *line, const char *end)
{
	const char *r = line;

	if (*r == '[' && (r = memchr(r, ']', (size_t)(end - r))))
		r += 2;		/* "[packets:bytes] " */
	return r && r + 3 < end && !strncmp(r, "-A ", 3) ? r : NULL;
}

/* Is the rule R (up to END) FWD-GATE's rate line, which hooks_gate() changes by itself? */
static bool gate_rate_line(const char *r, const char *end)
{
	static const char chain[] = "-A " FWD_HOOKS_GATE_CHAIN " ";
	size_t n = sizeof(chain) - 1;

	return (size_t)(end - r) > n && !memcmp(r, chain, n) &&
	       memmem(r, (size_t)(end - r), FWD_HOOKS_GATE_NAME, strlen(FWD_HOOKS_GATE_NAME));
}

/*
 * The rules of fwd's own chains in TEXT (iptables-save -c output), each on
 * a line, without counters or the gate's rate line: malloc'd, NULL when out
 * of memory. iptables-save prints a rule the same way each time, so two
 * readings of the same chains give the same text.
 */
static char *own_lines(const char *text)
{
	char *out = malloc(strlen(text) + 1), *o = out;

	if (!out)
		return NULL;
	for (const char *line = text, *end; *line; line = *end ? end + 1 : end) {
		const char *r;

		end = line + strcspn(line, "\n");
		if (!(r = rule_text(line, end)) || strncmp(r, OWN_PREFIX, strlen(OWN_PREFIX)) ||
		    gate_rate_line(r, end))
			continue;
		memcpy(o, r, (size_t)(end - r));
		o += end - r;
		*o++ = '\n';
	}
	*o = '\0';
	return out;
}

/* Read what FAMILY's tables hold of fwd's chains now, after a change of fwd's (under G.lock). */
static void leave(int family)
{
	for (size_t t = 0; t < NTABLES; t++) {
		char *text = NULL, **left = &G.left[family == 6][t];

		free(*left);
		*left = ipt_save(family, tables[t], &text) ? NULL : own_lines(text);
		free(text);	/* NULL: the next look takes what it reads */
	}
}

static void forget_left(void)
{
	for (size_t f = 0; f < 2; f++)
		for (size_t t = 0; t < NTABLES; t++) {
			free(G.left[f][t]);
			G.left[f][t] = NULL;
		}
}

static int install_family(int family, const struct fwd_hooks_conf *hc,
			  const struct rule_src *s)
{
	struct family_tools ft;
	unsigned jumps = 0;
	/*
	 * The fixed lines (defrag, repeat, the exemptions in mangle and raw:
	 * loopback, HA, IPv6 neighbour discovery and MLD; some 5 KB), then three
	 * DNAT lines of < 256 bytes per rule.
	 */
	size_t cap = 8192 + s->n * 768 + early_render(hc->early, family, NULL, 0);
	char *text;
	int r;

	r = tools_for(family, &ft);
	if (r < 0)
		return r;
	if (jump_op(ft.cmd, "-C", "mangle", FWD_HOOKS_QUEUE_CHAIN) != 0)
		jumps |= JUMP_MANGLE;
	if (jump_op(ft.cmd, "-C", "nat", FWD_HOOKS_DNAT_CHAIN) != 0)
		jumps |= JUMP_NAT;
	if (jump_op(ft.cmd, "-C", "raw", FWD_HOOKS_GATE_CHAIN) != 0)
		jumps |= JUMP_RAW;
	if (jump_op_from(ft.cmd, "-C", "nat", "POSTROUTING", FWD_HOOKS_HAIRPIN_CHAIN) != 0)
		jumps |= JUMP_HAIRPIN;
	cap += G.hairpin[family == 6] ? strlen(G.hairpin[family == 6]) : 0;
	text = malloc(cap);
	if (!text)
		return -ENOMEM;
	r = render(family, hc, s, jumps, text, cap);
	if (r >= 0)
		r = restore(ft.restore, text, (size_t)r);
	free(text);
	if (r >= 0)
		leave(family);
	return r;
}

/* Whether the sysctl PATH reads "1". */
static bool sysctl_on(const char *path)
{
	char c = '0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (read(fd, &c, 1) != 1)
		c = '0';
	close(fd);
	return c == '1';
}

/*
 * Whether this network namespace carries no IPv6 at all: no
 * /proc/sys/net/ipv6 (the kernel has none, or ipv6.disable=1), or
 * disable_ipv6 set in every entry of its conf/ (all, default and each
 * interface, so that none comes up with IPv6 later). Only then may the IPv6
 * chains fail to install and fwd go on without them.
 */
static bool ipv6_absent(void)
{
	static const char conf[] = "/proc/sys/net/ipv6/conf";
	char path[sizeof(conf) + 256 + 16];
	struct dirent *e;
	bool off = true;
	DIR *d = opendir(conf);

	if (!d)
		return errno == ENOENT && access("/proc/sys/net", F_OK) == 0;
	while (off && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/disable_ipv6", conf, e->d_name);
		off = sysctl_on(path);
	}
	closedir(d);
	return off;
}

/*
 * Read the gateway's prefixes into G.hairpin (under G.lock); whether the
 * lines changed. A failed read keeps the old lines.
 */
static bool hairpin_scan(void)
{
	struct ifaddrs *as;
	bool changed = false;

	if (getifaddrs(&as) < 0)
		return false;
	for (int i = 0; i < 2; i++) {
		size_t n = hairpin_render(i ? 6 : 4, as, NULL, 0);
		char *body = malloc(n + 1);

		if (!body)
			continue;
		hairpin_render(i ? 6 : 4, as, body, n + 1);
		if (G.hairpin[i] && !strcmp(G.hairpin[i], body)) {
			free(body);
			continue;
		}
		free(G.hairpin[i]);
		G.hairpin[i] = body;
		changed = true;
	}
	freeifaddrs(as);
	return changed;
}

void hooks_hairpin_scan(void)
{
	pthread_mutex_lock(&G.lock);
	hairpin_scan();
	pthread_mutex_unlock(&G.lock);
}

/* FWD-HAIRPIN alone, in one family's nat table (under G.lock). */
static int hairpin_family(int family)
{
	const char *body = G.hairpin[family == 6];
	size_t cap = 256 + (body ? strlen(body) : 0);
	struct tbuf t = { .p = malloc(cap), .len = cap };
	struct family_tools ft;
	int r;

	r = tools_for(family, &ft);
	if (r < 0 || !t.p) {
		free(t.p);
		return r < 0 ? r : -ENOMEM;
	}
	tb_printf(&t, "*nat\n:%s - [0:0]\n", FWD_HOOKS_HAIRPIN_CHAIN);
	render_hairpin_body(&t, family, G.forwards[family == 6]);
	tb_printf(&t, "COMMIT\n");
	r = t.full ? -ENOSPC : restore(ft.restore, t.p, t.pos);
	free(t.p);
	if (r >= 0)
		leave(family);
	return r;
}

int hooks_hairpin(void)
{
	int r = 0;

	pthread_mutex_lock(&G.lock);
	if (hairpin_scan()) {
		if (G.forwards[0])
			r = hairpin_family(4);
		if (r >= 0 && G.forwards[1])
			hairpin_family(6);	/* none without IPv6: install() said so */
	}
	pthread_mutex_unlock(&G.lock);
	return r;
}

/*
 * Both families, IPv4 first. A family whose chains fail to install fails
 * the whole (the caller removes what stands, or puts the old hooks back):
 * with IPv6 unfiltered, `default: drop` would mean nothing for it. Only a
 * namespace without IPv6 goes on with IPv4 alone.
 */
static int install(const struct fwd_hooks_conf *hc, const struct rule_src *s)
{
	int r;

	pthread_mutex_lock(&G.lock);
	G.hc = *hc;
	G.hc.early = NULL;
	G.forwards[0] = hc->nat_loopback && forwards_to(s, 4);
	G.forwards[1] = hc->nat_loopback && forwards_to(s, 6);
	hairpin_scan();
	r = install_family(4, hc, s);
	G.in[0] = r >= 0;
	if (r < 0) {
		pthread_mutex_unlock(&G.lock);
		log_warn("hooks: installing IPv4 chains failed: %s", strerror(-r));
		return r;
	}
	r = install_family(6, hc, s);
	G.in[1] = r >= 0;
	bridged_apply(hc->bridged_pass);	/* without it, switched frames are judged: no error */
	pthread_mutex_unlock(&G.lock);
	if (r < 0 && ipv6_absent()) {
		log_warn("hooks: no IPv6 in this network namespace: IPv4 chains only");
		return 0;
	}
	if (r < 0)
		log_warn("hooks: installing IPv6 chains failed (%s); this host has IPv6, "
			 "which would pass unfiltered, so the hooks are refused", strerror(-r));
	return r;
}

/* FWD-GATE alone, in one family's table where it lives (under G.lock). */
static int gate_family(int family)
{
	struct family_tools ft;
	char text[8192];
	struct tbuf t = { .p = text, .len = sizeof(text) };
	int r;

	r = tools_for(family, &ft);
	if (r < 0)
		return r;
	tb_printf(&t, "*%s\n:%s - [0:0]\n", gate_in_raw(&G.hc) ? "raw" : "mangle",
		  FWD_HOOKS_GATE_CHAIN);
	render_gate_body(&t, family, &G.hc);
	tb_printf(&t, "COMMIT\n");
	if (t.full)
		return -ENOSPC;
	return restore(ft.restore, text, t.pos);
}

void hooks_gate_forget(void)
{
	pthread_mutex_lock(&G.lock);
	G.rate = 0;
	pthread_mutex_unlock(&G.lock);
}

int hooks_gate(uint32_t rate)
{
	int r;

	pthread_mutex_lock(&G.lock);
	G.gen++;
	G.rate = rate;
	r = gate_family(4);
	if (r >= 0)
		gate_family(6);	/* none without IPv6: install() said so */
	pthread_mutex_unlock(&G.lock);
	return r;
}

int hooks_install(const struct fwd_hooks_conf *hc, const struct fwd_ruleset *rs)
{
	struct rule_src s = { .rs = rs, .n = rs ? ruleset_nrules(rs) : 0 };

	return install(hc, &s);
}

int hooks_install_rules(const struct fwd_hooks_conf *hc, const struct fwd_rule_info *rules,
			size_t n)
{
	struct rule_src s = { .arr = rules, .n = rules ? n : 0 };

	return install(hc, &s);
}

/* Delete every copy of fwd's jump rule in TABLE, then the chain itself. */
static int remove_family(int family)
{
	static const char text[] =
		"*mangle\n:" FWD_HOOKS_QUEUE_CHAIN " - [0:0]\n:" FWD_HOOKS_SEEN_CHAIN " - [0:0]\n"
		":" FWD_HOOKS_DEFRAG_CHAIN " - [0:0]\n:" FWD_HOOKS_EARLY_CHAIN " - [0:0]\n"
		":" FWD_HOOKS_GATE_CHAIN " - [0:0]\n:" FWD_HOOKS_SHED_CHAIN " - [0:0]\n"
		"-X " FWD_HOOKS_QUEUE_CHAIN "\n-X " FWD_HOOKS_SEEN_CHAIN "\n"
		"-X " FWD_HOOKS_DEFRAG_CHAIN "\n-X " FWD_HOOKS_EARLY_CHAIN "\n"
		"-X " FWD_HOOKS_GATE_CHAIN "\n-X " FWD_HOOKS_SHED_CHAIN "\nCOMMIT\n"
		"*raw\n:" FWD_HOOKS_GATE_CHAIN " - [0:0]\n:" FWD_HOOKS_SHED_CHAIN " - [0:0]\n"
		"-X " FWD_HOOKS_GATE_CHAIN "\n-X " FWD_HOOKS_SHED_CHAIN "\nCOMMIT\n"
		"*nat\n:" FWD_HOOKS_DNAT_CHAIN " - [0:0]\n:" FWD_HOOKS_HAIRPIN_CHAIN " - [0:0]\n"
		"-X " FWD_HOOKS_DNAT_CHAIN "\n-X " FWD_HOOKS_HAIRPIN_CHAIN "\nCOMMIT\n";
	/* FWD-REJECT: what fwd before its own reject answers left behind. */
	static const char ftext[] =
		"*filter\n:" FWD_HOOKS_REJECT_CHAIN " - [0:0]\n-X " FWD_HOOKS_REJECT_CHAIN "\nCOMMIT\n";
	struct family_tools ft;
	int r;

	r = tools_for(family, &ft);
	if (r < 0)
		return r;
	for (int i = 0; i < JUMP_MAX_DEL; i++)
		if (jump_op(ft.cmd, "-D", "mangle", FWD_HOOKS_QUEUE_CHAIN) != 0)
			break;
	for (int i = 0; i < JUMP_MAX_DEL; i++)
		if (jump_op(ft.cmd, "-D", "nat", FWD_HOOKS_DNAT_CHAIN) != 0)
			break;
	for (int i = 0; i < JUMP_MAX_DEL; i++)
		if (jump_op(ft.cmd, "-D", "raw", FWD_HOOKS_GATE_CHAIN) != 0)
			break;
	for (int i = 0; i < JUMP_MAX_DEL; i++)
		if (jump_op_from(ft.cmd, "-D", "nat", "POSTROUTING", FWD_HOOKS_HAIRPIN_CHAIN) != 0)
			break;
	for (int i = 0; i < JUMP_MAX_DEL; i++)
		if (jump_op_from(ft.cmd, "-D", "filter", "INPUT", FWD_HOOKS_REJECT_CHAIN) != 0)
			break;
	for (int i = 0; i < JUMP_MAX_DEL; i++)
		if (jump_op_from(ft.cmd, "-D", "filter", "FORWARD", FWD_HOOKS_REJECT_CHAIN) != 0)
			break;
	r = restore(ft.restore, ftext, sizeof(ftext) - 1);
	if (r < 0)
		log_warn("hooks: removing the %s chain failed", FWD_HOOKS_REJECT_CHAIN);
	return restore(ft.restore, text, sizeof(text) - 1);
}

int hooks_remove(void)
{
	int r;

	pthread_mutex_lock(&G.lock);
	G.in[0] = G.in[1] = false;
	forget_left();
	bridged_apply(false);
	pthread_mutex_unlock(&G.lock);
	r = remove_family(6);
	if (r < 0)
		log_warn("hooks: removing IPv6 chains failed: %s", strerror(-r));
	r = remove_family(4);
	if (r < 0)
		log_warn("hooks: removing IPv4 chains failed: %s", strerror(-r));
	return r;
}

/* ---- are they still there? ------------------------------------------------ */

/*
 * What carries packets into fwd's chains, table by table: a rule of FROM
 * that jumps to TO. Another tool that restores a whole table (iptables-restore
 * without --noflush, netfilter-persistent), flushes one (iptables -t mangle
 * -F) or the whole ruleset (nft flush ruleset) takes these away with the rest.
 */
static const struct {
	const char *table, *from, *to;
} needs[] = {
	{ "mangle", "PREROUTING", FWD_HOOKS_QUEUE_CHAIN },
	{ "mangle", FWD_HOOKS_QUEUE_CHAIN, "NFQUEUE" },
	{ "nat", "PREROUTING", FWD_HOOKS_DNAT_CHAIN },
	{ "nat", "POSTROUTING", FWD_HOOKS_HAIRPIN_CHAIN },
	{ "raw", "PREROUTING", FWD_HOOKS_GATE_CHAIN },
};

/* The rule of the line [LINE, END) if it appends to FROM ("-A FROM ..."), else NULL. */
static const char *rule_of(const char *line, const char *end, const char *from)
{
	size_t fl = strlen(from);
	const char *r = rule_text(line, end);

	if (!r || r + 3 + fl >= end || strncmp(r + 3, from, fl) || r[3 + fl] != ' ')
		return NULL;
	return r;
}

/* Does rule R (up to END) jump to TO? */
static bool jumps_to(const char *r, const char *end, const char *to)
{
	size_t tl = strlen(to);

	for (const char *j = r; (j = memmem(j, (size_t)(end - j), " -j ", 4)); j += 4)
		if (j + 4 + tl <= end && !strncmp(j + 4, to, tl) &&
		    (j + 4 + tl == end || j[4 + tl] == ' '))
			return true;
	return false;
}

/* Has TEXT (iptables-save -c output) a rule "-A FROM ... -j TO"? */
static bool has_jump(const char *text, const char *from, const char *to)
{
	for (const char *line = text, *end; *line; line = *end ? end + 1 : end) {
		const char *r;

		end = line + strcspn(line, "\n");
		if ((r = rule_of(line, end, from)) && jumps_to(r, end, to))
			return true;
	}
	return false;
}

/*
 * Into OUT (LEN bytes, "" for none), FAMILY's first rule of mangle
 * PREROUTING in TEXT when it is not fwd's jump and fwd's jump is there too
 * (where the jump is gone, an install puts it back first).
 */
static void rule_before(const char *text, int family, char *out, size_t len)
{
	const char *first = NULL, *first_end = NULL;

	for (const char *line = text, *end; *line; line = *end ? end + 1 : end) {
		const char *r;

		end = line + strcspn(line, "\n");
		if (!(r = rule_of(line, end, "PREROUTING")))
			continue;
		if (jumps_to(r, end, FWD_HOOKS_QUEUE_CHAIN)) {
			if (first)
				snprintf(out, len, "%s: %.*s", family == 6 ? "ip6tables" : "iptables",
					 (int)(first_end - first), first);
			return;
		}
		if (!first) {
			first = r;
			first_end = end;
		}
	}
}

/* Is the line of L bytes at LINE one of TEXT's (own_lines())? */
static bool has_line(const char *text, const char *line, size_t l)
{
	for (const char *t = text; *t; t += strcspn(t, "\n") + 1)
		if (strcspn(t, "\n") == l && !memcmp(t, line, l))
			return true;
	return false;
}

/*
 * Into OUT (LEN bytes), how HAVE, fwd's chains as they are, differs from
 * WANT, as fwd left them (own_lines() texts, not equal): the first rule that
 * is new, or gone, or out of place, with its chain.
 */
static void differ(const char *tool, const char *table, const char *want, const char *have,
		   char *out, size_t len)
{
	const char *w = want, *h = have, *line, *how;
	size_t wl, hl, cl;

	for (; *w && *h; w += wl + 1, h += hl + 1) {
		wl = strcspn(w, "\n");
		hl = strcspn(h, "\n");
		if (wl != hl || memcmp(w, h, wl))
			break;
	}
	wl = strcspn(w, "\n");
	hl = strcspn(h, "\n");
	if (*h && !has_line(want, h, hl)) {
		line = h;
		how = "is new";
	} else {
		line = *w ? w : h;
		how = *w && !has_line(have, w, wl) ? "is gone" : "is out of place";
	}
	wl = strcspn(line, "\n");
	cl = strcspn(line + 3, " ");
	snprintf(out, len, "%s -t %s: %.*s is not as fwd left it (%.*s %s)", tool, table,
		 (int)cl, line + 3, (int)wl, line, how);
}

/* What hooks_missing() learns from the tables of one family. */
struct look {
	char *what, *before;
	size_t len, blen;
	unsigned gates;			/* FWD-GATE rate lines */
	bool gate_other;		/* one of them not of G.gen */
};

/* Count the gate's rate lines in TEXT into L, and whether each is the one G names. */
static void count_gates(const char *text, struct look *l)
{
	char name[32];
	size_t nl = (size_t)snprintf(name, sizeof(name), "%s%u", FWD_HOOKS_GATE_NAME,
				     G.gen % FWD_HOOKS_GATE_GENS);

	for (const char *line = text, *end; *line; line = *end ? end + 1 : end) {
		const char *r, *n;

		end = line + strcspn(line, "\n");
		if (!(r = rule_text(line, end)) || !gate_rate_line(r, end))
			continue;
		l->gates++;
		n = memmem(r, (size_t)(end - r), name, nl);
		if (!n || (n + nl < end && n[nl] != ' '))
			l->gate_other = true;
	}
}

/* Does FAMILY's TABLE (index T) still hold fwd's jumps and chains as fwd left them? */
static int table_missing(int family, size_t t, struct look *l)
{
	const char *tool = family == 6 ? "ip6tables" : "iptables";
	char *text = NULL, *now = NULL, **left = &G.left[family == 6][t];
	int r = ipt_save(family, tables[t], &text);

	if (r)
		return r;
	if (!strcmp(tables[t], "mangle") && !*l->before)
		rule_before(text, family, l->before, l->blen);
	for (size_t i = 0; i < sizeof(needs) / sizeof(needs[0]) && !r; i++) {
		if (strcmp(needs[i].table, tables[t]) || has_jump(text, needs[i].from, needs[i].to))
			continue;
		snprintf(l->what, l->len, "%s -t %s: no rule of %s jumps to %s", tool, tables[t],
			 needs[i].from, needs[i].to);
		r = 1;
	}
	count_gates(text, l);
	if (!r && !(now = own_lines(text)))
		r = -ENOMEM;
	if (!r && !*left) {
		*left = now;	/* fwd could not read it after its change: from now on */
		now = NULL;
	} else if (!r && strcmp(*left, now)) {
		differ(tool, tables[t], *left, now, l->what, l->len);
		r = 1;
	}
	free(now);
	free(text);
	return r;
}

int hooks_missing(char *what, size_t len, char *before, size_t blen)
{
	int r = 0;

	*before = '\0';
	pthread_mutex_lock(&G.lock);
	for (int f = 0; f < 2 && !r; f++) {
		struct look l = { .what = what, .len = len, .before = before, .blen = blen };
		unsigned want = hooks_gated(&G.hc) && G.rate;

		for (size_t t = 0; G.in[f] && t < NTABLES && !r; t++)
			r = table_missing(f ? 6 : 4, t, &l);
		if (r || !G.in[f] || (l.gates == want && !l.gate_other))
			continue;
		snprintf(what, len, "%s: %s is not as fwd left it (rate lines: %u, fwd left %u%s)",
			 f ? "ip6tables" : "iptables", FWD_HOOKS_GATE_CHAIN, l.gates, want,
			 l.gate_other ? "; one not of fwd's name" : "");
		r = 1;
	}
	if (!r)
		r = bridged_missing(what, len);
	pthread_mutex_unlock(&G.lock);
	return r;
}
