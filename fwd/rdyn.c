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

	if (!duration_parse(s, 0, 7ull * 86400 * 1000, &v))
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
		   "invalid %s '%s'; expected a duration such as 500ms, 30s, 10m or 1h (at most 7 days)",
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

static void dynset_key(struct ld *l, struct fwd_dynset_conf *ds, const struct ynode *k,
		       const struct ynode *v)
{
	if (!strcmp(k->s, "timeout"))
		want_duration(l, v, "timeout", &ds->timeout_ms);
	else if (!strcmp(k->s, "max"))
		daemon_uint(l, v, "max", 1, 1u << 22, &ds->max);
	else
		diag_error(l->d, k->pos,
			   "unknown key '%s' in dynamic set '%s'; expected one of: timeout, max",
			   k->s, ds->name);
}

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
	for (size_t i = 0; i + 1 < m->n; i += 2)
		if (m->kid[i]->kind == Y_SCALAR)
			dynset_key(l, ds, m->kid[i], m->kid[i + 1]);
	l->c->ndynsets++;
}

void load_dynamic(struct ld *l, const struct ynode *m)
{
	if (!want_map(l, m, "dynamic:"))
		return;
	if (m->n / 2 > FWD_DYNSETS_MAX) {
		diag_error(l->d, m->pos, "dynamic: has %zu sets; at most %u", m->n / 2,
			   FWD_DYNSETS_MAX);
		return;
	}
	l->c->dynsets = calloc(m->n / 2 + 1, sizeof(*l->c->dynsets));
	if (!l->c->dynsets) {
		l->oom = true;
		return;
	}
	for (size_t i = 0; i + 1 < m->n; i += 2)
		load_dynset(l, m->kid[i], m->kid[i + 1]);
}

static void knock_sequence(struct ld *l, struct fwd_knock_conf *kc, const struct ynode *v)
{
	if (v->kind != Y_SEQ || v->n < 2 || v->n > FWD_KNOCK_STEPS_MAX) {
		diag_error(l->d, v->pos, "knock sequence: must be a list of 2 to %u PORT/PROTO",
			   FWD_KNOCK_STEPS_MAX);
		return;
	}
	for (size_t i = 0; i < v->n; i++)
		if (!want_port_proto(l, v->kid[i], "knock port", &kc->step[i]))
			return;
	kc->nsteps = (uint32_t)v->n;
}

static void knock_open(struct ld *l, struct fwd_knock_conf *kc, const struct ynode *m)
{
	if (!want_map(l, m, "knock open:"))
		return;
	for (size_t i = 0; i + 1 < m->n; i += 2) {
		const struct ynode *k = m->kid[i], *v = m->kid[i + 1];

		if (k->kind != Y_SCALAR)
			continue;
		if (!strcmp(k->s, "set")) {
			if (want_scalar(l, v, "knock set") &&
			    (kc->set = find_dynset(l->c, v->s)) < 0)
				diag_error(l->d, v->pos, "knock set '%s' is not a dynamic set", v->s);
		} else if (!strcmp(k->s, "port")) {
			want_port_proto(l, v, "knock open port", &kc->open);
		} else {
			diag_error(l->d, k->pos,
				   "unknown key '%s' in knock open; expected one of: set, port", k->s);
		}
	}
}

static void knock_key(struct ld *l, struct fwd_knock_conf *kc, const struct ynode *k,
		      const struct ynode *v)
{
	if (!strcmp(k->s, "name")) {
		if (want_scalar(l, v, "knock name:") && name_ok(v->s, FWD_NAME_MAX))
			strcpy(kc->name, v->s);
		else if (v->kind == Y_SCALAR)
			diag_error(l->d, v->pos, "invalid knock name '%s'", v->s);
	} else if (!strcmp(k->s, "sequence")) {
		knock_sequence(l, kc, v);
	} else if (!strcmp(k->s, "window")) {
		want_duration(l, v, "knock window", &kc->window_ms);
	} else if (!strcmp(k->s, "timeout")) {
		want_duration(l, v, "knock timeout", &kc->timeout_ms);
	} else if (!strcmp(k->s, "open")) {
		knock_open(l, kc, v);
	} else {
		diag_error(l->d, k->pos,
			   "unknown key '%s' in knock; expected one of: name, sequence, window, open, timeout",
			   k->s);
	}
}

static void load_knock(struct ld *l, const struct ynode *item, struct fwd_knock_conf *kc)
{
	kc->pos = item->pos;
	kc->set = -1;
	kc->window_ms = 10000;
	if (!want_map(l, item, "a knock"))
		return;
	for (size_t i = 0; i + 1 < item->n; i += 2)
		if (item->kid[i]->kind == Y_SCALAR)
			knock_key(l, kc, item->kid[i], item->kid[i + 1]);
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
		load_knock(l, v->kid[i], &l->c->knocks[i]);
}

/* ---- scan ------------------------------------------------------------- */

static void scan_block(struct ld *l, struct fwd_scan_conf *sc, const struct ynode *m)
{
	if (!want_map(l, m, "scan block:"))
		return;
	for (size_t i = 0; i + 1 < m->n; i += 2) {
		const struct ynode *k = m->kid[i], *v = m->kid[i + 1];

		if (k->kind != Y_SCALAR)
			continue;
		if (!strcmp(k->s, "set")) {
			if (want_scalar(l, v, "scan block set") &&
			    (sc->set = find_dynset(l->c, v->s)) < 0)
				diag_error(l->d, v->pos,
					   "scan block set '%s' is not a set under dynamic:", v->s);
		} else if (!strcmp(k->s, "timeout")) {
			want_duration(l, v, "scan block timeout", &sc->timeout_ms);
		} else {
			diag_error(l->d, k->pos,
				   "unknown key '%s' in scan block; expected one of: set, timeout",
				   k->s);
		}
	}
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
		ok &= want_scalar(l, v->kid[i], "scan ignore address") &&
		      addr_scalar(l, v->kid[i], v->kid[i]->s, &v4, &v6, true, PCTX_RULE);
	if (ok)
		to_addrset(l, &v4, &v6, &sc->ignore);
	rl_free(&v4);
	rl_free(&v6);
}

static void scan_key(struct ld *l, struct fwd_scan_conf *sc, const struct ynode *k,
		     const struct ynode *v)
{
	if (!strcmp(k->s, "ports"))
		daemon_uint(l, v, "scan ports", 2, FWD_SCAN_PORTS_MAX, &sc->ports);
	else if (!strcmp(k->s, "window"))
		want_duration(l, v, "scan window", &sc->window_ms);
	else if (!strcmp(k->s, "block"))
		scan_block(l, sc, v);
	else if (!strcmp(k->s, "ignore"))
		scan_ignore(l, sc, v);
	else if (!strcmp(k->s, "max"))
		daemon_uint(l, v, "scan max", 16, 1u << 20, &sc->max);
	else
		diag_error(l->d, k->pos,
			   "unknown key '%s' in scan; expected one of: ports, window, block, ignore, max",
			   k->s);
}

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
	for (size_t i = 0; i + 1 < m->n; i += 2)
		if (m->kid[i]->kind == Y_SCALAR)
			scan_key(l, sc, m->kid[i], m->kid[i + 1]);
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

static void limit_key(struct ld *l, struct fwd_limit_conf *lc, const struct ynode *k,
		      const struct ynode *v)
{
	if (!strcmp(k->s, "rate")) {
		limit_rate(l, lc, v);
	} else if (!strcmp(k->s, "burst")) {
		daemon_uint(l, v, "limit burst", 1, 1000000, &lc->burst);
	} else if (!strcmp(k->s, "per")) {
		if (want_scalar(l, v, "limit per") && strcmp(v->s, "src"))
			diag_error(l->d, v->pos, "invalid limit per '%s'; expected src", v->s);
	} else {
		diag_error(l->d, k->pos,
			   "unknown key '%s' in limit; expected one of: rate, burst, per", k->s);
	}
}

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
	for (size_t i = 0; i + 1 < v->n; i += 2) {
		const struct ynode *k = v->kid[i], *w = v->kid[i + 1];

		if (k->kind != Y_SCALAR)
			continue;
		if (!strcmp(k->s, "add")) {
			if (want_scalar(l, w, "on_exceed add") &&
			    (lc->add_set = find_dynset(l->c, w->s)) < 0)
				diag_error(l->d, w->pos,
					   "on_exceed add '%s' is not a set under dynamic:", w->s);
		} else if (!strcmp(k->s, "timeout")) {
			want_duration(l, w, "on_exceed timeout", &lc->add_timeout_ms);
		} else {
			diag_error(l->d, k->pos,
				   "unknown key '%s' in on_exceed; expected one of: add, timeout",
				   k->s);
		}
	}
	if (lc->add_set < 0 && !v->n)
		diag_error(l->d, v->pos, "on_exceed: {add: SET} needs add:");
}

void rule_limit(struct ld *l, struct rctx *x)
{
	const struct ynode *v = x->f[RK_LIMIT], *e = x->f[RK_ON_EXCEED];
	struct fwd_limit_conf *lc;

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
	bool rate = false;

	for (size_t i = 0; i + 1 < v->n; i += 2)
		if (v->kid[i]->kind == Y_SCALAR) {
			limit_key(l, lc, v->kid[i], v->kid[i + 1]);
			rate |= !strcmp(v->kid[i]->s, "rate");
		}
	if (!rate)
		diag_error(l->d, v->pos, "limit: in %s needs rate: COUNT/DURATION", x->label);
	if (!lc->burst)
		lc->burst = lc->count;
	if (e)
		limit_exceed(l, x, lc, e);
}
