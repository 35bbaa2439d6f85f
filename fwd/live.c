// SPDX-License-Identifier: MIT
/*
 * live.c - building, publishing and retiring the state workers judge
 * packets by (include/fwd/live.h). Everything here runs off the packet path:
 * it allocates, reads files and waits for RCU grace periods freely.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/rtnetlink.h>
#include <malloc.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <urcu-qsbr.h>

#include "fwd/crowdsec.h"
#include "fwd/bridged.h"
#include "fwd/gateway.h"
#include "fwd/gate.h"
#include "fwd/live.h"
#include "fwd/rpfilter.h"
#include "fwd/suppress.h"
#include "fwd/stats.h"
#include "fwd/value.h"

static uint32_t in4(const struct sockaddr *sa)
{
	return ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
}

/*
 * A broadcast address of IPv4 address A, or 0: the kernel routes the
 * prefix's all-ones address as broadcast for prefixes shorter than /31,
 * and the one given with `brd` as well (fib_add_ifaddr()). getifaddrs()
 * gives the address itself as the broadcast when none was given.
 */
static uint32_t ifa_broadcast(const struct ifaddrs *a, bool given)
{
	uint32_t addr, mask;

	if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || !(a->ifa_flags & IFF_BROADCAST))
		return 0;
	addr = in4(a->ifa_addr);
	if (given)
		return a->ifa_broadaddr && in4(a->ifa_broadaddr) != addr ? in4(a->ifa_broadaddr) : 0;
	if (!a->ifa_netmask)
		return 0;
	mask = in4(a->ifa_netmask);
	return mask < 0xfffffffeu ? addr | ~mask : 0;
}

/* Into OUT (NULL: count only) the broadcast addresses of AS; how many. */
static uint32_t broadcasts(const struct ifaddrs *as, uint32_t *out)
{
	uint32_t n = 0, b;

	for (const struct ifaddrs *a = as; a; a = a->ifa_next)
		for (int given = 0; given < 2; given++)
			if ((b = ifa_broadcast(a, given)) && b != 0xffffffffu) {
				if (out)
					out[n] = b;
				n++;
			}
	return n;
}

struct fwd_ifmap *ifmap_build(const struct fwd_ruleset *rs)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	struct ifaddrs *as = NULL;
	struct fwd_ifmap *m = NULL;
	uint32_t n = 1, nb;
	size_t cls_size;

	/* Not a map without the links: every named one would be unseen. */
	if (!ifs)
		return NULL;
	if (getifaddrs(&as) < 0)
		goto out;
	for (i = ifs; i->if_index; i++)
		if (i->if_index >= n)
			n = i->if_index + 1;
	nb = broadcasts(as, NULL);
	cls_size = (n * sizeof(m->cls[0]) + sizeof(uint32_t) - 1) & ~(sizeof(uint32_t) - 1);
	m = calloc(1, sizeof(*m) + cls_size + nb * sizeof(uint32_t));
	if (!m)
		goto out;
	m->n = n;
	m->bcast = (const uint32_t *)((char *)m->cls + cls_size);
	m->nbcast = broadcasts(as, (uint32_t *)((char *)m->cls + cls_size));
	m->unknown = ruleset_names_ifaces(rs) ? FWD_IFACE_UNSEEN : ruleset_iface_class(rs, "");
	for (uint32_t k = 1; k < n; k++)
		m->cls[k] = m->unknown;
	m->cls[0] = ruleset_iface_class(rs, "");	/* no input interface */
	for (i = ifs; i->if_index; i++)
		m->cls[i->if_index] = ruleset_iface_class(rs, i->if_name);
out:
	if (as)
		freeifaddrs(as);
	if_freenameindex(ifs);
	return m;
}

void live_free(struct fwd_live *l)
{
	if (!l)
		return;
	for (unsigned w = 0; l->ctr && w < l->nworkers; w++)
		free(l->ctr[w]);
	for (unsigned w = 0; l->bucket && w < l->nworkers; w++)
		free(l->bucket[w]);
	free(l->names);
	free(l->ctr);
	free(l->bucket);
	free(l->carry_packets);
	free(l->carry_bytes);
	free(l->carry_last_ms);
	free(l->ifmap);
	dyn_free(l->dyn);
	early_free(l->early);
	ruleset_free(l->rs);
	free(l);
}

/* N entries of SIZE bytes, zeroed, from a cache line's start: no false sharing. */
static void *line_alloc(size_t n, size_t size)
{
	size_t sz = ((n ? n : 1) * size + 63) & ~(size_t)63;
	void *p = aligned_alloc(64, sz);

	if (p)
		memset(p, 0, sz);
	return p;
}

static int live_alloc_counters(struct fwd_live *l)
{
	uint32_t n = l->nrules ? l->nrules : 1;

	l->ctr = calloc(l->nworkers, sizeof(*l->ctr));
	l->bucket = calloc(l->nworkers, sizeof(*l->bucket));
	l->carry_packets = calloc(n, sizeof(uint64_t));
	l->carry_bytes = calloc(n, sizeof(uint64_t));
	l->carry_last_ms = calloc(n, sizeof(uint64_t));
	l->names = calloc(n, sizeof(char *));
	if (!l->ctr || !l->bucket || !l->carry_packets || !l->carry_bytes || !l->carry_last_ms ||
	    !l->names)
		return -ENOMEM;
	for (unsigned w = 0; w < l->nworkers; w++) {
		/* blocks of its own for each worker, which alone writes them */
		l->ctr[w] = line_alloc(l->nrules, sizeof(**l->ctr));
		l->bucket[w] = line_alloc(ruleset_nlog(l->rs), sizeof(**l->bucket));
		if (!l->ctr[w] || !l->bucket[w])
			return -ENOMEM;
	}
	for (uint32_t i = 0; i < l->nrules; i++)
		l->names[i] = ruleset_rule(l->rs, i)->name;
	return 0;
}

struct fwd_live *live_prepare(const struct fwd_config *c, unsigned nworkers)
{
	struct fwd_live *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->nworkers = nworkers;
	l->malformed = c->malformed_action == FWD_ALLOW ? FWD_ALLOW : FWD_DROP;
	l->every_packet = c->daemon.inspect == FWD_INSPECT_EVERY;
	l->log_rate = c->daemon.log_rate ? c->daemon.log_rate : FWD_LOG_RATE_DEFAULT;
	l->log_burst = c->daemon.log_burst ? c->daemon.log_burst : FWD_LOG_BURST_DEFAULT;
	l->early = early_build(c);
	if (!l->early || dyn_build(c, nworkers, &l->dyn)) {
		live_free(l);
		return NULL;
	}
	if (c->crowdsec)
		dyn_unkept(l->dyn, c->crowdsec->set);
	return l;
}

struct fwd_live *live_attach(struct fwd_live *l, struct fwd_ruleset *rs)
{
	if (!l) {
		ruleset_free(rs);
		return NULL;
	}
	l->rs = rs;
	l->nrules = ruleset_nrules(rs);
	l->ifmap = ifmap_build(rs);
	if (!l->ifmap || live_alloc_counters(l)) {
		live_free(l);
		return NULL;
	}
	return l;
}

struct fwd_live *live_new(struct fwd_ruleset *rs, const struct fwd_config *c,
			  unsigned nworkers)
{
	return live_attach(live_prepare(c, nworkers), rs);
}

void live_publish_first(struct fwd_state *st, struct fwd_live *l)
{
	l->gen = 1;
	rcu_assign_pointer(st->live, l);
}

static const char *live_name(const void *live, uint32_t i)
{
	return ((const struct fwd_live *)live)->names[i];
}

/*
 * Rules that keep their name keep their counts; names found by hash. A rule
 * never hit carries nothing, and its place in the carry arrays stays a page
 * of zeroes the kernel has not had to give.
 */

static void carry_counters(struct fwd_live *l, struct fwd_live *old)
{
	struct fwd_nameidx idx;

	if (nameidx_init(&idx, old->nrules, live_name, old))
		return;
	for (uint32_t j = 0; j < old->nrules; j++)
		nameidx_add(&idx, j);
	for (uint32_t i = 0; i < l->nrules; i++) {
		long j = nameidx_find(&idx, l->names[i]);
		uint64_t p, b, t;

		if (j < 0)
			continue;
		stats_rule_totals(old, (uint32_t)j, &p, &b, &t);
		if (p | b | t) {
			l->carry_packets[i] = p;
			l->carry_bytes[i] = b;
			l->carry_last_ms[i] = t;
		}
	}
	nameidx_free(&idx);
}

void live_replace(struct fwd_state *st, struct fwd_live *l)
{
	struct fwd_live *old;

	l->gen = st->live ? st->live->gen + 1 : 1;
	/* A blocked source stays blocked: the members are in L before it is seen. */
	if (st->live)
		dyn_carry_state(l->dyn, st->live->dyn, clock_coarse_ms());
	old = rcu_xchg_pointer(&st->live, l);
	if (!old)
		return;
	/* After this no worker reads OLD: its counters are final; what it added is carried. */
	synchronize_rcu();
	suppress_sweep_live(old);
	carry_counters(l, old);
	early_carry(l->early, old->early);
	dyn_carry(l->dyn, old->dyn);
	live_free(old);
}

int live_refresh_ifmap(struct fwd_state *st)
{
	struct fwd_live *l = st->live;
	struct fwd_ifmap *m, *old;

	if (!l)
		return 0;
	m = ifmap_build(l->rs);
	if (!m)
		return -ENOMEM;
	old = rcu_xchg_pointer(&l->ifmap, m);
	synchronize_rcu();
	free(old);
	return 0;
}

static void reload_log_conf(const struct fwd_state *st, const struct fwd_config *c)
{
	struct fwd_log_conf lc = {
		.sink = c->daemon.log_sink,
		.fmt = c->daemon.log_format,
		.file = c->daemon.log_file,
		.foreground = st->foreground,
	};

	if (log_configure(&lc))
		log_warn("cannot open the log file '%s', keeping the old sink",
			 c->daemon.log_file ? c->daemon.log_file : "");
}

void live_set_metrics(struct fwd_state *st, const struct fwd_config *c)
{
	free(st->metrics_file);
	st->metrics_file = c->daemon.metrics_file ? strdup(c->daemon.metrics_file) : NULL;
	st->metrics_interval = c->daemon.metrics_interval ? c->daemon.metrics_interval :
			       FWD_METRICS_INTERVAL_DEFAULT;
	if (c->daemon.metrics_file && !st->metrics_file)
		log_warn("out of memory: no metrics file");
}

/*
 * The kernel side of a reload, before the new table is published: a table
 * and hooks change together or not at all. If installing the new hooks
 * fails (even for one family only), the old ones are put back.
 */
/* Append L's rule infos to OUT with the marks L's workers put on packets. */
static size_t marked_rules(const struct fwd_live *l, struct fwd_rule_info *out)
{
	uint32_t n = ruleset_nrules(l->rs);

	for (uint32_t i = 0; i < n; i++) {
		out[i] = *ruleset_rule(l->rs, i);
		if (out[i].mark)
			out[i].mark |= l->mark_gen;
	}
	return n;
}

/*
 * Install fwd's chains with the forward rules of A and, when given, B, and
 * the early drops and blocking sets of the newer (B, else A). The restore
 * flushes FWD-EARLY: the kernel's counts go to A first (A is what the chain
 * holds now, or holds the same rules by name).
 */
static int install_marked(const struct fwd_hooks_conf *hc0, struct fwd_live *a,
			  const struct fwd_live *b)
{
	size_t n = ruleset_nrules(a->rs) + (b ? ruleset_nrules(b->rs) : 0), k;
	struct fwd_rule_info *r = calloc(n ? n : 1, sizeof(*r));
	struct fwd_hooks_conf hc = *hc0;
	int e;

	if (!r)
		return -ENOMEM;
	k = marked_rules(a, r);
	if (b)
		k += marked_rules(b, r + k);
	hc.early = b ? b->early : a->early;
	hc.recheck = dyn_blocks(b ? b->dyn : a->dyn) || ruleset_blocks_src(b ? b->rs : a->rs);
	early_harvest(a->early);
	gate_harvest();
	e = hooks_install_rules(&hc, r, k);
	free(r);
	return e;
}

int live_install_hooks(struct fwd_state *st)
{
	rpfilter_dropped(st->hooks.rpfilter);	/* the install restarts the counter */
	return install_marked(&st->hooks, st->live, NULL);
}

/*
 * The kernel side of a reload, before the new table L is published: the DNAT
 * rules of the old and the new table side by side (their marks differ by
 * FWD_MARK_GEN), so packets either table marks meet their own target. A
 * table and hooks change together or not at all: if installing fails, the
 * old hooks are put back. (hooks.c carries on with IPv4 alone only where the
 * namespace has no IPv6, and says so.)
 */
static int reload_hooks(struct fwd_state *st, struct fwd_live *l, const struct fwd_daemon *dc)
{
	struct fwd_hooks_conf hc = st->hooks;

	l->mark_gen = st->no_hooks ? 0 : st->live->mark_gen ^ FWD_MARK_GEN;
	if (st->no_hooks)
		return 0;
	hooks_conf_daemon(&hc, dc);
	rpfilter_dropped(st->hooks.rpfilter);	/* the install restarts the counter */
	if (install_marked(&hc, st->live, l)) {
		if (live_install_hooks(st))
			log_warn("reload: restoring the old kernel hooks failed too");
		return -1;
	}
	st->hooks = hc;
	return 0;
}

/*
 * Settings a reload cannot change: the queues are opened at start, and
 * `fail` is both the jump's --queue-bypass and each queue's
 * NFQA_CFG_F_FAIL_OPEN flag. That flag is set by a request on the queue's
 * netlink socket, whose answer would arrive in the worker's receive loop,
 * and a change half made (jump and queue disagreeing, FWD-GATE there or
 * not) is worse than none: the running values stay, and D and the log say
 * which changed, the only thing D holds after a good reload. The file's
 * queues and queue_num count only where it gives them (--queues and
 * --queue-num win at start).
 */
static void restart_notes(const struct fwd_state *st, const struct fwd_daemon *dc,
			  struct fwd_diags *d)
{
	const char *file = d->file;
	char msg[3][96];
	int n = 0;

	if (dc->fail != st->hooks.fail)
		snprintf(msg[n++], sizeof(msg[0]), "fail: %s -> %s",
			 fail_names[st->hooks.fail], fail_names[dc->fail]);
	if (dc->queues && dc->queues != st->hooks.queues)
		snprintf(msg[n++], sizeof(msg[0]), "queues: %u -> %u", st->hooks.queues,
			 dc->queues);
	if (dc->queue_num_set && dc->queue_num != st->queue_base)
		snprintf(msg[n++], sizeof(msg[0]), "queue_num: %u -> %u", st->queue_base,
			 dc->queue_num);
	diags_free(d);
	diags_init(d, file);
	for (int i = 0; i < n; i++) {
		diag_warning(d, (struct fwd_pos){ 0, 0 },
			     "daemon: %s takes effect at the next restart; the old value stays "
			     "in force until then", msg[i]);
		log_warn("reload: daemon: %s takes effect at the next restart", msg[i]);
	}
}

/* What a reload builds from the rules before the compile frees them. */
struct reload_parts {
	struct fwd_live *l;
	unsigned nworkers;
};

/*
 * The warning reads the rules too. It is about the file, so it may come
 * before a failed compile or install says that the old rules stay.
 */
static int reload_prep(const struct fwd_config *c, void *arg)
{
	struct reload_parts *p = arg;

	p->l = live_prepare(c, p->nworkers);
	if (p->l) {
		gateway_forwarding_warn(c, "reload");
		bridged_note(c->daemon.bridged_pass, "reload");
	}
	return p->l ? 0 : -ENOMEM;
}

int live_reload(struct fwd_state *st, struct fwd_diags *d)
{
	struct reload_parts p = { .nworkers = st->nworkers };
	struct fwd_config *c;
	struct fwd_ruleset *rs;
	struct fwd_live *l = NULL;
	int n = -1;

	pthread_mutex_lock(&st->lock);
	if (ruleset_load_lean(st->config_path, d, reload_prep, &p, &c, &rs))
		live_free(p.l);
	else if (!(l = live_attach(p.l, rs)))
		diag_error(d, (struct fwd_pos){ 0, 0 }, "out of memory");
	if (!l) {
		st->reloads_failed++;
		log_warn("reload failed, keeping the old rules:\n%s", d->text ? d->text : "");
		goto out;
	}
	if (reload_hooks(st, l, &c->daemon)) {
		diag_error(d, (struct fwd_pos){ 0, 0 }, "cannot install the kernel hooks");
		live_free(l);
		st->reloads_failed++;
		log_warn("reload failed, keeping the old rules and hooks:\n%s", d->text ? d->text : "");
		goto out;
	}
	n = (int)l->nrules;
	live_replace(st, l);
	/* No worker holds the old table now: its DNAT rules can go. */
	if (!st->no_hooks && live_install_hooks(st))
		log_warn("reload: dropping the old table's DNAT rules failed; they stay unused");
	reload_log_conf(st, c);
	live_set_metrics(st, c);
	crowdsec_configure(c->crowdsec);	/* the thread goes on with the new section */
	st->reloads_ok++;
	log_info("reloaded rules from %s: %d rules", st->config_path, n);
	restart_notes(st, &c->daemon, d);
out:
	config_free(c);
	/* What loading and compiling took (and the old table) goes back to the system. */
	malloc_trim(0);
	pthread_mutex_unlock(&st->lock);
	return n;
}

int link_open(void)
{
	return netlink_listen(NETLINK_ROUTE, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR);
}

void link_event(struct fwd_state *st, int link_fd)
{
	char buf[8192];
	bool any = false;

	/* The content does not matter: any change rebuilds the whole map. */
	for (;;) {
		ssize_t n = recv(link_fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0 || (n < 0 && errno == ENOBUFS)) {
			any = true;
			continue;
		}
		break;
	}
	if (!any)
		return;
	pthread_mutex_lock(&st->lock);
	if (live_refresh_ifmap(st))
		log_warn("cannot rebuild the interface map (out of memory or file descriptors); "
			 "the old one stays until the next link change");
	/* A prefix that came or went changes which forwards need their source rewritten. */
	if (!st->no_hooks && hooks_hairpin() < 0)
		log_warn("hooks: replacing %s failed; the old prefixes stay there",
			 FWD_HOOKS_HAIRPIN_CHAIN);
	pthread_mutex_unlock(&st->lock);
}
