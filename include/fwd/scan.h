/* SPDX-License-Identifier: MIT */
/*
 * scan.h - port-scan detection (fwd/scan.c): distinct destination ports per
 * source in a sliding window, in a fixed table whose eviction follows the counts
 * (Space-Saving) behind a doorkeeper, so spoofed one-packet sources cannot
 * wash out a scanner.
 */
#ifndef FWD_SCAN_H
#define FWD_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "fwd/config.h"

struct fwd_scan;

/* A table for at least MAX sources (fixed; never grows). NULL on ENOMEM. */
struct fwd_scan *scan_new(uint32_t max, uint32_t ports, uint32_t window_ms);
void scan_free(struct fwd_scan *s);
/* Add OLD's counts (detected, evicted, skipped) to S's: totals since start. */
void scan_carry_counts(struct fwd_scan *s, const struct fwd_scan *old);
size_t scan_memory(const struct fwd_scan *s);
uint32_t scan_capacity(const struct fwd_scan *s);
/* Newcomers refused a place because every entry of their bucket outranked them. */
uint64_t scan_refused(const struct fwd_scan *s);
void scan_counters(const struct fwd_scan *s, uint64_t *evicted, uint64_t *skipped,
		   uint64_t *detected);
/*
 * A new connection of FAMILY/SRC to PORT at NOW. Returns the number of
 * distinct ports when this one makes it more than `ports` in the window
 * (sliding in thirds; once, until the count falls back), else 0.
 */
uint32_t scan_note(struct fwd_scan *s, uint8_t family, fwd_u128 src, uint16_t port,
		   uint64_t now);
/* Forget FAMILY/A. Off the packet path (may wait for a worker). */
unsigned scan_forget(struct fwd_scan *s, uint8_t family, fwd_u128 a);

#endif
