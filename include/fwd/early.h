/* SPDX-License-Identifier: MIT */
/*
 * early.h - early drops (fwd/early.c): the packets whose verdict the rules
 * file fixes as a plain drop, whatever else they carry, dropped by fwd's
 * hooks in the kernel before the queue (chain FWD-EARLY, hooks.h), so a
 * flood at closed ports never fills the queue nor costs a message each.
 *
 * The analysis runs off the packet path, once per table: per family (4, 6)
 * and protocol (tcp, udp), the destination ports for which the FIRST rule
 * that can match a packet of that protocol and port is an unconditional
 * (proto and/or dport only), unlogged drop, or for which no rule can match
 * and `default: drop` is unlogged. A port that an earlier rule with any
 * other condition (src, dst, sport, in, icmp_type, `src: $SET`, limit) could
 * match is not dropped early; neither is a knock's port. Nothing is dropped
 * early with `scan:` (it must see the probes), with `malformed: allow`, or
 * with `daemon: early_drop: off`. Each packet that reaches the chain walks
 * it, so it holds at most FWD_EARLY_LINES_MAX lines per family: the rules
 * (and the default) covering most ports first; the others stay with fwd.
 *
 * The kernel counts the drops (one comment per rule: fwd-early:rule:NAME,
 * fwd-early:index:N for a name iptables-save would quote, fwd-early:default);
 * early_sample() reads them with iptables-save -c, early_harvest() adds them
 * to the counts carried over the next restore, which flushes the chain.
 */
#ifndef FWD_EARLY_H
#define FWD_EARLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fwd/config.h"

#define FWD_EARLY_DEFAULT	UINT32_MAX	/* fwd_early_who.rule of the default */
#define FWD_EARLY_MULTIPORT	15		/* ports a multiport match takes, a range 2 */
#define FWD_EARLY_COMMENT	"fwd-early"
#define FWD_EARLY_LINES_MAX	32		/* lines of FWD-EARLY per family */

/* Whose drops a range is: a rule, or the default. Counts only the daemon touches. */
struct fwd_early_who {
	uint32_t rule;			/* index in the rules file, or FWD_EARLY_DEFAULT */
	char name[FWD_NAME_MAX + 1];	/* "" for the default */
	uint64_t carry_packets, carry_bytes;	/* from chains a restore flushed */
	uint64_t now_packets, now_bytes;	/* the kernel's, at the last sample */
};

/* Destination ports [lo, hi] that WHO's drop decides. */
struct fwd_early_range {
	uint32_t who;			/* index in fwd_early.who */
	uint32_t lo, hi;
};

struct fwd_early_list {
	uint32_t n;
	struct fwd_early_range *r;	/* grouped by who in rule order, ports ascending */
};

struct fwd_early {
	struct fwd_early_list l[2][2];	/* [IPv4, IPv6][tcp, udp] */
	uint32_t nwho;
	struct fwd_early_who *who;	/* in rule order, the default last */
	struct fwd_nameidx idx;		/* rule names -> index in who */
};

/*
 * The early drops of C. An empty set (nothing dropped early) when C turns
 * them off or cannot have them; NULL only when out of memory.
 */
struct fwd_early *early_build(const struct fwd_config *c);
void early_free(struct fwd_early *e);
/* Ranges of E in all lists (0 for NULL). */
size_t early_nranges(const struct fwd_early *e);

/*
 * The FWD-EARLY lines of FAMILY (4 or 6) as iptables-restore text ("-A
 * FWD-EARLY ... -j DROP\n" each, no chain declaration) into BUF of LEN
 * bytes, as snprintf: returns the length the whole text needs.
 */
size_t early_render(const struct fwd_early *e, int family, char *buf, size_t len);

/*
 * Off the packet path: read the kernel's counters of FWD-EARLY in both
 * families (iptables-save -c) into who[].now_*. 0, or -errno when IPv4's
 * could not be read (now_* then zero).
 */
int early_sample(struct fwd_early *e);
/* Before a restore flushes FWD-EARLY: sample, then carry what it counted. */
void early_harvest(struct fwd_early *e);
/* After a reload: add OLD's counts into E's entries of the same rule name. */
void early_carry(struct fwd_early *e, const struct fwd_early *old);
/*
 * Rule I's drops (I == FWD_EARLY_DEFAULT: the default's) at the last
 * sample, carried counts included; zero when nothing of I is dropped early.
 */
void early_counts(const struct fwd_early *e, uint32_t i, uint64_t *packets, uint64_t *bytes);

/*
 * One line of `iptables-save -c` into WHO's index: true for a FWD-EARLY
 * rule with fwd's comment naming an entry of E, with its counts.
 */
bool early_parse_line(const struct fwd_early *e, const char *line, uint32_t *who,
		      uint64_t *packets, uint64_t *bytes);

#endif
