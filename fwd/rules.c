// SPDX-License-Identifier: MIT
/*
 * rules.c - YAML rules file -> checked struct fwd_config (DESIGN.md section 3).
 *
 * Two passes. First libyaml's event API builds a small node tree in which
 * every node keeps its line and column; anything YAML allows but a rules file
 * has no use for (anchors, aliases, tags, several documents) is rejected
 * there, and the tree is bounded in depth, node count and scalar length so a
 * hostile file cannot make us allocate without limit. Then the schema pass
 * walks the tree, records every problem it finds with its position, and
 * normalises each match field to sorted, disjoint, inclusive ranges.
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
#include "fwd/icmp.h"

#define Y_DEPTH_MAX	32
#define Y_NODES_MAX	1000000u
#define Y_SCALAR_MAX	4096u

#define V4_MAX		((fwd_u128)0xffffffffu)
#define V6_MAX		(~(fwd_u128)0)
#define PORT_MAX	65535u

/* ---- the node tree ---------------------------------------------------- */

enum ykind { Y_SCALAR, Y_SEQ, Y_MAP };

struct ynode {
	enum ykind kind;
	struct fwd_pos pos;
	char *s;		/* scalar text, NUL-terminated */
	size_t n, cap;		/* children; a map holds key, value, key, value... */
	struct ynode **kid;
};

struct ybuild {
	struct fwd_diags *d;
	struct ynode *stack[Y_DEPTH_MAX];
	int depth;
	size_t nodes;
	struct ynode *root;
	bool fatal;
};

static void ynode_free(struct ynode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		ynode_free(n->kid[i]);
	free(n->kid);
	free(n->s);
	free(n);
}

static struct fwd_pos mark_pos(yaml_mark_t m)
{
	struct fwd_pos p = { (uint32_t)m.line + 1, (uint32_t)m.column + 1 };

	return p;
}

static int key_cmp(const void *a, const void *b)
{
	const struct ynode *x = *(struct ynode *const *)a;
	const struct ynode *y = *(struct ynode *const *)b;
	int c = strcmp(x->s, y->s);

	if (c)
		return c;
	if (x->pos.line != y->pos.line)
		return x->pos.line < y->pos.line ? -1 : 1;
	return x->pos.col < y->pos.col ? -1 : x->pos.col > y->pos.col;
}

/* Sort a copy of the keys so a map of many keys costs n log n, not n^2. */
static void check_dup_keys(struct ybuild *b, const struct ynode *map)
{
	size_t nk = 0, i;
	struct ynode **k;

	if (map->n < 4)
		return;
	k = malloc(map->n / 2 * sizeof(*k));
	if (!k) {
		diag_error(b->d, map->pos, "out of memory");
		return;
	}
	for (i = 0; i + 1 < map->n; i += 2)
		if (map->kid[i]->kind == Y_SCALAR)
			k[nk++] = map->kid[i];
	qsort(k, nk, sizeof(*k), key_cmp);
	for (i = 1; i < nk; i++)
		if (!strcmp(k[i - 1]->s, k[i]->s))
			diag_error(b->d, k[i]->pos, "duplicate key '%s' (first at line %u)",
				   k[i]->s, k[i - 1]->pos.line);
	free(k);
}

static bool yattach(struct ybuild *b, struct ynode *n)
{
	struct ynode *p;

	if (b->depth == 0) {
		if (b->root) {
			ynode_free(n);
			return false;
		}
		b->root = n;
		return true;
	}
	p = b->stack[b->depth - 1];
	if (p->kind == Y_MAP && p->n % 2 == 0 && n->kind != Y_SCALAR)
		diag_error(b->d, n->pos, "mapping keys must be scalars");
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 4;
		struct ynode **k = realloc(p->kid, cap * sizeof(*k));

		if (!k) {
			ynode_free(n);
			return false;
		}
		p->kid = k;
		p->cap = cap;
	}
	p->kid[p->n++] = n;
	return true;
}

static struct ynode *ynew(struct ybuild *b, enum ykind kind, yaml_mark_t m)
{
	struct ynode *n;

	if (++b->nodes > Y_NODES_MAX) {
		diag_error(b->d, mark_pos(m), "more than %u nodes; the file is too large",
			   Y_NODES_MAX);
		b->fatal = true;
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		diag_error(b->d, mark_pos(m), "out of memory");
		b->fatal = true;
		return NULL;
	}
	n->kind = kind;
	n->pos = mark_pos(m);
	return n;
}

/* Anchors and tags are legal YAML but have no meaning in a rules file. */
static void check_anchor_tag(struct ybuild *b, yaml_mark_t m, const yaml_char_t *anchor,
			     const yaml_char_t *tag)
{
	if (anchor)
		diag_error(b->d, mark_pos(m), "anchors and aliases are not allowed ('&%s')",
			   (const char *)anchor);
	/* Fatal: the value behind a tag would only produce a confusing second error. */
	if (tag) {
		diag_error(b->d, mark_pos(m),
			   "tags are not allowed ('%s'); quote a value that starts with '!', as in \"!22\"",
			   (const char *)tag);
		b->fatal = true;
	}
}

static void yscalar(struct ybuild *b, const yaml_event_t *ev)
{
	struct ynode *n;

	check_anchor_tag(b, ev->start_mark, ev->data.scalar.anchor, ev->data.scalar.tag);
	if (b->fatal)
		return;
	if (ev->data.scalar.length > Y_SCALAR_MAX) {
		diag_error(b->d, mark_pos(ev->start_mark),
			   "value of %zu bytes is longer than %u", ev->data.scalar.length,
			   Y_SCALAR_MAX);
		b->fatal = true;
		return;
	}
	n = ynew(b, Y_SCALAR, ev->start_mark);
	if (!n)
		return;
	n->s = malloc(ev->data.scalar.length + 1);
	if (!n->s) {
		free(n);
		b->fatal = true;
		return;
	}
	memcpy(n->s, ev->data.scalar.value, ev->data.scalar.length);
	n->s[ev->data.scalar.length] = '\0';
	if (strlen(n->s) != ev->data.scalar.length)
		diag_error(b->d, n->pos, "value contains a NUL byte");
	if (!yattach(b, n))
		b->fatal = true;
}

static void ystart(struct ybuild *b, const yaml_event_t *ev, enum ykind kind)
{
	struct ynode *n;

	if (kind == Y_SEQ)
		check_anchor_tag(b, ev->start_mark, ev->data.sequence_start.anchor,
				 ev->data.sequence_start.tag);
	else
		check_anchor_tag(b, ev->start_mark, ev->data.mapping_start.anchor,
				 ev->data.mapping_start.tag);
	if (b->fatal)
		return;
	if (b->depth >= Y_DEPTH_MAX) {
		diag_error(b->d, mark_pos(ev->start_mark), "nesting deeper than %d levels",
			   Y_DEPTH_MAX);
		b->fatal = true;
		return;
	}
	n = ynew(b, kind, ev->start_mark);
	if (!n)
		return;
	if (!yattach(b, n)) {
		b->fatal = true;
		return;
	}
	b->stack[b->depth++] = n;
}

static void yend(struct ybuild *b)
{
	struct ynode *n;

	if (b->depth == 0)
		return;
	n = b->stack[--b->depth];
	if (n->kind == Y_MAP)
		check_dup_keys(b, n);
}

static void ysyntax(struct ybuild *b, const yaml_parser_t *p)
{
	struct fwd_pos pos = mark_pos(p->problem_mark);

	if (p->error == YAML_MEMORY_ERROR)
		diag_error(b->d, pos, "out of memory");
	else if (p->context)
		diag_error(b->d, pos, "YAML syntax error: %s (%s at line %u)", p->problem,
			   p->context, (unsigned)p->context_mark.line + 1);
	else
		diag_error(b->d, pos, "YAML syntax error: %s",
			   p->problem ? p->problem : "unknown problem");
	b->fatal = true;
}

/* Returns true when the stream ended; handles one event. */
static bool yevent(struct ybuild *b, const yaml_event_t *ev, unsigned *docs)
{
	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		return true;
	case YAML_DOCUMENT_START_EVENT:
		if (++*docs > 1) {
			diag_error(b->d, mark_pos(ev->start_mark),
				   "a second YAML document; a rules file holds exactly one");
			b->fatal = true;
		}
		break;
	case YAML_ALIAS_EVENT:
		diag_error(b->d, mark_pos(ev->start_mark),
			   "anchors and aliases are not allowed ('*%s')",
			   (const char *)ev->data.alias.anchor);
		b->fatal = true;
		break;
	case YAML_SCALAR_EVENT:
		yscalar(b, ev);
		break;
	case YAML_SEQUENCE_START_EVENT:
		ystart(b, ev, Y_SEQ);
		break;
	case YAML_MAPPING_START_EVENT:
		ystart(b, ev, Y_MAP);
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		yend(b);
		break;
	default:
		break;
	}
	return false;
}

/* Build the tree of BUF, or return NULL with the reason recorded. */
static struct ynode *ytree(const char *buf, size_t len, struct fwd_diags *d)
{
	struct ybuild b = { .d = d };
	yaml_parser_t p;
	yaml_event_t ev;
	unsigned docs = 0;
	bool done = false;

	if (!yaml_parser_initialize(&p)) {
		diag_error(d, (struct fwd_pos){ 0, 0 }, "out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (!done && !b.fatal) {
		if (!yaml_parser_parse(&p, &ev)) {
			ysyntax(&b, &p);
			break;
		}
		done = yevent(&b, &ev, &docs);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	if (b.fatal) {
		ynode_free(b.root);
		return NULL;
	}
	if (!b.root)
		diag_error(d, (struct fwd_pos){ 1, 1 }, "no document; the file is empty");
	return b.root;
}

/* ---- ranges ----------------------------------------------------------- */

struct r128 {
	fwd_u128 lo, hi;
};

struct rl {
	size_t n, cap;
	struct r128 *r;
	bool oom;
};

static void rl_add(struct rl *l, fwd_u128 lo, fwd_u128 hi)
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

static void rl_free(struct rl *l)
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

enum setkind { SET_UNKNOWN, SET_PORTS, SET_ADDRS };

/* A named set; ports are resolved once per protocol mask (1 tcp, 2 udp, 3 both). */
struct lset {
	const char *name;
	struct fwd_pos pos;
	enum setkind kind;
	const struct ynode *val;	/* its elements: a scalar or a list */
	struct rl ports[4];
	struct rl v4, v6;
};

struct ld {
	struct fwd_diags *d;
	struct fwd_config *c;
	struct lset *sets;
	size_t nsets;
	bool oom;
};

#define PM_TCP	1u
#define PM_UDP	2u

static const char *kind_name(const struct ynode *n)
{
	return n->kind == Y_MAP ? "a mapping" : n->kind == Y_SEQ ? "a list" : "a scalar";
}

static bool want_scalar(struct ld *l, const struct ynode *n, const char *what)
{
	if (n->kind == Y_SCALAR)
		return true;
	diag_error(l->d, n->pos, "%s must be a single value, not %s", what, kind_name(n));
	return false;
}

static bool want_map(struct ld *l, const struct ynode *n, const char *what)
{
	if (n->kind == Y_MAP)
		return true;
	diag_error(l->d, n->pos, "%s must be a mapping, not %s", what, kind_name(n));
	return false;
}

/* Strict decimal: digits only, at most MAX. Sets *big when it is above MAX. */
static bool parse_dec(const char *s, const char *end, uint64_t max, uint64_t *out, bool *big)
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

static bool parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	bool big;

	return parse_dec(s, s + strlen(s), max, out, &big);
}

/* Look up "NAME" of "$NAME"; reports an unknown set at N. */
static struct lset *find_set(struct ld *l, const struct ynode *n, const char *name)
{
	for (size_t i = 0; i < l->nsets; i++)
		if (!strcmp(l->sets[i].name, name))
			return &l->sets[i];
	diag_error(l->d, n->pos, "unknown set '$%s'", name);
	return NULL;
}

static bool name_ok(const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len == 0 || len > max)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == len;
}

/* ---- ports ------------------------------------------------------------ */

enum pctx { PCTX_RULE, PCTX_SET };

static const char *pm_name(unsigned pm)
{
	return pm == PM_TCP ? "tcp" : pm == PM_UDP ? "udp" : "tcp or udp";
}

static bool port_service(struct ld *l, const struct ynode *n, const char *s, unsigned pm,
			 struct rl *out, bool report, enum pctx ctx)
{
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
		diag_error(l->d, n->pos, "'%s' is neither a port, a known service nor an address", s);
	else
		diag_error(l->d, n->pos, "unknown service '%s' for %s", s, pm_name(pm));
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

static bool port_scalar(struct ld *l, const struct ynode *n, const char *s, unsigned pm,
			struct rl *out, bool report, enum pctx ctx);

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
		const struct ynode *e = v->kind == Y_SCALAR ? v : v->kid[i];
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

static bool port_set_ref(struct ld *l, const struct ynode *n, const char *s, unsigned pm,
			 struct rl *out, bool report, enum pctx ctx)
{
	struct lset *set;

	if (ctx == PCTX_SET) {
		if (report)
			diag_error(l->d, n->pos, "'%s': sets cannot reference other sets", s);
		return false;
	}
	set = find_set(l, n, s + 1);
	if (!set)
		return false;
	if (set->kind == SET_ADDRS) {
		diag_error(l->d, n->pos, "'%s' is a set of addresses, used as ports", s);
		return false;
	}
	return set_ports_for(l, n, set, pm, out, report);
}

/* One port element, not a list: number, range, comparison, service, $set, !x. */
static bool port_scalar(struct ld *l, const struct ynode *n, const char *s, unsigned pm,
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

static fwd_u128 bytes_to_u128(const unsigned char *b, int nbytes)
{
	fwd_u128 v = 0;

	for (int i = 0; i < nbytes; i++)
		v = v << 8 | b[i];
	return v;
}

static void u128_to_text(int family, fwd_u128 v, char *out, size_t outlen)
{
	unsigned char b[16];
	int nbytes = family == 4 ? 4 : 16;

	for (int i = nbytes - 1; i >= 0; i--) {
		b[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
	inet_ntop(family == 4 ? AF_INET : AF_INET6, b, out, (socklen_t)outlen);
}

int addr_parse(const char *s, fwd_u128 *a)
{
	unsigned char b[16];

	if (inet_pton(AF_INET, s, b) == 1) {
		*a = bytes_to_u128(b, 4);
		return 4;
	}
	if (inet_pton(AF_INET6, s, b) == 1) {
		*a = bytes_to_u128(b, 16);
		return 6;
	}
	return 0;
}

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
	/* A shift by the full 128 bits is undefined: ::/0 is spelled out. */
	mask = plen == (uint64_t)bits ? 0 : plen == 0 ? ~(fwd_u128)0 >> (128 - bits) :
	       ((fwd_u128)1 << (bits - plen)) - 1;
	if (a & mask) {
		u128_to_text(fam, a & ~mask, net, sizeof(net));
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
	struct lset *set;

	if (ctx == PCTX_SET) {
		if (report)
			diag_error(l->d, n->pos, "'%s': sets cannot reference other sets", s);
		return false;
	}
	set = find_set(l, n, s + 1);
	if (!set)
		return false;
	if (set->kind == SET_PORTS) {
		diag_error(l->d, n->pos, "'%s' is a set of ports, used as addresses", s);
		return false;
	}
	rl_union(v4, &set->v4);
	rl_union(v6, &set->v6);
	return true;
}

/*
 * One address element. "!x" complements WITHIN each family x names:
 * "!10.0.0.0/8" matches every IPv4 address outside 10/8 and no IPv6 address,
 * because an IPv4 rule is never meant to open the door to all of IPv6.
 */
static bool addr_scalar(struct ld *l, const struct ynode *n, const char *s, struct rl *v4,
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
			diag_error(l->d, v->pos, "set '%s' must be a list or a single value",
				   k->s);
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

/* ---- conversion to the config's types --------------------------------- */

static void to_portset(struct ld *l, struct rl *r, struct fwd_portset *ps)
{
	rl_norm(r);
	l->oom |= r->oom;
	ps->n = 0;
	ps->r = calloc(r->n + 1, sizeof(*ps->r));
	if (!ps->r) {
		l->oom = true;
		return;
	}
	for (size_t i = 0; i < r->n; i++) {
		ps->r[i].lo = (uint32_t)r->r[i].lo;
		ps->r[i].hi = (uint32_t)r->r[i].hi;
	}
	ps->n = (uint32_t)r->n;
}

static void to_addrset(struct ld *l, struct rl *v4, struct rl *v6, struct fwd_addrset *as)
{
	rl_norm(v4);
	rl_norm(v6);
	l->oom |= v4->oom || v6->oom;
	as->v4 = calloc(v4->n + 1, sizeof(*as->v4));
	as->v6 = calloc(v6->n + 1, sizeof(*as->v6));
	if (!as->v4 || !as->v6) {
		l->oom = true;
		return;
	}
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

/* ---- rules ------------------------------------------------------------ */

/* Index of V in the NULL-terminated NAMES, or -1 (reported). */
static int pick(struct ld *l, const struct ynode *v, const char *what,
		const char *const *names, const char *expected)
{
	if (!want_scalar(l, v, what))
		return -1;
	for (int i = 0; names[i]; i++)
		if (!strcmp(v->s, names[i]))
			return i;
	diag_error(l->d, v->pos, "invalid %s '%s'; expected one of: %s", what, v->s, expected);
	return -1;
}


static const char *const rule_keys[] = {
	"name", "proto", "src", "dst", "sport", "dport", "in", "action", "to", "log", "comment",
	"limit", "on_exceed", "icmp_type",
};
enum { RK_NAME, RK_PROTO, RK_SRC, RK_DST, RK_SPORT, RK_DPORT, RK_IN, RK_ACTION, RK_TO,
       RK_LOG, RK_COMMENT, RK_LIMIT, RK_ON_EXCEED, RK_ICMP, RK_N };

struct rctx {
	struct fwd_rule *r;
	const struct ynode *f[RK_N];
	const char *label;	/* "rule 'web'" or "rule 3" */
	char labelbuf[FWD_NAME_MAX + 32];
	bool bad_proto;
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
		if (v->kid[i]->kind != Y_SCALAR) {
			diag_error(l->d, v->kid[i]->pos, "%s: elements must be single values, not %s",
				   key, kind_name(v->kid[i]));
			return false;
		}
	*items = (const struct ynode *const *)v->kid;
	*n = v->n;
	return true;
}

static int proto_num(const char *s)
{
	static const struct { const char *name; int num; } p[] = {
		{ "tcp", 6 }, { "udp", 17 }, { "icmp", 1 }, { "icmpv6", 58 }, { "any", -1 },
	};

	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++)
		if (!strcmp(s, p[i].name))
			return p[i].num;
	return -2;
}

static bool proto_elem(struct ld *l, const struct ynode *n, uint8_t bits[32])
{
	const char *s = n->s + (n->s[0] == '!');
	int p = proto_num(s);

	if (p == -2) {
		diag_error(l->d, n->pos,
			   "unknown protocol '%s'; expected one of: tcp, udp, icmp, icmpv6, any",
			   n->s);
		return false;
	}
	if (n->s[0] == '!') {
		uint8_t t[32];

		memset(t, p == -1 ? 0 : 0xff, sizeof(t));
		if (p >= 0)
			t[p / 8] &= (uint8_t)~(1u << (p % 8));
		for (int i = 0; i < 32; i++)
			bits[i] |= t[i];
	} else if (p == -1) {
		memset(bits, 0xff, 32);
	} else {
		bits[p / 8] |= (uint8_t)(1u << (p % 8));
	}
	return true;
}

static void rule_proto(struct ld *l, struct rctx *x)
{
	const struct ynode *const *it;
	size_t n;
	uint8_t bits[32] = { 0 };

	memset(x->r->protos, 0xff, sizeof(x->r->protos));
	if (!x->f[RK_PROTO])
		return;
	x->bad_proto = true;
	if (!field_items(l, &x->f[RK_PROTO], "proto", &it, &n))
		return;
	for (size_t i = 0; i < n; i++)
		if (!proto_elem(l, it[i], bits))
			return;
	memcpy(x->r->protos, bits, sizeof(bits));
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
	unsigned pm = (has_proto(x->r, 6) ? PM_TCP : 0) | (has_proto(x->r, 17) ? PM_UDP : 0);
	struct rl r = { 0 };
	bool ok = true;
	size_t n;

	if (!v)
		return;
	if (!field_items(l, &x->f[key], rule_keys[key], &it, &n))
		return;
	if (!pm) {
		if (!x->bad_proto)
			diag_error(l->d, v->pos,
				   "%s: in %s, whose protocols carry no ports; ports need proto tcp or udp",
				   rule_keys[key], x->label);
		return;
	}
	for (size_t i = 0; i < n; i++)
		ok &= port_scalar(l, it[i], it[i]->s, pm, &r, true, PCTX_RULE);
	if (ok) {
		to_portset(l, &r, ps);
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
	struct rl tmp = { 0 };
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
	rl_add(&tmp, lo, hi);
	if (n->s[0] == '!')
		rl_complement(&tmp, 65535);
	for (size_t i = 0; i < tmp.n; i++)
		rl_add(out, base + tmp.r[i].lo, base + tmp.r[i].hi);
	out->oom |= tmp.oom;
	rl_free(&tmp);
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
		to_portset(l, &r, &x->r->sport);
		x->r->present |= FWD_F_SPORT | FWD_F_ICMP;
	}
	rl_free(&r);
}

/* Index of the dynamic set NAME (without '$'), or -1. */
static int find_dynset(const struct fwd_config *c, const char *name)
{
	for (uint32_t i = 0; i < c->ndynsets; i++)
		if (!strcmp(c->dynsets[i].name, name))
			return (int)i;
	return -1;
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
			if (v->kid[j]->kind == Y_SCALAR && v->kid[j]->s[0] == '$' &&
			    find_dynset(l->c, v->kid[j]->s + 1) >= 0) {
				diag_error(l->d, v->kid[j]->pos,
					   "dynamic set '%s' must stand alone in src:, not in a list",
					   v->kid[j]->s);
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
	if (!field_items(l, &x->f[key], rule_keys[key], &it, &n))
		return;
	for (size_t i = 0; i < n; i++)
		ok &= addr_scalar(l, it[i], it[i]->s, &v4, &v6, true, PCTX_RULE);
	if (ok) {
		to_addrset(l, &v4, &v6, as);
		x->r->present |= bit;
	}
	rl_free(&v4);
	rl_free(&v6);
}

static bool if_elem(struct ld *l, const struct ynode *n, struct fwd_ifpat *p)
{
	const char *s = n->s;
	size_t len;

	p->neg = s[0] == '!';
	s += p->neg;
	len = strlen(s);
	p->prefix = len > 0 && s[len - 1] == '+';
	len -= p->prefix;
	if (len >= FWD_IFNAMSIZ) {
		diag_error(l->d, n->pos, "interface name '%s' is longer than %d characters", n->s,
			   FWD_IFNAMSIZ - 1);
		return false;
	}
	if ((len == 0 && !p->prefix) || strcspn(s, "/: \t$!+") < len) {
		diag_error(l->d, n->pos, "invalid interface name '%s'", n->s);
		return false;
	}
	memcpy(p->name, s, len);
	p->name[len] = '\0';
	return true;
}

static void rule_in(struct ld *l, struct rctx *x)
{
	const struct ynode *const *it;
	size_t n;
	bool ok = true;

	if (!x->f[RK_IN] || !field_items(l, &x->f[RK_IN], "in", &it, &n))
		return;
	x->r->in.p = calloc(n, sizeof(*x->r->in.p));
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

/* "ADDR:PORT", "ADDR", "[V6]:PORT", "[V6]" or a bare IPv6 address. */
static bool parse_target(const char *s, struct fwd_target *t)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *port = NULL, *colon;
	bool bracket = s[0] == '[';
	size_t hl;
	uint64_t p = 0;
	int fam;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || (rb[1] && rb[1] != ':'))
			return false;
		hl = (size_t)(rb - s - 1);
		s++;
		port = rb[1] ? rb + 2 : NULL;
	} else {
		colon = strchr(s, ':');
		if (colon && !strchr(colon + 1, ':')) {
			hl = (size_t)(colon - s);
			port = colon + 1;
		} else {
			hl = strlen(s);
		}
	}
	if (hl >= sizeof(host))
		return false;
	memcpy(host, s, hl);
	host[hl] = '\0';
	fam = addr_parse(host, &t->addr);
	if (!fam || (bracket && fam != 6))
		return false;
	if (port && (!parse_uint(port, PORT_MAX, &p) || p == 0))
		return false;
	t->family = (uint8_t)fam;
	t->port = (uint16_t)p;
	return true;
}

/*
 * A forward rule only matches packets of its target's family: the nat table
 * of one family cannot DNAT a packet to an address of the other.
 */
static void forward_family(struct ld *l, struct rctx *x)
{
	struct fwd_rule *r = x->r;
	bool v4 = r->to.family == 4;

	if (!(r->present & FWD_F_SRC)) {
		free(r->src.v4);
		free(r->src.v6);
		memset(&r->src, 0, sizeof(r->src));
		r->src.v4 = calloc(1, sizeof(*r->src.v4));
		r->src.v6 = calloc(1, sizeof(*r->src.v6));
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
	if (v4)
		r->src.n6 = 0;
	else
		r->src.n4 = 0;
	if (r->src.n4 + r->src.n6 == 0)
		diag_error(l->d, x->f[RK_SRC]->pos,
			   "src: of %s has no IPv%d address, but to: is IPv%d; the rule could never match",
			   x->label, v4 ? 4 : 6, v4 ? 4 : 6);
	if (r->present & FWD_F_DST) {
		if (v4)
			r->dst.n6 = 0;
		else
			r->dst.n4 = 0;
		if (r->dst.n4 + r->dst.n6 == 0)
			diag_error(l->d, x->f[RK_DST]->pos,
				   "dst: of %s has no IPv%d address, but to: is IPv%d; the rule could never match",
				   x->label, v4 ? 4 : 6, v4 ? 4 : 6);
	}
}

static void rule_action(struct ld *l, struct rctx *x, const struct ynode *item)
{
	static const char *const actions[] = { "allow", "drop", "forward", "reject", NULL };
	const struct ynode *a = x->f[RK_ACTION], *to = x->f[RK_TO];
	int act = -1;

	if (!a)
		diag_error(l->d, item->pos, "%s has no action:; expected one of: allow, drop, forward, reject",
			   x->label);
	else
		act = pick(l, a, "action", actions, "allow, drop, forward, reject");
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
	if (!parse_target(to->s, &x->r->to)) {
		diag_error(l->d, to->pos,
			   "invalid target '%s'; expected ADDR:PORT, ADDR, [V6]:PORT or [V6]", to->s);
		return;
	}
	forward_family(l, x);
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
	strcpy(x->r->name, v->s);
	for (uint32_t i = 0; i < idx; i++)
		if (!strcmp(l->c->rules[i].name, v->s))
			diag_error(l->d, v->pos, "duplicate rule name '%s' (first at line %u)",
				   v->s, l->c->rules[i].pos.line);
}

static void rule_fields(struct ld *l, struct rctx *x, const struct ynode *item)
{
	for (size_t i = 0; i + 1 < item->n; i += 2) {
		const struct ynode *k = item->kid[i];
		int j;

		if (k->kind != Y_SCALAR)
			continue;
		for (j = 0; j < RK_N; j++)
			if (!strcmp(k->s, rule_keys[j]))
				break;
		if (j < RK_N) {
			x->f[j] = item->kid[i + 1];
			continue;
		}
		diag_error(l->d, k->pos,
			   "unknown key '%s' in %s; expected one of: name, proto, src, dst, sport, dport, icmp_type, in, action, to, log, comment, limit, on_exceed",
			   k->s, x->label);
	}
}

static void rule_limit(struct ld *l, struct rctx *x);

static void load_rule(struct ld *l, const struct ynode *item, uint32_t idx)
{
	struct rctx x = { .r = &l->c->rules[idx] };

	x.r->pos = item->pos;
	x.r->log = FWD_LOG_INHERIT;
	x.r->dyn_src = -1;
	if (item->kind != Y_MAP) {
		diag_error(l->d, item->pos, "rule %u must be a mapping, not %s", idx + 1,
			   kind_name(item));
		return;
	}
	/* The name first, so every later message can say which rule it is about. */
	for (size_t i = 0; i + 1 < item->n; i += 2)
		if (item->kid[i]->kind == Y_SCALAR && !strcmp(item->kid[i]->s, "name"))
			x.f[RK_NAME] = item->kid[i + 1];
	rule_name(l, &x, item, idx);
	rule_fields(l, &x, item);
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

static void load_rules(struct ld *l, const struct ynode *v)
{
	if (v->kind != Y_SEQ) {
		diag_error(l->d, v->pos, "rules: must be a list, not %s", kind_name(v));
		return;
	}
	l->c->rules = calloc(v->n + 1, sizeof(*l->c->rules));
	if (!l->c->rules) {
		l->oom = true;
		return;
	}
	l->c->nrules = (uint32_t)v->n;
	for (uint32_t i = 0; i < v->n; i++)
		load_rule(l, v->kid[i], i);
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
	if (nw == 0 || (strcmp(w[0], "allow") && strcmp(w[0], "drop") && strcmp(w[0], "forward") &&
			strcmp(w[0], "reject"))) {
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

static bool daemon_uint(struct ld *l, const struct ynode *v, const char *what, uint64_t lo,
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

/* ---- dynamic sets and knocking ---------------------------------------- */

/* "30s", "10m", "1h", "500ms" -> milliseconds, 1 ms .. 7 days. */
static bool parse_duration(const char *s, uint32_t *ms)
{
	static const struct { const char *unit; uint64_t ms; } u[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
	};
	const char *e = s;
	uint64_t n;
	bool big = false;

	while (*e >= '0' && *e <= '9')
		e++;
	if (e == s || !parse_dec(s, e, 1u << 30, &n, &big) || big)
		return false;
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		if (!strcmp(e, u[i].unit)) {
			n *= u[i].ms;
			if (n == 0 || n > 7ull * 86400 * 1000)
				return false;
			*ms = (uint32_t)n;
			return true;
		}
	return false;
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
	st->proto = strcmp(slash, "/tcp") ? 17 : 6;
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

static void load_dynamic(struct ld *l, const struct ynode *m)
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

static void load_knocks(struct ld *l, const struct ynode *v)
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

static void load_scan(struct ld *l, const struct ynode *m)
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

static void rule_limit(struct ld *l, struct rctx *x)
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
