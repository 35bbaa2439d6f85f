/* SPDX-License-Identifier: MIT */
/*
 * recheck.h - the established connections of sources that joined a
 * blocking set, handed back to the rules, and back to the kernel once the
 * sources leave it (fwd/recheck.c). The main thread calls it; it never
 * runs on the packet path.
 */
#ifndef FWD_RECHECK_H
#define FWD_RECHECK_H

#include <stdint.h>

struct fwd_state;

/*
 * When a blocking set gained or lost members (dyn_recheck_due()), after a
 * reload, or while marked connections remain (their sources' membership
 * may expire), and no pass ran in the last while: mark the conntrack
 * entries whose original source is now blocked (in a blocking set or a
 * blocklist: ruleset_src_blocked()) with FWD_RECHECK_MARK, and take the
 * mark off those whose source is not. Returns the ms until it wants to
 * look again, or -1 while the rules have neither, or queue every packet.
 */
int recheck_tick(struct fwd_state *st);
/* Connections marked since start. */
uint64_t recheck_marked(void);

#endif
