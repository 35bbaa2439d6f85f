// SPDX-License-Identifier: MIT
/*
 * rules.c - YAML rules file -> checked struct fwd_config (DESIGN.md section 3).
 *
 * Two passes. First fwd/ytree.c builds the positioned node tree of the
 * YAML. Then the schema pass walks the tree, records every problem it finds
 * with its position, and normalises each match field to sorted, disjoint,
 * inclusive ranges: the top level, sets, tests and daemon sections here,
 * one rule in fwd/rule.c, the dynamic sections in fwd/rdyn.c, the value
 * parsers in fwd/rvalue.c.
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
#include "fwd/crowdsec.h"
#include "fwd/load.h"
#include "fwd/value.h"

/* ---- sets ------------------------------------------------------------- */

/* What an element of a set looks like, so a set can be told apart: ports or addresses. */
static enum setkind elem_kind(const char *s)
{
	const char *c;
	int colons = 0;

	while (*s == '!')
		s++;
	if (strchr(s, '.') || strchr(s, '/'))
		return SET_ADDRS;
	for (c = s; *c; c++)
		colons += *c == ':';
	return colons >= 2 ? SET_ADDRS : SET_PORTS;
}

/* Does E parse as K, silently? Used to tell "neither" from "a mix". */
static bool elem_parses(struct ld *l, const struct ynode *e, enum setkind k)
{
	struct rl a = { 0 }, b = { 0 };
	bool ok;

	if (k == SET_ADDRS)
		ok = addr_scalar(l, e, e->s, &a, &b, false, PCTX_SET);
	else
		ok = port_scalar(l, e, e->s, PM_TCP | PM_UDP, &a, false, PCTX_SET);
	rl_free(&a);
	rl_free(&b);
	return ok;
}

static void elem_parse_report(struct ld *l, const struct ynode *e, enum setkind k)
{
	struct rl a = { 0 }, b = { 0 };

	if (k == SET_ADDRS)
		addr_scalar(l, e, e->s, &a, &b, true, PCTX_SET);
	else
		port_scalar(l, e, e->s, PM_TCP | PM_UDP, &a, true, PCTX_SET);
	rl_free(&a);
	rl_free(&b);
}

static void set_elem(struct ld *l, struct lset *set, const struct ynode *e)
{
	enum setkind k;

	if (!want_scalar(l, e, "an element of a set"))
		return;
	if (e->s[0] == '$' || (e->s[0] == '!' && e->s[1] == '$')) {
		diag_error(l->d, e->pos, "'%s': sets cannot reference other sets", e->s);
		return;
	}
	k = elem_kind(e->s);
	if (set->kind != SET_UNKNOWN && k != set->kind && !elem_parses(l, e, k)) {
		/* Report what is wrong with it rather than the mix. */
		elem_parse_report(l, e, k);
		return;
	}
	if (set->kind != SET_UNKNOWN && k != set->kind) {
		diag_error(l->d, e->pos, "set '%s' mixes ports and addresses ('%s' is %s)",
			   set->name, e->s, k == SET_PORTS ? "a port" : "an address");
		return;
	}
	if (k == SET_ADDRS) {
		if (addr_scalar(l, e, e->s, &set->v4, &set->v6, true, PCTX_SET))
			set->kind = SET_ADDRS;
		return;
	}
	/*
	 * Errors are reported once, for the union of tcp and udp; each rule that
	 * uses the set resolves it for its own protocols (set_ports_for()).
	 */
	if (!port_scalar(l, e, e->s, PM_TCP | PM_UDP, &set->ports[3], true, PCTX_SET))
		return;
	set->kind = SET_PORTS;
}

static void load_set(struct ld *l, struct lset *set, const struct ynode *k,
		     const struct ynode *v)
{
	if (!name_ok(k->s, FWD_NAME_MAX))
		diag_error(l->d, k->pos,
			   "invalid set name '%s'; use 1 to 64 of A-Z a-z 0-9 . _ -", k->s);
	set->name = k->s;
	set->pos = k->pos;
	set->val = v;
	if (v->kind == Y_MAP) {
		set_file(l, set, v);
		return;
	}
	if (v->kind == Y_SCALAR) {
		set_elem(l, set, v);
		return;
	}
	for (size_t j = 0; j < v->n; j++)
		set_elem(l, set, ykid(v)[j]);
	if (v->n == 0)
		diag_error(l->d, v->pos, "set '%s' is empty", k->s);
}

static void load_sets(struct ld *l, const struct ynode *map)
{
	if (!want_map(l, map, "sets:"))
		return;
	l->sets = calloc(map->n / 2 + 1, sizeof(*l->sets));
	if (!l->sets) {
		l->oom = true;
		return;
	}
	for (size_t i = 0; i + 1 < map->n; i += 2) {
		struct lset *set = &l->sets[l->nsets];
		unsigned before = l->d->errors;

		if (ykid(map)[i]->kind != Y_SCALAR)
			continue;
		l->nsets++;
		load_set(l, set, ykid(map)[i], ykid(map)[i + 1]);
		/* A rule that uses a set with an error is left out of `fwd check`'s analysis. */
		set->bad = l->d->errors != before;
	}
}

static void free_sets(struct ld *l)
{
	for (size_t i = 0; i < l->nsets; i++) {
		for (int j = 0; j < 4; j++)
			rl_free(&l->sets[i].ports[j]);
		rl_free(&l->sets[i].v4);
		rl_free(&l->sets[i].v6);
	}
	free(l->sets);
}

/* ---- tests ------------------------------------------------------------ */

static bool rule_exists(const struct fwd_config *c, const char *name)
{
	for (uint32_t i = 0; i < c->nrules; i++)
		if (!strcmp(c->rules[i].name, name))
			return true;
	return false;
}

static const char *rule_hint(const struct fwd_config *c, const char *name, char *buf,
			     size_t len)
{
	struct near n;

	near_init(&n, name);
	near_try(&n, "default");
	for (uint32_t i = 0; i < c->nrules; i++)
		near_try(&n, c->rules[i].name);
	return near_hint(&n, buf, len);
}

/* "allow", "drop ssh", "forward to=1.2.3.4:80 web". */
static void check_expect(struct ld *l, const struct ynode *v)
{
	char buf[Y_SCALAR_MAX + 1], *w[4], *save = NULL, hint[NEAR_HINT_MAX];
	int nw = 0, i = 1;
	struct fwd_target t;

	snprintf(buf, sizeof(buf), "%s", v->s);
	for (char *tok = strtok_r(buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save))
		if (nw < 4)
			w[nw++] = tok;
		else
			nw++;
	if (nw == 0 || action_parse(w[0], 0) < 0) {
		diag_error(l->d, v->pos,
			   "invalid expect '%s'; expected allow, drop, forward or reject, then optionally to=ADDR:PORT and a rule name%s",
			   v->s, nw ? names_hint(action_names, w[0], hint, sizeof(hint)) : "");
		return;
	}
	if (i < nw && !strncmp(w[i], "to=", 3)) {
		if (strcmp(w[0], "forward"))
			diag_error(l->d, v->pos, "invalid expect '%s': to= goes with forward", v->s);
		else if (!parse_target(w[i] + 3, &t))
			diag_error(l->d, v->pos, "invalid target '%s' in expect", w[i] + 3);
		i++;
	}
	if (i < nw && strcmp(w[i], "default") && !rule_exists(l->c, w[i]))
		diag_error(l->d, v->pos, "expect names rule '%s', which does not exist%s", w[i],
			   rule_hint(l->c, w[i], hint, sizeof(hint)));
	if (i < nw)
		i++;
	if (i < nw)
		diag_error(l->d, v->pos, "invalid expect '%s': unexpected '%s'", v->s, w[i]);
}

static const struct ykey test_keys[] = { { "packet", NULL }, { "expect", NULL }, { NULL, NULL } };

static void load_test(struct ld *l, const struct ynode *item, struct fwd_test *t)
{
	const struct ynode *f[2] = { NULL, NULL }, *pkt, *exp;

	t->pos = item->pos;
	if (!want_map(l, item, "a test"))
		return;
	ywalk(l, item, test_keys, "a test", f);
	pkt = f[0];
	exp = f[1];
	if (!pkt || !exp) {
		diag_error(l->d, item->pos, "a test needs packet: and expect:");
		return;
	}
	if (!want_scalar(l, pkt, "packet:") || !want_scalar(l, exp, "expect:"))
		return;
	check_expect(l, exp);
	t->packet = strdup(pkt->s);
	t->expect = strdup(exp->s);
	if (!t->packet || !t->expect)
		l->oom = true;
}

static void load_tests(struct ld *l, const struct ynode *v)
{
	if (v->kind != Y_SEQ) {
		diag_error(l->d, v->pos, "tests: must be a list, not %s", kind_name(v));
		return;
	}
	l->c->tests = calloc(v->n + 1, sizeof(*l->c->tests));
	if (!l->c->tests) {
		l->oom = true;
		return;
	}
	l->bad_test = calloc(v->n + 1, sizeof(*l->bad_test));
	if (!l->bad_test) {
		l->oom = true;
		return;
	}
	l->c->ntests = (uint32_t)v->n;
	for (uint32_t i = 0; i < v->n; i++) {
		unsigned before = l->d->errors;

		load_test(l, ykid(v)[i], &l->c->tests[i]);
		l->bad_test[i] = l->d->errors != before;
	}
}

/* ---- daemon ----------------------------------------------------------- */

static char *daemon_path(struct ld *l, const struct ynode *v, const char *what)
{
	char *s;

	if (!want_scalar(l, v, what))
		return NULL;
	if (!v->s[0]) {
		diag_error(l->d, v->pos, "%s is empty", what);
		return NULL;
	}
	s = strdup(v->s);
	if (!s)
		l->oom = true;
	return s;
}

static void daemon_rate(struct ld *l, const struct ynode *v, struct fwd_daemon *dm)
{
	char num[32];
	const char *slash;
	uint64_t n;

	if (!want_scalar(l, v, "log rate"))
		return;
	slash = strchr(v->s, '/');
	if (!slash || (size_t)(slash - v->s) >= sizeof(num) ||
	    (strcmp(slash, "/s") && strcmp(slash, "/m")))
		goto bad;
	memcpy(num, v->s, (size_t)(slash - v->s));
	num[slash - v->s] = '\0';
	if (!parse_uint(num, 1000000000u, &n) || n == 0)
		goto bad;
	/* Stored per second; a per-minute rate rounds up so it never becomes 0. */
	dm->log_rate = (uint32_t)(slash[1] == 'm' ? (n + 59) / 60 : n);
	return;
bad:
	diag_error(l->d, v->pos, "invalid log rate '%s'; expected N/s or N/m with N >= 1", v->s);
}

/* daemon log: keys; FILE is checked once the sink is known. */
struct dlog {
	struct fwd_daemon *dm;
	const struct ynode *file;
};

static const char *const log_sinks[] = { "syslog", "stderr", "file", NULL };
static const char *const log_fmts[] = { "kv", "json", NULL };

static void log_sink(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	struct dlog *g = ctx;
	int x = pick(l, v, "log sink", log_sinks, NULL);

	(void)k;
	if (x >= 0)
		g->dm->log_sink = (enum fwd_logsink)(FWD_SINK_SYSLOG + x);
}

static void log_file(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	(void)l;
	(void)k;
	((struct dlog *)ctx)->file = v;
}

static void log_format(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	struct dlog *g = ctx;
	int x = pick(l, v, "log format", log_fmts, NULL);

	(void)k;
	if (x >= 0)
		g->dm->log_format = (enum fwd_logfmt)x;
}

static void log_rate(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	(void)k;
	daemon_rate(l, v, ((struct dlog *)ctx)->dm);
}

static void log_burst(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	(void)k;
	daemon_uint(l, v, "log burst", 1, 1000000, &((struct dlog *)ctx)->dm->log_burst);
}

static const struct ykey log_keys[] = {
	{ "sink", log_sink }, { "file", log_file }, { "format", log_format },
	{ "rate", log_rate }, { "burst", log_burst }, { NULL, NULL },
};

static void daemon_log(struct ld *l, const struct ynode *k, const struct ynode *m, void *ctx)
{
	struct dlog g = { .dm = ctx };

	(void)k;
	if (!want_map(l, m, "daemon log:"))
		return;
	ywalk(l, m, log_keys, "daemon log", &g);
	if (g.dm->log_sink == FWD_SINK_FILE && !g.file)
		diag_error(l->d, m->pos, "log sink file needs file: PATH");
	else if (g.file && g.dm->log_sink != FWD_SINK_FILE)
		diag_error(l->d, g.file->pos, "log file: without sink: file");
	else if (g.file)
		g.dm->log_file = daemon_path(l, g.file, "log file");
}

static void metrics_file(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	(void)k;
	((struct fwd_daemon *)ctx)->metrics_file = daemon_path(l, v, "metrics file");
}

static void metrics_interval(struct ld *l, const struct ynode *k, const struct ynode *v,
			     void *ctx)
{
	(void)k;
	daemon_uint(l, v, "metrics interval", 1, 3600,
		    &((struct fwd_daemon *)ctx)->metrics_interval);
}

static const struct ykey metrics_keys[] = {
	{ "file", metrics_file }, { "interval", metrics_interval }, { NULL, NULL },
};

static void daemon_metrics(struct ld *l, const struct ynode *k, const struct ynode *m,
			   void *ctx)
{
	(void)k;
	if (want_map(l, m, "daemon metrics:"))
		ywalk(l, m, metrics_keys, "daemon metrics", ctx);
}

static const char *const ha_onoff[] = { "off", "on", NULL };

static void ha_switch(struct ld *l, const struct ynode *v, const char *what, bool *out)
{
	int x = pick(l, v, what, ha_onoff, NULL);

	if (x >= 0)
		*out = x;
}

static void ha_vrrp(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	(void)k;
	ha_switch(l, v, "ha vrrp", &((struct fwd_ha *)ctx)->vrrp);
}

static void ha_sync(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	(void)k;
	ha_switch(l, v, "ha sync", &((struct fwd_ha *)ctx)->sync);
}

static void ha_sync_in(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	(void)k;
	if (want_scalar(l, v, "ha sync_in"))
		if_elem(l, v, &((struct fwd_ha *)ctx)->sync_in);
}

static void ha_sync_port(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	uint32_t port;

	(void)k;
	if (daemon_uint(l, v, "ha sync_port", 1, 65535, &port))
		((struct fwd_ha *)ctx)->sync_port = (uint16_t)port;
}

static const struct ykey ha_keys[] = {
	{ "vrrp", ha_vrrp }, { "sync", ha_sync }, { "sync_in", ha_sync_in },
	{ "sync_port", ha_sync_port }, { NULL, NULL },
};

/*
 * `ha: on | off`, or a map of vrrp (on|off), sync (on|off), sync_in (one
 * interface, "eth+" or "!x" as in `in:`) and sync_port: what passes before
 * the queue for an HA pair (config_parse sets the defaults).
 */
static void daemon_ha(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	struct fwd_ha *ha = &((struct fwd_daemon *)ctx)->ha;
	bool on;

	(void)k;
	if (v->kind == Y_SCALAR) {
		on = ha->vrrp;
		ha_switch(l, v, "ha", &on);
		ha->vrrp = ha->sync = on;
		return;
	}
	if (want_map(l, v, "daemon ha:"))
		ywalk(l, v, ha_keys, "daemon ha", ha);
}

static void daemon_queues(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	struct fwd_daemon *dm = ctx;

	(void)k;
	if (v->kind == Y_SCALAR && !strcmp(v->s, "auto"))
		dm->queues = 0;
	else
		daemon_uint(l, v, "queues", 1, 64, &dm->queues);
}

static void daemon_queue_num(struct ld *l, const struct ynode *k, const struct ynode *v,
			     void *ctx)
{
	struct fwd_daemon *dm = ctx;

	(void)k;
	dm->queue_num_set = daemon_uint(l, v, "queue_num", 0, 65535, &dm->queue_num);
}

static void daemon_inspect(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	static const char *const inspect[] = { "new-connections", "every-packet", NULL };
	int x = pick(l, v, "inspect", inspect, NULL);

	(void)k;
	if (x >= 0)
		((struct fwd_daemon *)ctx)->inspect = (enum fwd_inspect)x;
}

static void daemon_fail(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	int x = pick(l, v, "fail", fail_names, NULL);

	(void)k;
	if (x >= 0)
		((struct fwd_daemon *)ctx)->fail = (enum fwd_fail)x;
	if (x == FWD_FAIL_OPEN)
		diag_warning(l->d, v->pos, "fail: open also lets through, unjudged, every "
			     "packet that finds the queue full (a flood opens the gateway); "
			     "fwd counts them as 'bypassed'");
}

/*
 * rpfilter: off (the default), strict or loose: fwd's hooks drop new packets
 * whose source does not route back through their interface (strict) or at
 * all (loose), before the queue.
 */
static void daemon_rpfilter(struct ld *l, const struct ynode *k, const struct ynode *v,
			    void *ctx)
{
	int x = pick(l, v, "rpfilter", rpfilter_names, NULL);

	(void)k;
	if (x >= 0)
		((struct fwd_daemon *)ctx)->rpfilter = (enum fwd_rpfilter)x;
}

/*
 * bridged: judge (the default) or pass: frames a bridge of the gateway
 * forwards between its own ports (which br_netfilter hands to iptables)
 * go to the rules, or by them.
 */
static void daemon_bridged(struct ld *l, const struct ynode *k, const struct ynode *v,
			   void *ctx)
{
	static const char *const choices[] = { "judge", "pass", NULL };

	(void)k;
	((struct fwd_daemon *)ctx)->bridged_pass = pick(l, v, "bridged", choices, NULL) == 1;
}

/* neighbor_discovery: accept (in fwd's hooks, the default) or rules. */
static void daemon_nd(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	static const char *const nd[] = { "accept", "rules", NULL };
	struct fwd_daemon *dm = ctx;

	dm->nd_rules = pick(l, v, "neighbor_discovery", nd, NULL) == 1;
	dm->nd_pos = k->pos;
}

/* dhcpv6_client: accept (in fwd's hooks, the default) or rules. */
static void daemon_dhcpv6(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	static const char *const how[] = { "accept", "rules", NULL };

	(void)k;
	((struct fwd_daemon *)ctx)->dhcpv6_rules = pick(l, v, "dhcpv6_client", how, NULL) == 1;
}

/* nat_loopback: on (the default) or off: FWD-HAIRPIN's masquerade (hairpin.h). */
static void daemon_loopback(struct ld *l, const struct ynode *k, const struct ynode *v,
			    void *ctx)
{
	static const char *const onoff[] = { "on", "off", NULL };

	(void)k;
	((struct fwd_daemon *)ctx)->no_nat_loopback = pick(l, v, "nat_loopback", onoff, NULL) == 1;
}

/* early_drop: on (the default) or off: drops the rules fix go before the queue. */
static void daemon_early(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	static const char *const onoff[] = { "on", "off", NULL };

	(void)k;
	((struct fwd_daemon *)ctx)->no_early_drop = pick(l, v, "early_drop", onoff, NULL) == 1;
}

/* shed: on (the default) or off: an overflowing queue is shed before it (fwd/gate.c). */
static void daemon_shed(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	static const char *const onoff[] = { "on", "off", NULL };

	(void)k;
	((struct fwd_daemon *)ctx)->no_shed = pick(l, v, "shed", onoff, NULL) == 1;
}

static const struct ykey daemon_keys[] = {
	{ "queues", daemon_queues }, { "queue_num", daemon_queue_num },
	{ "inspect", daemon_inspect }, { "fail", daemon_fail }, { "rpfilter", daemon_rpfilter },
	{ "bridged", daemon_bridged },
	{ "neighbor_discovery", daemon_nd }, { "dhcpv6_client", daemon_dhcpv6 },
	{ "log", daemon_log },
	{ "metrics", daemon_metrics }, { "ha", daemon_ha }, { "early_drop", daemon_early },
	{ "shed", daemon_shed }, { "nat_loopback", daemon_loopback }, { NULL, NULL },
};

static void load_daemon(struct ld *l, const struct ynode *m)
{
	if (want_map(l, m, "daemon:"))
		ywalk(l, m, daemon_keys, "daemon", &l->c->daemon);
}

/* ---- crowdsec (checked by fwd/crowdsec_conf.c) -------------------------- */

/* The names of crowdsec_conf_key()'s keys; it checks each value. */
static const struct ykey crowdsec_keys[] = {
	[FWD_CS_URL] = { "url", NULL }, [FWD_CS_KEY_FILE] = { "key_file", NULL },
	[FWD_CS_SET] = { "set", NULL }, [FWD_CS_INTERVAL] = { "interval", NULL },
	[FWD_CS_MACHINE_FILE] = { "machine_file", NULL }, [FWD_CS_NKEYS] = { NULL, NULL },
};

static void load_crowdsec(struct ld *l, const struct ynode *m)
{
	const struct ynode *v[FWD_CS_NKEYS] = { 0 };
	struct fwd_crowdsec_conf *cs;

	if (!want_map(l, m, "crowdsec:"))
		return;
	cs = crowdsec_conf_new(m->pos);
	if (!cs) {
		l->oom = true;
		return;
	}
	ywalk(l, m, crowdsec_keys, "crowdsec", v);
	for (int k = 0; k < FWD_CS_NKEYS; k++)
		if (v[k])
			crowdsec_conf_key(cs, (enum fwd_cs_key)k, crowdsec_keys[k].name,
					  v[k]->kind == Y_SCALAR ? v[k]->s : NULL, v[k]->pos, l->d);
	crowdsec_conf_finish(cs, l->c, l->d);
	l->c->crowdsec = cs;
}

/* ---- top level -------------------------------------------------------- */

enum { TK_VERSION, TK_DEFAULT, TK_LOG, TK_MALFORMED, TK_SETS, TK_RULES, TK_TESTS,
       TK_DAEMON, TK_DYNAMIC, TK_KNOCK, TK_SCAN, TK_CROWDSEC, TK_N };

/* The top level's keys, each value kept at its TK_ index and loaded in load_top()'s order. */
static const struct ykey top_keys[] = {
	[TK_VERSION] = { "version", NULL }, [TK_DEFAULT] = { "default", NULL },
	[TK_LOG] = { "log", NULL }, [TK_MALFORMED] = { "malformed", NULL },
	[TK_SETS] = { "sets", NULL }, [TK_RULES] = { "rules", NULL },
	[TK_TESTS] = { "tests", NULL }, [TK_DAEMON] = { "daemon", NULL },
	[TK_DYNAMIC] = { "dynamic", NULL }, [TK_KNOCK] = { "knock", NULL },
	[TK_SCAN] = { "scan", NULL }, [TK_CROWDSEC] = { "crowdsec", NULL },
	[TK_N] = { NULL, NULL },
};

static void load_top_scalars(struct ld *l, const struct ynode *const *t)
{
	static const char *const verdicts[] = { "allow", "drop", NULL };
	static const char *const logs[] = { "none", "drops", "all", NULL };
	int x;

	if (t[TK_VERSION] && want_scalar(l, t[TK_VERSION], "version:") &&
	    strcmp(t[TK_VERSION]->s, "1"))
		diag_error(l->d, t[TK_VERSION]->pos,
			   "unsupported version '%s'; this fwd reads version 1", t[TK_VERSION]->s);
	l->c->default_action = FWD_DROP;
	if (t[TK_DEFAULT] &&
	    (x = pick(l, t[TK_DEFAULT], "default", verdicts, NULL)) >= 0)
		l->c->default_action = x ? FWD_DROP : FWD_ALLOW;
	l->c->malformed_action = FWD_DROP;
	if (t[TK_MALFORMED] &&
	    (x = pick(l, t[TK_MALFORMED], "malformed", verdicts, NULL)) >= 0)
		l->c->malformed_action = x ? FWD_DROP : FWD_ALLOW;
	l->c->log = FWD_LOGMODE_NONE;
	if (t[TK_LOG] && (x = pick(l, t[TK_LOG], "log", logs, NULL)) >= 0)
		l->c->log = (enum fwd_logmode)x;
}

static void load_top(struct ld *l, const struct ynode *root)
{
	const struct ynode *t[TK_N] = { 0 };

	if (root->kind != Y_MAP) {
		diag_error(l->d, root->pos, "the top level must be a mapping (version:, rules:, ...), not %s",
			   kind_name(root));
		return;
	}
	ywalk(l, root, top_keys, NULL, t);
	if (!t[TK_VERSION])
		diag_error(l->d, root->pos, "missing version: 1");
	if (!t[TK_RULES])
		diag_error(l->d, root->pos, "missing rules: (a list, which may be empty)");
	load_top_scalars(l, t);
	if (t[TK_SETS])
		load_sets(l, t[TK_SETS]);
	if (t[TK_DYNAMIC])
		load_dynamic(l, t[TK_DYNAMIC]);
	if (t[TK_KNOCK])
		load_knocks(l, t[TK_KNOCK]);
	if (t[TK_SCAN])
		load_scan(l, t[TK_SCAN]);
	if (t[TK_CROWDSEC])
		load_crowdsec(l, t[TK_CROWDSEC]);
	if (t[TK_RULES])
		load_rules(l, t[TK_RULES]);
	if (t[TK_TESTS])
		load_tests(l, t[TK_TESTS]);
	if (t[TK_DAEMON])
		load_daemon(l, t[TK_DAEMON]);
}

static void rule_free(struct fwd_rule *r);

/* Does the test EXPECT name one of the rules BAD marks in C? */
static bool expect_names_bad(const char *expect, const struct fwd_config *c, const bool *bad)
{
	const char *w = strrchr(expect, ' ');

	if (!w || !bad)
		return false;
	for (uint32_t i = 0; i < c->nrules; i++)
		if (bad[i] && c->rules[i].name[0] && !strcmp(c->rules[i].name, w + 1))
			return true;
	return false;
}

/*
 * What config_parse_partial() keeps of a file with errors: the rules and
 * tests without one, and tests that do not name a rule left out.
 */
static void leave_out(struct ld *l)
{
	struct fwd_config *c = l->c;
	uint32_t n = 0, rules = 0, tests = 0;

	for (uint32_t i = 0; i < c->ntests; i++) {
		if ((l->bad_test && l->bad_test[i]) ||
		    expect_names_bad(c->tests[i].expect ? c->tests[i].expect : "", c, l->bad_rule)) {
			free(c->tests[i].packet);
			free(c->tests[i].expect);
			tests++;
			continue;
		}
		c->tests[n++] = c->tests[i];
	}
	c->ntests = n;
	n = 0;
	for (uint32_t i = 0; i < c->nrules; i++) {
		if (l->bad_rule && l->bad_rule[i]) {
			rule_free(&c->rules[i]);
			rules++;
			continue;
		}
		c->rules[n++] = c->rules[i];
	}
	c->nrules = n;
	c->left_rules = rules;
	c->left_tests = tests;
}

/*
 * The configuration of tree T (ytree()), freed here; D held BEFORE errors
 * before the tree was read (ytree() reports some and goes on).
 */
static struct fwd_config *parse_tree(struct ytree *t, struct fwd_diags *d, unsigned before,
				     bool partial)
{
	struct ld l = { .d = d, .tree = t };

	if (!t->root)
		return NULL;
	l.c = calloc(1, sizeof(*l.c));
	if (!l.c) {
		diag_error(d, (struct fwd_pos){ 0, 0 }, "out of memory");
		ytree_free(t);
		return NULL;
	}
	l.c->daemon.ha = (struct fwd_ha){ .vrrp = true, .sync = true,
					  .sync_port = FWD_HA_SYNC_PORT };
	load_top(&l, t->root);
	if (l.oom)
		diag_error(d, (struct fwd_pos){ 0, 0 }, "out of memory");
	if (d->errors != before && partial && !l.oom)
		leave_out(&l);
	else if (d->errors != before) {
		config_free(l.c);
		l.c = NULL;
	}
	free(l.bad_rule);
	free(l.bad_test);
	free_sets(&l);
	ytree_free(t);
	return l.c;
}

static struct fwd_config *parse(const char *buf, size_t len, struct fwd_diags *d,
				bool partial)
{
	struct ytree t;
	unsigned before = d->errors;

	ytree(buf, len, d, &t);
	return parse_tree(&t, d, before, partial);
}

struct fwd_config *config_parse(const char *buf, size_t len, struct fwd_diags *d)
{
	return parse(buf, len, d, false);
}

struct fwd_config *config_parse_partial(const char *buf, size_t len, struct fwd_diags *d)
{
	return parse(buf, len, d, true);
}

/*
 * Open PATH for config_load(): a regular file only. O_NONBLOCK, so that a
 * FIFO put in its place cannot block the daemon's reload forever; the size
 * is checked before a byte is read, so a huge file costs nothing.
 */
static FILE *config_open(const char *path, struct fwd_diags *d)
{
	struct stat st;
	FILE *f;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		diag_error(d, (struct fwd_pos){ 0, 0 }, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		diag_error(d, (struct fwd_pos){ 0, 0 }, "cannot stat: %s", strerror(errno));
	} else if (S_ISDIR(st.st_mode)) {
		diag_error(d, (struct fwd_pos){ 0, 0 }, "is a directory");
	} else if (!S_ISREG(st.st_mode)) {
		diag_error(d, (struct fwd_pos){ 0, 0 },
			   "is not a regular file (a FIFO, socket or device)");
	} else if (st.st_size > (off_t)FWD_CONFIG_MAX) {
		diag_error(d, (struct fwd_pos){ 0, 0 }, "file is larger than %u bytes (%lld)",
			   FWD_CONFIG_MAX, (long long)st.st_size);
	} else {
		/* as systemd says of a unit file: the policy is anyone's to change */
		if (st.st_mode & S_IWOTH)
			diag_warning(d, (struct fwd_pos){ 0, 0 },
				     "is writable by every user (mode %04o): anyone on this host can "
				     "change the policy; chmod o-w it",
				     (unsigned)(st.st_mode & 07777));
		f = fdopen(fd, "r");
		if (f)
			return f;
		diag_error(d, (struct fwd_pos){ 0, 0 }, "cannot open: %s", strerror(errno));
	}
	close(fd);
	return NULL;
}

static struct fwd_config *load_file(const char *path, struct fwd_diags *d, bool partial)
{
	struct ytree t = { 0 };
	unsigned before = d->errors;
	FILE *f = config_open(path, d);

	if (!f)
		return NULL;
	ytree_file(f, d, &t);
	fclose(f);
	return parse_tree(&t, d, before, partial);
}

struct fwd_config *config_load(const char *path, struct fwd_diags *d)
{
	return load_file(path, d, false);
}

struct fwd_config *config_load_partial(const char *path, struct fwd_diags *d)
{
	return load_file(path, d, true);
}

static void free_addrset(struct fwd_addrset *a)
{
	free(a->v4);
	free(a->v6);
}

/* The rest of R is in c->rule_mem. */
static void rule_free(struct fwd_rule *r)
{
	free(r->limit);
}

void config_drop_rules(struct fwd_config *c)
{
	for (uint32_t i = 0; i < c->nrules; i++)
		rule_free(&c->rules[i]);
	free(c->rules);
	free(c->rule_names);
	chunks_free(&c->rule_mem);
	c->rules = NULL;
	c->rule_names = NULL;
	c->nrules = 0;
}

static void free_tests(struct fwd_config *c)
{
	for (uint32_t i = 0; i < c->ntests; i++) {
		free(c->tests[i].packet);
		free(c->tests[i].expect);
	}
	free(c->tests);
}

void config_free(struct fwd_config *c)
{
	if (!c)
		return;
	config_drop_rules(c);
	free_tests(c);
	free(c->daemon.log_file);
	free(c->daemon.metrics_file);
	free(c->dynsets);
	free(c->knocks);
	free_addrset(&c->scan.ignore);
	crowdsec_conf_free(c->crowdsec);
	free(c);
}

bool ifset_match(const struct fwd_ifset *s, const char *name)
{
	for (uint32_t i = 0; i < s->n; i++) {
		const struct fwd_ifpat *p = &s->p[i];
		bool m = p->prefix ? !strncmp(name, p->name, strlen(p->name))
				   : !strcmp(name, p->name);

		if (m != p->neg)
			return true;
	}
	return false;
}
