// SPDX-License-Identifier: MIT
/*
 * dyn.c - the run-time side of `dynamic:` sets, `knock:` sequences and
 * rules with `src: $SET` (see include/fwd/dyn.h).
 *
 * Knock progress and the sets live in separate tables: a flood of spoofed
 * first knocks can only evict other half-done sequences, never an opened
 * door. The progress table rates an entry by the steps it has done
 * (struct fwd_devict): a first knock displaces only other first knocks, so
 * a source two steps in keeps its place whatever the flood; only the gap
 * between a real first and second knock is exposed, for about
 * FWD_KNOCK_PROGRESS_MAX / (spoofed first knocks per second).
 *
 * First match stays exact: classify() treats `src: $SET` as any source; when
 * the rule it returns fails its membership test, ruleset_match_all() gives
 * every rule that matches statically and the next one whose dynamic
 * condition holds (or that has none) wins.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwd/dyn.h"
#include "fwd/hash.h"
#include "fwd/log.h"
#include "fwd/outbox.h"
#include "fwd/seen.h"
#include "fwd/table.h"
#include "fwd/value.h"

struct dset {
	char name[FWD_NAME_MAX + 1];
	uint32_t timeout_ms;
	struct fwd_dtable t;
	_Atomic uint64_t plens[4];	/* prefix lengths held: [0] IPv4, [1..3] IPv6 */
	bool blocks;			/* a drop or reject rule's `src:` (dyn_recheck_due()) */
	bool unkept;			/* not written to the state file (dyn_unkept()) */
	_Atomic bool changed;		/* members came or went since dyn_kept_changed() */
};

/*
 * A rule's `limit:`: per-source token buckets in a bounded table. The value
 * packs the time of the last refill (ms, modulo 2^32) high; then a bit set
 * once the source was refused, a bit set when it came back after its entry
 * was lost, and the tokens (thousandths, 30 bits: burst <= 1000000) low.
 * A bucket is written back with a compare and swap (dtable_replace()):
 * workers taking tokens of one source at once each take their own. A new
 * source's bucket is made with dtable_add_scored(), so of two workers
 * making it at once the second takes its token from the first's.
 *
 * Under a flood of spoofed sources each takes one token and makes a new
 * entry; a table that evicts the oldest hands a hammering source a fresh,
 * full bucket again and again (11 of 100 SYNs through a 1/m burst 2 limit).
 * So the table rates an entry by what forgetting it would give away
 * (struct fwd_devict, Space-Saving's eviction with admission): above all
 * whether the source was refused, then whether it came back, then the
 * tokens it lacks. A one-packet source lacks one token and never comes
 * back: it displaces only its own kind or full buckets. What tells a
 * source that comes back from a new one is the doorkeeper (fwd/seen.c, one
 * for all limits, epochs of 1 s): a source it has seen in the last one to
 * two seconds outranks every one-packet source. So a source limited to a
 * burst of B gets at most B + 1 new connections through while its entry is
 * fought over (the first, whose entry the flood may take, then B). When
 * the table refuses it a place outright, it gets its first packet and none
 * while the doorkeeper remembers it (limit_take()).
 */
#define LIM_MILLI	0x3fffffffull
#define LIM_BACK	(1ull << 30)
#define LIM_REFUSED	(1ull << 31)
#define LIM_SEEN_BITS	(1u << 22)	/* per generation: 1 MiB in all */
#define LIM_SEEN_MS	1000

struct dlimit {
	struct fwd_limit_conf conf;
	bool on;
	char name[FWD_NAME_MAX + 1];
	struct fwd_dtable t;
	_Atomic uint64_t limited;
};

struct fwd_dyn {
	uint32_t nsets;
	struct dset *sets;
	uint32_t nknocks;
	struct fwd_knock_conf *knocks;
	struct fwd_dtable progress;	/* tag: knock index + 1; val: steps done */
	uint8_t knock_ports[2][65536 / 8];	/* [0] tcp, [1] udp */
	uint32_t nrules;
	int8_t *rule_set;		/* [rule]: dynamic set of `src:`, or -1 */
	uint32_t words;
	uint64_t *scratch;		/* [worker][words] */
	_Atomic uint64_t nknock_pkts, opened, resets;
	struct fwd_scan *scan;		/* `scan:`, or NULL */
	bool scan_lent;			/* the next table's now (carry_scan()) */
	struct dlimit *limit;		/* [rule] */
	struct fwd_seen limit_seen;	/* the limits' doorkeeper */
	uint64_t limit_seed;		/* its hash's secret */
	struct fwd_scan_conf scan_conf;	/* its ignore ranges are our copies */
	bool blocks;			/* some set blocks */
	_Atomic bool recheck_due;	/* a blocking set gained or lost members since the last look */
};

static int proto_slot(uint8_t proto)
{
	return proto == FWD_PROTO_TCP ? 0 : proto == FWD_PROTO_UDP ? 1 : -1;
}

static bool is_knock_port(const struct fwd_dyn *d, uint8_t proto, uint32_t port)
{
	int p = proto_slot(proto);

	return p >= 0 && port < 65536 && (d->knock_ports[p][port / 8] & (1u << (port % 8)));
}

static int build_sets(struct fwd_dyn *d, const struct fwd_config *c)
{
	d->sets = calloc(c->ndynsets + 1, sizeof(*d->sets));
	if (!d->sets)
		return -ENOMEM;
	for (uint32_t i = 0; i < c->ndynsets; i++) {
		strcpy(d->sets[i].name, c->dynsets[i].name);
		d->sets[i].timeout_ms = c->dynsets[i].timeout_ms;
		if (dtable_init(&d->sets[i].t, c->dynsets[i].max))
			return -ENOMEM;
		d->nsets++;
	}
	return 0;
}

static int build_knocks(struct fwd_dyn *d, const struct fwd_config *c)
{
	d->knocks = calloc(c->nknocks + 1, sizeof(*d->knocks));
	if (!d->knocks || dtable_init(&d->progress, FWD_KNOCK_PROGRESS_MAX))
		return -ENOMEM;
	if (c->nknocks)		/* c->knocks is NULL without knocks: memcpy needs a pointer */
		memcpy(d->knocks, c->knocks, c->nknocks * sizeof(*d->knocks));
	d->nknocks = c->nknocks;
	for (uint32_t i = 0; i < c->nknocks; i++)
		for (uint32_t j = 0; j < c->knocks[i].nsteps; j++) {
			const struct fwd_knock_step *st = &c->knocks[i].step[j];
			int p = proto_slot(st->proto);

			if (p >= 0)
				d->knock_ports[p][st->port / 8] |= (uint8_t)(1u << (st->port % 8));
		}
	return 0;
}

static bool rule_blocks(const struct fwd_rule *r)
{
	return r->dyn_src >= 0 && (r->action == FWD_DROP || r->action == FWD_REJECT);
}

bool dyn_config_blocks(const struct fwd_config *c)
{
	for (uint32_t i = 0; i < c->nrules; i++)
		if (rule_blocks(&c->rules[i]))
			return true;
	return false;
}

static int build_rules(struct fwd_dyn *d, const struct fwd_config *c, unsigned nworkers)
{
	d->nrules = c->nrules;
	d->words = ruleset_words_for(c->nrules);
	d->rule_set = calloc(c->nrules + 1, sizeof(*d->rule_set));
	d->scratch = calloc((size_t)d->words * (nworkers ? nworkers : 1), sizeof(*d->scratch));
	if (!d->rule_set || !d->scratch)
		return -ENOMEM;
	for (uint32_t i = 0; i < c->nrules; i++) {
		const struct fwd_rule *r = &c->rules[i];

		d->rule_set[i] = (int8_t)r->dyn_src;
		if (rule_blocks(r))
			d->sets[r->dyn_src].blocks = d->blocks = true;
	}
	/* Members a reload carries into a set that blocks now are looked at once. */
	atomic_init(&d->recheck_due, d->blocks);
	return 0;
}

static int copy_ranges(void **to, const void *from, size_t n, size_t size)
{
	*to = n ? malloc(n * size) : NULL;
	if (n && !*to)
		return -ENOMEM;
	if (n)
		memcpy(*to, from, n * size);
	return 0;
}

static bool any_limit(const struct fwd_config *c)
{
	for (uint32_t i = 0; i < c->nrules; i++)
		if (c->rules[i].limit)
			return true;
	return false;
}

static int build_limits(struct fwd_dyn *d, const struct fwd_config *c)
{
	d->limit = calloc(c->nrules + 1, sizeof(*d->limit));
	if (!d->limit || (any_limit(c) && seen_init(&d->limit_seen, LIM_SEEN_BITS, LIM_SEEN_MS)))
		return -ENOMEM;
	d->limit_seed = hash_seed();
	for (uint32_t i = 0; i < c->nrules; i++) {
		struct dlimit *dl = &d->limit[i];

		strcpy(dl->name, c->rules[i].name);
		if (!c->rules[i].limit)
			continue;
		dl->conf = *c->rules[i].limit;
		if (dtable_init(&dl->t, FWD_LIMIT_SOURCES))
			return -ENOMEM;
		dl->on = true;
	}
	return 0;
}

static int build_scan(struct fwd_dyn *d, const struct fwd_config *c)
{
	const struct fwd_scan_conf *sc = &c->scan;
	struct fwd_addrset *ig = &d->scan_conf.ignore;

	if (!sc->on)
		return 0;
	d->scan_conf = *sc;
	ig->v4 = NULL;
	ig->v6 = NULL;
	if (copy_ranges((void **)&ig->v4, sc->ignore.v4, sc->ignore.n4, sizeof(*ig->v4)) ||
	    copy_ranges((void **)&ig->v6, sc->ignore.v6, sc->ignore.n6, sizeof(*ig->v6)))
		return -ENOMEM;
	d->scan = scan_new(sc->max, sc->ports, sc->window_ms);
	return d->scan ? 0 : -ENOMEM;
}

int dyn_build(const struct fwd_config *c, unsigned nworkers, struct fwd_dyn **out)
{
	struct fwd_dyn *d;

	*out = NULL;
	if (!c->ndynsets && !c->nknocks && !c->scan.on && !any_limit(c))
		return 0;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	if (build_sets(d, c) || build_knocks(d, c) || build_rules(d, c, nworkers) ||
	    build_scan(d, c) || build_limits(d, c)) {
		dyn_free(d);
		return -ENOMEM;
	}
	*out = d;
	return 0;
}

void dyn_free(struct fwd_dyn *d)
{
	if (!d)
		return;
	for (uint32_t i = 0; i < d->nsets; i++)
		dtable_free(&d->sets[i].t);
	free(d->sets);
	dtable_free(&d->progress);
	free(d->knocks);
	free(d->rule_set);
	free(d->scratch);
	for (uint32_t i = 0; d->limit && i < d->nrules; i++)
		dtable_free(&d->limit[i].t);
	free(d->limit);
	seen_free(&d->limit_seen);
	if (!d->scan_lent)
		scan_free(d->scan);
	free(d->scan_conf.ignore.v4);
	free(d->scan_conf.ignore.v6);
	free(d);
}

struct carry {
	struct dset *to;
	uint64_t now;
};

static void plen_note(struct dset *s, uint8_t family, unsigned plen);
static int progress_put(struct fwd_dyn *d, const struct fwd_dkey *pk, uint64_t done,
			uint64_t expires, uint64_t now, bool fresh);
static int limit_put(struct dlimit *dl, const struct fwd_dkey *m, uint64_t val,
		     uint64_t expires, uint64_t now, bool fresh);

/*
 * Copy one member, unless the new set holds it already with a later expiry:
 * the second pass after the grace period (dyn_carry()) adds what workers put
 * into the old set meanwhile without shortening what they put into the new.
 */
static void carry_one(void *arg, const struct fwd_dkey *k, uint64_t val, uint64_t expires)
{
	struct carry *cy = arg;
	uint64_t have = 0;

	(void)val;
	if (k->tag & FWD_DTAG_PREFIX)
		plen_note(cy->to, k->family, k->tag & 0xff);
	if (dtable_get(&cy->to->t, k, cy->now, NULL, &have) && have >= expires)
		return;
	dtable_put(&cy->to->t, k, 0, expires, cy->now);
}

static void carry_count(_Atomic uint64_t *to, const _Atomic uint64_t *from)
{
	atomic_fetch_add_explicit(to, atomic_load_explicit(from, memory_order_relaxed),
				  memory_order_relaxed);
}

/*
 * The counters are totals since start, as the rule counters are: the old
 * table's are added to the new one's (workers may already count there).
 * Limit counts follow their rule's name.
 */
static void carry_counts(struct fwd_dyn *d, const struct fwd_dyn *old)
{
	if (d->nknocks && old->nknocks) {
		carry_count(&d->nknock_pkts, &old->nknock_pkts);
		carry_count(&d->opened, &old->opened);
		carry_count(&d->resets, &old->resets);
	}
	if (d->scan != old->scan)
		scan_carry_counts(d->scan, old->scan);
	for (uint32_t i = 0; d->limit && old->limit && i < d->nrules; i++)
		for (uint32_t j = 0; d->limit[i].on && j < old->nrules; j++)
			if (old->limit[j].on && !strcmp(d->limit[i].name, old->limit[j].name))
				carry_count(&d->limit[i].limited, &old->limit[j].limited);
}

/* Members of OLD's sets into D's of the same name, at NOW. */
static void carry_sets(struct fwd_dyn *d, struct fwd_dyn *old, uint64_t now)
{
	for (uint32_t i = 0; i < d->nsets; i++)
		for (uint32_t j = 0; j < old->nsets; j++)
			if (!strcmp(d->sets[i].name, old->sets[j].name)) {
				struct carry cy = { &d->sets[i], now };

				dtable_walk(&old->sets[j].t, now, carry_one, &cy);
			}
}

/* A limit's buckets or the knocks' progress, on its way into D. */
struct carry_entries {
	struct fwd_dyn *d;
	struct dlimit *lim;		/* a limit's new table */
	const uint32_t *tag;		/* progress: [old knock] its new tag, 0: gone */
	uint64_t now;
};

static void carry_bucket(void *arg, const struct fwd_dkey *k, uint64_t val, uint64_t expires)
{
	struct carry_entries *ce = arg;

	limit_put(ce->lim, k, val, expires, ce->now, false);
}

static void carry_progress(void *arg, const struct fwd_dkey *k, uint64_t val, uint64_t expires)
{
	struct carry_entries *ce = arg;
	struct fwd_dkey pk = *k;

	if (!k->tag || k->tag > FWD_KNOCKS_MAX || !ce->tag[k->tag - 1])
		return;
	pk.tag = ce->tag[k->tag - 1];
	progress_put(ce->d, &pk, val, expires, ce->now, false);
}

static bool same_limit(const struct fwd_limit_conf *a, const struct fwd_limit_conf *b)
{
	return a->count == b->count && a->per_ms == b->per_ms && a->burst == b->burst;
}

/*
 * Buckets of OLD's limits into D's of the same rule name, rate and burst,
 * and the doorkeeper with its secret, so that a source refused a place
 * before the reload is not new after it.
 */
static void carry_limits(struct fwd_dyn *d, struct fwd_dyn *old, uint64_t now)
{
	if (d->limit_seen.gen[0] && old->limit_seen.gen[0]) {
		d->limit_seed = old->limit_seed;
		seen_carry(&d->limit_seen, &old->limit_seen);
	}
	for (uint32_t i = 0; d->limit && old->limit && i < d->nrules; i++)
		for (uint32_t j = 0; d->limit[i].on && j < old->nrules; j++)
			if (old->limit[j].on && !strcmp(d->limit[i].name, old->limit[j].name) &&
			    same_limit(&d->limit[i].conf, &old->limit[j].conf)) {
				struct carry_entries ce = { d, &d->limit[i], NULL, now };

				dtable_walk(&old->limit[j].t, now, carry_bucket, &ce);
			}
}

static bool same_sequence(const struct fwd_knock_conf *a, const struct fwd_knock_conf *b)
{
	if (strcmp(a->name, b->name) || a->nsteps != b->nsteps || a->window_ms != b->window_ms)
		return false;
	for (uint32_t i = 0; i < a->nsteps; i++)
		if (a->step[i].proto != b->step[i].proto || a->step[i].port != b->step[i].port)
			return false;
	return true;
}

/* Progress of OLD's knocks into D's of the same name, steps and window. */
static void carry_knocks(struct fwd_dyn *d, struct fwd_dyn *old, uint64_t now)
{
	uint32_t tag[FWD_KNOCKS_MAX] = { 0 };
	bool any = false;

	for (uint32_t j = 0; j < old->nknocks && j < FWD_KNOCKS_MAX; j++)
		for (uint32_t i = 0; i < d->nknocks; i++)
			if (same_sequence(&d->knocks[i], &old->knocks[j])) {
				tag[j] = i + 1;
				any = true;
			}
	if (any) {
		struct carry_entries ce = { d, NULL, tag, now };

		dtable_walk(&old->progress, now, carry_progress, &ce);
	}
}

/*
 * The scan table, when its bound, threshold and window stay: D takes OLD's
 * (workers still on OLD count into it too; it is safe for any number) and
 * OLD no longer frees it.
 */
static void carry_scan(struct fwd_dyn *d, struct fwd_dyn *old)
{
	const struct fwd_scan_conf *a = &d->scan_conf, *b = &old->scan_conf;

	if (!d->scan || !old->scan || old->scan_lent || a->max != b->max ||
	    a->ports != b->ports || a->window_ms != b->window_ms)
		return;
	scan_free(d->scan);
	d->scan = old->scan;
	old->scan_lent = true;
}

void dyn_carry_state(struct fwd_dyn *d, struct fwd_dyn *old, uint64_t now)
{
	if (!d || !old)
		return;
	carry_sets(d, old, now);
	carry_limits(d, old, now);
	carry_knocks(d, old, now);
	carry_scan(d, old);
}

void dyn_carry(struct fwd_dyn *d, struct fwd_dyn *old)
{
	if (!d || !old)
		return;
	carry_counts(d, old);
	carry_sets(d, old, clock_coarse_ms());
	/* What workers put into OLD's blocking sets meanwhile is looked at too. */
	dyn_recheck_again(d);
}

/* ---- the packet path ----------------------------------------------------- */

/*
 * S gained a member: the state file is due (dyn_kept_changed()), and if a
 * drop or reject rule uses S, the member's established connections must be
 * judged again (fwd/recheck.c). Both are said after the member is in
 * (release; the readers acquire).
 */
static void member_added(struct fwd_dyn *d, struct dset *s)
{
	atomic_store_explicit(&s->changed, true, memory_order_release);
	if (s->blocks && !atomic_load_explicit(&d->recheck_due, memory_order_relaxed))
		atomic_store_explicit(&d->recheck_due, true, memory_order_release);
}

/*
 * OUT (if not NULL and nothing earlier filled it) gets the event of TYPE for
 * K's source and destination: NAME, and A and B as enum fwd_ev_type says.
 */
static void event_fill(struct fwd_dyn_event *out, enum fwd_ev_type type, const struct fwd_key *k,
		       const char *name, uint8_t proto, uint32_t a, uint32_t b)
{
	struct fwd_log_event *ev;

	if (!out || out->due)
		return;
	ev = &out->ev;
	memset(ev, 0, sizeof(*ev));
	ev->type = (uint8_t)type;
	ev->action = FWD_DROP;
	ev->family = k->family;
	ev->proto = proto;
	ev->src = k->src;
	ev->dst = k->dst;
	ev->dport = a;
	ev->sport = b;
	snprintf(ev->rule, sizeof(ev->rule), "%s", name);
	out->due = true;
}

static uint32_t seconds(uint32_t ms)
{
	return (uint32_t)(((uint64_t)ms + 999) / 1000);
}

static void open_door(struct fwd_dyn *d, const struct fwd_knock_conf *kc,
		      const struct fwd_key *k, uint64_t now, struct fwd_dyn_event *out)
{
	struct fwd_dkey door = {
		.family = k->family, .proto = kc->open.proto, .port = kc->open.port,
		.addr = k->src,
	};

	if (dtable_put(&d->sets[kc->set].t, &door, 0, now + kc->timeout_ms, now) >= 0) {
		atomic_fetch_add_explicit(&d->opened, 1, memory_order_relaxed);
		member_added(d, &d->sets[kc->set]);
		event_fill(out, FWD_EV_KNOCK, k, kc->name, kc->open.proto, kc->open.port,
			   seconds(kc->timeout_ms));
	}
}

/*
 * A progress entry's value: the steps done (bits 0-7), the steps seen before
 * their turn (bits 8-15, one a step) and when the first of those came (ms,
 * bits 32-63). Hits sent back to back reach fwd out of order where they
 * take different queues (a multi-queue NIC, RPS, fwd's own queues: a busy
 * worker lags an idle one), so a step that comes early waits
 * FWD_KNOCK_SLACK_MS for the steps before it.
 */
#define PROG_DONE(v)	((uint32_t)(v) & 0xffu)
#define PROG_AHEAD(v)	((uint32_t)((v) >> 8) & 0xffu)
#define PROG_AT(v)	((uint32_t)((v) >> 32))
#define PROG(done, ahead, at) \
	((uint64_t)(done) | (uint64_t)(ahead) << 8 | (uint64_t)(uint32_t)(at) << 32)

/* A progress entry is worth the steps it has done (early ones count nothing). */
static uint64_t progress_score(const void *arg, uint64_t val, uint64_t expires, uint64_t now)
{
	(void)arg;
	(void)expires;
	(void)now;
	return PROG_DONE(val);
}

/* FRESH: a source's first progress, unless another worker started it meanwhile. */
static int progress_put(struct fwd_dyn *d, const struct fwd_dkey *pk, uint64_t val,
			uint64_t expires, uint64_t now, bool fresh)
{
	struct fwd_devict ev = { progress_score, NULL, PROG_DONE(val) };

	return (fresh ? dtable_add_scored : dtable_put_scored)(&d->progress, pk, val, expires,
								now, &ev);
}

static bool step_is(const struct fwd_knock_step *st, const struct fwd_key *k)
{
	return st->proto == k->proto && st->port == k->dport;
}

/* The step K is in KC from step FROM on: the first that matches, or nsteps. */
static uint32_t step_of(const struct fwd_knock_conf *kc, const struct fwd_key *k, uint32_t from)
{
	while (from < kc->nsteps && !step_is(&kc->step[from], k))
		from++;
	return from;
}

/*
 * Progress value V (0: none) after K at NOW: its step in turn advances it
 * (and the early steps right after it); a later step is kept as early.
 * Returns false for a wrong knock: a step already done, or any knock while
 * an early step has waited longer than the slack (it came out of order).
 */
static bool progress_next(const struct fwd_knock_conf *kc, const struct fwd_key *k, uint64_t now,
			  uint64_t *v)
{
	uint32_t done = PROG_DONE(*v), ahead = PROG_AHEAD(*v), at = PROG_AT(*v);
	uint32_t s = step_of(kc, k, done);

	if ((ahead && (uint32_t)now - at > FWD_KNOCK_SLACK_MS) || s >= kc->nsteps)
		return false;
	if (s == done) {
		for (done++; ahead & (1u << done); done++)
			;
		ahead &= ~((2u << done) - 1);
	} else {
		if (!ahead)
			at = (uint32_t)now;
		ahead |= 1u << s;
	}
	*v = PROG(done, ahead, at);
	return true;
}

/* A wrong knock: start over, or from step one when it is the first port. */
static void knock_reset(struct fwd_dyn *d, const struct fwd_knock_conf *kc,
			const struct fwd_dkey *pk, const struct fwd_key *k, uint64_t now)
{
	atomic_fetch_add_explicit(&d->resets, 1, memory_order_relaxed);
	if (step_is(&kc->step[0], k))
		progress_put(d, pk, PROG(1, 0, 0), now + kc->window_ms, now, false);
	else
		dtable_del(&d->progress, pk);
}

/* Advance (or reset) the progress of K's source in sequence I. */
static void knock_step(struct fwd_dyn *d, uint32_t i, const struct fwd_key *k, uint64_t now,
		       struct fwd_dyn_event *out)
{
	const struct fwd_knock_conf *kc = &d->knocks[i];
	struct fwd_dkey pk = { .family = k->family, .tag = i + 1, .addr = k->src };

	for (unsigned tries = 0; tries < 8; tries++) {
		uint64_t v = 0, next, expires = 0;
		bool under_way = dtable_get(&d->progress, &pk, now, &v, &expires);

		if (!under_way) {
			v = 0;
			expires = now + kc->window_ms;
		}
		next = v;
		if (!progress_next(kc, k, now, &next)) {
			if (under_way)
				knock_reset(d, kc, &pk, k, now);
			return;
		}
		if (PROG_DONE(next) >= kc->nsteps) {
			/* Ended once: a copy of this step on another worker finds it gone. */
			if (under_way && dtable_replace(&d->progress, &pk, v, 0, 0, now))
				continue;
			open_door(d, kc, k, now, out);
			return;
		}
		/*
		 * Another worker started this source's progress, moved it on,
		 * or the entry went: again, from what the table holds now.
		 */
		if (!under_way) {
			int r = progress_put(d, &pk, next, expires, now, true);

			if (r != -EEXIST && r != -EAGAIN)
				return;
		} else if (!dtable_replace(&d->progress, &pk, v, next, expires, now)) {
			return;
		}
	}
}

static bool in_sequence(const struct fwd_knock_conf *kc, const struct fwd_key *k)
{
	return step_of(kc, k, 0) < kc->nsteps;
}

bool dyn_knock(struct fwd_dyn *d, const struct fwd_key *k, uint64_t now,
	       struct fwd_dyn_event *out)
{
	bool any = false;

	if (!d || !d->nknocks || !is_knock_port(d, k->proto, k->dport))
		return false;
	atomic_fetch_add_explicit(&d->nknock_pkts, 1, memory_order_relaxed);
	for (uint32_t i = 0; i < d->nknocks; i++)
		if (in_sequence(&d->knocks[i], k)) {
			knock_step(d, i, k, now, out);
			any = true;
		}
	return any;
}

static bool scan_ignored(const struct fwd_dyn *d, const struct fwd_key *k)
{
	return addrset_has(&d->scan_conf.ignore, k->family, k->src);
}

bool dyn_scan(struct fwd_dyn *d, const struct fwd_key *k, uint64_t now,
	      struct fwd_dyn_event *out)
{
	struct dset *s;
	struct fwd_dkey m = { .family = k->family, .addr = k->src };
	uint32_t n;

	if (!d || !d->scan || (k->proto != FWD_PROTO_TCP && k->proto != FWD_PROTO_UDP) || k->dport > 65535 ||
	    is_knock_port(d, k->proto, k->dport))
		return false;
	s = &d->sets[d->scan_conf.set];
	/* A blocked source is not counted again: one event per block. */
	if (scan_ignored(d, k) || dtable_get(&s->t, &m, now, NULL, NULL))
		return false;
	n = scan_note(d->scan, k->family, k->src, (uint16_t)k->dport, now);
	if (!n)
		return false;
	dtable_put(&s->t, &m, 0, now + d->scan_conf.timeout_ms, now);
	member_added(d, s);
	outbox_push(FWD_CS_SCAN, k->family, k->src, d->scan_conf.timeout_ms, n, s->name);
	event_fill(out, FWD_EV_SCAN, k, s->name, k->proto, n, seconds(d->scan_conf.window_ms));
	return true;
}

/*
 * Thousandths of a token in the bucket of VAL at NOW (refilled, capped at
 * the burst). Each worker reads the clock once a burst, so another's stamp
 * may be a few ms ahead of NOW: that is no time passed, not 2^32 ms.
 */
static uint64_t limit_milli(const struct fwd_limit_conf *lc, uint64_t val, uint64_t now)
{
	uint64_t full = (uint64_t)lc->burst * 1000;
	int32_t ahead = (int32_t)((uint32_t)now - (uint32_t)(val >> 32));
	uint32_t since = ahead > 0 ? (uint32_t)ahead : 0;
	uint64_t milli = (val & LIM_MILLI) + (uint64_t)since * lc->count * 1000 / lc->per_ms;

	return milli > full ? full : milli;
}

/* What forgetting a bucket gives away: a refusal, a return, then the tokens it lacks. */
static uint64_t limit_score(const void *arg, uint64_t val, uint64_t expires, uint64_t now)
{
	const struct fwd_limit_conf *lc = arg;
	uint64_t lack = (uint64_t)lc->burst * 1000 - limit_milli(lc, val, now);

	(void)expires;
	if (!lack)
		return 0;
	return (val & LIM_REFUSED ? 1ull << 33 : 0) | (val & LIM_BACK ? 1ull << 32 : 0) | lack;
}

/* FRESH: a new source's bucket, unless another worker made it meanwhile. */
static int limit_put(struct dlimit *dl, const struct fwd_dkey *m, uint64_t val,
		     uint64_t expires, uint64_t now, bool fresh)
{
	struct fwd_devict ev = { limit_score, &dl->conf, 0 };

	ev.mine = limit_score(&dl->conf, val, expires, now);
	return (fresh ? dtable_add_scored : dtable_put_scored)(&dl->t, m, val, expires, now,
							       &ev);
}

/* 64 mixed bits of K's source for the doorkeeper, keyed with SEED. */
static uint64_t src_bits(const struct fwd_key *k, uint64_t seed)
{
	return hash_addr(k->src, seed ^ k->family);
}

/*
 * One try at a token of K's source (key M) in DL at NOW: 1 taken, 0 none,
 * -EAGAIN when another worker changed or made the bucket between the read
 * and the write. A source the full table refuses a place keeps no bucket:
 * it would get a full one again at its next packet. So only its first
 * packet passes; one that comes back (the doorkeeper saw it a moment ago)
 * gets nothing.
 */
static int limit_try(struct fwd_dyn *d, struct dlimit *dl, const struct fwd_key *k,
		     const struct fwd_dkey *m, uint64_t now)
{
	const struct fwd_limit_conf *lc = &dl->conf;
	uint64_t milli = (uint64_t)lc->burst * 1000, flags = 0, val = 0, exp, next;
	uint64_t refill_ms = (uint64_t)lc->burst * lc->per_ms / lc->count + 1;
	bool had = dtable_get(&dl->t, m, now, &val, &exp);
	int r;

	if (had) {
		milli = limit_milli(lc, val, now);
		flags = val & (LIM_REFUSED | LIM_BACK);
	} else if (seen_note(&d->limit_seen, src_bits(k, d->limit_seed), now)) {
		flags = LIM_BACK;
	}
	if (milli < 1000) {
		/* Keep the partial token and its time; mark the refusal. */
		if (had && !(val & LIM_REFUSED))
			dtable_replace(&dl->t, m, val, val | LIM_REFUSED, exp, now);
		return 0;
	}
	milli -= 1000;
	next = (uint64_t)(uint32_t)now << 32 | flags | milli;
	/* Once full again the entry may go: a fresh one starts full too. */
	r = had ? dtable_replace(&dl->t, m, val, next, now + refill_ms, now) : 1;
	if (r <= 0)
		return r ? -EAGAIN : 1;
	r = limit_put(dl, m, next, now + refill_ms, now, true);
	if (r == -ENOSPC)
		return !(flags & LIM_BACK);
	return r == -EEXIST || r == -EAGAIN ? -EAGAIN : 1;
}

/*
 * Take a token of K's source in DL at NOW; false when the bucket is empty.
 * The bucket is read and written back with a compare and swap, so workers
 * taking tokens of one source at once each take their own; a bucket fought
 * over LIM_TRIES times running gives none.
 */
#define LIM_TRIES	8

static bool limit_take(struct fwd_dyn *d, struct dlimit *dl, const struct fwd_key *k,
		       uint64_t now)
{
	struct fwd_dkey m = { .family = k->family, .addr = k->src };

	for (unsigned i = 0; i < LIM_TRIES; i++) {
		int r = limit_try(d, dl, k, &m, now);

		if (r != -EAGAIN)
			return r;
	}
	return false;
}

bool dyn_limit(struct fwd_dyn *d, uint32_t rule, const struct fwd_key *k, uint64_t now,
	       struct fwd_dyn_event *out)
{
	struct dlimit *dl;

	if (!d || !d->limit || rule >= d->nrules || !d->limit[rule].on)
		return false;
	dl = &d->limit[rule];
	if (limit_take(d, dl, k, now))
		return false;
	atomic_fetch_add_explicit(&dl->limited, 1, memory_order_relaxed);
	if (dl->conf.add_set >= 0) {
		struct dset *s = &d->sets[dl->conf.add_set];
		struct fwd_dkey m = { .family = k->family, .addr = k->src };
		uint32_t t = dl->conf.add_timeout_ms ? dl->conf.add_timeout_ms : s->timeout_ms;

		/* 1 for one worker only: a source in the set already is kept longer. */
		if (dtable_put(&s->t, &m, 0, now + t, now) == 1) {
			member_added(d, s);
			outbox_push(FWD_CS_LIMIT, k->family, k->src, t, 0, dl->name);
			event_fill(out, FWD_EV_LIMIT, k, dl->name, k->proto, k->dport, seconds(t));
		}
	}
	return true;
}

/*
 * Is K's source in one of the prefixes of S? One lookup per prefix length
 * the set holds (a bitmap, so a set without prefixes costs nothing).
 */
static bool prefix_member(struct dset *s, const struct fwd_key *k, uint64_t now)
{
	struct fwd_dkey m = { .family = k->family };
	unsigned w0 = k->family == 4 ? 0 : 1, w1 = k->family == 4 ? 1 : 4;

	for (unsigned w = w0; w < w1; w++) {
		uint64_t bits = atomic_load_explicit(&s->plens[w], memory_order_relaxed);

		while (bits) {
			unsigned plen = (w - w0) * 64 + (unsigned)__builtin_ctzll(bits);

			bits &= bits - 1;
			m.tag = FWD_DTAG_PREFIX | plen;
			m.addr = k->src & fwd_prefix_mask(k->family, plen);
			if (dtable_get(&s->t, &m, now, NULL, NULL))
				return true;
		}
	}
	return false;
}

/* Is K's source in S (a member with any port, or with K's own)? */
static bool set_has(struct dset *s, const struct fwd_key *k, uint64_t now)
{
	struct fwd_dkey m = { .family = k->family, .addr = k->src };

	if (dtable_get(&s->t, &m, now, NULL, NULL) || prefix_member(s, k, now))
		return true;
	if (k->dport > 65535)
		return false;
	m.proto = k->proto;
	m.port = (uint16_t)k->dport;
	return dtable_get(&s->t, &m, now, NULL, NULL);
}

/* Does K meet rule I's dynamic condition? */
static bool dyn_ok(struct fwd_dyn *d, uint32_t i, const struct fwd_key *k, uint64_t now)
{
	if (i >= d->nrules || d->rule_set[i] < 0)
		return true;
	return set_has(&d->sets[d->rule_set[i]], k, now);
}

struct dyn_arg {
	struct fwd_dyn *d;
	const struct fwd_key *k;
	uint64_t now;
};

static bool dyn_rule_ok(const void *arg, uint32_t i)
{
	const struct dyn_arg *a = arg;

	return dyn_ok(a->d, i, a->k, a->now);
}

int dyn_resolve(struct fwd_dyn *d, const struct fwd_ruleset *rs, const struct fwd_key *k,
		int idx, unsigned worker, uint64_t now)
{
	struct dyn_arg a = { d, k, now };

	if (!d || idx < 0 || dyn_ok(d, (uint32_t)idx, k, now))
		return idx;
	return ruleset_next_match(rs, k, idx, d->scratch + (size_t)worker * d->words,
				  dyn_rule_ok, &a);
}

/*
 * dyn_resolve() for the control thread's live explain: the same walk, with
 * scratch of its own, since the workers use theirs at the same time.
 */
int dyn_resolve_ctl(struct fwd_dyn *d, const struct fwd_ruleset *rs, const struct fwd_key *k,
		    int idx, uint64_t now)
{
	struct dyn_arg a = { d, k, now };

	if (!d || idx < 0 || dyn_ok(d, (uint32_t)idx, k, now))
		return idx;
	return ruleset_next_match(rs, k, idx, NULL, dyn_rule_ok, &a);
}

int dyn_packet(struct fwd_dyn *d, const struct fwd_ruleset *rs, const struct fwd_key *k,
	       int idx, unsigned worker, uint64_t now, bool opens, struct fwd_dyn_event *out)
{
	out->due = false;
	/* Knocks are dropped (the ports look closed); dynamic sources refine idx. */
	if (opens && dyn_knock(d, k, now, out))
		return FWD_DYN_DROP;
	/* A scan puts its source in the block set: this packet already meets it. */
	if (opens)
		dyn_scan(d, k, now, out);
	idx = dyn_resolve(d, rs, k, idx, worker, now);
	/* Past its per-source limit the rule's packet is dropped (counted there). */
	if (opens && idx >= 0 && dyn_limit(d, (uint32_t)idx, k, now, out))
		return FWD_DYN_DROP;
	return idx;
}

/* ---- control ------------------------------------------------------------- */

bool dyn_blocks(const struct fwd_dyn *d)
{
	return d && d->blocks;
}

bool dyn_recheck_due(struct fwd_dyn *d)
{
	return d && atomic_exchange_explicit(&d->recheck_due, false, memory_order_acq_rel);
}

void dyn_recheck_again(struct fwd_dyn *d)
{
	if (d && d->blocks)
		atomic_store_explicit(&d->recheck_due, true, memory_order_release);
}

bool dyn_blocked(struct fwd_dyn *d, const struct fwd_key *k, uint64_t now)
{
	for (uint32_t i = 0; d && i < d->nsets; i++)
		if (d->sets[i].blocks && set_has(&d->sets[i], k, now))
			return true;
	return false;
}

/* The set `fwd block` names, or the one set that blocks; -1 and ERR otherwise. */
static int block_set(const struct fwd_dyn *d, const char *name, char *err, size_t errlen)
{
	int found = -1, n = 0;

	if (name) {
		found = dyn_set_find(d, name);
		if (found >= 0 && d->sets[found].blocks)
			return found;
		if (found < 0)
			snprintf(err, errlen, "no dynamic set '%.64s'", name);
		else
			snprintf(err, errlen, "set '%.64s' blocks nothing: no drop or reject rule has "
				 "it as src:", name);
		return -1;
	}
	for (uint32_t i = 0; d && i < d->nsets; i++)
		if (d->sets[i].blocks && n++ == 0)
			found = (int)i;
	if (n == 1)
		return found;
	if (n == 0)
		snprintf(err, errlen, "no dynamic set blocks: a drop or reject rule with src: $SET "
			 "makes one");
	else
		snprintf(err, errlen, "%d sets block: name one with --set", n);
	return -1;
}

int dyn_block(struct fwd_dyn *d, const char *name, uint8_t family, fwd_u128 addr, unsigned plen,
	      uint64_t *for_ms, uint64_t now, char *err, size_t errlen)
{
	int i = block_set(d, name, err, errlen), e;
	struct dset *s;

	if (i < 0)
		return -1;
	s = &d->sets[i];
	if (!*for_ms)
		*for_ms = s->timeout_ms;
	if (plen < (family == 4 ? 32u : 128u)) {
		e = dyn_prefix_put(d, i, family, addr, plen, now + *for_ms, now);
	} else {
		/* A whole address is an entry of fwd's own (tag 0), as a scan's block. */
		e = dtable_put(&s->t, &(struct fwd_dkey){ .family = family, .addr = addr }, 0,
			       now + *for_ms, now);
		if (e == 1)
			member_added(d, s);
	}
	if (e < 0) {
		snprintf(err, errlen, "set '%s' had no free slot at once; try again", s->name);
		return -1;
	}
	atomic_store_explicit(&s->changed, true, memory_order_release);	/* a new time too */
	return i;
}

/*
 * S lost N members, off the packet path: the state file is due, and their
 * marked connections may leave the queue again (fwd/recheck.c releases the
 * marks).
 */
static void members_gone(struct fwd_dyn *d, struct dset *s, unsigned n)
{
	if (n)
		atomic_store_explicit(&s->changed, true, memory_order_release);
	if (n && s->blocks)
		atomic_store_explicit(&d->recheck_due, true, memory_order_release);
}

int dyn_unblock(struct fwd_dyn *d, const char *addr, unsigned *removed, uint64_t now)
{
	fwd_u128 a = 0;
	uint8_t family = (uint8_t)addr_unmap(addr_parse(addr, &a), &a, NULL);

	*removed = 0;
	if (!family)
		return -EINVAL;
	if (!d)
		return 0;
	for (uint32_t i = 0; i < d->nsets; i++) {
		unsigned n = dtable_del_addr(&d->sets[i].t, family, a, now);

		members_gone(d, &d->sets[i], n);
		*removed += n;
	}
	*removed += dtable_del_addr(&d->progress, family, a, now);
	if (d->scan)
		scan_forget(d->scan, family, a);
	return 0;
}

/* "/24" after a prefix entry's address, "" for a whole address. */
static const char *prefix_text(const struct fwd_dkey *k)
{
	static _Thread_local char buf[8];
	unsigned plen = k->tag & 0xff;

	if (!(k->tag & FWD_DTAG_PREFIX) || plen >= (k->family == 4 ? 32u : 128u))
		return "";
	snprintf(buf, sizeof(buf), "/%u", plen);
	return buf;
}

struct member_walk {
	struct fwd_text *j;
	uint64_t now;
	bool first;
};

/* A member's address and, when it has one, its port: JSON fields or text. */
static void member_addr(struct fwd_text *j, const struct fwd_dkey *k, bool json)
{
	char a[INET6_ADDRSTRLEN];
	const char *p = proto_name(k->proto);

	addr_format(a, sizeof(a), k->family, k->addr);
	if (json)
		text_printf(j, "{\"addr\":\"%s%s\"", a, prefix_text(k));
	else
		text_printf(j, "    %s%s", a, prefix_text(k));
	if (k->port)
		text_printf(j, json ? ",\"port\":\"%u/%s\"" : " %u/%s", k->port, p ? p : "?");
}

static void member_json(void *arg, const struct fwd_dkey *k, uint64_t val, uint64_t expires)
{
	struct member_walk *mw = arg;

	(void)val;
	if (!mw->first)
		text_printf(mw->j, ",");
	member_addr(mw->j, k, true);
	text_printf(mw->j, ",\"remaining\":%" PRIu64 "}", (expires - mw->now + 999) / 1000);
	mw->first = false;
}

char *dyn_stats_json(struct fwd_dyn *d)
{
	struct fwd_text j = { 0 };
	uint64_t now = clock_coarse_ms();

	text_printf(&j, "%s", "");
	text_printf(&j, "\"dynamic\":{\"sets\":{");
	for (uint32_t i = 0; d && i < d->nsets; i++) {
		struct member_walk mw = { &j, now, true };
		struct fwd_dtable *t = &d->sets[i].t;

		text_printf(&j, "%s\"%s\":{\"evicted\":%" PRIu64 ",\"members\":[", i ? "," : "",
			  d->sets[i].name, atomic_load(&t->evicted));
		dtable_walk(t, now, member_json, &mw);
		text_printf(&j, "]}");
	}
	text_printf(&j, "},\"knock\":{\"packets\":%" PRIu64 ",\"opened\":%" PRIu64
		  ",\"resets\":%" PRIu64 ",\"in_progress\":%u,\"evicted\":%" PRIu64
		  ",\"refused\":%" PRIu64 "}}",
		  d ? atomic_load(&d->nknock_pkts) : 0, d ? atomic_load(&d->opened) : 0,
		  d ? atomic_load(&d->resets) : 0, d ? dtable_count(&d->progress, now) : 0,
		  d ? atomic_load(&d->progress.evicted) : 0,
		  d ? atomic_load(&d->progress.refused) : 0);
	if (d && d->limit && !j.oom) {
		bool first = true;

		j.len--;	/* reopen the "dynamic" object */
		text_printf(&j, ",\"limited\":{");
		for (uint32_t i = 0; i < d->nrules; i++)
			if (d->limit[i].on) {
				text_printf(&j, "%s\"%s\":%" PRIu64, first ? "" : ",", d->limit[i].name,
					  atomic_load(&d->limit[i].limited));
				first = false;
			}
		text_printf(&j, "}}");
	}
	if (d && d->scan && !j.oom) {
		uint64_t ev, sk, det;

		scan_counters(d->scan, &ev, &sk, &det);
		j.len--;	/* reopen the "dynamic" object */
		text_printf(&j, ",\"scan\":{\"detected\":%" PRIu64 ",\"tracked_max\":%u"
			  ",\"evicted\":%" PRIu64 ",\"busy\":%" PRIu64 ",\"refused\":%" PRIu64 "}}",
			  det, scan_capacity(d->scan), ev, sk, scan_refused(d->scan));
	}
	return text_take(&j);
}

/* ---- the text of `fwd stats` ------------------------------------------------ */

struct member_text {
	struct fwd_text *j;
	uint64_t now;
};

static void member_text(void *arg, const struct fwd_dkey *k, uint64_t val, uint64_t expires)
{
	struct member_text *mt = arg;

	(void)val;
	member_addr(mt->j, k, false);
	text_printf(mt->j, "  %" PRIu64 "s left\n", (expires - mt->now + 999) / 1000);
}

char *dyn_stats_text(struct fwd_dyn *d)
{
	struct fwd_text j = { 0 };
	uint64_t now = clock_coarse_ms();

	text_printf(&j, "%s", "");
	if (!d)
		return text_take(&j);
	for (uint32_t i = 0; i < d->nsets; i++) {
		struct member_text mt = { &j, now };
		struct fwd_dtable *t = &d->sets[i].t;

		text_printf(&j, "set %s:  %u members, evicted %" PRIu64 "\n", d->sets[i].name,
			  dtable_count(t, now), atomic_load(&t->evicted));
		dtable_walk(t, now, member_text, &mt);
	}
	if (d->nknocks)
		text_printf(&j, "knock:      packets %" PRIu64 ", opened %" PRIu64 ", resets %" PRIu64
			  ", in progress %u, evicted %" PRIu64 "\n", atomic_load(&d->nknock_pkts),
			  atomic_load(&d->opened), atomic_load(&d->resets),
			  dtable_count(&d->progress, now), atomic_load(&d->progress.evicted));
	for (uint32_t i = 0; d->limit && i < d->nrules; i++)
		if (d->limit[i].on)
			text_printf(&j, "limited:    rule %s %" PRIu64 "\n", d->limit[i].name,
				  atomic_load(&d->limit[i].limited));
	if (d->scan) {
		uint64_t ev, sk, det;

		scan_counters(d->scan, &ev, &sk, &det);
		text_printf(&j, "scan:       detected %" PRIu64 ", tracked at most %u, evicted %"
			  PRIu64 ", busy %" PRIu64 ", refused %" PRIu64 "\n", det,
			  scan_capacity(d->scan), ev, sk, scan_refused(d->scan));
	}
	return text_take(&j);
}

/* ---- sets fed from off the packet path (fwd/crowdsec.c) ------------------------ */

static void plen_note(struct dset *s, uint8_t family, unsigned plen)
{
	unsigned w = family == 4 ? 0 : 1 + plen / 64;

	if (family == 4 && plen > 32)
		return;
	atomic_fetch_or_explicit(&s->plens[w], 1ull << (plen % 64), memory_order_relaxed);
}

const char *dyn_set_name(const struct fwd_dyn *d, int i)
{
	return d->sets[i].name;
}

int dyn_set_find(const struct fwd_dyn *d, const char *name)
{
	for (uint32_t i = 0; d && i < d->nsets; i++)
		if (!strcmp(d->sets[i].name, name))
			return (int)i;
	return -1;
}

int dyn_prefix_put(struct fwd_dyn *d, int set, uint8_t family, fwd_u128 addr, unsigned plen,
		   uint64_t expires, uint64_t now)
{
	struct fwd_dkey m = { .family = family, .tag = FWD_DTAG_PREFIX | plen };

	if (plen > (family == 4 ? 32u : 128u))
		return -EINVAL;
	m.addr = addr & fwd_prefix_mask(family, plen);
	return dyn_member_put(d, set, &m, expires, now);
}

unsigned dyn_prefix_del(struct fwd_dyn *d, int set, uint8_t family, fwd_u128 addr,
			unsigned plen)
{
	struct fwd_dkey m = { .family = family, .tag = FWD_DTAG_PREFIX | plen };
	unsigned n;

	if (!d || set < 0 || (uint32_t)set >= d->nsets)
		return 0;
	m.addr = addr & fwd_prefix_mask(family, plen);
	n = dtable_del(&d->sets[set].t, &m);
	members_gone(d, &d->sets[set], n);
	return n;
}

static void count_prefix(void *arg, const struct fwd_dkey *k, uint64_t val, uint64_t expires)
{
	(void)val;
	(void)expires;
	if (k->tag & FWD_DTAG_PREFIX)
		(*(uint32_t *)arg)++;
}

uint32_t dyn_prefix_count(struct fwd_dyn *d, int set, uint64_t now)
{
	uint32_t n = 0;

	if (d && set >= 0 && (uint32_t)set < d->nsets)
		dtable_walk(&d->sets[set].t, now, count_prefix, &n);
	return n;
}

/* ---- members across a restart (fwd/keep.c) ---------------------------------- */

struct members_walk {
	const char *set;
	void (*fn)(void *arg, const char *set, const struct fwd_dkey *k, uint64_t expires);
	void *arg;
};

static void member_one(void *arg, const struct fwd_dkey *k, uint64_t val, uint64_t expires)
{
	struct members_walk *w = arg;

	(void)val;
	w->fn(w->arg, w->set, k, expires);
}

void dyn_members(struct fwd_dyn *d, uint64_t now,
		 void (*fn)(void *arg, const char *set, const struct fwd_dkey *k, uint64_t expires),
		 void *arg)
{
	for (uint32_t i = 0; d && i < d->nsets; i++) {
		struct members_walk w = { d->sets[i].name, fn, arg };

		if (!d->sets[i].unkept)
			dtable_walk(&d->sets[i].t, now, member_one, &w);
	}
}

void dyn_unkept(struct fwd_dyn *d, const char *set)
{
	int i = dyn_set_find(d, set);

	if (i >= 0)
		d->sets[i].unkept = true;
}

bool dyn_set_kept(const struct fwd_dyn *d, int set)
{
	return d && set >= 0 && (uint32_t)set < d->nsets && !d->sets[set].unkept;
}

bool dyn_kept_changed(struct fwd_dyn *d)
{
	bool any = false;

	for (uint32_t i = 0; d && i < d->nsets; i++)
		if (!d->sets[i].unkept &&
		    atomic_exchange_explicit(&d->sets[i].changed, false, memory_order_acq_rel))
			any = true;
	return any;
}

int dyn_member_put(struct fwd_dyn *d, int set, const struct fwd_dkey *k, uint64_t expires,
		   uint64_t now)
{
	struct dset *s;
	int e;

	if (!d || set < 0 || (uint32_t)set >= d->nsets)
		return -EINVAL;
	s = &d->sets[set];
	/* The length first: a reader that sees the entry also probes its length. */
	if (k->tag & FWD_DTAG_PREFIX)
		plen_note(s, k->family, k->tag & 0xff);
	e = dtable_put(&s->t, k, 0, expires, now);
	if (e == 1)
		member_added(d, s);
	return e;
}
