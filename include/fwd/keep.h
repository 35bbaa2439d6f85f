/* SPDX-License-Identifier: MIT */
/*
 * keep.h - the members of the dynamic sets across a restart and a crash
 * (`fwd run --state-file PATH`): the running fwd writes them within
 * FWD_KEEP_MS of a change (fwd/run.c) and at stop, and the next one reads
 * them back.
 *
 * The file is text, one member a line after a header:
 *
 *     # fwd: members of the dynamic sets, written as they change and at stop
 *     saved UNIX_MS
 *     boot BOOT_ID BOOTTIME_MS
 *     SET ADDR[/LEN] PORT/PROTO|- REMAINING_MS
 *
 * ADDR/LEN is a prefix entry (`fwd block` of a range); the port is a knock
 * door's. The time since it was written comes off each member's remaining
 * time, so a file that outlived the process that wrote it gives back only
 * what has time left: by CLOCK_BOOTTIME when it was written in this boot
 * (a step of the wall clock does not count), else by the wall clock.
 */
#ifndef FWD_KEEP_H
#define FWD_KEEP_H

#include <stdint.h>

#include "fwd/dyn.h"

#define FWD_KEEP_MODE	0600
#define FWD_KEEP_MS	5000	/* at most this long between a change and the file, */
#define FWD_KEEP_SHARE	20	/* or 20 times as long as the last write took */

/*
 * The file's text for D's kept sets (malloc'd; NULL: out of memory), *SAVED
 * members in it; then written to PATH, replaced whole and synced. keep_save()
 * does both. 0 or -errno.
 */
char *keep_text(struct fwd_dyn *d, unsigned *saved);
int keep_write(const char *path, const char *text);
int keep_save(struct fwd_dyn *d, const char *path, unsigned *saved);

struct keep_report {
	unsigned restored;
	unsigned expired;	/* their time ran out while no fwd ran */
	unsigned skipped;	/* of a set the rules no longer have, or one not kept */
	unsigned refused;	/* the set had no room */
	unsigned bad;		/* lines that are not a member */
	char first_bad[200];	/* "LINE:COL: 'WORD': what", the first of them */
	uint64_t age_ms;	/* since it was written */
};

/*
 * Put the members PATH holds back into D's kept sets (not the CrowdSec set,
 * whose members the LAPI sends again). 0, -ENOENT when there is no file, or
 * -errno. A line that is not a member is counted and skipped. The file
 * stays: the running fwd writes it over.
 */
int keep_load(struct fwd_dyn *d, const char *path, struct keep_report *r);

#endif
