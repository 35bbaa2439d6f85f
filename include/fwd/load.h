/* SPDX-License-Identifier: MIT */
/*
 * load.h - the rules loader's own parts, shared by its files and nothing
 * else: fwd/ytree.c (the positioned YAML node tree), fwd/rvalue.c (ranges,
 * ports, addresses, names), fwd/rule.c (one rule), fwd/rdyn.c (dynamic,
 * knock, scan and limit) and fwd/rules.c (the top level, sets, tests,
 * daemon; config_parse()).
 */
#ifndef FWD_LOAD_H
#define FWD_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fwd/config.h"

#define Y_DEPTH_MAX	32
#define Y_NODES_MAX	4000000u	/* 100,000 rules of a few fields take 1,300,000 */
#define Y_SCALAR_MAX	4096u

#define V4_MAX		((fwd_u128)0xffffffffu)
#define V6_MAX		(~(fwd_u128)0)
#define PORT_MAX	65535u

enum ykind { Y_SCALAR, Y_SEQ, Y_MAP };

/*
 * Built with AddressSanitizer (make asan, the fuzzers), every block of the
 * loader's arenas (the tree's, the rules') is an allocation of its own, so
 * that a read past one is caught as before.
 */
#if defined(__SANITIZE_ADDRESS__)
#define LOAD_EXACT	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LOAD_EXACT	1
#endif
#endif
#ifndef LOAD_EXACT
#define LOAD_EXACT	0
#endif

/*
 * A node of the tree, in the tree's arena (struct ytree): 16 bytes and a
 * scalar's text, or a list's or map's children right after it, as 100,000
 * rules make 1,300,000 nodes.
 */
struct ynode {
	struct fwd_pos pos;
	uint32_t n;		/* children; a map holds key, value, key, value... */
	enum ykind kind;
	char s[];		/* a scalar's text, NUL-terminated; "" in a list or map */
};
#define YKID_AT		(sizeof(struct ynode) + 8)	/* past a list's 8 bytes of "" */

/* The N children of list or map V. */
static inline const struct ynode *const *ykid(const struct ynode *v)
{
	return (const struct ynode *const *)(const void *)((const char *)v + YKID_AT);
}

struct ychunk;
struct ytree {
	struct ynode *root;	/* NULL when the file could not be read */
	struct ychunk *chunks;	/* the arena's mappings, holding every node */
	uint64_t nalloc;	/* blocks handed out, in the order of the file */
};

struct r128 {
	fwd_u128 lo, hi;
};

struct rl {
	size_t n, cap;
	struct r128 *r;
	bool oom;
};

enum setkind { SET_UNKNOWN, SET_PORTS, SET_ADDRS };

/* A named set; ports are resolved once per protocol mask (1 tcp, 2 udp, 3 both). */
struct lset {
	const char *name;
	struct fwd_pos pos;
	enum setkind kind;
	const struct ynode *val;	/* its elements: a scalar or a list */
	struct rl ports[4];
	struct rl v4, v6;
	bool bad;			/* it has an error: a rule that uses it is left out */
};

struct ld {
	struct fwd_diags *d;
	struct fwd_config *c;
	struct lset *sets;
	size_t nsets;
	bool oom;
	struct fwd_nameidx names;	/* of the rules loaded so far */
	char *name_at;		/* the next rule's name in c->rule_names */
	bool taint;		/* the rule being loaded uses a set with an error */
	struct ytree *tree;	/* what the file was read into */
	bool *bad_rule;		/* per rule, per test: it has an error */
	bool *bad_test;
#define LD_PROTOS	8
	const uint8_t *protos[LD_PROTOS];	/* the last rules' protocol bitmaps, to share */
	unsigned protos_at;
};

#define PM_TCP	1u
#define PM_UDP	2u

enum pctx { PCTX_RULE, PCTX_SET };

enum { RK_NAME, RK_PROTO, RK_SRC, RK_DST, RK_SPORT, RK_DPORT, RK_IN, RK_ACTION, RK_TO,
       RK_LOG, RK_COMMENT, RK_LIMIT, RK_ON_EXCEED, RK_ICMP, RK_N };

struct rctx {
	struct fwd_rule *r;
	const struct ynode *f[RK_N];
	const char *label;	/* "rule 'web'" or "rule 3" */
	char labelbuf[FWD_NAME_MAX + 32];
	bool bad_proto;
};

/*
 * A mapping's schema (fwd/schema.c): a table of its keys, ended by a NULL
 * name. FN handles the value V of key K; an entry without FN has ywalk()
 * keep V in ((const struct ynode **)ctx)[the entry's index].
 */
struct ykey {
	const char *name;
	void (*fn)(struct ld *l, const struct ynode *k, const struct ynode *v, void *ctx);
};

void ywalk(struct ld *l, const struct ynode *m, const struct ykey *tab, const char *where,
	   void *ctx);
/* "a, b, c": the names of TAB, or of the NULL-terminated NAMES, for an "expected one of". */
void ykeys_list(const struct ykey *tab, char *buf, size_t len);
void names_list(const char *const *names, char *buf, size_t len);

/* The known name closest to an unknown S, for "did you mean" (fwd/schema.c). */
struct near {
	const char *s;
	unsigned score;
	char best[65];
};

void near_init(struct near *n, const char *s);
void near_try(struct near *n, const char *cand);
/* "; did you mean 'X'?" in BUF, or "" when no name was close. */
const char *near_hint(const struct near *n, char *buf, size_t len);
const char *names_hint(const char *const *names, const char *s, char *buf, size_t len);
const char *dynset_hint(const struct fwd_config *c, const char *s, char *buf, size_t len);
#define NEAR_HINT_MAX	96

/*
 * Read BUF into T: T->root, or NULL with the reason recorded in D (more than
 * FWD_CONFIG_MAX bytes is one).
 */
void ytree(const char *buf, size_t len, struct fwd_diags *d, struct ytree *t);
/*
 * The same from F as libyaml reads it, a few KiB at a time, so that the file
 * is never whole in memory beside its tree; more than FWD_CONFIG_MAX bytes
 * is an error.
 */
void ytree_file(FILE *f, struct fwd_diags *d, struct ytree *t);
void ytree_free(struct ytree *t);
/* The first node made of N's subtree (its leftmost leaf): for ytree_release(). */
const struct ynode *ytree_lead(const struct ynode *n);
/*
 * The nodes from LEAD (ytree_lead() of a list's child) up to that list's
 * later child LAST, and their subtrees, will not be read again: give back
 * the arena's mappings that hold nothing else, so that the rules' tree goes
 * as they are converted. LEAD itself may be given back, but not read after.
 */
void ytree_release(struct ytree *t, const struct ynode *lead, const struct ynode *last);
void rl_free(struct rl *l);
void rl_add(struct rl *l, fwd_u128 lo, fwd_u128 hi);
/* "a mapping", "a list" or "a scalar". */
const char *kind_name(const struct ynode *n);
bool want_scalar(struct ld *l, const struct ynode *n, const char *what);
bool want_map(struct ld *l, const struct ynode *n, const char *what);
bool parse_dec(const char *s, const char *end, uint64_t max, uint64_t *out, bool *big);
bool parse_uint(const char *s, uint64_t max, uint64_t *out);
bool name_ok(const char *s, size_t max);
bool port_scalar(struct ld *l, const struct ynode *n, const char *s, unsigned pm,
		 struct rl *out, bool report, enum pctx ctx);
bool addr_scalar(struct ld *l, const struct ynode *n, const char *s, struct rl *v4,
		 struct rl *v6, bool report, enum pctx ctx);
/*
 * R, V4 and V6 sorted and merged into PS or AS, each list in MEM
 * (chunk_alloc()), or calloc()ed on its own where MEM is NULL.
 */
void to_portset(struct ld *l, struct fwd_chunk **mem, struct rl *r, struct fwd_portset *ps);
void to_addrset(struct ld *l, struct fwd_chunk **mem, struct rl *v4, struct rl *v6,
		struct fwd_addrset *as);
/*
 * N zeroed elements of SIZE bytes from the chunks at *MEM (a rule's
 * lists, target and protocol bitmap: c->rule_mem), which go together
 * (chunks_free()); NULL for N == 0 or out of memory.
 */
void *chunk_alloc(struct fwd_chunk **mem, size_t n, size_t size);
void chunks_free(struct fwd_chunk **mem);
int pick(struct ld *l, const struct ynode *v, const char *what,
	 const char *const *names, const char *expected);
int find_dynset(const struct fwd_config *c, const char *name);
bool parse_target(const char *s, struct fwd_target *t);
void load_rules(struct ld *l, const struct ynode *v);
/* One interface pattern of `in:` ("eth0", "eth+", "!lo") into P; false after a diagnostic. */
bool if_elem(struct ld *l, const struct ynode *n, struct fwd_ifpat *p);
bool daemon_uint(struct ld *l, const struct ynode *v, const char *what, uint64_t lo,
		 uint64_t hi, uint32_t *out);
void load_dynamic(struct ld *l, const struct ynode *m);
void load_knocks(struct ld *l, const struct ynode *v);
void load_scan(struct ld *l, const struct ynode *m);
void rule_limit(struct ld *l, struct rctx *x);
/* `NAME: {file: PATH}`: SET's addresses from PATH (fwd/setfile.c). */
void set_file(struct ld *l, struct lset *set, const struct ynode *v);

#endif
