/* SPDX-License-Identifier: MIT */
/*
 * keep.h - the members of the dynamic sets across a restart (`fwd run
 * --state-file PATH`): a stopping fwd writes them, the next one reads them
 * back and removes the file, so a fwd that crashed leaves nothing stale.
 *
 * The file is text, one member a line after a header:
 *
 *     # fwd: members of the dynamic sets, written at stop, read at start
 *     saved UNIX_MS
 *     SET ADDR[/LEN] PORT/PROTO|- REMAINING_MS
 *
 * ADDR/LEN is a prefix entry (CrowdSec's, `fwd block` of a range); the
 * port is a knock door's. What the time between the two processes took
 * (by the wall clock) comes off each member's remaining time.
 */
#ifndef FWD_KEEP_H
#define FWD_KEEP_H

#include <stdint.h>

#include "fwd/dyn.h"

#define FWD_KEEP_MODE	0600

/* Write D's members to PATH, replacing it whole; *SAVED: how many. 0 or -errno. */
int keep_save(struct fwd_dyn *d, const char *path, unsigned *saved);

struct keep_report {
	unsigned restored;
	unsigned expired;	/* their time ran out while no fwd ran */
	unsigned skipped;	/* of a set the rules no longer have, or SKIP's */
	unsigned refused;	/* the set had no room */
	unsigned bad;		/* lines that are not a member */
	char first_bad[200];	/* "LINE:COL: 'WORD': what", the first of them */
	uint64_t age_ms;	/* since it was written */
};

/*
 * Put the members PATH holds back into D, but not into set SKIP (NULL:
 * none; the CrowdSec set, whose members the LAPI sends again), then
 * remove PATH. 0, -ENOENT when there is no file, or -errno (the file
 * stays). A line that is not a member is counted and skipped.
 */
int keep_load(struct fwd_dyn *d, const char *path, const char *skip, struct keep_report *r);

#endif
