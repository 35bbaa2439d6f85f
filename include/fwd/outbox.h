/* SPDX-License-Identifier: MIT */
/*
 * outbox.h - blocks fwd made itself (a scan block, a limit's on_exceed: add),
 * handed from the packet path to whoever reports them further (the CrowdSec
 * thread pushes them as alerts). A leaf: the dynamic state writes into it
 * and the reporter reads from it, so neither depends on the other.
 */
#ifndef FWD_OUTBOX_H
#define FWD_OUTBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "fwd/config.h"

/* What fwd detected itself. */
enum fwd_cs_kind {
	FWD_CS_SCAN,		/* `scan:` blocked the source */
	FWD_CS_LIMIT,		/* a rule's limit: on_exceed: {add: SET} */
};
struct fwd_cs_report {
	uint8_t kind;		/* enum fwd_cs_kind */
	uint8_t family;
	uint32_t duration_ms;	/* of the block */
	uint32_t detail;	/* scan: ports seen */
	fwd_u128 addr;
	char rule[FWD_NAME_MAX + 1];	/* limit: the rule; scan: the set */
};

/* Queue reports from now on (true) or ignore them (false: nobody reads them). */
void outbox_enable(bool on);
/*
 * Packet path: FAMILY/ADDR was just blocked for DURATION_MS by fwd itself
 * (KIND; DETAIL: ports seen by a scan; NAME: the set or the rule). Lock-free
 * and bounded: when the queue is full it is counted as dropped. Does nothing
 * while the outbox is off.
 */
void outbox_push(enum fwd_cs_kind kind, uint8_t family, fwd_u128 addr, uint32_t duration_ms,
		 uint32_t detail, const char *name);
/* The next queued report, by the one consumer. */
bool outbox_pop(struct fwd_cs_report *out);
/* Reports dropped because the queue was full. */
uint64_t outbox_dropped(void);

#endif
