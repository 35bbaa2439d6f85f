/* SPDX-License-Identifier: MIT */
/*
 * ruleset.h - the compiled, immutable rule table and its lookup.
 *
 * ruleset_compile() turns a checked struct fwd_config into a struct
 * fwd_ruleset that owns copies of everything the packet path needs; it can be
 * published with one atomic pointer store and freed with ruleset_free() once
 * no reader can see it. classify() never allocates, locks or blocks.
 */
#ifndef FWD_RULESET_H
#define FWD_RULESET_H

#include <stdint.h>
#include "fwd/config.h"

/* What the classifier looks at. All numbers in host byte order. */
struct fwd_key {
	uint8_t family;		/* 4 or 6 */
	uint8_t proto;		/* IPPROTO_* */
	uint16_t iface;		/* class from ruleset_iface_class() */
	uint32_t sport;		/* 0..65535, or FWD_NOPORT */
	uint32_t dport;
	fwd_u128 src;		/* IPv4: the address in the low 32 bits */
	fwd_u128 dst;
};

/* What the packet path needs to know of a rule once it matched. */
struct fwd_rule_info {
	const char *name;
	uint32_t line;
	enum fwd_action action;
	struct fwd_target to;
	bool log;		/* the rule's log flag, the file's `log:` resolved */
	uint32_t mark;		/* packet mark for FWD_FORWARD, else 0 */
	int dyn_set;		/* `src: $SET`: index in fwd_config.dynsets, else -1 */
	uint32_t log_idx;	/* with log: its place among the rules that log */
};

struct fwd_ruleset;

/*
 * NULL on failure, errno ENOSPC where a field (source or destination
 * ports, interfaces) would have more than 65535 classes, else ENOMEM.
 */
struct fwd_ruleset *ruleset_compile(const struct fwd_config *c);
/*
 * ruleset_compile() that frees C's rules (config_drop_rules()) as
 * soon as it has read them for the last time, before its largest step, the
 * per-port tables (which read a compact copy of the rules' ranges): for a
 * daemon, which needs no more of them than C's sections.
 */
struct fwd_ruleset *ruleset_compile_lean(struct fwd_config *c);
void ruleset_free(struct fwd_ruleset *rs);

/* Index of the first matching rule, or -1 when none matches (the default). */
int classify(const struct fwd_ruleset *rs, const struct fwd_key *k);

/* Interface class of NAME ("" when unknown) for fwd_key.iface. Off the packet path. */
uint16_t ruleset_iface_class(const struct fwd_ruleset *rs, const char *name);
/* Does a rule name an interface (`in:`)? If not, every name has one class. */
bool ruleset_names_ifaces(const struct fwd_ruleset *rs);

uint32_t ruleset_nrules(const struct fwd_ruleset *rs);
uint32_t ruleset_nlog(const struct fwd_ruleset *rs);	/* rules whose log is on */
const struct fwd_rule_info *ruleset_rule(const struct fwd_ruleset *rs, uint32_t i);
enum fwd_action ruleset_default(const struct fwd_ruleset *rs);
bool ruleset_default_log(const struct fwd_ruleset *rs);
size_t ruleset_memory(const struct fwd_ruleset *rs);	/* bytes held */
/*
 * Off the packet path (fwd/recheck.c): has RS drop or reject rules that match
 * on a static `src:` alone (a blocklist)? Is FAMILY/A the source of one?
 */
bool ruleset_blocks_src(const struct fwd_ruleset *rs);
bool ruleset_src_blocked(const struct fwd_ruleset *rs, unsigned family, fwd_u128 a);

/*
 * Shadow analysis (fwd/shadow.c) of RS, the table C compiled to: warn for
 * each rule whose every packet an earlier single rule already matches:
 * "rule 'X' is never reached: rule 'Y' (line N) matches first". Returns the
 * number of warnings.
 */
unsigned ruleset_shadows(const struct fwd_ruleset *rs, const struct fwd_config *c,
			 struct fwd_diags *d);

/*
 * `fwd check --print` (fwd/print.c): C, compiled to RS, as text, one rule
 * per line with sets expanded and names resolved; the format is fwd(8)'s.
 * Caller frees; NULL when out of memory.
 */
char *ruleset_print(const struct fwd_config *c, const struct fwd_ruleset *rs);

/*
 * ruleset_load() flags. FWD_LOAD_CHECK (`fwd check`, `fwd apply`): a file
 * with errors still loads in part for the rest of the checks, the shadow
 * analysis and the policy tests. FWD_LOAD_TESTS (the daemon): the policy
 * tests alone, so that `fwd run` and a reload refuse a file whose tests fail.
 */
#define FWD_LOAD_CHECK	1u
#define FWD_LOAD_TESTS	2u

/*
 * Load PATH into *C and compile it into *RS (fwd/ruleload.c); with
 * FWD_LOAD_CHECK warn of shadowed rules and run the `tests:`, with
 * FWD_LOAD_TESTS run the `tests:`. Every message
 * lands in D, sorted by position. 0; -EINVAL when the file has errors or a
 * test failed, -ENOMEM; *C and *RS are then NULL.
 */
int ruleset_load(const char *path, unsigned flags, struct fwd_diags *d,
		 struct fwd_config **c, struct fwd_ruleset **rs);
/* The same for the LEN bytes of BUF (`fwd check -`), named as D names them. */
int ruleset_load_text(const char *buf, size_t len, unsigned flags, struct fwd_diags *d,
		      struct fwd_config **c, struct fwd_ruleset **rs);
/*
 * The daemon's reload: ruleset_load() with FWD_LOAD_TESTS, where PREP(C, ARG) sees
 * the whole of a good file's C before the compile (for what needs the
 * rules: the live state's dynamic tables, the early drops), returning 0 or
 * -ENOMEM, and the compile is ruleset_compile_lean(): *C comes back with
 * its sections, not its rules, so that the reload's peak holds no
 * converted rules beside the new table.
 */
int ruleset_load_lean(const char *path, struct fwd_diags *d,
		      int (*prep)(const struct fwd_config *c, void *arg), void *arg,
		      struct fwd_config **c, struct fwd_ruleset **rs);

/* Forward marks: FWD_MARK_BASE | rule index, in the bits FWD_MARK_MASK. */
#define FWD_MARK_BASE	0x0f000000u
#define FWD_MARK_MASK	0xff000000u
/*
 * The daemon adds FWD_MARK_GEN to the marks of every other table, so during
 * a reload the DNAT rules of the old and the new table can stand side by side
 * (see live.c): a forwarded packet never meets the other table's target.
 */
#define FWD_MARK_GEN	0x00800000u

#endif
