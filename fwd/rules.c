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
		const struct ynode *k = map->kid[i], *v = map->kid[i + 1];
		struct lset *set = &l->sets[l->nsets];

		if (k->kind != Y_SCALAR)
			continue;
		if (!name_ok(k->s, FWD_NAME_MAX))
			diag_error(l->d, k->pos,
				   "invalid set name '%s'; use 1 to 64 of A-Z a-z 0-9 . _ -", k->s);
		set->name = k->s;
		set->pos = k->pos;
		set->val = v;
		l->nsets++;
		if (v->kind == Y_MAP) {
			set_file(l, set, v);
			continue;
		}
		if (v->kind == Y_SCALAR) {
			set_elem(l, set, v);
			continue;
		}
		for (size_t j = 0; j < v->n; j++)
			set_elem(l, set, v->kid[j]);
		if (v->n == 0)
			diag_error(l->d, v->pos, "set '%s' is empty", k->s);
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

/* "allow", "drop ssh", "forward to=1.2.3.4:80 web". */
static void check_expect(struct ld *l, const struct ynode *v)
{
	char buf[Y_SCALAR_MAX + 1], *w[4], *save = NULL;
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
			   "invalid expect '%s'; expected allow, drop, forward or reject, then optionally to=ADDR:PORT and a rule name",
			   v->s);
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
		diag_error(l->d, v->pos, "expect names rule '%s', which does not exist", w[i]);
	if (i < nw)
		i++;
	if (i < nw)
		diag_error(l->d, v->pos, "invalid expect '%s': unexpected '%s'", v->s, w[i]);
}

static void load_test(struct ld *l, const struct ynode *item, struct fwd_test *t)
{
	const struct ynode *pkt = NULL, *exp = NULL;

	t->pos = item->pos;
	if (!want_map(l, item, "a test"))
		return;
	for (size_t i = 0; i + 1 < item->n; i += 2) {
		const struct ynode *k = item->kid[i];

		if (k->kind != Y_SCALAR)
			continue;
		if (!strcmp(k->s, "packet"))
			pkt = item->kid[i + 1];
		else if (!strcmp(k->s, "expect"))
			exp = item->kid[i + 1];
		else
			diag_error(l->d, k->pos,
				   "unknown key '%s' in a test; expected one of: packet, expect", k->s);
	}
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
	l->c->ntests = (uint32_t)v->n;
	for (uint32_t i = 0; i < v->n; i++)
		load_test(l, v->kid[i], &l->c->tests[i]);
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

static void daemon_log(struct ld *l, const struct ynode *m, struct fwd_daemon *dm)
{
	static const char *const sinks[] = { "syslog", "stderr", "file", NULL };
	static const char *const fmts[] = { "kv", "json", NULL };
	const struct ynode *file = NULL;
	int x;

	if (!want_map(l, m, "daemon log:"))
		return;
	for (size_t i = 0; i + 1 < m->n; i += 2) {
		const struct ynode *k = m->kid[i], *v = m->kid[i + 1];

		if (k->kind != Y_SCALAR)
			continue;
		if (!strcmp(k->s, "sink")) {
			x = pick(l, v, "log sink", sinks, "syslog, stderr, file");
			if (x >= 0)
				dm->log_sink = (enum fwd_logsink)(FWD_SINK_SYSLOG + x);
		} else if (!strcmp(k->s, "file")) {
			file = v;
		} else if (!strcmp(k->s, "format")) {
			x = pick(l, v, "log format", fmts, "kv, json");
			if (x >= 0)
				dm->log_format = (enum fwd_logfmt)x;
		} else if (!strcmp(k->s, "rate")) {
			daemon_rate(l, v, dm);
		} else if (!strcmp(k->s, "burst")) {
			daemon_uint(l, v, "log burst", 1, 1000000, &dm->log_burst);
		} else {
			diag_error(l->d, k->pos,
				   "unknown key '%s' in daemon log; expected one of: sink, file, format, rate, burst",
				   k->s);
		}
	}
	if (dm->log_sink == FWD_SINK_FILE && !file)
		diag_error(l->d, m->pos, "log sink file needs file: PATH");
	else if (file && dm->log_sink != FWD_SINK_FILE)
		diag_error(l->d, file->pos, "log file: without sink: file");
	else if (file)
		dm->log_file = daemon_path(l, file, "log file");
}

static void daemon_metrics(struct ld *l, const struct ynode *m, struct fwd_daemon *dm)
{
	if (!want_map(l, m, "daemon metrics:"))
		return;
	for (size_t i = 0; i + 1 < m->n; i += 2) {
		const struct ynode *k = m->kid[i], *v = m->kid[i + 1];

		if (k->kind != Y_SCALAR)
			continue;
		if (!strcmp(k->s, "file"))
			dm->metrics_file = daemon_path(l, v, "metrics file");
		else if (!strcmp(k->s, "interval"))
			daemon_uint(l, v, "metrics interval", 1, 3600, &dm->metrics_interval);
		else
			diag_error(l->d, k->pos,
				   "unknown key '%s' in daemon metrics; expected one of: file, interval",
				   k->s);
	}
}

static const char *const ha_onoff[] = { "off", "on", NULL };

static void ha_switch(struct ld *l, const struct ynode *v, const char *what, bool *out)
{
	int x = pick(l, v, what, ha_onoff, "off, on");

	if (x >= 0)
		*out = x;
}

/*
 * `ha: on | off`, or a map of vrrp (on|off), sync (on|off), sync_in (one
 * interface, "eth+" or "!x" as in `in:`) and sync_port: what passes before
 * the queue for an HA pair (config_parse sets the defaults).
 */
static void daemon_ha(struct ld *l, const struct ynode *v, struct fwd_ha *ha)
{
	uint32_t port;
	bool on;

	if (v->kind == Y_SCALAR) {
		on = ha->vrrp;
		ha_switch(l, v, "ha", &on);
		ha->vrrp = ha->sync = on;
		return;
	}
	if (!want_map(l, v, "daemon ha:"))
		return;
	for (size_t i = 0; i + 1 < v->n; i += 2) {
		const struct ynode *k = v->kid[i], *e = v->kid[i + 1];

		if (k->kind != Y_SCALAR)
			continue;
		if (!strcmp(k->s, "vrrp")) {
			ha_switch(l, e, "ha vrrp", &ha->vrrp);
		} else if (!strcmp(k->s, "sync")) {
			ha_switch(l, e, "ha sync", &ha->sync);
		} else if (!strcmp(k->s, "sync_in")) {
			if (want_scalar(l, e, "ha sync_in"))
				if_elem(l, e, &ha->sync_in);
		} else if (!strcmp(k->s, "sync_port")) {
			if (daemon_uint(l, e, "ha sync_port", 1, 65535, &port))
				ha->sync_port = (uint16_t)port;
		} else {
			diag_error(l->d, k->pos,
				   "unknown key '%s' in daemon ha; expected one of: vrrp, sync, sync_in, sync_port",
				   k->s);
		}
	}
}

static void daemon_key(struct ld *l, const struct ynode *k, const struct ynode *v,
		       struct fwd_daemon *dm)
{
	static const char *const inspect[] = { "new-connections", "every-packet", NULL };
	static const char *const fail[] = { "closed", "open", NULL };
	static const char *const nd[] = { "accept", "rules", NULL };
	int x;

	if (!strcmp(k->s, "queues")) {
		if (v->kind == Y_SCALAR && !strcmp(v->s, "auto"))
			dm->queues = 0;
		else
			daemon_uint(l, v, "queues", 1, 64, &dm->queues);
	} else if (!strcmp(k->s, "queue_num")) {
		dm->queue_num_set = daemon_uint(l, v, "queue_num", 0, 65535, &dm->queue_num);
	} else if (!strcmp(k->s, "inspect")) {
		x = pick(l, v, "inspect", inspect, "new-connections, every-packet");
		if (x >= 0)
			dm->inspect = (enum fwd_inspect)x;
	} else if (!strcmp(k->s, "fail")) {
		x = pick(l, v, "fail", fail, "closed, open");
		if (x >= 0)
			dm->fail = (enum fwd_fail)x;
		if (x == FWD_FAIL_OPEN)
			diag_warning(l->d, v->pos, "fail: open also lets through, unjudged, every "
				     "packet that finds the queue full (a flood opens the gateway); "
				     "fwd counts them as 'bypassed'");
	} else if (!strcmp(k->s, "neighbor_discovery")) {
		x = pick(l, v, "neighbor_discovery", nd, "accept, rules");
		dm->nd_rules = x == 1;
		dm->nd_pos = k->pos;
	} else if (!strcmp(k->s, "log")) {
		daemon_log(l, v, dm);
	} else if (!strcmp(k->s, "metrics")) {
		daemon_metrics(l, v, dm);
	} else if (!strcmp(k->s, "ha")) {
		daemon_ha(l, v, &dm->ha);
	} else {
		diag_error(l->d, k->pos,
			   "unknown key '%s' in daemon; expected one of: queues, queue_num, inspect, fail, neighbor_discovery, log, metrics, ha",
			   k->s);
	}
}

static void load_daemon(struct ld *l, const struct ynode *m)
{
	if (!want_map(l, m, "daemon:"))
		return;
	for (size_t i = 0; i + 1 < m->n; i += 2)
		if (m->kid[i]->kind == Y_SCALAR)
			daemon_key(l, m->kid[i], m->kid[i + 1], &l->c->daemon);
}

/* ---- crowdsec (checked by fwd/crowdsec_conf.c) -------------------------- */

static void load_crowdsec(struct ld *l, const struct ynode *m)
{
	struct fwd_crowdsec_conf *cs;

	if (!want_map(l, m, "crowdsec:"))
		return;
	cs = crowdsec_conf_new(m->pos);
	if (!cs) {
		l->oom = true;
		return;
	}
	for (size_t i = 0; i + 1 < m->n; i += 2) {
		const struct ynode *k = m->kid[i], *v = m->kid[i + 1];

		if (k->kind == Y_SCALAR)
			crowdsec_conf_key(cs, k->s, k->pos, v->kind == Y_SCALAR ? v->s : NULL,
					  v->pos, l->d);
	}
	crowdsec_conf_finish(cs, l->c, l->d);
	l->c->crowdsec = cs;
}

/* ---- top level -------------------------------------------------------- */

static const char *const top_keys[] = {
	"version", "default", "log", "malformed", "sets", "rules", "tests", "daemon",
	"dynamic", "knock", "scan", "crowdsec",
};
enum { TK_VERSION, TK_DEFAULT, TK_LOG, TK_MALFORMED, TK_SETS, TK_RULES, TK_TESTS,
       TK_DAEMON, TK_DYNAMIC, TK_KNOCK, TK_SCAN, TK_CROWDSEC, TK_N };

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
	    (x = pick(l, t[TK_DEFAULT], "default", verdicts, "allow, drop")) >= 0)
		l->c->default_action = x ? FWD_DROP : FWD_ALLOW;
	l->c->malformed_action = FWD_DROP;
	if (t[TK_MALFORMED] &&
	    (x = pick(l, t[TK_MALFORMED], "malformed", verdicts, "allow, drop")) >= 0)
		l->c->malformed_action = x ? FWD_DROP : FWD_ALLOW;
	l->c->log = FWD_LOGMODE_NONE;
	if (t[TK_LOG] && (x = pick(l, t[TK_LOG], "log", logs, "none, drops, all")) >= 0)
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
	for (size_t i = 0; i + 1 < root->n; i += 2) {
		const struct ynode *k = root->kid[i];
		int j;

		if (k->kind != Y_SCALAR)
			continue;
		for (j = 0; j < TK_N && strcmp(k->s, top_keys[j]); j++)
			;
		if (j < TK_N)
			t[j] = root->kid[i + 1];
		else
			diag_error(l->d, k->pos,
				   "unknown key '%s'; expected one of: version, default, log, malformed, sets, rules, tests, daemon, dynamic, knock, scan, crowdsec",
				   k->s);
	}
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

struct fwd_config *config_parse(const char *buf, size_t len, struct fwd_diags *d)
{
	struct ld l = { .d = d };
	struct ynode *root;
	unsigned before = d->errors;

	if (len > FWD_CONFIG_MAX) {
		diag_error(d, (struct fwd_pos){ 0, 0 }, "file is larger than %u bytes",
			   FWD_CONFIG_MAX);
		return NULL;
	}
	root = ytree(buf, len, d);
	if (!root)
		return NULL;
	l.c = calloc(1, sizeof(*l.c));
	if (!l.c) {
		diag_error(d, (struct fwd_pos){ 0, 0 }, "out of memory");
		ynode_free(root);
		return NULL;
	}
	l.c->daemon.ha = (struct fwd_ha){ .vrrp = true, .sync = true,
					  .sync_port = FWD_HA_SYNC_PORT };
	load_top(&l, root);
	free_sets(&l);
	ynode_free(root);
	if (l.oom)
		diag_error(d, (struct fwd_pos){ 0, 0 }, "out of memory");
	if (d->errors != before) {
		config_free(l.c);
		return NULL;
	}
	return l.c;
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
		f = fdopen(fd, "r");
		if (f)
			return f;
		diag_error(d, (struct fwd_pos){ 0, 0 }, "cannot open: %s", strerror(errno));
	}
	close(fd);
	return NULL;
}

struct fwd_config *config_load(const char *path, struct fwd_diags *d)
{
	struct fwd_config *c = NULL;
	char *buf;
	size_t len;
	FILE *f = config_open(path, d);

	if (!f)
		return NULL;
	/* Read one byte more than allowed to tell "too large" from "exactly at the limit". */
	buf = malloc(FWD_CONFIG_MAX + 1);
	if (!buf) {
		diag_error(d, (struct fwd_pos){ 0, 0 }, "out of memory");
		goto out_close;
	}
	len = fread(buf, 1, FWD_CONFIG_MAX + 1, f);
	if (ferror(f))
		diag_error(d, (struct fwd_pos){ 0, 0 }, "read error: %s", strerror(errno));
	else
		c = config_parse(buf, len, d);
	free(buf);
out_close:
	fclose(f);
	return c;
}

static void free_addrset(struct fwd_addrset *a)
{
	free(a->v4);
	free(a->v6);
}

void config_free(struct fwd_config *c)
{
	if (!c)
		return;
	for (uint32_t i = 0; i < c->nrules; i++) {
		struct fwd_rule *r = &c->rules[i];

		free_addrset(&r->src);
		free_addrset(&r->dst);
		free(r->sport.r);
		free(r->dport.r);
		free(r->in.p);
		free(r->limit);
	}
	free(c->rules);
	for (uint32_t i = 0; i < c->ntests; i++) {
		free(c->tests[i].packet);
		free(c->tests[i].expect);
	}
	free(c->tests);
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
