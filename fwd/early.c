// SPDX-License-Identifier: MIT
/*
 * early.c - which packets fwd's hooks drop before the queue, and their
 * counts (include/fwd/early.h). Off the packet path: it runs when a table is
 * built, when hooks are installed and when counters are read.
 *
 * The analysis walks the rules in file order over one bitmap of the ports
 * still undecided per family and protocol: a rule that can match a packet
 * of that family and protocol decides the undecided ports of its dport (all
 * of them without one); they are dropped early only when the rule is an
 * unconditional, unlogged drop. Whatever stays undecided is the default's.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwd/early.h"
#include "fwd/iptsave.h"
#include "fwd/value.h"

#define NPORTS		65536u
#define NWORDS		(NPORTS / 64)

static const uint8_t early_protos[2] = { IPPROTO_TCP, IPPROTO_UDP };
static const int early_families[2] = { 4, 6 };

/* The walk over one family and protocol. */
struct walk {
	uint64_t open[NWORDS];		/* bit set: port not yet decided */
	uint32_t left;			/* ports not yet decided */
	struct fwd_early *e;
	struct fwd_early_list *out;
	uint32_t cap;			/* of out->r */
	int32_t *who_of;		/* [rule]: index in e->who, or -1 */
	int32_t dflt;			/* the default's index in e->who, or -1 */
	const struct fwd_config *c;
};

static bool proto_in(const struct fwd_rule *r, uint8_t p)
{
	return r->protos[p / 8] & (1u << (p % 8));
}

/* Could R match some packet of FAMILY? Addresses of the other family never do. */
static bool family_in(const struct fwd_rule *r, int family)
{
	if ((r->present & FWD_F_SRC) && r->dyn_src < 0 &&
	    !(family == 4 ? r->src.n4 : r->src.n6))
		return false;
	if ((r->present & FWD_F_DST) && !(family == 4 ? r->dst.n4 : r->dst.n6))
		return false;
	return true;
}

/* Does R decide by protocol and destination port alone, with no side effect? */
static bool unconditional(const struct fwd_rule *r)
{
	return !(r->present & ~(uint32_t)(FWD_F_PROTO | FWD_F_DPORT)) && r->dyn_src < 0 &&
	       !r->limit;
}

static bool drop_logged(const struct fwd_config *c, enum fwd_log log)
{
	if (log != FWD_LOG_INHERIT)
		return log == FWD_LOG_YES;
	return c->log == FWD_LOGMODE_ALL || c->log == FWD_LOGMODE_DROPS;
}

static bool early_rule(const struct fwd_config *c, const struct fwd_rule *r)
{
	return unconditional(r) && r->action == FWD_DROP && !drop_logged(c, r->log);
}

static void block(struct walk *w, uint32_t port)
{
	if (w->open[port / 64] & (1ull << (port % 64))) {
		w->open[port / 64] &= ~(1ull << (port % 64));
		w->left--;
	}
}

/* Knock ports reach fwd whatever the rules say: it counts them. */
static void block_knocks(struct walk *w, uint8_t proto)
{
	for (uint32_t k = 0; k < w->c->nknocks; k++) {
		const struct fwd_knock_conf *kc = &w->c->knocks[k];

		for (uint32_t s = 0; s < kc->nsteps; s++)
			if (kc->step[s].proto == proto)
				block(w, kc->step[s].port);
		if (kc->open.port && kc->open.proto == proto)
			block(w, kc->open.port);
	}
}

/* Room doubles at 16, 32, 64... entries: a file of many drops adds in linear time. */
static int who_add(struct fwd_early *e, uint32_t rule, const char *name)
{
	struct fwd_early_who *n = e->who;

	if (!e->nwho || (e->nwho >= 16 && !(e->nwho & (e->nwho - 1)))) {
		n = realloc(e->who, (e->nwho < 16 ? 16 : 2 * (size_t)e->nwho) * sizeof(*n));
		if (!n)
			return -1;
		e->who = n;
	}
	memset(&n[e->nwho], 0, sizeof(n[0]));
	n[e->nwho].rule = rule;
	snprintf(n[e->nwho].name, sizeof(n[0].name), "%s", name);
	return (int)e->nwho++;
}

/* Append [LO, HI] for WHO, joined to the last range when it continues it. */
static int emit(struct walk *w, uint32_t who, uint32_t lo, uint32_t hi)
{
	struct fwd_early_list *o = w->out;
	struct fwd_early_range *last = o->n ? &o->r[o->n - 1] : NULL;

	if (last && last->who == who && last->hi + 1 == lo) {
		last->hi = hi;
		return 0;
	}
	if (o->n == w->cap) {
		uint32_t cap = w->cap ? w->cap * 2 : 16;
		struct fwd_early_range *r = realloc(o->r, cap * sizeof(*r));

		if (!r)
			return -1;
		o->r = r;
		w->cap = cap;
	}
	o->r[o->n++] = (struct fwd_early_range){ .who = who, .lo = lo, .hi = hi };
	return 0;
}

static int32_t who_for(struct walk *w, int64_t rule);

/*
 * Decide the open ports of [LO, HI]; RULE >= 0 (a rule's index, or
 * FWD_EARLY_DEFAULT) drops them early, and gets its who entry at its first port.
 */
static int decide(struct walk *w, uint32_t lo, uint32_t hi, int64_t rule)
{
	int32_t who;

	for (uint32_t p = lo; p <= hi && w->left; p++) {
		uint64_t word = w->open[p / 64];
		uint32_t run;

		if (!word && p % 64 == 0) {
			p += 63;	/* a whole decided word */
			continue;
		}
		if (!(word & (1ull << (p % 64))))
			continue;
		for (run = p; run < hi && (w->open[(run + 1) / 64] & (1ull << ((run + 1) % 64)));
		     run++)
			;
		for (uint32_t q = p; q <= run; q++)
			block(w, q);
		if (rule >= 0) {
			who = who_for(w, rule);
			if (who < 0 || emit(w, (uint32_t)who, p, run))
				return -1;
		}
		p = run;
	}
	return 0;
}

static int32_t who_for(struct walk *w, int64_t rule)
{
	int32_t *slot = rule == FWD_EARLY_DEFAULT ? &w->dflt : &w->who_of[rule];

	if (*slot < 0)
		*slot = who_add(w->e, (uint32_t)rule,
				rule == FWD_EARLY_DEFAULT ? "" : w->c->rules[rule].name);
	return *slot;
}

static int walk_rule(struct walk *w, uint32_t i, int family, uint8_t proto)
{
	const struct fwd_rule *r = &w->c->rules[i];
	int64_t who = early_rule(w->c, r) ? (int64_t)i : -1;

	if (!proto_in(r, proto) || !family_in(r, family))
		return 0;
	if (!(r->present & FWD_F_DPORT))
		return decide(w, 0, NPORTS - 1, who);
	for (uint32_t k = 0; k < r->dport.n && w->left; k++)
		if (decide(w, r->dport.r[k].lo, r->dport.r[k].hi, who))
			return -1;
	return 0;
}

static int walk_one(struct walk *w, int family, uint8_t proto)
{
	memset(w->open, 0xff, sizeof(w->open));
	w->left = NPORTS;
	w->cap = 0;
	block_knocks(w, proto);
	for (uint32_t i = 0; i < w->c->nrules && w->left; i++)
		if (walk_rule(w, i, family, proto))
			return -1;
	if (!w->left || w->c->default_action != FWD_DROP ||
	    drop_logged(w->c, FWD_LOG_INHERIT))
		return 0;
	return decide(w, 0, NPORTS - 1, FWD_EARLY_DEFAULT);
}

/* Anything that must see every packet, or that may pass what the rules drop. */
static bool possible(const struct fwd_config *c)
{
	return !c->daemon.no_early_drop && !c->scan.on && c->malformed_action != FWD_ALLOW;
}

static int cmp_who(const void *a, const void *b)
{
	const struct fwd_early_who *x = a, *y = b;

	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

/*
 * Put the who entries in rule order, the default (FWD_EARLY_DEFAULT) last,
 * for early_counts()' binary search; the ranges follow their entries. The
 * old index rides in carry_packets, zero again afterwards.
 */
static int order_who(struct fwd_early *e)
{
	uint32_t *to;

	if (!e->nwho)
		return 0;
	to = malloc(e->nwho * sizeof(*to));
	if (!to)
		return -1;
	for (uint32_t i = 0; i < e->nwho; i++)
		e->who[i].carry_packets = i;
	qsort(e->who, e->nwho, sizeof(e->who[0]), cmp_who);
	for (uint32_t i = 0; i < e->nwho; i++) {
		to[e->who[i].carry_packets] = i;
		e->who[i].carry_packets = 0;
	}
	for (int f = 0; f < 2; f++)
		for (int p = 0; p < 2; p++)
			for (uint32_t k = 0; k < e->l[f][p].n; k++)
				e->l[f][p].r[k].who = to[e->l[f][p].r[k].who];
	free(to);
	return 0;
}

static const char *who_name(const void *early, uint32_t i)
{
	return ((const struct fwd_early *)early)->who[i].name;
}

/* Names of the rules' entries by hash, for the kernel's comments and for reloads. */
static int index_names(struct fwd_early *e)
{
	if (!e->nwho)
		return 0;
	if (nameidx_init(&e->idx, e->nwho, who_name, e))
		return -1;
	for (uint32_t i = 0; i < e->nwho; i++)
		if (e->who[i].rule != FWD_EARLY_DEFAULT)
			nameidx_add(&e->idx, i);
	return 0;
}

/* Sort a list by who (rule order), ports ascending within one: stable by construction. */
static int cmp_range(const void *a, const void *b)
{
	const struct fwd_early_range *x = a, *y = b;

	if (x->who != y->who)
		return x->who < y->who ? -1 : 1;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* One line of FWD-EARLY: ranges [start, end) of list PROTO, one who's. */
struct group {
	int proto;
	uint32_t start, end;
	uint64_t ports;
	bool keep;
};

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	if (x->ports != y->ports)
		return x->ports > y->ports ? -1 : 1;
	return x->proto != y->proto ? x->proto - y->proto : (x->start > y->start) - (x->start < y->start);
}

static int cmp_group_pos(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	return x->proto != y->proto ? x->proto - y->proto : (x->start > y->start) - (x->start < y->start);
}

/* Keep only the kept groups of list P of family F, in their order. */
static void compact(struct fwd_early_list *l, const struct group *g, uint32_t ng, int proto)
{
	uint32_t to = 0;

	for (uint32_t i = 0; i < ng; i++) {
		if (g[i].proto != proto || !g[i].keep)
			continue;
		memmove(&l->r[to], &l->r[g[i].start], (g[i].end - g[i].start) * sizeof(l->r[0]));
		to += g[i].end - g[i].start;
	}
	l->n = to;
}

/* Split list P into its lines, as render_who() does, appended to G. */
static uint32_t lines_of(const struct fwd_early_list *l, int p, struct group *g, uint32_t ng)
{
	unsigned slots = 0;

	for (uint32_t k = 0; k < l->n; k++) {
		unsigned need = l->r[k].lo == l->r[k].hi ? 1 : 2;

		if (!k || l->r[k].who != l->r[k - 1].who ||
		    slots + need > FWD_EARLY_MULTIPORT) {
			g[ng++] = (struct group){ .proto = p, .start = k, .end = k };
			slots = 0;
		}
		slots += need;
		g[ng - 1].end = k + 1;
		g[ng - 1].ports += l->r[k].hi - l->r[k].lo + 1;
	}
	return ng;
}

/*
 * Every packet that reaches the chain walks it line by line: keep it short.
 * Any subset of early drops is right (fwd drops the rest itself), so past
 * FWD_EARLY_LINES_MAX lines per family the lines covering most ports stay
 * (packed again as render_who() does, kept lines never take more lines).
 */
static int trim_family(struct fwd_early *e, int f)
{
	uint32_t ng, cap = e->l[f][0].n + e->l[f][1].n;
	struct group *g = malloc((cap ? cap : 1) * sizeof(*g));

	if (!g)
		return -1;
	ng = lines_of(&e->l[f][0], 0, g, 0);
	ng = lines_of(&e->l[f][1], 1, g, ng);
	if (ng > FWD_EARLY_LINES_MAX) {
		qsort(g, ng, sizeof(*g), cmp_group);
		for (uint32_t i = 0; i < ng; i++)
			g[i].keep = i < FWD_EARLY_LINES_MAX;
		qsort(g, ng, sizeof(*g), cmp_group_pos);
		compact(&e->l[f][0], g, ng, 0);
		compact(&e->l[f][1], g, ng, 1);
	}
	free(g);
	return 0;
}

struct fwd_early *early_build(const struct fwd_config *c)
{
	struct fwd_early *e = calloc(1, sizeof(*e));
	struct walk *w = NULL;

	if (!e)
		return NULL;
	if (!possible(c))
		return e;
	w = calloc(1, sizeof(*w));
	if (!w || !(w->who_of = malloc((c->nrules ? c->nrules : 1) * sizeof(int32_t))))
		goto out_fail;
	memset(w->who_of, 0xff, (c->nrules ? c->nrules : 1) * sizeof(int32_t));
	w->e = e;
	w->c = c;
	w->dflt = -1;
	for (int f = 0; f < 2; f++)
		for (int p = 0; p < 2; p++) {
			w->out = &e->l[f][p];
			if (walk_one(w, early_families[f], early_protos[p]))
				goto out_fail;
		}
	if (order_who(e) || index_names(e))
		goto out_fail;
	for (int f = 0; f < 2; f++)
		for (int p = 0; p < 2; p++)
			if (e->l[f][p].n)
				qsort(e->l[f][p].r, e->l[f][p].n, sizeof(e->l[f][p].r[0]), cmp_range);
	if (trim_family(e, 0) || trim_family(e, 1))
		goto out_fail;
	free(w->who_of);
	free(w);
	return e;
out_fail:
	if (w)
		free(w->who_of);
	free(w);
	early_free(e);
	return NULL;
}

void early_free(struct fwd_early *e)
{
	if (!e)
		return;
	for (int f = 0; f < 2; f++)
		for (int p = 0; p < 2; p++)
			free(e->l[f][p].r);
	nameidx_free(&e->idx);
	free(e->who);
	free(e);
}

size_t early_nranges(const struct fwd_early *e)
{
	size_t n = 0;

	for (int f = 0; e && f < 2; f++)
		for (int p = 0; p < 2; p++)
			n += e->l[f][p].n;
	return n;
}

/* ---- the FWD-EARLY chain --------------------------------------------------- */

/* Names iptables-save prints verbatim go into the comment; others by index. */
static void comment_of(const struct fwd_early_who *w, char *out, size_t len)
{
	if (w->rule == FWD_EARLY_DEFAULT)
		snprintf(out, len, "%s:default", FWD_EARLY_COMMENT);
	else if (ipt_comment_plain(w->name))
		snprintf(out, len, "%s:rule:%s", FWD_EARLY_COMMENT, w->name);
	else
		snprintf(out, len, "%s:index:%" PRIu32, FWD_EARLY_COMMENT, w->rule + 1);
}

/* snprintf into BUF at *POS, counting what would not fit. */
__attribute__((format(printf, 4, 5)))
static void put(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(*pos < len ? buf + *pos : NULL, *pos < len ? len - *pos : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos += (size_t)n;
}

/* Lines for ranges R[0..N) of one who: at most FWD_EARLY_MULTIPORT ports each. */
static void render_who(const struct fwd_early *e, const char *proto,
		       const struct fwd_early_range *r, uint32_t n, char *buf, size_t len,
		       size_t *pos)
{
	char comment[FWD_NAME_MAX + 32];
	unsigned slots = 0;

	comment_of(&e->who[r[0].who], comment, sizeof(comment));
	for (uint32_t k = 0; k < n; k++) {
		unsigned need = r[k].lo == r[k].hi ? 1 : 2;

		if (slots && slots + need > FWD_EARLY_MULTIPORT) {
			put(buf, len, pos, " -m comment --comment %s -j DROP\n", comment);
			slots = 0;
		}
		if (!slots)
			put(buf, len, pos, "-A FWD-EARLY -p %s -m multiport --dports ", proto);
		if (slots)
			put(buf, len, pos, ",");
		if (need == 1)
			put(buf, len, pos, "%" PRIu32, r[k].lo);
		else
			put(buf, len, pos, "%" PRIu32 ":%" PRIu32, r[k].lo, r[k].hi);
		slots += need;
	}
	put(buf, len, pos, " -m comment --comment %s -j DROP\n", comment);
}

size_t early_render(const struct fwd_early *e, int family, char *buf, size_t len)
{
	static const char *const pname[2] = { "tcp", "udp" };
	size_t pos = 0;
	int f = family == 6;

	if (len)
		buf[0] = '\0';
	for (int p = 0; e && p < 2; p++) {
		const struct fwd_early_list *l = &e->l[f][p];

		for (uint32_t k = 0, end; k < l->n; k = end) {
			for (end = k + 1; end < l->n && l->r[end].who == l->r[k].who; end++)
				;
			render_who(e, pname[p], &l->r[k], end - k, buf, len, &pos);
		}
	}
	return pos;
}

/* ---- the kernel's counters ------------------------------------------------- */

static int64_t find_rule(const struct fwd_early *e, uint32_t rule);

/* The who entry a comment of comment_of() names, or -1. */
static int64_t who_by_comment(const struct fwd_early *e, const char *c, size_t len)
{
	static const char pre[] = FWD_EARLY_COMMENT ":";
	char name[FWD_NAME_MAX + 1];
	unsigned long n;
	char *end;

	if (len < sizeof(pre) - 1 || memcmp(c, pre, sizeof(pre) - 1))
		return -1;
	c += sizeof(pre) - 1;
	len -= sizeof(pre) - 1;
	if (len == 7 && !memcmp(c, "default", 7))
		return find_rule(e, FWD_EARLY_DEFAULT);
	if (len > 5 && len - 5 <= FWD_NAME_MAX && !memcmp(c, "rule:", 5)) {
		memcpy(name, c + 5, len - 5);
		name[len - 5] = '\0';
		return e->idx.tab ? nameidx_find(&e->idx, name) : -1;
	}
	if (len > 6 && len - 6 < 12 && !memcmp(c, "index:", 6)) {
		memcpy(name, c + 6, len - 6);
		name[len - 6] = '\0';
		n = strtoul(name, &end, 10);
		return *end || !n || n > UINT32_MAX ? -1 : find_rule(e, (uint32_t)(n - 1));
	}
	return -1;
}

bool early_parse_line(const struct fwd_early *e, const char *line, uint32_t *who,
		      uint64_t *packets, uint64_t *bytes)
{
	static const char chain[] = " -A FWD-EARLY ", opt[] = "--comment ";
	unsigned long long p, b;
	const char *c, *end;
	int64_t w;
	int n = 0;

	if (!e || sscanf(line, "[%llu:%llu]%n", &p, &b, &n) != 2 || !n ||
	    strncmp(line + n, chain, sizeof(chain) - 1))
		return false;
	c = strstr(line + n, opt);
	if (!c)
		return false;
	c += sizeof(opt) - 1;
	if (*c == '"')
		c++;
	for (end = c; *end && *end != ' ' && *end != '"' && *end != '\n'; end++)
		;
	w = who_by_comment(e, c, (size_t)(end - c));
	if (w < 0)
		return false;
	*who = (uint32_t)w;
	*packets = p;
	*bytes = b;
	return true;
}

static int sample_family(struct fwd_early *e, int family)
{
	char *text = NULL, *line, *next;
	uint64_t p, b;
	uint32_t w;
	int err = ipt_save(family, "mangle", &text);

	if (err)
		return err;
	for (line = text; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (early_parse_line(e, line, &w, &p, &b)) {
			e->who[w].now_packets += p;
			e->who[w].now_bytes += b;
		}
	}
	free(text);
	return 0;
}

int early_sample(struct fwd_early *e)
{
	int err;

	if (!e)
		return 0;
	for (uint32_t i = 0; i < e->nwho; i++)
		e->who[i].now_packets = e->who[i].now_bytes = 0;
	if (!early_nranges(e))
		return 0;
	err = sample_family(e, 4);
	if (!err)
		sample_family(e, 6);	/* IPv6 may be unusable: hooks.c stood without it */
	return err;
}

void early_harvest(struct fwd_early *e)
{
	early_sample(e);
	for (uint32_t i = 0; e && i < e->nwho; i++) {
		e->who[i].carry_packets += e->who[i].now_packets;
		e->who[i].carry_bytes += e->who[i].now_bytes;
		e->who[i].now_packets = e->who[i].now_bytes = 0;
	}
}

static int64_t find_rule(const struct fwd_early *e, uint32_t rule)
{
	uint32_t lo = 0, hi = e ? e->nwho : 0;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (e->who[mid].rule == rule)
			return mid;
		if (e->who[mid].rule < rule)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

void early_carry(struct fwd_early *e, const struct fwd_early *old)
{
	if (!e || !old)
		return;
	for (uint32_t j = 0; j < old->nwho; j++) {
		const struct fwd_early_who *o = &old->who[j];
		int64_t i = o->rule == FWD_EARLY_DEFAULT ? find_rule(e, FWD_EARLY_DEFAULT) :
			    e->idx.tab ? nameidx_find(&e->idx, o->name) : -1;

		if (i < 0)
			continue;
		e->who[i].carry_packets += o->carry_packets + o->now_packets;
		e->who[i].carry_bytes += o->carry_bytes + o->now_bytes;
	}
}

void early_counts(const struct fwd_early *e, uint32_t i, uint64_t *packets, uint64_t *bytes)
{
	int64_t w = find_rule(e, i);

	*packets = *bytes = 0;
	if (w < 0)
		return;
	*packets = e->who[w].carry_packets + e->who[w].now_packets;
	*bytes = e->who[w].carry_bytes + e->who[w].now_bytes;
}
