/* SPDX-License-Identifier: MIT */
/*
 * benchgen.h - what the benchmarks share: one pseudo-random sequence, the
 * clock, and the generator of "realistic" rules (tests/lib/benchgen.c), so
 * classify_bench and scale_bench measure tables of the same kind.
 */
#ifndef FWD_BENCHGEN_H
#define FWD_BENCHGEN_H

#include <stdint.h>
#include <stdio.h>

/* A number below N from one fixed xorshift sequence (the same every run). */
uint32_t bench_below(uint32_t n);
/* CLOCK_MONOTONIC in seconds. */
double bench_now(void);
/*
 * Rule number I of the bench's kind into F: tcp or udp, a /24 (one in ten
 * negated) or an IPv6 /48 source half the time, a port or a short range,
 * an interface one time in eight, allow or drop.
 */
void bench_put_rule(FILE *f, int i);

#endif
