/* SPDX-License-Identifier: MIT */
/*
 * explain.h - one packet, written the way an operator writes it, judged
 * against a compiled table: "tcp 203.0.113.9:40000 198.51.100.7:22 in=eth0".
 * Used by `fwd explain`, the policy tests of `fwd check`, and the control
 * socket's live explain.
 */
#ifndef FWD_EXPLAIN_H
#define FWD_EXPLAIN_H

#include <stddef.h>
#include "fwd/ruleset.h"

/*
 * Dynamic sets (`src: $SET` rules): offline (`fwd explain FILE`, the tests
 * of `fwd check`) every set is empty, as when fwd starts, unless the packet
 * names the sets its source is in with member=SET[,SET...]; MEMBER then has
 * bit I set for C's dynsets[I]. Live, the daemon's own sets decide, and the
 * caller resolves classify()'s answer with dyn_resolve_ctl() (dyn.h).
 */

/*
 * Parse "PROTO SRC DST [in=IFACE] [member=SET[,SET...]]" (PROTO: tcp, udp,
 * icmp, icmpv6; SRC/DST: ADDR:PORT, [V6]:PORT, or a bare address for ICMP).
 * Fills K (iface left 0), IFNAME ("" when no in=) and MEMBER (0 when no
 * member=). C names the sets; with C NULL (live explain) member= is an
 * error. Returns 0, or -1 with a message in ERR.
 */
int explain_parse(const char *line, const struct fwd_config *c, struct fwd_key *k,
		  char ifname[FWD_IFNAMSIZ], uint32_t *member, char *err, size_t errlen);

/* Same, from the three or four words of a command line (no member=). */
int explain_parse_argv(const char *proto, const char *src, const char *dst,
		       const char *iface, struct fwd_key *k, char ifname[FWD_IFNAMSIZ],
		       char *err, size_t errlen);

/* "SET[,SET...]" as bits of C's dynamic sets in MEMBER. 0, or -1 with ERR. */
int explain_members(const struct fwd_config *c, const char *list, uint32_t *member,
		    char *err, size_t errlen);

/*
 * Judge K on RS offline, its source a member of the sets in MEMBER only,
 * and write "allow rule=NAME", "drop rule=default" or "forward to=ADDR:PORT
 * rule=NAME" into OUT. Returns the rule index, -1 (the default), or
 * -ENOMEM ("error: out of memory" in OUT).
 */
int explain_verdict(const struct fwd_ruleset *rs, const struct fwd_key *k, uint32_t member,
		    char *out, size_t outlen);

/* Write the verdict of rule IDX (-1: the default) for K into OUT, as above. */
void explain_format(const struct fwd_ruleset *rs, const struct fwd_key *k, int idx,
		    char *out, size_t outlen);

/*
 * Run the `tests:` of C against RS, offline (sets empty but for member=);
 * each failure is an error at the test's position. Returns the number
 * that failed.
 */
unsigned explain_run_tests(const struct fwd_config *c, const struct fwd_ruleset *rs,
			   struct fwd_diags *d);

#endif
