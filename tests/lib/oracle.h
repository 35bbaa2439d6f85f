/* SPDX-License-Identifier: MIT */
/*
 * oracle.h - the rules' meaning, written as plainly as possible: a linear
 * first-match scan over struct fwd_config (DESIGN.md section 3). Tests and
 * benchmarks hold the compiled classifier to it; it shares no code with
 * fwd/classify.c or fwd/compile.c.
 */
#ifndef FWD_ORACLE_H
#define FWD_ORACLE_H

#include "fwd/ruleset.h"

/* Does rule R accept K arriving on IFNAME ("" when unknown)? K->iface is ignored. */
bool oracle_rule_matches(const struct fwd_rule *r, const struct fwd_key *k, const char *ifname);

/* Index of the first rule of C matching K on IFNAME, or -1 for the default. */
int oracle_classify(const struct fwd_config *c, const struct fwd_key *k, const char *ifname);

#endif
