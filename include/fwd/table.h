/* SPDX-License-Identifier: MIT */
/*
 * table.h - layout of the compiled rule table, shared by its builder
 * (fwd/compile.c, fwd/subtable.c) and its readers (fwd/classify.c). Private
 * to those files and the tests that look inside a table: everyone else uses
 * include/fwd/ruleset.h. The design is described at the top of
 * fwd/classify.c.
 */
#ifndef FWD_TABLE_H
#define FWD_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include "fwd/ruleset.h"

#define FWD_NPORTS	65537u		/* 0..65535 and FWD_NOPORT */

/*
 * One word of a sparse vector: BITS is 64-bit word W of the vector. A class
 * holding a dense vector stores every word in order (n == words).
 */
struct fwd_xent {
	uint64_t bits;
	uint32_t w;
};

/*
 * The distinct rule bit vectors ("classes") of one field. Each class is one
 * record in the pool, so that a value's table entry leads to all of the
 * class in one step: ent[off] is a header (bits: nx, w: nh), then nx
 * entries, the class's exceptions to base (sparse, nx < words) or its whole
 * vector (nx == words), then nh entries of its home bits. With one word
 * there are no home bits. ent[nent] is a sentinel (bits 0), so that x[0] of a
 * class with nx == 0 is always readable.
 */
struct fwd_bvset {
	uint32_t ncls;
	uint64_t *base;		/* words: rules set in most classes of the field */
	uint32_t *off;		/* ncls: each class's record in ent */
	struct fwd_xent *ent;	/* pool of every class's record */
	uint32_t nent;
	/*
	 * While compiling only: class C is base XOR the sparse words
	 * xent[xoff[C] .. xoff[C + 1]) (ascending w), so that a field of many
	 * classes takes memory in its rules, not in classes times rules.
	 */
	uint32_t *xoff;
	struct fwd_xent *xent;
};


/*
 * Elementary intervals of one address family of src or dst. An IPv4
 * interval's class sits beside its start, so that the search's last cache
 * line also holds the answer (a blocklist's map is megabytes: a separate
 * class array was one more miss per lookup).
 */
struct fwd_v4int {
	uint32_t start;		/* ascending; iv[0].start == 0 */
	uint32_t cls;		/* class record (offset into ent) once compiled */
};
struct fwd_v4map {
	uint32_t n;
	struct fwd_v4int *iv;
	uint32_t *idx;		/* 65537: last interval starting at or below h << 16 */
};
struct fwd_v6map {
	uint32_t n;
	fwd_u128 *start;
	uint32_t *cls;		/* class records, as fwd_v4int's */
	/*
	 * 65537: last interval starting at or below ibase + (b << ishift), as
	 * v4's idx but over the span the starts cover (IPv6 addresses share
	 * their top bits); an address below ibase is in interval 0.
	 */
	uint32_t *idx;
	fwd_u128 ibase;
	uint32_t ishift;
};

/* One interface representative: an exact name, a prefix, or neither. */
struct fwd_ifrep {
	char name[FWD_IFNAMSIZ];
	uint32_t cls;
};

#define FWD_SUB_NONE	UINT32_MAX	/* sub_rec: the port has no record */
#define FWD_SUB_UNIT	8u		/* records start at multiples of it */

/* The parts of a sub-table record (struct fwd_ruleset: sub); the first five are lists. */
enum {
	FWD_SUB_SRC4,
	FWD_SUB_SRC6,
	FWD_SUB_DST4,
	FWD_SUB_DST6,
	FWD_SUB_SPORT,
	FWD_SUB_PROTO,
	FWD_SUB_IN,
};

/*
 * The head of a per-port record: where its parts are. Each list is as long
 * as its own intervals need, rounded up to a power of two, and starts at a
 * multiple of 8, so that off[F]'s low 3 bits can hold the log2 of its length.
 */
struct fwd_sub_hdr {
	uint16_t off[FWD_SUB_SPORT + 1];	/* list F: from the record's start, | log2 length */
	uint16_t rules;				/* the rules' numbers */
};
#define FWD_SUB_LG(h, f)	((uint32_t)(h)->off[f] & 7)
#define FWD_SUB_AT(h, f)	((uint32_t)(h)->off[f] & ~7u)
#define FWD_SUB_WORD0		sizeof(struct fwd_sub_hdr)

enum {
	FWD_FLD_PROTO,
	FWD_FLD_SPORT,
	FWD_FLD_DPORT,
	FWD_FLD_SRC4,
	FWD_FLD_SRC6,
	FWD_FLD_DST4,
	FWD_FLD_DST6,
	FWD_FLD_IN,
	FWD_FLD_PIN,	/* proto and in together (classify.c), when built */
	FWD_NFLD,
};

struct fwd_ruleset {
	uint32_t nrules;
	uint32_t nlog;		/* rules whose log is on: info's log_idx below it */
	uint32_t words;		/* 64-bit words per class bit vector */
	uint32_t used;		/* FWD_F_* named by at least one rule */
	enum fwd_action dflt;
	bool dflt_log;
	struct fwd_rule_info *info;
	/* Value -> class while compiling, then -> class record (offset into ent). */
	uint32_t proto_cls[256];
	uint32_t *sport_cls;	/* sport_n entries: FWD_NPORTS, with ICMP types more */
	uint32_t sport_n;
	uint32_t *dport_cls;
	struct fwd_v4map src4, dst4;
	struct fwd_v6map src6, dst6;
	uint32_t nexact, nprefix;
	/*
	 * The drop and reject rules that match on a static `src:` alone, a
	 * blocklist (ruleset_src_blocked()), in rule order.
	 */
	uint32_t *block, nblock;
	struct fwd_ifrep *exact;	/* sorted by name */
	struct fwd_ifrep *prefix;	/* sorted by name */
	uint32_t if_none;		/* class of a name no pattern names */
	/*
	 * [in class * 256 + proto] -> FWD_FLD_PIN class (record once compiled),
	 * or NULL when proto and in are looked up apart.
	 */
	uint32_t *pin_cls;
	/*
	 * Per-port tables (fwd/subtable.c), or sub NULL. sub_rec maps a port
	 * to where the record of its dport class starts, in FWD_SUB_UNIT
	 * steps, or FWD_SUB_NONE when the class has none (more rules accept it
	 * than a word has bits, or a list longer than the table allows). Each
	 * record is as large as its own class needs, so that more of the table
	 * stays in the cache; records and lists are 8-aligned (a v6 start is
	 * read with memcpy()). Its words are sub_wbytes wide (as many bits as
	 * the records' rules need, at least 8; read as 8 bytes and masked with
	 * sub_wmask, so a word may be read past its record's end, and sub ends
	 * with room for that), bit i standing for the i-th of the rules that
	 * accept D's ports:
	 *   at 0                   struct fwd_sub_hdr
	 *   FWD_SUB_WORD0          a word with a bit for each of D's rules
	 *   sub_off[FWD_SUB_PROTO] a word per proto class (sub_pcls: proto ->
	 *                          class), when rules name proto
	 *   sub_off[FWD_SUB_IN]    a word per interface class, when rules name in
	 *   FWD_SUB_AT(hdr, F)     for each of src4, dst4, sport, then after the
	 *                          rule numbers src6, dst6, those the table uses:
	 *                          2^FWD_SUB_LG(hdr, F) ascending interval starts
	 *                          (uint32_t; fwd_u128 for v6), past D's last
	 *                          interval padded with starts that compare
	 *                          above any value but the largest; then the
	 *                          words of those intervals (the padding repeats
	 *                          the last). A list of one interval is its word
	 *                          alone, FWD_SUB_AT one start's bytes before it.
	 *   hdr.rules              the rules' numbers, ascending (uint32_t)
	 * The parts up to the lists are where sub_off says in every record; the
	 * search of list F takes sub_top[F]'s steps in every record.
	 */
	uint8_t *sub;
	size_t sub_bytes;
	uint32_t *sub_rec;
	uint32_t sub_nrec;	/* records in sub */
	uint32_t sub_off[FWD_SUB_IN + 1];
	uint32_t sub_lists;	/* where the first list may start */
	uint32_t sub_top[FWD_SUB_SPORT + 1];	/* half the longest of list F, or 0 */
	uint32_t sub_wbytes;	/* a word's width: 1, 2, 4 or 8 bytes */
	uint64_t sub_wmask;	/* its bits, kept so the lookup needs no shift */
	uint64_t sub_wtop;	/* its top bit (classify_sub(): no match) */
	uint8_t sub_pcls[256];
	struct fwd_bvset f[FWD_NFLD];
	uint32_t nany;
	struct fwd_xent *any;	/* nonzero words of the rules with no home field */
	size_t mem;
};

/*
 * Bit vector (rs->words words) of every rule matching K, for the shadow
 * analysis. Returns false when no rule matches.
 */
bool ruleset_match_all(const struct fwd_ruleset *rs, const struct fwd_key *k, uint64_t *out);

/* 64-bit words of a bit vector over NRULES rules: at least one. */
static inline uint32_t ruleset_words_for(uint32_t nrules)
{
	return nrules > 64 ? (nrules + 63) / 64 : 1;
}

/*
 * The first rule after AFTER that matches K and for which OK(ARG, rule)
 * holds, or -1 (the classifier's answer AFTER failed a condition it does not
 * see: a dynamic set, a membership). SCRATCH holds rs->words words; NULL:
 * allocated here (-ENOMEM when that fails), for callers off the packet path.
 */
int ruleset_next_match(const struct fwd_ruleset *rs, const struct fwd_key *k, int after,
		       uint64_t *scratch, bool (*ok)(const void *arg, uint32_t rule),
		       const void *arg);

/* Word W of class CLS's vector in field FLD. Off the packet path. */
uint64_t ruleset_class_word(const struct fwd_ruleset *rs, int fld, uint32_t cls, uint32_t w);

/*
 * What the per-port tables (fwd/subtable.c) read of C's rules, copied so
 * that the rules can be freed before they are built; NULL (errno set).
 */
struct sub_src *subtable_source(const struct fwd_config *c);
void subtable_source_free(struct sub_src *s);

/*
 * Build the per-port tables of RS, compiled up to sparsify(), from S;
 * leaves rs->sub NULL where they do not apply. 0 or -errno.
 */
int subtable_build(struct fwd_ruleset *rs, const struct sub_src *s);

#endif
