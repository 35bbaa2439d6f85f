// SPDX-License-Identifier: MIT
/*
 * rdyn.c - the `dynamic:`, `knock:` and `scan:` sections and a rule's
 * `limit:` and `on_exceed:` (include/fwd/load.h).
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
#include "fwd/value.h"
#include "fwd/load.h"

/* ---- dynamic sets and knocking ---------------------------------------- */

/* "30s", "10m", "1h", "500ms" -> milliseconds, 1 ms .. 7 days. */
static bool parse_duration(const char *s, uint32_t *ms)
{
	uint64_t v;

	if (!duration_parse(s, 0, FWD_DYN_TIMEOUT_MAX_MS, &v))
		return false;
	*ms = (uint32_t)v;
	return true;
}

static bool want_duration(struct ld *l, const struct ynode *v, const char *what, uint32_t *ms)
{
	if (!want_scalar(l, v, what))
		return false;
	if (parse_duration(v->s, ms))
		return true;
	diag_error(l->d, v->pos,
		   "invalid %s '%s'; expected a duration such as 500ms, 30s, 10m, 1h or 1d (at most 7 days)",
		   what, v->s);
	return false;
}

/* "7000/tcp" or "8000/udp". */
static bool want_port_proto(struct ld *l, const struct ynode *v, const char *what,
			    struct fwd_knock_step *st)
{
	const char *slash;
	uint64_t port;
	bool big = false;

	if (!want_scalar(l, v, what))
		return false;
	slash = strchr(v->s, '/');
	if (!slash || !parse_dec(v->s, slash, PORT_MAX, &port, &big) || big || port == 0 ||
	    (strcmp(slash, "/tcp") && strcmp(slash, "/udp"))) {
		diag_error(l->d, v->pos, "invalid %s '%s'; expected PORT/tcp or PORT/udp", what, v->s);
		return false;
	}
	st->port = (uint16_t)port;
	st->proto = strcmp(slash, "/tcp") ? FWD_PROTO_UDP : FWD_PROTO_TCP;
	return true;
}

static void dynset_timeout(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	(void)k;
	want_duration(l, v, "timeout", &((struct fwd_dynset_conf *)ctx)->timeout_ms);
}

static void dynset_max(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	(void)k;
	daemon_uint(l, v, "max", 1, 1u << 22, &((struct fwd_dynset_conf *)ctx)->max);
}

static const struct ykey dynset_keys[] = {
	{ "timeout", dynset_timeout }, { "max", dynset_max }, { NULL, NULL },
};

static bool static_set_named(const struct ld *l, const char *name)
{
	for (size_t i = 0; i < l->nsets; i++)
		if (!strcmp(l->sets[i].name, name))
			return true;
	return false;
}

static void load_dynset(struct ld *l, const struct ynode *k, const struct ynode *m)
{
	struct fwd_dynset_conf *ds = &l->c->dynsets[l->c->ndynsets];
	char where[FWD_NAME_MAX + 16];

	if (k->kind != Y_SCALAR || !name_ok(k->s, FWD_NAME_MAX)) {
		diag_error(l->d, k->pos, "invalid dynamic set name '%s'; use 1 to 64 of A-Z a-z 0-9 . _ -",
			   k->kind == Y_SCALAR ? k->s : "");
		return;
	}
	if (find_dynset(l->c, k->s) >= 0 || static_set_named(l, k->s)) {
		diag_error(l->d, k->pos, "dynamic set '%s' is defined twice (or also under sets:)",
			   k->s);
		return;
	}
	strcpy(ds->name, k->s);
	ds->pos = k->pos;
	ds->timeout_ms = 60000;
	ds->max = 10000;
	if (!want_map(l, m, "a dynamic set"))
		return;
	snprintf(where, sizeof(where), "dynamic set '%s'", ds->name);
	ywalk(l, m, dynset_keys, where, ds);
	l->c->ndynsets++;
}

void load_dynamic(struct ld *l, const struct ynode *m)
{
	if (!want_map(l, m, "dynamic:"))
		return;
	if (m->n / 2 > FWD_DYNSETS_MAX) {
		diag_error(l->d, m->pos, "dynamic: has %u sets; at most %u", m->n / 2,
			   FWD_DYNSETS_MAX);
		return;
	}
	l->c->dynsets = calloc(m->n / 2 + 1, sizeof(*l->c->dynsets));
	if (!l->c->dynsets) {
		l->oom = true;
		return;
	}
	for (size_t i = 0; i + 1 < m->n; i += 2)
		load_dynset(l, ykid(m)[i], ykid(m)[i + 1]);
}

static void knock_sequence(struct ld *l, struct fwd_knock_conf *kc, const struct ynode *v)
{
	if (v->kind != Y_SEQ || v->n < 2 || v->n > FWD_KNOCK_STEPS_MAX) {
		diag_error(l->d, v->pos, "knock sequence: must be a list of 2 to %u PORT/PROTO",
			   FWD_KNOCK_STEPS_MAX);
		return;
	}
	for (size_t i = 0; i < v->n; i++)
		if (!want_port_proto(l, ykid(v)[i], "knock port", &kc->step[i]))
			return;
	kc->nsteps = (uint32_t)v->n;
}

static void open_set(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	struct fwd_knock_conf *kc = ctx;
	char hint[NEAR_HINT_MAX];

	(void)k;
	if (want_scalar(l, v, "knock set") && (kc->set = find_dynset(l->c, v->s)) < 0)
		diag_error(l->d, v->pos, "knock set '%s' is not a dynamic set%s", v->s,
			   dynset_hint(l->c, v->s, hint, sizeof(hint)));
}

static void open_port(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	(void)k;
	want_port_proto(l, v, "knock open port", &((struct fwd_knock_conf *)ctx)->open);
}

static const struct ykey open_keys[] = {
	{ "set", open_set }, { "port", open_port }, { NULL, NULL },
};

static void knock_open(struct ld *l, const struct ynode *k, const struct ynode *m, void *ctx)
{
	(void)k;
	if (want_map(l, m, "knock open:"))
		ywalk(l, m, open_keys, "knock open", ctx);
}

static void knock_name(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	struct fwd_knock_conf *kc = ctx;

	(void)k;
	if (want_scalar(l, v, "knock name:") && name_ok(v->s, FWD_NAME_MAX))
		strcpy(kc->name, v->s);
	else if (v->kind == Y_SCALAR)
		diag_error(l->d, v->pos, "invalid knock name '%s'", v->s);
}

static void knock_seq(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	(void)k;
	knock_sequence(l, ctx, v);
}

static void knock_window(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	(void)k;
	want_duration(l, v, "knock window", &((struct fwd_knock_conf *)ctx)->window_ms);
}

static void knock_timeout(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	(void)k;
	want_duration(l, v, "knock timeout", &((struct fwd_knock_conf *)ctx)->timeout_ms);
}

static const struct ykey knock_keys[] = {
	{ "name", knock_name }, { "sequence", knock_seq }, { "window", knock_window },
	{ "open", knock_open }, { "timeout", knock_timeout }, { NULL, NULL },
};

static void load_knock(struct ld *l, const struct ynode *item, struct fwd_knock_conf *kc)
{
	kc->pos = item->pos;
	kc->set = -1;
	kc->window_ms = 10000;
	if (!want_map(l, item, "a knock"))
		return;
	ywalk(l, item, knock_keys, "knock", kc);
	if (!kc->name[0] || !kc->nsteps || kc->set < 0)
		diag_error(l->d, item->pos, "a knock needs name:, sequence: and open: {set: SET}");
	else if (!kc->timeout_ms)
		kc->timeout_ms = l->c->dynsets[kc->set].timeout_ms;
}

void load_knocks(struct ld *l, const struct ynode *v)
{
	if (v->kind != Y_SEQ || v->n > FWD_KNOCKS_MAX) {
		diag_error(l->d, v->pos, "knock: must be a list of at most %u sequences",
			   FWD_KNOCKS_MAX);
		return;
	}
	l->c->knocks = calloc(v->n + 1, sizeof(*l->c->knocks));
	if (!l->c->knocks) {
		l->oom = true;
		return;
	}
	l->c->nknocks = (uint32_t)v->n;
	for (uint32_t i = 0; i < v->n; i++)
		load_knock(l, ykid(v)[i], &l->c->knocks[i]);
}

/* ---- scan ------------------------------------------------------------- */

static void block_set(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	struct fwd_scan_conf *sc = ctx;
	char hint[NEAR_HINT_MAX];

	(void)k;
	if (want_scalar(l, v, "scan block set") && (sc->set = find_dynset(l->c, v->s)) < 0)
		diag_error(l->d, v->pos, "scan block set '%s' is not a set under dynamic:%s", v->s,
			   dynset_hint(l->c, v->s, hint, sizeof(hint)));
}

static void block_timeout(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	(void)k;
	want_duration(l, v, "scan block timeout", &((struct fwd_scan_conf *)ctx)->timeout_ms);
}

static const struct ykey block_keys[] = {
	{ "set", block_set }, { "timeout", block_timeout }, { NULL, NULL },
};

static void scan_block(struct ld *l, const struct ynode *k, const struct ynode *m, void *ctx)
{
	(void)k;
	if (want_map(l, m, "scan block:"))
		ywalk(l, m, block_keys, "scan block", ctx);
}

static void scan_ignore(struct ld *l, struct fwd_scan_conf *sc, const struct ynode *v)
{
	struct rl v4 = { 0 }, v6 = { 0 };
	bool ok = true;

	if (v->kind != Y_SEQ) {
		diag_error(l->d, v->pos, "scan ignore: must be a list of addresses, not %s",
			   kind_name(v));
		return;
	}
	for (size_t i = 0; i < v->n; i++)
		ok &= want_scalar(l, ykid(v)[i], "scan ignore address") &&
		      addr_scalar(l, ykid(v)[i], ykid(v)[i]->s, &v4, &v6, true, PCTX_RULE);
	if (ok)
		to_addrset(l, NULL, &v4, &v6, &sc->ignore);
	rl_free(&v4);
	rl_free(&v6);
}

static void scan_ports(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	(void)k;
	daemon_uint(l, v, "scan ports", 2, FWD_SCAN_PORTS_MAX, &((struct fwd_scan_conf *)ctx)->ports);
}

static void scan_window(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	(void)k;
	want_duration(l, v, "scan window", &((struct fwd_scan_conf *)ctx)->window_ms);
}

static void scan_ignore_key(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	(void)k;
	scan_ignore(l, ctx, v);
}

static void scan_max(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	(void)k;
	daemon_uint(l, v, "scan max", 16, 1u << 20, &((struct fwd_scan_conf *)ctx)->max);
}

static const struct ykey scan_keys[] = {
	{ "ports", scan_ports }, { "window", scan_window }, { "block", scan_block },
	{ "ignore", scan_ignore_key }, { "max", scan_max }, { NULL, NULL },
};

void load_scan(struct ld *l, const struct ynode *m)
{
	struct fwd_scan_conf *sc = &l->c->scan;

	sc->pos = m->pos;
	sc->set = -1;
	sc->ports = 20;
	sc->window_ms = 10000;
	sc->max = 16384;
	if (!want_map(l, m, "scan:"))
		return;
	ywalk(l, m, scan_keys, "scan", sc);
	if (sc->set < 0) {
		diag_error(l->d, m->pos, "scan: needs block: {set: SET} naming a set under dynamic:");
		return;
	}
	if (!sc->timeout_ms)
		sc->timeout_ms = l->c->dynsets[sc->set].timeout_ms;
	sc->on = true;
}

/* ---- limit: on a rule ------------------------------------------------- */

/* "5/30s", "10/m", "100/1h": COUNT tokens every DURATION. */
static void limit_rate(struct ld *l, struct fwd_limit_conf *lc, const struct ynode *v)
{
	const char *slash;
	char dur[32];
	uint64_t n;
	bool big = false;

	if (!want_scalar(l, v, "limit rate"))
		return;
	slash = strchr(v->s, '/');
	if (slash && strlen(slash + 1) < sizeof(dur) - 1) {
		/* "N/s" means "N/1s" */
		snprintf(dur, sizeof(dur), "%s%s", slash[1] >= '0' && slash[1] <= '9' ? "" : "1",
			 slash + 1);
		if (parse_dec(v->s, slash, 1000000, &n, &big) && !big && n > 0 &&
		    parse_duration(dur, &lc->per_ms)) {
			lc->count = (uint32_t)n;
			return;
		}
	}
	diag_error(l->d, v->pos,
		   "invalid limit rate '%s'; expected COUNT/DURATION such as 5/30s or 100/m", v->s);
}

/* limit: keys; RATE says whether rate: was given. */
struct lim {
	struct fwd_limit_conf *lc;
	bool rate;
};

static void limit_rate_key(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	struct lim *m = ctx;

	(void)k;
	m->rate = true;
	limit_rate(l, m->lc, v);
}

static void limit_burst(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	(void)k;
	daemon_uint(l, v, "limit burst", 1, 1000000, &((struct lim *)ctx)->lc->burst);
}

static void limit_per(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx)
{
	(void)k;
	(void)ctx;
	if (want_scalar(l, v, "limit per") && strcmp(v->s, "src"))
		diag_error(l->d, v->pos, "invalid limit per '%s'; expected src", v->s);
}

static const struct ykey limit_keys[] = {
	{ "rate", limit_rate_key }, { "burst", limit_burst }, { "per", limit_per },
	{ NULL, NULL },
};

static void exceed_add(struct ld *l, const struct ynode *k, const struct ynode *w, void *ctx)
{
	struct fwd_limit_conf *lc = ctx;
	char hint[NEAR_HINT_MAX];

	(void)k;
	if (want_scalar(l, w, "on_exceed add") && (lc->add_set = find_dynset(l->c, w->s)) < 0)
		diag_error(l->d, w->pos, "on_exceed add '%s' is not a set under dynamic:%s", w->s,
			   dynset_hint(l->c, w->s, hint, sizeof(hint)));
}

static void exceed_timeout(struct ld *l, const struct ynode *k, const struct ynode *w, void *ctx)
{
	(void)k;
	want_duration(l, w, "on_exceed timeout", &((struct fwd_limit_conf *)ctx)->add_timeout_ms);
}

static const struct ykey exceed_keys[] = {
	{ "add", exceed_add }, { "timeout", exceed_timeout }, { NULL, NULL },
};

static void limit_exceed(struct ld *l, struct rctx *x, struct fwd_limit_conf *lc,
			 const struct ynode *v)
{
	if (v->kind == Y_SCALAR) {
		if (strcmp(v->s, "drop"))
			diag_error(l->d, v->pos,
				   "invalid on_exceed '%s' in %s; expected drop or {add: SET, timeout: DURATION}",
				   v->s, x->label);
		return;
	}
	if (!want_map(l, v, "on_exceed:"))
		return;
	ywalk(l, v, exceed_keys, "on_exceed", lc);
	if (lc->add_set < 0 && !v->n)
		diag_error(l->d, v->pos, "on_exceed: {add: SET} needs add:");
}

void rule_limit(struct ld *l, struct rctx *x)
{
	const struct ynode *v = x->f[RK_LIMIT], *e = x->f[RK_ON_EXCEED];
	struct fwd_limit_conf *lc;
	struct lim m = { 0 };

	if (!v) {
		if (e)
			diag_error(l->d, e->pos, "on_exceed: in %s needs limit:", x->label);
		return;
	}
	if (!want_map(l, v, "limit:"))
		return;
	lc = calloc(1, sizeof(*lc));
	if (!lc) {
		l->oom = true;
		return;
	}
	lc->add_set = -1;
	x->r->limit = lc;
	m.lc = lc;
	ywalk(l, v, limit_keys, "limit", &m);
	if (!m.rate)
		diag_error(l->d, v->pos, "limit: in %s needs rate: COUNT/DURATION", x->label);
	if (!lc->burst)
		lc->burst = lc->count;
	if (e)
		limit_exceed(l, x, lc, e);
}
