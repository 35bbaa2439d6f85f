// SPDX-License-Identifier: MIT
/*
 * rvalue.c - the rules file's value parsers: range lists, numbers, ports and
 * services, addresses and CIDRs, and their conversion to the config's
 * sorted, disjoint, inclusive ranges (include/fwd/load.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>
#include "fwd/config.h"
#include "fwd/value.h"
#include "fwd/load.h"

/* ---- ranges ----------------------------------------------------------- */



void rl_add(struct rl *l, fwd_u128 lo, fwd_u128 hi)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		struct r128 *r = realloc(l->r, cap * sizeof(*r));

		if (!r) {
			l->oom = true;
			return;
		}
		l->r = r;
		l->cap = cap;
	}
	l->r[l->n].lo = lo;
	l->r[l->n].hi = hi;
	l->n++;
}

void rl_free(struct rl *l)
{
	free(l->r);
	memset(l, 0, sizeof(*l));
}

static void rl_union(struct rl *dst, const struct rl *src)
{
	for (size_t i = 0; i < src->n; i++)
		rl_add(dst, src->r[i].lo, src->r[i].hi);
	dst->oom |= src->oom;
}

static int r128_cmp(const void *a, const void *b)
{
	const struct r128 *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? -1 : x->hi > y->hi;
}

/* Sort and merge overlapping or adjacent ranges. */
static void rl_norm(struct rl *l)
{
	size_t o = 0;

	if (l->n < 2)
		return;
	qsort(l->r, l->n, sizeof(*l->r), r128_cmp);
	for (size_t i = 1; i < l->n; i++) {
		struct r128 *c = &l->r[o];

		if (l->r[i].lo <= c->hi || l->r[i].lo == c->hi + 1) {
			if (l->r[i].hi > c->hi)
				c->hi = l->r[i].hi;
		} else {
			l->r[++o] = l->r[i];
		}
	}
	l->n = o + 1;
}

/* Replace L by its complement within 0..MAX. */
static void rl_complement(struct rl *l, fwd_u128 max)
{
	struct rl out = { 0 };
	fwd_u128 next = 0;
	bool done = false;

	rl_norm(l);
	for (size_t i = 0; i < l->n && !done; i++) {
		if (l->r[i].lo > next)
			rl_add(&out, next, l->r[i].lo - 1);
		if (l->r[i].hi >= max)
			done = true;
		else
			next = l->r[i].hi + 1;
	}
	if (!done)
		rl_add(&out, next, max);
	out.oom |= l->oom;
	rl_free(l);
	*l = out;
}

/* ---- loader state ----------------------------------------------------- */


const char *kind_name(const struct ynode *n)
{
	return n->kind == Y_MAP ? "a mapping" : n->kind == Y_SEQ ? "a list" : "a scalar";
}

bool want_scalar(struct ld *l, const struct ynode *n, const char *what)
{
	if (n->kind == Y_SCALAR)
		return true;
	diag_error(l->d, n->pos, "%s must be a single value, not %s", what, kind_name(n));
	return false;
}

bool want_map(struct ld *l, const struct ynode *n, const char *what)
{
	if (n->kind == Y_MAP)
		return true;
	diag_error(l->d, n->pos, "%s must be a mapping, not %s", what, kind_name(n));
	return false;
}

/* Strict decimal: digits only, at most MAX. Sets *big when it is above MAX. */
bool parse_dec(const char *s, const char *end, uint64_t max, uint64_t *out, bool *big)
{
	uint64_t v = 0;

	*big = false;
	if (s == end)
		return false;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (v <= max)
			v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	*big = v > max;
	return !*big;
}

bool parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	bool big;

	return parse_dec(s, s + strlen(s), max, out, &big);
}

/* Look up "NAME" of "$NAME"; reports an unknown set at N, with the closest known name. */
static struct lset *find_set(struct ld *l, const struct ynode *n, const char *name)
{
	char hint[NEAR_HINT_MAX];
	struct near x;

	near_init(&x, name);
	for (size_t i = 0; i < l->nsets; i++) {
		if (!strcmp(l->sets[i].name, name))
			return &l->sets[i];
		near_try(&x, l->sets[i].name);
	}
	for (uint32_t i = 0; i < l->c->ndynsets; i++)
		near_try(&x, l->c->dynsets[i].name);
	if (x.best[0]) {
		snprintf(hint, sizeof(hint), "; did you mean '$%s'?", x.best);
		diag_error(l->d, n->pos, "unknown set '$%s'%s", name, hint);
	} else {
		diag_error(l->d, n->pos, "unknown set '$%s'", name);
	}
	return NULL;
}

bool name_ok(const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len == 0 || len > max)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == len;
}

/* ---- ports ------------------------------------------------------------ */


static const char *pm_name(unsigned pm)
{
	return pm == PM_TCP ? "tcp" : pm == PM_UDP ? "udp" : "tcp or udp";
}

/*
 * "; did you mean 'X'?" for S among the services of the protocols PM, or
 * "". Off the packet path: it reads the services database through.
 */
static const char *service_hint(const char *s, unsigned pm, char *buf, size_t len)
{
	struct servent *se;
	struct near x;

	/* A service of the other protocol is a mistake of protocol, not of spelling. */
	if (getservbyname(s, "tcp") || getservbyname(s, "udp"))
		return "";
	near_init(&x, s);
	setservent(0);
	while ((se = getservent())) {
		if (!((pm & PM_TCP) && !strcmp(se->s_proto, "tcp")) &&
		    !((pm & PM_UDP) && !strcmp(se->s_proto, "udp")))
			continue;
		near_try(&x, se->s_name);
		for (char **a = se->s_aliases; a && *a; a++)
			near_try(&x, *a);
	}
	endservent();
	return near_hint(&x, buf, len);
}

static bool port_service(struct ld *l, const struct ynode *n, const char *s, unsigned pm,
			 struct rl *out, bool report, enum pctx ctx)
{
	char hint[NEAR_HINT_MAX];
	bool found = false;

	if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-+/") !=
	    strlen(s))
		goto bad;
	for (unsigned b = PM_TCP; b <= PM_UDP; b <<= 1) {
		struct servent *se;

		if (!(pm & b))
			continue;
		se = getservbyname(s, b == PM_TCP ? "tcp" : "udp");
		if (se) {
			uint32_t p = ntohs((uint16_t)se->s_port);

			rl_add(out, p, p);
			found = true;
		}
	}
	if (found)
		return true;
	if (!report)
		return false;
	if (ctx == PCTX_SET)
		diag_error(l->d, n->pos, "'%s' is neither a port, a known service nor an address%s",
			   s, service_hint(s, pm, hint, sizeof(hint)));
	else
		diag_error(l->d, n->pos, "unknown service '%s' for %s%s", s, pm_name(pm),
			   service_hint(s, pm, hint, sizeof(hint)));
	return false;
bad:
	if (report)
		diag_error(l->d, n->pos, "invalid port '%s'", s);
	return false;
}

static bool port_num(struct ld *l, const struct ynode *n, const char *s, const char *end,
		     uint32_t *v, bool report)
{
	uint64_t x = 0;
	bool big;

	if (parse_dec(s, end, PORT_MAX, &x, &big)) {
		*v = (uint32_t)x;
		return true;
	}
	if (report && big)
		diag_error(l->d, n->pos, "port '%.*s' is above 65535", (int)(end - s), s);
	else if (report)
		diag_error(l->d, n->pos, "invalid port '%s'", n->s);
	return false;
}

/* ">=N", "<=N", ">N", "<N". */
static bool port_cmp(struct ld *l, const struct ynode *n, const char *s, struct rl *out,
		     bool report)
{
	bool gt = s[0] == '>', eq = s[1] == '=';
	const char *num = s + 1 + eq;
	uint32_t v;

	if (!port_num(l, n, num, num + strlen(num), &v, report))
		return false;
	if ((gt && !eq && v == PORT_MAX) || (!gt && !eq && v == 0)) {
		if (report)
			diag_error(l->d, n->pos, "'%s' matches no port", s);
		return false;
	}
	if (gt)
		rl_add(out, eq ? v : v + 1, PORT_MAX);
	else
		rl_add(out, 0, eq ? v : v - 1);
	return true;
}

/*
 * The ports of SET in a rule whose protocols are PM: each element resolved
 * as if it were written inline in that rule, so a service name means the
 * same either way. An element that none of the rule's protocols knows is an
 * error at N, where the set is used (it would silently match nothing);
 * elements the set itself got an error for are skipped.
 */
static bool set_ports_for(struct ld *l, const struct ynode *n, const struct lset *set,
			  unsigned pm, struct rl *out, bool report)
{
	const struct ynode *v = set->val;
	size_t cnt = !v ? 0 : v->kind == Y_SCALAR ? 1 : v->kind == Y_SEQ ? v->n : 0;
	bool ok = true;

	for (size_t i = 0; i < cnt; i++) {
		const struct ynode *e = v->kind == Y_SCALAR ? v : ykid(v)[i];
		struct rl any = { 0 };
		bool known;

		if (e->kind != Y_SCALAR || port_scalar(l, e, e->s, pm, out, false, PCTX_SET))
			continue;
		known = port_scalar(l, e, e->s, PM_TCP | PM_UDP, &any, false, PCTX_SET);
		rl_free(&any);
		if (!known)
			continue;
		ok = false;
		if (report)
			diag_error(l->d, n->pos, "unknown service '%s' for %s, in set '$%s' (line %u)",
				   e->s, pm_name(pm), set->name, (unsigned)e->pos.line);
	}
	return ok;
}

/*
 * The set "$name" S stands for, where a set may stand (not inside a set),
 * holding what the field needs (not WRONG); NULL after a diagnostic.
 */
static struct lset *set_ref(struct ld *l, const struct ynode *n, const char *s, bool report,
			    enum pctx ctx, enum setkind wrong)
{
	struct lset *set;

	if (ctx == PCTX_SET) {
		if (report)
			diag_error(l->d, n->pos, "'%s': sets cannot reference other sets", s);
		return NULL;
	}
	set = find_set(l, n, s + 1);
	if (!set)
		return NULL;
	l->taint |= set->bad;
	if (set->kind == wrong) {
		diag_error(l->d, n->pos, wrong == SET_ADDRS ? "'%s' is a set of addresses, used as ports" :
			   "'%s' is a set of ports, used as addresses", s);
		return NULL;
	}
	return set;
}

static bool port_set_ref(struct ld *l, const struct ynode *n, const char *s, unsigned pm,
			 struct rl *out, bool report, enum pctx ctx)
{
	struct lset *set = set_ref(l, n, s, report, ctx, SET_ADDRS);

	return set && set_ports_for(l, n, set, pm, out, report);
}

/* One port element, not a list: number, range, comparison, service, $set, !x. */
bool port_scalar(struct ld *l, const struct ynode *n, const char *s, unsigned pm,
		 struct rl *out, bool report, enum pctx ctx)
{
	const char *dash;
	uint32_t lo, hi;

	if (!s[0]) {
		if (report)
			diag_error(l->d, n->pos, "invalid port '%s'", n->s);
		return false;
	}
	if (s[0] == '!') {
		struct rl tmp = { 0 };
		bool ok = s[1] != '!' && port_scalar(l, n, s + 1, pm, &tmp, report, ctx);

		if (s[1] == '!' && report)
			diag_error(l->d, n->pos, "invalid port '%s'", s);
		rl_complement(&tmp, PORT_MAX);
		if (ok)
			rl_union(out, &tmp);
		rl_free(&tmp);
		return ok;
	}
	if (s[0] == '$')
		return port_set_ref(l, n, s, pm, out, report, ctx);
	if (s[0] == '>' || s[0] == '<')
		return port_cmp(l, n, s, out, report);
	if (s[0] < '0' || s[0] > '9')
		return port_service(l, n, s, pm, out, report, ctx);
	dash = strpbrk(s, "-:");
	if (!dash) {
		if (!port_num(l, n, s, s + strlen(s), &lo, report))
			return false;
		rl_add(out, lo, lo);
		return true;
	}
	if (!port_num(l, n, s, dash, &lo, report) ||
	    !port_num(l, n, dash + 1, dash + 1 + strlen(dash + 1), &hi, report))
		return false;
	if (lo > hi) {
		if (report)
			diag_error(l->d, n->pos, "range %s is reversed", s);
		return false;
	}
	rl_add(out, lo, hi);
	return true;
}

/* ---- addresses -------------------------------------------------------- */

/* "ADDR" or "ADDR/PREFIX" into lo..hi; returns family or 0 (reported). */
static int parse_cidr(struct ld *l, const struct ynode *n, const char *s, fwd_u128 *lo,
		      fwd_u128 *hi, bool report)
{
	char host[INET6_ADDRSTRLEN + 8], net[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	uint64_t plen;
	fwd_u128 a, mask;
	int fam, bits;

	if (hl >= sizeof(host))
		goto bad;
	memcpy(host, s, hl);
	host[hl] = '\0';
	fam = addr_parse(host, &a);
	if (!fam)
		goto bad;
	bits = fam == 4 ? 32 : 128;
	plen = (uint64_t)bits;
	if (slash && !parse_uint(slash + 1, 255, &plen))
		goto bad;
	if (plen > (uint64_t)bits) {
		if (report)
			diag_error(l->d, n->pos, "prefix length /%u of '%s' is above %d",
				   (unsigned)plen, s, bits);
		return 0;
	}
	if (plen == 128 && addr_unmap(fam, &a, NULL) == 4) {
		fam = 4;
		bits = 32;
		plen = 32;
	}
	/* A shift by the full 128 bits is undefined: ::/0 is spelled out. */
	mask = plen == (uint64_t)bits ? 0 : plen == 0 ? ~(fwd_u128)0 >> (128 - bits) :
	       ((fwd_u128)1 << (bits - plen)) - 1;
	if (a & mask) {
		addr_format(net, sizeof(net), (unsigned)fam, a & ~mask);
		if (report)
			diag_error(l->d, n->pos,
				   "%s has host bits set; the network is %s/%u", s, net,
				   (unsigned)plen);
		return 0;
	}
	*lo = a;
	*hi = a | mask;
	return fam;
bad:
	if (report)
		diag_error(l->d, n->pos, "invalid address '%s'", s);
	return 0;
}

static bool addr_set_ref(struct ld *l, const struct ynode *n, const char *s, struct rl *v4,
			 struct rl *v6, bool report, enum pctx ctx)
{
	struct lset *set = set_ref(l, n, s, report, ctx, SET_PORTS);

	if (!set)
		return false;
	rl_union(v4, &set->v4);
	rl_union(v6, &set->v6);
	return true;
}

/*
 * One address element. "!x" complements WITHIN each family x names:
 * "!10.0.0.0/8" matches every IPv4 address outside 10/8 and no IPv6 address,
 * because an IPv4 rule is never meant to open the door to all of IPv6.
 */
bool addr_scalar(struct ld *l, const struct ynode *n, const char *s, struct rl *v4,
		 struct rl *v6, bool report, enum pctx ctx)
{
	fwd_u128 lo, hi;
	int fam;

	if (s[0] == '!') {
		struct rl t4 = { 0 }, t6 = { 0 };
		bool ok = s[1] != '!' && addr_scalar(l, n, s + 1, &t4, &t6, report, ctx);

		if (s[1] == '!' && report)
			diag_error(l->d, n->pos, "invalid address '%s'", s);
		if (ok && t4.n) {
			rl_complement(&t4, V4_MAX);
			rl_union(v4, &t4);
		}
		if (ok && t6.n) {
			rl_complement(&t6, V6_MAX);
			rl_union(v6, &t6);
		}
		rl_free(&t4);
		rl_free(&t6);
		return ok;
	}
	if (s[0] == '$')
		return addr_set_ref(l, n, s, v4, v6, report, ctx);
	fam = parse_cidr(l, n, s, &lo, &hi, report);
	if (fam == 4)
		rl_add(v4, lo, hi);
	else if (fam == 6)
		rl_add(v6, lo, hi);
	return fam != 0;
}

/* ---- the rules' memory ------------------------------------------------ */

/*
 * Chunks of CHUNK_SIZE bytes, bump-allocated: a calloc() of a rule's one
 * port range took 32 bytes of heap for 8, and 100,000 rules hold two or
 * three such lists each. A list too long for a chunk gets one of its own,
 * kept behind the chunk being filled.
 */
#define CHUNK_SIZE	(64u << 10)

struct fwd_chunk {
	struct fwd_chunk *next;
	size_t size, used;
	_Alignas(16) unsigned char data[];
};

void *chunk_alloc(struct fwd_chunk **mem, size_t n, size_t size)
{
	struct fwd_chunk *c = *mem;
	size_t align = size % 16 ? 8 : 16, at, cap;

	if (!n || n > (SIZE_MAX - CHUNK_SIZE) / size)
		return NULL;
	size *= n;
	at = c ? (c->used + align - 1) & ~(align - 1) : 0;
	if (!LOAD_EXACT && c && at + size <= c->size) {
		c->used = at + size;
		return memset(c->data + at, 0, size);
	}
	cap = LOAD_EXACT || size > CHUNK_SIZE / 4 ? size : CHUNK_SIZE;
	c = malloc(sizeof(*c) + cap);
	if (!c)
		return NULL;
	c->size = cap;
	c->used = size;
	if (cap == CHUNK_SIZE || !*mem) {
		c->next = *mem;
		*mem = c;
	} else {
		c->next = (*mem)->next;
		(*mem)->next = c;
	}
	return memset(c->data, 0, size);
}

void chunks_free(struct fwd_chunk **mem)
{
	for (struct fwd_chunk *c = *mem, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	*mem = NULL;
}

/* ---- conversion to the config's types --------------------------------- */

/*
 * N ranges of SIZE bytes, zeroed; NULL for none, so that 100,000 rules of one
 * IPv4 source each hold no empty IPv6 list.
 */
static void *ranges_alloc(struct ld *l, struct fwd_chunk **mem, size_t n, size_t size)
{
	void *p = !n ? NULL : mem ? chunk_alloc(mem, n, size) : calloc(n, size);

	l->oom |= n && !p;
	return p;
}

void to_portset(struct ld *l, struct fwd_chunk **mem, struct rl *r, struct fwd_portset *ps)
{
	rl_norm(r);
	l->oom |= r->oom;
	ps->n = 0;
	ps->r = ranges_alloc(l, mem, r->n, sizeof(*ps->r));
	if (r->n && !ps->r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		ps->r[i].lo = (uint32_t)r->r[i].lo;
		ps->r[i].hi = (uint32_t)r->r[i].hi;
	}
	ps->n = (uint32_t)r->n;
}

void to_addrset(struct ld *l, struct fwd_chunk **mem, struct rl *v4, struct rl *v6,
		struct fwd_addrset *as)
{
	rl_norm(v4);
	rl_norm(v6);
	l->oom |= v4->oom || v6->oom;
	as->v4 = ranges_alloc(l, mem, v4->n, sizeof(*as->v4));
	as->v6 = ranges_alloc(l, mem, v6->n, sizeof(*as->v6));
	if ((v4->n && !as->v4) || (v6->n && !as->v6))
		return;
	for (size_t i = 0; i < v4->n; i++) {
		as->v4[i].lo = (uint32_t)v4->r[i].lo;
		as->v4[i].hi = (uint32_t)v4->r[i].hi;
	}
	for (size_t i = 0; i < v6->n; i++) {
		as->v6[i].lo = v6->r[i].lo;
		as->v6[i].hi = v6->r[i].hi;
	}
	as->n4 = (uint32_t)v4->n;
	as->n6 = (uint32_t)v6->n;
}

bool daemon_uint(struct ld *l, const struct ynode *v, const char *what, uint64_t lo,
		 uint64_t hi, uint32_t *out)
{
	uint64_t x;

	if (!want_scalar(l, v, what))
		return false;
	if (!parse_uint(v->s, hi, &x) || x < lo) {
		diag_error(l->d, v->pos, "invalid %s '%s'; expected a number from %llu to %llu",
			   what, v->s, (unsigned long long)lo, (unsigned long long)hi);
		return false;
	}
	*out = (uint32_t)x;
	return true;
}

/* Index of the dynamic set NAME (without '$'), or -1. */
int find_dynset(const struct fwd_config *c, const char *name)
{
	for (uint32_t i = 0; i < c->ndynsets; i++)
		if (!strcmp(c->dynsets[i].name, name))
			return (int)i;
	return -1;
}

/*
 * Index of V in the NULL-terminated NAMES, or -1 (reported). The message's
 * "expected one of" is EXPECTED, or when NULL the list NAMES itself.
 */
int pick(struct ld *l, const struct ynode *v, const char *what,
	 const char *const *names, const char *expected)
{
	char list[512], hint[NEAR_HINT_MAX];

	if (!want_scalar(l, v, what))
		return -1;
	for (int i = 0; names[i]; i++)
		if (!strcmp(v->s, names[i]))
			return i;
	if (!expected) {
		names_list(names, list, sizeof(list));
		expected = list;
	}
	diag_error(l->d, v->pos, "invalid %s '%s'; expected one of: %s%s", what, v->s, expected,
		   names_hint(names, v->s, hint, sizeof(hint)));
	return -1;
}

/* "ADDR:PORT", "ADDR", "[V6]:PORT", "[V6]" or a bare IPv6 address. */
bool parse_target(const char *s, struct fwd_target *t)
{
	uint32_t port;
	int fam = endpoint_parse(s, &t->addr, &port);

	if (!fam || port == 0)
		return false;
	t->family = (uint8_t)fam;
	t->port = port == FWD_NOPORT ? 0 : (uint16_t)port;
	return true;
}
